"""pipetune: YAML-declared PyTorch pipelines and their hyperparameter search on Ray Tune."""

from pipetune._ray_env import apply_defaults as _apply_ray_defaults

_apply_ray_defaults()  # before any `import ray.train`: see pipetune/_ray_env.py

from pipetune.errors import ConfigError, PipelineError, PipetuneError  # noqa: E402
from pipetune.pipeline import Pipeline  # noqa: E402

__version__ = "0.1.0"

__all__ = ["ConfigError", "Pipeline", "PipelineError", "PipetuneError", "__version__"]
