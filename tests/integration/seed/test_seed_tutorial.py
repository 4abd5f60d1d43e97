"""The seed tutorial's own files, with `itwinai` replaced by `pipetune`, run end to end.

`tutorial/` is a replica of the tutorial written here: data.py (getter and splitter),
trainer.py (a TorchTrainer subclass with the seed's imports, `self.strategy.distributed`,
`set_epoch`, `self.log(...)` and `train.report`), config.yaml (class_path/init_args, `${}`,
an MLflow logger inside a LoggersCollection) and hpo.py (Step 1 to 4: `from ray import train,
tune` before pipetune, `train.RunConfig(stop=...)`, `tune.with_resources`,
`tune.with_parameters`, `Tuner.fit()`, `Tuner.restore(..., trainable=run_trial)`,
`get_dataframe()`), on a small synthetic image set.

Every run starts from a clean environment: none of pipetune's Ray defaults, no RAY_ADDRESS, a
HOME of its own. What makes Ray Train V1 the default there is pipetune.pth, which runs at every
interpreter start (the driver, `ray start` and the workers it spawns).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from local_cluster import local_cluster
from processes import kill_session

from pipetune._ray_env import DEFAULTS

pytestmark = [pytest.mark.slow]

TUTORIAL = Path(__file__).parent / "tutorial"
EXPERIMENT = "Toy-Ray-Experiment"
MLFLOW_EXPERIMENT = "Simple HPO Toy Experiment"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the tutorial, where the user runs it."""
    target = tmp_path / "simple-workflow"
    shutil.copytree(TUTORIAL, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


@pytest.fixture
def clean_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """This environment without pipetune's Ray defaults or any Ray address or token, with a
    HOME and a Ray temp folder of its own (short: Ray's socket paths)."""
    home = tmp_path / "home"
    home.mkdir()
    ray_tmp = tempfile.mkdtemp(prefix="pts-", dir="/tmp")
    drop = {*DEFAULTS, "RAY_ADDRESS", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"}
    env = {key: value for key, value in os.environ.items() if key not in drop}
    env.update(HOME=str(home), RAY_TMPDIR=ray_tmp, PYTHONUNBUFFERED="1")
    yield env
    shutil.rmtree(ray_tmp, ignore_errors=True)


def run_hpo(folder: Path, env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_script(folder, env, "hpo.py", *args)


def run_script(
    folder: Path, env: Mapping[str, str], script: str, *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`python SCRIPT ARGS` in ``folder``, in a session of its own that is emptied after."""
    process = subprocess.Popen(
        [sys.executable, script, *args],
        cwd=folder,
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    finally:
        kill_session(process.pid)  # Ray's workers of an embedded Ray, if any outlive it
    return subprocess.CompletedProcess(process.args, process.returncode, output, None)


def trial_results(experiment: Path) -> dict[str, list[dict[str, object]]]:
    """Each trial's reported results, from the result.json files Ray Tune wrote."""
    results = {}
    for path in sorted(experiment.glob("*/result.json")):
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        results[str(rows[0]["trial_id"])] = rows
    return results


def assert_finished(completed: subprocess.CompletedProcess[str], experiment: Path) -> set[str]:
    """Both trials ran their 2 iterations and reported a finite loss each time; return their
    ids."""
    assert completed.returncode == 0, completed.stdout[-4000:]
    assert "Trials: 2, errors: 0" in completed.stdout, completed.stdout[-4000:]
    results = trial_results(experiment)
    assert len(results) == 2, sorted(experiment.iterdir())
    for rows in results.values():
        assert [row["training_iteration"] for row in rows] == [1, 2]
        assert all(math.isfinite(float(row["loss"])) for row in rows)  # type: ignore[arg-type]
    return set(results)


def assert_mlflow_runs(folder: Path, trial_ids: set[str]) -> None:
    """The trainer's self.log(...) calls reached a real MLflow file store, one run per trial."""
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=(folder / "runs" / "mlruns").resolve().as_uri())
    experiment = client.get_experiment_by_name(MLFLOW_EXPERIMENT)
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    assert {run.data.tags.get("pipetune.trial_id") for run in runs} == trial_ids
    for run in runs:
        history = client.get_metric_history(run.info.run_id, "val_loss")
        assert len(history) >= 2 and all(math.isfinite(m.value) for m in history)


def test_seed_hpo_on_an_embedded_ray_then_restore(folder: Path, clean_env: dict[str, str]) -> None:
    results = folder / "results"
    fitted = run_hpo(folder, clean_env, "--storage_path", str(results), "--max_iterations", "2")
    experiment = results / EXPERIMENT
    trial_ids = assert_finished(fitted, experiment)
    assert "loss" in fitted.stdout and "config/optim_lr" in fitted.stdout
    assert_mlflow_runs(folder, trial_ids)

    # The seed's --load_old_results: Tuner.restore(path, trainable=run_trial).get_results(),
    # twice; restoring only reads, so the experiment's files stay as they were.
    before = {p: p.read_bytes() for p in experiment.rglob("*") if p.is_file()}
    for _ in range(2):
        restored = run_hpo(
            folder, clean_env, "--load_old_results", "--experiment_path", str(experiment)
        )
        assert restored.returncode == 0, restored.stdout[-4000:]
        assert "Trials: 2, errors: 0" in restored.stdout
        for trial_id in trial_ids:
            assert trial_id in restored.stdout  # the dataframe's trial_id column
    after = {p: p.read_bytes() for p in experiment.rglob("*") if p.is_file()}
    assert after == before


@pytest.mark.cluster
def test_seed_hpo_on_a_plain_ray_start_cluster(folder: Path, clean_env: dict[str, str]) -> None:
    """A cluster started like the seed's slurm_hpo.sh: a plain `ray start --head` in the
    tutorial's folder, with no pipetune variables; an earlier local Ray left a token in HOME,
    so the cluster runs with token authentication, as on a machine that ran Ray before."""
    token = Path(clean_env["HOME"]) / ".ray" / "auth_token"
    token.parent.mkdir()
    token.write_text("0123456789abcdef" * 4)
    with local_cluster(
        workers=(), base_env=clean_env, own_token=False, head_cpus=2, cwd=folder
    ) as cluster:
        # 1. ray.init(address="auto") finds the cluster, as in the seed's hpo.py.
        found = {**clean_env, "RAY_TMPDIR": str(cluster.root)}
        auto = run_hpo(folder, found, "--address", "auto", "--storage_path", str(folder / "auto"))
        assert "Connected to Ray cluster" in auto.stdout, auto.stdout[-4000:]
        trial_ids = assert_finished(auto, folder / "auto" / EXPERIMENT)

        # 2. RAY_ADDRESS names the cluster (Ray sends no token to an explicit address by
        # itself: pipetune turns token mode on when a token is there to send).
        named = {**clean_env, "RAY_ADDRESS": cluster.address}
        explicit = run_hpo(
            folder, named, "--address", "auto", "--storage_path", str(folder / "env")
        )
        assert "Connected to Ray cluster" in explicit.stdout, explicit.stdout[-4000:]
        trial_ids |= assert_finished(explicit, folder / "env" / EXPERIMENT)
    assert_mlflow_runs(folder, trial_ids)


def test_train_v2_chosen_explicitly_gives_pipetune_line_in_the_trial(
    folder: Path, clean_env: dict[str, str]
) -> None:
    """RAY_TRAIN_V2_ENABLED=1 set by the user is kept; the seed trainer's train.report then
    fails in the trial with pipetune's one line saying why and what to change."""
    driver = folder / "v2_driver.py"
    driver.write_text(
        "import ray\n"
        "from ray import tune\n"
        "from hpo import run_trial\n"
        "ray.init()\n"
        "trainable = tune.with_parameters(run_trial, data={'pipeline_name': 'training_pipeline'})\n"
        "space = {'batch_size': 8, 'optim_lr': 1e-3}\n"
        "config = tune.RunConfig(storage_path=str(__import__('pathlib').Path('v2').resolve()),"
        " verbose=0)\n"
        "grid = tune.Tuner(trainable, param_space=space, run_config=config).fit()\n"
        "print('ERROR-TEXT:', str(grid[0].error).strip().splitlines()[-1])\n"
    )
    completed = run_script(folder, {**clean_env, "RAY_TRAIN_V2_ENABLED": "1"}, driver.name)
    assert completed.returncode == 0, completed.stdout[-3000:]
    line = next(x for x in completed.stdout.splitlines() if x.startswith("ERROR-TEXT:"))
    assert "PipetuneError: Ray Train V2 is on in this Ray worker (RAY_TRAIN_V2_ENABLED=1)" in line
    assert "set RAY_TRAIN_V2_ENABLED=0" in line
