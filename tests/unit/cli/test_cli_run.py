"""`pipetune run`: one line and exit status 2 on bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from components_code import COMPONENTS

from pipetune.cli.main import main

CONFIG = """
lr: 0.1
training_pipeline:
  class_path: pipetune.Pipeline
  init_args:
    steps:
      - class_path: {mod}.ListGetter
        init_args: {{size: 6}}
      - class_path: {mod}.HalfSplitter
        init_args: {{train_proportion: 0.5}}
      - class_path: {mod}.RecordingTrainer
        init_args: {{config: {{lr: "${{lr}}"}}, epochs: 1}}
"""


def test_run_executes_the_pipeline(make_module, write_yaml, tmp_path: Path) -> None:
    module = make_module(COMPONENTS + "\nprint_marker = True\n", folder=tmp_path / "proj")
    path = write_yaml(CONFIG.format(mod=module), folder=tmp_path / "proj")
    assert main(["run", str(path), "-o", "lr=0.5"]) == 0


def test_bad_override_prints_one_line_and_exits_2(make_module, write_yaml, tmp_path, capsys):
    module = make_module(COMPONENTS, folder=tmp_path / "proj")
    path = write_yaml(CONFIG.format(mod=module), folder=tmp_path / "proj")
    assert main(["run", str(path), "-o", "optim_lr=0.5"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("pipetune: error: ")
    assert "override key 'optim_lr' matches nothing" in err


def test_malformed_assignment(write_yaml, capsys) -> None:
    path = write_yaml("a: 1\n")
    assert main(["run", str(path), "-o", "novalue"]) == 2
    assert "is not of the form key=value" in capsys.readouterr().err


def test_console_script_exit_status_and_debug_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("a: [1\n")
    cli = [sys.executable, "-m", "pipetune.cli.main"]
    plain = subprocess.run([*cli, "run", str(path)], capture_output=True, text=True)
    assert plain.returncode == 2
    assert plain.stderr.count("\n") == 1
    assert "malformed YAML" in plain.stderr
    debug = subprocess.run([*cli, "--debug", "run", str(path)], capture_output=True, text=True)
    assert debug.returncode == 2
    assert "Traceback" in debug.stderr
