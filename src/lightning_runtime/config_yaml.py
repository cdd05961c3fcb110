"""YAML/JSON configs through OmegaConf, with tuples, line numbers and clear errors.

Loading uses OmegaConf's YAML loader (safe, with its alias-expansion limit and YAML 1.2 floats such
as ``1e-4``), then ``OmegaConf.create`` and ``to_container(resolve=True)`` so OmegaConf
interpolations (``${optim_wrapper.optimizer.lr}``) work. Tuples are written as
``!!python/tuple [1, 2]`` (what PyYAML, and so MMEngine's ``dump``, writes) and read back as
tuples (sets likewise as ``!!set``), so a dumped config loads back equal.

Example:
    >>> load_yaml_text("a: !!python/tuple [1, 2]\\nb: 1e-4\\n", "x.yaml")
    {'a': (1, 2), 'b': 0.0001}
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

from .errors import ConfigError

__all__ = ["load_yaml_text", "dump_yaml", "yaml_locations"]

_TUPLE = "__lightning_runtime_tuple__"
_SET = "__lightning_runtime_set__"
_TUPLE_TAGS = ("tag:yaml.org,2002:python/tuple", "!tuple")


def _base_loader() -> Any:
    try:  # omegaconf >= 2.4
        from omegaconf._yaml import get_yaml_loader
    except ImportError:  # pragma: no cover - omegaconf 2.1-2.3
        from omegaconf._utils import get_yaml_loader  # type: ignore[attr-defined,no-redef]
    return get_yaml_loader()


def _loader() -> Any:
    base = _base_loader()

    class Loader(base):  # type: ignore[misc,valid-type]
        pass

    def construct_tuple(loader: Any, node: Any) -> dict[str, Any]:
        return {_TUPLE: loader.construct_sequence(node, deep=True)}

    def construct_set(loader: Any, node: Any) -> dict[str, Any]:
        return {_SET: list(loader.construct_mapping(node, deep=True))}

    for tag in _TUPLE_TAGS:
        Loader.add_constructor(tag, construct_tuple)
    Loader.add_constructor("tag:yaml.org,2002:set", construct_set)
    return Loader


def _untuple(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and _TUPLE in value:
            return tuple(_untuple(v) for v in value[_TUPLE])
        if len(value) == 1 and _SET in value:
            return {_untuple(v) for v in value[_SET]}
        return {k: _untuple(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_untuple(v) for v in value]
    return value


def _line_of(exc: BaseException) -> int | None:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return mark.line + 1 if mark is not None else None


def load_yaml_text(text: str, filename: str) -> dict[str, Any]:
    """Parse YAML/JSON text into plain data (a mapping); errors name ``file:line``."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        data = yaml.load(text, Loader=_loader())  # noqa: S506 - OmegaConf's safe loader
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"malformed YAML: {problem}", file=filename, line=_line_of(exc),
                          fix="fix the YAML syntax at this line") from None
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"cannot read YAML: {exc}", file=filename) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"the top level of a config must be a mapping, got "
                          f"{type(data).__name__}", file=filename, line=1,
                          expected="key: value lines at the top level")
    try:
        container = OmegaConf.to_container(OmegaConf.create(data), resolve=True)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None)
        raise ConfigError(f"{type(exc).__name__}: {getattr(exc, 'msg', exc)}", path=key or None,
                          file=filename) from None
    return _untuple(container)  # type: ignore[no-any-return]


class _Dumper(yaml.SafeDumper):
    pass


def _represent_tuple(dumper: yaml.SafeDumper, data: tuple[Any, ...]) -> Any:
    return dumper.represent_sequence("tag:yaml.org,2002:python/tuple", list(data), flow_style=True)


_Dumper.add_representer(tuple, _represent_tuple)


def dump_yaml(data: dict[str, Any]) -> str:
    """YAML text for plain data; tuples as ``!!python/tuple``; key order kept."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True)


def yaml_locations(text: str) -> dict[tuple[str, ...], tuple[int, str]]:
    """Map each key path (parts as strings) to (line, kind) using the YAML node tree."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    out: dict[tuple[str, ...], tuple[int, str]] = {}
    seen: set[int] = set()
    budget = [200_000]

    def walk(node: Any, path: tuple[str, ...], line: int) -> None:
        budget[0] -= 1
        if budget[0] < 0 or id(node) in seen:
            return
        seen.add(id(node))
        kind = "dict" if isinstance(node, yaml.MappingNode) else "value"
        if path:
            out[path] = (line, kind)
        for key, child in _children(node):
            walk(child[1], (*path, key), child[0])

    if root is not None:
        walk(root, (), 1)
    return out


def _children(node: Any) -> Iterator[tuple[str, tuple[int, Any]]]:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                yield str(key_node.value), (key_node.start_mark.line + 1, value_node)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield str(i), (item.start_mark.line + 1, item)
