"""Headless Chromium for the page tests: offline (network blocked), console to stderr."""

from __future__ import annotations

import re
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CONSOLE = re.compile(r'CONSOLE[^\]]*\] "(.*)", source: ')


def chromium_command(page: Path, profile: Path, *extra: str, budget_ms: int = 10000) -> list[str]:
    """The command that loads ``page`` offline; ``extra`` says what to do with it
    (``--screenshot=...``, ``--dump-dom``); ``budget_ms`` of virtual time run its scripts."""
    return [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--enable-unsafe-swiftshader",  # WebGL (parcoords) in software, without a warning
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        "--proxy-server=127.0.0.1:9",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--virtual-time-budget={budget_ms}",
        *extra,
        page.as_uri(),
    ]


def console_messages(stderr: str) -> list[str]:
    return [m.group(1) for m in CONSOLE.finditer(stderr)]
