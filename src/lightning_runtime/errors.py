"""The one exception every configuration problem raises.

A :class:`ConfigError` says *where* (the config path such as ``param_scheduler[1].end`` and, when
known, ``file:line``), *what* was wrong, what was expected, and how to fix it. The CLI prints
``str(err)`` and exits with code 2; nothing else is needed to understand the problem.

Example:
    >>> err = ConfigError("must be >= begin (1000)", path="param_scheduler[1].end",
    ...                   fix="set end to a value after begin", file="cfg.py", line=12)
    >>> print(err)
    cfg.py:12: param_scheduler[1].end: must be >= begin (1000)
      fix: set end to a value after begin
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["ConfigError", "format_path", "did_you_mean", "locate_error"]


def format_path(parts: Iterable[Any]) -> str:
    """Join path parts the way users write them: ``a.b[1].c``.

    Example:
        >>> format_path(["param_scheduler", 1, "end"])
        'param_scheduler[1].end'
    """
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif out:
            out += f".{part}"
        else:
            out = str(part)
    return out


def did_you_mean(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Return up to ``n`` candidates close to ``name`` (case-insensitive), best first."""
    cands = [str(c) for c in candidates]
    lower = {c.lower(): c for c in cands}
    hits = difflib.get_close_matches(name.lower(), list(lower), n=n, cutoff=0.6)
    out = [lower[h] for h in hits]
    # Substring hits ('Poly' -> 'PolyLR') are often what the user meant even when the ratio is low.
    for c in cands:
        if len(out) >= n:
            break
        if c not in out and name and (name.lower() in c.lower() or c.lower() in name.lower()):
            out.append(c)
    return out[:n]


class ConfigError(ValueError):
    """A configuration problem, found before training starts.

    Args:
        message: What is wrong, in one sentence.
        path: The config path of the offending value (``optim_wrapper.optimizer.lr``).
        file: The config file that defined it, when known.
        line: The line in ``file``, when known.
        expected: What would have been valid.
        fix: What the user should change.
        candidates: Close valid names, shown as "did you mean".
    """

    def __init__(
        self,
        message: str,
        path: str | Sequence[Any] | None = None,
        *,
        file: str | None = None,
        line: int | None = None,
        expected: str | None = None,
        fix: str | None = None,
        candidates: Sequence[str] | None = None,
    ) -> None:
        if path is not None and not isinstance(path, str):
            path = format_path(path)
        self.message = message
        self.path = path or None
        self.file = file
        self.line = line
        self.expected = expected
        self.fix = fix
        self.candidates = list(candidates or [])
        super().__init__(self._render())

    def _render(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        head = f"{where}{self.path}: {self.message}" if self.path else f"{where}{self.message}"
        lines = [head]
        if self.expected:
            lines.append(f"  expected: {self.expected}")
        if self.candidates:
            lines.append("  did you mean: " + ", ".join(repr(c) for c in self.candidates) + "?")
        if self.fix:
            lines.append(f"  fix: {self.fix}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self._render()

    def with_location(
        self, *, path: str | None = None, file: str | None = None, line: int | None = None
    ) -> ConfigError:
        """Fill in location details that were unknown where the error was raised.

        A prefix ``path`` is joined in front of the existing one (``optim_wrapper`` +
        ``optimizer.lr``). Returns ``self`` so callers can ``raise err.with_location(...)``.
        """
        if path:
            if self.path:
                sep = "" if self.path.startswith("[") else "."
                self.path = f"{path}{sep}{self.path}"
            else:
                self.path = path
        if file and not self.file:
            self.file = file
            self.line = line
        self.args = (self._render(),)
        return self


def locate_error(err: ConfigError, cfg: Any) -> ConfigError:
    """Fill in ``file:line`` of the config path an error names, when the error did not know it.

    When the value was inherited from a ``_base_`` file, the fix says so: the usual cause is a
    dict merged into an inherited one where ``_delete_=True`` was meant.
    """
    if err.file or not err.path or not hasattr(cfg, "locate"):
        return err
    path = err.path
    where = None
    while path and where is None:
        where = cfg.locate(path)
        if where is None:
            path = path.rpartition(".")[0] if "." in path else ""
    if where is None:
        return err
    err.with_location(file=where[0], line=where[1])
    top = getattr(cfg, "filename", None)
    if top and where[0] != top and not where[0].startswith("<"):
        note = (f"this value comes from {os.path.basename(where[0])}, inherited through _base_; "
                "add _delete_=True to the dict in your config to replace the inherited one instead of merging into it")
        err.fix = f"{err.fix}; {note}" if err.fix else note
        err.args = (str(err),)
    return err
