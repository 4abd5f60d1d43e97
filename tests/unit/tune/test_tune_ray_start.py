"""start_ray: the environment an embedded Ray's processes are started with."""

from __future__ import annotations

import os
from typing import Any

import pytest

from pipetune.tune import _ray


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """ray.init replaced by a recorder of the environment it would start Ray with."""
    import ray

    seen: dict[str, Any] = {}

    def init(**kwargs: Any) -> None:
        seen["env"] = dict(os.environ)
        seen["kwargs"] = kwargs

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", init)
    monkeypatch.setattr(_ray.WATCHER, "ray_started", lambda: None)
    return seen


def test_an_embedded_ray_prestarts_no_idle_workers(
    captured: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(_ray.PRESTART_SETTING, raising=False)
    assert _ray.start_ray(None, ["/somewhere"])
    assert captured["env"][_ray.PRESTART_SETTING] == "0"
    assert captured["kwargs"]["address"] == "local"
    assert captured["env"]["PYTHONPATH"].split(os.pathsep)[0] == "/somewhere"
    # the driver's own environment is as it was
    assert _ray.PRESTART_SETTING not in os.environ


def test_a_users_prestart_setting_is_kept(
    captured: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(_ray.PRESTART_SETTING, "1")
    _ray.start_ray(None, [])
    assert captured["env"][_ray.PRESTART_SETTING] == "1"
    assert os.environ[_ray.PRESTART_SETTING] == "1"
