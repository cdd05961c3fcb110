"""Registries: how ``type='NewHook'`` in a config becomes a class.

A :class:`Registry` maps names to classes (or functions) exactly as MMEngine's does for the parts a
config uses: ``register_module(name=None, force=False, module=None)`` as a decorator or a call,
``get(name)`` and ``build(cfg, default_args)``. A ``type`` may be

* a registered name (``'PolyLR'``),
* a scoped name (``'mmseg.PolyLRRatio'``, ``'mmengine.LinearLR'``): the scope is accepted and ignored,
* a dotted import path (``'my_pkg.hooks.NewHook'``): the module is imported by name, or
* the class itself.

``build`` checks the keyword arguments against the class signature *before* constructing, so a
typo is a :class:`~lightning_runtime.errors.ConfigError` naming the config path and the closest
valid argument, not a ``TypeError`` from deep inside a constructor.

Example:
    >>> from lightning_runtime.registry import Registry
    >>> TOYS = Registry("toy")
    >>> @TOYS.register_module()
    ... class Ball:
    ...     def __init__(self, size: int = 1) -> None:
    ...         self.size = size
    >>> TOYS.build(dict(type="Ball", size=3)).size
    3
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .errors import ConfigError, did_you_mean

__all__ = [
    "Registry",
    "HOOKS",
    "OPTIMIZERS",
    "OPTIM_WRAPPERS",
    "OPTIM_WRAPPER_CONSTRUCTORS",
    "PARAM_SCHEDULERS",
    "METRICS",
    "VISBACKENDS",
    "import_modules",
    "check_kwargs",
]


def _import_object(dotted: str) -> Any:
    """Import ``pkg.mod.Name`` by module name; ``None`` when it cannot be found."""
    module_name, _, attr = dotted.rpartition(".")
    if not module_name:
        return None
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # Only "that module does not exist" means "not a dotted path"; a module that exists but
        # fails to import is a real error the user must see.
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            return None
        raise
    return getattr(module, attr, None)


def _is_builtin(obj: Any) -> bool:
    return str(getattr(obj, "__module__", "")).startswith("lightning_runtime.")


class Registry:
    """A name -> class table with MMEngine's registration API.

    Args:
        name: Human name used in messages (``'hook'``, ``'optimizer'``).
        locations: Modules imported on first lookup; importing them registers the built-ins.
        var_name: The registry's variable name shown in messages (default ``NAME + 'S'``).
    """

    def __init__(self, name: str, locations: Iterable[str] = (), var_name: str | None = None) -> None:
        self.name = name
        self.var_name = var_name or name.upper() + "S"
        self._module_dict: dict[str, Any] = {}
        self._locations = list(locations)
        self._imported = False

    # ------------------------------------------------------------------ registration
    def register_module(
        self,
        name: str | Iterable[str] | None = None,
        force: bool = False,
        module: Any = None,
    ) -> Any:
        """Register ``module`` under ``name`` (default: its ``__name__``).

        Used as ``@REG.register_module()``, ``@REG.register_module(name='X')`` or
        ``REG.register_module(module=cls)``. Registering a different object under a taken name
        raises ``KeyError`` unless ``force=True``, as in MMEngine.
        """
        if not isinstance(force, bool):
            raise TypeError(f"force must be a bool, got {type(force).__name__}")
        if name is not None and not isinstance(name, str):
            name = list(name)
            if not all(isinstance(n, str) for n in name):
                raise TypeError("name must be None, a str or a sequence of str")
        if module is not None:
            self._register(module, name, force)
            return module

        def _decorator(obj: Any) -> Any:
            self._register(obj, name, force)
            return obj

        return _decorator

    def _register(self, obj: Any, name: str | list[str] | None, force: bool) -> None:
        if not callable(obj):
            raise TypeError(f"only classes or functions can be registered, got {type(obj).__name__}")
        names = [obj.__name__] if name is None else ([name] if isinstance(name, str) else name)
        for key in names:
            existing = self._module_dict.get(key)
            if existing is not None and existing is not obj and not force:
                if _is_builtin(existing) and not _is_builtin(obj):
                    # A user's class shadows a built-in of the same name, as a downstream project's
                    # registry shadows MMEngine's (e.g. MMSeg's LearningRateDecayOptimizerConstructor).
                    import warnings

                    warnings.warn(
                        f"{key!r} from {getattr(obj, '__module__', '?')} replaces the built-in "
                        f"{self.name} of that name",
                        UserWarning,
                        stacklevel=4,
                    )
                    self._module_dict[key] = obj
                    continue
                raise KeyError(
                    f"{key!r} is already registered in the {self.name} registry "
                    f"(by {existing.__module__}); pass force=True to replace it"
                )
            self._module_dict[key] = obj

    # ------------------------------------------------------------------ lookup
    def _import_locations(self) -> None:
        if self._imported:
            return
        self._imported = True
        for loc in self._locations:
            try:
                importlib.import_module(loc)
            except ModuleNotFoundError as exc:  # a location not written yet is simply empty
                if exc.name != loc:
                    raise

    @property
    def module_dict(self) -> dict[str, Any]:
        """All registered names (built-ins included)."""
        self._import_locations()
        return dict(self._module_dict)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __len__(self) -> int:
        return len(self.module_dict)

    def __repr__(self) -> str:
        return f"Registry(name={self.name!r}, items={sorted(self.module_dict)})"

    def get(self, key: Any) -> Any:
        """Resolve ``key`` to a class/function; ``None`` when it names nothing.

        Tries, in order: the registered name, a scoped name (``scope.Name``), a dotted import path.
        """
        if not isinstance(key, str):
            return key if callable(key) else None
        self._import_locations()
        if key in self._module_dict:
            return self._module_dict[key]
        if "." in key:
            scope, _, short = key.partition(".")
            if "." not in short and short in self._module_dict and scope.isidentifier():
                return self._module_dict[short]
            obj = _import_object(key)
            if obj is not None:
                return obj
        return None

    def resolve(self, key: Any, path: str | None = None) -> Any:
        """Like :meth:`get` but raises a :class:`ConfigError` with did-you-mean when unknown."""
        obj = self.get(key)
        if obj is not None:
            return obj
        shown = key if isinstance(key, str) else repr(key)
        names = sorted(self.module_dict)
        raise ConfigError(
            f"unknown {self.name} type {shown!r}",
            path=path,
            candidates=did_you_mean(str(shown).rpartition(".")[2], names),
            fix=(
                f"use a registered {self.name} name, a dotted import path such as "
                f"'my_pkg.module.ClassName', or register yours with "
                f"@{self.var_name}.register_module() and list its module in custom_imports"
            ),
        )

    # ------------------------------------------------------------------ build
    def build(
        self,
        cfg: Mapping[str, Any],
        default_args: Mapping[str, Any] | None = None,
        *,
        path: str | None = None,
    ) -> Any:
        """Build an object from ``cfg`` (a mapping with ``type``), checking arguments first.

        Args:
            cfg: ``dict(type=..., **kwargs)``.
            default_args: Arguments used when ``cfg`` does not give them (``cfg`` wins).
            path: The config path of ``cfg``, used in error messages.
        """
        if not isinstance(cfg, Mapping):
            raise ConfigError(
                f"expected a dict with a 'type' key, got {type(cfg).__name__}",
                path=path,
                fix="write it as dict(type='...', ...)",
            )
        args = dict(cfg)
        if default_args:
            for key, value in default_args.items():
                args.setdefault(key, value)
        if "type" not in args:
            raise ConfigError(
                f"missing 'type' (which {self.name} to build)",
                path=path,
                fix=f"add type='...' naming a registered {self.name}",
            )
        type_path = f"{path}.type" if path else "type"
        obj_cls = self.resolve(args.pop("type"), path=type_path)
        check_kwargs(obj_cls, args, path=path)
        try:
            return obj_cls(**args)
        except ConfigError as err:
            raise err.with_location(path=path)
        except (TypeError, ValueError) as exc:
            name = getattr(obj_cls, "__name__", repr(obj_cls))
            raise ConfigError(f"{name}({_fmt_kwargs(args)}) failed: {exc}", path=path) from exc


def _fmt_kwargs(kwargs: Mapping[str, Any]) -> str:
    text = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    return text if len(text) < 200 else text[:197] + "..."


def check_kwargs(
    target: Callable[..., Any],
    kwargs: Mapping[str, Any],
    *,
    path: str | None = None,
    skip_first: int = 0,
) -> None:
    """Raise a :class:`ConfigError` when ``kwargs`` do not fit ``target``'s signature.

    Args:
        target: A class (its ``__init__`` is inspected) or a function.
        kwargs: The keyword arguments a config gives.
        path: Config path of the mapping holding ``kwargs``.
        skip_first: Positional parameters supplied by the caller, not the config (e.g. ``params``
            of an optimizer) and therefore not required from it.
    """
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):  # builtins without a signature: let the call decide
        return
    params = list(sig.parameters.values())[skip_first:]
    if any(p.kind is p.VAR_KEYWORD for p in params):
        accepted = None
    else:
        accepted = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    name = getattr(target, "__name__", repr(target))
    if accepted is not None:
        for key in kwargs:
            if key not in accepted:
                raise ConfigError(
                    f"{name} has no argument {key!r}",
                    path=f"{path}.{key}" if path else key,
                    candidates=did_you_mean(key, accepted),
                    expected=f"one of: {', '.join(accepted)}" if accepted else "no arguments",
                    fix=f"remove {key!r} or correct its spelling",
                )
    for p in params:
        if (
            p.default is p.empty
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
            and p.name not in kwargs
        ):
            raise ConfigError(
                f"{name} needs argument {p.name!r}",
                path=path,
                fix=f"add {p.name}=... to the config",
            )


def import_modules(imports: Any, allow_failed_imports: bool = False, *, path: str = "custom_imports") -> list[Any]:
    """Import modules by name, as MMEngine's ``custom_imports`` does (never by file path).

    Args:
        imports: A module name or a list of them (``custom_imports.imports``).
        allow_failed_imports: Warn instead of failing when a module cannot be imported.
        path: Config path used in messages.
    """
    import warnings

    if imports is None:
        return []
    names = [imports] if isinstance(imports, str) else list(imports)
    modules = []
    for i, name in enumerate(names):
        if not isinstance(name, str) or "/" in name or name.endswith(".py"):
            raise ConfigError(
                f"{name!r} is not a module name",
                path=f"{path}.imports[{i}]",
                fix="give a dotted module name importable from PYTHONPATH, e.g. 'my_pkg.hooks'",
            )
        try:
            modules.append(importlib.import_module(name))
        except ImportError as exc:
            if allow_failed_imports:
                warnings.warn(f"custom_imports: {name} failed to import and is ignored: {exc}", stacklevel=2)
                modules.append(None)
                continue
            raise ConfigError(
                f"cannot import {name!r}: {exc}",
                path=f"{path}.imports[{i}]",
                fix="make sure the module is on PYTHONPATH (pip install -e your project), "
                "or set allow_failed_imports=True",
            ) from exc
    return modules


HOOKS = Registry("hook", locations=["lightning_runtime.callbacks"])
OPTIMIZERS = Registry("optimizer", locations=["lightning_runtime.optim"])
OPTIM_WRAPPERS = Registry("optim_wrapper", locations=["lightning_runtime.optim"])
OPTIM_WRAPPER_CONSTRUCTORS = Registry("optim_wrapper_constructor", locations=["lightning_runtime.optim"])
PARAM_SCHEDULERS = Registry("param_scheduler", locations=["lightning_runtime.schedulers"])
METRICS = Registry("metric", locations=["lightning_runtime.evaluation"])
VISBACKENDS = Registry("vis_backend", locations=["lightning_runtime.loggers"], var_name="VISBACKENDS")
