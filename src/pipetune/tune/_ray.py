"""Ray's side of an experiment: starting or attaching, trial resources, the environment a fit
runs in, and signals. The only module of the tune layer that starts Ray."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipetune._ray_env import DEFAULTS as RAY_DEFAULTS
from pipetune._ray_env import enable_token_auth_for, refresh_auth_mode
from pipetune._reaper import WATCHER
from pipetune.tune._checks import check_resources, node_resources
from pipetune.tune._settings import Resources, TuneSettings

if TYPE_CHECKING:
    from pipetune.cluster._local import LocalHead


def user_modules(folders: list[str]) -> list[str]:
    """The Python modules and packages directly inside ``folders`` (the config's folder)."""
    found: list[str] = []
    for folder in map(Path, folders):
        for path in sorted(folder.glob("*.py")):
            found.append(str(path))
        for init in sorted(folder.glob("*/__init__.py")):
            found.append(str(init.parent))
    return found


#: Ray's notice that a new local cluster turned token authentication on: nothing to act on
#: for an embedded Ray bound to loopback that ends with the driver
_TOKEN_NOTICE = (
    "ray._private.authentication.authentication_token_setup",
    "Token authentication is enabled",
)
#: Ray's setting (read by its raylet) to prestart a worker per CPU when the first driver connects
PRESTART_SETTING = "RAY_prestart_worker_first_driver"
#: Tune's hint after Ctrl+C (``Tuner.restore(...)``): pipetune prints its own resume command
_RESTORE_HINT = ("ray.tune.tune", "Experiment has been interrupted")


class _Drop(logging.Filter):
    """Drop the records of one logger whose message starts with ``prefix``."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self.prefix)


@contextlib.contextmanager
def _silenced(logger: str, prefix: str) -> Iterator[None]:
    """One message of one Ray logger dropped for the length of the block, in this process."""
    drop = _Drop(prefix)
    logging.getLogger(logger).addFilter(drop)
    try:
        yield
    finally:
        logging.getLogger(logger).removeFilter(drop)


def start_ray(address: str | None, import_paths: list[str], ship_modules: bool = True) -> bool:
    """Start an embedded local Ray, or attach to ``address``; return whether we started it.
    ``ship_modules=False``: the cluster shares this file system (a head on this machine), so
    ``PYTHONPATH`` finds the user's modules without uploading them."""
    import ray

    if ray.is_initialized():
        return False
    env = {"PYTHONPATH": os.pathsep.join([*import_paths, os.environ.get("PYTHONPATH", "")])}
    common: dict[str, Any] = {"log_to_driver": False, "configure_logging": False}
    if address:
        # Nodes started with `ray start` do not inherit this process's environment.
        env.update({key: os.environ[key] for key in RAY_DEFAULTS if key in os.environ})
        runtime_env: dict[str, Any] = {"env_vars": env}
        # Nodes of a cluster may not share this file system: ship the user's modules.
        modules = user_modules(import_paths[1:]) if ship_modules else []
        if modules:
            runtime_env["py_modules"] = modules
        enable_token_auth_for(address)
        ray.init(address=address, runtime_env=runtime_env, **common)
        return True
    # Whatever happens to this driver, the Ray it starts ends with it (see _reaper).
    WATCHER.ray_started()
    # An embedded Ray's processes inherit this environment: no job-level runtime_env. (The
    # trials still run on workers started for them: Tune gives each trainable a runtime_env
    # of its own. Running them on the workers Ray prestarts was measured: no gain on 2 cores.)
    # No idle workers prestarted for this driver: Tune's trial actors never run on them
    # (see above), and starting them held up ray.init by 0.4-0.6 s on 2 cores.
    env[PRESTART_SETTING] = os.environ.get(PRESTART_SETTING, "0")
    # address="local": always a fresh embedded Ray, never one found on the machine.
    with _environment(env), _silenced(*_TOKEN_NOTICE):
        ray.init(address="local", include_dashboard=False, _node_ip_address="127.0.0.1", **common)
    return True


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """``values`` in this process's environment for the block (the processes it starts keep
    them), then the environment as it was."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


@contextlib.contextmanager
def attached_ray(
    address: str | None, import_paths: list[str], head: LocalHead | None = None
) -> Iterator[None]:
    """Ray for the length of the block: started (or attached) here, shut down after, unless
    this process had it running already, or the `pipetune` executable leaves an embedded
    Ray for its watcher to end as the process exits (:func:`left_running`). ``head``: the
    persistent local head to attach to (``pipetune ray start``), with its token in this
    process's environment meanwhile."""
    with contextlib.ExitStack() as stack:
        if head is not None:
            stack.enter_context(_environment(head.token_env()))
            stack.callback(refresh_auth_mode)
            refresh_auth_mode()
            address = head.address
        started = start_ray(address, import_paths, ship_modules=head is None)
        try:
            yield
        finally:
            if started and not left_running(address, head):
                import ray

                ray.shutdown()
                if head is None:
                    WATCHER.ray_stopped()


def left_running(address: str | None, head: LocalHead | None) -> bool:
    """Whether the block of :func:`attached_ray` leaves its embedded Ray up at its end for
    the watcher to end with the process (see ``Watcher.ends_with_process``)."""
    return not address and head is None and WATCHER.takes_over()


def trial_resources(settings: TuneSettings) -> tuple[dict[str, float], int]:
    """CPUs and GPUs per trial (``auto``: one GPU and its share of CPUs when nodes have
    GPUs, else one CPU) and DDP workers, checked against the nodes Ray reports."""
    import ray

    nodes = node_resources(ray.nodes())
    request: Resources
    if settings.resources_per_trial == "auto":
        gpus = max((n.get("GPU", 0) for n in nodes), default=0)
        cpus = max((n.get("CPU", 0) for n in nodes), default=1)
        if gpus >= 1:
            request = Resources(cpu=max(1, int(cpus // gpus)), gpu=1, workers=1)
        else:
            request = Resources(cpu=1, gpu=0, workers=1)
    else:
        request = settings.resources_per_trial
    as_dict = {"cpu": request.cpu, "gpu": request.gpu}
    check_resources(as_dict, request.workers, nodes)
    return as_dict, request.workers


def check_resources_locally(settings: TuneSettings) -> None:
    """Before an embedded Ray starts: refuse requests this machine can never satisfy."""
    if settings.resources_per_trial == "auto":
        return
    import torch

    machine = {"CPU": float(os.cpu_count() or 1), "GPU": float(torch.cuda.device_count())}
    request = settings.resources_per_trial
    check_resources({"cpu": request.cpu, "gpu": request.gpu}, request.workers, [machine])


@contextlib.contextmanager
def fit_environment() -> Iterator[None]:
    """Tune settings read from the driver's environment at fit time, restored afterwards
    (a value the user set is kept)."""
    settings = {
        # Tune's automatic JSON/CSV/TensorBoard loggers cost time per result; pipetune
        # writes its own history.jsonl and results.csv.
        "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1",
        # Ray's own check raises on the first result without the metric, before the
        # stopper can turn it into the PipetuneError that names the reported ones.
        "TUNE_DISABLE_STRICT_METRIC_CHECKING": "1",
    }
    unset = {k: v for k, v in settings.items() if k not in os.environ}
    with _environment(unset), _without_callback_telemetry():
        yield


@contextlib.contextmanager
def _without_callback_telemetry() -> Iterator[None]:
    """Skip Tune's usage tag of the run's callbacks: to name them it imports the MLflow,
    W&B, Comet and Aim integrations (MLflow alone: seconds), for a count nobody reads here.
    A Ray without this private hook is left as it is."""
    try:
        from ray.air._internal import usage
    except ImportError:
        yield
        return
    tag = getattr(usage, "tag_callbacks", None)
    if tag is None:
        yield
        return
    usage.tag_callbacks = lambda callbacks: False
    try:
        yield
    finally:
        usage.tag_callbacks = tag


@contextlib.contextmanager
def stop_on_signals() -> Iterator[list[int]]:
    """SIGTERM (SLURM's preemption and ``scancel``) stops the run the way Ctrl+C does: Tune
    ends the trials, saves its state, and the results are written; the list yielded holds
    the signal received. (Ray's own handler would abort the driver, losing the summary.)
    Tune's ``Tuner.restore(...)`` hint is dropped: the CLI prints pipetune's resume command."""
    received: list[int] = []

    def on_signal(signum: int, frame: Any) -> None:
        received.append(signum)
        # Tune's SIGINT handler (installed inside fit) asks the run to stop gracefully.
        handler = signal.getsignal(signal.SIGINT)
        if callable(handler) and handler is not on_signal:
            handler(signal.SIGINT, frame)

    previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        with _silenced(*_RESTORE_HINT):
            yield received
    finally:
        signal.signal(signal.SIGTERM, previous)
