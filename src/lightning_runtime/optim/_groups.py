"""Param-group post-processing: merging, naming, coverage checks, implementation choice.

Pure functions of (groups, model, optimizer class): the constructors call them after
``add_params``, so a user's constructor gets the same treatment.

* :func:`merge_param_groups` puts parameters whose *effective* hyperparameters (the group's keys
  over the optimizer's defaults) are all equal into one group, in first-appearance order.
* :func:`name_param_groups` gives every group a unique readable ``name`` and its ``param_names``.
* :func:`check_coverage` makes a constructor that leaves trainable parameters out an error.
* :func:`choose_implementation` picks ``fused`` / ``foreach`` where torch supports them.
* :func:`warn_custom_keys` warns about ``custom_keys`` entries that match nothing or too much.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import torch
import torch.nn as nn

from lightning_runtime.errors import ConfigError

__all__ = [
    "merge_param_groups",
    "name_param_groups",
    "check_coverage",
    "choose_implementation",
    "warn_custom_keys",
    "param_name_map",
]

_META_KEYS = ("params", "param_names")
_TAG_SKIP = ("lr_mult", "decay_mult", "lr_scale", "initial_lr", "name", "group_name")


def param_name_map(model: nn.Module) -> dict[int, str]:
    """``id(param) -> name`` (the first name of a shared parameter)."""
    names: dict[int, str] = {}
    for name, param in model.named_parameters(remove_duplicate=False):
        names.setdefault(id(param), name)
    return names


def _as_list(params: Any) -> list[Any]:
    if isinstance(params, torch.Tensor):
        return [params]
    return list(params)


def _freeze(value: Any) -> Any:
    """A hashable stand-in for a hyperparameter value (tensors by identity)."""
    if isinstance(value, torch.Tensor):
        return ("tensor", id(value))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_freeze(v) for v in value))
    if isinstance(value, Mapping):
        return ("dict", tuple(sorted((str(k), _freeze(v)) for k, v in value.items())))
    try:
        hash(value)
    except TypeError:
        return ("id", id(value))
    return (type(value).__name__, value)


def _optimizer_defaults(opt_cls: Any, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The defaults torch fills into each group: probed on a dummy parameter, else the signature."""
    try:
        probe = opt_cls([torch.zeros(1, requires_grad=True)], **kwargs)
        return dict(getattr(probe, "defaults", {}))
    except Exception:  # an optimizer that cannot be probed: fall back to its signature
        out: dict[str, Any] = {}
        try:
            params = list(inspect.signature(opt_cls).parameters.values())[1:]
        except (TypeError, ValueError):
            return dict(kwargs)
        for p in params:
            if p.default is not p.empty:
                out[p.name] = p.default
        out.update(kwargs)
        return out


def merge_param_groups(
    groups: Iterable[Mapping[str, Any]], model: nn.Module, opt_cls: Any, kwargs: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Merge groups whose effective hyperparameters are equal; name them.

    Args:
        groups: Param groups as ``add_params`` built them (one per parameter in MMEngine).
        model: The model (for parameter names).
        opt_cls: The optimizer class (its defaults decide what a missing key means).
        kwargs: The optimizer config's arguments (without ``type``).

    Returns:
        New group dicts: the union of the merged groups' keys, ``params``, ``param_names``, ``name``.

    Raises:
        ConfigError: a parameter appears in two groups (set ``bypass_duplicate=True``).
    """
    defaults = _optimizer_defaults(opt_cls, kwargs)
    names = param_name_map(model)
    seen: dict[int, int] = {}
    buckets: dict[Any, dict[str, Any]] = {}
    for i, group in enumerate(groups):
        params = _as_list(group["params"])
        for p in params:
            if id(p) in seen:
                raise ConfigError(
                    f"parameter {names.get(id(p), '<unnamed>')!r} is in more than one param group "
                    "(a parameter shared by several modules)",
                    path="paramwise_cfg.bypass_duplicate",
                    fix="set paramwise_cfg=dict(bypass_duplicate=True, ...) so it is added once",
                )
            seen[id(p)] = i
        extra = {k: v for k, v in group.items() if k not in _META_KEYS}
        effective = {**defaults, **extra}
        key = tuple(sorted((str(k), _freeze(v)) for k, v in effective.items()))
        bucket = buckets.get(key)
        if bucket is None:
            buckets[key] = {**extra, "params": list(params)}
        else:
            for k, v in extra.items():
                bucket.setdefault(k, v)
            bucket["params"].extend(params)
    merged = list(buckets.values())
    name_param_groups(merged, model, defaults)
    return merged


def _scope(param_names: list[str]) -> str:
    if not param_names:
        return ""
    if len(param_names) == 1:
        return param_names[0]
    parts = [n.split(".") for n in param_names]
    common: list[str] = []
    for column in zip(*parts):
        if len(set(column)) != 1:
            break
        common.append(column[0])
    return ".".join(common)


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _tag(group: Mapping[str, Any], defaults: Mapping[str, Any]) -> str:
    gname = group.get("group_name")
    if isinstance(gname, str):
        for suffix in ("_no_decay", "_decay"):
            if gname.endswith(suffix):
                return f"{gname[: -len(suffix)]}.{suffix[1:]}"
        return gname
    tags = []
    base_wd, base_lr = defaults.get("weight_decay"), defaults.get("lr")
    for key in sorted(group):
        if key in _META_KEYS or key in _TAG_SKIP:
            continue
        value = group[key]
        if key in defaults and _freeze(defaults[key]) == _freeze(value):
            continue
        if key == "weight_decay" and isinstance(value, (int, float)):
            if value == 0:
                tags.append("no_decay")
            elif isinstance(base_wd, (int, float)) and base_wd:
                tags.append(f"decay_x{_fmt(value / base_wd)}")
            else:
                tags.append(f"wd_{_fmt(value)}")
        elif key == "lr" and isinstance(value, (int, float)):
            if isinstance(base_lr, (int, float)) and base_lr:
                tags.append(f"lr_x{_fmt(value / base_lr)}")
            else:
                tags.append(f"lr_{_fmt(value)}")
        else:
            tags.append(f"{key}_{_fmt(value)}")
    # lr first reads best: 'decode_head.lr_x10.no_decay'
    tags.sort(key=lambda t: (not t.startswith("lr"), t))
    return ".".join(tags)


def name_param_groups(
    groups: list[dict[str, Any]], model: nn.Module, defaults: Mapping[str, Any] | None = None
) -> None:
    """Give each group a unique readable ``name`` and ``param_names`` (in place).

    A name is the common module prefix of its parameters plus what differs from the optimizer's
    defaults (``backbone.pos_embed.no_decay``, ``decode_head.lr_x10``, ``backbone.layer_3.decay``);
    a group with nothing special over the whole model is ``base``. A ``name`` already set is kept
    (made unique with ``_2``, ``_3``...).
    """
    defaults = defaults or {}
    names = param_name_map(model)
    taken: set[str] = set()
    for i, group in enumerate(groups):
        params = _as_list(group["params"])
        pnames = [names.get(id(p), f"<unnamed_{i}_{j}>") for j, p in enumerate(params)]
        group["param_names"] = pnames
        name = group.get("name")
        if not isinstance(name, str) or not name:
            scope = _scope(pnames)
            tag = _tag(group, defaults)
            if isinstance(group.get("group_name"), str):
                scope = scope.split(".")[0] if scope else ""
            name = ".".join(part for part in (scope, tag) if part) or "base"
        unique, n = name, 2
        while unique in taken:
            unique, n = f"{name}_{n}", n + 1
        taken.add(unique)
        group["name"] = unique


def check_coverage(optimizer: torch.optim.Optimizer, model: nn.Module, constructor: str) -> None:
    """Raise when a trainable parameter of ``model`` is in no param group of ``optimizer``."""
    held = {id(p) for g in optimizer.param_groups for p in g["params"]}
    missing = [n for n, p in model.named_parameters() if p.requires_grad and id(p) not in held]
    if missing:
        shown = ", ".join(missing[:5]) + (f" (+{len(missing) - 5} more)" if len(missing) > 5 else "")
        raise ConfigError(
            f"{constructor} left {len(missing)} trainable parameter(s) out of every param group: {shown}",
            path="constructor",
            fix="add them in add_params, or set requires_grad=False on parameters you mean to freeze",
        )


def choose_implementation(opt_cls: Any, params: list[Any], kwargs: Mapping[str, Any], *,
                          allow_fused: bool = True) -> dict[str, bool]:
    """``{'fused': True}`` / ``{'foreach': True}`` / ``{}`` for a torch.optim optimizer.

    Only for optimizers defined in ``torch.optim`` and only when the user set none of ``fused``,
    ``foreach``, ``differentiable``, ``capturable``: ``fused`` when the class has it and torch has
    fused kernels for the parameters' device (CPU included) and they are floating point, else
    ``foreach`` where torch has foreach kernels for the device. Both compute the same update
    (up to floating-point reassociation) as the default per-tensor loop.
    """
    if not isinstance(opt_cls, type) or not opt_cls.__module__.startswith("torch.optim"):
        return {}
    if any(kwargs.get(k) for k in ("fused", "foreach", "differentiable", "capturable")) or "fused" in kwargs or "foreach" in kwargs:
        return {}
    tensors = [p for g in params for p in (_as_list(g["params"]) if isinstance(g, Mapping) else [g])]
    if not tensors or not all(isinstance(t, torch.Tensor) for t in tensors):
        return {}
    devices = {t.device.type for t in tensors}
    if len(devices) != 1 or any(t.is_sparse for t in tensors):
        return {}
    device = devices.pop()
    try:
        sig = inspect.signature(opt_cls).parameters
        from torch.utils._foreach_utils import (
            _get_foreach_kernels_supported_devices,
            _get_fused_kernels_supported_devices,
        )
    except (ImportError, TypeError, ValueError):  # pragma: no cover - older torch
        return {}
    floating = all(t.is_floating_point() for t in tensors)
    if allow_fused and "fused" in sig and floating and device in _get_fused_kernels_supported_devices():
        return {"fused": True}
    if "foreach" in sig and device in _get_foreach_kernels_supported_devices():
        return {"foreach": True}
    return {}


def _aligned(key: str, name: str) -> bool:
    core = key.strip(".")
    return bool(core) and f".{core}." in f".{name}."


def warn_custom_keys(custom_keys: Mapping[str, Any], model: nn.Module) -> None:
    """Warn (once each) about ``custom_keys`` entries that match nothing or probably too much.

    MMEngine matches a key as a substring of ``f'{prefix}.{name}'`` (so top-level parameters read
    ``'.name'``), longest key first then alphabetical. A key that hits parameters in several
    top-level modules only through part of a module name (``'head'`` in ``decode_head`` and
    ``auxiliary_head``) probably hits more than meant.
    """
    keys = sorted(sorted(custom_keys), key=len, reverse=True)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    matched: dict[str, list[str]] = {k: [] for k in keys}
    touched: dict[str, bool] = {k: False for k in keys}
    for name in trainable:
        text = name if "." in name else f".{name}"
        winner = None
        for key in keys:
            if key in text:
                touched[key] = True
                if winner is None:
                    winner = key
        if winner is not None:
            matched[winner].append(name)
    for key in keys:
        hits = matched[key]
        if not touched[key]:
            warnings.warn(
                f"paramwise_cfg.custom_keys[{key!r}] matches no trainable parameter, so it has no effect "
                "(keys are matched as substrings of full parameter names such as 'backbone.layers.0.ln1.weight')",
                UserWarning,
                stacklevel=3,
            )
        elif not hits:
            warnings.warn(
                f"paramwise_cfg.custom_keys[{key!r}] has no effect: every parameter it matches is taken by a "
                "longer key (the longest matching key wins)",
                UserWarning,
                stacklevel=3,
            )
        else:
            tops = sorted({n.split(".")[0] for n in hits})
            partial = sorted({n.split(".")[0] for n in hits if not _aligned(key, n)})
            if len(tops) > 1 and partial:
                warnings.warn(
                    f"paramwise_cfg.custom_keys[{key!r}] matches parameters of {len(tops)} top-level modules "
                    f"({', '.join(tops)}), through part of a name in {', '.join(partial)}; if you meant one "
                    f"of them, use its full name, e.g. {partial[0]!r}",
                    UserWarning,
                    stacklevel=3,
                )
