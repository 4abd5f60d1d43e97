"""Schedulers and search algorithms: two registries of named entries, or a user's own class.

``scheduler: NAME`` (or ``{type: NAME, ...}``) looks NAME up in ``SCHEDULERS``;
``search_alg: NAME`` in ``SEARCH_ALGS``. Each entry carries what its algorithm needs from
pipetune (all checkpoints kept, a mutation space built from YAML, optional packages), so
nothing else names an algorithm: the settings' errors, the CLI help and the generated
reference read the registries. ``register_scheduler`` and ``register_search_alg`` add more.

``{class_path: ..., init_args: ...}`` (or ``{_target_: ..., ...}``) builds a class of the
user's through the config's instantiation policy, errors located at ``tune.scheduler`` or
``tune.search_alg``.
"""

from __future__ import annotations

import difflib
import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from omegaconf import OmegaConf

from pipetune.config import ConfigSource, build, is_declaration, locate
from pipetune.errors import ConfigError, did_you_mean

Spec = str | Mapping[str, Any] | None

#: (options, iteration budget) → a Ray Tune TrialScheduler
SchedulerFactory = Callable[[dict[str, Any], int], Any]
#: (options, seed, max_concurrent_trials) → a Ray Tune Searcher or SearchAlgorithm; an
#: entry that takes SearchInputs gets them as a fourth argument
SearchAlgFactory = Callable[..., Any]


@dataclass(frozen=True)
class SearchInputs:
    """What pipetune hands a search algorithm beside its YAML options."""

    #: the searched keys: their domains, conditions and order (pipetune.tune._space)
    space: Any
    #: the objective, or the list of them of a multi-objective search
    metric: str | list[str]
    mode: str | list[str]
    #: ``tune.points_to_evaluate``: run first, in order
    points_to_evaluate: list[dict[str, Any]] = field(default_factory=list)
    #: ``tune.warm_start``: (values, metric) of each finished trial of an earlier experiment
    evaluated: list[tuple[dict[str, Any], float]] = field(default_factory=list)
    #: prefix of the names of the searched keys ("train_loop_config/" for DDP trials)
    prefix: str = ""
    #: ``tune.constraints`` (pipetune.tune._settings.Constraint), for a constrained sampler
    constraints: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class _Entry:
    #: the name in the YAML (lower case)
    name: str
    #: builds the Ray Tune object from the other keys of the mapping (see the subclasses)
    factory: Callable[..., Any]
    #: the Ray Tune class it builds, for the reference
    ray_class: str = ""
    #: works with several objectives (``tune.metric: [a, b]``)
    multi_objective: bool = False
    #: what it does, one sentence for the reference
    summary: str = ""
    #: importable packages it needs; a missing one is a ConfigError before anything is built
    packages: tuple[str, ...] = ()
    #: the pipetune extra that installs them (``pip install 'pipetune[EXTRA]'``)
    extra: str | None = None


@dataclass(frozen=True)
class SchedulerEntry(_Entry):
    """A scheduler name: its factory and what it needs from the experiment."""

    #: trials continue from other trials' checkpoints (PBT): Tune keeps every checkpoint
    keeps_all_checkpoints: bool = False
    #: needs ``hyperparam_mutations``, a search space in YAML, handed to the factory built
    needs_mutations: bool = False


@dataclass(frozen=True)
class SearchAlgEntry(_Entry):
    """A search algorithm name: its factory and what it needs."""

    #: the factory applies ``max_concurrent_trials`` itself; otherwise pipetune wraps the
    #: searcher in Ray's ConcurrencyLimiter
    caps_concurrency: bool = False
    #: searches entries with ``when:`` (through the param space, or ``owns_space``)
    conditional: bool = False
    #: runs ``tune.points_to_evaluate`` first
    points_to_evaluate: bool = False
    #: learns from ``tune.warm_start``'s earlier trials
    warm_start: bool = False
    #: builds its space from SearchInputs.space: the Tuner's param space holds no searched key
    owns_space: bool = False

    @property
    def takes_inputs(self) -> bool:
        """Whether the factory takes SearchInputs as a fourth argument."""
        return self.conditional or self.points_to_evaluate or self.warm_start or self.owns_space


#: Scheduler name in the YAML → its entry. Extend with ``register_scheduler``.
SCHEDULERS: dict[str, SchedulerEntry] = {}
#: Search algorithm name in the YAML → its entry. Extend with ``register_search_alg``.
SEARCH_ALGS: dict[str, SearchAlgEntry] = {}


def _name(name: str) -> str:
    if not isinstance(name, str) or not name.strip() or "." in name:
        raise ValueError(f"a registered name is a word without dots, got {name!r}")
    return name.strip().lower()


def register_scheduler(
    name: str,
    factory: SchedulerFactory,
    *,
    keeps_all_checkpoints: bool = False,
    needs_mutations: bool = False,
    multi_objective: bool = False,
    packages: tuple[str, ...] = (),
    extra: str | None = None,
    ray_class: str = "",
    summary: str = "",
) -> SchedulerEntry:
    """Make ``scheduler: NAME`` (and ``--scheduler NAME``) available in configs.

    ``factory(options, budget)`` gets the other keys of ``{type: NAME, ...}`` and the
    iteration budget (``stop.training_iteration``, else the trainer's epochs, else 100).
    """
    entry = SchedulerEntry(
        _name(name),
        factory,
        ray_class=ray_class,
        summary=summary,
        packages=tuple(packages),
        extra=extra,
        keeps_all_checkpoints=keeps_all_checkpoints,
        needs_mutations=needs_mutations,
        multi_objective=multi_objective,
    )
    SCHEDULERS[entry.name] = entry
    return entry


def register_search_alg(
    name: str,
    factory: SearchAlgFactory,
    *,
    caps_concurrency: bool = False,
    conditional: bool = False,
    points_to_evaluate: bool = False,
    warm_start: bool = False,
    owns_space: bool = False,
    multi_objective: bool = False,
    packages: tuple[str, ...] = (),
    extra: str | None = None,
    ray_class: str = "",
    summary: str = "",
) -> SearchAlgEntry:
    """Make ``search_alg: NAME`` (and ``--search-alg NAME``) available in configs.

    ``factory(options, seed, concurrency)`` gets the other keys of ``{type: NAME, ...}``,
    ``tune.seed`` and ``tune.max_concurrent_trials``. An entry that says it handles
    conditions, points to evaluate, a warm start or its own space gets a fourth argument,
    the :class:`SearchInputs`; pipetune refuses those settings for any other entry.
    """
    entry = SearchAlgEntry(
        _name(name),
        factory,
        ray_class=ray_class,
        summary=summary,
        packages=tuple(packages),
        extra=extra,
        caps_concurrency=caps_concurrency,
        conditional=conditional,
        points_to_evaluate=points_to_evaluate,
        warm_start=warm_start,
        owns_space=owns_space,
        multi_objective=multi_objective,
    )
    SEARCH_ALGS[entry.name] = entry
    return entry


# -- the built-in schedulers ------------------------------------------------------------------


def _fifo(options: dict[str, Any], budget: int) -> Any:
    from ray.tune.schedulers import FIFOScheduler

    return FIFOScheduler()


def _asha(options: dict[str, Any], budget: int) -> Any:
    from ray.tune.schedulers import ASHAScheduler

    options.setdefault("max_t", budget)
    options.setdefault("grace_period", 1)
    _check_grace_period(options, budget)
    return ASHAScheduler(time_attr="training_iteration", **options)


def _check_grace_period(options: dict[str, Any], budget: int) -> None:
    """Ray asserts ``grace_period <= max_t`` (a traceback); say which budget it exceeds."""
    grace, max_t = options["grace_period"], options["max_t"]
    for name, value in (("grace_period", grace), ("max_t", max_t)):
        if not isinstance(value, int | float) or isinstance(value, bool) or not value >= 1:
            raise ConfigError(
                f"{name} must be a number of iterations of at least 1, got {value!r}",
                key_path=f"tune.scheduler.{name}",
            )
    if grace > max_t:
        source = (
            "max_t"
            if max_t != budget
            else "the training budget: tune.stop.training_iteration, or the trainer's epochs"
        )
        raise ConfigError(
            f"grace_period={grace:g} is more than max_t={max_t:g} ({source}); "
            "no trial could ever be stopped early",
            key_path="tune.scheduler.grace_period",
            hint=f"lower grace_period to at most {max_t:g}, or train for more iterations",
        )


def _hyperband(options: dict[str, Any], budget: int) -> Any:
    from pipetune.tune._hyperband import HyperBand  # Ray's, minus its paused-forever trials

    options.setdefault("max_t", budget)
    return HyperBand(time_attr="training_iteration", **options)


def _median(options: dict[str, Any], budget: int) -> Any:
    from ray.tune.schedulers import MedianStoppingRule

    options.setdefault("grace_period", 1)
    options.setdefault("min_samples_required", 2)
    return MedianStoppingRule(time_attr="training_iteration", **options)


def _pbt(options: dict[str, Any], budget: int) -> Any:
    from ray.tune.schedulers import PopulationBasedTraining

    options.setdefault("perturbation_interval", 1)
    return PopulationBasedTraining(time_attr="training_iteration", **options)


register_scheduler(
    "fifo",
    _fifo,
    multi_objective=True,  # it compares no trials
    ray_class="FIFOScheduler",
    summary="runs every trial to its end (the default with several metrics)",
)
register_scheduler(
    "asha",
    _asha,
    ray_class="ASHAScheduler",
    summary="stops the worst trials at rungs (1, 2, 4, ... iterations with "
    "`reduction_factor: 2`); `grace_period: 1` and `max_t` = the iteration budget unless given",
)
register_scheduler(
    "hyperband",
    _hyperband,
    ray_class="HyperBandScheduler",
    summary="synchronous successive halving in brackets; `max_t` = the iteration budget",
)
register_scheduler(
    "median_stopping",
    _median,
    ray_class="MedianStoppingRule",
    summary="stops a trial that is worse than the median of the others at the same "
    "iteration; `grace_period: 1`, `min_samples_required: 2` unless given",
)
register_scheduler(
    "pbt",
    _pbt,
    keeps_all_checkpoints=True,  # PBT exploits other trials' checkpoints
    needs_mutations=True,
    ray_class="PopulationBasedTraining",
    summary="every `perturbation_interval` (default 1) iterations, poor trials continue from "
    "a good trial's checkpoint with perturbed values; needs `hyperparam_mutations`",
)


# -- the built-in search algorithms -----------------------------------------------------------


def _random(
    options: dict[str, Any], seed: int | None, concurrency: int | None, inputs: SearchInputs
) -> Any:
    from ray.tune.search import BasicVariantGenerator

    if inputs.points_to_evaluate:
        options["points_to_evaluate"] = [dict(p) for p in inputs.points_to_evaluate]
    # Tune ignores TuneConfig.max_concurrent_trials for a search_alg that is not a Searcher.
    return BasicVariantGenerator(random_state=seed, max_concurrent=concurrency or 0, **options)


def _optuna(
    options: dict[str, Any], seed: int | None, concurrency: int | None, inputs: SearchInputs
) -> Any:
    from pipetune.tune._optuna import make_optuna

    return make_optuna(options, seed, concurrency, inputs)


def _hyperopt(options: dict[str, Any], seed: int | None, concurrency: int | None) -> Any:
    from ray.tune.search.hyperopt import HyperOptSearch

    return HyperOptSearch(random_state_seed=seed, **options)


def _bohb(options: dict[str, Any], seed: int | None, concurrency: int | None) -> Any:
    from ray.tune.search.bohb import TuneBOHB

    return TuneBOHB(seed=seed, **options)


register_search_alg(
    "random",
    _random,
    multi_objective=True,  # samples without looking at results
    caps_concurrency=True,
    conditional=True,
    points_to_evaluate=True,
    ray_class="BasicVariantGenerator",
    summary="independent random samples; `seed` makes them repeatable",
)
register_search_alg(
    "grid",
    _random,  # Ray's variant generator expands grid_search values exhaustively
    multi_objective=True,
    caps_concurrency=True,
    conditional=True,  # a grid over conditional keys is expanded into its distinct points
    points_to_evaluate=True,
    ray_class="BasicVariantGenerator",
    summary="the same generator: every combination of the `grid_search` values, "
    "`num_samples` times each",
)
register_search_alg(
    "optuna",
    _optuna,
    conditional=True,
    points_to_evaluate=True,
    warm_start=True,
    owns_space=True,  # a define-by-run function: Optuna's way to search conditions
    multi_objective=True,  # OptunaSearch takes lists of metrics and modes
    packages=("optuna",),
    ray_class="OptunaSearch",
    summary="TPE (`sampler: nsga2` for NSGA-II); the other options go to the sampler "
    "(Optuna's `TPESampler` or `NSGAIISampler`); both search several metrics and take "
    "`tune.constraints`",
)
register_search_alg(
    "hyperopt",
    _hyperopt,
    packages=("hyperopt",),
    extra="hyperopt",
    ray_class="HyperOptSearch",
    summary="TPE; needs `pip install 'pipetune[hyperopt]'`",
)
register_search_alg(
    "bohb",
    _bohb,
    packages=("hpbandster", "ConfigSpace"),
    extra="bohb",
    ray_class="TuneBOHB",
    summary="BOHB; needs the packages `hpbandster` and `ConfigSpace`",
)


# -- looking an entry up -------------------------------------------------------------------

SCHEDULER_KEY = "tune.scheduler"
SEARCH_ALG_KEY = "tune.search_alg"


def _split(spec: Spec, default: str) -> tuple[str, dict[str, Any]]:
    if spec is None:
        return default, {}
    if isinstance(spec, str):
        return spec.lower(), {}
    options = dict(spec)
    kind = str(options.pop("type", default)).lower()
    return kind, options


E = TypeVar("E", SchedulerEntry, SearchAlgEntry)


def _lookup(registry: Mapping[str, E], kind: str, what: str, key_path: str) -> E:
    if kind in registry:
        return registry[kind]
    close = difflib.get_close_matches(kind, list(registry), n=3, cutoff=0.6)
    close += [n for n in registry if kind and n.startswith(kind) and n not in close]  # median
    raise ConfigError(
        f"unknown {what} {kind!r}; valid: {', '.join(registry)}",
        key_path=key_path,
        hint=did_you_mean(close)
        or f"give one of these names, or a class of your own with {key_path}.class_path",
    )


def _declared_target(spec: Mapping[str, Any]) -> tuple[str, str]:
    """(the dotted name, the key that holds it) of a ``class_path``/``_target_`` spec."""
    key = "class_path" if "class_path" in spec else "_target_"
    return str(spec[key]), key


def _source() -> ConfigSource:
    """A source without a file: the runner names the config file in its errors."""
    return ConfigSource(OmegaConf.create({}))


def _declared_class(spec: Mapping[str, Any], key_path: str) -> Any:
    key = _declared_target(spec)[1]
    return locate(_source(), spec[key], f"{key_path}.{key}")


def _subclass(cls: Any, module: str, name: str) -> bool:
    base = getattr(importlib.import_module(module), name)
    return isinstance(cls, type) and issubclass(cls, base)


def scheduler_entry(spec: Spec) -> SchedulerEntry:
    """The entry of a scheduler spec: its registry entry, or one for a user's own class
    (which keeps every checkpoint when it says ``keeps_all_checkpoints = True`` or is a
    PopulationBasedTraining)."""
    if is_declaration(spec):
        assert isinstance(spec, Mapping)
        cls = _declared_class(spec, SCHEDULER_KEY)
        keeps = getattr(cls, "keeps_all_checkpoints", None)
        if keeps is None:
            keeps = _subclass(cls, "ray.tune.schedulers", "PopulationBasedTraining")
        return SchedulerEntry(
            _declared_target(spec)[0],
            lambda options, budget: _build_declared(spec, SCHEDULER_KEY),
            ray_class=getattr(cls, "__name__", ""),
            keeps_all_checkpoints=bool(keeps),
            multi_objective=bool(getattr(cls, "multi_objective", False)),
        )
    return _lookup(SCHEDULERS, _split(spec, "fifo")[0], "scheduler", SCHEDULER_KEY)


def search_alg_entry(spec: Spec) -> SearchAlgEntry:
    """The entry of a search algorithm spec: its registry entry, or one for a user's class."""
    if is_declaration(spec):
        assert isinstance(spec, Mapping)
        cls = _declared_class(spec, SEARCH_ALG_KEY)
        return SearchAlgEntry(
            _declared_target(spec)[0],
            lambda options, seed, concurrency: _build_declared(spec, SEARCH_ALG_KEY),
            ray_class=getattr(cls, "__name__", ""),
            multi_objective=bool(getattr(cls, "multi_objective", False)),
        )
    return _lookup(SEARCH_ALGS, _split(spec, "random")[0], "search algorithm", SEARCH_ALG_KEY)


def _build_declared(spec: Mapping[str, Any], key_path: str) -> Any:
    return build(_source(), dict(spec), key_path)


def _check_packages(entry: SchedulerEntry | SearchAlgEntry, what: str, key_path: str) -> None:
    for package in entry.packages:
        if importlib.util.find_spec(package) is None:
            raise ConfigError(
                f"{what} '{entry.name}' needs the package '{package}'",
                key_path=key_path,
                hint=f"pip install 'pipetune[{entry.extra}]'"
                if entry.extra
                else f"pip install {package}",
            )


def _options(spec: Spec) -> dict[str, Any]:
    """The keys of the mapping that go to the factory (a copy: the settings stay as given)."""
    return {} if is_declaration(spec) else _split(spec, "")[1]


def _built(name: str, what: str, key_path: str, make: Callable[[], Any]) -> Any:
    """``make()``, with Ray's refusals of an option as ConfigErrors."""
    try:
        return make()
    except ConfigError:
        raise
    except (TypeError, ValueError, AssertionError) as exc:  # Ray asserts on some options
        raise ConfigError(f"bad option for {what} '{name}': {exc}", key_path=key_path) from None


def _is_instance(value: Any, module: str, *names: str) -> bool:
    loaded = importlib.import_module(module)
    return isinstance(value, tuple(getattr(loaded, n) for n in names))


def make_scheduler(spec: Spec, budget: int) -> Any:
    """The Ray Tune scheduler of ``tune.scheduler``; ``budget`` is the iteration budget."""
    entry = scheduler_entry(spec)
    _check_packages(entry, "scheduler", SCHEDULER_KEY)

    def make() -> Any:
        options = _options(spec)
        if entry.needs_mutations:
            from pipetune.tune._space import build_search_space

            mutations = options.pop("hyperparam_mutations", None)
            if not mutations:
                raise ConfigError(
                    f"{entry.name} needs 'hyperparam_mutations' (a search space of the keys "
                    "it may perturb)",
                    key_path=f"{SCHEDULER_KEY}.hyperparam_mutations",
                )
            options["hyperparam_mutations"] = dict(build_search_space(mutations, conditional=False))
        return entry.factory(options, budget)

    scheduler = _built(entry.name, "scheduler", SCHEDULER_KEY, make)
    if not _is_instance(scheduler, "ray.tune.schedulers", "TrialScheduler"):
        raise ConfigError(
            f"scheduler '{entry.name}' built {type(scheduler).__name__}, not a Ray Tune "
            "scheduler (ray.tune.schedulers.TrialScheduler)",
            key_path=SCHEDULER_KEY,
        )
    return scheduler


def make_search_alg(
    spec: Spec, seed: int | None, concurrency: int | None, inputs: SearchInputs | None = None
) -> Any:
    """The Ray Tune search algorithm of ``tune.search_alg``, capped at ``concurrency``.

    ``inputs``: the space and the points for an entry that takes them (``takes_inputs``);
    without them, it gets an empty space and no points.
    """
    entry = search_alg_entry(spec)
    _check_packages(entry, "search algorithm", SEARCH_ALG_KEY)
    given = inputs or SearchInputs(space=None, metric="", mode="min")

    def make() -> Any:
        if entry.takes_inputs:
            return entry.factory(_options(spec), seed, concurrency, given)
        return entry.factory(_options(spec), seed, concurrency)

    searcher = _built(entry.name, "search algorithm", SEARCH_ALG_KEY, make)
    if not _is_instance(searcher, "ray.tune.search", "Searcher", "SearchAlgorithm"):
        raise ConfigError(
            f"search algorithm '{entry.name}' built {type(searcher).__name__}, not a Ray Tune "
            "search algorithm (ray.tune.search.Searcher)",
            key_path=SEARCH_ALG_KEY,
        )
    if concurrency and not entry.caps_concurrency:
        from ray.tune.search import ConcurrencyLimiter, Searcher

        if not isinstance(searcher, Searcher):
            raise ConfigError(
                f"max_concurrent_trials cannot cap '{entry.name}': it is a "
                f"{type(searcher).__name__}, not a Searcher",
                key_path="tune.max_concurrent_trials",
                hint="apply the cap in the class itself, or remove max_concurrent_trials",
            )
        searcher = ConcurrencyLimiter(searcher, max_concurrent=concurrency)
    return searcher


def search_alg_name(spec: Spec) -> str:
    if is_declaration(spec):
        assert isinstance(spec, Mapping)
        return _declared_target(spec)[0]
    return _split(spec, "random")[0]
