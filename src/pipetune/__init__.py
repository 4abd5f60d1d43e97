"""pipetune: YAML-declared PyTorch pipelines and their hyperparameter search on Ray Tune."""

from pipetune.errors import ConfigError, PipelineError, PipetuneError
from pipetune.pipeline import Pipeline

__version__ = "0.1.0"

__all__ = ["ConfigError", "Pipeline", "PipelineError", "PipetuneError", "__version__"]
