"""Hyperparameter importance: Optuna's fANOVA on an in-memory study of the completed trials."""

from __future__ import annotations

import contextlib
import threading
import warnings
from dataclasses import dataclass, field
from typing import Any

from pipetune._mode import Mode
from pipetune.report._model import TERMINATED, ExperimentData, Trial
from pipetune.report._params import ParamSpec, describe, label

#: Below this many completed trials the importances are a rough hint at best.
MIN_RELIABLE_TRIALS = 10


@dataclass
class Importance:
    """Share of the metric's variance each hyperparameter explains, most important first,
    keyed by display name."""

    values: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    trials: int = 0


def importance(experiment: ExperimentData) -> Importance:
    """fANOVA importances, or notes saying why they could not (or should not) be trusted."""
    complete = [t for t in experiment.trials if t.status == TERMINATED and t.best is not None]
    if len(complete) < 2:
        return Importance(
            notes=[
                f"skipped: fANOVA needs at least 2 completed trials with '{experiment.metric}', "
                f"there are {len(complete)}"
            ]
        )
    specs = [
        describe(n, [t.config.get(n) for t in complete], experiment.categories.get(n))
        for n in experiment.param_names
    ]
    names = experiment.names
    varying = [s for s in specs if s is not None and s.varies]
    constant = [names[s.name] for s in specs if s is not None and not s.varies]
    if not varying:
        return Importance(
            notes=["skipped: no hyperparameter took more than one value in the completed trials"]
        )
    usable = [
        t for t in complete if all(s.position(t.config.get(s.name)) is not None for s in varying)
    ]
    notes = []
    if len(usable) < len(complete):
        notes.append(f"{len(complete) - len(usable)} completed trial(s) lack a value: left out")
    if constant:
        notes.append("left out (a single value in every trial): " + ", ".join(constant))
    if len(usable) < 2:
        return Importance(notes=[*notes, "skipped: fewer than 2 trials with every value"])
    if len(usable) < MIN_RELIABLE_TRIALS:
        notes.append(
            f"only {len(usable)} completed trials: fANOVA needs about {MIN_RELIABLE_TRIALS} "
            "or more to be reliable, so read these as a rough hint"
        )
    try:
        found = _fanova(usable, varying, experiment.mode)
    except ImportError:
        return Importance(notes=[*notes, "skipped: fANOVA needs scikit-learn (pip install it)"])
    except Exception as exc:  # a report must not fail on an analysis
        return Importance(notes=[*notes, f"skipped: fANOVA failed ({exc})"])
    return Importance({names[k]: v for k, v in found.items()}, notes, len(usable))


#: the thread of :func:`import_in_background`, once started
_warming: threading.Thread | None = None


def import_in_background() -> None:
    """Import what fANOVA needs (Optuna's importance module: scikit-learn and SciPy, about
    3 s of imports on a small machine) in a daemon thread, once: called while the last
    trials run on cores the finished ones left idle, it takes those seconds out of the wait
    for the final report. A failed import is left for :func:`importance` to report."""
    global _warming
    if _warming is not None:
        return

    def load() -> None:
        with contextlib.suppress(Exception):
            import optuna.importance  # noqa: F401

    _warming = threading.Thread(target=load, name="pipetune-import-fanova", daemon=True)
    _warming.start()


def _distribution(spec: ParamSpec) -> Any:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if spec.kind == "categorical":
        return CategoricalDistribution(spec.choices)
    if spec.kind == "int":
        return IntDistribution(int(spec.low), int(spec.high))
    return FloatDistribution(spec.low, spec.high, log=spec.log)


def _value(spec: ParamSpec, value: Any) -> Any:
    if spec.kind == "categorical":
        return label(value)
    return int(value) if spec.kind == "int" else float(value)


def _fanova(trials: list[Trial], specs: list[ParamSpec], mode: str) -> dict[str, float]:
    import optuna
    from optuna.importance import FanovaImportanceEvaluator, get_param_importances

    distributions = {s.name: _distribution(s) for s in specs}
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            study = optuna.create_study(direction=Mode(mode).direction)
            study.add_trials(
                [
                    optuna.trial.create_trial(
                        params={s.name: _value(s, t.config[s.name]) for s in specs},
                        distributions=distributions,
                        value=t.best,
                    )
                    for t in trials
                ]
            )
            found = get_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=0))
    finally:
        optuna.logging.set_verbosity(verbosity)
    return dict(sorted(found.items(), key=lambda item: -item[1]))
