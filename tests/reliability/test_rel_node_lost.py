"""Issue 7, point 3: a node is lost mid-trial. On a local two-node Ray cluster (one CPU per
node), two trials run, one per node; once the trial on the worker node has checkpointed,
every process of that node is SIGKILLed at once (a power cut). The trial is retried on the
remaining node from its last checkpoint, and the experiment completes.

`pipetune tune --address` runs as a subprocess: this test process may hold another,
embedded Ray. Only the processes of this test's own cluster are killed, by PID.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from local_cluster import LocalCluster, local_cluster
from rel_toy import read_history, read_results, start_tune, tracked, wait_for, write_config

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

EPOCHS = 6
KILL_AT_EPOCH = 2  # the worker node dies while the trial runs this epoch (0-based)

# Ray notices a dead node through missed health checks (15 s and more by default); shorter
# periods keep the test quick and change nothing in what happens next.
FAST_HEALTH_CHECKS = {
    "RAY_health_check_initial_delay_ms": "1000",
    "RAY_health_check_period_ms": "1000",
    "RAY_health_check_timeout_ms": "1000",
    "RAY_health_check_failure_threshold": "3",
}


@pytest.fixture
def cluster() -> Iterator[LocalCluster]:
    # its own cluster: this test destroys a node of it
    with local_cluster(workers=["node2"], head_env=FAST_HEALTH_CHECKS) as made:
        yield made


def whereabouts(folder: Path) -> dict[str, list[tuple[int, str]]]:
    """Trial id → [(epoch, node)] in the order the epochs started, attempts included."""
    found = {}
    for path in folder.glob("*.nodes"):
        lines = [line.split() for line in path.read_text().splitlines() if line.strip()]
        found[path.stem] = [(int(epoch), node) for epoch, node in lines]
    return found


@pytest.mark.timeout(500)
def test_a_trial_on_a_lost_node_is_retried_on_the_remaining_node(
    cluster: LocalCluster, tmp_path: Path, make_module: Callable[..., str]
) -> None:
    nodes_folder = tmp_path / "whereabouts"
    config = write_config(
        make_module,
        tmp_path,
        epochs=EPOCHS,
        callbacks=[
            {"name": "Whereabouts", "args": {"folder": str(nodes_folder)}},
            {"name": "Pause", "args": {"seconds": 1.0}},
        ],
        num_samples=2,
        resources_per_trial={"cpu": 1},
        max_failures=2,
    )
    folder = tmp_path / "runs" / "exp"
    log = tmp_path / "tune.log"

    def on_node2_at_kill_epoch() -> bool:
        return any(
            (KILL_AT_EPOCH, "node2") in epochs for epochs in whereabouts(nodes_folder).values()
        )

    with tracked() as started:
        driver = start_tune([str(config), "--address", cluster.address], tmp_path, log, cluster.env)
        started.append(driver)
        wait_for(on_node2_at_kill_epoch, driver, log, 300, "a trial on node2 to reach its epoch 2")
        killed = cluster.crash_node("node2")
        assert killed, "node2 had no process to kill"
        assert cluster.processes("node2") == []
        returncode = driver.wait(timeout=360)
    output = log.read_text()
    assert returncode == 0, output[-4000:]

    rows = {r["trial_id"]: r for r in read_results(folder)}
    assert len(rows) == 2, rows
    assert {r["status"] for r in rows.values()} == {"TERMINATED"}, rows
    assert all(int(r["iterations"]) == EPOCHS for r in rows.values()), rows
    assert all(r["error"] == "" for r in rows.values()), rows

    places = whereabouts(nodes_folder)
    moved = [tid for tid, epochs in places.items() if (KILL_AT_EPOCH, "node2") in epochs]
    assert len(moved) == 1, places
    epochs = places[moved[0]]
    cut = epochs.index((KILL_AT_EPOCH, "node2"))
    assert [node for _, node in epochs[: cut + 1]] == ["node2"] * (cut + 1), epochs
    retried = epochs[cut + 1 :]
    assert retried, f"the trial was not retried: {epochs}"
    # retried on the remaining node, from its last checkpoint: not from epoch 0, and at most
    # from the end of the epoch that ran when the node died (its result may have reached Tune)
    assert {node for _, node in retried} == {"head"}, epochs
    assert 0 < retried[0][0] <= KILL_AT_EPOCH + 1, epochs
    assert [epoch for epoch, _ in retried] == list(range(retried[0][0], EPOCHS)), epochs
    # ... so Tune saw each of its epochs once, and the other trial never moved
    history = read_history(folder)
    iterations = [r["training_iteration"] for r in history if r["trial_id"] == moved[0]]
    assert iterations == list(range(1, EPOCHS + 1)), iterations
    (other,) = set(places) - {moved[0]}
    assert places[other] == [(epoch, "head") for epoch in range(EPOCHS)], places
    # the driver said why and from where the trial was retried
    checkpoint = retried[0][0]  # epochs 0 … k-1 done: the checkpoint of iteration k
    assert (
        f"trial {moved[0]} failed (" in output
        and f"); retry 1 of 2 from its checkpoint at iteration {checkpoint}\n" in output
    ), output[-4000:]
