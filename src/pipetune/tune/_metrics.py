"""The values a trial reports are checked in the trial, before Tune sees them.

The tuned metric, and every key once reported as a number, must stay a finite number: a
string, a None after numbers, or a tensor of several elements would reach the scheduler, the
search algorithm and results.csv (where ``"abc"`` once ranked best), so the trial fails at
once with the metric and the value. Other keys may be strings (labels such as the Ray node
id a trial runs on). A NaN or infinite value
means the trial diverged: it ends ``DIVERGED`` as with ``NaNGuard``, and Tune never sees it.
One-element tensors and NumPy scalars are reported as plain numbers.
"""

from __future__ import annotations

import contextlib
import math
import numbers
from collections.abc import Iterator, Mapping
from typing import Any

from pipetune._session import ray_session
from pipetune.errors import PipetuneError
from pipetune.torch import DivergedError


class MetricError(PipetuneError, TypeError):
    """A trial reported a value that is not a number."""


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _number(value: Any) -> Any:
    """``value`` as a plain number, or None when it is none."""
    if isinstance(value, int | float):
        return value
    if isinstance(value, numbers.Real):  # NumPy scalars
        return value.item() if hasattr(value, "item") else float(value)
    shape, item = getattr(value, "shape", None), getattr(value, "item", None)
    if shape is not None and callable(item) and math.prod(shape) == 1:  # a 1-element tensor
        plain = item()
        return plain if isinstance(plain, int | float) else None
    return None


def checked_metrics(metrics: Mapping[str, Any], numeric: set[str]) -> dict[str, Any]:
    """A copy of ``metrics`` with plain numbers. ``numeric`` holds the keys that must be
    numbers: the tuned metric, and (added here) every key seen as a number."""
    result: dict[str, Any] = {}
    for key, value in metrics.items():
        result[key] = _checked(str(key), value, numeric)
    return result


def _checked(key: str, value: Any, numeric: set[str]) -> Any:
    if isinstance(value, Mapping):  # Tune flattens nested metrics to "a/b"
        return {k: _checked(f"{key}/{k}", v, numeric) for k, v in value.items()}
    if value is None and key not in numeric:
        return None  # not reported yet (a test metric without a test set)
    if isinstance(value, bool):
        return value
    number = _number(value)
    if number is None and isinstance(value, str) and key not in numeric:
        return value  # a label, never a number
    if number is None:
        what = "None, after numbers" if value is None else _shown(value)
        shape = getattr(value, "shape", None)
        if shape is not None:
            what += f" (a tensor of {math.prod(shape)} elements)"
        raise MetricError(
            f"the trial reported metric '{key}' = {what}, which is not a number; "
            "report a float (loss.item()) every time"
        )
    if not math.isfinite(number):
        raise DivergedError(f"training diverged: the trial reported {key}={number}")
    numeric.add(key)
    return number


@contextlib.contextmanager
def checked_reports(metric: str | list[str] | None = None) -> Iterator[None]:
    """Check every report of this trial process (``TuneReporter``'s, and a trainer's own
    ``ray.train.report`` or ``ray.tune.report``: all go through the session's ``report``);
    ``metric``, the tuned one (or each of a list: objectives and constrained metrics), must
    always be a number."""
    session = ray_session()
    if session is None:
        yield
        return
    report = session.report
    had_own = "report" in vars(session)
    numeric: set[str] = {metric} if isinstance(metric, str) else set(metric or ())

    def checked(metrics: Mapping[str, Any], *args: Any, **kwargs: Any) -> Any:
        return report(checked_metrics(metrics, numeric), *args, **kwargs)

    session.report = checked
    try:
        yield
    finally:
        if had_own:
            session.report = report
        else:
            del session.report  # the class's method again
