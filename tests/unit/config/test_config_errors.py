"""Config errors name the file, the YAML key path and, where known, the line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from components_code import COMPONENTS

from pipetune.errors import ConfigError, PipetuneError
from pipetune.parser import ConfigParser


def parse(path: Path, **overrides: object) -> object:
    return ConfigParser(path, overrides).parse_pipeline("training_pipeline")


def pipeline_yaml(mod: str, trainer_args: str = "epochs: 2", splitter: str = "0.5") -> str:
    return f"""\
lr: 0.1
training_pipeline:
  class_path: pipetune.Pipeline
  init_args:
    steps:
      - class_path: {mod}.ListGetter
        init_args: {{size: 4}}
      - class_path: {mod}.HalfSplitter
        init_args: {{train_proportion: {splitter}}}
      - class_path: {mod}.RecordingTrainer
        init_args:
          config:
            lr: ${{lr}}
          {trainer_args}
"""


def test_config_error_is_a_value_error() -> None:
    assert issubclass(ConfigError, ValueError)
    assert issubclass(ConfigError, PipetuneError)


def test_unknown_class_path(write_yaml) -> None:
    path = write_yaml(pipeline_yaml("no_such_module_xyz"))
    with pytest.raises(ConfigError) as e:
        parse(path)
    msg = str(e.value)
    assert f"{path}:6 at 'training_pipeline.init_args.steps.0.class_path'" in msg
    assert "cannot import 'no_such_module_xyz.ListGetter'" in msg
    assert "importable from the working directory" in msg


def test_unknown_init_arg_names_key_and_valid_args(make_module, write_yaml) -> None:
    mod = make_module(COMPONENTS)
    path = write_yaml(pipeline_yaml(mod, "epochs: 2\n          epocs: 3"))
    with pytest.raises(ConfigError) as e:
        parse(path)
    msg = str(e.value)
    assert "training_pipeline.init_args.steps.2.init_args.epocs" in msg
    assert "unexpected keyword argument 'epocs'" in msg
    assert "accepts: config, epochs, optimizer, name" in msg
    assert f"{path}:15" in msg


def test_missing_init_arg(make_module, write_yaml) -> None:
    mod = make_module(COMPONENTS)
    path = write_yaml(pipeline_yaml(mod, "optimizer: null"))
    with pytest.raises(ConfigError, match=re.escape("missing a required argument: 'epochs'")):
        parse(path)


def test_wrong_init_arg_type(make_module, write_yaml) -> None:
    mod = make_module(COMPONENTS)
    path = write_yaml(pipeline_yaml(mod, "epochs: many"))
    with pytest.raises(ConfigError) as e:
        parse(path)
    assert "training_pipeline.init_args.steps.2.init_args.epochs" in str(e.value)
    assert "expects epochs: int, got 'many'" in str(e.value)


def test_component_validation_points_at_the_argument(make_module, write_yaml) -> None:
    mod = make_module(COMPONENTS)
    path = write_yaml(pipeline_yaml(mod, splitter="1.5"))
    with pytest.raises(ConfigError) as e:
        parse(path)
    msg = str(e.value)
    assert "training_pipeline.init_args.steps.1.init_args.train_proportion" in msg
    assert "must lie in [0, 1], got 1.5" in msg


def test_interpolation_to_missing_key(make_module, write_yaml) -> None:
    mod = make_module(COMPONENTS)
    path = write_yaml(pipeline_yaml(mod).replace("${lr}", "${learning_rate}"))
    with pytest.raises(ConfigError) as e:
        parse(path)
    msg = str(e.value)
    assert "Interpolation key 'learning_rate' not found" in msg
    assert "training_pipeline.init_args.steps.2.init_args.config.lr" in msg
    assert f"{path}:13" in msg


def test_cyclic_interpolation(write_yaml) -> None:
    path = write_yaml("a: ${b}\nb: ${a}\ntraining_pipeline: {steps: ['${a}']}\n")
    with pytest.raises(ConfigError, match="Recursive interpolation"):
        parse(path)


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("a: 1\nb: [1, 2\n", 3, "malformed YAML"),
        ("a:\n\tb: 1\n", 2, "forbids tabs"),
        ("a: 1\nb: 2\na: 3\n", 3, "duplicate key 'a'"),
        ("a: !!python/object/apply:os.system ['true']\n", 1, "Python tags are not allowed"),
    ],
)
def test_malformed_yaml(write_yaml, text: str, line: int, fragment: str) -> None:
    path = write_yaml(text)
    with pytest.raises(ConfigError) as e:
        ConfigParser(path)
    assert f"{path}:{line}" in str(e.value)
    assert fragment in str(e.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        ConfigParser(tmp_path / "nope.yaml")


def test_missing_pipeline_key_suggests(make_module, write_yaml) -> None:
    mod = make_module(COMPONENTS)
    path = write_yaml(pipeline_yaml(mod))
    with pytest.raises(ConfigError, match=re.escape("did you mean 'training_pipeline'")):
        ConfigParser(path).parse_pipeline("training_pipelin")
