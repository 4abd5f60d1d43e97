"""Several objectives and constraints (issue 18, points 1 and 4): the settings, their one-line
refusals, the scheduler and search algorithm they allow, what reaches Optuna, and the rows'
``pareto``/``feasible`` marks and best trial."""

from __future__ import annotations

from typing import Any

import pytest

from pipetune._mode import Mode
from pipetune.errors import ConfigError
from pipetune.tune import TuneSettings
from pipetune.tune._optuna import CONSTRAINTS_ATTR
from pipetune.tune._results import best_row, is_feasible, mark_pareto
from pipetune.tune._search import make_search, scheduler_spec
from pipetune.tune._space import build_search_space

SPACE = {"lr": {"type": "loguniform", "lower": 1e-4, "upper": 1e-1}}
TWO = {"metric": ["val_loss", "n_params"], "mode": ["min", "min"]}


def settings(**tune: Any) -> TuneSettings:
    return TuneSettings.parse({"search_space": SPACE, "num_samples": 4, **tune})


def refused(**tune: Any) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        s = settings(**tune)
        scheduler_spec(s)
        make_search(s, build_search_space(s.search_space))
    assert len(str(info.value).splitlines()) == 1
    return info.value


def test_one_metric_stays_as_it_was() -> None:
    s = settings()
    assert (s.metric, s.mode, s.multi_objective) == ("val_loss", Mode.MIN, False)
    assert scheduler_spec(s) == "asha"
    # a list of one is that metric
    one = settings(metric=["val_acc"], mode=["max"])
    assert (one.metric, one.mode, one.metrics) == ("val_acc", Mode.MAX, ["val_acc"])


def test_two_metrics_run_fifo_unless_a_scheduler_is_given() -> None:
    s = settings(**TWO)
    assert s.metrics == ["val_loss", "n_params"] and s.modes == [Mode.MIN, Mode.MIN]
    assert s.first_metric == "val_loss" and s.multi_objective
    assert scheduler_spec(s) == "fifo"


@pytest.mark.parametrize(
    ("tune", "key", "words"),
    [
        ({"metric": ["a", "b"], "mode": "min"}, "tune.mode", "one mode per metric"),
        ({"metric": ["a", "b"], "mode": ["min"]}, "tune.mode", "2 metric(s)"),
        ({"metric": ["a", "a"], "mode": ["min", "min"]}, "tune.metric", "twice"),
        ({"constraints": [{"metric": "n"}]}, "tune.constraints.0", "neither min nor max"),
        ({"constraints": [{"metric": "n", "min": 3, "max": 1}]}, "tune.constraints.0", "swap"),
        ({"constraints": [{"metric": "n", "mx": 1}]}, "tune.constraints.0.mx", "max, metric, min"),
        ({**TWO, "scheduler": "asha"}, "tune.scheduler", "scheduler: fifo"),
        ({**TWO, "scheduler": "median_stopping"}, "tune.scheduler", "cannot weigh several"),
        ({**TWO, "search_alg": "hyperopt"}, "tune.search_alg", "optuna, random or grid"),
    ],
)
def test_bad_objectives_are_one_line_naming_the_key(
    tune: dict[str, Any], key: str, words: str
) -> None:
    error = refused(**tune)
    assert error.key_path == key
    assert words in str(error)


def test_optuna_gets_every_objective_and_the_constraints() -> None:
    s = settings(
        **TWO,
        search_alg={"type": "optuna", "sampler": "nsga2"},
        constraints=[{"metric": "n_params", "max": 100}],
        seed=0,
    )
    searcher, _ = make_search(s, build_search_space(s.search_space))
    study = searcher._ot_study
    assert [d.name for d in study.directions] == ["MINIMIZE", "MINIMIZE"]
    assert type(study.sampler).__name__ == "NSGAIISampler"
    for trial_id, n_params in (("a", 50), ("b", 250)):
        searcher.suggest(trial_id)
        searcher.on_trial_complete(trial_id, {"val_loss": 0.5, "n_params": n_params})
    done = study.trials
    assert [t.values for t in done] == [[0.5, 50], [0.5, 250]]
    assert [t.user_attrs[CONSTRAINTS_ATTR] for t in done] == [[-50.0], [150.0]]
    # Optuna holds them as the trials' constraints, which its samplers read
    assert [list(t.constraints.values()) for t in done] == [[-50.0], [150.0]]


def test_tpe_gets_the_constraints_for_one_objective_too() -> None:
    s = settings(search_alg="optuna", constraints=[{"metric": "n_params", "min": 10}])
    searcher, _ = make_search(s, build_search_space(s.search_space))
    searcher.suggest("a")
    searcher.on_trial_complete("a", {"val_loss": 0.5, "n_params": 4})
    assert list(searcher._ot_study.trials[0].constraints.values()) == [6.0]


def row(n: int, loss: float, size: float, status: str = "TERMINATED") -> dict[str, Any]:
    return {
        "trial_id": f"t{n}",
        "status": status,
        "best_val_loss": loss,
        "best_n_params": size,
        "n_params": size,
    }


def test_pareto_and_best_skip_broken_and_infeasible_trials() -> None:
    s = settings(**TWO, constraints=[{"metric": "n_params", "max": 100}])
    rows = [
        row(0, 0.1, 500),  # best loss, but too big: infeasible
        row(1, 0.3, 50),
        row(2, 0.2, 80),
        row(3, 0.4, 90),  # dominated by t1
        row(4, 0.05, 10, status="ERROR"),  # would dominate all: broken
    ]
    for r in rows:
        r["feasible"] = is_feasible(s.constraints, r)
    mark_pareto(rows, s.metrics, s.modes)
    assert [r["feasible"] for r in rows] == [False, True, True, True, True]
    assert [r["pareto"] for r in rows] == [False, True, True, False, False]
    best = best_row(rows, "val_loss", "min")
    assert best is not None and best["trial_id"] == "t2"


def test_best_of_one_objective_is_never_infeasible() -> None:
    rows = [row(0, 0.1, 500), row(1, 0.3, 50)]
    rows[0]["feasible"], rows[1]["feasible"] = False, True
    best = best_row(rows, "val_loss", "min")
    assert best is not None and best["trial_id"] == "t1"


def test_the_contract_checks_every_objective_and_constrained_metric() -> None:
    from ray.tune.result import TRAINING_ITERATION

    from pipetune.errors import PipetuneError
    from pipetune.tune._contract import MetricContractStopper

    reported = {TRAINING_ITERATION: 1, "val_loss": 0.5, "n_params": 10.0}
    whole = MetricContractStopper(["val_loss", "n_params"], {}, constrained=["n_params"])
    assert not whole("t", dict(reported)) and not whole.stop_all()
    for metrics, constrained, key in (
        (["val_loss", "n_paramz"], [], "tune.metric"),
        (["val_loss"], ["n_paramz"], "tune.constraints"),
    ):
        stopper = MetricContractStopper(metrics, {}, constrained=constrained)
        assert stopper("t", dict(reported)) and stopper.stop_all()
        with pytest.raises(PipetuneError) as info:
            stopper.enforce(set(), set(), set(), resumed=False)
        assert "never reported metric 'n_paramz'" in str(info.value)
        assert f"set {key} to one of them" in str(info.value)
