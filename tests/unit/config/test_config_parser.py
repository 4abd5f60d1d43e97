"""ConfigParser: the seed's API over YAML files and dicts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from components_code import COMPONENTS

from pipetune import Pipeline
from pipetune.errors import ConfigError
from pipetune.parser import ConfigParser

SEED_STYLE = """
batch_size: 4
learning_rate: 1.0e-3
training_pipeline:
  class_path: pipetune.Pipeline
  init_args:
    steps:
      - class_path: {mod}.ListGetter
        init_args:
          size: 10
      - class_path: {mod}.HalfSplitter
        init_args:
          train_proportion: 0.8
          validation_proportion: 0.2
      - class_path: {mod}.RecordingTrainer
        init_args:
          config:
            batch_size: ${{batch_size}}
            optim_lr: ${{learning_rate}}
          epochs: 2
"""


@pytest.fixture
def seed_config(make_module, write_yaml, tmp_path: Path) -> Path:
    mod = make_module(COMPONENTS)
    return write_yaml(SEED_STYLE.format(mod=mod))


def test_seed_style_config_runs_end_to_end(seed_config: Path) -> None:
    parser = ConfigParser(config=str(seed_config))
    pipeline = parser.parse_pipeline(pipeline_nested_key="training_pipeline", verbose=False)
    assert isinstance(pipeline, Pipeline)
    result = pipeline.execute()
    assert result["config"] == {"batch_size": 4, "optim_lr": 1.0e-3}
    assert result["epochs"] == 2
    assert result["n_train"] == 8


def test_top_level_override_reaches_every_interpolation(seed_config: Path) -> None:
    parser = ConfigParser(seed_config, override_keys={"batch_size": 5, "learning_rate": 0.5})
    result = parser.parse_pipeline("training_pipeline").execute()
    assert result["config"] == {"batch_size": 5, "optim_lr": 0.5}


def test_build_from_config_takes_overrides_as_itwinai_does(seed_config: Path) -> None:
    parser = ConfigParser(config=str(seed_config))
    pipeline = parser.build_from_config(
        override_keys={"batch_size": 6, "learning_rate": 0.25},
        pipeline_nested_key="training_pipeline",
        verbose=False,
    )
    assert pipeline.execute()["config"] == {"batch_size": 6, "optim_lr": 0.25}
    # a key the config lacks is refused as with the constructor's override_keys
    with pytest.raises(ConfigError, match="override key 'optim_lr' matches nothing"):
        parser.build_from_config(override_keys={"optim_lr": 0.1})


def test_dotted_override_with_list_index(seed_config: Path) -> None:
    parser = ConfigParser(
        seed_config, override_keys={"training_pipeline.init_args.steps.2.init_args.epochs": 7}
    )
    assert parser.parse_pipeline().execute()["epochs"] == 7


def test_seed_bug_override_of_missing_key_is_an_error(seed_config: Path) -> None:
    """The seed overrode `optim_lr` at the top level while the YAML read ${learning_rate}."""
    with pytest.raises(
        ConfigError, match=re.escape("override key 'optim_lr' matches nothing")
    ) as e:
        ConfigParser(seed_config, override_keys={"batch_size": 3, "optim_lr": 1e-4})
    message = str(e.value)
    assert str(seed_config) in message
    assert "'learning_rate'" in message  # the did-you-mean names the variable actually read
    assert "training_pipeline.init_args.steps.2.init_args.config.optim_lr" in message


def test_verbose_prints_the_assembled_pipeline(seed_config: Path, capsys) -> None:
    ConfigParser(seed_config, {"batch_size": 9}).parse_pipeline(verbose=True)
    out = capsys.readouterr().out
    assert "batch_size: 9" in out
    assert "RecordingTrainer" in out


def test_parse_step_builds_only_that_step(seed_config: Path) -> None:
    parser = ConfigParser(seed_config)
    step = parser.parse_step(2, pipeline_nested_key="training_pipeline")
    assert type(step).__name__ == "RecordingTrainer"
    assert step.config == {"batch_size": 4, "optim_lr": 1.0e-3}
    with pytest.raises(ConfigError, match="pipeline has no step 5"):
        parser.parse_step(5)


def test_dict_config_with_target_nested_in_lists_and_dicts(make_module, monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(tmp_path))
    mod = make_module(COMPONENTS)
    config = {
        "lr": 0.1,
        "pipe": {
            "_target_": "pipetune.Pipeline",
            "steps": {
                "get": {"_target_": f"{mod}.ListGetter", "size": 4},
                "split": {
                    "class_path": f"{mod}.HalfSplitter",
                    "init_args": {"train_proportion": 0.5},
                },
                "train": {
                    "_target_": f"{mod}.RecordingTrainer",
                    "config": {"nested": [{"_target_": f"{mod}.Optimizer", "lr": "${lr}"}]},
                    "epochs": 1,
                    "optimizer": {"class_path": f"{mod}.Optimizer", "init_args": {"lr": "${lr}"}},
                },
            },
        },
    }
    original = repr(config)
    result = ConfigParser(config, {"lr": 0.25}).parse_pipeline("pipe").execute()
    assert result["optimizer"].lr == 0.25
    assert type(result["config"]["nested"][0]).__name__ == "Optimizer"
    assert result["config"]["nested"][0].lr == 0.25
    assert result["n_train"] == 2
    assert repr(config) == original  # the caller's dict is never mutated


def test_user_module_next_to_config_is_importable(make_module, write_yaml, tmp_path: Path):
    folder = tmp_path / "project"
    mod = make_module(COMPONENTS, folder=folder)
    path = write_yaml(SEED_STYLE.format(mod=mod), folder=folder)
    assert ConfigParser(path).parse_pipeline().execute()["epochs"] == 2


def test_config_property_is_resolved(seed_config: Path) -> None:
    config = ConfigParser(seed_config, {"batch_size": 11}).config
    steps = config["training_pipeline"]["init_args"]["steps"]
    assert steps[2]["init_args"]["config"]["batch_size"] == 11
