"""TuneSettings: the typed ``tune:`` section and its located errors."""

from __future__ import annotations

import pytest

from pipetune.errors import ConfigError
from pipetune.tune import Resources, TuneSettings
from pipetune.tune._settings import Mode


def parse_error(raw: object) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        TuneSettings.parse(raw, file="exp.yaml")
    assert info.value.file == "exp.yaml"
    return info.value


def test_defaults() -> None:
    settings = TuneSettings.parse(None)
    assert settings.metric == "val_loss"
    assert settings.mode is Mode.MIN
    assert settings.num_samples == 8
    assert settings.scheduler == "asha"
    assert settings.search_alg == "random"
    assert settings.resources_per_trial == "auto"
    assert settings.pipeline == "training_pipeline"


def test_values_are_read() -> None:
    settings = TuneSettings.parse(
        {
            "metric": "val_accuracy",
            "mode": "MAX",
            "num_samples": 3,
            "search_space": {"lr": {"type": "uniform", "lower": 0, "upper": 1}},
            "scheduler": {"type": "asha", "grace_period": 2},
            "resources_per_trial": {"cpu": 2, "gpu": 0.5},
            "stop": {"training_iteration": 4},
        }
    )
    assert settings.mode is Mode.MAX
    assert settings.num_samples == 3
    assert settings.scheduler == {"type": "asha", "grace_period": 2}
    assert settings.resources_per_trial == Resources(cpu=2, gpu=0.5, workers=1)
    assert settings.stop == {"training_iteration": 4.0}


def test_unknown_key_lists_the_valid_keys() -> None:
    error = parse_error({"metric": "val_loss", "num_sample": 4})
    text = str(error)
    assert error.key_path == "tune.num_sample"
    assert "unknown setting 'tune.num_sample'" in text
    for key in TuneSettings.model_fields:
        assert key in text


def test_mode_minimize_is_refused() -> None:
    error = parse_error({"mode": "minimize"})
    assert error.key_path == "tune.mode"
    assert "mode must be 'min' or 'max'" in str(error)
    assert "'minimize'" in str(error)


def test_num_samples_zero_is_refused() -> None:
    error = parse_error({"num_samples": 0})
    assert error.key_path == "tune.num_samples"
    assert "greater than or equal to 1" in str(error)


@pytest.mark.parametrize(
    ("resources", "field", "words"),
    [
        ({"cpu": -1}, "cpu", "greater than 0"),
        ({"cpu": 0}, "cpu", "greater than 0"),
        ({"gpu": -0.5}, "gpu", "greater than or equal to 0"),
        ({"workers": 0}, "workers", "greater than or equal to 1"),
    ],
)
def test_negative_resources_are_refused(resources: dict, field: str, words: str) -> None:
    error = parse_error({"resources_per_trial": resources})
    assert error.key_path == f"tune.resources_per_trial.{field}"
    assert words in str(error)


def test_unknown_resource_key_lists_the_resource_keys() -> None:
    error = parse_error({"resources_per_trial": {"cpus": 2}})
    assert error.key_path == "tune.resources_per_trial.cpus"
    assert "valid: cpu, gpu, workers" in str(error)


def test_resources_must_be_auto_or_a_mapping() -> None:
    error = parse_error({"resources_per_trial": "lots"})
    assert error.key_path == "tune.resources_per_trial"
    assert "'auto'" in str(error)


def test_union_errors_name_the_yaml_key_only() -> None:
    error = parse_error({"scheduler": 3})
    assert error.key_path == "tune.scheduler"


def test_the_section_must_be_a_mapping() -> None:
    error = parse_error(["asha"])
    assert error.key_path == "tune"
    assert "'tune' must be a mapping, got list" in str(error)
