"""The torch layer knows nothing of Ray or Tune: no module under pipetune/torch imports
``ray`` or the session helpers, none imports the tune layer, the modules import each other
without a circle, and a fit (execute) with the default callbacks loads neither."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pipetune.torch

TORCH = Path(pipetune.torch.__file__).parent  # the package under test, wherever it lies


def _imports(path: Path) -> list[str]:
    """Every module that ``path`` imports at run time (``if TYPE_CHECKING:`` blocks aside)."""
    tree = ast.parse(path.read_text())
    typing_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for stmt in block.body
        for node in ast.walk(stmt)
    }
    names: list[str] = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def test_no_torch_module_imports_ray_the_session_or_the_tune_layer() -> None:
    bad = {
        f"{path.name}: {name}"
        for path in sorted(TORCH.glob("*.py"))
        for name in _imports(path)
        if name == "ray"
        or name.startswith(("ray.", "pipetune.tune", "pipetune.cli"))
        or name == "pipetune._session"
    }
    assert not bad, sorted(bad)
    text = "\n".join(p.read_text() for p in TORCH.glob("*.py"))
    for needle in ("import ray", "from ray", "_session"):  # the grep
        assert needle not in text, needle


def test_the_torch_modules_import_each_other_without_a_circle() -> None:
    graph = {
        f"pipetune.torch.{path.stem}": {
            name for name in _imports(path) if name.startswith("pipetune.torch.")
        }
        for path in TORCH.glob("*.py")
        if path.stem != "__init__"
    }

    def visit(module: str, trail: tuple[str, ...]) -> None:
        assert module not in trail, " -> ".join((*trail, module))
        for target in graph.get(module, ()):
            visit(target, (*trail, module))

    for module in graph:
        visit(module, ())


def test_a_fit_with_the_default_callbacks_loads_neither_ray_nor_tune() -> None:
    code = textwrap.dedent(
        """
        import sys
        import torch
        from torch.utils.data import TensorDataset
        from pipetune.torch import TorchTrainer

        torch.manual_seed(0)
        x = torch.randn(16, 3)
        data = TensorDataset(x, (x.sum(dim=1) > 0).long())
        trainer = TorchTrainer(model=torch.nn.Linear(3, 2), epochs=2, config={"batch_size": 8})
        names = sorted(type(cb).__name__ for cb in trainer.callbacks)
        assert names == ["MetricHistory", "NaNGuard"], names
        trainer.execute(data, data)
        assert len(trainer.history) == 2
        leaked = sorted(
            m for m in sys.modules
            if m == "ray" or m.startswith(("ray.", "pipetune.tune"))
        )
        assert not leaked, leaked
        print("torch-alone-ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "torch-alone-ok" in done.stdout
