"""Every code block of README.md and docs/ works as the page shows it.

- yaml blocks load; with a pipeline or a ``tune:`` section they are validated as
  ``pipetune run``/``pipetune tune`` would (settings, search space, scheduler, search
  algorithm, searched keys that reach nothing), and the pipeline is built when all its
  classes import;
- python blocks run in order, one subprocess per page, in a copy of
  examples/fashion-mnist whose config trains on 1,000 images for 1 epoch;
- bash blocks marked ``<!-- run -->`` run in a copy of examples/fashion-mnist.

Python pages and bash blocks run side by side in the background (most of their time is
spent waiting for Ray and for imports), with ``RAY_ADDRESS=local`` so that a Ray started
by someone else on this machine is never joined. Blocks that need the Fashion-MNIST files
skip when no folder holds them. See docs_blocks.py for the markers.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from docs_blocks import (
    REPO,
    Block,
    copy_example,
    doc_pages,
    find_data,
    marker_problems,
    normalise,
    parse_page,
    shell_needs_data,
    uses_example_data,
)

PAGES = doc_pages()
BLOCKS = {page: parse_page(page) for page in PAGES}
RUNNER = Path(__file__).with_name("page_runner.py")
MAX_NO_RUN = 3


def _page_id(page: Path) -> str:
    return str(page.relative_to(REPO))


def _all_blocks() -> list[Block]:
    return [block for blocks in BLOCKS.values() for block in blocks]


def test_docs_markers_are_known() -> None:
    problems = [problem for block in _all_blocks() for problem in marker_problems(block)]
    assert not problems, "\n".join(problems)


def test_docs_few_blocks_are_not_run() -> None:
    skipped = [block.label for block in _all_blocks() if block.no_run]
    assert len(skipped) <= MAX_NO_RUN, f"too many <!-- no-run --> blocks: {skipped}"


# -- yaml ---------------------------------------------------------------------------------


def _targets(node: Any) -> Iterator[str]:
    """Every class named by class_path/_target_ in a YAML tree."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("class_path", "_target_") and isinstance(value, str):
                yield value
            else:
                yield from _targets(value)
    elif isinstance(node, list):
        for item in node:
            yield from _targets(item)


def _importable(target: str) -> bool:
    module, _, name = target.rpartition(".")
    try:
        return hasattr(importlib.import_module(module), name)
    except ImportError:
        return False


def _lacks_package(exc: Exception) -> bool:
    """A search algorithm whose optional package this machine lacks (e.g. hyperopt)."""
    return "needs the package" in str(exc)


def _check_algorithms(settings: Any) -> None:
    from pipetune.errors import ConfigError
    from pipetune.tune._algorithms import make_scheduler, make_search_alg

    # A class of the reader's own module (class_path: my_schedulers.X) is not here to build.
    if all(_importable(target) for target in _targets(settings.scheduler)):
        make_scheduler(settings.scheduler, 10)
    if not all(_importable(target) for target in _targets(settings.search_alg)):
        return
    try:
        make_search_alg(settings.search_alg, settings.seed, settings.max_concurrent_trials)
    except ConfigError as exc:
        if not _lacks_package(exc):
            raise


def validate_yaml(block: Block, folder: Path) -> None:
    """Load the block; validate what it declares, as the commands that read it would."""
    from pipetune.cluster import SlurmSettings
    from pipetune.errors import ConfigError
    from pipetune.parser import ConfigParser
    from pipetune.tune import Experiment, TuneSettings, build_search_space
    from pipetune.tune._checks import check_effective_overrides

    data = yaml.safe_load(block.code)
    if not isinstance(data, dict):
        return
    config: Any = str(folder / block.file_name) if block.file_name else data
    tune = data.get("tune")
    key = tune.get("pipeline", "training_pipeline") if isinstance(tune, dict) else None
    key = key or "training_pipeline"
    algorithms = (
        [tune.get(k) for k in ("scheduler", "search_alg")] if isinstance(tune, dict) else []
    )
    buildable = all(_importable(target) for target in _targets([data.get(key), *algorithms]))
    if key in data and "tune" in data:
        experiment = Experiment(config)
        if buildable:  # searched keys, the pipeline, the scheduler and the search algorithm
            try:
                experiment.validate()
            except ConfigError as exc:
                if not _lacks_package(exc):
                    raise
        else:
            check_effective_overrides(experiment.source, key, experiment.param_space)
            _check_algorithms(experiment.settings)
    elif key in data:
        parser = ConfigParser(config)
        if buildable:
            parser.parse_pipeline(key)
        else:
            assert parser.config is not None
    elif "tune" in data:
        settings = TuneSettings.parse(tune)
        if settings.search_space:
            build_search_space(settings.search_space)
        _check_algorithms(settings)
    if "slurm" in data:
        SlurmSettings.parse(data["slurm"])


@pytest.fixture
def clean_imports(tmp_path: Path) -> Iterator[None]:
    """Undo what a page's blocks do to sys.path, and forget the modules they wrote."""
    path = list(sys.path)
    yield
    sys.path[:] = path
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", None) or "").startswith(str(tmp_path)):
            del sys.modules[name]


YAML_PAGES = [page for page in PAGES if any(b.lang == "yaml" for b in BLOCKS[page])]


@pytest.mark.parametrize("page", YAML_PAGES, ids=_page_id)
def test_docs_yaml(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_imports: None
) -> None:
    work = copy_example(tmp_path / "work")
    monkeypatch.chdir(work)
    sys.path.insert(0, str(work))
    for block in BLOCKS[page]:
        if block.file_name is not None:
            (work / block.file_name).write_text(block.code, encoding="utf-8")
        if block.lang != "yaml":
            continue
        if block.expect_error is None:
            try:
                validate_yaml(block, work)
            except Exception as exc:
                pytest.fail(f"{block.label}: {type(exc).__name__}: {exc}")
            continue
        with pytest.raises(Exception) as caught:
            validate_yaml(block, work)
        assert block.expect_error in str(caught.value), f"{block.label}: {caught.value}"


# -- python and bash ----------------------------------------------------------------------

PYTHON_PAGES = [page for page in PAGES if any(b.executed for b in BLOCKS[page])]
SHELL_BLOCKS = [b for b in _all_blocks() if b.run_status is not None]
NO_DATA = "no Fashion-MNIST files (set PIPETUNE_DATA or see docs/getting-started.md)"


@dataclass
class Job:
    """A subprocess started in the background; its output goes to a file."""

    process: subprocess.Popen[bytes]
    log: Path

    def finish(self, timeout: float) -> tuple[int, str]:
        try:
            status = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            status = -9
        return status, self.log.read_text(encoding="utf-8", errors="replace")


def _start(args: list[str], work: Path, env: dict[str, str]) -> Job:
    env = {**env, "RAY_ADDRESS": "local"}  # a Ray of its own, whatever else runs here
    log = work.parent / "output.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(args, cwd=work, env=env, stdout=handle, stderr=handle)
    return Job(process, log)


def _page_job(page: Path, folder: Path, data: Path | None) -> Job:
    work = copy_example(folder / "work", shrink=True)
    spec = [
        {
            "label": b.label,
            "lang": b.lang,
            "code": b.code,
            "file": b.file_name,
            "no_run": b.no_run,
            "expect_error": b.expect_error,
            "expected_output": b.expected_output,
        }
        for b in BLOCKS[page]
        if b.lang == "python" or b.file_name is not None
    ]
    spec_file = folder / "blocks.json"
    spec_file.write_text(json.dumps(spec), encoding="utf-8")
    env = dict(os.environ)
    if data is not None:
        env["PIPETUNE_DATA"] = str(data)
    return _start([sys.executable, str(RUNNER), str(spec_file)], work, env)


def _shell_job(block: Block, folder: Path, data: Path | None) -> Job:
    work = copy_example(folder / "work")
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    if data is not None:
        env["PIPETUNE_DATA"] = str(data)
    return _start(["bash", "-e", "-o", "pipefail", "-c", block.code], work, env)


@pytest.fixture(scope="module")
def jobs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Job]]:
    """Every python page and runnable bash block, started at once (skipped ones excepted)."""
    data = find_data()
    started: dict[str, Job] = {}
    for page in PYTHON_PAGES:
        if data is not None or not uses_example_data(BLOCKS[page]):
            started[_page_id(page)] = _page_job(page, tmp_path_factory.mktemp("page"), data)
    for block in SHELL_BLOCKS:
        if data is not None or not shell_needs_data(block):
            started[block.label] = _shell_job(block, tmp_path_factory.mktemp("shell"), data)
    yield started
    for job in started.values():
        if job.process.poll() is None:
            job.process.kill()
            job.process.wait()


@pytest.mark.slow
@pytest.mark.parametrize("page", PYTHON_PAGES, ids=_page_id)
def test_docs_python(page: Path, jobs: dict[str, Job]) -> None:
    if _page_id(page) not in jobs:
        pytest.skip(NO_DATA)
    status, output = jobs[_page_id(page)].finish(timeout=540)
    assert status == 0, output[-6000:]
    ran = sum(1 for b in BLOCKS[page] if b.executed)
    assert f"docs blocks executed: {ran}" in output


@pytest.mark.parametrize("block", SHELL_BLOCKS, ids=lambda b: b.label)
def test_docs_shell(block: Block, jobs: dict[str, Job]) -> None:
    if block.label not in jobs:
        pytest.skip(NO_DATA)
    status, output = jobs[block.label].finish(timeout=300)
    assert status == block.run_status, (
        f"{block.label}: exit status {status}, the page expects {block.run_status}\n"
        f"{output[-4000:]}"
    )
    if block.expected_output is not None:
        assert normalise(block.expected_output) in normalise(output), (
            f"{block.label} printed\n{output[-4000:]}\nbut the page shows\n{block.expected_output}"
        )
