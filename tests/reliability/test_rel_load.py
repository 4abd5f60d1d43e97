"""Issue 7, point 9: 1,000 trials in one experiment: every one lands in results.csv and the
driver's memory stays flat.

`pipetune tune` runs in its own process (its own 2-CPU local Ray): 1,000 trials of a trainer
that reports once, 2 at a time, fifo, no checkpoints. The driver's resident memory (RSS) is
sampled as history.jsonl grows, every 50 trials.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from rel_toy import history_lines, noop_config, read_results, start_tune, tracked, write_config

pytestmark = [pytest.mark.ray, pytest.mark.slow]

TRIALS = 1000
STEP = 50
MAX_GROWTH_MIB = 60  # from trial 100 to trial 1,000; measured: about 35-40 MiB


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_thousand_trials_all_recorded_with_flat_driver_memory(
    tmp_path: Path, make_module: Callable[..., str]
) -> None:
    config = write_config(
        make_module,
        tmp_path,
        build=noop_config,
        num_samples=TRIALS,
        max_concurrent_trials=2,
        resources_per_trial={"cpu": 1},
        scheduler="fifo",
        checkpoint_every=0,
    )
    folder = tmp_path / "runs" / "exp"
    log = tmp_path / "tune.log"
    samples: dict[int, float] = {}  # trials recorded → driver RSS (MiB)
    with tracked() as started:
        begin = time.monotonic()
        driver = start_tune([str(config)], tmp_path, log)
        started.append(driver)
        first_result = None
        while driver.poll() is None:
            done = history_lines(folder)
            rss = rss_mib(driver.pid)
            if done and first_result is None:
                first_result = time.monotonic() - begin
            mark = done // STEP * STEP
            if mark and mark not in samples and rss is not None:
                samples[mark] = rss
            assert time.monotonic() - begin < 540, f"too slow: {done} trials"
            time.sleep(0.1)
        total = time.monotonic() - begin
    assert driver.returncode == 0, log.read_text()[-3000:]

    start = first_result or 0.0
    print(
        f"\n{TRIALS} trials: {total:.0f} s in all, first result after {start:.0f} s; "
        f"{total - start:.0f} s from the first result to the end (results and report included)"
    )
    print("driver RSS (MiB) by trials recorded:")
    print("  " + ", ".join(f"{k}: {v:.0f}" for k, v in sorted(samples.items())))

    rows = read_results(folder)
    assert len(rows) == TRIALS
    assert len({r["trial_id"] for r in rows}) == TRIALS
    assert {r["status"] for r in rows} == {"TERMINATED"}
    assert history_lines(folder) == TRIALS

    # memory: sampled at (nearly) every step, and flat from trial 100 to the last one
    assert len(samples) >= TRIALS // STEP - 2, sorted(samples)
    base = samples[min(k for k in samples if k >= 100)]
    last = samples[max(samples)]
    print(f"growth from trial 100 to trial {max(samples)}: {last - base:.1f} MiB")
    assert last - base < MAX_GROWTH_MIB
