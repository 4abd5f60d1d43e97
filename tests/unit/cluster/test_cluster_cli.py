"""`pipetune slurm`: settings from the YAML and the flags, validation, output and submission."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from pipetune.cli.main import main
from pipetune.cluster import SlurmSettings, parse_job_id, plan_job, time_limit_seconds
from pipetune.errors import ConfigError, PipetuneError

CONFIG = """
lr: 0.1
tune:
  name: demo
  storage_path: runs
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(folder: Path, text: str, name: str = "config.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("pipetune: error: ")
    return err


# -- settings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("00:30:00", 1800), ("48:00:00", 172800), ("1-12:00:00", 129600), ("0:00:01", 1)],
)
def test_time_limits(text: str, seconds: int) -> None:
    assert time_limit_seconds(text) == seconds


@pytest.mark.parametrize("text", ["30", "1:00", "00:60:00", "00:00:61", "1-24:00:00", "00:00:00"])
def test_bad_time_limits(text: str) -> None:
    with pytest.raises(ValueError):
        time_limit_seconds(text)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"nodes": 0}, "greater than or equal to 1"),
        ({"nodes": "2"}, "valid integer"),
        ({"gpus_per_node": -1}, "greater than or equal to 0"),
        ({"cpus_per_task": 0}, "greater than or equal to 1"),
        ({"time": "90 minutes"}, "HH:MM:SS"),
        ({"partition": "gpu\nrm -rf ~"}, "control characters"),
        ({"partition": " "}, "must not be empty"),
        ({"ray_temp_dir": "tmp/ray"}, "absolute"),
        ({"ray_temp_dir": "/" + "x" * 60}, "at most 48"),
        ({"sbatch_options": ["mem=4G"]}, "start with '--'"),
        ({"setup": ["a"], "setup_file": "b"}, "not both"),
        ({"requeue": True, "time": "00:03:00"}, "must exceed requeue_grace_s"),
        ({"nodez": 2}, "unknown setting 'slurm.nodez'"),
    ],
)
def test_invalid_settings_are_config_errors(values: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SlurmSettings.parse(values)


def test_setup_may_be_one_string() -> None:
    assert SlurmSettings.parse({"setup": "module load x"}).setup == ["module load x"]


def test_yaml_errors_name_file_key_and_line(project: Path) -> None:
    path = write(project, CONFIG + "slurm:\n  nodes: 1\n  cpus_per_task: lots\n")
    with pytest.raises(ConfigError) as caught:
        plan_job(path)
    text = str(caught.value)
    assert f"{path}:8 at 'slurm.cpus_per_task'" in text
    assert "lots" in text


def test_flags_override_the_yaml_and_errors_name_the_flag(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(project, CONFIG + "slurm:\n  nodes: 2\n  partition: short\n")
    job = plan_job(path, {"nodes": 3, "partition": None}, {"nodes": "--nodes"})
    assert job.settings.nodes == 3 and job.settings.partition == "short"

    assert main(["slurm", str(path), "--nodes", "0", "--dry-run"]) == 2
    err = one_error_line(capsys)
    assert "--nodes: Input should be greater than or equal to 1 (got 0)" in err

    assert main(["slurm", str(path), "--time", "1h", "--dry-run"]) == 2
    assert "--time: time must look like HH:MM:SS" in one_error_line(capsys)


def test_setup_on_the_command_line_replaces_the_yaml_setup_file(project: Path) -> None:
    (project / "env.sh").write_text("module load A\nmodule load B\n")
    path = write(project, CONFIG + "slurm:\n  setup_file: env.sh\n")
    assert plan_job(path).setup_lines == ("module load A", "module load B")
    job = plan_job(path, {"setup": ["source x"]})
    assert job.setup_lines == ("source x",)


def test_paths_are_absolute_and_the_name_defaults_to_the_config_stem(project: Path) -> None:
    (project / "sub").mkdir()
    path = write(project / "sub", "lr: 1\n", "search.yaml")
    job = plan_job("sub/search.yaml")
    assert job.config == str(path)
    assert job.workdir == str(project)
    assert job.storage_path == str(project / "runs")
    assert job.name == "search"
    assert job.experiment_dir == str(project / "runs" / "search")


def test_missing_venv_or_setup_file_is_an_error(project: Path) -> None:
    path = write(project, CONFIG)
    with pytest.raises(ConfigError, match="not a virtual environment"):
        plan_job(path, {"venv": "nowhere"})
    with pytest.raises(ConfigError, match=r"setup file .* not found"):
        plan_job(path, {"setup_file": "nowhere.sh"})
    (project / "venv" / "bin").mkdir(parents=True)
    (project / "venv" / "bin" / "activate").write_text("")
    assert plan_job(path, {"venv": "venv"}).venv == str(project / "venv")


def test_bad_tune_section_is_reported_before_any_job(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(project, "tune:\n  num_sample: 3\n")
    assert main(["slurm", str(path), "--dry-run"]) == 2
    assert "unknown setting 'tune.num_sample'" in one_error_line(capsys)


# -- output ---------------------------------------------------------------------------------


def test_dry_run_prints_the_script_and_writes_nothing(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(project, CONFIG)
    assert main(["slurm", str(path), "--nodes", "2", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("#!/bin/bash\n") and "#SBATCH --nodes=2" in out
    assert not (project / "runs").exists()


def test_writes_the_script_next_to_the_experiment(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(project, CONFIG)
    assert main(["slurm", str(path), "--requeue", "--time", "00:30:00"]) == 0
    script = project / "runs" / "demo" / "slurm_hpo.sh"
    assert "#SBATCH --requeue" in script.read_text()
    assert script.stat().st_mode & stat.S_IXUSR
    assert f"sbatch {script}" in capsys.readouterr().err

    other = project / "jobs" / "hpo.sh"
    assert main(["slurm", str(path), "--output", str(other)]) == 0
    assert other.read_text().startswith("#!/bin/bash")


def test_dry_run_and_submit_exclude_each_other(project: Path) -> None:
    path = write(project, CONFIG)
    with pytest.raises(SystemExit) as caught:
        main(["slurm", str(path), "--dry-run", "--submit"])
    assert caught.value.code == 2


def fake_sbatch(folder: Path, body: str) -> Path:
    """A stand-in `sbatch` on PATH that records its arguments and runs ``body``."""
    folder.mkdir(parents=True, exist_ok=True)
    tool = folder / "sbatch"
    tool.write_text(f'#!/bin/bash\nprintf "%s\\n" "$PWD" "$@" > "{folder}/args"\n{body}\n')
    tool.chmod(0o755)
    return folder


def test_submit_runs_sbatch_and_prints_the_job_id(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bin_dir = fake_sbatch(project / "bin", 'echo "Submitted batch job 4242"')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    path = write(project, CONFIG)
    assert main(["slurm", str(path), "--submit"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "4242\n"
    assert "submitted batch job 4242" in captured.err
    cwd, script = (bin_dir / "args").read_text().splitlines()
    assert cwd == str(project)
    assert script == str(project / "runs" / "demo" / "slurm_hpo.sh")


def test_sbatch_failures_are_one_line_errors(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bin_dir = fake_sbatch(
        project / "bin", 'echo "sbatch: error: invalid partition specified: gpux" >&2; exit 1'
    )
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    path = write(project, CONFIG)
    assert main(["slurm", str(path), "--partition", "gpux", "--submit"]) == 2
    wrote, error = capsys.readouterr().err.strip().splitlines()
    assert wrote.startswith("wrote ")
    assert error == (
        "pipetune: error: sbatch refused the job: sbatch: error: invalid partition specified: gpux"
    )

    (project / "runs").rename(project / "old-runs")
    monkeypatch.setenv("PATH", str(project / "empty"))
    assert main(["slurm", str(path), "--submit"]) == 2
    assert "sbatch is not on PATH" in one_error_line(capsys)
    assert not (project / "runs").exists()


def test_job_id_parsing() -> None:
    assert parse_job_id("Submitted batch job 12345\n") == "12345"
    assert parse_job_id("sbatch: note: x\nSubmitted batch job 7 on cluster a\n") == "7"
    with pytest.raises(PipetuneError, match="could not read a job id"):
        parse_job_id("something else")


def test_console_script(project: Path, run_cli: Callable[..., subprocess.CompletedProcess]) -> None:
    path = write(project, CONFIG)
    done = run_cli("slurm", str(path), "--nodes", "-1", "--dry-run")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1


@pytest.fixture
def run_cli() -> Callable[..., subprocess.CompletedProcess]:
    import sys

    def run(*args: str) -> subprocess.CompletedProcess:
        cli = [sys.executable, "-m", "pipetune.cli.main", *args]
        return subprocess.run(cli, capture_output=True, text=True, timeout=120)

    return run


def test_a_folder_holding_an_experiment_is_named_as_what_the_job_resumes(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(project, CONFIG)
    assert main(["slurm", str(path)]) == 0
    assert "holds an experiment" not in capsys.readouterr().err
    (project / "runs" / "demo" / "history.jsonl").write_text("")
    assert main(["slurm", str(path)]) == 0
    err = capsys.readouterr().err
    assert f"note: {project / 'runs' / 'demo'} holds an experiment already: the job resumes" in err
    assert main(["slurm", str(path), "--dry-run"]) == 0  # said on stderr, the script on stdout
    dry = capsys.readouterr()
    assert "holds an experiment already" in dry.err and dry.out.startswith("#!/bin/bash")
