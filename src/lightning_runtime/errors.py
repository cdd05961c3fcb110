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
import math
import numbers
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, cast

__all__ = [
    "ConfigError",
    "format_path",
    "did_you_mean",
    "locate_error",
    "check_mapping",
    "check_keys",
    "check_int",
    "check_number",
]


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
    """Return up to ``n`` candidates close to ``name`` (case-insensitive), best first.

    ``name`` may be any value a config can hold as a key (``None``, a number): it is compared as text.
    """
    name = name if isinstance(name, str) else str(name)
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


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_mapping(value: Any, path: str, *, example: str | None = None) -> Mapping[Any, Any]:
    """Return ``value`` when it is a dict; otherwise raise a :class:`ConfigError` at ``path``.

    Args:
        value: The config value.
        path: Its config path (``env_cfg.dist_cfg``).
        example: A valid value to show in the fix line (``dict(backend='nccl')``).

    Example:
        >>> try:
        ...     check_mapping('gloo', 'env_cfg.dist_cfg', example="dict(backend='gloo')")
        ... except ConfigError as err:
        ...     print(err)
        env_cfg.dist_cfg: expected a dict, got str 'gloo'
          fix: write env_cfg.dist_cfg = dict(backend='gloo')
    """
    if isinstance(value, Mapping):
        return value
    fix = f"write {path} = {example}" if example else f"write {path} as a dict (key=value pairs) or remove it"
    raise ConfigError(f"expected a dict, got {type(value).__name__} {_shown(value)}", path=path, fix=fix)


def check_keys(
    section: Any,
    allowed: Sequence[str],
    path: str,
    *,
    example: str | None = None,
    what: str = "key",
    fix: str | Callable[[Any], str] | None = None,
) -> None:
    """Raise a did-you-mean :class:`ConfigError` when ``section`` is not a dict or has a key not in ``allowed``.

    ``_scope_`` (which MMEngine adds to every typed dict of a ``mmseg::`` base) is always allowed.
    The one implementation of "unknown key": every section's key check calls it.

    Args:
        section: The config value.
        allowed: Its valid keys, listed in the message in this order.
        path: Its config path (``randomness``); the error names ``<path>.<key>``.
        example: A valid value, shown when ``section`` is not a dict (see :func:`check_mapping`).
        what: How the message names a key: ``unknown <what> 'x'`` (``'GradScaler argument'``).
        fix: The fix line, or a function of the unknown key returning it; by default
            ``rename 'x' to one of the keys above, or remove it``.

    Example:
        >>> try:
        ...     check_keys({'sed': 0}, ('seed', 'deterministic'), 'randomness')
        ... except ConfigError as err:
        ...     print(err)
        randomness.sed: unknown key 'sed'
          expected: one of: seed, deterministic
          did you mean: 'seed'?
          fix: rename 'sed' to one of the keys above, or remove it
    """
    check_mapping(section, path, example=example)
    for key in section:
        if key not in allowed and key != "_scope_":  # MMEngine's registry scope: accepted everywhere
            if fix is None:
                hint = f"rename {key!r} to one of the keys above, or remove it"
            else:
                hint = fix(key) if callable(fix) else fix
            raise ConfigError(
                f"unknown {what} {key!r}",
                path=f"{path}.{key}",
                candidates=did_you_mean(str(key), allowed),
                expected="one of: " + ", ".join(allowed),
                fix=hint,
            )


def check_int(value: Any, name: str, *, minimum: int | None = None) -> int:
    """Return ``value`` as an int (a whole float such as ``1e3`` counts) or raise a :class:`ConfigError` at ``name``.

    ``inf``/``nan``, fractions, booleans and strings are refused.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or (
        not isinstance(value, numbers.Integral) and not (math.isfinite(value) and float(value).is_integer())
    ):
        at_least = f" >= {minimum}" if minimum is not None else ""
        raise ConfigError(f"must be an integer{at_least}, got {_shown(value)}", path=name,
                          fix=f"set {name} to a whole number{at_least} (without quotes)")
    result = int(cast(float, value))  # a finite whole numbers.Real: int() takes it exactly
    if minimum is not None and result < minimum:
        raise ConfigError(f"must be >= {minimum}, got {result}", path=name, fix=f"set {name} to {minimum} or more")
    return result


def check_number(value: Any, name: str, *, low: float | None = None, high: float | None = None) -> float:
    """Return ``value`` (a real number, not NaN, optionally within ``[low, high]``) or raise at ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
        raise ConfigError(f"must be a number, got {_shown(value)}", path=name, expected="a number",
                          fix=f"set {name} to a number (without quotes)")
    number = cast(float, value)  # a numbers.Real (int, float, numpy scalar): compares with floats
    if (low is not None and number < low) or (high is not None and number > high):
        if high is None:
            raise ConfigError(f"must be >= {low}, got {value!r}", path=name, fix=f"set {name} to {low} or more")
        if low is None:
            raise ConfigError(f"must be <= {high}, got {value!r}", path=name, fix=f"set {name} to {high} or less")
        raise ConfigError(f"must be in [{low}, {high}], got {value!r}", path=name,
                          fix=f"set {name} to a value between {low} and {high}")
    return number


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
    sources = getattr(cfg, "sources", None) or ((top,) if top else ())
    own = any(os.path.realpath(str(f)) == os.path.realpath(where[0]) for f in sources)
    if top and not own and not where[0].startswith("<"):
        note = _inheritance_note(cfg, path, where[0])
        err.fix = f"{err.fix}; {note}" if err.fix else note
        err.args = (str(err),)
    return err


def _inheritance_note(cfg: Any, path: str, source: str) -> str:
    """What to do about a value inherited from ``source``: the advice that works for this path.

    * a dict of another file merged into the inherited one (AdamW written over SGD keeps SGD's
      ``momentum``): ``_delete_=True`` in that dict, named with its file;
    * an entry of an inherited list: lists are replaced whole, so redefine the list;
    * otherwise: set the value in your own config.
    """
    from lightning_runtime.config._locate import split_path  # (errors is imported by config)

    parts = [int(p) if p.isdigit() else p for p in split_path(path)]
    name = os.path.basename(source)
    for k in range(len(parts) - 1, 0, -1):
        ancestor = format_path(parts[:k])
        loc = cfg.locate(ancestor)
        if loc is not None and loc[0] != source:
            return (f"this value comes from {name}, merged into {ancestor} of {os.path.basename(loc[0])}; "
                    f"add _delete_=True to {ancestor} there to replace the inherited dict instead of merging into it")
    lists = [k for k in range(1, len(parts)) if isinstance(parts[k], int)]
    if lists:
        listed = format_path(parts[:lists[0]])
        return (f"this value comes from {name}, inherited through _base_; lists are replaced whole, so write "
                f"{listed} = [...] in your config with this entry corrected")
    return f"this value comes from {name}, inherited through _base_; set {path} in your config to override it"
