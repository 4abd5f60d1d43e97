"""pipetune.pth sets Ray's defaults when any Python of the environment starts (before any
``import ray``), keeps what the user set, and turns on token mode towards an explicit
``RAY_ADDRESS`` when the user has a Ray token."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipetune._ray_env import DEFAULTS
from pipetune._session import train_v2_refusal

PRINT_ENV = (
    "import json, os, sys; "
    "print(json.dumps({k: os.environ.get(k) for k in json.loads(sys.argv[1])}))"
)
KEYS = [*DEFAULTS, "RAY_AUTH_MODE"]


def startup_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """What a fresh interpreter sees, from an environment with none of pipetune's
    variables (and a HOME of its own)."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    drop = {*KEYS, "RAY_ADDRESS", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(HOME=str(home), **extra)
    done = subprocess.run(
        [sys.executable, "-c", PRINT_ENV, json.dumps(KEYS)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stderr == ""  # the hook prints nothing
    return json.loads(done.stdout)


def test_every_interpreter_starts_with_the_defaults(tmp_path: Path) -> None:
    seen = startup_env(tmp_path)
    assert {k: seen[k] for k in DEFAULTS} == DEFAULTS
    assert seen["RAY_AUTH_MODE"] is None


def test_a_value_set_by_the_user_is_kept(tmp_path: Path) -> None:
    seen = startup_env(tmp_path, RAY_TRAIN_V2_ENABLED="1", RAY_CHDIR_TO_TRIAL_DIR="1")
    assert seen["RAY_TRAIN_V2_ENABLED"] == "1"
    assert seen["RAY_CHDIR_TO_TRIAL_DIR"] == "1"


def test_token_mode_towards_an_explicit_address_only_with_a_token(tmp_path: Path) -> None:
    address = {"RAY_ADDRESS": "10.0.0.5:6379"}
    assert startup_env(tmp_path, **address)["RAY_AUTH_MODE"] is None  # no token anywhere
    assert startup_env(tmp_path, **address, RAY_AUTH_TOKEN="abc")["RAY_AUTH_MODE"] == "token"
    token = tmp_path / "home" / ".ray" / "auth_token"
    token.parent.mkdir(parents=True)
    token.write_text("abc")
    assert startup_env(tmp_path, **address)["RAY_AUTH_MODE"] == "token"
    # Ray's own rules stay: a discovered cluster, an explicit choice
    assert startup_env(tmp_path, RAY_ADDRESS="auto")["RAY_AUTH_MODE"] is None
    kept = startup_env(tmp_path, **address, RAY_AUTH_MODE="disabled")
    assert kept["RAY_AUTH_MODE"] == "disabled"


IMPORT_RAY_TRAIN_FIRST = """
import os, warnings
os.environ.pop("RAY_TRAIN_V2_ENABLED", None)   # as if pipetune.pth had not run
if {explicit!r}:
    os.environ["RAY_TRAIN_V2_ENABLED"] = "1"
from ray import train
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import pipetune
print([str(w.message) for w in caught if type(w.message).__name__ == "PipetuneWarning"])
"""


@pytest.mark.slow
@pytest.mark.parametrize("explicit", [False, True])
def test_ray_train_v2_imported_before_pipetune_is_named(explicit: bool) -> None:
    code = IMPORT_RAY_TRAIN_FIRST.format(explicit=explicit)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    messages = eval(done.stdout.strip().splitlines()[-1])
    if explicit:
        assert messages == []  # the user asked for Train V2
    else:
        assert len(messages) == 1
        assert "ray.train was imported before pipetune's Ray defaults applied" in messages[0]
        assert "RAY_TRAIN_V2_ENABLED=0" in messages[0]


def test_only_ray_train_v2_refusals_are_translated(monkeypatch) -> None:
    monkeypatch.setenv("RAY_TRAIN_V2_ENABLED", "1")
    ray_says = DeprecationWarning(
        "`ray.train.report` is deprecated when running in a function passed to Ray Tune. "
        "Please use the equivalent `ray.tune` API instead."
    )
    line = str(train_v2_refusal(ray_says))
    assert line.startswith("Ray Train V2 is on in this Ray worker (RAY_TRAIN_V2_ENABLED=1)")
    assert "set RAY_TRAIN_V2_ENABLED=0" in line and "\n" not in line
    assert train_v2_refusal(DeprecationWarning("numpy.float is deprecated")) is None
    assert train_v2_refusal(ValueError("ray.train in Tune")) is None
