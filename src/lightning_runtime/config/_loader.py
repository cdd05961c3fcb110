"""``load_config``: read an MMEngine-style config into a :class:`Config`, never running it.

The result equals ``mmengine.Config.fromfile(path, import_custom_modules=False).to_dict()`` for
MMEngine-style configs (checked on all 769 MMSegmentation 1.2.2 configs and on the shipped configs
of seven more OpenMMLab codebases: docs/config.md has the counts):

* ``.py`` files are read by a safe evaluator (:mod:`lightning_runtime.config._evaluator`): data only;
* ``.yaml``/``.yml``/``.json`` files go through OmegaConf (:mod:`lightning_runtime.config._yaml`);
* ``_base_`` (a path or a list, relative to the including file, or ``pkg::path`` inside an installed
  OpenMMLab package), ``{{_base_.a.b}}``, ``_base_.a.b``, ``{{fileDirname}}`` & co.,
  ``{{$ENV:default}}``, ``_delete_=True`` and MMEngine's merge rules;
* ``overrides`` with MMEngine ``--cfg-options`` semantics.

``custom_imports`` is returned as data; the runtime imports the modules by name.

Example:
    >>> cfg = load_config(dict(optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01))),
    ...                   overrides=['optim_wrapper.optimizer.lr=0.02'])
    >>> cfg.optim_wrapper.optimizer.lr
    0.02
"""

from __future__ import annotations

import copy
import os
import os.path as osp
import warnings
from collections.abc import Iterable, Mapping
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from lightning_runtime.config._evaluator import (
    check_data,
    evaluate_source,
    parse_source,
    read_base_files,
)
from lightning_runtime.config._format import format_config
from lightning_runtime.config._limits import LIMIT_FIX, Limits
from lightning_runtime.config._locate import Locator, py_locations
from lightning_runtime.config._merge import merge_into, overrides_to_tree, parse_override, to_config_dict
from lightning_runtime.config._text import (
    pre_substitute_base_vars,
    substitute_base_vars,
    substitute_env,
    substitute_predefined,
)
from lightning_runtime.config._types import ConfigDict, to_plain
from lightning_runtime.config._yaml import dump_yaml, load_yaml_text, yaml_locations
from lightning_runtime.errors import ConfigError

__all__ = ["load_config", "Config", "ConfigDict", "merge_configs"]

EXTENSIONS = (".py", ".yaml", ".yml", ".json")
#: Top-level names MMEngine reserves (``Config`` attributes); a config may not define them.
RESERVED_KEYS = ("filename", "text", "pretty_text", "env_variables")


class Config(ConfigDict):
    """A loaded config: a ``dict`` with attribute access at every level.

    Attributes:
        filename: The file it was loaded from (``None`` for a mapping).
    """

    __slots__ = ("_filename", "_locator", "_sources")

    def __init__(self, data: Mapping[str, Any] | None = None, filename: str | None = None,
                 locator: Locator | None = None, sources: tuple[str, ...] | None = None) -> None:
        super().__init__(data or {})
        object.__setattr__(self, "_filename", filename)
        object.__setattr__(self, "_locator", locator or Locator())
        object.__setattr__(self, "_sources", sources if sources is not None else
                           ((filename,) if filename else ()))

    @property
    def filename(self) -> str | None:
        """The config file this was loaded from, or ``None``."""
        return self._filename

    @property
    def sources(self) -> tuple[str, ...]:
        """The user's own config files (``filename``, or every ``--config`` merged), not their ``_base_`` files."""
        return self._sources

    @property
    def pretty_text(self) -> str:
        """The config as readable Python (``name = dict(...)`` lines)."""
        return format_config(self.to_dict())

    def locate(self, path: str) -> tuple[str, int] | None:
        """``(file, line)`` where ``path`` (``'param_scheduler[1].end'``) was written, if known.

        Overrides report ``('<override key=value>', 0)``.
        """
        return self._locator.locate(path)

    def dump(self, path: str | Path) -> None:
        """Write to ``.py`` (Python), ``.yaml``/``.yml`` or ``.json``; loads back equal.

        JSON has no tuples: they are written as lists there.
        """
        path = str(path)
        ext = osp.splitext(path)[1]
        if ext == ".py":
            text = self.pretty_text
        elif ext in (".yaml", ".yml"):
            text = dump_yaml(self.to_dict())
        elif ext == ".json":
            import json

            def as_json(value: Any) -> Any:
                if isinstance(value, range | set | frozenset):
                    return list(value)
                raise ConfigError(f"a {type(value).__name__} cannot be written to JSON",
                                  file=path, fix="dump to a .py file instead")

            text = json.dumps(self.to_dict(), indent=2, default=as_json) + "\n"
        else:
            raise ConfigError(f"cannot dump to {ext or 'a file without extension'}",
                              file=path, expected="a .py, .yaml, .yml or .json file name", fix="give the file name a .py, .yaml, .yml or .json extension")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)

    def copy(self) -> Config:
        return Config(dict(self), self._filename, self._locator, self._sources)

    __copy__ = copy

    def __deepcopy__(self, memo: dict[int, Any]) -> Config:
        data = {k: copy.deepcopy(v, memo) for k, v in dict.items(self)}
        return Config(data, self._filename, self._locator, self._sources)

    def __reduce__(self) -> Any:
        return (Config, (dict(self), self._filename, self._locator, self._sources))

    def __repr__(self) -> str:
        return f"Config(filename={self._filename!r}, {dict.__repr__(self)})"


# -- files ------------------------------------------------------------------------------------
def _resolve_base(entry: str, including: str, line: int | None) -> tuple[str, str | None]:
    """Absolute path (and scope for ``pkg::path``) of a ``_base_`` entry."""
    if "::" not in entry:
        return osp.join(osp.dirname(including), entry), None
    scope, _, rel = entry.partition("::")
    spec = find_spec(scope) if scope.isidentifier() else None
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"_base_ {entry!r}: package {scope!r} is not installed",
                          path="_base_", file=including, line=line,
                          fix=f"install the package that provides {scope}, or copy the file")
    pkg_dir = list(spec.submodule_search_locations)[0]
    return osp.join(pkg_dir, ".mim", "configs", rel), scope


def _read_text(filename: str, limits: Limits) -> str:
    """The file's text: at most ``max_source`` bytes of UTF-8 (a coding cookie changes nothing)."""
    try:
        with open(filename, "rb") as f:
            raw = f.read(limits.max_source + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read the config file: {exc.strerror or exc}", file=filename,
                          fix="check the file's permissions") from None
    if len(raw) > limits.max_source:
        raise ConfigError(f"config file larger than {limits.max_source} bytes", file=filename,
                          fix=LIMIT_FIX)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"not valid UTF-8: byte 0x{raw[exc.start]:02x} at offset {exc.start} (line {line})",
            file=filename, line=line,
            fix="save the file as UTF-8 (config files are always read as UTF-8, whatever a "
                "coding line says)") from None


def _read(filename: str, chain: tuple[str, ...], parent: tuple[str, int | None] | None,
          limits: Limits, budget: list[int],
          state: list[int]) -> tuple[dict[str, Any], Locator]:
    """Read one file and its bases: MMEngine's ``_file2dict`` on data.

    ``budget`` (``[size, steps]``) and ``state`` (``[files read]``) are shared by one load.
    """
    filename = osp.abspath(osp.expanduser(filename))
    pfile, pline = parent if parent else (None, None)
    if filename in chain:
        cycle = " -> ".join(osp.basename(f) for f in (*chain, filename))
        raise ConfigError(f"cyclic _base_: {cycle}", path="_base_", file=pfile, line=pline,
                          fix="remove one of the _base_ entries that close the cycle")
    ext = osp.splitext(filename)[1]
    if ext not in EXTENSIONS:
        raise ConfigError(f"unsupported config file type {ext or '(none)'!r}: {filename}",
                          path="_base_" if parent else None, file=pfile or filename, line=pline,
                          expected="a .py, .yaml, .yml or .json file", fix="name a .py, .yaml, .yml or .json config file")
    if not osp.isfile(filename):
        what = "_base_ file" if parent else "config file"
        raise ConfigError(f"{what} not found: {filename}", path="_base_" if parent else None,
                          file=pfile, line=pline,
                          fix="check the path (relative _base_ paths start at the including "
                              "file's folder)")
    state[0] += 1
    if state[0] > limits.max_files:
        raise ConfigError(f"more than {limits.max_files} config files read for one config "
                          "(counting each _base_ read)", path="_base_", file=pfile, line=pline,
                          fix="use fewer or shallower _base_ files")
    if len(chain) >= limits.max_base_depth:
        raise ConfigError(f"_base_ chain longer than {limits.max_base_depth} files",
                          path="_base_", file=pfile, line=pline,
                          fix="use fewer levels of _base_ files")
    text = _read_text(filename, limits)
    text = substitute_predefined(text, filename)
    text, _ = substitute_env(text, filename)
    text, base_vars = pre_substitute_base_vars(text)

    tree = None
    data: dict[str, Any] | None = None
    if ext == ".py":
        tree = parse_source(text, filename, limits)
        base_files, base_line = read_base_files(tree, filename)
    else:
        data = load_yaml_text(text, filename, limits)
        raw = data.get("_base_", [])
        base_files = raw if isinstance(raw, list) else [raw]
        base_line = yaml_locations(text).get(("_base_",), (None,))[0]
        if any(not isinstance(b, str) for b in base_files):
            raise ConfigError("_base_ entries must be file paths (str)", path="_base_",
                              file=filename, line=base_line, fix="write _base_ = ['relative/path.py', ...]")

    base_cfg = ConfigDict()
    owners: dict[str, str] = {}
    locator = Locator()
    for entry in base_files:
        path, scope = _resolve_base(entry, filename, base_line)
        sub, sub_locator = _read(path, (*chain, filename), (filename, base_line), limits,
                                 budget, state)
        locator.extend(sub_locator)
        dup = [k for k in sub if k in base_cfg]
        if dup:
            raise ConfigError(
                f"key(s) {sorted(dup)} defined in more than one _base_ file "
                f"({osp.basename(owners[dup[0]])} and {osp.basename(path)})",
                path="_base_", file=filename, line=base_line,
                fix="a key may come from one base only: remove it from one file, or set it "
                    "in this file instead")
        for k in sub:
            owners[k] = path
        base_cfg.update(to_config_dict(sub, scope))

    if tree is not None:
        cfg = evaluate_source(tree, filename, base_cfg, limits, budget)
        locator.add(filename, py_locations(tree))
    else:
        assert data is not None
        cfg = data
        locator.add(filename, yaml_locations(text))

    if "_deprecation_" in cfg:
        info = cfg.pop("_deprecation_")
        msg = f"The config file {filename} will be deprecated in the future."
        if isinstance(info, Mapping) and "expected" in info:
            msg += f" Please use {info['expected']} instead."
        if isinstance(info, Mapping) and "reference" in info:
            msg += f" More information can be found at {info['reference']}"
        warnings.warn(msg, DeprecationWarning, stacklevel=2)

    try:
        cfg = substitute_base_vars(cfg, base_vars, base_cfg, filename, budget=budget)
    except ConfigError as err:
        where = locator.locate(err.path) if err.path else None
        if where and where[0] == filename and err.line is None:
            err.line = where[1]
            err.args = (str(err),)
        raise
    cfg.pop("_base_", None)
    try:
        merged = merge_into(cfg, base_cfg)
    except ConfigError as err:
        where = locator.locate(err.path) if err.path else None
        raise err.with_location(file=where[0] if where else filename,
                                line=where[1] if where else None) from None
    out = {k: v for k, v in merged.items() if not str(k).startswith("__")}

    check_data(out, filename, limits, locator.locate, budget)
    return out, locator


# -- public API ---------------------------------------------------------------------------------
def _apply_overrides(cfg: Config, overrides: Iterable[str] | Mapping[str, Any]) -> Config:
    if isinstance(overrides, Mapping):
        items = [(str(k), v) for k, v in overrides.items()]
        texts = [f"{k}={v!r}" for k, v in items]
    elif isinstance(overrides, str):
        raise ConfigError("overrides must be a list of 'key=value' strings or a dict",
                          fix=f"use [{overrides!r}]")
    else:
        texts = list(overrides)
        items = [parse_override(t) for t in texts]
    if not items:
        return cfg
    tree = overrides_to_tree(items)
    try:
        merged = merge_into(tree, ConfigDict(cfg), allow_list_keys=True)
    except ConfigError as err:
        raise err.with_location(file="<overrides>") from None
    from lightning_runtime.config._locate import split_path

    locator = Locator()
    locator.extend(cfg._locator)
    for text, (key, value) in zip(texts, items):
        locator.add(f"<override {text}>",
                    {split_path(key): (0, "dict" if isinstance(value, Mapping) else "value")})
    return Config(merged, cfg.filename, locator, getattr(cfg, "sources", None))


def load_config(src: str | os.PathLike[str] | Mapping[str, Any],
                overrides: Iterable[str] | Mapping[str, Any] | None = None) -> Config:
    """Load a config file (``.py``/``.yaml``/``.yml``/``.json``) or mapping into a :class:`Config`.

    Args:
        src: A path, or a mapping (copied and converted, used as is otherwise).
        overrides: ``['optim_wrapper.optimizer.lr=0.02', 'param_scheduler.1.end=2000']``
            (MMEngine ``--cfg-options``) or ``{'optim_wrapper.optimizer.lr': 0.02}``.

    Raises:
        ConfigError: anything wrong with the file, its bases or an override, with ``file:line``.

    Example:
        >>> load_config({'a': (1, 2)}, overrides=['b=[1,2]']).to_dict()
        {'a': (1, 2), 'b': [1, 2]}
    """
    if isinstance(src, Config):
        cfg = Config(copy.deepcopy(dict(src)), src.filename, src._locator, src.sources)
    elif isinstance(src, Mapping):
        data = src
        if type(src).__module__.startswith("omegaconf"):
            from omegaconf import OmegaConf

            data = OmegaConf.to_container(src, resolve=True)  # type: ignore[assignment]
        cfg = Config(to_config_dict(copy.deepcopy(to_plain(dict(data)))))
    elif isinstance(src, (str, os.PathLike)):
        path = os.fspath(src)
        limits = Limits()
        data_dict, locator = _read(path, (), None, limits, [limits.max_total, 0], [0])
        for key in RESERVED_KEYS:
            if key in data_dict:
                where = locator.locate(key)
                raise ConfigError(
                    f"'{key}' is reserved (it is an attribute of the loaded config)", path=key,
                    file=where[0] if where else path, line=where[1] if where else None,
                    expected=f"a name other than {', '.join(RESERVED_KEYS)}",
                    fix=f"rename {key}")
        cfg = Config(data_dict, path, locator)
    else:
        raise ConfigError(f"cannot load a config from {type(src).__name__}",
                          expected="a path to a .py/.yaml/.yml/.json file, or a dict", fix="pass a config file path or a dict")
    if overrides:
        cfg = _apply_overrides(cfg, overrides)
    return cfg


def merge_configs(base: Mapping[str, Any], override: Mapping[str, Any]) -> Config:
    """Merge ``override`` into ``base`` with MMEngine's rules (for several ``--config`` files).

    Dicts merge recursively, lists/tuples and scalars replace, ``_delete_=True`` replaces a dict.
    Locations of both are kept (``override`` wins).
    """
    merged = merge_into(to_config_dict(copy.deepcopy(to_plain(dict(override)))),
                        to_config_dict(copy.deepcopy(to_plain(dict(base)))))
    locator = Locator()
    filename = None
    sources: tuple[str, ...] = ()
    for part in (base, override):
        if isinstance(part, Config):
            locator.extend(part._locator)
            filename = part.filename or filename
            sources += tuple(f for f in part.sources if f not in sources)
    return Config(merged, filename, locator, sources)
