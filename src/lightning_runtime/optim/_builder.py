"""``build_optimizer``: an MMEngine ``optim_wrapper`` config -> a torch optimizer.

Example:
    >>> import torch.nn as nn
    >>> opt = build_optimizer(nn.Linear(4, 2), dict(
    ...     type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01, momentum=0.9),
    ...     clip_grad=dict(max_norm=1.0)))
    >>> type(opt).__name__, opt.param_groups[0]['name']
    ('SGD', 'base')
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn as nn

from lightning_runtime.errors import ConfigError
from lightning_runtime.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIMIZERS
from lightning_runtime.optim._groups import check_coverage, name_param_groups
from lightning_runtime.optim._spec import parse_optim_wrapper
from lightning_runtime.optim._wrappers import set_base_param_settings

__all__ = ["build_optimizer", "build_stand_in_optimizer", "check_optimizer_contract", "optimization_root",
           "register_torch_optimizers"]


def register_torch_optimizers() -> list[str]:
    """Register every ``torch.optim`` optimizer in ``OPTIMIZERS`` (``Adafactor`` as ``TorchAdafactor``, as MMEngine)."""
    names = []
    for attr in dir(torch.optim):
        obj = getattr(torch.optim, attr)
        if attr.startswith("_") or not inspect.isclass(obj) or not issubclass(obj, torch.optim.Optimizer):
            continue
        name = "TorchAdafactor" if attr == "Adafactor" else attr
        try:
            OPTIMIZERS.register_module(name=name, module=obj)
        except KeyError:  # the user registered their own under this name first
            continue
        names.append(name)
    return names


def optimization_root(model: nn.Module) -> nn.Module:
    """The module whose parameter names a config's ``paramwise_cfg`` refers to.

    MMEngine configs name parameters relative to the segmentor/detector (``backbone.layers.3...``,
    ``decode_head...``). A LightningModule that holds that model as one attribute
    (``self.model = EncoderDecoder(...)``) would otherwise prefix every name (``model.backbone...``)
    and layer-decay constructors would not recognise the backbone. So when ``model`` has no
    ``backbone`` of its own and exactly one direct child has one and holds every trainable
    parameter, that child is the root. Otherwise ``model`` itself (with ``.module`` wrappers
    unwrapped, as MMEngine does).

    Example:
        >>> import torch.nn as nn
        >>> seg = nn.Module(); seg.backbone = nn.Linear(2, 2); seg.decode_head = nn.Linear(2, 1)
        >>> holder = nn.Module(); holder.model = seg
        >>> optimization_root(holder) is seg
        True
    """
    inner = model.module if hasattr(model, "module") and isinstance(model.module, nn.Module) else model
    if hasattr(inner, "backbone"):
        return inner
    trainable = {id(p) for p in inner.parameters() if p.requires_grad}
    holders = [child for child in inner.children() if hasattr(child, "backbone")]
    if len(holders) == 1:
        child = holders[0]
        if {id(p) for p in child.parameters() if p.requires_grad} == trainable:
            return child
    return inner


def build_optimizer(model: nn.Module, optim_wrapper_cfg: Mapping[str, Any], *, path: str = "optim_wrapper") -> torch.optim.Optimizer:
    """Build the torch optimizer an MMEngine ``optim_wrapper`` config describes.

    Applies ``optimizer``, ``paramwise_cfg`` and ``constructor``; validates and ignores the wrapper
    settings (``type``, ``clip_grad``/``grad_clip``, ``accumulative_counts``, ``loss_scale``,
    ``dtype``), which the Trainer applies (see :func:`parse_optim_wrapper`). Every param group has
    a unique ``name`` and its ``param_names``.

    Args:
        model: The model (a ``.module`` wrapper is unwrapped, as MMEngine does; a LightningModule
            holding the segmentor as its only parameterised child is reduced to it, see
            :func:`optimization_root`).
        optim_wrapper_cfg: The ``optim_wrapper`` config.
        path: Its config path for error messages.

    Raises:
        ConfigError: any config problem, or a constructor that leaves trainable parameters out.
    """
    spec = parse_optim_wrapper(optim_wrapper_cfg, path=path)
    model = optimization_root(model)
    inner = model
    wrapper_cfg: dict[str, Any] = {"type": spec.type, "optimizer": dict(spec.optimizer)}
    raw = dict(optim_wrapper_cfg)
    for key in ("accumulative_counts", "loss_scale", "dtype", "use_fsdp"):
        if key in raw:
            wrapper_cfg[key] = raw[key]
    clip = raw.get("clip_grad") if raw.get("clip_grad") is not None else raw.get("grad_clip")
    if clip is not None:
        wrapper_cfg["clip_grad"] = dict(clip)
    ctor_type = spec.constructor or "DefaultOptimWrapperConstructor"
    ctor_cls = OPTIM_WRAPPER_CONSTRUCTORS.resolve(ctor_type, path=f"{path}.constructor")
    paramwise = dict(spec.paramwise_cfg) if spec.paramwise_cfg is not None else None
    try:
        constructor = ctor_cls(optim_wrapper_cfg=wrapper_cfg, paramwise_cfg=paramwise)
        result = constructor(model)
    except ConfigError as err:
        raise err.with_location(path=path)
    optimizer = result
    if not isinstance(optimizer, torch.optim.Optimizer) and isinstance(getattr(result, "optimizer", None), torch.optim.Optimizer):
        optimizer = result.optimizer  # an MMEngine-style constructor returned a wrapper
    ctor_name = getattr(ctor_cls, "__name__", str(ctor_type))
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise ConfigError(
            f"{ctor_name}(model) returned {type(result).__name__}, not a torch optimizer",
            path=f"{path}.constructor",
            fix="return the optimizer (or an OptimWrapper holding it) from __call__",
        )
    if any("name" not in g or "param_names" not in g for g in optimizer.param_groups):
        name_param_groups(optimizer.param_groups, inner, optimizer.defaults)
    try:
        check_coverage(optimizer, inner, ctor_name)
    except ConfigError as err:
        raise err.with_location(path=path)
    # MMEngine's constructors give every parameter its own group once paramwise_cfg or a
    # constructor is set; with more than one group its OptimWrapper keeps base_param_settings.
    per_param = bool(paramwise) or ctor_type != "DefaultOptimWrapperConstructor"
    n_groups = sum(len(g["params"]) for g in optimizer.param_groups) if per_param else len(optimizer.param_groups)
    if n_groups > 1:
        set_base_param_settings(optimizer)
    return optimizer


def check_optimizer_contract(optimizer: torch.optim.Optimizer, *, path: str = "optim_wrapper.optimizer") -> None:
    """What the schedulers, log lines and Lightning's training step need of an optimizer, checked before training.

    Every param group holds a numeric ``lr`` (the scheduler and the logger read it, as MMEngine's
    do), and ``step`` takes a ``closure`` (Lightning runs forward and backward inside it).

    Raises:
        ConfigError: A group without ``lr`` (the seed tutorial's ``MyOptimizer(a, b, c)`` shape), or
            a ``step()`` without a ``closure`` parameter.
    """
    name = type(optimizer).__name__
    for i, group in enumerate(optimizer.param_groups):
        lr = group.get("lr")
        if isinstance(lr, bool) or not isinstance(lr, (int, float, torch.Tensor)):
            raise ConfigError(
                f"{name}'s param group {i} has no numeric 'lr' (got {lr!r}): the param schedulers and the "
                "log lines read each group's lr, as MMEngine's do", path=path,
                fix=f"give {name} an lr argument and pass it in the defaults: "
                    "super().__init__(params, dict(lr=lr, ...)); then set optimizer=dict(type=..., lr=0.01, ...)")
    try:
        params = inspect.signature(optimizer.step).parameters
    except (TypeError, ValueError):  # a builtin: nothing to read
        return
    if "closure" not in params and not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        raise ConfigError(
            f"{name}.step() takes no closure: Lightning runs forward and backward inside the closure it "
            "passes to step()", path=path,
            fix=f"define {name}.step(self, closure=None) and call loss = closure() (with torch.enable_grad()) "
                "first, as torch.optim optimizers do")


def build_stand_in_optimizer(optim_wrapper_cfg: Mapping[str, Any], *, path: str = "optim_wrapper") -> torch.optim.Optimizer:
    """The configured optimizer over one stand-in parameter, for checks and dry runs without a model.

    ``paramwise_cfg`` and ``constructor`` are left out (they need the real model); the optimizer
    type, its arguments and the wrapper settings are checked, and its one param group carries the
    config's base values (``lr``, ``momentum``, ...).
    """
    cfg = {k: v for k, v in dict(optim_wrapper_cfg).items() if k not in ("paramwise_cfg", "constructor")}
    # An uninitialised parameter: initialising one would draw from torch's global generator, which the
    # Runtime seeded just before (the model built next must see the seeded state, as in MMEngine).
    holder = nn.Module()  # nn.Linear(1, 1)'s parameters, zero-filled
    holder.weight = nn.Parameter(torch.zeros(1, 1))
    holder.bias = nn.Parameter(torch.zeros(1))
    return build_optimizer(holder, cfg, path=path)
