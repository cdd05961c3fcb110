"""MMEngine's merge rules and ``--cfg-options`` overrides, on plain data.

* :func:`merge_into` merges a child mapping into a base one: mappings merge key by key, anything
  else (lists, tuples, scalars) replaces; ``_delete_=True`` in a child mapping replaces the base
  mapping instead of merging. A child mapping over a base value that is not a mapping is an error
  unless it says ``_delete_=True``. As in MMEngine, ``_delete_`` stays in the result when the base
  has no such key.
* :func:`parse_override` reads ``'a.b=c'`` exactly like MMEngine's ``DictAction``: ``1`` -> int,
  ``0.1`` -> float, ``true``/``false`` -> bool, ``None`` -> None, ``[1,2]``/``1,2`` -> list,
  ``(1,2)`` -> tuple (nested brackets work), anything else a string (quotes and spaces removed).
* :func:`overrides_to_tree` + :func:`merge_into` with ``allow_list_keys=True`` is MMEngine's
  ``Config.merge_from_dict``: ``param_scheduler.1.end=2000`` changes the second scheduler.

Example:
    >>> base = to_config_dict(dict(opt=dict(lr=0.1, momentum=0.9), steps=[1, 2]))
    >>> merge_into(dict(opt=dict(lr=0.2), steps=[3]), base).to_dict()
    {'opt': {'lr': 0.2, 'momentum': 0.9}, 'steps': [3]}
    >>> parse_override('param_scheduler.1.end=2000')
    ('param_scheduler.1.end', 2000)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lightning_runtime.config._types import ConfigDict
from lightning_runtime.errors import ConfigError, format_path

__all__ = [
    "DELETE_KEY",
    "merge_into",
    "to_config_dict",
    "parse_value",
    "parse_override",
    "overrides_to_tree",
]

DELETE_KEY = "_delete_"


def to_config_dict(value: Any, scope: str | None = None, has_scope: bool = True) -> Any:
    """Recursively convert mappings to :class:`ConfigDict` (new objects; lists/tuples kept).

    With ``scope`` (a base read as ``pkg::path``) the outermost mappings with a ``type`` get
    ``_scope_ = scope`` unless they already have one, as MMEngine does.
    """
    if isinstance(value, Mapping):
        out = ConfigDict(value)
        if has_scope and "type" in out:
            has_scope = False
            if scope is not None and out.get("_scope_") is None:
                out["_scope_"] = scope
        for key in list(out):
            dict.__setitem__(out, key, to_config_dict(out[key], scope, has_scope))
        return out
    if isinstance(value, (list, tuple)):
        return type(value)(to_config_dict(v, scope, has_scope) for v in value)
    return value


def merge_into(a: Mapping[Any, Any], b: Any, allow_list_keys: bool = False,
               path: tuple[Any, ...] = ()) -> Any:
    """Merge ``a`` into a copy of ``b`` with MMEngine's rules and return the copy.

    Mappings in ``a`` are modified in place only to drop ``_delete_`` (as MMEngine does).

    Raises:
        ConfigError: a mapping in ``a`` meets a non-mapping in ``b`` (without ``_delete_``), or a
            list index in ``a`` is out of range.
    """
    b = b.copy()
    for key, value in list(a.items()):
        if allow_list_keys and isinstance(b, list):
            # list items by index, negative ones counted from the end as in Python (-1: the last)
            text = key if isinstance(key, str) else ""
            if not (text.isdigit() or (text[:1] == "-" and text[1:].isdigit())):
                raise ConfigError(
                    f"{key!r} is not an index: this value is a list of {len(b)} item(s)",
                    path=format_path([*path, str(key)]),
                    fix=f"address list items by index, e.g. {format_path([*path, 0])} as "
                        f"{'.'.join(str(p) for p in (*path, 0))}=...")
            index = int(text)
            if not -len(b) <= index < len(b):
                raise ConfigError(
                    f"index {index} is out of range: the list has {len(b)} item(s)",
                    path=format_path([*path, index]),
                    fix=f"use an index from 0 to {len(b) - 1} (or -1 to -{len(b)} from the end)"
                    if b else "the list is empty: set the whole list instead")
            index %= len(b)
            if isinstance(value, Mapping) and isinstance(b[index], (dict, list)):
                b[index] = merge_into(value, b[index], allow_list_keys, (*path, index))
            else:
                b[index] = value
        elif isinstance(value, dict):
            if key in b and not value.pop(DELETE_KEY, False):
                allowed: tuple[type, ...] = (dict, list) if allow_list_keys else (dict,)
                if not isinstance(b[key], allowed):
                    where = format_path([*path, key])
                    kind = "None" if b[key] is None else type(b[key]).__name__
                    raise ConfigError(
                        f"a dict here cannot be merged into the inherited "
                        f"{kind} value {b[key]!r}",
                        path=where,
                        expected="a value that is not a dict (it replaces the inherited one), "
                                 "or a dict with _delete_=True",
                        fix=f"add _delete_=True to {where} to replace the inherited value")
                b[key] = merge_into(value, b[key], allow_list_keys, (*path, key))
            else:
                b[key] = ConfigDict(value)
        else:
            b[key] = value
    return b


#: Brackets an override value may nest, and parts its key may have (as for config files).
MAX_OVERRIDE_DEPTH = 32


def parse_value(text: str, _depth: int = 0) -> Any:
    """Parse the right-hand side of an override like MMEngine's ``DictAction``."""
    if _depth > MAX_OVERRIDE_DEPTH:
        raise ConfigError(f"override value nested deeper than {MAX_OVERRIDE_DEPTH} brackets",
                          fix="write a flatter value")
    text = text.strip("'\"").replace(" ", "")
    is_tuple = False
    if text.startswith("(") and text.endswith(")"):
        is_tuple, text = True, text[1:-1]
    elif text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    elif _next_comma(text) == len(text):  # no top-level comma: a scalar (even 'f(a,b)')
        return _parse_scalar(text)
    if text.count("(") != text.count(")") or text.count("[") != text.count("]"):
        raise ConfigError(f"unbalanced brackets in {text!r}",
                          fix="close every ( and [ in the value")
    values = []
    while text:
        end = _next_comma(text)
        values.append(parse_value(text[:end], _depth + 1))
        text = text[end + 1:]
    return tuple(values) if is_tuple else values


def _next_comma(text: str) -> int:
    depth_paren = depth_square = 0
    for i, ch in enumerate(text):
        if ch == "," and depth_paren == 0 and depth_square == 0:
            return i
        depth_paren += (ch == "(") - (ch == ")")
        depth_square += (ch == "[") - (ch == "]")
    return len(text)


def _parse_scalar(text: str) -> Any:
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if text == "None":
        return None
    return text


def parse_override(item: str) -> tuple[str, Any]:
    """Split ``'a.b=value'`` into the dotted key and the parsed value."""
    if not isinstance(item, str) or "=" not in item:
        raise ConfigError(
            f"override {item!r} is not of the form key=value",
            expected="dotted.key=value, e.g. optim_wrapper.optimizer.lr=0.02",
            fix="write the override as key=value")
    key, text = item.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f"override {item!r} has an empty key part",
                          expected="dotted.key=value, e.g. param_scheduler.1.end=2000",
                          fix="remove the empty part (two dots in a row, or a leading dot)")
    if key.count(".") >= MAX_OVERRIDE_DEPTH:
        raise ConfigError(f"override key {key[:60]!r}... has more than {MAX_OVERRIDE_DEPTH} "
                          "parts", fix="use a shorter key path")
    return key, parse_value(text)


def overrides_to_tree(items: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Turn ``[('a.b', 1), ('a.c', 2)]`` into ``{'a': {'b': 1, 'c': 2}}`` (MMEngine's way)."""
    tree: dict[str, Any] = {}
    for full_key, value in items:
        node: Any = tree
        parts = full_key.split(".")
        for part in parts[:-1]:
            node.setdefault(part, ConfigDict())
            node = node[part]
            if not isinstance(node, dict):
                raise ConfigError(f"override {full_key!r} goes through a value set by an "
                                  "earlier override", path=full_key, fix="give each key one override: set the whole value, or only its sub-keys")
        node[parts[-1]] = value
    return tree
