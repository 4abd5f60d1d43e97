"""MLFlowLogger against a real local file store, read back with MlflowClient."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("mlflow")

from mlflow import MlflowClient

from pipetune.loggers import MLFlowLogger


@pytest.fixture(autouse=True)
def _file_store_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # Start without the opt-in so the logger has to set it; monkeypatch restores it after.
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def test_three_epochs_params_and_finished_status(tmp_path: Path) -> None:
    store = tmp_path / "mlruns"
    log = MLFlowLogger(savedir=store, experiment_name="exp-a", run_name="trial-0")
    assert log.tracking_uri == store.resolve().as_uri()
    assert log.run_id is None
    with log:
        log.save_hyperparameters({"lr": 0.01, "model": {"hidden": 64}, "optimizer": "adam"})
        for epoch in range(3):
            log.log(1.0 / (epoch + 1), "val_loss", step=epoch)
            log.log(0.5 + epoch / 10, "val_accuracy", step=epoch)
            log.log(0.1, "batch_loss", step=epoch, batch_idx=3)  # dropped by log_freq
        log.log(32, "batch_size", kind="param")
        log.log("final notes", "notes", kind="text")
        log.log({"a": 1}, "summary", kind="dict")
        run_id = log.run_id
        assert run_id is not None
        assert log.client.get_run(run_id).info.status == "RUNNING"

    client = MlflowClient(tracking_uri=log.tracking_uri)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "trial-0"
    assert client.get_experiment(run.info.experiment_id).name == "exp-a"
    history = client.get_metric_history(run_id, "val_loss")
    assert [(m.step, m.value) for m in history] == [(0, 1.0), (1, 0.5), (2, pytest.approx(1 / 3))]
    assert len(client.get_metric_history(run_id, "val_accuracy")) == 3
    assert "batch_loss" not in run.data.metrics
    assert run.data.params == {
        "lr": "0.01",
        "model.hidden": "64",
        "optimizer": "adam",
        "batch_size": "32",
    }
    artifacts = {info.path for info in client.list_artifacts(run_id)}
    assert artifacts == {"notes.txt", "summary.json"}
    local = Path(client.download_artifacts(run_id, "summary.json", str(tmp_path / "dl")))
    assert json.loads(local.read_text()) == {"a": 1}


def test_two_loggers_same_experiment_get_separate_runs(tmp_path: Path) -> None:
    loggers = [MLFlowLogger(savedir=tmp_path, experiment_name="shared") for _ in range(2)]
    for index, log in enumerate(loggers):
        log.create_logger_context()
        log.log(float(index), "loss", step=0)
    for log in loggers:
        log.destroy_logger_context()
        log.destroy_logger_context()  # idempotent
    run_ids = {log.run_id for log in loggers}
    assert len(run_ids) == 2
    client = MlflowClient(tracking_uri=loggers[0].tracking_uri)
    experiment = client.get_experiment_by_name("shared")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(r.data.metrics["loss"] for r in runs) == [0.0, 1.0]
    assert {r.info.status for r in runs} == {"FINISHED"}


def test_exception_marks_run_failed(tmp_path: Path) -> None:
    log = MLFlowLogger(savedir=tmp_path)
    with pytest.raises(RuntimeError), log:
        log.log(1.0, "loss", step=0)
        raise RuntimeError("boom")
    client = MlflowClient(tracking_uri=log.tracking_uri)
    assert log.run_id is not None
    assert client.get_run(log.run_id).info.status == "FAILED"


def test_other_rank_creates_no_store(tmp_path: Path) -> None:
    store = tmp_path / "mlruns"
    log = MLFlowLogger(savedir=store)
    log.create_logger_context(rank=2)
    log.save_hyperparameters({"lr": 0.1})
    log.log(1.0, "loss", step=0)
    log.destroy_logger_context()
    assert log.run_id is None
    assert not store.exists()


def test_plain_path_tracking_uri_becomes_file_uri(tmp_path: Path) -> None:
    log = MLFlowLogger(tracking_uri=str(tmp_path / "store"))
    assert log.tracking_uri == (tmp_path / "store").resolve().as_uri()
    assert log.uses_file_store
    assert not MLFlowLogger(tracking_uri="http://localhost:5000").uses_file_store


def test_importing_loggers_does_not_import_mlflow_or_tensorboard() -> None:
    code = (
        "import sys, pipetune.loggers\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('mlflow', 'tensorboard')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_mark_failed_by_hand_then_reopen_starts_a_finished_run(tmp_path: Path) -> None:
    log = MLFlowLogger(savedir=tmp_path)
    log.create_logger_context()
    log.mark_failed()
    log.destroy_logger_context()
    failed_run = log.run_id
    log.create_logger_context()
    log.destroy_logger_context()
    assert log.run_id != failed_run
    client = MlflowClient(tracking_uri=log.tracking_uri)
    assert failed_run is not None and log.run_id is not None
    assert client.get_run(failed_run).info.status == "FAILED"
    assert client.get_run(log.run_id).info.status == "FINISHED"


RACER = """
import sys, time
from mlflow.store.tracking.file_store import FileStore
from pipetune.loggers import MLFlowLogger

check = FileStore._validate_experiment_does_not_exist

def slow_check(self, name):  # widen the store's window between its check and its mkdir
    check(self, name)
    time.sleep(0.5)

FileStore._validate_experiment_does_not_exist = slow_check
start = float(sys.argv[2])
while time.time() < start:
    time.sleep(0.01)
log = MLFlowLogger(savedir=sys.argv[1], experiment_name="race")
log.create_logger_context()
log.log(1.0, "loss", step=0)
log.destroy_logger_context()
"""


def test_trials_starting_at_once_share_one_experiment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file store's create_experiment is not atomic: three processes that find no
    experiment at once must still end up with one experiment holding all three runs."""
    import time

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    start = str(time.time() + 3)
    racers = [
        subprocess.Popen([sys.executable, "-c", RACER, str(tmp_path), start]) for _ in range(3)
    ]
    assert [racer.wait(120) for racer in racers] == [0, 0, 0]
    log = MLFlowLogger(savedir=tmp_path)
    client = MlflowClient(tracking_uri=log.tracking_uri)
    named = [e for e in client.search_experiments() if e.name == "race"]
    assert len(named) == 1, [e.experiment_id for e in named]
    assert len(client.search_runs([named[0].experiment_id])) == 3


@pytest.mark.parametrize(
    ("exit_with", "status"),
    [(SystemExit(0), "KILLED"), (SystemExit(None), "KILLED"), (SystemExit(1), "FAILED")],
)
def test_a_clean_system_exit_ends_the_run_killed_not_failed(
    tmp_path: Path, exit_with: SystemExit, status: str
) -> None:
    """Ray Tune stops a trial with SystemExit(0) out of report(): a stop, not a failure."""
    log = MLFlowLogger(savedir=tmp_path)
    with pytest.raises(SystemExit), log:
        raise exit_with
    assert log.run_id is not None
    assert MlflowClient(tracking_uri=log.tracking_uri).get_run(log.run_id).info.status == status


EXITS_WHILE_A_THREAD_CLOSES = """
import sys, threading, time
from mlflow.store.tracking.file_store import FileStore
from pipetune.loggers import MLFlowLogger

slow_write = FileStore._overwrite_run_info
def overwrite_slowly(self, *args, **kwargs):
    time.sleep(1.0)  # the ending run's meta.yaml is rewritten after the main thread has left
    slow_write(self, *args, **kwargs)
FileStore._overwrite_run_info = overwrite_slowly

log = MLFlowLogger(savedir=sys.argv[1])
opened = threading.Event()
def trial():  # like Ray Tune's training thread: a daemon, ended by SystemExit(0)
    with log:
        log.log(1.0, "loss", step=0)
        opened.set()
        raise SystemExit(0)
threading.Thread(target=trial, daemon=True).start()
opened.wait()
print(log.run_id, flush=True)
"""


def test_the_process_exits_only_once_a_daemon_thread_has_ended_its_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The intermittent seed-cluster failure, made certain: the interpreter exits while a
    daemon thread ends its MLflow run. The run must be readable and KILLED afterwards."""
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    done = subprocess.run(
        [sys.executable, "-c", EXITS_WHILE_A_THREAD_CLOSES, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    run_id = done.stdout.split()[-1]
    client = MlflowClient(tracking_uri=tmp_path.resolve().as_uri())
    (experiment,) = client.search_experiments()
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.run_id == run_id
    assert run.info.status == "KILLED"
    assert run.data.metrics == {"loss": 1.0}


KILLED_WHILE_ENDING = """
import sys, time, yaml
from pipetune.loggers import MLFlowLogger

log = MLFlowLogger(savedir=sys.argv[1])
log.create_logger_context()
log.log(1.0, "loss", step=0)
dump = yaml.dump
def dump_slowly(*args, **kwargs):  # the run's meta.yaml is being rewritten when the kill comes
    print("ending", flush=True)
    time.sleep(30)
    return dump(*args, **kwargs)
yaml.dump = dump_slowly
log.destroy_logger_context()
"""


def test_a_process_killed_while_its_run_ends_leaves_the_run_readable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGKILL in the middle of the run's last meta.yaml rewrite: MLflow's own in-place
    write left the file empty and search_runs failed; the run must stay readable."""
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_WHILE_ENDING, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stdout.readline() == "ending\n"
        time.sleep(0.3)
    finally:
        process.kill()
        process.wait()
    client = MlflowClient(tracking_uri=tmp_path.resolve().as_uri())
    (experiment,) = client.search_experiments()
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "RUNNING"  # it never ended, and says so
    assert run.data.metrics == {"loss": 1.0}
