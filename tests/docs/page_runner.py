"""Run the python blocks of one docs page in order, as a reader pasting them would.

    python page_runner.py BLOCKS_JSON

runs in the working folder it is started in. Blocks share one namespace (``__main__``, as
in a script); a block marked ``<!-- file: NAME -->`` is written to NAME instead. A block's
printed output is checked against the ``<!-- output -->`` block after it. The first
failure ends the run with status 1 and names the block's file and line.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import traceback
from pathlib import Path
from typing import Any


class _Tee(io.TextIOBase):
    """Writes to the real stdout and keeps a copy."""

    def __init__(self, stream: Any) -> None:
        self.stream, self.copy = stream, io.StringIO()

    def write(self, text: str) -> int:
        self.stream.write(text)
        self.copy.write(text)
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


def _normalise(text: str) -> str:
    return " ".join(text.split())


def _fail(label: str, message: str) -> None:
    print(f"\ndocs block {label} failed: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def main(blocks_file: str) -> None:
    blocks = json.loads(Path(blocks_file).read_text(encoding="utf-8"))
    sys.path.insert(0, str(Path.cwd()))
    namespace: dict[str, Any] = {"__name__": "__main__"}
    executed = 0
    for block in blocks:
        label, code = block["label"], block["code"]
        if block["file"]:
            Path(block["file"]).write_text(code, encoding="utf-8")
            continue
        if block["lang"] != "python" or block["no_run"]:
            continue
        print(f"--- docs block {label}", flush=True)
        tee = _Tee(sys.stdout)
        expected_error = block["expect_error"]
        try:
            with contextlib.redirect_stdout(tee):
                exec(compile(code, label, "exec"), namespace)
        except BaseException as exc:
            if expected_error and expected_error in str(exc):
                executed += 1
                continue
            traceback.print_exc()
            _fail(label, f"{type(exc).__name__}: {exc}")
        else:
            if expected_error:
                _fail(label, f"expected an error containing {expected_error!r}; none was raised")
        executed += 1
        expected = block["expected_output"]
        if expected is not None and _normalise(expected) not in _normalise(tee.copy.getvalue()):
            _fail(label, f"printed\n{tee.copy.getvalue()}\nbut the page shows\n{expected}")
    print(f"--- docs blocks executed: {executed}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
