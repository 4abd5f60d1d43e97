"""The live report in headless Chromium: while `pipetune tune` runs, report.html says how
many trials are done, that count changes between two reads, and the page reloads itself;
the final report is static. A page whose driver stopped writing says so and stops reloading.

The toy's trials wait at a gate after their first epoch (tune_toy.Gate), so each read
happens at a known point of the experiment.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from browser import CHROMIUM, chromium_command, console_messages
from tune_toy import let_through, write_toy

from pipetune.report import LiveBanner, _live

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium (make chromium)"),
]

BANNER = re.compile(r"running: (\d+) of (\d+) trials done, (\d+) running, updated \d\d:\d\d:\d\d")
# Counts the loads of a page in this tab (sessionStorage survives a reload) and says the
# banner's text as the page shows it.
PROBE = """<script>
window.addEventListener("load", function () {
  var loads = Number(sessionStorage.getItem("loads") || 0) + 1;
  sessionStorage.setItem("loads", String(loads));
  var live = document.getElementById("live");
  console.log("probe:" + loads + ":" + (live ? live.textContent : ""));
});
</script>"""


def read_in_chromium(page: Path, profile: Path, budget_ms: int) -> tuple[int, str]:
    """Open a copy of ``page`` with the probe for ``budget_ms`` of (virtual) time: how many
    times it loaded, and its banner's text at its last load ("" without one)."""
    copy = page.with_name(f"probe-{time.monotonic_ns()}.html")
    copy.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    command = chromium_command(copy, profile, "--dump-dom", budget_ms=budget_ms)
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    copy.unlink()
    probes = [m.split(":", 2) for m in console_messages(done.stderr) if m.startswith("probe:")]
    assert probes, done.stderr[-3000:]
    _, loads, banner = probes[-1]
    return int(loads), banner


def counts(banner: str) -> tuple[str, str] | None:
    """(done, total) of a banner's text."""
    found = BANNER.fullmatch(banner)
    return (found.group(1), found.group(2)) if found else None


def wait_for_banner(
    page: Path, done: int, driver: subprocess.Popen[bytes], timeout: float = 240.0
) -> None:
    """Until report.html's banner says ``done`` trials are done."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert driver.poll() is None, f"the driver ended (exit {driver.returncode})"
        found = BANNER.search(page.read_text()) if page.is_file() else None
        if found and int(found.group(1)) == done:
            return
        time.sleep(0.2)
    raise AssertionError(f"report.html never said {done} trial(s) done")


@pytest.mark.ray
@pytest.mark.slow
def test_the_live_report_counts_trials_while_running_and_ends_static(
    make_module: Callable[..., str], tmp_path: Path, drivers: list[subprocess.Popen[bytes]]
) -> None:
    gate = tmp_path / "gate"
    config = write_toy(
        make_module, tmp_path, epochs=2, gate=gate, max_concurrent_trials=1, report_every_s=1
    )
    page = tmp_path / "runs" / "exp" / "report.html"
    log = (tmp_path / "driver.log").open("wb")
    driver = subprocess.Popen(
        [sys.executable, "-m", "pipetune.cli.main", "tune", str(config)],
        cwd=tmp_path,
        env={**os.environ, "RAY_ADDRESS": "local"},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    drivers.append(driver)

    wait_for_banner(page, 0, driver)  # the first trial waits at the gate
    assert 'id="live-reload"' in page.read_text()  # the script the test below runs
    _, banner = read_in_chromium(page, tmp_path / "profile-1", budget_ms=500)
    assert counts(banner) == ("0", "2")

    let_through(gate)  # the first trial ends; the second waits at the gate
    wait_for_banner(page, 1, driver)
    _, banner = read_in_chromium(page, tmp_path / "profile-2", budget_ms=500)
    assert counts(banner) == ("1", "2")

    let_through(gate)
    assert driver.wait(timeout=300) == 0, (tmp_path / "driver.log").read_text()[-3000:]
    final = page.read_text()
    assert "running:" not in final and 'id="live-reload"' not in final
    time.sleep(2.5)  # a late live render would land now
    assert page.read_text() == final
    loads, banner = read_in_chromium(page, tmp_path / "profile-3", budget_ms=3000)
    assert (loads, banner) == (1, "")


def test_a_live_page_reloads_itself_until_it_comes_back_unchanged_then_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The banner and its script alone (the plotly page is too slow for Chromium's virtual
    time to see several reloads): stale after 1 s of reloads every 0.25 s."""
    monkeypatch.setattr(_live, "STALE_MIN_S", 1.0)
    monkeypatch.setattr(_live, "STALE_PERIODS", 4)
    monkeypatch.setattr(_live, "HEARTBEAT_S", 0.1)
    banner = LiveBanner(done=0, running=1, total=2, reload_s=0.25)
    page = tmp_path / "live.html"
    page.write_text(f"<!DOCTYPE html><html><body>{_live.banner_html(banner)}</body></html>")
    loads, text = read_in_chromium(page, tmp_path / "profile", budget_ms=10000)
    assert loads == 5  # the first load, then four unchanged reloads: stale
    assert text == banner.text + (
        " (not updated since: the driver may have stopped; see `pipetune status` for this folder)"
    )
