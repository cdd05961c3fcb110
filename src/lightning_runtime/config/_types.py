"""``ConfigDict``: a ``dict`` with attribute access, the value type of every config mapping.

It behaves like MMEngine's ``ConfigDict`` where a config file can observe it:

* plain ``dict`` values (also inside lists and tuples) become ``ConfigDict`` when stored, lists stay
  lists and tuples stay tuples;
* ``cfg.a.b`` reads keys; a missing key is an ``AttributeError`` (so ``hasattr`` works) and a
  ``KeyError`` through ``cfg['a']``;
* ``update`` merges nested mappings recursively (MMEngine's ``ConfigDict.update``).

Example:
    >>> d = ConfigDict(model=dict(backbone=dict(depth=50)), pipeline=[dict(type='Load')])
    >>> d.model.backbone.depth, d.pipeline[0].type
    (50, 'Load')
    >>> d.to_dict()
    {'model': {'backbone': {'depth': 50}}, 'pipeline': [{'type': 'Load'}]}
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

__all__ = ["ConfigDict", "to_plain", "hook_value"]


def hook_value(item: Any, cls: type[ConfigDict] | None = None) -> Any:
    """Convert ``dict`` (exact type) into ``ConfigDict``, recursing into lists and tuples.

    ``ConfigDict`` values and other mapping types are kept as they are (the same object).
    """
    cls = cls or ConfigDict
    if type(item) in (dict, OrderedDict):
        return cls(item)
    if isinstance(item, (list, tuple)):
        return type(item)(hook_value(elem, cls) for elem in item)
    return item


def to_plain(value: Any, *, drop_scope: bool = False) -> Any:
    """Return ``value`` with every mapping turned into a plain ``dict``; lists/tuples keep type.

    With ``drop_scope``, ``_scope_`` keys are left out: MMEngine adds them to the typed dicts of a
    ``mmseg::`` base, and with one registry per kind here they have nothing to select.

    Example:
        >>> to_plain(ConfigDict(a=[dict(type='SGD', _scope_='mmseg')]), drop_scope=True)
        {'a': [{'type': 'SGD'}]}
    """
    if isinstance(value, Mapping):
        items = dict.items(value) if isinstance(value, dict) else value.items()
        return {k: to_plain(v, drop_scope=drop_scope) for k, v in items if not (drop_scope and k == "_scope_")}
    if isinstance(value, (list, tuple)):
        return type(value)(to_plain(v, drop_scope=drop_scope) for v in value)
    return value


class ConfigDict(dict):
    """A ``dict`` whose keys are also attributes, at every nesting level."""

    __slots__ = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        for arg in args:
            if not arg:
                continue
            items = dict.items(arg) if isinstance(arg, dict) else (
                arg.items() if isinstance(arg, Mapping) else arg
            )
            for key, val in items:
                self[key] = val
        for key, val in kwargs.items():
            self[key] = val

    # -- attribute access --------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(
                f"'{type(self).__name__}' object has no attribute '{name}'"
            ) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, hook_value(value, ConfigDict))

    def __dir__(self) -> list[str]:
        return list(super().__dir__()) + [k for k in self if isinstance(k, str)]

    # -- dict API with MMEngine's semantics --------------------------------------------------
    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Update recursively: a mapping value merges into an existing mapping value."""
        if len(args) > 1:
            raise TypeError("update expected at most 1 positional argument")
        other: dict[Any, Any] = {}
        if args:
            src = args[0]
            items = dict.items(src) if isinstance(src, dict) else (
                src.items() if isinstance(src, Mapping) else src
            )
            for key, value in items:
                other[key] = value
        other.update(kwargs)
        for key, value in other.items():
            if key in self and isinstance(self[key], dict) and isinstance(value, dict):
                self[key].update(value)
            else:
                self[key] = value

    def copy(self) -> ConfigDict:
        """A shallow copy of the same class (values hooked again, as MMEngine's copy does)."""
        other = type(self).__new__(type(self))
        dict.__init__(other)
        for key, value in dict.items(self):
            other[key] = value
        return other

    __copy__ = copy

    def __deepcopy__(self, memo: dict[int, Any]) -> ConfigDict:
        import copy as _copy

        other = type(self).__new__(type(self))
        dict.__init__(other)
        memo[id(self)] = other
        for key, value in dict.items(self):
            dict.__setitem__(other, _copy.deepcopy(key, memo), _copy.deepcopy(value, memo))
        return other

    def __reduce__(self) -> Any:
        return (type(self), (dict(self),))

    def __reduce_ex__(self, protocol: Any) -> Any:
        return self.__reduce__()

    def to_dict(self) -> dict[Any, Any]:
        """Plain ``dict``/``list``/``tuple`` all the way down (tuples kept)."""
        return to_plain(self)

    def __repr__(self) -> str:
        # a plain dict's text, as MMEngine's ConfigDict: f'{_base_.model}' in a config gives it
        return dict.__repr__(self)
