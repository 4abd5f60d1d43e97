"""The site builds with ``mkdocs build --strict`` (a broken link, a missing anchor or an
unresolvable API reference fails), and its generated reference pages cover the code."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest
from docs_blocks import REPO


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    for module in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python"):
        pytest.importorskip(
            module, reason="the docs extra is not installed: pip install -e '.[docs]'"
        )
    target = tmp_path_factory.mktemp("site")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(target)],
        cwd=REPO,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("WARNING")]
    assert not warnings, "\n".join(warnings)
    return target


def _page(site: Path, name: str) -> str:
    return (site / name / "index.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_docs_build_strict(site: Path) -> None:
    for name in ("tutorial", "getting-started", "reference/configuration", "reference/cli"):
        html = _page(site, name)
        assert "generated:" not in html, f"{name}: a generated section was not expanded"


@pytest.mark.slow
def test_docs_reference_covers_the_code(site: Path) -> None:
    from pipetune.cli.main import build_parser
    from pipetune.torch import TrainingConfiguration
    from pipetune.tune import Constraint, Resources, TuneSettings

    configuration = _page(site, "reference/configuration")
    for model in (TuneSettings, Resources, Constraint, TrainingConfiguration):
        for field in model.model_fields:
            assert f"<code>{field}</code>" in configuration, f"{model.__name__}.{field}"
    cli = _page(site, "reference/cli")
    parser = build_parser()
    commands = [
        sub
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for sub in action.choices.values()
    ]
    assert commands
    for command in [parser, *commands]:
        for action in command._actions:
            for flag in action.option_strings:
                assert flag in cli, f"{command.prog} {flag} is missing from the CLI reference"
