"""The display names of searched keys: shortest unique suffix, labels, always unique."""

from __future__ import annotations

import itertools
import random

import pytest

from pipetune.experiment import display_names, space_categories, space_labels

STEP = "training_pipeline.init_args.steps.2.init_args"


def test_a_nested_key_reads_as_its_last_part() -> None:
    names = display_names([f"{STEP}.hidden", f"{STEP}.dropout", "learning_rate"])
    assert list(names.values()) == ["hidden", "dropout", "learning_rate"]


def test_an_ambiguous_last_part_grows_to_the_shortest_unique_suffix() -> None:
    keys = [f"{STEP}.model.init_args.hidden", f"{STEP}.head.init_args.hidden", f"{STEP}.lr"]
    assert display_names(keys) == {
        keys[0]: "model.hidden",  # init_args skipped while the name stays unique
        keys[1]: "head.hidden",
        keys[2]: "lr",
    }


def test_keys_that_differ_only_by_a_list_index_keep_the_index_after_a_name() -> None:
    keys = ["steps.1.init_args.lr", "steps.2.init_args.lr"]
    assert display_names(keys) == {keys[0]: "steps.1.lr", keys[1]: "steps.2.lr"}


def test_a_key_that_is_the_suffix_of_another_keeps_its_full_name() -> None:
    keys = ["learning_rate", "model.init_args.learning_rate"]
    assert display_names(keys) == {keys[0]: "learning_rate", keys[1]: "model.learning_rate"}


def test_a_label_is_used_and_frees_the_suffix_for_the_other_key() -> None:
    keys = ["a.init_args.hidden", "b.init_args.hidden"]
    assert display_names(keys, {keys[0]: "width"}) == {keys[0]: "width", keys[1]: "hidden"}


def test_a_label_that_repeats_another_name_is_ignored() -> None:
    keys = ["a.hidden", "b.hidden", "c"]
    twice = display_names(keys, {"a.hidden": "x", "b.hidden": "x"})
    assert twice == {"a.hidden": "a.hidden", "b.hidden": "b.hidden", "c": "c"}
    assert display_names(keys, {"a.hidden": "c"})["a.hidden"] == "a.hidden"


@pytest.mark.parametrize("count", [2, 3, 5])
def test_names_are_unique_for_any_mix_of_keys(count: int) -> None:
    parts = ["model", "init_args", "0", "1", "hidden", "lr"]
    pool = sorted(".".join(p) for n in (1, 2, 3) for p in itertools.product(parts, repeat=n))
    draw = random.Random(count)
    for _ in range(2000):
        keys = draw.sample(pool, count)
        names = display_names(keys, {keys[0]: "label"} if draw.random() < 0.5 else None)
        assert list(names) == list(keys)  # the keys' order
        assert len(set(names.values())) == len(keys), names


def test_labels_and_categories_from_a_yaml_search_space() -> None:
    space = {
        "a.hidden": {"type": "choice", "categories": [32, 64], "label": "width"},
        "lr": {"type": "loguniform", "lower": 1e-4, "upper": 1e-1},
        "b": {"type": "grid_search", "values": [1, 2]},
        "c": {"grid_search": ["x", "y"]},  # Ray's own grid, from Python
    }
    assert space_labels(space) == {"a.hidden": "width"}
    assert space_categories(space) == {"a.hidden": [32, 64], "b": [1, 2], "c": ["x", "y"]}
