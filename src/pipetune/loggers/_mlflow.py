"""``MLFlowLogger``: one MLflow run per logger context, through an explicit ``MlflowClient``."""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlparse
from urllib.request import url2pathname

from pipetune._session import current_trial_id
from pipetune.errors import PipetuneError
from pipetune.loggers._base import Logger, flatten_params, to_scalar

logger = logging.getLogger(__name__)

_MISSING = "MLFlowLogger needs mlflow: pip install 'pipetune[mlflow]'"
_MAX_PARAM_LENGTH = 6000
_MAX_PARAMS_PER_BATCH = 100


def _is_file_uri(uri: str) -> bool:
    scheme = urlparse(uri).scheme
    # A one-letter "scheme" is a Windows drive letter, i.e. a plain path.
    return scheme in ("", "file") or len(scheme) == 1


class MLFlowLogger(Logger):
    """Log to MLflow; by default a local file store under ``savedir``.

    Each ``create_logger_context`` on rank 0 creates (or reuses) the experiment by name and
    starts a new run, whose id is ``run_id``; ``destroy_logger_context`` ends it as
    FINISHED, KILLED when stopped on request (``mark_stopped``: a trial Ray Tune stopped
    early) or FAILED (``mark_failed``, or an exception escaping the context manager).
    mlflow is imported only when needed.

    Kinds: ``metric`` (``log_metric`` with ``step``), ``param``, ``text`` (artifact
    ``<identifier>.txt``), ``dict`` (artifact ``<identifier>.json``) and ``artifact``
    (``item`` is a local file or directory, stored under ``identifier``).
    """

    supported_kinds: ClassVar[frozenset[str]] = frozenset(
        {"metric", "param", "text", "dict", "artifact"}
    )

    def __init__(
        self,
        savedir: str | Path = "runs/mlruns",
        experiment_name: str = "pipetune",
        run_name: str | None = None,
        tracking_uri: str | None = None,
        log_freq: int | str = "epoch",
        *,
        tags: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(savedir=savedir, log_freq=log_freq)
        if importlib.util.find_spec("mlflow") is None:
            raise PipetuneError(_MISSING)
        self.experiment_name = experiment_name
        self.run_name = run_name
        self.tags = dict(tags or {})
        if tracking_uri is None:
            tracking_uri = self.savedir.resolve().as_uri()
        elif _is_file_uri(tracking_uri) and not tracking_uri.startswith("file:"):
            tracking_uri = Path(tracking_uri).resolve().as_uri()
        self.tracking_uri: str = tracking_uri
        self.run_id: str | None = None
        self.experiment_id: str | None = None
        self._client: Any = None

    @property
    def uses_file_store(self) -> bool:
        """Whether ``tracking_uri`` points at a local file store."""
        return _is_file_uri(self.tracking_uri)

    @property
    def client(self) -> Any:
        """The ``mlflow.MlflowClient`` of the open run (``None`` outside a rank-0 context)."""
        return self._client

    def _open(self) -> None:
        if self.uses_file_store:
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        try:
            from mlflow import MlflowClient
            from mlflow.exceptions import MlflowException
        except ImportError as error:
            raise PipetuneError(_MISSING) from error

        client = MlflowClient(tracking_uri=self.tracking_uri)
        _end_runs_atomically(client)
        with self._store_lock():
            experiment_id = self._experiment_id(client, MlflowException)
        # In a Tune trial: one run per trial, named and tagged with the trial's id.
        trial_id = current_trial_id()
        tags = {**self.tags, "pipetune.trial_id": trial_id} if trial_id else self.tags
        run_name = self.run_name or trial_id
        run = client.create_run(experiment_id, tags=tags or None, run_name=run_name)
        self._client = client
        self.experiment_id = experiment_id
        self.run_id = run.info.run_id
        logger.debug("MLflow run %s in %s", self.run_id, self.tracking_uri)

    @contextlib.contextmanager
    def _store_lock(self) -> Iterator[None]:
        """Exclude other trials from the experiment's look-up-or-create. A file store's
        create_experiment is not atomic: two trials starting at once each created an
        experiment of the same name, and one trial's run was lost from it."""
        if not self.uses_file_store:
            yield
            return
        # __init__ made every file store's tracking_uri a file: URI
        root = Path(url2pathname(urlparse(self.tracking_uri).path))
        root.mkdir(parents=True, exist_ok=True)
        with open(root / ".pipetune-create.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _experiment_id(self, client: Any, mlflow_exception: type[Exception]) -> str:
        experiment = client.get_experiment_by_name(self.experiment_name)
        if experiment is None:
            try:
                experiment_id = client.create_experiment(self.experiment_name)
            except mlflow_exception:
                # Another process created it between our look-up and our create.
                experiment = client.get_experiment_by_name(self.experiment_name)
                if experiment is None:
                    raise
                experiment_id = experiment.experiment_id
        elif experiment.lifecycle_stage == "deleted":
            raise PipetuneError(
                f"MLflow experiment {self.experiment_name!r} at {self.tracking_uri} is deleted; "
                "restore it, purge it (mlflow gc) or choose another experiment_name"
            )
        else:
            experiment_id = experiment.experiment_id
        return str(experiment_id)

    def _close(self) -> None:
        if self._client is not None and self.run_id is not None:
            status = "FAILED" if self._failed else "KILLED" if self._stopped else "FINISHED"
            self._client.set_terminated(self.run_id, status=status)
        self._client = None

    def _log(
        self,
        item: Any,
        identifier: str,
        kind: str,
        step: int | None,
        batch_idx: int | None,
        **kwargs: Any,
    ) -> None:
        client, run_id = self._client, self.run_id
        if kind == "metric":
            value = float(to_scalar(item, identifier))
            client.log_metric(run_id, identifier, value, step=0 if step is None else step)
        elif kind == "param":
            client.log_param(run_id, identifier, _param_value(item))
        elif kind == "text":
            client.log_text(run_id, str(item), _artifact_file(identifier, ".txt"))
        elif kind == "dict":
            client.log_dict(run_id, dict(item), _artifact_file(identifier, ".json"))
        elif kind == "artifact":
            path = Path(item)
            if path.is_dir():
                client.log_artifacts(run_id, str(path), artifact_path=identifier or None)
            else:
                client.log_artifact(run_id, str(path), artifact_path=identifier or None)

    def _save_hyperparameters(self, params: dict[str, Any]) -> None:
        from mlflow.entities import Param

        flat = [Param(key, _param_value(value)) for key, value in flatten_params(params).items()]
        for start in range(0, len(flat), _MAX_PARAMS_PER_BATCH):
            self._client.log_batch(self.run_id, params=flat[start : start + _MAX_PARAMS_PER_BATCH])


def _end_runs_atomically(client: Any) -> None:
    """Have a file store replace a run's meta.yaml atomically when it rewrites it.

    MLflow's file store truncates and rewrites meta.yaml in place when a run ends; a process
    killed in between (a trial's actor at Tune's stop, a job at its time limit) left it
    empty, and every ``search_runs`` of the experiment then failed. This client's store
    writes it with MLflow's own YAML writer into a file beside it and renames that over it,
    so a kill leaves the run readable (still RUNNING). Other stores are left as they are; an
    MLflow without these internals keeps its own write.
    """
    try:
        from mlflow.store.tracking import file_store
        from mlflow.utils.yaml_utils import write_yaml

        store = client._tracking_client.store
        persisted = file_store._make_persisted_run_info_dict
        meta = file_store.FileStore.META_DATA_FILE_NAME
    except (ImportError, AttributeError):
        return
    if not isinstance(store, file_store.FileStore) or not hasattr(store, "_overwrite_run_info"):
        return

    def overwrite_run_info(run_info: Any, deleted_time: int | None = None) -> None:
        run_dir = store._get_run_dir(run_info.experiment_id, run_info.run_id)
        data = persisted(run_info)
        if deleted_time is not None:
            data["deleted_time"] = deleted_time
        partial = f".{meta}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            write_yaml(run_dir, partial, data, overwrite=True, ensure_yaml_extension=False)
            os.replace(os.path.join(run_dir, partial), os.path.join(run_dir, meta))
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(run_dir, partial))

    store._overwrite_run_info = overwrite_run_info  # type: ignore[method-assign]


def _param_value(value: Any) -> str:
    text = str(value)
    if len(text) > _MAX_PARAM_LENGTH:
        logger.debug("MLflow parameter value truncated to %d characters", _MAX_PARAM_LENGTH)
        text = text[:_MAX_PARAM_LENGTH]
    return text


def _artifact_file(identifier: str, suffix: str) -> str:
    return identifier if identifier.endswith(suffix) else identifier + suffix
