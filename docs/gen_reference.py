"""Generated reference sections of the docs: settings tables and the CLI's own ``--help``.

MkDocs runs this file as a hook (``hooks:`` in mkdocs.yml). A page holds a marker such as
``<!-- generated:tune-settings -->`` and the hook replaces it with Markdown built from the
code itself (the pydantic models, the registries, ``build_parser()``), so the reference
cannot drift from the code. An unknown marker, or a registry entry without a description,
fails the build.

``python docs/gen_reference.py NAME`` prints one section, for a look without building.
"""

from __future__ import annotations

import argparse
import enum
import json
import os
import re
import sys
import types
import typing
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

MARKER = re.compile(r"<!--\s*generated:([a-z0-9-]+)\s*-->")

# -- settings tables ----------------------------------------------------------------------

_SCALARS = {int: "int", float: "float", str: "str", bool: "bool", type(None): "null"}


def type_name(annotation: Any) -> str:
    """A YAML reader's name for a field type: ``int``, ``str | null``, ``[float, float]``."""
    if annotation in _SCALARS:
        return _SCALARS[annotation]
    if annotation is typing.Any:
        return "any"
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(a) for a in args)
    if origin is typing.Literal:
        return " | ".join(json.dumps(a) for a in args)
    if origin is dict:
        return f"{{{type_name(args[0])}: {type_name(args[1])}}}" if args else "{str: any}"
    if origin is list:
        return f"list of {type_name(args[0])}" if args else "list"
    if origin is tuple:
        return "[" + ", ".join(type_name(a) for a in args) + "]"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return " | ".join(json.dumps(m.value) for m in annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def yaml_value(value: Any) -> str:
    """A default as it would be written in YAML."""
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _constraints(metadata: list[Any]) -> str:
    words = []
    for item in metadata:
        for attribute, sign in (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤")):
            bound = getattr(item, attribute, None)
            if bound is not None:
                words.append(f"{sign} {bound}")
    return ", ".join(words)


_BRACES = re.compile(r"(\{[^{}]*\})")


def _cell(text: str) -> str:
    """Table-safe text: ``{...}`` in code (attr_list would eat it), no pipes or newlines."""
    text = _BRACES.sub(r"`\1`", text.replace("\n", " "))
    return text.replace("|", "\\|")


# Models that are the type of a field, and the heading of their table on the page.
MODEL_ANCHORS = {"Resources": "resources_per_trial", "Constraint": "constraints"}


def _code_type(annotation: Any) -> str:
    """``str`` or ``null``: each alternative in its own code span (pipes break tables)."""
    parts = []
    for part in type_name(annotation).split(" | "):
        anchor = MODEL_ANCHORS.get(part)
        parts.append(f"[`{part}`](#{anchor})" if anchor else f"`{part}`")
    return " or ".join(parts)


def settings_table(model: type[BaseModel], prefix: str) -> str:
    """One row per field: key, type (and bounds), default, description."""
    rows = ["| key | type | default | description |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        kind = _code_type(field.annotation)
        bounds = _constraints(field.metadata)
        if bounds:
            kind += f" ({bounds})"
        if field.default_factory is not None:
            default = yaml_value(field.default_factory())  # type: ignore[call-arg]
        elif field.is_required():
            default = "required"
        else:
            default = yaml_value(field.default)
        description = field.description or ""
        rows.append(f"| `{prefix}{name}` | {kind} | `{default}` | {_cell(description)} |")
    extra = model.model_config.get("extra")
    note = "\n\nAny other key is an error that lists the valid ones." if extra == "forbid" else ""
    return "\n".join(rows) + note


def _tune_settings() -> str:
    from pipetune.tune import TuneSettings

    return settings_table(TuneSettings, "")


def _resources() -> str:
    from pipetune.tune import Resources

    return settings_table(Resources, "")


def _constraints_table() -> str:
    from pipetune.tune import Constraint

    return settings_table(Constraint, "")


def _training() -> str:
    from pipetune.torch import TrainingConfiguration

    return settings_table(TrainingConfiguration, "")


def _slurm() -> str:
    try:
        from pipetune.cluster import SlurmSettings
    except ImportError:
        return "*This version of pipetune has no `slurm:` section.*"
    return settings_table(SlurmSettings, "")


# -- search spaces, schedulers, search algorithms, optimizers, losses ---------------------

_SAMPLE_FIELDS: dict[str, Any] = {
    "lower": 1,
    "upper": 10,
    "q": 1,
    "base": 10,
    "categories": [1, 2],
    "values": [1, 2],
    "mean": 0.0,
    "sd": 1.0,
}


def _space_types() -> str:
    """The registry of search-space types, with each field found required or optional."""
    import warnings

    from ray import tune

    from pipetune.errors import ConfigError
    from pipetune.tune import SpaceType, build_search_space
    from pipetune.tune._space import _BUILDERS

    rows = ["| type | required fields | optional fields | Ray Tune function |", "|---|---|---|---|"]
    for kind in SpaceType:
        allowed, _ = _BUILDERS[kind]
        unknown = set(allowed) - set(_SAMPLE_FIELDS)
        if unknown:
            raise ValueError(f"docs/gen_reference.py has no sample value for {sorted(unknown)}")
        full = {"type": kind.value, **{f: _SAMPLE_FIELDS[f] for f in allowed}}
        required, optional = [], []
        with warnings.catch_warnings():  # Ray warns that it ignores `base`
            warnings.simplefilter("ignore")
            build_search_space({"key": full})  # the samples must be valid as a whole
            for name in sorted(allowed):
                try:
                    build_search_space({"key": {k: v for k, v in full.items() if k != name}})
                except ConfigError:
                    required.append(name)
                else:
                    optional.append(name)
        if not hasattr(tune, kind.value):
            raise ValueError(f"ray.tune has no function {kind.value!r}")
        rows.append(
            f"| `{kind.value}` | {', '.join(f'`{f}`' for f in required) or '-'} | "
            f"{', '.join(f'`{f}`' for f in optional) or '-'} | `tune.{kind.value}` |"
        )
    return "\n".join(rows)


def _registry_table(registry: dict[str, Any], what: str) -> str:
    """One row per registry entry, in the words the entry carries; an entry without them
    (``ray_class`` and ``summary`` of ``register_scheduler``/``register_search_alg``) fails
    the build."""
    bare = [name for name, entry in registry.items() if not (entry.ray_class and entry.summary)]
    if bare:
        raise ValueError(
            f"the {what} {bare} have no ray_class or summary: give them where they are registered"
        )
    rows = ["| name | Ray Tune class | what it does |", "|---|---|---|"]
    for name, entry in registry.items():
        rows.append(f"| `{name}` | `{entry.ray_class}` | {entry.summary} |")
    return "\n".join(rows)


def _schedulers() -> str:
    from pipetune.tune import SCHEDULERS

    return _registry_table(SCHEDULERS, "schedulers")


def _search_algs() -> str:
    from pipetune.tune import SEARCH_ALGS

    return _registry_table(SEARCH_ALGS, "search algorithms")


def _optimizers() -> str:
    from pipetune.torch import OPTIMIZERS

    return ", ".join(f"`{name}`" for name in OPTIMIZERS)


def _losses() -> str:
    from pipetune.torch import LOSSES

    return ", ".join(
        f"`{name}` (`{getattr(cls, '__name__', cls)}`)" for name, cls in LOSSES.items()
    )


# -- the command line ---------------------------------------------------------------------

HELP_COLUMNS = "80"  # argparse wraps at 78 columns: the width of a code block


def _help(parser: argparse.ArgumentParser) -> str:
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = HELP_COLUMNS
    try:
        return parser.format_help().rstrip()
    finally:
        if saved is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = saved


def _cli() -> str:
    from pipetune.cli.main import build_parser

    parser = build_parser()
    sections = ["## `pipetune`", "", "```text", _help(parser), "```"]
    _subcommands(parser, "pipetune", sections)
    return "\n".join(sections)


def _subcommands(parser: argparse.ArgumentParser, prefix: str, sections: list[str]) -> None:
    """A section per sub-command of ``parser``, and of theirs (``pipetune ray start``)."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        summaries = {a.dest: a.help for a in action._choices_actions}
        for name, sub in action.choices.items():
            sections += ["", f"## `{prefix} {name}`", ""]
            summary = summaries.get(name)
            if summary:
                sections += [summary[0].upper() + summary[1:] + ".", ""]
            sections += ["```text", _help(sub), "```"]
            _subcommands(sub, f"{prefix} {name}", sections)


SECTIONS: dict[str, Callable[[], str]] = {
    "tune-settings": _tune_settings,
    "resources": _resources,
    "constraints": _constraints_table,
    "space-types": _space_types,
    "schedulers": _schedulers,
    "search-algs": _search_algs,
    "training-configuration": _training,
    "optimizers": _optimizers,
    "losses": _losses,
    "slurm-settings": _slurm,
    "cli": _cli,
}


def expand(markdown: str, where: str = "") -> str:
    """Replace every ``<!-- generated:NAME -->`` marker in ``markdown``."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in SECTIONS:
            raise ValueError(
                f"{where}: unknown generated section {name!r}; known: {', '.join(SECTIONS)}"
            )
        return SECTIONS[name]()

    return MARKER.sub(replace, markdown)


def on_page_markdown(markdown: str, *, page: Any, config: Any, files: Any) -> str:
    """MkDocs hook: expand the generated sections of a page."""
    if "generated:" not in markdown:
        return markdown
    from mkdocs.exceptions import PluginError

    try:
        return expand(markdown, page.file.src_path)
    except Exception as exc:  # any failure here must fail the build, with its reason
        raise PluginError(f"docs/gen_reference.py: {exc}") from exc


# Sphinx roles in docstrings (``:class:`X```) mean nothing to mkdocstrings: keep the code.
_SPHINX_ROLE = re.compile(r":(?:attr|class|data|exc|func|meth|mod|obj):(?=<code)")


def on_page_content(html: str, *, page: Any, config: Any, files: Any) -> str:
    """MkDocs hook: drop the Sphinx role prefixes that the API pages would show."""
    return _SPHINX_ROLE.sub("", html)


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in SECTIONS:
        sys.exit(f"usage: python docs/gen_reference.py {{{','.join(SECTIONS)}}}")
    print(SECTIONS[sys.argv[1]]())
