"""`pipetune ray status|stop` and the line `pipetune tune` prints about a local Ray record,
without starting Ray (the head itself: tests/integration/cluster/test_local_ray_head.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipetune.cli import _tune
from pipetune.cli.main import main
from pipetune.cluster._local import RECORD, STATE_ENV


@pytest.fixture
def record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(STATE_ENV, str(tmp_path))
    return tmp_path / RECORD


def test_status_without_a_record_says_how_to_start_one(
    record: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ray", "status"]) == 1
    assert capsys.readouterr().out == (
        f"no local Ray is recorded ({record}); start one with `pipetune ray start`\n"
    )


def test_tune_ignores_a_corrupt_record_in_one_line_and_stop_removes_it(
    record: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record.write_text("{half a rec")
    assert _tune._local_head() is None
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"the local Ray record {record} is not one pipetune wrote (JSONDecodeError); remove it, "
        "or run `pipetune ray stop`; starting an embedded Ray"
    ]
    assert main(["ray", "status"]) == 1
    assert main(["ray", "stop"]) == 0
    assert not record.exists()
    assert capsys.readouterr().out.splitlines()[-1].startswith(f"removed {record}: ")
