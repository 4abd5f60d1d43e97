"""pipetune: YAML-declared PyTorch pipelines and their hyperparameter search on Ray Tune."""

from pipetune._ray_env import apply_defaults as _apply_ray_defaults

_apply_ray_defaults()  # before any `import ray.train`: see pipetune/_ray_env.py

from pipetune._launch import register_launcher as _register_launcher  # noqa: E402
from pipetune.errors import ConfigError, PipelineError, PipetuneError  # noqa: E402
from pipetune.pipeline import Pipeline  # noqa: E402

# DDP fits of several workers outside a Tune trial run through Ray Train: the tune layer's
# launcher, imported on first use (the trainer never imports Ray or the tune layer).
_register_launcher("ddp", "pipetune.tune._ddp:fit_with_ray_train")

__version__ = "0.1.0"

__all__ = ["ConfigError", "Pipeline", "PipelineError", "PipetuneError", "__version__"]
