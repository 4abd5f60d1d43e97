"""The live page's child process: ``python -m pipetune.report._live_child FOLDER``.

Reads a :class:`~pipetune.report.LiveBanner` as JSON on stdin, renders the folder's page with
it and prints the page on stdout; it writes no file (the driver does, atomically, so that
its final report always wins). Nothing imports this module: it only runs as ``__main__``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys


def main(argv: list[str] | None = None) -> int:
    (folder,) = sys.argv[1:] if argv is None else argv
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, 0, 10)  # the trials come first
    from pipetune.report._live import LiveBanner
    from pipetune.report._write import render_live_page

    banner = LiveBanner(**json.loads(sys.stdin.read()))
    sys.stdout.write(render_live_page(folder, banner))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
