"""Readable Python text for a config: ``pretty_text`` and ``.py`` dumps that load back equal.

Mappings whose keys are all identifiers are written ``dict(key=value)``, others ``{'k': v}``;
tuples stay tuples (``(1, )``), sets stay sets. Short values stay on one line; long ones are
broken one item per line with four-space indentation.

Example:
    >>> print(format_config({'optimizer': {'type': 'SGD', 'lr': 0.01}, 'crop': (512, 512)}))
    optimizer = dict(type='SGD', lr=0.01)
    crop = (512, 512)
    <BLANKLINE>
"""

from __future__ import annotations

import keyword
import math
from collections.abc import Mapping
from typing import Any

from lightning_runtime.errors import ConfigError

__all__ = ["format_config", "format_value"]

WIDTH = 88


def _is_ident(key: Any) -> bool:
    return isinstance(key, str) and key.isidentifier() and not keyword.iskeyword(key)


def _scalar(value: Any, path: str) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "float('nan')"
        if math.isinf(value):
            return "float('inf')" if value > 0 else "-float('inf')"
        return repr(value)
    if value is None or isinstance(value, (bool, int, str, bytes, complex, range)):
        return repr(value)  # range(0, 3) loads back as a range, as in MMEngine
    raise ConfigError(f"a {type(value).__name__} cannot be written to a config file",
                      path=path or None, expected="dicts, lists, tuples, sets, str, numbers, "
                      "bool or None", fix="keep only plain data (dicts, lists, str, numbers, bool, None) in the config")


def format_value(value: Any, indent: int = 0, path: str = "", prefix: int = 0) -> str:
    """Python source for ``value`` on a line indented by ``indent`` after ``prefix`` chars."""
    flat = _flat(value, path)
    if indent + prefix + len(flat) <= WIDTH or not isinstance(value, (Mapping, list, tuple, set)):
        return flat
    inner = indent + 4
    pad = " " * inner
    if isinstance(value, Mapping):
        if all(_is_ident(k) for k in value):
            items = [f"{pad}{k}={format_value(v, inner, _join(path, k), len(k) + 1)},"
                     for k, v in value.items()]
            return "dict(\n" + "\n".join(items) + "\n" + " " * indent + ")"
        items = []
        for k, v in value.items():
            key = _flat(k, path)
            items.append(f"{pad}{key}: {format_value(v, inner, _join(path, k), len(key) + 2)},")
        return "{\n" + "\n".join(items) + "\n" + " " * indent + "}"
    seq = list(value)
    if isinstance(value, set):
        seq = sorted(seq, key=repr)
    items = [f"{pad}{format_value(v, inner, f'{path}[{i}]')}," for i, v in enumerate(seq)]
    brackets: dict[type, tuple[str, str]] = {list: ("[", "]"), tuple: ("(", ")"), set: ("{", "}")}
    open_, close = brackets[_kind(value)]
    return open_ + "\n" + "\n".join(items) + "\n" + " " * indent + close


def _kind(value: Any) -> type:
    for t in (list, tuple, set):
        if isinstance(value, t):
            return t
    raise AssertionError(value)  # pragma: no cover


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _flat(value: Any, path: str) -> str:
    if isinstance(value, Mapping):
        if all(_is_ident(k) for k in value):
            inner = ", ".join(f"{k}={_flat(v, _join(path, k))}" for k, v in value.items())
            return f"dict({inner})"
        inner = ", ".join(f"{_flat(k, path)}: {_flat(v, _join(path, k))}"
                          for k, v in value.items())
        return "{" + inner + "}"
    if isinstance(value, tuple):
        inner = ", ".join(_flat(v, f"{path}[{i}]") for i, v in enumerate(value))
        return f"({inner}, )" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(_flat(v, f"{path}[{i}]") for i, v in enumerate(value)) + "]"
    if isinstance(value, (set, frozenset)):
        if not value:
            return "set()"
        inner = ", ".join(sorted((_flat(v, path) for v in value)))
        return "{" + inner + "}"
    return _scalar(value, path)


def format_config(cfg: Mapping[str, Any]) -> str:
    """The whole config as ``name = value`` lines (valid Python for :func:`load_config`)."""
    lines = []
    for key, value in cfg.items():
        if not _is_ident(key) or key.startswith("__") or key == "_base_":
            raise ConfigError(f"top-level key {key!r} cannot be written as a Python config "
                              "name", path=str(key), fix="dump to .yaml instead, or rename it")
        lines.append(f"{key} = {format_value(value, 0, key, len(key) + 3)}")
    return "\n".join(lines) + "\n"
