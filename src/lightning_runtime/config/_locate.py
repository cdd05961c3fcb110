"""Where was ``param_scheduler[1].end`` written? File and line for config paths.

Each loaded file contributes an index ``{('param_scheduler', '1', 'end'): (line, kind)}`` built
from its syntax (``.py``: the AST, following names assigned earlier in the file; YAML: the node
tree). ``kind`` is ``'dict'`` where the file writes a mapping that merges with inherited keys and
``'value'`` where it writes a value that replaces everything below it (a list, a scalar).

:class:`Locator` answers :meth:`Locator.locate` by asking every file, most derived first: the file
that owns the path (wrote a replacing value at or above it) or wrote the longest prefix of it wins.
It is best effort: the innermost known location, at least the top-level key's line.

Example:
    >>> loc = Locator()
    >>> loc.add('cfg.py', py_locations(ast.parse("opt = dict(\\n    lr=0.1)")))
    >>> loc.locate('opt.lr')
    ('cfg.py', 2)
"""

from __future__ import annotations

import ast
import re
from typing import Any

__all__ = ["Locator", "py_locations", "split_path"]

Index = dict[tuple[str, ...], tuple[int, str]]
_PART = re.compile(r"\[(-?\d+)\]|\.?([^.\[\]]+)")


def split_path(path: str) -> tuple[str, ...]:
    """``'a.b[1].c'`` or ``'a.b.1.c'`` -> ``('a', 'b', '1', 'c')``."""
    return tuple(m.group(1) if m.group(1) is not None else m.group(2)
                 for m in _PART.finditer(path))


def py_locations(tree: ast.Module) -> Index:
    """Index the key paths a ``.py`` config writes."""
    index: Index = {}
    defs: dict[str, ast.expr] = {}

    def visit(path: tuple[str, ...], expr: ast.expr, line: int, depth: int = 0) -> None:
        if depth > 50 or len(index) > 100_000:
            return
        if isinstance(expr, ast.Name) and expr.id in defs and defs[expr.id] is not expr:
            target = defs[expr.id]
            visit(path, target, target.lineno, depth + 1)
            return
        is_map = isinstance(expr, ast.Dict) or (
            isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name)
            and expr.func.id == "dict")
        is_ref = isinstance(expr, ast.Attribute)  # _base_.x: the inherited file knows better
        index[path] = (line, "dict" if (is_map or is_ref) else "value")
        if isinstance(expr, ast.Call) and is_map:
            for kw in expr.keywords:
                if kw.arg is not None:
                    visit((*path, kw.arg), kw.value, kw.value.lineno, depth + 1)
        elif isinstance(expr, ast.Dict):
            for k, v in zip(expr.keys, expr.values):
                if isinstance(k, ast.Constant):
                    visit((*path, str(k.value)), v, k.lineno, depth + 1)
        elif isinstance(expr, (ast.List, ast.Tuple)):
            for i, elt in enumerate(expr.elts):
                if isinstance(elt, ast.Starred):
                    break
                visit((*path, str(i)), elt, elt.lineno, depth + 1)

    for stmt in tree.body:
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for target in targets:
                path = _target_path(target)
                if path is None or path[0] == "_base_":
                    continue
                visit(path, stmt.value, stmt.lineno)
                if len(path) == 1:
                    defs[path[0]] = stmt.value
        elif (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
              and isinstance(stmt.value.func, ast.Attribute)
              and stmt.value.func.attr == "update" and stmt.value.args):
            path = _target_path(stmt.value.func.value)
            arg = stmt.value.args[0]
            if path is not None and isinstance(arg, ast.Dict):
                for k, v in zip(arg.keys, arg.values):
                    if isinstance(k, ast.Constant):
                        visit((*path, str(k.value)), v, k.lineno)
    return index


def _target_path(node: ast.expr) -> tuple[str, ...] | None:
    parts: list[str] = []
    while True:
        if isinstance(node, ast.Name):
            return (node.id, *reversed(parts))
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            parts.append(str(node.slice.value))
        else:
            return None
        node = node.value


class Locator:
    """Per-file indexes in merge order (later files override earlier ones)."""

    def __init__(self) -> None:
        self.files: list[tuple[str, Index]] = []

    def add(self, filename: str, index: Index) -> None:
        self.files.append((filename, index))

    def extend(self, other: Locator) -> None:
        self.files.extend(other.files)

    def locate(self, path: str | tuple[Any, ...]) -> tuple[str, int] | None:
        parts = split_path(path) if isinstance(path, str) else tuple(str(p) for p in path)
        if not parts:
            return None
        best: tuple[int, str, int] | None = None
        for filename, index in reversed(self.files):
            score, line = 0, 0
            for k in range(len(parts), 0, -1):
                hit = index.get(parts[:k])
                if hit is not None:
                    line, kind = hit
                    score = len(parts) + 1 if (kind == "value" or k == len(parts)) else k
                    break
            if score and (best is None or score > best[0]):
                best = (score, filename, line)
        return None if best is None else (best[1], best[2])
