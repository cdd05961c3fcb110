"""Registries: how ``type='NewHook'`` in a config becomes a class.

A :class:`Registry` maps names to classes (or functions) exactly as MMEngine's does for the parts a
config uses: ``register_module(name=None, force=False, module=None)`` as a decorator or a call,
``get(name)`` and ``build(cfg, default_args)``. A ``type`` may be

* a registered name (``'PolyLR'``),
* a scoped name (``'mmseg.PolyLRRatio'``, ``'mmengine.LinearLR'``): the scope is accepted and ignored,
* a dotted import path (``'my_pkg.hooks.NewHook'``): the module is imported by name, or
* the class itself.

Whatever the spelling, the result must be **a class of the kind the registry holds** (its
:class:`Kind`: ``OPTIMIZERS`` holds ``torch.optim.Optimizer`` subclasses, ``HOOKS`` hooks and
Lightning callbacks, ...) or a function registered explicitly with ``register_module``. This is
checked *before* anything is called: a dotted path to a function (``'os.system'``,
``'torch.save'``), a class of another kind (``'builtins.dict'`` as a hook) or a non-class object is
a :class:`~lightning_runtime.errors.ConfigError` naming the slot, what it got and what it accepts.

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
import importlib.util
import inspect
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lightning_runtime.errors import ConfigError, did_you_mean

__all__ = [
    "Registry",
    "Kind",
    "resolve_class",
    "resolve_function",
    "import_object",
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


def _is_module_name(name: str) -> bool:
    return bool(name) and all(part.isidentifier() for part in name.split("."))


def import_object(dotted: str, *, path: str | None = None) -> Any:
    """Import ``pkg.mod.Name`` by module name and return ``Name`` (nothing is called).

    Returns ``None`` when ``dotted`` is not a dotted path of identifiers, its module does not
    exist, or the module has no such attribute. A module that exists but fails to import is a
    :class:`ConfigError` at ``path`` (the user must see why).
    """
    if not isinstance(dotted, str):
        return None
    module_name, _, attr = dotted.rpartition(".")
    if not _is_module_name(module_name) or not attr.isidentifier():
        return None
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # Only "that module does not exist" means "not a dotted path"; a module that exists but
        # fails to import is a real error the user must see.
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            return None
        raise ConfigError(f"importing module {module_name!r} failed: {exc}", path=path,
                          fix=f"fix the import error in {module_name}, or correct the dotted path") from exc
    except Exception as exc:  # noqa: BLE001 - any import-time failure of the user's module
        raise ConfigError(f"importing module {module_name!r} failed: {type(exc).__name__}: {exc}", path=path,
                          fix=f"fix the import error in {module_name}, or correct the dotted path") from exc
    return getattr(module, attr, None)


_import_object = import_object  # the name other modules used before it was public


def _installed(package: str) -> bool:
    """Whether top-level module ``package`` can be imported (found without importing it)."""
    if package in sys.modules:
        return sys.modules[package] is not None
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def describe_object(obj: Any) -> str:
    """A short phrase for ``obj`` in error messages (``the function os.system``)."""
    if inspect.isclass(obj):
        return f"the class {obj.__module__}.{obj.__qualname__}"
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    module = getattr(obj, "__module__", None)
    if name and (inspect.isroutine(obj) or callable(obj)):
        kind = "function" if inspect.isroutine(obj) else f"{type(obj).__name__} object"
        return f"the {kind} {module + '.' if module else ''}{name}"
    return f"a {type(obj).__name__} object, not a class"


@dataclass(frozen=True)
class Kind:
    """What a registry slot accepts: subclasses of ``bases`` or classes passing ``predicate``.

    Base classes are written as dotted names and imported on first use, so registry modules stay
    free of Lightning imports.

    Args:
        description: Human description used in messages (``'a torch.optim.Optimizer subclass'``).
        bases: Dotted names of accepted base classes (``'torch.optim.Optimizer'``).
        predicate: Extra acceptance test for classes not derived from ``bases`` (a class's shape).
    """

    description: str
    bases: tuple[str, ...] = ()
    predicate: Callable[[type], bool] | None = field(default=None, compare=False)

    def base_classes(self) -> tuple[type, ...]:
        """The base classes, imported now (a base whose package is missing is skipped)."""
        out = []
        for dotted in self.bases:
            module_name, _, attr = dotted.rpartition(".")
            try:
                obj = getattr(importlib.import_module(module_name), attr, None)
            except ImportError:
                continue
            if inspect.isclass(obj):
                out.append(obj)
        return tuple(out)

    def accepts(self, cls: Any) -> bool:
        """``True`` when ``cls`` is a class of this kind."""
        if not inspect.isclass(cls):
            return False
        bases = self.base_classes()
        if bases and issubclass(cls, bases):
            return True
        if self.predicate is not None:
            try:
                return bool(self.predicate(cls))
            except Exception:  # noqa: BLE001 - a shape test never raises into the caller
                return False
        return not self.bases


#: Any class (a registry without a declared kind).
ANY_CLASS = Kind("a class")


def _kind_error(what: str, shown: str, obj: Any, kind: Kind, path: str | None, registry: Registry | None) -> ConfigError:
    if registry is not None:
        fix = (f"use a registered {registry.name} name or a dotted path 'pkg.module.ClassName' to such a class; "
               f"a function is accepted only when registered with @{registry.var_name}.register_module()")
    else:
        fix = "give a dotted path 'pkg.module.ClassName' to such a class"
    return ConfigError(
        f"{what} {shown!r} is {describe_object(obj)}, not {kind.description.partition(' (')[0]}; nothing was called",
        path=path,
        expected=kind.description,
        fix=fix,
    )


def resolve_class(spec: Any, kind: Kind, *, path: str | None, what: str = "type") -> type:
    """Resolve a dotted path (or a class) to a class of ``kind`` without calling anything.

    Args:
        spec: ``'pkg.module.ClassName'`` or a class.
        kind: What the slot accepts.
        path: Config path for messages (``model.class_path``).
        what: What the value is called in messages (``'class_path'``).

    Raises:
        ConfigError: ``spec`` names nothing importable, or something that is not a class of ``kind``.
    """
    obj = spec if not isinstance(spec, str) else import_object(spec, path=path)
    if obj is None:
        raise ConfigError(
            f"{what} {spec!r} names nothing importable",
            path=path,
            expected=kind.description,
            fix="give a dotted path 'package.module.ClassName' importable from PYTHONPATH",
        )
    if not kind.accepts(obj):
        shown = spec if isinstance(spec, str) else getattr(spec, "__name__", repr(spec))
        raise _kind_error(what, str(shown), obj, kind, path, None)
    return obj


def _is_builtin(obj: Any) -> bool:
    return str(getattr(obj, "__module__", "")).startswith("lightning_runtime.")


class Registry:
    """A name -> class table with MMEngine's registration API.

    Args:
        name: Human name used in messages (``'hook'``, ``'optimizer'``).
        locations: Modules imported on first lookup; importing them registers the built-ins.
        var_name: The registry's variable name shown in messages (default ``NAME + 'S'``).
        kind: What a ``type`` must resolve to (default: any class); explicitly registered
            functions are accepted as builders whatever the kind.
    """

    def __init__(
        self, name: str, locations: Iterable[str] = (), var_name: str | None = None, kind: Kind | None = None
    ) -> None:
        self.name = name
        self.var_name = var_name or name.upper() + "S"
        self.kind = kind or ANY_CLASS
        self._module_dict: dict[str, Any] = {}
        self._locations = list(locations)
        self._imported = False
        #: Names registered by optional packages once needed: (names or None for any, package, loader).
        self._lazy: list[tuple[frozenset[str] | None, str, Callable[[Registry], None]]] = []

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

    def register_lazy(self, package: str, loader: Callable[[Registry], None], names: Iterable[str] | None = None) -> None:
        """Have ``loader(self)`` register an optional package's classes when one of ``names`` is looked up.

        Nothing is imported now: when a lookup misses and ``package`` is installed
        (``importlib.util.find_spec``, which does not import it), the loader runs once. With
        ``names=None`` (names known only after import, e.g. ``bitsandbytes.optim``) any miss
        runs it. An absent package costs nothing.

        Args:
            package: The top-level module of the optional package (``'dadaptation'``).
            loader: Imports the package and registers its classes here.
            names: The names the loader registers, when known in advance.
        """
        self._lazy.append((None if names is None else frozenset(names), package, loader))

    def lazy_names(self) -> list[str]:
        """Names optional packages that are installed will register on first use (nothing imported)."""
        out: list[str] = []
        for names, package, _ in self._lazy:
            if names is not None and _installed(package):
                out.extend(sorted(names))
        return out

    def _load_lazy(self, key: str) -> bool:
        """Run the pending loaders that may register ``key``; ``True`` once ``key`` is registered.

        Loaders that name ``key`` run first; those of unknown names only if it is still missing.
        """
        for any_name in (False, True):
            for entry in list(self._lazy):
                names, package, loader = entry
                if (names is None) is any_name and (any_name or key in names) and _installed(package):  # type: ignore[operator]
                    self._lazy.remove(entry)
                    loader(self)
            if key in self._module_dict:
                return True
        return False

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

    def _lookup(self, key: Any, path: str | None = None) -> Any:
        """The object ``key`` names (nothing is called; no kind check); ``None`` when nothing."""
        if not isinstance(key, str):
            return key if callable(key) else None
        self._import_locations()
        if key in self._module_dict:
            return self._module_dict[key]
        if self._lazy and "." not in key and self._load_lazy(key):
            return self._module_dict[key]
        if "." in key:
            scope, _, short = key.partition(".")
            if "." not in short and short in self._module_dict and scope.isidentifier():
                return self._module_dict[short]
            return import_object(key, path=path)
        return None

    def _is_registered(self, obj: Any) -> bool:
        return any(obj is value for value in self._module_dict.values())

    def accepts(self, obj: Any) -> bool:
        """``True`` when ``obj`` may be built here: a class of :attr:`kind`, or a registered function."""
        if inspect.isclass(obj):
            return self.kind.accepts(obj)
        return callable(obj) and self._is_registered(obj)

    def get(self, key: Any) -> Any:
        """Resolve ``key`` to a class (or registered builder); ``None`` when it names nothing acceptable.

        Tries, in order: the registered name, a scoped name (``scope.Name``), a dotted import path.
        Objects that are not of the registry's :attr:`kind` (a function reached by dotted path,
        a class of another kind) count as nothing.
        """
        try:
            obj = self._lookup(key)
        except ConfigError:
            return None
        return obj if obj is not None and self.accepts(obj) else None

    def resolve(self, key: Any, path: str | None = None) -> Any:
        """Like :meth:`get` but raises a :class:`ConfigError`: unknown name (with did-you-mean) or wrong kind.

        Nothing is called: a dotted path only imports its module by name.
        """
        obj = self._lookup(key, path=path)
        shown = key if isinstance(key, str) else getattr(key, "__name__", repr(key))
        if obj is not None:
            if self.accepts(obj):
                return obj
            raise _kind_error(f"{self.name} type", str(shown), obj, self.kind, path, self)
        names = sorted(set(self.module_dict) | set(self.lazy_names()))
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
        args.pop("_scope_", None)  # MMEngine's registry scope; one registry per kind here
        obj_cls = self.resolve(args.pop("type"), path=type_path)
        check_kwargs(obj_cls, args, path=path)
        try:
            return obj_cls(**args)
        except ConfigError as err:
            raise err.with_location(path=path)
        except (TypeError, ValueError) as exc:
            name = getattr(obj_cls, "__name__", repr(obj_cls))
            raise ConfigError(f"{name}({_fmt_kwargs(args)}) failed: {exc}", path=path, fix=f"check the arguments given to {name} against its signature") from exc


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


def import_modules(imports: Any, allow_failed_imports: Any = False, *, path: str = "custom_imports") -> list[Any]:
    """Import modules by name, as MMEngine's ``custom_imports`` does (never by file path).

    This is the one place where a config brings in code: each name is an absolute dotted module
    name (``'my_pkg.hooks'``), imported with :func:`importlib.import_module`; importing it is
    expected to register classes (``@HOOKS.register_module()``). Relative names (``'.hooks'``),
    empty names, file paths and non-strings are refused.

    Args:
        imports: A module name or a list of them (``custom_imports.imports``).
        allow_failed_imports: Warn instead of failing when a module cannot be imported (a bool).
        path: Config path used in messages.
    """
    import warnings

    if not isinstance(allow_failed_imports, bool):
        raise ConfigError(
            f"must be True or False, got {allow_failed_imports!r}",
            path=f"{path}.allow_failed_imports",
            fix="write allow_failed_imports=False (or True to warn instead of failing)",
        )
    if imports is None:
        return []
    if isinstance(imports, str):
        names: list[Any] = [imports]
    elif isinstance(imports, (list, tuple)):
        names = list(imports)
    else:
        raise ConfigError(
            f"must be a module name or a list of module names, got {type(imports).__name__} {imports!r}"[:300],
            path=f"{path}.imports",
            fix="write custom_imports = dict(imports=['my_pkg.hooks'], allow_failed_imports=False)",
        )
    modules: list[Any] = []
    for i, name in enumerate(names):
        item_path = f"{path}.imports[{i}]" if not isinstance(imports, str) else f"{path}.imports"
        if not isinstance(name, str) or not _is_module_name(name):
            why = ("a relative module name" if isinstance(name, str) and name.startswith(".")
                   else "not a module name")
            raise ConfigError(
                f"{name!r} is {why}"[:300],
                path=item_path,
                fix="give an absolute dotted module name importable from PYTHONPATH, e.g. 'my_pkg.hooks' "
                "(no file paths, no leading dots)",
            )
        try:
            modules.append(importlib.import_module(name))
        except Exception as exc:  # noqa: BLE001 - ImportError, or whatever the module raised on import
            if allow_failed_imports:
                warnings.warn(f"custom_imports: {name} failed to import and is ignored: {exc}", stacklevel=2)
                modules.append(None)
                continue
            what = str(exc) if isinstance(exc, ImportError) else f"{type(exc).__name__}: {exc}"
            raise ConfigError(
                f"cannot import {name!r}: {what}",
                path=item_path,
                fix="make sure the module is on PYTHONPATH (pip install -e your project), "
                "or set allow_failed_imports=True",
            ) from exc
    return modules


def _library_dirs() -> tuple[str, ...]:
    """Directories of the standard library and installed packages (site-packages)."""
    import os
    import site
    import sysconfig

    dirs = {sysconfig.get_paths().get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    try:
        dirs.update(site.getsitepackages())
        dirs.add(site.getusersitepackages())
    except AttributeError:  # some embedded interpreters lack these
        pass
    return tuple(os.path.realpath(d) + os.sep for d in dirs if d)


def _is_library_module(module_name: str) -> bool:
    """``True`` for the standard library, builtins, this package and modules installed in site-packages."""
    import os
    import sys

    top = module_name.partition(".")[0]
    if top in sys.builtin_module_names or top in getattr(sys, "stdlib_module_names", ()):
        return True
    if top == __name__.partition(".")[0]:  # this package, however it is installed (editable or not)
        return True
    module = sys.modules.get(module_name)
    filename = getattr(module, "__file__", None)
    if not filename:
        return True  # built-in or namespace-only: not a user's source file
    return os.path.realpath(filename).startswith(_library_dirs())


def resolve_function(
    spec: Any, *, path: str, what: str, nargs: int | None = None, allowed: Iterable[Callable[..., Any]] = (), example: str = ""
) -> Callable[..., Any]:
    """Resolve a dotted path to a user's own function for a function-valued setting (``layer_id_fn``).

    A function object is returned as given (Python code chose it). A dotted path must name a plain
    Python function (``def``) defined in the module the path names, in the user's own code: not
    the standard library, not a builtin, not an installed library (``os.system``, ``shutil.rmtree``,
    ``torch.save`` are refused), unless it is one of ``allowed``; and it must accept ``nargs``
    positional arguments. Nothing is called.

    Args:
        spec: A callable or ``'pkg.module.function'``.
        path: Config path for messages.
        what: What the function computes, for messages (``'fn(name, num_layers) -> int'``).
        nargs: How many positional arguments it is called with (``None``: not checked).
        allowed: Library functions accepted anyway (the package's own layer-id rules).
        example: A valid dotted path for the fix line.

    Raises:
        ConfigError: anything else.
    """
    if callable(spec) and not isinstance(spec, str):
        return spec
    fix = (f"give a dotted path to your own function {what}, e.g. {example!r}" if example
           else f"give a dotted path to your own function {what}")
    if not isinstance(spec, str) or "." not in spec:
        raise ConfigError(f"must be a function {what} or its dotted path, got {spec!r}"[:300], path=path,
                          expected=f"a function {what}", fix=fix)
    obj = import_object(spec, path=path)
    if obj is None:
        raise ConfigError(f"{spec!r} names nothing importable", path=path, expected=f"a function {what}", fix=fix)
    if any(obj is fn for fn in allowed):
        return obj
    module_name = spec.rpartition(".")[0]
    if not inspect.isfunction(obj):
        reason = f"is {describe_object(obj)}, not a Python function"
    elif _is_library_module(module_name) or _is_library_module(str(obj.__module__)):
        reason = f"is {describe_object(obj)} from the standard library or an installed package, not your own code"
    elif obj.__module__ != module_name:
        reason = f"is {describe_object(obj)}, defined in {obj.__module__}, not in {module_name}"
    else:
        try:
            if nargs is not None:
                inspect.signature(obj).bind(*range(nargs))
        except TypeError:
            reason = f"is {describe_object(obj)}, which cannot be called with {nargs} positional arguments"
        else:
            return obj
    raise ConfigError(f"{spec!r} {reason}; nothing was called", path=path, expected=f"a function {what}", fix=fix)


def _has_instance_call(cls: type) -> bool:
    return any("__call__" in vars(klass) for klass in cls.__mro__ if klass not in (object, type))


def _is_constructor_shape(cls: type) -> bool:
    """MMEngine's constructor shape: ``cls(optim_wrapper_cfg, paramwise_cfg)`` whose instances are called."""
    if not _has_instance_call(cls):
        return False
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False
    return "optim_wrapper_cfg" in params and "paramwise_cfg" in params


#: What each registry accepts (base classes by dotted name: imported on first use).
HOOK_KIND = Kind(
    "a hook class (a lightning_runtime.hooks.Hook or lightning.pytorch.Callback subclass)",
    bases=("lightning_runtime.hooks._hook.Hook", "lightning.pytorch.callbacks.callback.Callback"),
)
OPTIMIZER_KIND = Kind("a torch.optim.Optimizer subclass", bases=("torch.optim.optimizer.Optimizer",))
OPTIM_WRAPPER_KIND = Kind(
    "an optim wrapper class (OptimWrapper or AmpOptimWrapper)", bases=("lightning_runtime.optim._wrappers.OptimWrapper",)
)
OPTIM_WRAPPER_CONSTRUCTOR_KIND = Kind(
    "an optimizer constructor class (a DefaultOptimWrapperConstructor subclass, or a class taking "
    "(optim_wrapper_cfg, paramwise_cfg) whose instances are called with the model)",
    bases=("lightning_runtime.optim._constructor.DefaultOptimWrapperConstructor",),
    predicate=_is_constructor_shape,
)
PARAM_SCHEDULER_KIND = Kind(
    "a lightning_runtime scheduler class (a lightning_runtime.schedulers.ParamScheduler subclass, e.g. PolyLR)",
    bases=("lightning_runtime.schedulers._base.ParamScheduler",),
)
METRIC_KIND = Kind("a metric class (a torchmetrics.Metric subclass)", bases=("torchmetrics.metric.Metric",))
VISBACKEND_KIND = Kind(
    "a vis backend (a registered backend such as LocalVisBackend, or a lightning.pytorch Logger subclass)",
    bases=("lightning.pytorch.loggers.logger.Logger",),
)

HOOKS = Registry("hook", locations=["lightning_runtime.callbacks"], kind=HOOK_KIND)
OPTIMIZERS = Registry("optimizer", locations=["lightning_runtime.optim"], kind=OPTIMIZER_KIND)
OPTIM_WRAPPERS = Registry("optim_wrapper", locations=["lightning_runtime.optim"], kind=OPTIM_WRAPPER_KIND)
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    "optim_wrapper_constructor", locations=["lightning_runtime.optim"], kind=OPTIM_WRAPPER_CONSTRUCTOR_KIND
)
PARAM_SCHEDULERS = Registry("param_scheduler", locations=["lightning_runtime.schedulers"], kind=PARAM_SCHEDULER_KIND)
METRICS = Registry("metric", locations=["lightning_runtime.evaluation._build"], kind=METRIC_KIND)
VISBACKENDS = Registry("vis_backend", locations=["lightning_runtime.runtime._loggers"], var_name="VISBACKENDS",
                       kind=VISBACKEND_KIND)
