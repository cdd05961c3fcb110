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

import os
import re
from collections.abc import Iterator
from typing import Any

import yaml

from lightning_runtime.config._locate import split_path
from lightning_runtime.config._limits import LIMIT_FIX, DataProblem, Limits, data_problem_message, walk_size
from lightning_runtime.errors import ConfigError, format_path

__all__ = ["load_yaml_text", "dump_yaml", "yaml_locations"]

_PREFIX = "__lightning_runtime_"
_TUPLE = "__lightning_runtime_tuple__"
_SET = "__lightning_runtime_set__"
_ESCAPE = "__lightning_runtime_esc__"  # user keys starting with _PREFIX get this in front
_TUPLE_TAGS = ("tag:yaml.org,2002:python/tuple", "!tuple")
#: OmegaConf resolvers a config may use (each result bounded); others are refused.
_RESOLVERS = ("oc.env", "oc.select", "oc.dict.keys", "oc.dict.values")
_MAX_CHAIN = 64  # interpolations that refer to interpolations, one after the other
_INTERP = re.compile(r"(?<!\\)\$\{")
_KEY_REF = re.compile(r"\s*(\.*)([^${}:,\s'\"]*)\s*\}")
_RESOLVER_REF = re.compile(r"\s*([A-Za-z_][\w.]*)\s*:\s*([^,}\s'\"]*)")


class _Marker(dict):
    """The loader's own ``{_TUPLE: [...]}`` / ``{_SET: [...]}``: never user data."""


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
        return _Marker({_TUPLE: loader.construct_sequence(node, deep=True)})

    def construct_set(loader: Any, node: Any) -> dict[str, Any]:
        return _Marker({_SET: list(loader.construct_mapping(node, deep=True))})

    for tag in _TUPLE_TAGS:
        Loader.add_constructor(tag, construct_tuple)
    Loader.add_constructor("tag:yaml.org,2002:set", construct_set)
    return Loader


def _escape(value: Any) -> Any:
    """Prefix user keys that look like the loader's markers, so they stay user data."""
    if isinstance(value, _Marker):  # a plain dict from here on: user keys are escaped now
        return {k: _escape(v) for k, v in value.items()}
    if isinstance(value, dict):
        return {(_ESCAPE + k if isinstance(k, str) and k.startswith(_PREFIX) else k): _escape(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_escape(v) for v in value]
    return value


def _untuple(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and _TUPLE in value:
            return tuple(_untuple(v) for v in value[_TUPLE])
        if len(value) == 1 and _SET in value:
            return {_untuple(v) for v in value[_SET]}
        return {(k[len(_ESCAPE):] if isinstance(k, str) and k.startswith(_ESCAPE) else k):
                _untuple(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_untuple(v) for v in value]
    return value


def _line_of(exc: BaseException) -> int | None:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return mark.line + 1 if mark is not None else None


class _Interpolations:
    """Upper bounds of what OmegaConf's ``${...}`` interpolations expand to, before resolving.

    OmegaConf resolves ``${a}${a}`` by resolving ``a`` twice, without caching: 40 such lines take
    2**40 steps and as many bytes. Here every node's expanded size is computed once (memoized by
    location), in characters: a string its length plus what each ``${...}`` in it adds, a
    container the sum of its parts. Interpolated strings are limited to ``max_len`` characters
    and all interpolated values together to ``max_total``.
    """

    def __init__(self, root: dict[str, Any], filename: str, text: str, limits: Limits) -> None:
        self.root = root
        self.filename = filename
        self.text = text
        self.limits = limits
        self.memo: dict[tuple[Any, ...], int] = {}
        self.active: set[tuple[Any, ...]] = set()
        self.total = 0
        self.count = 0

    def error(self, message: str, path: tuple[Any, ...], fix: str) -> ConfigError:
        line = yaml_locations(self.text).get(tuple(str(p) for p in path), (None,))[0]
        return ConfigError(message, path=format_path(list(path)) or None, file=self.filename,
                           line=line, fix=fix)

    def check(self) -> None:
        """Walk every string once; raise a ConfigError for a bomb or an unsupported form."""
        stack: list[tuple[tuple[Any, ...], Any]] = [((), self.root)]
        while stack:
            path, value = stack.pop()
            if isinstance(value, dict):
                stack.extend(reversed([((*path, k), v) for k, v in value.items()]))
            elif isinstance(value, list):
                stack.extend(reversed([((*path, i), v) for i, v in enumerate(value)]))
            elif isinstance(value, str) and "${" in value:
                self.count += len(_INTERP.findall(value))
                if self.count > self.limits.max_interpolations:
                    raise self.error(f"more than {self.limits.max_interpolations} "
                                     "interpolations (${...}) in one file", path, LIMIT_FIX)
                self.total += self.string(path, value, 0)
                if self.total > self.limits.max_total:
                    raise self.error(
                        f"interpolations expand to more than {self.limits.max_total} "
                        "characters in all", path, LIMIT_FIX)

    def size(self, path: tuple[Any, ...], value: Any, depth: int) -> int:
        """Expanded size of the node at ``path`` (iterative over containers)."""
        if not isinstance(value, dict | list):
            return self.string(path, value, depth) if isinstance(value, str) else \
                len(str(value)) + 1
        if path in self.memo:
            return self.memo[path]
        total = 0
        stack: list[tuple[tuple[Any, ...], Any]] = [(path, value)]
        while stack:
            p, v = stack.pop()
            if isinstance(v, dict):
                total += 2 + sum(len(str(k)) + 2 for k in v)
                stack.extend(((*p, k), x) for k, x in v.items())
            elif isinstance(v, list):
                total += 2 + 2 * len(v)
                stack.extend(((*p, i), x) for i, x in enumerate(v))
            elif isinstance(v, str):
                total += self.string(p, v, depth)
            else:
                total += len(str(v)) + 1
            if total > self.limits.max_total:
                raise self.error(f"interpolation expands to more than {self.limits.max_total} "
                                 "characters", path, LIMIT_FIX)
        self.memo[path] = total
        return total

    def string(self, path: tuple[Any, ...], text: str, depth: int) -> int:
        if "${" not in text:
            return len(text) + 2
        if path in self.memo:
            return self.memo[path]
        if path in self.active:
            return 1  # a cycle: OmegaConf reports it
        if depth > _MAX_CHAIN:
            raise self.error(f"interpolations refer to interpolations more than {_MAX_CHAIN} "
                             "times in a row", path, "refer to the final value directly")
        self.active.add(path)
        total = len(text)
        whole = _KEY_REF.fullmatch(text[2:]) is not None and text.startswith("${")
        for m in _INTERP.finditer(text):
            total += max(1, self.reference(path, text, m.end(), depth))
            if not whole and total > self.limits.max_len:
                raise self.error(f"interpolated string longer than {self.limits.max_len} "
                                 "characters", path, LIMIT_FIX)
        self.active.discard(path)
        self.memo[path] = total
        return total

    def reference(self, path: tuple[Any, ...], text: str, pos: int, depth: int) -> int:
        """Size added by the ``${...}`` whose body starts at ``text[pos]``."""
        key = _KEY_REF.match(text, pos)
        if key:
            return self.target(path, key.group(1), key.group(2), depth)
        res = _RESOLVER_REF.match(text, pos)
        if res is None:
            raise self.error(
                f"unsupported interpolation {text[pos - 2:pos + 30]!r}: only ${{key}}, "
                "${.relative.key} and the resolvers " + ", ".join(_RESOLVERS) + " can be used",
                path, "write the key path out (no ${...} inside another key)")
        name, arg = res.group(1), res.group(2)
        if name not in _RESOLVERS:
            raise self.error(f"the OmegaConf resolver {name!r} cannot be used in a config file",
                             path, "use one of " + ", ".join(_RESOLVERS) + ", or write the value")
        if name == "oc.env":
            return max((len(v) for k, v in os.environ.items() if k == arg or not arg),
                       default=0) + 1
        if not arg:
            return 1  # a nested ${...} argument: counted where it stands
        dots = len(arg) - len(arg.lstrip("."))
        return self.target(path, arg[:dots], arg[dots:], depth)

    def target(self, path: tuple[Any, ...], dots: str, key: str, depth: int) -> int:
        base: tuple[Any, ...] = path[:len(path) - len(dots)] if dots else ()
        parts = [p for p in re.split(r"[.\[\]]+", key) if p] if key else []
        node: Any = self.root
        for p in base:
            node = node[p]
        where = list(base)
        for part in parts:
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.lstrip("-").isdigit() and \
                    -len(node) <= int(part) < len(node):
                part = int(part) % len(node)
                node = node[part]
            else:
                return 1  # unknown key: OmegaConf reports it
            where.append(part)
        return self.size(tuple(where), node, depth + 1)


def _check_values(data: dict[Any, Any], filename: str, text: str, limits: Limits,
                  max_depth: int) -> None:
    for key, value in data.items():
        try:
            size = walk_size(value, limits.max_total, max_depth, check_types=True)
        except DataProblem as problem:
            message, fix = data_problem_message(problem, limits)
            parts = [p for p in (key, *problem.path) if p not in (_TUPLE, _SET)]
            line = yaml_locations(text).get((str(key),), (None,))[0]
            raise ConfigError(message, path=format_path(parts), file=filename, line=line,
                              fix=fix) from None
        if size > limits.max_total:
            line = yaml_locations(text).get((str(key),), (None,))[0]
            raise ConfigError(f"value larger than {limits.max_total} elements", path=str(key),
                              file=filename, line=line, fix=LIMIT_FIX)


def load_yaml_text(text: str, filename: str, limits: Limits | None = None) -> dict[str, Any]:
    """Parse YAML/JSON text into plain data (a mapping); errors name ``file:line``.

    Nesting, size and OmegaConf interpolations are bounded by ``limits`` before OmegaConf
    resolves anything.
    """
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    limits = limits or Limits()
    if len(text) > limits.max_source:
        raise ConfigError(f"config file larger than {limits.max_source} characters",
                          file=filename, fix=LIMIT_FIX)
    try:
        data = yaml.load(text, Loader=_loader())  # noqa: S506 - OmegaConf's safe loader
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if "expan" in problem:  # OmegaConf's node/alias expansion limits
            raise ConfigError(f"YAML too large: {problem.split('. See')[0]}", file=filename,
                              line=_line_of(exc), fix=LIMIT_FIX) from None
        raise ConfigError(f"malformed YAML: {problem}", file=filename, line=_line_of(exc),
                          fix="fix the YAML syntax at this line") from None
    except RecursionError:
        raise ConfigError("YAML nested too deeply", file=filename, fix=LIMIT_FIX) from None
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"cannot read YAML: {exc}", file=filename,
                          fix="fix the value the message names") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"the top level of a config must be a mapping, got "
                          f"{type(data).__name__}", file=filename, line=1,
                          expected="key: value lines at the top level",
                          fix="write the config as key: value lines")
    # twice: first loosely on the loaded data (a tuple or set is one marker level deeper there),
    # then exactly on the data as it will be returned
    _check_values(data, filename, text, limits, 2 * limits.max_depth + 2)
    data = _escape(data)
    _check_values(_untuple(data), filename, text, limits, limits.max_depth)
    _Interpolations(data, filename, text, limits).check()
    try:
        container = OmegaConf.to_container(OmegaConf.create(data), resolve=True)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None)
        line = yaml_locations(text).get(split_path(key), (None,))[0] if key else None
        raise ConfigError(f"{type(exc).__name__}: {getattr(exc, 'msg', exc)}", path=key or None,
                          file=filename, line=line,
                          fix="correct the interpolation or value at this key") from None
    except RecursionError:
        raise ConfigError("interpolations nested too deeply", file=filename,
                          fix="refer to the final value directly") from None
    return _untuple(container)


class _Dumper(yaml.SafeDumper):
    pass


def _represent_tuple(dumper: yaml.SafeDumper, data: tuple[Any, ...]) -> Any:
    return dumper.represent_sequence("tag:yaml.org,2002:python/tuple", list(data), flow_style=True)


_Dumper.add_representer(tuple, _represent_tuple)
_Dumper.add_representer(range, lambda dumper, data: dumper.represent_list(list(data)))


def dump_yaml(data: dict[str, Any]) -> str:
    """YAML text for plain data; tuples as ``!!python/tuple``; key order kept."""
    try:
        return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                         allow_unicode=True)
    except yaml.YAMLError as exc:
        raise ConfigError(f"cannot write the config as YAML: {exc}",
                          fix="dump to a .py file instead (it keeps every value type)") from None


def yaml_locations(text: str) -> dict[tuple[str, ...], tuple[int, str]]:
    """Map each key path (parts as strings) to (line, kind) using the YAML node tree."""
    try:
        root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (yaml.YAMLError, RecursionError):
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
