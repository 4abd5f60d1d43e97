"""Hostile values in every user-controlled field: the script stays valid bash, holds them only
in quoted form, and running its settings part executes nothing."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import pytest

from pipetune.cli.main import main
from pipetune.cluster import SlurmJob, SlurmSettings, render_script
from pipetune.cluster._quote import sbatch
from pipetune.cluster._script import SETTINGS_END

QUOTE = 'x"; rm -rf ~; "'
SUBST = "$(touch pwned)"
TICKS = "`touch pwned-too`"
SINGLE = "'; touch pwned-three; '"
ATTACKS = [QUOTE, SUBST, TICKS, SINGLE]
MARKERS = ["pwned", "pwned-too", "pwned-three"]


def hostile_job() -> SlurmJob:
    settings = SlurmSettings.parse(
        {
            "nodes": 2,
            "partition": QUOTE + SUBST,
            "account": SUBST + TICKS,
            "job_name": SINGLE,
            "setup": [f"echo {QUOTE}", SUBST],
            "sbatch_options": [f"--comment={SINGLE}{QUOTE}"],
        }
    )
    return SlurmJob(
        config=f"/p/{QUOTE}/{SUBST}/c.yaml",
        workdir=f"/p/{TICKS}",
        storage_path=f"/p/{SINGLE}",
        name=QUOTE,
        settings=settings,
        setup_lines=tuple(settings.setup),
        venv=f"/v/{SUBST}",
    )


def split(text: str) -> tuple[list[str], str, str]:
    """(#SBATCH lines, settings part, body) of a rendered script."""
    head, _, body = text.partition(SETTINGS_END + "\n")
    sbatch_lines = [line for line in head.splitlines() if line.startswith("#SBATCH")]
    return sbatch_lines, head, body


def settings_values(script: Path, cwd: Path, names: list[str]) -> list[str]:
    """Run only the settings part of ``script`` under bash; return the variables' values."""
    program = (
        f"source <(sed -n '1,/^{SETTINGS_END}$/p' {shlex.quote(str(script))}); "
        'printf "%s\\0" ' + " ".join(f'"${name}"' for name in names)
    )
    done = subprocess.run(
        ["bash", "-c", program], cwd=cwd, capture_output=True, check=True, timeout=30
    )
    return done.stdout.decode().split("\0")[:-1]


def test_hostile_values_stay_quoted_and_inert(tmp_path: Path) -> None:
    job = hostile_job()
    text = render_script(job)
    script = tmp_path / "job.sh"
    script.write_text(text, encoding="utf-8")
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0

    sbatch_lines, settings, body = split(text)
    # the fixed body never holds a user value
    for attack in [*ATTACKS, "rm -rf", "pwned"]:
        assert attack not in body
    # in the settings part each value appears exactly as shlex.quote renders it
    expected = {
        "CONFIG": job.config,
        "WORKDIR": job.workdir,
        "STORAGE_PATH": job.storage_path,
        "EXPERIMENT_NAME": job.name,
        "EXPERIMENT_DIR": job.experiment_dir,
        "VENV": job.venv,
        "SETUP": "\n".join(job.setup_lines),
    }
    for name, value in expected.items():
        assert f"\n{name}={shlex.quote(str(value))}\n" in settings
    # #SBATCH lines are comments to bash; for sbatch, odd values sit in double quotes
    assert f"#SBATCH --partition={sbatch(QUOTE + SUBST)}" in sbatch_lines
    assert f"#SBATCH --account={sbatch(SUBST + TICKS)}" in sbatch_lines
    assert f"#SBATCH --job-name={sbatch(SINGLE)}" in sbatch_lines
    assert f"#SBATCH --comment={sbatch(SINGLE + QUOTE)}" in sbatch_lines
    assert f'#SBATCH --partition="x\\"; rm -rf ~; \\"{SUBST}"' in sbatch_lines
    # outside the quoted forms nothing of the attacks is left
    rest = settings
    for value in sorted(map(str, expected.values()), key=len, reverse=True):
        rest = rest.replace(shlex.quote(value), "")
    rest = "\n".join(line for line in rest.splitlines() if not line.startswith("#SBATCH"))
    for attack in ["rm -rf", "pwned", "$(", "`"]:
        assert attack not in rest

    # running the settings part executes nothing and yields the values byte for byte
    values = settings_values(script, tmp_path, list(expected))
    assert values == [str(v) for v in expected.values()]
    assert not any((tmp_path / marker).exists() for marker in MARKERS)


@pytest.mark.parametrize("attack", ATTACKS)
def test_hostile_config_path_and_flags_through_the_cli(
    attack: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    folder = tmp_path / attack.replace("/", "_")
    folder.mkdir()
    config = folder / f"{attack}.yaml"
    config.write_text(f"tune:\n  name: {json.dumps(attack)}\n  storage_path: runs\n")
    monkeypatch.chdir(tmp_path)
    argv = ["slurm", str(config), "--nodes", "2", "--dry-run"]
    argv += ["--partition", attack, "--account", attack, "--setup", attack, "--job-name", attack]
    assert main(argv) == 0
    script = tmp_path / "job.sh"
    script.write_text(capsys.readouterr().out, encoding="utf-8")
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0

    config_value, name, setup = settings_values(
        script, tmp_path, ["CONFIG", "EXPERIMENT_NAME", "SETUP"]
    )
    assert config_value == str(config)
    assert name == attack
    assert setup == attack
    assert not any((tmp_path / marker).exists() for marker in MARKERS)
    assert not any((folder / marker).exists() for marker in MARKERS)


def test_values_that_would_break_a_line_are_refused() -> None:
    from pipetune.errors import ConfigError

    job = hostile_job()
    broken = SlurmJob(**{**job.__dict__, "config": "/p/a\nrm -rf ~/c.yaml"})
    with pytest.raises(ConfigError, match="control character"):
        render_script(broken)
