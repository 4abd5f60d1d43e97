"""Display names of searched keys, the one rule that tune's table, the report and its plots
share: a search-space entry's ``label:``, else the shortest unique dotted suffix of its key.

``training_pipeline.init_args.steps.2.init_args.hidden`` reads ``hidden``; where two keys
end alike, the suffix grows (``model.hidden``). ``init_args`` and list indices are skipped
while a suffix without them is unique; a suffix is taken only when no other key ends with it,
so every name is unique. A folder keeps its search space in the saved config, so a report
reads the same names as the run printed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

#: the search-space field that names a key in tables and plots
LABEL = "label"
#: search-space types whose values are categories (plots give them categorical axes)
CATEGORICAL_TYPES = {"choice": "categories", "grid_search": "values"}

_SKIPPED = "init_args"


def space_labels(space: Mapping[str, Any] | None) -> dict[str, str]:
    """Key → its ``label:`` for the entries of a YAML search space that give one."""
    return {
        str(key): spec[LABEL]
        for key, spec in (space or {}).items()
        if isinstance(spec, Mapping) and isinstance(spec.get(LABEL), str) and spec[LABEL]
    }


def space_categories(space: Mapping[str, Any] | None) -> dict[str, list[Any]]:
    """Key → its categories, for the choice and grid-search entries of a YAML search space."""
    found: dict[str, list[Any]] = {}
    for key, spec in (space or {}).items():
        if not isinstance(spec, Mapping):
            continue
        field = CATEGORICAL_TYPES.get(str(spec.get("type", "")).lower())
        if field is None and "grid_search" in spec:  # Ray's own grid, passed from Python
            field = "grid_search"
        values = spec.get(field) if field else None
        if isinstance(values, list) and values:
            found[str(key)] = list(values)
    return found


def _tiers(key: str) -> list[list[str]]:
    """The key's parts, most readable first: without init_args and indices, without
    init_args, as written."""
    parts = key.split(".")
    bare = [p for p in parts if p != _SKIPPED] or parts
    readable = [p for p in bare if not p.isdigit()] or bare
    return [readable, bare, parts]


def _ends_with(parts: list[str], suffix: list[str]) -> bool:
    return len(parts) >= len(suffix) and parts[len(parts) - len(suffix) :] == suffix


def display_names(keys: Iterable[str], labels: Mapping[str, str] | None = None) -> dict[str, str]:
    """Key → its display name: its label, else its shortest unique dotted suffix. Names are
    unique; a label that repeats another name is ignored (the search space refuses one)."""
    keys = list(dict.fromkeys(str(k) for k in keys))
    given = {k: labels[k] for k in keys if labels and labels.get(k)}
    counts: dict[str, int] = {}
    for name in given.values():
        counts[name] = counts.get(name, 0) + 1
    names = {k: n for k, n in given.items() if counts[n] == 1 and (n == k or n not in keys)}
    taken, labelled = set(names.values()), set(names)
    tiers = {k: _tiers(k) for k in keys}
    for key in keys:
        if key in names:
            continue
        names[key] = _suffix(key, tiers, labelled, taken) or key
        taken.add(names[key])
    return {key: names[key] for key in keys}


def _suffix(
    key: str, tiers: dict[str, list[list[str]]], labelled: set[str], taken: set[str]
) -> str | None:
    """The shortest suffix of ``key`` that no other unlabelled key ends with (in the same
    tier), and that starts with a name rather than an index (``steps.1.lr``, not ``1.lr``)."""
    others = [k for k in tiers if k != key and k not in labelled]
    for level, parts in enumerate(tiers[key]):
        for length in range(1, len(parts) + 1):
            suffix = parts[-length:]
            if suffix[0].isdigit() and length < len(parts):
                continue
            name = ".".join(suffix)
            clash = any(_ends_with(tiers[other][level], suffix) for other in others)
            if not clash and name not in taken:
                return name
    return None
