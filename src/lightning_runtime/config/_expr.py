"""Expressions of a ``.py`` config, interpreted as data (a mixin of the evaluator).

Each ``e_<Node>`` method evaluates one kind of :mod:`ast` expression node; a node without a method
is refused with the list of what is allowed. Operations are the plain Python ones on config data,
checked against :class:`~lightning_runtime.config._safe.Limits` before they run.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from typing import Any

from lightning_runtime.config._safe import (
    _BINOPS,
    _CMPOPS,
    _NAMES,
    _UNARY,
    _WIDTH,
    LIMIT_FIX,
    SAFE_FUNCTIONS,
    SAFE_METHODS,
    _is_lazy_iter,
    _materialize,
    percent_size,
    percent_widths,
)
from lightning_runtime.config._types import ConfigDict
from lightning_runtime.errors import ConfigError, did_you_mean

__all__ = ["ExpressionsMixin"]


class ExpressionsMixin:
    """``eval`` and the ``e_*`` node handlers; the evaluator supplies errors and bounds."""

    # provided by the evaluator
    ns: dict[str, Any]
    scopes: list[dict[str, Any]]
    base: ConfigDict
    limits: Any
    error: Callable[..., ConfigError]
    limit_error: Callable[..., ConfigError]
    not_allowed: Callable[..., ConfigError]
    step: Callable[..., None]
    check_len: Callable[[int], None]
    guard: Callable[[Any], int]
    check_name: Callable[[str, ast.AST], None]

    def eval(self, node: ast.expr) -> Any:
        method = getattr(self, "e_" + type(node).__name__, None)
        if method is None:
            what = _NAMES.get(type(node), f"the expression {type(node).__name__}")
            raise self.not_allowed(f"'{what}'" if " " not in what else what, node)
        try:
            return method(node)
        except ConfigError:
            raise
        except RecursionError:
            raise self.error("expression nested too deeply", node,
                             fix="split the expression: assign parts to names first") from None
        except MemoryError:
            raise self.limit_error("value too large for memory", node) from None
        except RuntimeError as exc:  # e.g. a dict changed size while a comprehension iterated it
            raise self.error(f"RuntimeError: {exc}", node,
                             fix="iterate over a copy (list(d)) when changing what you iterate "
                                 "over") from None
        except (TypeError, ValueError, KeyError, IndexError, ZeroDivisionError, OverflowError,
                AttributeError) as exc:
            raise self.error(f"{type(exc).__name__}: {exc}", node,
                             fix="correct the expression at this line") from None

    def e_Constant(self, node: ast.Constant) -> Any:
        return node.value

    def e_Name(self, node: ast.Name) -> Any:
        self.check_name(node.id, node)
        for scope in reversed(self.scopes):
            if node.id in scope:
                return scope[node.id]
        if node.id in self.ns:
            return self.ns[node.id]
        if node.id == "_base_":
            return self.base
        if node.id in SAFE_FUNCTIONS:
            raise self.error(f"'{node.id}' can only be called here, not used as a value", node,
                             fix=f"call it with data arguments, e.g. {node.id}(...), or write the value out")
        known = list(self.ns) + [n for s in self.scopes for n in s]
        raise self.error(
            f"name '{node.id}' is not defined", node, candidates=did_you_mean(node.id, known),
            expected="a name assigned earlier in this file, _base_, or a literal",
            fix=f"define {node.id} above this line (or use _base_.{node.id} for an inherited "
                "value)",
        )

    def e_List(self, node: ast.List) -> list[Any]:
        return self._elements(node.elts)

    def e_Tuple(self, node: ast.Tuple) -> tuple[Any, ...]:
        return tuple(self._elements(node.elts))

    def e_Set(self, node: ast.Set) -> set[Any]:
        items = self._elements(node.elts)
        for i in items:
            self.guard(i)
        return set(items)

    def _elements(self, elts: list[ast.expr]) -> list[Any]:
        out: list[Any] = []
        for elt in elts:
            if isinstance(elt, ast.Starred):
                out.extend(_materialize(self.eval(elt.value), self))
            else:
                out.append(self.eval(elt))
            self.check_len(len(out))
        return out

    def e_Dict(self, node: ast.Dict) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for k, v in zip(node.keys, node.values):
            if k is None:
                value = self.eval(v)
                if not isinstance(value, Mapping):
                    raise self.error("** needs a mapping", v)
                out.update(value)
            else:
                key = self.eval(k)
                self.guard(key)
                out[key] = self.eval(v)
        return out

    def e_JoinedStr(self, node: ast.JoinedStr) -> str:
        parts = []
        length = 0
        for part in node.values:
            if isinstance(part, ast.Constant):
                parts.append(str(part.value))
                length += len(parts[-1])
                continue
            assert isinstance(part, ast.FormattedValue)
            value = self.eval(part.value)
            self.guard(value)
            if part.conversion == ord("r"):
                value = repr(value)
            elif part.conversion == ord("s"):
                value = str(value)
            elif part.conversion == ord("a"):
                value = ascii(value)
            spec = self.eval(part.format_spec) if part.format_spec is not None else ""
            self.check_format(spec, part)
            parts.append(format(value, spec))
            length += len(parts[-1])
            self.check_len(length)
        out = "".join(parts)
        self.check_len(len(out))
        return out

    def check_format(self, spec: str, node: ast.AST) -> None:
        """Refuse a format spec (``>999999``, ``.5000f``) with a width over the limit."""
        for digits in _WIDTH.findall(spec):
            if len(digits) > 6 or int(digits) > self.limits.max_format_width:
                raise self.limit_error(f"format width {digits} exceeds {self.limits.max_format_width}",
                                       node)

    def check_percent(self, fmt: str, args: Any, node: ast.AST) -> None:
        """Refuse ``fmt % args`` whose widths/precisions (``*`` ones included) are too large."""
        widths = percent_widths(fmt, args)
        for width in widths:
            if width > self.limits.max_format_width:
                raise self.limit_error(f"format width {width} exceeds "
                                       f"{self.limits.max_format_width}", node)
        # the exact length is checked after; this bound only keeps the result from being huge
        if sum(widths) + len(fmt) > self.limits.max_len or \
                percent_size(fmt, args) > 10 * self.limits.max_len:
            raise self.limit_error(f"formatted string would exceed {self.limits.max_len} "
                                   "characters", node)

    def e_UnaryOp(self, node: ast.UnaryOp) -> Any:
        return _UNARY[type(node.op)](self.eval(node.operand))

    def e_BinOp(self, node: ast.BinOp) -> Any:
        return self.binop(node.op, self.eval(node.left), self.eval(node.right), node)

    def binop(self, op: ast.operator, a: Any, b: Any, node: ast.AST) -> Any:
        fn = _BINOPS.get(type(op))
        if fn is None:
            raise self.not_allowed(f"the operator {type(op).__name__}", node)
        lim = self.limits
        seqs = (str, bytes, list, tuple)
        if isinstance(op, ast.Mult):
            if isinstance(a, seqs) and isinstance(b, int):
                self.check_len(len(a) * max(b, 0))
                self.step(len(a) * max(b, 0))
            elif isinstance(b, seqs) and isinstance(a, int):
                self.check_len(len(b) * max(a, 0))
                self.step(len(b) * max(a, 0))
            elif isinstance(a, int) and isinstance(b, int):
                self._bits(a.bit_length() + b.bit_length(), node)
        elif isinstance(op, ast.Add) and isinstance(a, seqs) and isinstance(b, seqs):
            self.check_len(len(a) + len(b))
            self.step(len(a) + len(b))
        elif isinstance(op, ast.Pow) and isinstance(a, int) and isinstance(b, int):
            if b > 0 and abs(a) > 1:
                self._bits((abs(a).bit_length() - 1) * b, node)
        elif isinstance(op, ast.Pow) and isinstance(a, int | float) and isinstance(b, int):
            if b > lim.max_int_bits and abs(a) > 1:
                raise self.error("exponent too large", node, fix=LIMIT_FIX)
        elif isinstance(op, ast.LShift) and isinstance(a, int) and isinstance(b, int):
            self._bits(a.bit_length() + b, node)
        elif isinstance(op, ast.Mod) and isinstance(a, str | bytes):
            self.guard(b)
            self.check_percent(a if isinstance(a, str) else a.decode("latin-1"), b, node)
            out = fn(a, b)
            self.check_len(len(out))
            return out
        return fn(a, b)

    def _bits(self, bits: int, node: ast.AST) -> None:
        if bits > self.limits.max_int_bits:
            raise self.limit_error(f"integer result would exceed {self.limits.max_int_bits} bits", node)

    def e_BoolOp(self, node: ast.BoolOp) -> Any:
        value: Any = None
        for expr in node.values:
            value = self.eval(expr)
            if isinstance(node.op, ast.And) and not value:
                return value
            if isinstance(node.op, ast.Or) and value:
                return value
        return value

    def e_Compare(self, node: ast.Compare) -> Any:
        left = self.eval(node.left)
        self.guard(left)
        for op, comp in zip(node.ops, node.comparators):
            right = self.eval(comp)
            self.guard(right)
            if not _CMPOPS[type(op)](left, right):
                return False
            left = right
        return True

    def e_IfExp(self, node: ast.IfExp) -> Any:
        return self.eval(node.body) if self.eval(node.test) else self.eval(node.orelse)

    def e_Subscript(self, node: ast.Subscript) -> Any:
        obj = self.eval(node.value)
        key = self.eval(node.slice)
        if not isinstance(obj, dict | list | tuple | str | bytes | range):
            raise self.error(f"cannot subscript a {type(obj).__name__}", node)
        return obj[key]

    def e_Slice(self, node: ast.Slice) -> slice:
        def part(x: ast.expr | None) -> Any:
            return None if x is None else self.eval(x)

        return slice(part(node.lower), part(node.upper), part(node.step))

    def e_Attribute(self, node: ast.Attribute) -> Any:
        if node.attr.startswith("_") and node.attr != "_base_":
            raise self.not_allowed(f"the private attribute '.{node.attr}'", node)
        obj = self._attr_owner(node)
        if isinstance(obj, ConfigDict):
            if node.attr in obj:
                return obj[node.attr]
            raise self.error(f"'{_describe(node.value)}' has no key '{node.attr}'", node,
                             candidates=_close(node.attr, obj))
        raise self.not_allowed(f"attribute access '.{node.attr}' on {type(obj).__name__}",
                               node)

    def _attr_owner(self, node: ast.Attribute) -> Any:
        if isinstance(node.value, ast.Name) and not self._defined(node.value.id):
            raise self.not_allowed(
                f"attribute access on '{node.value.id}' (only _base_.<key> and keys of configs "
                "taken from _base_ can be read with a dot)", node)
        return self.eval(node.value)

    def _defined(self, name: str) -> bool:
        return name == "_base_" or name in self.ns or any(name in s for s in self.scopes)

    def e_Call(self, node: ast.Call) -> Any:
        args: list[Any] = []
        for a in node.args:
            if isinstance(a, ast.Starred):
                args.extend(_materialize(self.eval(a.value), self))
            else:
                args.append(self.eval(a))
        kwargs: dict[str, Any] = {}
        for kw in node.keywords:
            if kw.arg is None:
                value = self.eval(kw.value)
                if not isinstance(value, Mapping):
                    raise self.error("** needs a mapping", kw.value)
                kwargs.update(value)
            else:
                kwargs[kw.arg] = self.eval(kw.value)
        func = node.func
        if isinstance(func, ast.Name):
            self.check_name(func.id, func)
            if func.id in SAFE_FUNCTIONS and not self._shadowed(func.id):
                return SAFE_FUNCTIONS[func.id](self, *args, **kwargs)
            raise self.not_allowed(f"calling '{func.id}()'", node)
        if isinstance(func, ast.Attribute):
            obj = self._attr_owner(func)
            allowed = next((m for t, m in SAFE_METHODS.items() if isinstance(obj, t)), None)
            if allowed and func.attr in allowed:
                return self._method(obj, func.attr, args, kwargs, node)
            raise self.not_allowed(f"calling '.{func.attr}()' on {type(obj).__name__}", node)
        raise self.not_allowed("this kind of call", node)

    def _shadowed(self, name: str) -> bool:
        return name in self.ns or any(name in s for s in self.scopes)

    def _method(self, obj: Any, name: str, args: list[Any], kwargs: dict[str, Any],
                node: ast.AST) -> Any:
        self.step(1 + len(obj))
        self.guard(obj)  # index/count/pop compare elements: bound the receiver too
        for a in [*args, *kwargs.values()]:
            self.guard(a)
        if name == "extend" and args:
            self.check_len(len(obj) + len(args[0]))
        if name in ("append", "insert"):
            self.check_len(len(obj) + 1)
        if name == "join" and args:
            items = _materialize(args[0], self)
            self.check_len(sum(len(x) for x in items if isinstance(x, str)) + len(obj) *
                           len(items))
            args = [items]
        if name == "replace" and len(args) >= 2 and isinstance(args[1], str):
            count = obj.count(args[0]) if args[0] else len(obj) + 1
            self.check_len(len(obj) + count * len(args[1]))
        return getattr(obj, name)(*args, **kwargs)

    def _comprehension(self, generators: list[ast.comprehension],
                       emit: Callable[[], None]) -> None:
        scope: dict[str, Any] = {}
        self.scopes.append(scope)
        try:
            self._loop(generators, 0, scope, emit)
        finally:
            self.scopes.pop()

    def _loop(self, gens: list[ast.comprehension], i: int, scope: dict[str, Any],
              emit: Callable[[], None]) -> None:
        if i == len(gens):
            emit()
            return
        gen = gens[i]
        if gen.is_async:
            raise self.not_allowed("async comprehension", gen.iter)
        iterable = self.eval(gen.iter)
        if not isinstance(iterable, list | tuple | dict | set | frozenset | str | range) and \
                not _is_lazy_iter(iterable) and not hasattr(iterable, "__iter__"):
            raise self.error(f"cannot iterate over {type(iterable).__name__}", gen.iter)
        for item in iterable:
            self.step()
            self._bind(gen.target, item, scope)
            if all(self.eval(cond) for cond in gen.ifs):
                self._loop(gens, i + 1, scope, emit)

    def _bind(self, target: ast.expr, value: Any, scope: dict[str, Any]) -> None:
        if isinstance(target, ast.Name):
            self.check_name(target.id, target)
            scope[target.id] = value
        elif isinstance(target, ast.Tuple | ast.List):
            values = list(value)
            if len(values) != len(target.elts):
                raise self.error("wrong number of values to unpack", target)
            for t, v in zip(target.elts, values):
                self._bind(t, v, scope)
        else:
            raise self.not_allowed("this loop target", target)

    def e_ListComp(self, node: ast.ListComp) -> list[Any]:
        out: list[Any] = []

        def emit() -> None:
            out.append(self.eval(node.elt))
            self.check_len(len(out))

        self._comprehension(node.generators, emit)
        return out

    e_GeneratorExp = e_ListComp  # consumed at once: a generator is just a list here

    def e_SetComp(self, node: ast.SetComp) -> set[Any]:
        return set(self.e_ListComp(node))  # type: ignore[arg-type]

    def e_DictComp(self, node: ast.DictComp) -> dict[Any, Any]:
        out: dict[Any, Any] = {}

        def emit() -> None:
            key = self.eval(node.key)
            self.guard(key)
            out[key] = self.eval(node.value)
            self.check_len(len(out))

        self._comprehension(node.generators, emit)
        return out


def _describe(node: ast.expr) -> str:
    try:
        return ast.unparse(node)
    except Exception:  # pragma: no cover - unparse handles every expression node
        return "value"


def _close(name: str, obj: Mapping[Any, Any]) -> list[str]:
    return did_you_mean(name, [k for k in obj if isinstance(k, str)])
