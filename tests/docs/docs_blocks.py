"""The fenced code blocks of README.md and docs/, and the markers that say how to test them.

A marker is an HTML comment on the last non-blank line before a fence:

- ``<!-- no-run -->``: a python block that is shown, not run;
- ``<!-- run -->`` / ``<!-- run: exit 2 -->``: a bash block that the tests run, and the exit
  status it must end with (0 by default);
- ``<!-- output -->``: a text block that the previous executed block must print (compared
  with whitespace collapsed, as a part of the output);
- ``<!-- expect-error: TEXT -->``: a yaml or python block that must fail with TEXT in the
  error message;
- ``<!-- file: NAME -->``: a python or yaml block that the reader saves as NAME; the tests
  write it into the working folder before the blocks after it run.

Blocks without a marker: python is executed, yaml is loaded and validated, bash is shown.
A line ``--8<-- "path"`` inside a block stands for that file of the repository
(pymdownx.snippets), as on the built site.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
EXAMPLE = REPO / "examples" / "fashion-mnist"

# ```lang, optionally followed by attributes such as title="steps.py"
_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<lang>[\w+-]*)(?:[ \t]+[^`]*)?[ \t]*$"
)
_COMMENT = re.compile(r"^\s*<!--\s*(?P<body>.*?)\s*-->\s*$")
_SNIPPET = re.compile(r'^\s*--8<--\s+"(?P<path>[^":]+)(?::(?P<start>\d*)(?::(?P<end>\d*))?)?"\s*$')
_RUN = re.compile(r"^run(?::\s*exit\s+(?P<status>\d+))?$")
_KNOWN = ("no-run", "output", "expect-error:", "file:")


@dataclass
class Block:
    """One fenced block: where it is, its language, its text and its marker."""

    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    marker: str | None = None
    expected_output: str | None = None

    @property
    def label(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"

    @property
    def no_run(self) -> bool:
        return self.marker == "no-run"

    @property
    def run_status(self) -> int | None:
        """The exit status a runnable bash block must end with; None when not runnable."""
        match = _RUN.match(self.marker or "")
        if match is None:
            return None
        return int(match.group("status") or 0)

    @property
    def expect_error(self) -> str | None:
        if self.marker and self.marker.startswith("expect-error:"):
            return self.marker.removeprefix("expect-error:").strip()
        return None

    @property
    def file_name(self) -> str | None:
        if self.marker and self.marker.startswith("file:"):
            return self.marker.removeprefix("file:").strip()
        return None

    @property
    def executed(self) -> bool:
        """A python block the tests execute (not saved as a file, not marked no-run)."""
        return self.lang == "python" and not self.no_run and self.file_name is None


def doc_pages() -> list[Path]:
    """README.md and every Markdown page under docs/."""
    return [REPO / "README.md", *sorted(DOCS.rglob("*.md"))]


def snippet_lines(path: str, start: int | None, end: int | None) -> list[str]:
    """The lines ``start`` to ``end`` (1-based, inclusive) of a repository file.

    A part of a file must be whole top-level entries: it starts at a key that is not
    indented and ends before a blank line or at the end. When the file changes, a range
    that no longer fits fails here instead of showing half a section.
    """
    lines = (REPO / path).read_text(encoding="utf-8").splitlines()
    first, last = (start or 1), (end or len(lines))
    part = lines[first - 1 : last]
    if start or end:
        cut_well = bool(part) and part[0][:1] not in ("", " ", "\t")
        cut_well = cut_well and (last >= len(lines) or not lines[last].strip())
        if not cut_well:
            raise ValueError(f"lines {first}-{last} of {path} are not whole entries any more")
    return part


def _snippets(code: str) -> str:
    lines = []
    for line in code.splitlines():
        match = _SNIPPET.match(line)
        if match:
            start, end = match.group("start"), match.group("end")
            lines += snippet_lines(
                match.group("path"), int(start) if start else None, int(end) if end else None
            )
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


def _dedent(lines: list[str], indent: str) -> str:
    return "".join(line[len(indent) :] if line.startswith(indent) else line for line in lines)


def parse_page(path: Path) -> list[Block]:
    """The fenced blocks of one page, with their markers and expected outputs attached."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index].rstrip("\n"))
        if not match:
            index += 1
            continue
        indent, fence = match.group("indent"), match.group("fence")
        start = index
        index += 1
        body: list[str] = []
        while index < len(lines):
            stripped = lines[index].strip()
            if stripped.startswith(fence[0] * len(fence)) and set(stripped) == {fence[0]}:
                break
            body.append(lines[index])
            index += 1
        index += 1
        marker = None
        before = start - 1
        while before >= 0 and not lines[before].strip():
            before -= 1
        if before >= 0:
            comment = _COMMENT.match(lines[before])
            if comment:
                marker = comment.group("body")
        code = _snippets(_dedent(body, indent))
        blocks.append(Block(path, start + 1, match.group("lang").lower(), code, marker))
    _attach_outputs(blocks)
    return blocks


def _attach_outputs(blocks: list[Block]) -> None:
    previous: Block | None = None
    for block in blocks:
        if block.marker == "output":
            if previous is None:
                raise ValueError(f"{block.label}: an output block needs a block run before it")
            previous.expected_output = block.code
            continue
        if block.executed or block.run_status is not None:
            previous = block


def marker_problems(block: Block) -> list[str]:
    """What is wrong with a block's marker, if anything."""
    marker = block.marker
    if marker is None:
        return []
    known = marker == "no-run" or marker == "output" or _RUN.match(marker) is not None
    known = known or marker.startswith(_KNOWN[2:])
    if not known:
        return [f"{block.label}: unknown marker <!-- {marker} -->"]
    problems = []
    if block.run_status is not None and block.lang != "bash":
        problems.append(f"{block.label}: <!-- run --> marks bash blocks only")
    if marker == "no-run" and block.lang != "python":
        problems.append(f"{block.label}: <!-- no-run --> marks python blocks only")
    if marker == "output" and block.lang != "text":
        problems.append(f"{block.label}: <!-- output --> marks text blocks only")
    if block.file_name is not None and block.lang not in ("python", "yaml"):
        problems.append(f"{block.label}: <!-- file: --> marks python or yaml blocks only")
    return problems


def normalise(text: str) -> str:
    return " ".join(text.split())


# -- where blocks run ------------------------------------------------------------------


def find_data() -> Path | None:
    """A folder holding fashion-mnist/ with the IDX files, or None (tests then skip)."""
    candidates = [os.environ.get("PIPETUNE_DATA", "")]
    candidates += [
        str(REPO.parent / "shared" / "datasets"),
        str(Path.home() / ".cache" / "pipetune"),
        "/usr/share/datasets",
    ]
    for candidate in filter(None, candidates):
        folder = Path(candidate)
        for sub in (folder / "fashion-mnist", folder):
            if any(sub.glob("train-images-idx3-ubyte*")):
                return sub
    return None


def copy_example(target: Path, shrink: bool = False) -> Path:
    """A copy of examples/fashion-mnist at ``target`` (no runs/).

    With ``shrink``, config.yaml trains on 1,000 images for 1 epoch: the same keys and the
    same lines, less work.
    """
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("runs", "__pycache__"))
    if shrink:
        config = target / "config.yaml"
        text = config.read_text(encoding="utf-8")
        text = re.sub(r"(?m)^epochs: \d+", "epochs: 1", text)
        text = re.sub(r"(?m)^train_samples: \d+", "train_samples: 1000", text)
        config.write_text(text, encoding="utf-8")
    return target


def uses_example_data(blocks: list[Block]) -> bool:
    """Whether a page's executed python reads the Fashion-MNIST example."""
    return any(b.executed and "config.yaml" in b.code for b in blocks)


def shell_needs_data(block: Block) -> bool:
    """A command that must succeed and trains: it needs the data files."""
    return block.run_status == 0 and re.search(r"\bpipetune (run|tune)\b", block.code) is not None
