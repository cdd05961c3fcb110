"""Evaluate a ``.py`` config as data, without executing it.

The file is parsed with :mod:`ast` and interpreted node by node. Only data can be produced: there
are no imports, no user functions, no access to Python objects other than the config's own values.
What a config may use (everything the 769 MMSegmentation 1.x configs use, and a little more):

* literals, ``dict(...)``/``list(...)``/``tuple(...)``/``set(...)``, ``{...}``, ``[...]``, ``(...)``
* names assigned earlier in the file; ``_base_`` and ``_base_.a.b`` (keys of inherited configs)
* arithmetic, comparisons, ``and``/``or``/``not``, ``x if c else y``, subscripts and slices
* f-strings, comprehensions over data, and the pure builtins in :data:`SAFE_FUNCTIONS`
* a few data methods (:data:`SAFE_METHODS`), e.g. ``custom_keys.update({...})``

Everything else (imports, other calls, attribute access on anything but ``_base_``/config dicts,
lambdas, ``def``/``class``/loops/``with``, dunder names, walrus) is a :class:`ConfigError` naming
``file:line`` and what is allowed. Sizes are bounded (:class:`Limits`), so ``10**10**10``,
``'a' * 10**12`` or ``[0] * 10**10`` are refused quickly without allocating anything.

Example:
    >>> from lightning_runtime.config._types import ConfigDict
    >>> evaluate_source("lr = 0.01\\nopt = dict(lr=lr * 2)", "cfg.py", ConfigDict())
    {'lr': 0.01, 'opt': {'lr': 0.02}}
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

from lightning_runtime.config._expr import ExpressionsMixin
from lightning_runtime.config._safe import (
    _NAMES,
    ALLOWED,
    GENERIC_FIX,
    LIMIT_FIX,
    SAFE_FUNCTIONS,
    SAFE_METHODS,
    DataProblem,
    Limits,
    data_problem_message,
    tree_size,
    walk_size,
)
from lightning_runtime.config._types import ConfigDict
from lightning_runtime.errors import ConfigError, format_path

__all__ = ["evaluate_source", "parse_source", "read_base_files", "check_data", "Limits",
           "SAFE_FUNCTIONS", "SAFE_METHODS", "ALLOWED", "tree_size"]


class _Evaluator(ExpressionsMixin):
    """Statements, names, errors and bounds; expressions come from the mixin."""

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
        return self.error(
            f"{what} is not allowed in a config file (configs are read as data, never run)",
            node, expected=ALLOWED,
            fix="compute the value outside the config, or write it out as a literal",
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
            self.line = stmt.lineno
            self.target = None
            try:
                self.statement(stmt)
            except RecursionError:
                raise self.error("statement nested too deeply", stmt,
                                 fix="split the expression: assign parts to names first") from None
        return self.ns

    def statement(self, stmt: ast.stmt) -> None:
        if isinstance(stmt, ast.Assign):
            first = stmt.targets[0]
            if isinstance(first, ast.Name) and first.id == "_base_":
                return  # read separately, as MMEngine does
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
                self.eval(stmt.value)
                self.spend(self.eval(stmt.value.func.value))
                return
            raise self.not_allowed("an expression statement other than a method call", stmt)
        elif isinstance(stmt, ast.Pass):
            return
        else:
            what = _NAMES.get(type(stmt), f"the statement {type(stmt).__name__}")
            raise self.not_allowed(f"'{what}'" if " " not in what else what, stmt)

    def assign(self, target: ast.expr, value: Any) -> None:
        if isinstance(target, ast.Name):
            self.check_name(target.id, target)
            if target.id == "_base_":
                raise self.error("_base_ cannot be assigned here", target)
            self.ns[target.id] = value
        elif isinstance(target, ast.Tuple | ast.List):
            values = list(value) if isinstance(value, list | tuple | str | range) else None
            if values is None or len(values) != len(target.elts):
                raise self.error(f"cannot unpack {type(value).__name__} into "
                                 f"{len(target.elts)} names", target)
            for t, v in zip(target.elts, values):
                self.assign(t, v)
        elif isinstance(target, ast.Subscript):
            obj = self.eval(target.value)
            key = self.eval(target.slice)
            if not isinstance(obj, dict | list):
                raise self.error(f"cannot assign an item of {type(obj).__name__}", target)
            self.guard(key)
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

    def check_name(self, name: str, node: ast.AST) -> None:
        if name.startswith("__") and name.endswith("__"):
            raise self.not_allowed(f"the dunder name '{name}'", node)

    # -- expressions ---------------------------------------------------------------------------


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
    ev = _Evaluator(filename, base, limits, budget)
    ns = ev.run(tree)
    out = {k: v for k, v in ns.items() if not k.startswith("__")}
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


def _line_of(tree: ast.Module, key: str) -> int | None:
    """Line of the last top-level statement that assigns or changes ``key``."""
    line = None
    for stmt in tree.body:
        targets: list[ast.expr] = []
        if isinstance(stmt, ast.Assign):
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
            try:
                value = ast.literal_eval(stmt.value)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                raise ConfigError(
                    "_base_ must be a string or a list of strings written as literals",
                    path="_base_", file=filename, line=stmt.lineno,
                    fix="_base_ = ['../_base_/default_runtime.py']") from None
            files = value if isinstance(value, list) else [value]
            for f in files:
                if not isinstance(f, str):
                    raise ConfigError(
                        f"_base_ entries must be file paths (str), got {type(f).__name__}",
                        path="_base_", file=filename, line=stmt.lineno, fix="write _base_ = ['relative/path.py', ...]")
            return files, stmt.lineno
    return [], None

