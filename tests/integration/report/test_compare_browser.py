"""compare.html in headless Chromium, network blocked: every figure draws, no console error."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from browser import CHROMIUM
from experiment_folders import two_experiments
from test_report_browser import PROBE, chromium, errors, probes

from pipetune.report import write_compare

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium (make chromium)"),
]

PLOTS_JS = """
<script>
window.addEventListener("load", function () {
  console.log("__PROBE__plots=" + JSON.stringify(Array.prototype.map.call(
    document.querySelectorAll(".js-plotly-plot"),
    function (div) { return [div.id, div.querySelectorAll(".main-svg").length]; })));
  console.log("__PROBE__differs=" + document.querySelectorAll("#compare-best td.differs").length);
});
</script>
""".replace("__PROBE__", PROBE)


def test_comparison_renders_without_console_error(tmp_path: Path) -> None:
    a, b = two_experiments(tmp_path)
    page = write_compare([a, b], tmp_path / "compare.html")
    probed = tmp_path / "compare-probe.html"
    probed.write_text(page.read_text().replace("</body>", PLOTS_JS + "</body>"))
    screenshot = tmp_path / "compare.png"
    messages = chromium(probed, screenshot, tmp_path / "profile")
    assert errors(messages) == []
    found = probes(messages)
    plots = dict(found["plots"])
    for div_id in ("fig-wall", "fig-trial-seconds", "fig-distribution"):
        assert plots.get(div_id, 0) >= 1, (div_id, plots)
    assert found["differs"] == 4  # lr and hidden, in both columns
    keep = os.environ.get("PIPETUNE_SCREENSHOTS")  # docs/img/compare-report.png comes from here
    if keep:
        shutil.copy(screenshot, Path(keep) / "compare-report.png")
