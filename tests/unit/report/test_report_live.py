"""The live report: a running page has a banner and a reload script, the final one neither;
renders happen in one thread, throttled, never two at once, and none after close()."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from pathlib import Path

from test_report_support import write_interrupted

from pipetune.report import (
    LiveBanner,
    LiveReport,
    _live,
    _sections,
    live_report,
    load_experiment,
    render_page,
)


def test_a_running_page_has_the_banner_and_reloads_and_the_final_one_does_not(
    tmp_path: Path,
) -> None:
    experiment = load_experiment(write_interrupted(tmp_path / "exp"))
    banner = LiveBanner(
        done=3, running=2, total=8, reload_s=5, updated=time.mktime((2026, 1, 2, 3, 4, 5, 0, 0, -1))
    )
    live = render_page(experiment, live=banner)
    assert (
        '<div id="live" class="live">running: 3 of 8 trials done, 2 running, updated 03:04:05</div>'
        in live
    )
    assert '<script id="live-reload">' in live and '"reload": 5000' in live
    final = render_page(experiment)
    assert 'id="live' not in final and "location.reload" not in final and "running: " not in final


def test_the_running_page_leaves_importance_to_the_final_one(tmp_path: Path) -> None:
    """Importance fits a forest (most of a render's CPU): a running page only says when."""
    experiment = load_experiment(write_interrupted(tmp_path / "exp"))
    called = []
    importance = next(s for s in _sections.SECTIONS if s.id == "importance")
    spy = dataclasses.replace(importance, data=lambda e: called.append(e) or importance.data(e))
    index = _sections.SECTIONS.index(importance)
    _sections.SECTIONS[index] = spy
    try:
        live = render_page(experiment, live=LiveBanner(1, 1, 3, reload_s=5))
        assert not called
        final = render_page(experiment)
        assert len(called) == 1
    finally:
        _sections.SECTIONS[index] = importance
    section = live.split('<section id="importance"')[1].split("</section>")[0]
    assert "Computed when the experiment ends." in section
    assert "Computed when the experiment ends." not in final


def eventually(check: Callable[[], bool], timeout: float = 20.0) -> None:
    """Until ``check()`` holds (the machine may be loaded: no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


class Renders:
    """A render function that records its calls and how many run at once."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.seconds, self.calls, self.now, self.most = seconds, 0, 0, 0
        self.lock = threading.Lock()
        self.banners: list[LiveBanner] = []

    def __call__(self, banner: LiveBanner) -> str:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
            self.calls += 1
            self.banners.append(banner)
        time.sleep(self.seconds)
        with self.lock:
            self.now -= 1
        return f"<p>{banner.text}</p>"


def test_updates_are_throttled_into_one_render_at_a_time(tmp_path: Path) -> None:
    renders = Renders(seconds=0.05)
    live = LiveReport(tmp_path, every_s=0.3, render=renders)
    started = time.monotonic()
    while time.monotonic() - started < 1.0:  # 1 s of results, far more often than renders
        live.update(1, 2, 4)
        time.sleep(0.005)
    live.update(2, 1, 4)
    page = tmp_path / "report.html"
    eventually(lambda: page.exists() and "2 of 4" in page.read_text())  # the newest counts
    live.close()
    took = time.monotonic() - started
    assert renders.most == 1
    assert 2 <= renders.calls <= took / 0.3 + 1, renders.calls  # never one per update
    assert page.read_text() == f"<p>{renders.banners[-1].text}</p>"


def test_a_trial_end_renders_without_waiting_for_the_period(tmp_path: Path) -> None:
    renders = Renders()
    live = LiveReport(tmp_path, every_s=60, render=renders)
    live.update(0, 1, 2)
    eventually(lambda: renders.calls == 1)
    started = time.monotonic()
    live.update(1, 1, 2, now=True)  # MIN_GAP_S (1 s) after the first render, not 60 s
    eventually(lambda: renders.calls == 2)
    live.close()
    assert time.monotonic() - started < 30
    assert [b.done for b in renders.banners] == [0, 1]


def test_no_live_page_is_written_after_close(tmp_path: Path) -> None:
    """A render still running when the experiment ends must not overwrite the final page."""
    release = threading.Event()
    entered = threading.Event()

    def slow(banner: LiveBanner) -> str:
        entered.set()
        release.wait(10)
        return "live page"

    live = LiveReport(tmp_path, every_s=0.1, render=slow)
    live.update(0, 1, 2)
    assert entered.wait(10)
    live.close(timeout=0.1)  # returns while the render is still busy
    (tmp_path / "report.html").write_text("final page")
    release.set()
    live._thread.join(10)  # type: ignore[union-attr]
    assert (tmp_path / "report.html").read_text() == "final page"
    live.update(1, 0, 2)  # a late hook starts nothing
    time.sleep(0.2)
    assert (tmp_path / "report.html").read_text() == "final page"


def test_a_failed_render_is_skipped_and_the_next_one_writes(tmp_path: Path) -> None:
    calls = []

    def flaky(banner: LiveBanner) -> str:
        calls.append(banner)
        if len(calls) == 1:
            raise ValueError("history.jsonl caught mid-write")
        return "ok"

    live = LiveReport(tmp_path, every_s=0.05, render=flaky)
    live.update(0, 1, 2, now=True)
    eventually(lambda: len(calls) == 1)
    live.update(0, 1, 2, now=True)
    eventually(lambda: (tmp_path / "report.html").exists())
    live.close()
    assert (tmp_path / "report.html").read_text() == "ok"


def test_live_report_renders_the_folder_it_reads(tmp_path: Path) -> None:
    folder = write_interrupted(tmp_path / "exp", results=False)  # as while it runs
    live = live_report(folder, every_s=0.1)
    trial_id = load_experiment(folder).trials[0].trial_id
    live.update(1, 1, 3, now=True, statuses={trial_id: "DRIVER-SAYS"})
    eventually(lambda: live.renders > 0, timeout=120)
    live.close()
    page = (folder / "report.html").read_text()
    assert "running: 1 of 3 trials done, 1 running" in page and '<section id="trials">' in page
    assert "status-DRIVER-SAYS" in page  # the driver's statuses, newer than Tune's snapshot
    assert "results.csv is missing" not in page  # it comes at the end: no alarm while running
    assert "results.csv is missing" in render_page(load_experiment(folder))


def test_the_page_is_rendered_in_a_child_process_whose_errors_come_back(tmp_path: Path) -> None:
    """The driver never builds the page (its heap would keep it): a child does, and a child
    that fails says why in the error the live report logs."""
    folder = write_interrupted(tmp_path / "exp")
    render = _live.PageProcess(folder)
    children: list[int] = []
    popen = _live.subprocess.Popen

    def spy(command: list[str], **kwargs: object) -> object:
        child = popen(command, **kwargs)  # type: ignore[call-overload]
        # Popen is patched process-wide: count only this folder's renders, not a child
        # another test's thread or a library starts meanwhile (CI once saw two)
        if command[-1] == str(folder):
            children.append(child.pid)
        return child

    _live.subprocess.Popen = spy  # type: ignore[assignment,misc]
    try:
        page = render(LiveBanner(1, 1, 3, reload_s=5))
        assert "running: 1 of 3 trials done" in page and len(children) == 1
        assert children[0] != _live.os.getpid()
        missing = _live.PageProcess(tmp_path / "no-such-folder")
        try:
            missing(LiveBanner(0, 0, 1, reload_s=5))
        except RuntimeError as exc:
            assert "no-such-folder" in str(exc)
        else:
            raise AssertionError("a render of a missing folder succeeded")
    finally:
        _live.subprocess.Popen = popen  # type: ignore[misc]
    assert not (folder / "report.html").exists()  # the child writes nothing itself


def test_close_kills_the_render_under_way_and_refuses_later_ones(tmp_path: Path) -> None:
    folder = write_interrupted(tmp_path / "exp")
    render = _live.PageProcess(folder)
    outcome: list[BaseException | str] = []

    def run() -> None:
        try:
            outcome.append(render(LiveBanner(0, 1, 3, reload_s=5)))
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    eventually(lambda: render._child is not None)
    child = render._child
    render.cancel()
    worker.join(30)
    assert isinstance(outcome[0], _live.RenderCancelled), outcome
    assert child is not None and child.returncode is not None and child.returncode < 0
    try:
        render(LiveBanner(0, 1, 3, reload_s=5))
    except _live.RenderCancelled:
        pass
    else:
        raise AssertionError("a render ran after cancel()")


def test_the_page_turns_stale_after_minutes_of_unchanged_reloads() -> None:
    banner = LiveBanner(0, 1, 2, reload_s=5)
    assert banner.stale_after_s == max(_live.STALE_PERIODS * 5, _live.STALE_MIN_S)
    assert '"stale": 24' in _live.banner_html(banner)  # 120 s of reloads every 5 s


def test_ready_says_when_new_counts_would_be_rendered_at_once(tmp_path: Path) -> None:
    release, entered = threading.Event(), threading.Event()

    def slow(banner: LiveBanner) -> str:
        entered.set()
        release.wait(10)
        return "page"

    live = LiveReport(tmp_path, every_s=60, render=slow)
    assert live.ready()  # nothing rendered yet
    live.update(0, 1, 2)
    assert entered.wait(10)
    assert not live.ready() and not live.ready(urgent=True)  # a render is under way
    release.set()
    eventually(lambda: (tmp_path / "report.html").exists())
    eventually(lambda: live.ready(urgent=True), timeout=30)  # MIN_GAP_S after it
    assert not live.ready()  # the period (60 s) has not passed
    live.close()
    assert not live.ready(urgent=True)


def test_a_noted_change_is_not_held_back_by_heartbeat_rewrites(tmp_path: Path) -> None:
    """A period longer than the heartbeat (or renders slow enough): without the note, the
    old counts' rewrites came first every time and the page never took new ones."""
    renders = Renders()
    live = LiveReport(tmp_path, every_s=0.6, render=renders, heartbeat_s=0.2)
    live.update(0, 1, 2)
    eventually(lambda: renders.calls == 1)
    live.note_change()
    eventually(live.ready, timeout=10)
    assert renders.calls == 1  # no rewrite of the old counts meanwhile
    live.update(1, 1, 2)
    eventually(lambda: renders.calls == 2)
    live.close()
    assert [b.done for b in renders.banners] == [0, 1]


def test_a_noted_change_whose_counts_never_come_still_lets_the_page_be_rewritten(
    tmp_path: Path,
) -> None:
    renders = Renders()
    live = LiveReport(tmp_path, every_s=0.2, render=renders, heartbeat_s=0.2)
    live.update(0, 1, 2)
    eventually(lambda: renders.calls == 1)
    live.note_change()  # ... and no update follows (Tune's loop is blocked)
    eventually(lambda: renders.calls == 2)  # ASK_S after the render was due
    live.close()
    assert [b.done for b in renders.banners] == [0, 0]
