"""Driver-side Tune callbacks and stopper: progress lines, result history, metric contract."""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path
from typing import Any

from ray.tune import Callback
from ray.tune.result import TRAINING_ITERATION

from pipetune._mode import Mode
from pipetune.experiment import HistoryWriter
from pipetune.tune._contract import NON_METRIC_KEYS

# Per experiment folder, the trials that really ended in this process: completed, stopped by
# a stopper or a scheduler, or failed. Tune calls neither hook for the trials it stops only
# because the whole experiment ends (time budget, Ctrl+C), and marks those TERMINATED too.
_ENDED: dict[str, set[str]] = {}


def ended_trials(folder: Path) -> set[str] | None:
    """The trials that ended during the last fit of ``folder`` in this process (None: not
    tracked)."""
    return _ENDED.get(str(folder))


class HistoryRecorder(Callback):
    """Appends every result to ``history.jsonl`` in the experiment folder (survives resume),
    numbering each trial's attempts, and notes which trials ended (see ``ended_trials``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._writer: HistoryWriter | None = None

    def __getstate__(self) -> dict[str, Any]:  # Tune pickles callbacks with the experiment
        return {**self.__dict__, "_writer": None}

    @property
    def writer(self) -> HistoryWriter:
        if self._writer is None:  # reads the attempts already in the file, once per run
            self._writer = HistoryWriter(self.folder)
        return self._writer

    def setup(
        self,
        stop: Any = None,
        num_samples: int | None = None,
        total_num_samples: int | None = None,
        **info: Any,
    ) -> None:
        _ENDED[str(self.folder)] = set()

    def _ended(self, trial: Any) -> None:
        _ENDED.setdefault(str(self.folder), set()).add(trial.trial_id)

    def on_trial_start(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        # First start, restart after a failure, or restore by a resumed driver: a new attempt.
        self.writer.start_attempt(trial.trial_id)

    def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self._ended(trial)

    def on_trial_error(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self._ended(trial)

    def on_trial_result(
        self, iteration: int, trials: list[Any], trial: Any, result: dict, **info: Any
    ) -> None:
        row = {
            "node_ip": result.get("node_ip"),
            # a trial may report the Ray node id it runs on (several nodes can share one IP)
            **({"node_id": result["node_id"]} if "node_id" in result else {}),
            "timestamp": result.get("timestamp", time.time()),
            **{
                k: v
                for k, v in result.items()
                if k not in NON_METRIC_KEYS
                and isinstance(v, int | float)
                and not isinstance(v, bool)
            },
        }
        self.writer.append(trial.trial_id, row)


class ProgressPrinter(Callback):
    """Lines for a log without a terminal (a SLURM log, ``nohup``, CI): with ``per_result``
    one per reported result (elapsed time, trial, iteration, the metric's value, the trial's
    best and the best so far), and one per finished trial naming its last and best value."""

    def __init__(
        self, metric: str, total: int, mode: str = "min", per_result: bool = False
    ) -> None:
        self.metric, self.total, self.finished = metric, total, 0
        self.mode, self.per_result = Mode(mode), per_result
        self.best: dict[str, float] = {}  # trial id → its best value so far
        self._started = time.monotonic()

    def setup(self, *args: Any, **info: Any) -> None:
        self._started = time.monotonic()

    def _print(self, text: str) -> None:
        elapsed = int(time.monotonic() - self._started)
        stamp = f"{elapsed // 3600}:{elapsed // 60 % 60:02d}:{elapsed % 60:02d}"
        print(f"[{stamp}] {text}", file=sys.stderr, flush=True)

    def _leader(self) -> str:
        """``best so far 0.41 by X``, or "" before any finite value."""
        if not self.best:
            return ""
        trial_id = self.mode.best(self.best, key=self.best.__getitem__)
        return f"best so far {_fmt(self.best[trial_id])} by {trial_id}"

    def on_trial_result(
        self, iteration: int, trials: list[Any], trial: Any, result: dict, **info: Any
    ) -> None:
        value = _finite(result.get(self.metric))
        if value is not None and self.mode.better(value, self.best.get(trial.trial_id)):
            self.best[trial.trial_id] = value
        if not self.per_result:
            return
        trial_best = self.best.get(trial.trial_id)
        self._print(
            f"trial {trial.trial_id} iter {result.get(TRAINING_ITERATION, '?')}: "
            f"{self.metric} {_fmt(result.get(self.metric))} "
            f"(trial best {_fmt(trial_best)}; {self._leader()})"
        )

    def _line(self, trial: Any, status: str) -> None:
        self.finished += 1
        result = trial.last_result or {}
        self._print(
            f"[{self.finished}/{self.total}] trial {trial.trial_id} {status}: "
            f"{self.metric} last {_fmt(result.get(self.metric))}, "
            f"best {_fmt(self.best.get(trial.trial_id))} after "
            f"{result.get(TRAINING_ITERATION, 0)} iteration(s)"
        )

    def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self._line(trial, "done")

    def on_trial_error(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self._line(trial, "ERROR")

    def on_trial_recover(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        """A failed trial Tune will run again (``max_failures``): say why and from where."""
        checkpoint = trial.latest_checkpoint_result
        start = (
            f"its checkpoint at iteration {checkpoint.metrics.get(TRAINING_ITERATION)}"
            if checkpoint is not None
            else "the start"
        )
        limit = f" of {trial.max_failures}" if trial.max_failures >= 0 else ""
        print(
            f"trial {trial.trial_id} failed ({_last_error_line(trial.error_file)}); "
            f"retry {trial.num_failures}{limit} from {start}",
            file=sys.stderr,
            flush=True,
        )


def _last_error_line(error_file: str | None) -> str:
    """The last line of the newest error Tune wrote for a trial (its exception's message)."""
    try:
        lines = Path(error_file).read_text().strip().splitlines() if error_file else []
    except OSError:
        lines = []
    return lines[-1].strip() if lines else "no error message"


class LiveTable(Callback):
    """A live rich table of the trials (terminals only): status, iteration, metric, best."""

    def __init__(self, metric: str, mode: str, total: int, limit: int = 10) -> None:
        self.metric, self.mode, self.total, self.limit = metric, mode, total, limit
        self.rows: dict[str, dict[str, Any]] = {}
        self._live: Any = None

    def __getstate__(self) -> dict[str, Any]:  # Tune pickles callbacks with the experiment
        return {**self.__dict__, "_live": None}

    def _refresh(self) -> None:
        from rich.console import Console
        from rich.live import Live

        if self._live is None:
            self._live = Live(console=Console(stderr=True), refresh_per_second=2)
            self._live.start()
        self._live.update(self._render())

    def _render(self) -> Any:
        from rich.table import Table

        done = sum(1 for r in self.rows.values() if r["status"] in ("done", "ERROR"))
        running = sum(1 for r in self.rows.values() if r["status"] == "running")
        shown = min(len(self.rows), self.limit)
        table = Table(
            title=f"{done}/{self.total} trials done, {running} running",
            title_justify="left",
            # a cut table says so: the rows it leaves out are never the running or the best
            caption=f"top {shown} of {len(self.rows)}" if shown < len(self.rows) else None,
            caption_justify="left",
        )
        for column in ("trial", "status", "iter", f"{self.metric} last", "best"):
            table.add_column(column)
        sign = Mode(self.mode).sign

        def order(item: tuple[str, dict[str, Any]]) -> tuple[int, float]:
            best = item[1].get("best")
            return (
                0 if item[1]["status"] == "running" else 1,
                math.inf if best is None else sign * best,
            )

        for trial_id, row in sorted(self.rows.items(), key=order)[: self.limit]:
            table.add_row(
                trial_id,
                row["status"],
                str(row.get("iter", 0)),
                _fmt(row.get("value")),
                _fmt(row.get("best")),
            )
        return table

    def on_trial_start(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self.rows.setdefault(trial.trial_id, {})["status"] = "running"
        self._refresh()

    def on_trial_result(
        self, iteration: int, trials: list[Any], trial: Any, result: dict, **info: Any
    ) -> None:
        row = self.rows.setdefault(trial.trial_id, {"status": "running"})
        row["iter"] = result.get("training_iteration", 0)
        value = _finite(result.get(self.metric))
        if value is not None:
            row["value"] = value
            if Mode(self.mode).better(value, row.get("best")):
                row["best"] = value
        self._refresh()

    def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self.rows.setdefault(trial.trial_id, {})["status"] = "done"
        self._refresh()

    def on_trial_error(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self.rows.setdefault(trial.trial_id, {})["status"] = "ERROR"
        self._refresh()

    def on_experiment_end(self, trials: list[Any], **info: Any) -> None:
        if self._live is not None:
            self._live.update(self._render())
            self._live.stop()
            self._live = None


def _finite(value: Any) -> float | None:
    finite = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if finite else None


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else ("" if value is None else str(value))


def progress_callbacks(
    metric: str, mode: str, total: int, progress: str = "auto"
) -> list[Callback]:
    """What the driver prints while trials run (``tune.progress``): a live table ('table',
    'auto' on a terminal), a line per result ('lines', 'auto' otherwise) or nothing ('quiet')."""
    if progress == "auto":
        progress = "table" if sys.stderr.isatty() else "lines"
    if progress == "quiet":
        return []
    if progress == "table":
        return [LiveTable(metric, mode, total)]
    return [ProgressPrinter(metric, total, mode, per_result=True)]
