"""Bounds and the pure operations a ``.py`` config may use (see :mod:`.config_ast`).

:class:`Limits` caps sizes and work; :data:`SAFE_FUNCTIONS` are the builtins a config may call
(each bounded and given the evaluator first); :data:`SAFE_METHODS` the data methods by receiver
type; the operator tables map AST operators to plain Python operations on data.

Example:
    >>> tree_size([[0] * 3] * 2, cap=100)  # shared sub-lists counted each time
    9
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .config_ast import _Evaluator

__all__ = ["ALLOWED", "LIMIT_FIX", "Limits", "tree_size", "SAFE_FUNCTIONS", "SAFE_METHODS"]

LIMIT_FIX = ("use a smaller value: reading a config is bounded in time and memory, so huge numbers, "
             "strings and containers are refused; build large data in your own code")
ALLOWED = (
    "literals, dict()/list()/tuple()/set() calls, names assigned earlier in the file, "
    "_base_ and _base_.<key> references, arithmetic and comparisons, subscripts, f-strings, "
    "comprehensions over config data, the pure builtins "
    "sum/len/range/enumerate/zip/min/max/abs/round/sorted/reversed/any/all/int/float/str/bool, "
    "and the data methods update/get/copy/keys/values/items/pop/setdefault/append/extend/insert"
)


@dataclass(frozen=True)
class Limits:
    """Bounds that keep a hostile config from using unbounded time or memory."""

    max_len: int = 100_000  # elements of a sequence or characters of a string
    max_int_bits: int = 16_384  # size of an integer result
    max_nodes: int = 100_000  # expanded size of one value (shared sub-values counted each time)
    max_total: int = 500_000  # expanded size of all assigned values, over a file and its bases
    max_steps: int = 1_000_000  # comprehension iterations and builtin-consumed elements per file
    max_source: int = 5_000_000  # characters in one config file
    max_format_width: int = 10_000  # width/precision inside format specs


def tree_size(value: Any, cap: int) -> int:
    """Expanded size of ``value`` (a shared sub-value counts each time), stopping past ``cap``."""
    memo: dict[int, int] = {}

    def size(v: Any) -> int:
        if isinstance(v, str | bytes):
            return 1 + len(v) // 64
        if not isinstance(v, dict | list | tuple | set | frozenset):
            return 1
        key = id(v)
        if key in memo:
            return memo[key]
        memo[key] = cap + 1  # a cycle counts as too big
        total = 1
        items = (x for kv in dict.items(v) for x in kv) if isinstance(v, dict) else iter(v)
        for item in items:
            total += size(item)
            if total > cap:
                break
        memo[key] = total
        return total

    return size(value)


def _materialize(it: Iterable[Any], ev: _Evaluator) -> list[Any]:
    out = []
    for item in it:
        ev.step()
        out.append(item)
        if len(out) > ev.limits.max_len:
            raise ev.error("sequence too long")
    return out


def _safe_range(ev: _Evaluator, *args: Any) -> range:
    r = range(*args)
    if len(r) > ev.limits.max_len:
        raise ev.limit_error(f"range of {len(r)} elements exceeds the limit of {ev.limits.max_len}")
    return r


def _safe_sum(ev: _Evaluator, iterable: Iterable[Any], start: Any = 0) -> Any:
    items = _materialize(iterable, ev)
    for x in [start, *items]:
        if not isinstance(x, int | float | complex):
            raise ev.error("sum() accepts numbers only in a config (use + to join lists)")
    return sum(items, start)


def _safe_round(ev: _Evaluator, number: Any, ndigits: Any = None) -> Any:
    if isinstance(ndigits, int) and abs(ndigits) > 400:
        raise ev.error("round() ndigits must be between -400 and 400")
    return round(number) if ndigits is None else round(number, ndigits)


def _safe_str(ev: _Evaluator, value: Any = "") -> str:
    ev.guard(value)
    return str(value)


def _wrap(fn: Callable[..., Any], consume: bool = False) -> Callable[..., Any]:
    def call(ev: _Evaluator, *args: Any, **kwargs: Any) -> Any:
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
         "endswith", "replace"}
    ),
}

_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Mod: lambda a, b: a % b,
    ast.Pow: lambda a, b: a**b,
    ast.LShift: lambda a, b: a << b,
    ast.RShift: lambda a, b: a >> b,
    ast.BitOr: lambda a, b: a | b,
    ast.BitAnd: lambda a, b: a & b,
    ast.BitXor: lambda a, b: a ^ b,
}
_CMPOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
    ast.Is: lambda a, b: a is b,
    ast.IsNot: lambda a, b: a is not b,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_UNARY: dict[type, Callable[[Any], Any]] = {
    ast.USub: lambda a: -a,
    ast.UAdd: lambda a: +a,
    ast.Not: lambda a: not a,
    ast.Invert: lambda a: ~a,
}
_NAMES = {
    ast.Import: "import", ast.ImportFrom: "import", ast.FunctionDef: "def", ast.AsyncFunctionDef:
    "def", ast.ClassDef: "class", ast.Lambda: "lambda", ast.For: "for loop", ast.While:
    "while loop", ast.If: "if statement", ast.With: "with statement", ast.Try: "try statement",
    ast.NamedExpr: "assignment expression (:=)", ast.Delete: "del", ast.Global: "global",
    ast.Nonlocal: "nonlocal", ast.Raise: "raise", ast.Assert: "assert", ast.Await: "await",
    ast.Yield: "yield", ast.YieldFrom: "yield", ast.Return: "return",
}
_WIDTH = re.compile(r"\d+")
