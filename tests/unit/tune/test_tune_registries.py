"""The scheduler and search-algorithm registries (issue 16, point 3): entries registered from
outside, what an entry carries, did-you-mean, a user's own class by class_path/_target_, and
the names everywhere they are listed (CLI help, settings errors, the generated reference)."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from ray.tune.schedulers import FIFOScheduler
from ray.tune.search import ConcurrencyLimiter
from ray.tune.search.sample import Float

from pipetune.errors import ConfigError
from pipetune.tune import (
    SCHEDULERS,
    SEARCH_ALGS,
    Experiment,
    SchedulerEntry,
    SearchAlgEntry,
    register_scheduler,
    register_search_alg,
)
from pipetune.tune._algorithms import (
    make_scheduler,
    make_search_alg,
    scheduler_entry,
    search_alg_entry,
    search_alg_name,
)

REPO = Path(__file__).resolve().parents[3]
MUTATIONS = {"learning_rate": {"type": "loguniform", "lower": 1e-4, "upper": 1e-1}}


@pytest.fixture
def registered() -> Iterator[Callable[..., Any]]:
    """Register entries for one test; the registries are as they were afterwards."""
    saved = (dict(SCHEDULERS), dict(SEARCH_ALGS))
    yield lambda register, *args, **kwargs: register(*args, **kwargs)
    for registry, before in zip((SCHEDULERS, SEARCH_ALGS), saved, strict=True):
        registry.clear()
        registry.update(before)


class Recorded(FIFOScheduler):
    def __init__(self, options: dict[str, Any], budget: int) -> None:
        super().__init__()
        self.options = options
        self.budget = budget


# -- the registries ---------------------------------------------------------------------------


def test_the_built_in_entries_and_what_they_carry() -> None:
    assert list(SCHEDULERS) == ["fifo", "asha", "hyperband", "median_stopping", "pbt"]
    assert list(SEARCH_ALGS) == ["random", "grid", "optuna", "hyperopt", "bohb"]
    assert [n for n, e in SCHEDULERS.items() if e.keeps_all_checkpoints] == ["pbt"]
    assert [n for n, e in SCHEDULERS.items() if e.needs_mutations] == ["pbt"]
    assert [n for n, e in SEARCH_ALGS.items() if e.caps_concurrency] == ["random", "grid"]
    assert SEARCH_ALGS["hyperopt"].packages == ("hyperopt",)
    assert SEARCH_ALGS["hyperopt"].extra == "hyperopt"
    assert SEARCH_ALGS["bohb"].packages == ("hpbandster", "ConfigSpace")
    assert SEARCH_ALGS["optuna"].packages == ("optuna",)
    for entry in [*SCHEDULERS.values(), *SEARCH_ALGS.values()]:
        assert entry.ray_class and entry.summary, entry.name


@pytest.mark.parametrize(
    ("spec", "name"),
    [("pbt", "pbt"), ({"type": "PBT"}, "pbt"), ("ASHA", "asha"), (None, "fifo")],
)
def test_scheduler_entry_by_name(spec: Any, name: str) -> None:
    entry = scheduler_entry(spec)
    assert isinstance(entry, SchedulerEntry)
    assert entry is SCHEDULERS[name]
    assert entry.keeps_all_checkpoints is (name == "pbt")


def test_search_alg_entry_by_name() -> None:
    assert search_alg_entry(None) is SEARCH_ALGS["random"]
    assert search_alg_entry({"type": "Optuna"}) is SEARCH_ALGS["optuna"]
    assert isinstance(search_alg_entry("grid"), SearchAlgEntry)


def test_a_scheduler_registered_from_outside_is_built(registered: Callable[..., Any]) -> None:
    entry = registered(register_scheduler, "Recorded", Recorded, keeps_all_checkpoints=True)
    assert SCHEDULERS["recorded"] is entry  # names are lower case, like the optimizers'
    spec = {"type": "recorded", "patience": 3}
    built = make_scheduler(spec, 7)
    assert isinstance(built, Recorded)
    assert built.options == {"patience": 3}
    assert built.budget == 7
    assert spec == {"type": "recorded", "patience": 3}  # the settings stay as given
    assert scheduler_entry("RECORDED").keeps_all_checkpoints is True


def test_a_registered_scheduler_that_needs_mutations_gets_them_built(
    registered: Callable[..., Any],
) -> None:
    registered(register_scheduler, "mutating", Recorded, needs_mutations=True)
    built = make_scheduler({"type": "mutating", "hyperparam_mutations": MUTATIONS}, 3)
    assert isinstance(built.options["hyperparam_mutations"]["learning_rate"], Float)
    with pytest.raises(ConfigError) as info:
        make_scheduler("mutating", 3)
    assert info.value.key_path == "tune.scheduler.hyperparam_mutations"
    assert "mutating needs 'hyperparam_mutations'" in str(info.value)


def test_a_registered_factory_that_builds_no_scheduler_is_refused(
    registered: Callable[..., Any],
) -> None:
    registered(register_scheduler, "wrong", lambda options, budget: object())
    with pytest.raises(ConfigError) as info:
        make_scheduler("wrong", 3)
    assert info.value.key_path == "tune.scheduler"
    assert "scheduler 'wrong' built object, not a Ray Tune scheduler" in str(info.value)


def test_a_search_alg_registered_from_outside(registered: Callable[..., Any]) -> None:
    calls: list[tuple[Any, ...]] = []

    def factory(options: dict[str, Any], seed: int | None, concurrency: int | None) -> Any:
        calls.append((options, seed, concurrency))
        from ray.tune.search.optuna import OptunaSearch

        return OptunaSearch()

    registered(register_search_alg, "mine", factory)
    built = make_search_alg({"type": "mine", "depth": 2}, 5, 3)
    assert calls == [({"depth": 2}, 5, 3)]
    assert isinstance(built, ConcurrencyLimiter)  # it does not cap itself: pipetune wraps it
    assert built.max_concurrent == 3
    registered(register_search_alg, "mine", factory, caps_concurrency=True)
    assert not isinstance(make_search_alg("mine", 5, 3), ConcurrencyLimiter)


def test_a_registered_entry_names_its_missing_package(registered: Callable[..., Any]) -> None:
    missing = "pipetune_no_such_package"
    assert importlib.util.find_spec(missing) is None
    registered(register_search_alg, "needy", lambda *a: None, packages=(missing,))
    registered(register_scheduler, "needy", Recorded, packages=(missing,), extra="needy")
    with pytest.raises(ConfigError) as info:
        make_search_alg("needy", None, None)
    assert info.value.key_path == "tune.search_alg"
    assert f"search algorithm 'needy' needs the package '{missing}'" in str(info.value)
    assert f"pip install {missing}" in str(info.value)
    with pytest.raises(ConfigError) as info:
        make_scheduler("needy", 2)
    assert info.value.key_path == "tune.scheduler"
    assert f"scheduler 'needy' needs the package '{missing}'" in str(info.value)
    assert "pip install 'pipetune[needy]'" in str(info.value)


@pytest.mark.parametrize("name", ["", "  ", "my.scheduler"])
def test_a_registered_name_is_one_word(name: str) -> None:
    with pytest.raises(ValueError, match="a registered name is a word without dots"):
        register_scheduler(name, Recorded)


# -- did you mean -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "make", "suggestion"),
    [
        ("ashaa", lambda s: make_scheduler(s, 2), "did you mean 'asha'?"),
        ({"type": "hyper_band"}, lambda s: make_scheduler(s, 2), "did you mean 'hyperband'?"),
        ("optunaa", lambda s: make_search_alg(s, None, None), "did you mean 'optuna'?"),
        ("median", lambda s: make_scheduler(s, 2), "did you mean 'median_stopping'?"),
        ("bayesopt", lambda s: make_search_alg(s, None, None), "did you mean 'hyperopt'?"),
    ],
)
def test_a_misspelt_name_gets_a_suggestion(spec: Any, make: Any, suggestion: str) -> None:
    with pytest.raises(ConfigError) as info:
        make(spec)
    assert info.value.hint == suggestion
    assert str(info.value).endswith(f"({suggestion})")


def test_a_name_like_no_other_names_class_path() -> None:
    with pytest.raises(ConfigError) as info:
        make_scheduler("zzz", 2)
    assert info.value.hint == (
        "give one of these names, or a class of your own with tune.scheduler.class_path"
    )


def test_a_registered_name_is_listed_and_suggested(registered: Callable[..., Any]) -> None:
    registered(register_scheduler, "successive_halving", Recorded)
    with pytest.raises(ConfigError) as info:
        make_scheduler("successive_halvin", 2)
    assert "valid: fifo, asha, hyperband, median_stopping, pbt, successive_halving" in str(
        info.value
    )
    assert info.value.hint == "did you mean 'successive_halving'?"


# -- the names wherever they are listed ---------------------------------------------------------


def _tune_help() -> str:
    from pipetune.cli.main import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return " ".join(commands.choices["tune"].format_help().split())


def test_cli_help_lists_the_registries(registered: Callable[..., Any]) -> None:
    text = _tune_help()
    assert "fifo, asha, hyperband, median_stopping, pbt (tune.scheduler)" in text
    assert "random, grid, optuna, hyperopt, bohb (tune.search_alg)" in text
    registered(register_scheduler, "recorded", Recorded)
    registered(register_search_alg, "mine", lambda *a: None)
    text = _tune_help()
    assert "pbt, recorded (tune.scheduler)" in text
    assert "bohb, mine (tune.search_alg)" in text


@pytest.fixture
def gen_reference() -> Iterator[Any]:
    sys.path.insert(0, str(REPO / "docs"))
    try:
        import gen_reference

        yield gen_reference
    finally:
        sys.path.remove(str(REPO / "docs"))


def test_the_reference_lists_the_registries(
    registered: Callable[..., Any], gen_reference: Any
) -> None:
    assert "| `pbt` | `PopulationBasedTraining` |" in gen_reference._schedulers()
    assert "| `bohb` | `TuneBOHB` |" in gen_reference._search_algs()
    registered(register_scheduler, "recorded", Recorded, ray_class="Recorded", summary="notes")
    assert gen_reference._schedulers().endswith("| `recorded` | `Recorded` | notes |")
    registered(register_search_alg, "bare", lambda *a: None)
    with pytest.raises(ValueError, match=r"search algorithms \['bare'\] have no ray_class"):
        gen_reference._search_algs()


# -- a user's own class ---------------------------------------------------------------------

USER_MODULE = """
from ray.tune.schedulers import FIFOScheduler, PopulationBasedTraining
from ray.tune.search import BasicVariantGenerator


class Patient(FIFOScheduler):
    def __init__(self, patience: int = 1):
        super().__init__()
        self.patience = patience


class Exploiting(FIFOScheduler):
    keeps_all_checkpoints = True


class MyPBT(PopulationBasedTraining):
    pass


class Searching(BasicVariantGenerator):
    def __init__(self, depth: int = 0):
        super().__init__()
        self.depth = depth


class NotAScheduler:
    pass
"""


@pytest.fixture
def user(make_module: Callable[..., str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.syspath_prepend(str(tmp_path))
    return make_module(USER_MODULE, tmp_path)


def test_a_scheduler_by_class_path(user: str) -> None:
    spec = {"class_path": f"{user}.Patient", "init_args": {"patience": 4}}
    built = make_scheduler(spec, 3)
    assert type(built).__name__ == "Patient"
    assert built.patience == 4
    entry = scheduler_entry(spec)
    assert entry.name == f"{user}.Patient"
    assert entry.keeps_all_checkpoints is False
    built = make_scheduler({"_target_": f"{user}.Patient", "patience": 2}, 3)
    assert built.patience == 2


def test_a_class_says_whether_it_keeps_all_checkpoints(user: str) -> None:
    assert scheduler_entry({"class_path": f"{user}.Exploiting"}).keeps_all_checkpoints
    assert scheduler_entry({"_target_": f"{user}.MyPBT"}).keeps_all_checkpoints  # a PBT


def test_a_search_alg_by_class_path(user: str) -> None:
    spec = {"class_path": f"{user}.Searching", "init_args": {"depth": 3}}
    built = make_search_alg(spec, None, None)
    assert type(built).__name__ == "Searching"
    assert built.depth == 3
    assert search_alg_name(spec) == f"{user}.Searching"
    with pytest.raises(ConfigError) as info:  # a SearchAlgorithm, not a Searcher: no cap
        make_search_alg(spec, None, 2)
    assert info.value.key_path == "tune.max_concurrent_trials"
    assert "max_concurrent_trials cannot cap" in str(info.value)


@pytest.mark.parametrize(
    ("spec", "key_path", "words"),
    [
        (
            {"class_path": "os.system"},
            "tune.scheduler.class_path",
            "'os.system' can run commands or code",
        ),
        ({"_target_": "shutil.rmtree"}, "tune.scheduler._target_", "'shutil.rmtree' can run"),
        (
            {"class_path": "ray.tune.schedulers.FIFOScheduler"},
            "tune.scheduler.class_path",
            "is a class of no allowed kind",
        ),
        ({"class_path": "no_such_module_x.Thing"}, "tune.scheduler.class_path", "cannot import"),
        (
            {"class_path": "{user}.Patient", "init_args": {"patients": 1}},
            "tune.scheduler.init_args.patients",
            "wrong arguments for",
        ),
        (
            {"class_path": "{user}.NotAScheduler"},
            "tune.scheduler",
            "built NotAScheduler, not a Ray Tune scheduler",
        ),
        (
            {"class_path": "{user}.Patient", "type": "asha"},
            "tune.scheduler.type",
            "unexpected key(s) ['type'] beside class_path",
        ),
    ],
)
def test_a_refused_scheduler_class_is_located(
    user: str, spec: dict[str, Any], key_path: str, words: str
) -> None:
    spec = {k: v.replace("{user}", user) if isinstance(v, str) else v for k, v in spec.items()}
    with pytest.raises(ConfigError) as info:
        make_scheduler(spec, 2)
    assert info.value.key_path == key_path
    assert words in str(info.value)


def test_a_refused_class_path_in_a_config_is_one_located_line(tmp_path: Path) -> None:
    """os.system as the scheduler: refused with the file, line and key path, before any
    Ray starts and before os.system could ever be called."""
    valid = yaml.safe_load((REPO / "tests" / "corpus" / "valid.yaml").read_text())
    touched = tmp_path / "touched"
    valid["tune"]["scheduler"] = {
        "class_path": "os.system",
        "init_args": {"command": f"touch {touched}"},
    }
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(valid, sort_keys=False))
    line = config.read_text().splitlines().index("    class_path: os.system") + 1
    with pytest.raises(ConfigError) as info:
        Experiment(config).validate()
    text = str(info.value)
    assert text.startswith(f"{config}:{line} at 'tune.scheduler.class_path': 'os.system' can run")
    assert "\n" not in text
    assert not touched.exists()
