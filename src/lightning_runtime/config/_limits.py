"""Limits and tables of what a ``.py`` config may use: bounds, safe builtins/methods, size walkers.

:class:`Limits` caps sizes and work (for ``.py``, YAML/JSON, substitution and the ``_base_`` chain);
:data:`SAFE_FUNCTIONS` are the builtins a config may call (each bounded and given the evaluator
first, see :class:`Bounds`); :data:`SAFE_METHODS` the data methods by receiver type;
:func:`walk_size` / :func:`tree_size` measure values. The evaluator itself is
:mod:`lightning_runtime.config._evaluator`; this module imports nothing from it.

Example:
    >>> tree_size([[0] * 3] * 2, cap=100)  # shared sub-lists counted each time
    9
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from lightning_runtime.errors import ConfigError

__all__ = ["ALLOWED", "GENERIC_FIX", "LIMIT_FIX", "Limits", "tree_size", "walk_size", "DataProblem",
           "DATA_LEAVES", "DATA_CONTAINERS", "data_problem_message", "percent_widths", "percent_size",
           "SAFE_FUNCTIONS", "SAFE_METHODS", "Bounds"]

LIMIT_FIX = ("use a smaller value: reading a config is bounded in time and memory, so huge numbers, "
             "strings and containers are refused; build large data in your own code")
GENERIC_FIX = ("rewrite this line as config data: "
               "literals, dict(...), names assigned above, _base_ values (docs/config.md lists what a .py config may hold)")
ALLOWED = (
    "literals, dict()/list()/tuple()/set() calls, names assigned earlier in the file, "
    "_base_ and _base_.<key> references, arithmetic and comparisons, subscripts, f-strings, "
    "comprehensions over config data, the pure builtins "
    "sum/len/range/enumerate/zip/min/max/abs/round/sorted/reversed/any/all/int/float/str/bool, "
    "the data methods update/get/copy/keys/values/items/pop/setdefault/append/extend/insert, "
    "'...{}'.format(...) with plain fields, del, assert, for loops over data and "
    "if/elif/else (holding these statements), and 'import copy' for "
    "copy.deepcopy(x)/copy.copy(x)"
)


@dataclass(frozen=True)
class Limits:
    """Bounds that keep a hostile config from using unbounded time or memory.

    The same numbers bound ``.py`` configs, YAML/JSON configs (OmegaConf interpolation included),
    ``{{_base_.x}}`` substitution and the ``_base_`` chain; docs/config.md lists them.
    """

    max_len: int = 100_000  # elements of a sequence or characters of a string
    max_int_bits: int = 16_384  # size of an integer result
    max_nodes: int = 100_000  # expanded size of one value (shared sub-values counted each time)
    max_total: int = 200_000  # expanded size of all assigned values, over a file and its bases
    max_steps: int = 500_000  # comprehension iterations and elements touched, over one load
    max_source: int = 256_000  # bytes in one config file
    max_format_width: int = 10_000  # width/precision inside format specs
    max_depth: int = 32  # nesting of containers in a value
    max_statements: int = 5_000  # top-level statements of one ``.py`` file
    max_interpolations: int = 1_000  # OmegaConf ``${...}`` in one YAML/JSON file
    max_files: int = 64  # config files read for one load (each _base_ read counts)
    max_base_depth: int = 16  # length of a _base_ chain


#: Values a loaded config may hold: data that ``Config.dump`` writes and reads back.
DATA_LEAVES: tuple[type, ...] = (str, bytes, int, float, complex, bool, type(None), range)
DATA_CONTAINERS: tuple[type, ...] = (dict, list, tuple, set, frozenset)


class DataProblem(Exception):
    """A value is not bounded data: too big, too deep, cyclic or of a non-data type.

    Attributes:
        kind: ``'size'``, ``'depth'``, ``'cycle'`` or ``'type'``.
        path: Keys/indexes from the checked value to the offending one.
        type_name: For ``'type'``, the name of the offending type.
    """

    def __init__(self, kind: str, path: tuple[Any, ...], type_name: str = "") -> None:
        super().__init__(kind)
        self.kind = kind
        self.path = path
        self.type_name = type_name


def _children(value: Any) -> Iterator[tuple[Any, Any]]:
    if isinstance(value, dict):
        for k, v in dict.items(value):
            yield k, k
            yield k, v
    elif isinstance(value, set | frozenset):
        for i, v in enumerate(value):
            yield i, v
    else:
        yield from enumerate(value)


def _leaf_size(value: Any) -> int:
    if isinstance(value, str | bytes):
        return 1 + len(value) // 64
    return 1


def walk_size(value: Any, cap: int, max_depth: int | None = None,
              check_types: bool = False) -> int:
    """Expanded size of ``value`` (a shared sub-value counts each time), stopping past ``cap``.

    Iterative (no recursion, whatever the nesting); each distinct container is visited once.

    Raises:
        DataProblem: a container holds itself (``'cycle'``), nesting deeper than ``max_depth``
            (``'depth'``), or with ``check_types`` a value that is not data (``'type'``).
    """
    if not isinstance(value, DATA_CONTAINERS):
        if check_types and not isinstance(value, DATA_LEAVES):
            raise DataProblem("type", (), type(value).__name__)
        return _leaf_size(value)
    memo: dict[int, int] = {}
    active: set[int] = set()
    # frames: [container, iterator over (key, child), expanded size so far, key in parent]
    stack: list[list[Any]] = [[value, _children(value), 1, None]]
    active.add(id(value))
    count = 1
    while stack:
        frame = stack[-1]
        descended = False
        for key, child in frame[1]:
            if isinstance(child, DATA_CONTAINERS):
                cid = id(child)
                if cid in memo:
                    frame[2] += memo[cid]
                    count += memo[cid]
                elif cid in active:
                    raise DataProblem("cycle", (*[f[3] for f in stack[1:]], key))
                else:
                    if max_depth is not None and len(stack) >= max_depth:
                        # the first levels are enough to find it (and keep messages short)
                        raise DataProblem("depth", tuple(f[3] for f in stack[1:])[:8])
                    active.add(cid)
                    stack.append([child, _children(child), 1, key])
                    count += 1
                    descended = True
            else:
                if check_types and not isinstance(child, DATA_LEAVES):
                    raise DataProblem("type", (*[f[3] for f in stack[1:]], key),
                                      type(child).__name__)
                n = 1 + len(child) // 64 if isinstance(child, str | bytes) else 1
                frame[2] += n
                count += n
            if count > cap:
                return cap + 1
            if descended:
                break
        if descended:
            continue
        stack.pop()
        active.discard(id(frame[0]))
        memo[id(frame[0])] = frame[2]
        if stack:
            stack[-1][2] += frame[2]
    return min(count, cap + 1)


def tree_size(value: Any, cap: int) -> int:
    """Expanded size of ``value`` (a shared sub-value counts each time), stopping past ``cap``.

    A value that contains itself counts as too big (``cap + 1``).
    """
    try:
        return walk_size(value, cap)
    except DataProblem:
        return cap + 1


def data_problem_message(problem: DataProblem, limits: Limits) -> tuple[str, str]:
    """``(message, fix)`` for a :class:`DataProblem`."""
    if problem.kind == "cycle":
        return ("value contains itself (a dict or list was put inside itself)",
                "store a copy instead, e.g. d['x'] = copy.deepcopy(d), or restructure the data")
    if problem.kind == "depth":
        return (f"value nested deeper than {limits.max_depth} levels", LIMIT_FIX)
    if problem.kind == "type":
        message = (f"a value of type {problem.type_name} is not config data (a config holds "
                   "only dicts, lists, tuples, sets, strings, numbers, bool, None and ranges)")
        return (message, "turn it into a list, e.g. x = list(zip(a, b)) or x = list(d.keys())")
    return (f"value larger than {limits.max_nodes} elements", LIMIT_FIX)


_PERCENT = re.compile(
    r"%(?:\((?P<key>[^)]*)\))?[-#0 +]*(?P<width>\*|\d+)?(?:\.(?P<prec>\*|\d*))?[hlL]?"
    r"(?P<conv>.)?", re.DOTALL)


def percent_widths(fmt: str, args: Any) -> list[int]:
    """Every width and precision a ``fmt % args`` would use, ``*`` ones read from ``args``."""
    return _percent(fmt, args)[0]


def percent_size(fmt: str, args: Any) -> int:
    """An upper bound (in characters, up to a constant factor) of the length of ``fmt % args``."""
    widths, pieces = _percent(fmt, args)
    return len(fmt) + sum(widths) + pieces


def _text_size(value: Any, conversion: str) -> int:
    """About how long ``str``/``repr``/``ascii`` of ``value`` can be (never much less)."""
    if isinstance(value, str | bytes):
        return len(value) * (10 if conversion in "ra" else 1) + 3
    if isinstance(value, bool | type(None) | float | complex):
        return 700
    if isinstance(value, int):
        return value.bit_length() // 3 + 2
    return tree_size(value, 10**9) * 64 * 10


def _percent(fmt: str, args: Any) -> tuple[list[int], int]:
    widths: list[int] = []
    pieces = 0
    items = list(args) if isinstance(args, tuple) else [args]
    pos = 0
    for m in _PERCENT.finditer(fmt):
        if m.group("conv") == "%" and m.end() - m.start() == 2:
            continue  # '%%'
        for part in ("width", "prec"):
            text = m.group(part)
            if text == "*":
                value = items[pos] if pos < len(items) else 0
                pos += 1
                widths.append(abs(value) if isinstance(value, int) else 0)
            elif text:
                widths.append(int(text) if len(text) <= 18 else 10**18)
        conversion = m.group("conv") or "s"
        if m.group("key") is not None and isinstance(args, dict):
            pieces += _text_size(args.get(m.group("key")), conversion)
        elif pos < len(items):
            pieces += _text_size(items[pos], conversion)
        pos += 1
    return widths, pieces


class Bounds(Protocol):
    """What a safe function needs from the evaluator that calls it: limits, work count, errors."""

    limits: Limits

    def error(self, message: str, node: ast.AST | None = None, *, fix: str | None = None,
              expected: str | None = None, candidates: list[str] | None = None) -> ConfigError: ...

    def limit_error(self, message: str, node: ast.AST | None = None) -> ConfigError: ...

    def step(self, work: int = 1) -> None: ...

    def check_len(self, n: int) -> None: ...

    def guard(self, value: Any) -> int: ...


def _materialize(it: Iterable[Any], ev: Bounds) -> list[Any]:
    out = []
    for item in it:
        ev.step()
        out.append(item)
        if len(out) > ev.limits.max_len:
            raise ev.error("sequence too long")
    return out


def _safe_range(ev: Bounds, *args: Any) -> range:
    r = range(*args)
    if len(r) > ev.limits.max_len:
        raise ev.limit_error(f"range of {len(r)} elements exceeds the limit of {ev.limits.max_len}")
    return r


def _safe_sum(ev: Bounds, iterable: Iterable[Any], start: Any = 0) -> Any:
    items = _materialize(iterable, ev)
    for x in [start, *items]:
        if not isinstance(x, int | float | complex):
            raise ev.error("sum() accepts numbers only in a config (use + to join lists)")
    return sum(items, start)


def _safe_round(ev: Bounds, number: Any, ndigits: Any = None) -> Any:
    if isinstance(ndigits, int) and abs(ndigits) > 400:
        raise ev.error("round() ndigits must be between -400 and 400")
    return round(number) if ndigits is None else round(number, ndigits)


def _safe_str(ev: Bounds, value: Any = "") -> str:
    ev.guard(value)
    return str(value)


def _wrap(fn: Callable[..., Any], consume: bool = False) -> Callable[..., Any]:
    def call(ev: Bounds, *args: Any, **kwargs: Any) -> Any:
        if consume:
            args = tuple(_materialize(a, ev) if _is_lazy_iter(a) else a for a in args)
        for a in args:
            ev.guard(a)
        result = fn(*args, **kwargs)
        if _is_lazy_iter(result):
            return result
        if isinstance(result, list | tuple | set | dict | str):
            ev.check_len(len(result))
        return result

    return call


def _is_lazy_iter(x: Any) -> bool:
    return hasattr(x, "__next__")


#: Callables a config may use. Each takes the evaluator first; all are pure and bounded.
SAFE_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "dict": _wrap(dict, consume=True),
    "list": _wrap(list, consume=True),
    "tuple": _wrap(tuple, consume=True),
    "set": _wrap(set, consume=True),
    "frozenset": _wrap(frozenset, consume=True),
    "sum": _safe_sum,
    "len": _wrap(len),
    "range": _safe_range,
    "enumerate": _wrap(enumerate),
    "zip": _wrap(zip),
    "reversed": _wrap(reversed),
    "sorted": _wrap(sorted, consume=True),
    "min": _wrap(min, consume=True),
    "max": _wrap(max, consume=True),
    "any": _wrap(any, consume=True),
    "all": _wrap(all, consume=True),
    "abs": _wrap(abs),
    "round": _safe_round,
    "int": _wrap(int),
    "float": _wrap(float),
    "bool": _wrap(bool),
    "str": _safe_str,
}

#: Methods a config may call, by the type of the object they are called on.
SAFE_METHODS: dict[type, frozenset[str]] = {
    dict: frozenset(
        {"update", "get", "copy", "keys", "values", "items", "pop", "setdefault"}
    ),
    list: frozenset({"append", "extend", "insert", "copy", "pop", "index", "count"}),
    tuple: frozenset({"index", "count"}),
    str: frozenset(
        {"join", "split", "strip", "lstrip", "rstrip", "lower", "upper", "startswith",
         "endswith", "replace", "format"}
    ),
}
