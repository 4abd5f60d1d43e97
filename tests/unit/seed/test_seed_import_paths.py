"""The seed's import paths are public modules, and itwinai's strategies are known names:
DDP runs, DeepSpeed and Horovod are refused with one line naming what runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipetune.cli.main import main
from pipetune.errors import ConfigError


def test_seed_import_paths_name_the_same_classes() -> None:
    import pipetune.torch as torch_layer
    from pipetune.torch.config import TrainingConfiguration
    from pipetune.torch.distributed import (
        DDPStrategy,
        DeepSpeedStrategy,
        HorovodStrategy,
        NonDistributedStrategy,
        TorchDDPStrategy,
    )
    from pipetune.torch.trainer import TorchTrainer

    assert TorchTrainer is torch_layer.TorchTrainer
    assert TrainingConfiguration is torch_layer.TrainingConfiguration
    assert TorchDDPStrategy is DDPStrategy is torch_layer.DDPStrategy
    assert NonDistributedStrategy is torch_layer.Strategy
    assert DeepSpeedStrategy is torch_layer.DeepSpeedStrategy
    assert HorovodStrategy is torch_layer.HorovodStrategy


def test_a_ddp_trainer_is_not_a_deepspeed_one() -> None:
    from pipetune.torch.distributed import DeepSpeedStrategy, HorovodStrategy
    from pipetune.torch.trainer import TorchTrainer

    trainer = TorchTrainer(config={"batch_size": 4}, strategy="ddp")
    assert not isinstance(trainer.strategy, DeepSpeedStrategy | HorovodStrategy)


@pytest.mark.parametrize("name", ["deepspeed", "horovod", "DeepSpeed"])
def test_unsupported_strategies_are_refused_naming_what_runs(name: str) -> None:
    from pipetune.torch.trainer import TorchTrainer

    with pytest.raises(ConfigError) as caught:
        TorchTrainer(config={"batch_size": 4}, strategy=name)
    message = str(caught.value)
    assert f"strategy '{name.lower()}' is not supported by pipetune" in message
    assert "supported: 'ddp', 'local'" in message
    assert "\n" not in message


def test_unknown_strategy_lists_only_what_runs() -> None:
    from pipetune.torch.distributed import make_strategy

    with pytest.raises(ConfigError, match=r"unknown strategy 'fsdp'; valid: ddp, local \("):
        make_strategy("fsdp")


CONFIG = """
training_pipeline:
  class_path: pipetune.Pipeline
  init_args:
    steps:
      - class_path: {mod}.ListGetter
        init_args: {{size: 6}}
      - class_path: {mod}.HalfSplitter
        init_args: {{train_proportion: 0.5}}
      - class_path: pipetune.torch.trainer.TorchTrainer
        init_args:
          config: {{batch_size: 2}}
          strategy: deepspeed
          checkpoint_dir: checkpoints
"""


def test_run_with_strategy_deepspeed_is_one_line_exit_2_and_writes_nothing(
    make_module, write_yaml, tmp_path: Path, capsys, monkeypatch
) -> None:
    from components_code import COMPONENTS

    project = tmp_path / "proj"
    module = make_module(COMPONENTS, folder=project)
    path = write_yaml(CONFIG.format(mod=module), folder=project)
    monkeypatch.chdir(project)
    before = sorted(p.name for p in project.iterdir())
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("pipetune: error: ")
    assert "strategy 'deepspeed' is not supported by pipetune" in err
    assert sorted(p.name for p in project.iterdir() if p.name != "__pycache__") == [
        n for n in before if n != "__pycache__"
    ]
