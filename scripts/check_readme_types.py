#!/usr/bin/env python
"""Type-check the ```python blocks of README.md and docs/*.md with mypy (``make typecheck``).

Every block is written to its own module in a temporary folder and all of them are checked in one
mypy run with the project's ``[tool.mypy]`` settings (pyproject.toml), so the README's import lines
and calls are checked against the package's real signatures. Errors are reported as
``README.md:<line>: ...`` and the script exits 1; it exits 0 when every block type-checks.

Blocks are checked as written, each on its own. Two HTML comments, on the line(s) right before
a block's opening fence, adjust that:

* ``<!-- mypy: skip REASON -->`` leaves the block out (REASON is required: keep skips rare).
* ``<!-- mypy: prelude`` ... ``-->`` prepends the lines in between to the block: declarations of
  the names a fragment takes from the reader's own code, e.g. ``train_dl: DataLoader``. They are
  not rendered, and errors in them are reported at the comment.

Usage: ``python scripts/check_readme_types.py [FILE.md ...]`` (default: README.md docs/*.md).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)")
SKIP = re.compile(r"^\s*<!--\s*mypy:\s*skip\b(?P<reason>.*?)-->\s*$")
PRELUDE_OPEN = re.compile(r"^\s*<!--\s*mypy:\s*prelude\s*$")
MYPY_LINE = re.compile(r"^(?P<file>[^:\s]+\.py):(?P<line>\d+):(?:\d+:)?\s*(?P<rest>.*)$")


@dataclass
class Block:
    """One python block: where it is, its code and the prelude checked with it."""

    doc: Path
    line: int  # 1-based line of the opening fence
    code: list[str]
    prelude: list[str] = field(default_factory=list)
    prelude_line: int = 0  # 1-based line of the prelude comment's first code line
    skip_reason: str | None = None

    @property
    def module(self) -> str:
        stem = re.sub(r"\W", "_", self.doc.relative_to(ROOT).as_posix() if self.doc.is_relative_to(ROOT)
                      else self.doc.name)
        return f"{stem}_L{self.line}"

    def source(self) -> str:
        return "\n".join(self.prelude + self.code) + "\n"

    def doc_line(self, n: int) -> int:
        """The document line of line ``n`` (1-based) of :meth:`source`."""
        if n <= len(self.prelude):
            return self.prelude_line + n - 1
        return self.line + n - len(self.prelude)


def _markers(lines: list[str], fence_index: int) -> tuple[str | None, list[str], int]:
    """The skip reason / prelude written in comments right above the fence at ``fence_index``."""
    skip_reason: str | None = None
    prelude: list[str] = []
    prelude_line = 0
    i = fence_index - 1
    while i >= 0 and not lines[i].strip():
        i -= 1
    while i >= 0:
        m = SKIP.match(lines[i])
        if m:
            reason = m.group("reason").strip(" :-")
            if not reason:
                raise SystemExit(f"line {i + 1}: '<!-- mypy: skip -->' needs a reason: <!-- mypy: skip REASON -->")
            skip_reason = reason
            i -= 1
            continue
        if lines[i].strip() == "-->":
            start = i - 1
            while start >= 0 and not PRELUDE_OPEN.match(lines[start]) and "-->" not in lines[start]:
                start -= 1
            if start < 0 or not PRELUDE_OPEN.match(lines[start]):
                break  # some other comment
            prelude = lines[start + 1:i]
            prelude_line = start + 2
            i = start - 1
            continue
        break
    return skip_reason, prelude, prelude_line


def extract(doc: Path) -> list[Block]:
    """Every ```python / ```py block of ``doc`` (not those nested in other fences)."""
    lines = doc.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, info = m.group("fence"), m.group("info").lower()
        end = i + 1
        while end < len(lines) and not _closes(lines[end], fence):
            end += 1
        if info in ("python", "py", "python3"):
            indent = len(m.group("indent"))
            code = [ln[indent:] if ln[:indent].isspace() else ln for ln in lines[i + 1:end]]
            skip, prelude, prelude_line = _markers(lines, i)
            blocks.append(Block(doc, i + 1, code, prelude, prelude_line, skip))
        i = end + 1
    return blocks


def _closes(line: str, fence: str) -> bool:
    """Whether ``line`` closes a block opened by ``fence`` (the same character, at least as many)."""
    s = line.strip()
    return s.startswith(fence) and not s.strip(fence[0])


def check(docs: list[Path], mypy: list[str]) -> int:
    blocks = [b for doc in docs for b in extract(doc)]
    checked = [b for b in blocks if b.skip_reason is None]  # `mypy src` checks the package itself
    for b in blocks:
        if b.skip_reason is not None:
            print(f"{_show(b.doc)}:{b.line}: skipped: {b.skip_reason}")
    if not checked:
        print("no python blocks to check")
        return 0
    with tempfile.TemporaryDirectory(prefix="readme_types_") as tmp:
        by_file: dict[str, Block] = {}
        for b in checked:
            path = Path(tmp) / f"{b.module}.py"
            path.write_text(b.source(), encoding="utf-8")
            by_file[path.name] = b
        cmd = mypy + ["--config-file", str(ROOT / "pyproject.toml"), "--no-error-summary", "--follow-imports=silent",
                      "--show-absolute-path", *sorted(str(Path(tmp) / f) for f in by_file)]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    errors = 0
    found: list[tuple[str, int, int, str]] = []  # (doc, line, output order, message)
    for raw in proc.stdout.splitlines():
        m = MYPY_LINE.match(raw)
        block = by_file.get(Path(m.group("file")).name) if m else None
        if m is None or block is None:
            print(raw)  # a message without a file, or one outside the blocks
            errors += bool(m and m.group("rest").startswith("error:"))
            continue
        found.append((_show(block.doc), block.doc_line(int(m.group("line"))), len(found), m.group("rest")))
        errors += m.group("rest").startswith("error:")
    for doc, line, _, rest in sorted(found):
        print(f"{doc}:{line}: {rest}")
    if not errors and proc.returncode != 0:
        print(proc.stderr or proc.stdout, file=sys.stderr)
        print(f"mypy failed to run (exit code {proc.returncode})", file=sys.stderr)
        return 2
    if errors:
        print(f"{errors} mypy error(s) in the python blocks of {len(docs)} file(s)")
        return 1
    print(f"{len(checked)} python block(s) type-check ({len(blocks) - len(checked)} skipped) in "
          f"{len(docs)} file(s)")
    return 0


def _show(path: Path) -> str:
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("docs", nargs="*", type=Path, help="markdown files (default: README.md docs/*.md)")
    args = parser.parse_args(argv)
    docs = [p.resolve() for p in args.docs] or [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    return check(docs, [sys.executable, "-m", "mypy"])


if __name__ == "__main__":
    sys.exit(main())
