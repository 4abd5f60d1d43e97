"""Helpers shared by the CLI commands."""

from __future__ import annotations

import argparse
from typing import Any

import yaml

from pipetune.config._limits import compose
from pipetune.errors import ConfigError


def parse_assignments(items: list[str] | None, flag: str = "-o") -> dict[str, Any]:
    """``["a.b=3", "name=x"]`` → ``{"a.b": 3, "name": "x"}`` with YAML scalar typing."""
    result: dict[str, Any] = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(
                f"{flag} {item!r} is not of the form key=value", hint=f"e.g. {flag} batch_size=64"
            )
        try:
            # the limits of a config file hold here too: a value may be a billion laughs
            compose(text, f"{flag} {key.strip()}")
            value = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError:
            value = text
        result[key.strip()] = value
    return result


def add_debug_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--debug", action="store_true", help="show the full traceback when an error occurs"
    )
