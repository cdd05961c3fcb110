"""Text substitutions applied to a config file before it is parsed, as MMEngine applies them.

* predefined variables: ``{{fileDirname}}``, ``{{fileBasename}}``, ``{{fileBasenameNoExtension}}``,
  ``{{fileExtname}}`` (spaces inside the braces allowed);
* environment variables: ``{{$NAME:default}}`` (the default is used when ``NAME`` is unset);
* inherited values: ``{{_base_.a.b}}`` becomes a unique placeholder string, replaced by the
  inherited value after the file is read (:func:`substitute_base_vars`). As in MMEngine, only a
  placeholder that is a whole value (a dict value or a list/tuple item) is replaced.

Example:
    >>> predefined_vars('/cfg/a.py')['fileBasenameNoExtension']
    'a'
"""

from __future__ import annotations

import copy
import os
import os.path as osp
import re
import uuid
from collections.abc import Mapping
from typing import Any

from lightning_runtime.config._limits import LIMIT_FIX, tree_size
from lightning_runtime.errors import ConfigError

__all__ = [
    "predefined_vars",
    "substitute_predefined",
    "substitute_env",
    "pre_substitute_base_vars",
    "substitute_base_vars",
    "lookup_base",
]

_ENV = re.compile(r"\{\{['\"]?\s*\$(\w+)\s*:\s*(\S*?)\s*['\"]?\}\}")
_BASE = re.compile(r"\{\{\s*_base_\.([\w.]+)\s*\}\}")


def predefined_vars(filename: str) -> dict[str, str]:
    """The four predefined variables for ``filename`` (an absolute path)."""
    basename = osp.basename(filename)
    return {
        "fileDirname": osp.dirname(filename),
        "fileBasename": basename,
        "fileBasenameNoExtension": osp.splitext(basename)[0],
        "fileExtname": osp.splitext(filename)[1],
    }


def substitute_predefined(text: str, filename: str) -> str:
    """Replace ``{{ fileDirname }}`` and friends in ``text``."""
    for key, value in predefined_vars(filename).items():
        replacement = value.replace("\\", "/")  # a function as repl: its backslashes stay literal
        text = re.sub(r"\{\{\s*" + key + r"\s*\}\}", lambda _m: replacement, text)
    return text


def substitute_env(text: str, filename: str) -> tuple[str, dict[str, str]]:
    """Replace ``{{$NAME:default}}``; returns the text and the variables read from the env."""
    used: dict[str, str] = {}

    def repl(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            used[name] = os.environ[name]
            return os.environ[name]
        if not default:
            line = text.count("\n", 0, match.start()) + 1
            raise ConfigError(
                f"environment variable {name} is not set and has no default", file=filename,
                line=line, fix=f"set {name} in the environment or write {{{{${name}:default}}}}")
        return default

    return _ENV.sub(repl, text), used


def pre_substitute_base_vars(text: str) -> tuple[str, dict[str, str]]:
    """Replace ``{{_base_.a.b}}`` with quoted placeholders; returns text and placeholder map."""
    mapping: dict[str, str] = {}
    by_var: dict[str, str] = {}

    def repl(match: re.Match[str]) -> str:
        var = match.group(1)
        if var not in by_var:
            placeholder = f"_{var}_{uuid.uuid4().hex[:6]}"
            by_var[var] = placeholder
            mapping[placeholder] = var
        return f'"{by_var[var]}"'

    return _BASE.sub(repl, text), mapping


def lookup_base(base: Mapping[str, Any], dotted: str, filename: str, path: str | None) -> Any:
    """Read ``a.b.c`` from the merged base config, or raise a ConfigError that names it."""
    value: Any = base
    walked: list[str] = []
    for key in dotted.split("."):
        if not isinstance(value, Mapping) or key not in value:
            from lightning_runtime.errors import did_you_mean

            have = list(value) if isinstance(value, Mapping) else []
            raise ConfigError(
                f"{{{{_base_.{dotted}}}}}: the inherited config has no key "
                f"'{'.'.join([*walked, key])}'", path=path, file=filename,
                candidates=did_you_mean(key, [str(h) for h in have]),
                fix="check the key against the files listed in _base_")
        value = value[key]
        walked.append(key)
    return value


def substitute_base_vars(cfg: Any, mapping: Mapping[str, str], base: Mapping[str, Any],
                         filename: str, path: tuple[Any, ...] = (),
                         budget: list[int] | None = None) -> Any:
    """A fresh copy of ``cfg`` with placeholder strings replaced by the inherited values.

    Like MMEngine's walk, every container is copied separately (no sharing survives between
    values) while a substituted inherited value is the inherited object itself.

    ``budget`` (``[n, ...]``) bounds the expanded size of everything substituted: each inherited
    value costs its expanded size each time it is used, so ``[{{_base_.big}}] * 20000`` is
    refused before anything copies it.

    Raises:
        ConfigError: an unknown ``_base_`` key, or the substituted values exceed ``budget``.
    """
    from lightning_runtime.errors import format_path

    sizes: dict[int, int] = {}  # expanded size of each inherited value, measured once

    def walk(cfg: Any, path: tuple[Any, ...]) -> Any:
        if isinstance(cfg, str) and cfg in mapping:
            value = lookup_base(base, mapping[cfg], filename, format_path(path) or None)
            if budget is not None:
                if id(value) not in sizes:
                    sizes[id(value)] = tree_size(value, max(budget[0], 0))
                budget[0] -= sizes[id(value)]
                if budget[0] < 0:
                    raise ConfigError(
                        f"{{{{_base_.{mapping[cfg]}}}}} makes the config too large (an inherited "
                        "value counts its full size each time it is substituted)",
                        path=format_path(path) or None, file=filename, fix=LIMIT_FIX)
            return value
        if isinstance(cfg, dict):
            out = type(cfg).__new__(type(cfg))
            dict.__init__(out)
            for key, value in dict.items(cfg):
                out[copy.deepcopy(key)] = walk(value, (*path, key))
            return out
        if isinstance(cfg, (list, tuple)):
            return type(cfg)(walk(v, (*path, i)) for i, v in enumerate(cfg))
        return copy.deepcopy(cfg)

    return walk(cfg, path)
