"""The safe ``.py`` config evaluator: one class that interprets the ``ast`` as data, never runs it.

The file is parsed with :mod:`ast` and interpreted node by node. Only data can be produced: there
are no imports, no user functions, no access to Python objects other than the config's own values.
What a config may use (everything the 769 MMSegmentation 1.x configs use, and a little more):

* literals, ``dict(...)``/``list(...)``/``tuple(...)``/``set(...)``, ``{...}``, ``[...]``, ``(...)``
* names assigned earlier in the file; ``_base_`` and ``_base_.a.b`` (keys of inherited configs)
* arithmetic, comparisons, ``and``/``or``/``not``, ``x if c else y``, subscripts and slices
* f-strings, comprehensions over data, and the pure builtins in :data:`SAFE_FUNCTIONS`
* a few data methods (:data:`SAFE_METHODS`), e.g. ``custom_keys.update({...})``, and
  ``'layers.{}'.format(i)`` (fields are positions or names only: ``{0.attr}``/``{0[k]}`` refused)
* ``del`` of a name, of a key of ``_base_`` (``del _base_.model``) or of an item (``del d['k']``)
* ``import copy`` with ``copy.deepcopy(x)`` / ``copy.copy(x)`` of config data
* ``assert`` over config data (one that fails is a :class:`ConfigError` at its line)
* ``for`` statements over config data (targets: names or tuples of names; an ``else:`` runs at the
  end, as there is no ``break``) and ``if``/``elif``/``else``, whose bodies hold these statements;
  loop variables stay top-level names, as when MMEngine runs the file

Every statement run and every expression node evaluated counts as a step of work
(:attr:`Limits.max_steps`), so loops are bounded like comprehensions.

Everything else (other imports, other calls, attribute access on anything but ``_base_``/config
dicts, lambdas, ``def``/``class``/``while``/``break``/``continue``/``with``, dunder names, walrus)
is a :class:`ConfigError`
naming ``file:line`` and what is allowed; an import of any other module says that the file needs
code execution. Sizes are bounded (:class:`~lightning_runtime.config._limits.Limits`), so ``10**10**10``,
``'a' * 10**12`` or ``[0] * 10**10`` are refused quickly without allocating anything.

Example:
    >>> from lightning_runtime.config._types import ConfigDict
    >>> evaluate_source("lr = 0.01\\nopt = dict(lr=lr * 2)", "cfg.py", ConfigDict())
    {'lr': 0.01, 'opt': {'lr': 0.02}}
"""

from __future__ import annotations

import ast
import copy
import re
import string
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar

from lightning_runtime.config._limits import (
    ALLOWED,
    GENERIC_FIX,
    LIMIT_FIX,
    SAFE_FUNCTIONS,
    SAFE_METHODS,
    DataProblem,
    Limits,
    _is_lazy_iter,
    _materialize,
    data_problem_message,
    percent_size,
    percent_widths,
    walk_size,
)
from lightning_runtime.config._types import ConfigDict
from lightning_runtime.errors import ConfigError, did_you_mean, format_path

__all__ = ["Evaluator", "evaluate_source", "parse_source", "read_base_files", "check_data"]

#: AST operators as the plain Python operations on data they stand for.
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
#: How an error names a statement or expression that a config may not hold.
_NAMES = {
    ast.Import: "import", ast.ImportFrom: "import", ast.FunctionDef: "def", ast.AsyncFunctionDef:
    "def", ast.ClassDef: "class", ast.Lambda: "lambda", ast.AsyncFor: "async for loop",
    ast.While: "while loop", ast.Break: "break", ast.Continue: "continue", ast.With:
    "with statement", ast.Try: "try statement",
    ast.NamedExpr: "assignment expression (:=)", ast.Global: "global",
    ast.Nonlocal: "nonlocal", ast.Raise: "raise", ast.Await: "await",
    ast.Yield: "yield", ast.YieldFrom: "yield", ast.Return: "return",
}
#: Digits of a width/precision inside a format spec.
_WIDTH = re.compile(r"\d+")
#: Splits a ``str.format`` template into (literal, field, spec, conversion); parses, runs nothing.
_FORMATTER = string.Formatter()
_NEEDS_CODE_FIX = ("write the values as data (type='Name' strings, dict(...), _base_ files); a file "
                  "that must run code can only be read by mmengine.Config.fromfile, which executes "
                  "it: use that only for files you trust")


class _CopyModule:
    """What ``import copy`` binds: only ``copy.deepcopy(x)`` and ``copy.copy(x)`` can be called.

    It is never a config value: MMEngine drops modules from a loaded config, and so does
    :func:`evaluate_source`.
    """

    __slots__ = ()
    functions: ClassVar[dict[str, Callable[[Any], Any]]] = {"deepcopy": copy.deepcopy,
                                                            "copy": copy.copy}

    def __repr__(self) -> str:
        return "<module 'copy'>"


_COPY_MODULE = _CopyModule()
#: Data methods whose work is the size of their argument, not of the list or dict they change.
_ADDING = frozenset({"append", "extend", "update", "setdefault", "get"})


class Evaluator:
    """Interprets one ``.py`` config: statements, expressions, names, errors and bounds.

    Each ``e_<Node>`` method evaluates one kind of :mod:`ast` expression node; a node without a
    method is refused with the list of what is allowed. Operations are the plain Python ones on
    config data, checked against :class:`Limits` before they run.
    """

    def __init__(self, filename: str, base: ConfigDict, limits: Limits,
                 budget: list[int] | None = None) -> None:
        self.budget = budget if budget is not None else [limits.max_total]
        self.filename = filename
        self.base = base
        self.limits = limits
        self.ns: dict[str, Any] = {}
        self.scopes: list[dict[str, Any]] = []
        self.line = 1
        self.target: str | None = None
        # a method call written as a statement (xs.append(x)) and the values it passed in
        self.statement_call: ast.Call | None = None
        self.added: list[Any] = []
        # work is counted over the whole load when the caller shares ``budget = [size, steps]``
        if len(self.budget) < 2:
            self.budget.append(0)

    # -- errors and bounds -------------------------------------------------------------------
    def error(self, message: str, node: ast.AST | None = None, *, fix: str | None = None,
              expected: str | None = None, candidates: list[str] | None = None) -> ConfigError:
        line = getattr(node, "lineno", None) or self.line
        return ConfigError(message, path=self.target, file=self.filename, line=line,
                           expected=expected, fix=fix or GENERIC_FIX, candidates=candidates)

    def not_allowed(self, what: str, node: ast.AST) -> ConfigError:
        fix = "compute the value outside the config, or write it out as a literal"
        if isinstance(node, ast.While | ast.Break | ast.Continue):
            fix = ("loop over data with 'for x in items:' (with 'if' inside to skip items), or "
                   "build the list with a comprehension")
        return self.error(
            f"{what} is not allowed in a config file (configs are read as data, never run)",
            node, expected=ALLOWED, fix=fix,
        )

    def limit_error(self, message: str, node: ast.AST | None = None) -> ConfigError:
        """A size or work limit was hit: the value is too big to be config data."""
        return self.error(message, node, fix=LIMIT_FIX)

    def step(self, work: int = 1) -> None:
        """Count ``work`` units (iterations, elements touched) against ``max_steps``."""
        self.budget[1] += work
        if self.budget[1] > self.limits.max_steps:
            raise self.limit_error(f"evaluation exceeds {self.limits.max_steps} steps of work")

    def check_len(self, n: int) -> None:
        if n > self.limits.max_len:
            raise self.limit_error(f"value of {n} elements exceeds the limit of {self.limits.max_len}")

    def guard(self, value: Any) -> int:
        """Refuse ``value`` if its expanded size is over the limit; return the size."""
        if isinstance(value, dict | list | tuple | set | frozenset):
            try:
                size = walk_size(value, self.limits.max_nodes, self.limits.max_depth)
            except DataProblem as problem:
                message, fix = data_problem_message(problem, self.limits)
                raise self.error(message, fix=fix) from None
            if size > self.limits.max_nodes:
                raise self.limit_error(f"value larger than {self.limits.max_nodes} elements")
            self.step(size)
            return size
        return 1

    def spend(self, value: Any) -> None:
        self.budget[0] -= self.guard(value)
        if self.budget[0] < 0:
            raise self.limit_error(f"config larger than {self.limits.max_total} elements in all")

    # -- statements ----------------------------------------------------------------------------
    def run(self, tree: ast.Module) -> dict[str, Any]:
        for stmt in tree.body:
            try:
                self.statement(stmt, top=True)
            except RecursionError:
                raise self.error("statement nested too deeply", stmt,
                                 fix="split the expression: assign parts to names first") from None
        return self.ns

    def block(self, body: list[ast.stmt]) -> None:
        """The statements of a ``for`` or ``if`` body, in order."""
        for stmt in body:
            self.statement(stmt)

    def statement(self, stmt: ast.stmt, top: bool = False) -> None:
        """Run one statement; ``top`` for the file's own (a ``_base_ =`` is only read there)."""
        self.line = stmt.lineno
        self.target = None
        self.step()
        if isinstance(stmt, ast.Assign):
            first = stmt.targets[0]
            if isinstance(first, ast.Name) and first.id == "_base_":
                if top:
                    return  # read separately, as MMEngine does
                raise self.error("_base_ can only be assigned at the top level of the file",
                                 stmt, fix="move '_base_ = [...]' out of the for/if block")
            self.target = _target_name(first)
            value = self.eval(stmt.value)
            self.spend(value)
            for target in stmt.targets:
                self.assign(target, value)
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            self.target = _target_name(stmt.target)
            value = self.eval(stmt.value)
            self.spend(value)
            self.assign(stmt.target, value)
        elif isinstance(stmt, ast.AugAssign):
            self.target = _target_name(stmt.target)
            current = self.eval(_as_load(stmt.target))
            value = self.binop(stmt.op, current, self.eval(stmt.value), stmt)
            if isinstance(current, list) and isinstance(value, list):
                current[:] = value  # ``+=`` on a list extends it in place, as Python does
                value = current
            self.spend(value)
            self.assign(stmt.target, value)
        elif isinstance(stmt, ast.Expr):
            if isinstance(stmt.value, ast.Constant):
                return  # docstring or bare literal
            if isinstance(stmt.value, ast.Call) and isinstance(stmt.value.func, ast.Attribute):
                self.target = _target_name(stmt.value.func.value)
                self.statement_call, self.added = stmt.value, []
                self.eval(stmt.value)
                # what the call put into the config (xs.append(x): x) counts towards the total
                # size, and is where a cycle would show (x reaches xs, which now holds x): the
                # receiver is not measured again, so a loop of n appends is n steps, not n**2
                for value in self.added:
                    self.spend(value)
                return
            raise self.not_allowed("an expression statement other than a method call", stmt)
        elif isinstance(stmt, ast.Pass):
            return
        elif isinstance(stmt, ast.Delete):
            for target in stmt.targets:
                self.target = _target_name(target)
                self.delete(target)
        elif isinstance(stmt, ast.Assert):
            self.check_assert(stmt)
        elif isinstance(stmt, ast.Import | ast.ImportFrom):
            self.import_copy(stmt)
        elif isinstance(stmt, ast.For):
            self.for_loop(stmt)
        elif isinstance(stmt, ast.If):
            self.block(stmt.body if self.eval(stmt.test) else stmt.orelse)
        else:
            what = _NAMES.get(type(stmt), f"the statement {type(stmt).__name__}")
            raise self.not_allowed(f"'{what}'" if " " not in what else what, stmt)

    def for_loop(self, stmt: ast.For) -> None:
        """``for names in data: ...`` as Python runs it: the loop variables stay top-level names.

        Each iteration is a step of work (and so is each statement and expression in the body), so
        nested or long loops end in a :class:`ConfigError` once :attr:`Limits.max_steps` is spent.
        """
        self._check_loop_target(stmt.target)
        name = self.target = _target_name(stmt.target)
        iterable = self.iterable(stmt.iter)
        simple: str | None = None  # a plain name is checked once here, not at every iteration
        if isinstance(stmt.target, ast.Name):
            self.check_bindable(stmt.target)
            simple = stmt.target.id
        try:
            for item in iterable:
                self.step()
                self.line, self.target = stmt.lineno, name
                if simple is not None:
                    self.ns[simple] = item
                else:
                    self.assign(stmt.target, item)
                self.block(stmt.body)
        except RuntimeError as exc:  # a dict or set changed size while the loop iterated it
            if isinstance(exc, RecursionError):
                raise
            raise self.error(f"RuntimeError: {exc}", stmt,
                             fix="iterate over a copy (list(d)) when changing what you iterate "
                                 "over") from None
        self.block(stmt.orelse)  # no 'break' in a config: the else block always runs

    def _check_loop_target(self, target: ast.expr) -> None:
        if isinstance(target, ast.Tuple | ast.List):
            for elt in target.elts:
                self._check_loop_target(elt)
        elif not isinstance(target, ast.Name):
            raise self.not_allowed(f"the loop target '{_describe(target)}' (loop over names: "
                                   "for x in ..., for k, v in ...)", target)

    def iterable(self, node: ast.expr) -> Any:
        """The value of ``node`` if a loop or a comprehension can iterate over it."""
        iterable = self.eval(node)
        if not isinstance(iterable, list | tuple | dict | set | frozenset | str | range) and \
                not _is_lazy_iter(iterable) and not hasattr(iterable, "__iter__"):
            raise self.error(f"cannot iterate over {type(iterable).__name__}", node)
        return iterable

    def assign(self, target: ast.expr, value: Any) -> None:
        if isinstance(target, ast.Name):
            self.check_bindable(target)
            self.ns[target.id] = value
        elif isinstance(target, ast.Tuple | ast.List):
            values = list(value) if isinstance(value, list | tuple | str | range) else None
            if values is None or len(values) != len(target.elts):
                raise self.error(f"cannot unpack {type(value).__name__} into "
                                 f"{len(target.elts)} names", target)
            for t, v in zip(target.elts, values):
                self.assign(t, v)
        elif isinstance(target, ast.Subscript):
            obj, key = self._item(target, "assign")
            try:
                obj[key] = value
            except (IndexError, TypeError, KeyError) as exc:
                raise self.error(f"cannot assign item {key!r}: {exc}", target) from None
            self.guard(value)  # a cycle made here (d['x'] = d) passes through value
        elif isinstance(target, ast.Attribute) and not target.attr.startswith("_"):
            obj = self.eval(target.value)
            if not isinstance(obj, ConfigDict):  # MMEngine: only ConfigDicts (from _base_) allow it
                raise self.not_allowed(
                    f"setting '.{target.attr}' on {type(obj).__name__} (use ['{target.attr}'])",
                    target)
            obj[target.attr] = value
            self.guard(value)
        else:
            raise self.not_allowed(f"assigning to {type(target).__name__.lower()}", target)

    def _item(self, target: ast.Subscript, verb: str) -> tuple[dict[Any, Any] | list[Any], Any]:
        """The dict or list and the (bounded) key of ``x[key]`` in an assignment or a ``del``."""
        obj = self.eval(target.value)
        key = self.eval(target.slice)
        if not isinstance(obj, dict | list):
            raise self.error(f"cannot {verb} an item of {type(obj).__name__}", target)
        self.guard(key)
        return obj, key

    def check_bindable(self, target: ast.Name) -> None:
        """A name that an assignment or a loop may bind (no dunder name, not ``_base_``)."""
        self.check_name(target.id, target)
        if target.id == "_base_":
            raise self.error("_base_ cannot be assigned here", target)

    def check_name(self, name: str, node: ast.AST) -> None:
        if name.startswith("__") and name.endswith("__"):
            raise self.not_allowed(f"the dunder name '{name}'", node)

    def delete(self, target: ast.expr) -> None:
        """``del name``, ``del _base_.key`` / ``del cfg.key`` (config dicts), ``del x[k]``."""
        if isinstance(target, ast.Name):
            self.check_name(target.id, target)
            if target.id == "_base_":
                raise self.error("_base_ itself cannot be deleted", target,
                                 fix="delete one inherited key: del _base_.<key>")
            if target.id not in self.ns:
                raise self.undefined(target.id, target)
            del self.ns[target.id]
        elif isinstance(target, ast.Tuple | ast.List):
            for elt in target.elts:
                self.delete(elt)
        elif isinstance(target, ast.Subscript):
            obj, key = self._item(target, "delete")
            self.step(1 + len(obj))
            try:
                del obj[key]
            except (IndexError, TypeError, KeyError) as exc:
                raise self.error(f"cannot delete item {key!r}: {type(exc).__name__}: {exc}",
                                 target, candidates=_close(key, obj) if isinstance(obj, dict)
                                 and isinstance(key, str) else None,
                                 fix="delete a key or index that exists") from None
        elif isinstance(target, ast.Attribute) and not target.attr.startswith("_"):
            obj = self._attr_owner(target)
            if not isinstance(obj, ConfigDict):  # MMEngine: only ConfigDicts (from _base_) allow it
                raise self.not_allowed(
                    f"deleting '.{target.attr}' of {type(obj).__name__} "
                    f"(use del x['{target.attr}'])", target)
            if target.attr not in obj:
                raise self.error(f"'{_describe(target.value)}' has no key '{target.attr}'",
                                 target, candidates=_close(target.attr, obj),
                                 fix="delete a key that exists")
            del obj[target.attr]
        else:
            raise self.not_allowed(f"deleting {type(target).__name__.lower()}", target)

    def check_assert(self, stmt: ast.Assert) -> None:
        """``assert test[, msg]`` over config data: a false test is an error at its line."""
        if self.eval(stmt.test):
            return
        detail = ""
        if stmt.msg is not None:
            msg = self.eval(stmt.msg)
            self.guard(msg)
            text = str(msg)
            detail = ": " + (text if len(text) <= 500 else text[:500] + "...")
        raise self.error(f"the config's own check 'assert {_describe(stmt.test)}' failed{detail}",
                         stmt, fix="change the values so that the assert holds (it is the config "
                                   "author's check of its own values)")

    def import_copy(self, stmt: ast.Import | ast.ImportFrom) -> None:
        """``import copy`` (``as`` a name) binds :data:`_COPY_MODULE`; any other import is refused."""
        if isinstance(stmt, ast.Import) and all(a.name == "copy" for a in stmt.names):
            for alias in stmt.names:
                name = alias.asname or "copy"
                self.check_name(name, stmt)
                self.ns[name] = _COPY_MODULE
            return
        text = " ".join(ast.unparse(stmt).split())
        text = text if len(text) <= 120 else text[:117] + "..."
        if isinstance(stmt, ast.ImportFrom) and stmt.module == "copy" and not stmt.level:
            raise self.error(f"'{text}' is not supported: a config reads the copy module as "
                             "'import copy' only", stmt, expected=ALLOWED,
                             fix="write 'import copy' and call copy.deepcopy(x) / copy.copy(x)")
        if isinstance(stmt, ast.ImportFrom) and stmt.module == "mmengine.config" and \
                any(a.name == "read_base" for a in stmt.names):
            raise self.error(
                f"'{text}' starts an MMEngine new-style config (with read_base(): ... and "
                "imported classes as type=): this file needs code execution, and config files "
                "are read as data here, never run", stmt, expected=ALLOWED,
                fix="use the codebase's old-style config of the same model (_base_ = [...] and "
                    "type='Name' strings); only mmengine.Config.fromfile reads new-style files, "
                    "by running them: use it only for files you trust")
        raise self.error(
            f"'{text}' imports code: this file needs code execution, and config files are read "
            "as data here, never run (the one import a config may hold is 'import copy', for "
            "copy.deepcopy/copy.copy)", stmt, expected=ALLOWED, fix=_NEEDS_CODE_FIX)

    # -- expressions ---------------------------------------------------------------------------
    def eval(self, node: ast.expr) -> Any:
        self.step()
        method = _EXPRESSIONS.get(type(node))
        if method is None:
            what = _NAMES.get(type(node), f"the expression {type(node).__name__}")
            raise self.not_allowed(f"'{what}'" if " " not in what else what, node)
        try:
            return method(self, node)
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
            value = self.ns[node.id]
            if value is _COPY_MODULE:
                raise self.error(f"the module '{node.id}' (import copy) can only be called as "
                                 f"{node.id}.deepcopy(x) or {node.id}.copy(x), not used as a "
                                 "value", node, expected=ALLOWED,
                                 fix=f"call {node.id}.deepcopy(x) on config data")
            return value
        if node.id == "_base_":
            return self.base
        if node.id in SAFE_FUNCTIONS:
            raise self.error(f"'{node.id}' can only be called here, not used as a value", node,
                             fix=f"call it with data arguments, e.g. {node.id}(...), or write the value out")
        raise self.undefined(node.id, node)

    def undefined(self, name: str, node: ast.AST) -> ConfigError:
        """The error for a name that was never assigned (or was deleted)."""
        known = list(self.ns) + [n for s in self.scopes for n in s]
        return self.error(
            f"name '{name}' is not defined", node, candidates=did_you_mean(name, known),
            expected="a name assigned earlier in this file, _base_, or a literal",
            fix=f"define {name} above this line (or use _base_.{name} for an inherited value)",
        )

    def _is_copy_module(self, node: ast.expr) -> bool:
        """``node`` is a name bound by ``import copy`` (and not shadowed by a loop variable)."""
        if not isinstance(node, ast.Name) or any(node.id in s for s in self.scopes):
            return False
        return self.ns.get(node.id) is _COPY_MODULE

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
            spec = self.eval(part.format_spec) if part.format_spec is not None else ""
            conversion = chr(part.conversion) if part.conversion != -1 else None
            parts.append(self.format_field(value, conversion, spec, part))
            length += len(parts[-1])
            self.check_len(length)
        out = "".join(parts)
        self.check_len(len(out))
        return out

    def format_field(self, value: Any, conversion: str | None, spec: str, node: ast.AST) -> str:
        """One replacement field of an f-string or ``str.format``: conversion, then spec."""
        self.guard(value)
        if conversion == "r":
            value = repr(value)
        elif conversion == "s":
            value = str(value)
        elif conversion == "a":
            value = ascii(value)
        elif conversion is not None:
            raise ValueError(f"Unknown conversion specifier {conversion}")
        self.check_format(spec, node)
        return format(value, spec)

    def str_format(self, template: str, args: list[Any], kwargs: dict[str, Any],
                   node: ast.AST) -> str:
        """``template.format(*args, **kwargs)`` with Python's result, fields by position or name.

        A field that reads an attribute or an item (``{0.__class__}``, ``{0[k]}``) is refused:
        that is how ``str.format`` reaches into objects. Widths and the length are bounded.
        """
        auto: list[int | bool] = [0]  # the next automatic index, False once numbered by hand
        return self._vformat(template, args, kwargs, node, 2, auto)

    def _vformat(self, template: str, args: list[Any], kwargs: dict[str, Any], node: ast.AST,
                 depth: int, auto: list[int | bool]) -> str:
        # string.Formatter._vformat's rules (one nested level of fields inside a spec)
        if depth < 0:
            raise ValueError("Max string recursion exceeded")
        self.check_len(len(template))
        parts: list[str] = []
        length = 0
        for literal, field, spec, conversion in _FORMATTER.parse(template):
            self.step()
            parts.append(literal)
            length += len(literal)
            if field is None:
                continue
            if "." in field or "[" in field:
                raise self.error(
                    f"the format field '{{{field}}}' reads an attribute or an item: not allowed "
                    "in a config file (configs are read as data, never run)", node,
                    expected=ALLOWED,
                    fix="use fields by position or name ('{}', '{0}', '{name:>8}') and pass the "
                        "value itself: '{}'.format(d['key']) instead of '{0[key]}'.format(d)")
            key: int | str = field
            if field == "":
                if auto[0] is False:
                    raise ValueError("cannot switch from manual field specification to "
                                     "automatic field numbering")
                key = int(auto[0])
                auto[0] = key + 1
            elif field.isdigit():
                if auto[0]:
                    raise ValueError("cannot switch from automatic field numbering to manual "
                                     "field specification")
                auto[0] = False
                key = int(field)
            value = args[key] if isinstance(key, int) else kwargs[key]
            spec = self._vformat(spec or "", args, kwargs, node, depth - 1, auto)
            parts.append(self.format_field(value, conversion, spec, node))
            length += len(parts[-1])
            self.check_len(length)
        return "".join(parts)

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
        if isinstance(func, ast.Attribute) and self._is_copy_module(func.value):
            return self.copy_call(func, args, kwargs, node)
        if isinstance(func, ast.Attribute):
            obj = self._attr_owner(func)
            allowed = next((m for t, m in SAFE_METHODS.items() if isinstance(obj, t)), None)
            if allowed and func.attr in allowed:
                return self._method(obj, func.attr, args, kwargs, node)
            raise self.not_allowed(f"calling '.{func.attr}()' on {type(obj).__name__}", node)
        raise self.not_allowed("this kind of call", node)

    def copy_call(self, func: ast.Attribute, args: list[Any], kwargs: dict[str, Any],
                  node: ast.AST) -> Any:
        """``copy.deepcopy(x)`` / ``copy.copy(x)`` of one config value (data only, bounded)."""
        name = f"{_describe(func.value)}.{func.attr}"
        fn = _CopyModule.functions.get(func.attr)
        if fn is None:
            raise self.not_allowed(f"calling '{name}()' (of the copy module, only deepcopy and "
                                   "copy)", node)
        if kwargs or len(args) != 1:
            raise self.error(f"{name}() takes exactly one value in a config", node,
                             fix=f"call {name}(x) with one config value")
        value = args[0]
        try:
            walk_size(value, self.limits.max_nodes, self.limits.max_depth, check_types=True)
        except DataProblem as problem:
            message, fix = data_problem_message(problem, self.limits)
            raise self.error(f"{name}() of a value that is not config data: {message}", node,
                             fix=fix) from None
        self.guard(value)
        return fn(value)

    def _shadowed(self, name: str) -> bool:
        return name in self.ns or any(name in s for s in self.scopes)

    def _method(self, obj: Any, name: str, args: list[Any], kwargs: dict[str, Any],
                node: ast.AST) -> Any:
        if name in _ADDING and isinstance(obj, list | dict):
            self.step()  # the work is the argument's size, counted below
            if name in ("extend", "update") and args and \
                    not isinstance(args[0], list | tuple | dict | set | frozenset | str):
                args = [_materialize(args[0], self), *args[1:]]  # views, zip: checked as data
        else:
            self.step(1 + len(obj))  # they copy, shift or scan the receiver
        if name in ("index", "count"):
            self.guard(obj)  # they compare elements: bound the receiver too
        for a in [*args, *kwargs.values()]:
            self.guard(a)
        if node is self.statement_call:
            self.added = [*args, *kwargs.values()]
        if name == "extend" and args:
            self.check_len(len(obj) + len(args[0]))
        if name in ("append", "insert"):
            self.check_len(len(obj) + 1)
        if name == "join" and args:
            items = _materialize(args[0], self)
            self.check_len(sum(len(x) for x in items if isinstance(x, str)) + len(obj) *
                           len(items))
            args = [items]
        if name == "format" and isinstance(obj, str):
            return self.str_format(obj, args, kwargs, node)
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
        iterable = self.iterable(gen.iter)
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


#: ``ast`` expression type -> the ``Evaluator.e_<Node>`` method that evaluates it.
_EXPRESSIONS: dict[type, Callable[[Evaluator, Any], Any]] = {
    getattr(ast, name[2:]): getattr(Evaluator, name)
    for name in dir(Evaluator) if name.startswith("e_") and hasattr(ast, name[2:])
}


def _describe(node: ast.expr) -> str:
    try:
        return ast.unparse(node)
    except Exception:  # pragma: no cover - unparse handles every expression node
        return "value"


def _close(name: str, obj: Mapping[Any, Any]) -> list[str]:
    return did_you_mean(name, [k for k in obj if isinstance(k, str)])


def _target_name(node: ast.expr) -> str | None:
    while isinstance(node, ast.Subscript | ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _as_load(node: ast.expr) -> ast.expr:
    copy = ast.parse(ast.unparse(node), mode="eval").body
    return ast.copy_location(copy, node)


def parse_source(source: str, filename: str, limits: Limits | None = None) -> ast.Module:
    """Parse ``source``; syntax errors become a :class:`ConfigError` with ``file:line``.

    The file's length and its number of top-level statements are bounded (:class:`Limits`).
    """
    limits = limits or Limits()
    if len(source) > limits.max_source:
        raise ConfigError(f"config file larger than {limits.max_source} characters",
                          file=filename, fix=LIMIT_FIX)
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as exc:
        raise ConfigError(f"invalid Python syntax: {exc.msg}", file=filename, line=exc.lineno,
                          fix="fix the syntax at this line") from None
    except ValueError as exc:  # NUL bytes (Python < 3.12)
        raise ConfigError(f"invalid Python source: {exc}", file=filename,
                          fix="remove the NUL bytes (a config is a text file)") from None
    except (RecursionError, MemoryError) as exc:
        raise ConfigError(f"cannot parse config (nested too deeply or too large): "
                          f"{type(exc).__name__}", file=filename, fix=LIMIT_FIX) from None
    if len(tree.body) > limits.max_statements:
        stmt = tree.body[limits.max_statements]
        raise ConfigError(f"more than {limits.max_statements} top-level statements",
                          file=filename, line=stmt.lineno, fix=LIMIT_FIX)
    return tree


def evaluate_source(source: str | ast.Module, filename: str, base: ConfigDict,
                    limits: Limits | None = None,
                    budget: list[int] | None = None) -> dict[str, Any]:
    """Evaluate a config module and return its top-level names in assignment order.

    ``_base_`` assignments are skipped (the caller reads them with :func:`read_base_files`);
    ``_base_`` itself reads from ``base``. Names starting with ``__`` are dropped, as MMEngine
    does. ``budget`` (``[n]``) is the size allowance shared with the other files of one load.
    """
    limits = limits or Limits()
    tree = source if isinstance(source, ast.Module) else parse_source(source, filename, limits)
    ev = Evaluator(filename, base, limits, budget)
    ns = ev.run(tree)
    # MMEngine drops names starting with ``__`` and modules (``import copy``) from a config
    out = {k: v for k, v in ns.items() if not k.startswith("__") and v is not _COPY_MODULE}
    check_data(out, filename, limits, lambda key: (filename, _line_of(tree, key)), ev.budget)
    return out


def check_data(data: dict[str, Any], filename: str, limits: Limits,
               locate: Callable[[str], tuple[str, int | None] | None] | None = None,
               budget: list[int] | None = None) -> None:
    """Refuse top-level values that are not bounded data (type, cycle, depth, total size).

    Args:
        data: Top-level names and their values.
        filename: The file named in errors (unless ``locate`` knows better).
        limits: The bounds.
        locate: ``key -> (file, line)`` of the top-level key, when known.
        budget: ``[size, steps]`` of the load: the walked size is counted as steps of work.

    Raises:
        ConfigError: naming the path of the offending value (``x[0]``), its file and line.
    """

    def where(key: str) -> dict[str, Any]:
        found = locate(key) if locate else None
        return {"file": found[0] if found else filename, "line": found[1] if found else None}

    total = 0
    for key, value in data.items():
        try:
            total += walk_size(value, limits.max_total, limits.max_depth, check_types=True)
        except DataProblem as problem:
            message, fix = data_problem_message(problem, limits)
            raise ConfigError(message, path=format_path([key, *problem.path]), fix=fix,
                              **where(key)) from None
        if total > limits.max_total:
            raise ConfigError(f"config larger than {limits.max_total} elements in all",
                              path=str(key), fix=LIMIT_FIX, **where(key))
    if budget is not None:
        while len(budget) < 2:
            budget.append(0)
        budget[1] += total
        if budget[1] > limits.max_steps:
            raise ConfigError(f"reading the config exceeds {limits.max_steps} steps of work",
                              file=filename, fix=LIMIT_FIX)


def _statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements of ``body`` in source order, those inside ``for``/``if`` blocks included."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, ast.For | ast.If):
            yield from _statements(stmt.body)
            yield from _statements(stmt.orelse)


def _line_of(tree: ast.Module, key: str) -> int | None:
    """Line of the last statement that assigns or changes ``key`` (a loop variable included)."""
    line = None
    for stmt in _statements(tree.body):
        targets: list[ast.expr] = []
        if isinstance(stmt, ast.For):
            targets = [elt for elt in ast.walk(stmt.target) if isinstance(elt, ast.Name)]
        elif isinstance(stmt, ast.Assign):
            targets = stmt.targets
        elif isinstance(stmt, ast.AnnAssign | ast.AugAssign):
            targets = [stmt.target]
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and \
                isinstance(stmt.value.func, ast.Attribute):
            targets = [stmt.value.func.value]
        if any(_target_name(t) == key for t in targets):
            line = stmt.lineno
    return line


def read_base_files(tree: ast.Module, filename: str) -> tuple[list[str], int | None]:
    """The ``_base_`` entries of a parsed config (first ``_base_ =`` wins) and their line."""
    for stmt in tree.body:
        if (isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name)
                and stmt.targets[0].id == "_base_"):
            # MMEngine evaluates the expression alone (no names): 'a_' + 'b.py' works too
            ev = Evaluator(filename, ConfigDict(), Limits())
            ev.line, ev.target = stmt.lineno, "_base_"
            try:
                value = ev.eval(stmt.value)
            except ConfigError:
                raise ConfigError(
                    "_base_ must be a string or a list of strings written as literals (joined "
                    "with + at most), using no names", path="_base_", file=filename,
                    line=stmt.lineno, fix="_base_ = ['../_base_/default_runtime.py']") from None
            files = value if isinstance(value, list) else [value]
            for f in files:
                if not isinstance(f, str):
                    raise ConfigError(
                        f"_base_ entries must be file paths (str), got {type(f).__name__}",
                        path="_base_", file=filename, line=stmt.lineno, fix="write _base_ = ['relative/path.py', ...]")
            return files, stmt.lineno
    return [], None

