"""report.html in headless Chromium, network blocked: it renders, sorts and logs no error.

Console messages reach Chromium's stderr log (``--enable-logging=stderr``) as ``CONSOLE``
lines without their level, so every message counts as an error except the software-WebGL
driver notes and this test's own probe lines. A first test proves the harness sees errors.
"""

from __future__ import annotations

import csv
import json
import math
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from browser import CHROMIUM, chromium_command, console_messages

from pipetune.report import SECTION_IDS, write_report

PROBE = "pipetune-probe:"
BENIGN = re.compile(r"GL Driver Message|software WebGL|swiftshader", re.IGNORECASE)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium (make chromium)"),
]

PROBE_JS = """
<script>
window.addEventListener("load", function () {
  function out(key, value) { console.log("__PROBE__" + key + "=" + JSON.stringify(value)); }
  function ids() {
    return Array.prototype.map.call(
      document.querySelectorAll("#trials-table tbody tr"),
      function (row) { return row.cells[1].textContent; });
  }
  out("rows", ids());
  out("plots", Array.prototype.map.call(
    document.querySelectorAll(".js-plotly-plot"),
    function (div) { return [div.id, div.querySelectorAll(".main-svg").length]; }));
  out("canvases", document.querySelectorAll("#fig-parallel canvas").length);
  var headers = document.querySelectorAll("#trials-table thead th");
  headers[1].click(); out("ascending", ids());
  headers[1].click(); out("descending", ids());
  headers[0].click(); out("restored", ids());
});
</script>
""".replace("__PROBE__", PROBE)


def chromium(page: Path, screenshot: Path, profile: Path) -> list[str]:
    """Load ``page`` offline, save a screenshot, return the console messages."""
    command = chromium_command(
        page, profile, f"--screenshot={screenshot}", "--window-size=1280,2400"
    )
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert screenshot.is_file(), done.stderr[-3000:]
    return console_messages(done.stderr)


def errors(messages: list[str]) -> list[str]:
    return [m for m in messages if not m.startswith(PROBE) and not BENIGN.search(m)]


def probes(messages: list[str]) -> dict[str, Any]:
    pairs = (m.removeprefix(PROBE).split("=", 1) for m in messages if m.startswith(PROBE))
    return {key: json.loads(value) for key, value in pairs}


def test_the_harness_sees_console_errors_and_blocks_the_network(tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text(
        "<html><body><script>console.error('boom'); undefinedFunction();</script>"
        "<script>fetch('https://cdn.plot.ly/plotly.min.js').then("
        f"function () {{ console.log('{PROBE}net=\"reached\"'); }}, "
        f"function () {{ console.log('{PROBE}net=\"blocked\"'); }});</script></body></html>"
    )
    messages = chromium(page, tmp_path / "broken.png", tmp_path / "profile")
    found = errors(messages)
    assert "boom" in found
    assert any("Uncaught ReferenceError" in m for m in found)
    assert probes(messages)["net"] == "blocked"


START = 1_750_000_000.0


def _trial(
    i: int, free: dict[tuple[str, int], float]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Trial ``i`` on the first free (node, lane): its results.csv row and history rows."""
    lr = 10 ** (-4 + 0.27 * i)
    config = {
        "lr": lr,
        "batch_size": [32, 64, 128][i % 3],
        "optimizer": ["adam", "sgd"][i % 2],
        "dropout": round(0.05 * (i % 7), 2),
    }
    distance = abs(math.log10(lr) + 2.5)  # the best lr is near 3e-3
    epochs = 4 if distance < 0.8 else (2 if distance < 1.2 else 1)  # ASHA-like stops
    slot = min(free, key=lambda k: free[k])
    clock, losses, history = free[slot], [], []
    for epoch in range(1, epochs + 1):
        losses.append(0.35 + 0.3 * distance + 0.6 / (epoch + 1) + 0.02 * (i % 3))
        clock += 12.0 + 4.0 * (i % 3)
        history.append(
            {
                "trial_id": f"f00d1_{i:05d}",
                "node_ip": slot[0],
                "timestamp": clock,
                "training_iteration": epoch,
                "time_this_iter_s": 12.0,
                "time_total_s": 12.0 * epoch,
                "val_loss": losses[-1],
            }
        )
    free[slot] = clock + 1.0
    status = "ERROR" if i == 11 else "TERMINATED"
    row = {
        "trial_id": f"f00d1_{i:05d}",
        "status": status,
        "val_loss": losses[-1],
        "best_val_loss": min(losses),
        "iterations": epochs,
        "time_total_s": 12.0 * epochs,
        **{f"config/{k}": v for k, v in config.items()},
        "error": "RuntimeError: CUDA out of memory" if status == "ERROR" else "",
    }
    return row, history


def write_experiment(folder: Path) -> Path:
    """Twelve trials on two nodes of two lanes each, early stops and one error (no Ray)."""
    folder.mkdir(parents=True)
    free = {(node, lane): START for node in ("10.0.0.1", "10.0.0.2") for lane in (0, 1)}
    rows, history = [], []
    for i in range(12):
        row, lines = _trial(i, free)
        rows.append(row)
        history += lines
    history.sort(key=lambda r: float(r["timestamp"]))
    (folder / "history.jsonl").write_text("".join(json.dumps(r) + "\n" for r in history))
    with (folder / "results.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (folder / "pipetune_config.yaml").write_text("tune: {metric: val_loss, mode: min}\n")
    (folder / "best_config.yaml").write_text("learning_rate: 0.003\nbatch_size: 64\n")
    (folder / "mlruns").mkdir()
    return folder


def test_report_renders_sorts_and_logs_no_error(tmp_path: Path) -> None:
    folder = write_experiment(tmp_path / "fashion-hpo")
    report = write_report(folder)
    page = folder / "report-probe.html"
    page.write_text(report.read_text().replace("</body>", PROBE_JS + "</body>"))
    screenshot = tmp_path / "report.png"
    messages = chromium(page, screenshot, tmp_path / "profile")
    assert errors(messages) == []
    assert screenshot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert screenshot.stat().st_size > 50_000  # a blank page is a few kB
    found = probes(messages)
    rows = found["rows"]
    assert isinstance(rows, list) and len(rows) == 12
    assert found["ascending"] == sorted(rows)
    assert found["descending"] == sorted(rows, reverse=True)
    assert found["restored"] == rows
    plots = dict(found["plots"])
    for key in SECTION_IDS[2:]:
        assert plots.get(f"fig-{key}", 0) >= 1, (key, plots)
    assert found["canvases"] >= 1  # parcoords drew its WebGL lines
