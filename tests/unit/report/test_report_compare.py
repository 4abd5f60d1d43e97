"""`pipetune report A B -o compare.html`: experiments side by side, refusals that write nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from experiment_folders import two_experiments, write_folder

from pipetune.cli.main import main
from pipetune.report._compare import DIFFERS

FIGURES = ("fig-wall", "fig-trial-seconds", "fig-distribution")


def _row(page: str, name: str) -> str:
    """The best-config table's row of the parameter shown as ``name``."""
    found = re.search(rf"<tr><th title=\"[^\"]*\">{re.escape(name)}</th>(.*?)</tr>", page)
    assert found, name
    return found.group(1)


def _traces(page: str, div_id: str) -> list[dict[str, object]]:
    """The traces plotly's ``newPlot`` call draws into ``div_id``."""
    found = re.search(rf'newPlot\(\s*"{div_id}",\s*(\[.*?\]),\s*\{{', page, re.DOTALL)
    assert found, div_id
    traces: list[dict[str, object]] = json.loads(found.group(1))
    return traces


def test_two_experiments_side_by_side(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = two_experiments(tmp_path, second="<b>fashion&b</b>")
    monkeypatch.chdir(tmp_path)
    assert main(["report", str(a), str(b)]) == 0
    page_path = tmp_path / "compare.html"
    assert f"{page_path}" in capsys.readouterr().out
    page = page_path.read_text()
    assert "fashion-a" in page and "&lt;b&gt;fashion&amp;b&lt;/b&gt;" in page
    assert "<b>fashion&b</b>" not in page  # every name escaped
    assert f'class="{DIFFERS}"' in _row(page, "lr")  # 0.01 vs 0.003
    assert f'class="{DIFFERS}"' in _row(page, "hidden")  # short name of model.init_args.hidden
    assert DIFFERS not in _row(page, "optimizer")  # adam in both
    assert 'id="compare-best"' in page
    for div_id in FIGURES:
        traces = _traces(page, div_id)
        assert len(traces) == 2, div_id  # one per experiment
    wall, paid = _traces(page, "fig-wall"), _traces(page, "fig-trial-seconds")
    assert wall[1]["y"][-1] == pytest.approx(0.4)  # type: ignore[index]
    # fashion-a: 3 + 2 + 2 epochs of 10 s; best 0.5 first reached after 30 trial-seconds
    assert paid[0]["x"][-1] == pytest.approx(70.0)  # type: ignore[index]
    assert _traces(page, "fig-distribution")[0]["type"] == "box"
    best_a = _traces(page, "fig-distribution")[0]["y"]
    assert sorted(best_a) == [0.5, 0.7, 0.95]  # type: ignore[call-overload]
    assert "<script src=" not in page and len(page) > 1_000_000  # plotly.js inlined


def test_output_option_and_one_folder_unchanged(tmp_path: Path) -> None:
    a, b = two_experiments(tmp_path)
    out = tmp_path / "out" / "both.html"
    out.parent.mkdir()
    assert main(["report", str(a), str(b), "-o", str(out), "--mode", "min"]) == 0
    assert out.is_file() and not (a / "report.html").exists()
    assert main(["report", str(a), "--format", "html"]) == 0
    assert (a / "report.html").is_file() and not (a / "compare.html").exists()


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("pipetune: error: ")
    return err


def test_mismatched_metrics_refused_naming_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, _ = two_experiments(tmp_path)
    acc = write_folder(tmp_path / "acc", [({"lr": 0.1}, [0.8, 0.9])], metric="val_acc", mode="max")
    out = tmp_path / "compare.html"
    err = _refused(["report", str(a), str(acc), "-o", str(out)], capsys)
    assert "'val_loss'" in err and "'val_acc'" in err and "--metric" in err
    assert not out.exists()


def test_not_an_experiment_refused_and_nothing_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, _ = two_experiments(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "compare.html"
    err = _refused(["report", str(a), str(empty), "-o", str(out)], capsys)
    assert "not a pipetune experiment folder" in err and "empty" in err
    assert not out.exists()
    assert {p.name for p in tmp_path.iterdir()} == {"fashion-a", "fashion-b", "empty"}  # no temp


def test_options_of_the_other_mode_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = two_experiments(tmp_path)
    out = tmp_path / "one.html"
    assert "two or more" in _refused(["report", str(a), "-o", str(out)], capsys)
    assert "--format" in _refused(["report", str(a), str(b), "--format", "md"], capsys)
    assert not out.exists() and not (a / "report.html").exists()
