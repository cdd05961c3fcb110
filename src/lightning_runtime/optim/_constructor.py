"""``DefaultOptimWrapperConstructor``: MMEngine's ``paramwise_cfg`` rules, to the same numbers.

Same shape as ``mmengine.optim.DefaultOptimWrapperConstructor`` (``__init__(optim_wrapper_cfg,
paramwise_cfg=None)``, ``add_params(params, module, prefix='', **kwargs)``, ``__call__(model)``,
attributes ``optim_wrapper_cfg``, ``optimizer_cfg``, ``paramwise_cfg``, ``base_lr``, ``base_wd``), so a
constructor written for MMEngine or MMSeg subclasses it with only its imports changed. Differences:

* ``__call__`` returns the **torch optimizer**, not an MMEngine ``OptimWrapper`` (the Lightning
  Trainer does what the wrapper did: AMP, clipping, accumulation).
* After ``add_params`` the per-parameter groups are **merged**: parameters whose hyperparameters are
  all equal share one group, named readably (``name``) and listing ``param_names``. The
  hyperparameters each parameter sees are unchanged.
* Config problems are :class:`~lightning_runtime.errors.ConfigError` (unknown ``paramwise_cfg`` keys
  with did-you-mean, unless a subclass overrides ``add_params`` or ``__call__`` and so reads keys of
  its own; a parameter shared by two groups), and ``custom_keys`` entries that match no parameter,
  or more than probably meant, warn.

Example:
    >>> import torch.nn as nn
    >>> ctor = DefaultOptimWrapperConstructor(
    ...     dict(optimizer=dict(type='SGD', lr=0.1, weight_decay=1e-4)), dict(bias_decay_mult=0.))
    >>> opt = ctor(nn.Linear(2, 2))
    >>> [(g['name'], g['weight_decay']) for g in opt.param_groups]
    [('weight', 0.0001), ('bias.no_decay', 0.0)]
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Mapping
from typing import Any, cast

import torch
import torch.nn as nn
from torch.nn import GroupNorm, LayerNorm
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm

from lightning_runtime.config._types import to_plain
from lightning_runtime.errors import ConfigError, check_keys, check_number
from lightning_runtime.registry import OPTIMIZERS, check_kwargs
from lightning_runtime.optim._groups import choose_implementation, merge_param_groups, warn_custom_keys
from lightning_runtime.optim._spec import _missing_optimizer_error

__all__ = ["DefaultOptimWrapperConstructor", "build_torch_optimizer"]

PARAMWISE_KEYS = (
    "custom_keys",
    "bias_lr_mult",
    "bias_decay_mult",
    "norm_decay_mult",
    "dwconv_decay_mult",
    "flat_decay_mult",
    "dcn_offset_lr_mult",
    "bypass_duplicate",
)


def _paramwise_fix(key: Any) -> str:
    if key in ("num_layers", "decay_rate", "decay_type", "layer_decay_rate"):
        return "for layer-wise lr decay use constructor='LearningRateDecayOptimizerConstructor'"
    return f"rename {key!r} to one of the keys above, or remove it"


@functools.lru_cache(maxsize=1)
def _dcn_types() -> tuple[type, ...]:
    """mmcv's deformable convs when mmcv-full is installed (MMEngine's ``mmcv_full_available``)."""
    try:
        from mmcv.ops import DeformConv2d, ModulatedDeformConv2d
    except Exception:  # mmcv missing or built without ops
        return ()
    return (DeformConv2d, ModulatedDeformConv2d)


def build_torch_optimizer(
    optimizer_cfg: Mapping[str, Any], params: Any, *, auto_impl: bool = True, path: str = "optimizer",
    allow_fused: bool = True,
) -> torch.optim.Optimizer:
    """Build ``optimizer_cfg['type']`` over ``params``, checking its arguments first.

    Args:
        optimizer_cfg: ``dict(type=..., **kwargs)``.
        params: Parameters or param groups (the optimizer's first argument).
        auto_impl: Pick ``fused``/``foreach`` when the user did not (see ``choose_implementation``).
        allow_fused: ``False`` under AMP (``AmpOptimWrapper``): ``foreach`` at most.
        path: Config path of ``optimizer_cfg`` for messages.
    """
    kwargs = dict(optimizer_cfg)
    opt_cls = OPTIMIZERS.resolve(kwargs.pop("type"), path=f"{path}.type")
    check_kwargs(opt_cls, kwargs, path=path, skip_first=1)
    params = list(params)
    if auto_impl:
        kwargs.update(choose_implementation(opt_cls, params, kwargs, allow_fused=allow_fused))
    try:
        return opt_cls(params, **kwargs)
    except (TypeError, ValueError) as exc:
        name = getattr(opt_cls, "__name__", repr(opt_cls))
        raise ConfigError(f"{name} could not be built: {exc}", path=path,
                          fix=f"check the values given to {name} (see torch.optim.{name} for the valid ranges)") from exc


_MULTIPLIERS = ("bias_lr_mult", "bias_decay_mult", "norm_decay_mult", "dwconv_decay_mult", "flat_decay_mult",
                "dcn_offset_lr_mult")


def _check_multipliers(cfg: Mapping[str, Any]) -> None:
    """``*_mult`` values (and ``custom_keys`` ``lr_mult``/``decay_mult``) are numbers >= 0: a negative lr or
    weight decay makes no sense (MMEngine multiplies it in)."""
    entries = [(f"paramwise_cfg.{k}", cfg[k]) for k in _MULTIPLIERS if cfg.get(k) is not None]
    custom_keys = cfg.get("custom_keys")
    if isinstance(custom_keys, Mapping):
        for key, entry in custom_keys.items():
            if isinstance(entry, Mapping):
                entries += [(f"paramwise_cfg.custom_keys.{key}.{m}", entry[m]) for m in ("lr_mult", "decay_mult")
                            if entry.get(m) is not None]
    for path, value in entries:
        check_number(value, path, low=0.0)


class DefaultOptimWrapperConstructor:
    """Build a torch optimizer with MMEngine's ``paramwise_cfg`` rules (see the module docstring).

    Args:
        optim_wrapper_cfg: The ``optim_wrapper`` config; must hold ``optimizer``.
        paramwise_cfg: ``custom_keys``, ``bias_lr_mult``, ``bias_decay_mult``, ``norm_decay_mult``,
            ``dwconv_decay_mult``, ``flat_decay_mult``, ``dcn_offset_lr_mult``, ``bypass_duplicate``.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: dict | None = None) -> None:
        if not isinstance(optim_wrapper_cfg, Mapping):
            raise ConfigError(f"optim_wrapper must be a dict, got {type(optim_wrapper_cfg).__name__}",
                              fix="pass dict(optimizer=dict(type='SGD', lr=0.01), ...)")
        if optim_wrapper_cfg.get("optimizer") is None:
            raise _missing_optimizer_error(optim_wrapper_cfg, "")
        self.optim_wrapper_cfg = to_plain(optim_wrapper_cfg, drop_scope=True)
        self.optimizer_cfg = self.optim_wrapper_cfg.pop("optimizer")
        self.paramwise_cfg = {} if paramwise_cfg is None else paramwise_cfg
        self.base_lr = self.optimizer_cfg.get("lr", None)
        self.base_wd = self.optimizer_cfg.get("weight_decay", None)
        self._validate_cfg()

    # ------------------------------------------------------------------ validation
    def _uses_default_rules(self) -> bool:
        return type(self).add_params is DefaultOptimWrapperConstructor.add_params

    def _reads_own_keys(self, builtin: type[DefaultOptimWrapperConstructor]) -> bool:
        """Whether this is a user subclass of ``builtin`` that overrides ``add_params`` or ``__call__``.

        Such a constructor reads ``paramwise_cfg`` keys of its own (MMEngine's test pattern:
        ``self.paramwise_cfg.get('conv1_lr_mult', 1.)`` inside ``__call__``), so keys that
        ``builtin`` does not know are not typos there.
        """
        cls = type(self)
        return cls.add_params is not builtin.add_params or cls.__call__ is not builtin.__call__

    def _validate_cfg(self) -> None:
        """MMEngine's checks, as ConfigErrors, plus unknown keys when the default rules apply."""
        if not isinstance(self.paramwise_cfg, Mapping):
            raise ConfigError(
                f"must be None or a dict, got {type(self.paramwise_cfg).__name__}", path="paramwise_cfg",
                fix="write paramwise_cfg=dict(norm_decay_mult=0.0, ...) or leave it out",
            )
        cfg = self.paramwise_cfg
        custom_keys = cfg.get("custom_keys", {})
        if "custom_keys" in cfg:
            if not isinstance(custom_keys, Mapping):
                raise ConfigError(
                    f"must be a dict of key -> dict(lr_mult=..., decay_mult=...), got {type(custom_keys).__name__}",
                    path="paramwise_cfg.custom_keys",
                    fix="write custom_keys={'pos_embed': dict(decay_mult=0.0), 'head': dict(lr_mult=10.0)}",
                )
            for key, entry in custom_keys.items():
                if not isinstance(entry, Mapping):
                    raise ConfigError(
                        f"must be a dict such as dict(lr_mult=0.1), got {entry!r}",
                        path=f"paramwise_cfg.custom_keys.{key}",
                        fix=f"write {key!r}: dict(lr_mult=..., decay_mult=...)",
                    )
                if self.base_wd is None and "decay_mult" in entry:
                    raise ConfigError(
                        "decay_mult needs a base weight decay, but the optimizer config has no weight_decay",
                        path=f"paramwise_cfg.custom_keys.{key}.decay_mult",
                        fix="add weight_decay=... to optim_wrapper.optimizer, or remove decay_mult",
                    )
        _check_multipliers(cfg)
        for key in ("bias_decay_mult", "norm_decay_mult", "dwconv_decay_mult"):
            if key in cfg and self.base_wd is None:
                raise ConfigError(
                    f"{key} needs a base weight decay, but the optimizer config has no weight_decay",
                    path=f"paramwise_cfg.{key}",
                    fix="add weight_decay=... to optim_wrapper.optimizer, or remove " + key,
                )
        if self._reads_own_keys(DefaultOptimWrapperConstructor):
            return  # a subclass with its own add_params or __call__ defines its own keys
        check_keys(cfg, PARAMWISE_KEYS, "paramwise_cfg", what="paramwise_cfg key", fix=_paramwise_fix)
        needs_lr = bool(custom_keys) or "bias_lr_mult" in cfg or "dcn_offset_lr_mult" in cfg
        if needs_lr and self.base_lr is None:
            raise ConfigError(
                "lr multipliers need a base lr, but the optimizer config has no lr",
                path="optimizer.lr",
                fix="add lr=... to optim_wrapper.optimizer",
            )

    def _is_in(self, param_group: dict, param_group_list: list) -> bool:
        """Whether any parameter of ``param_group`` is already in ``param_group_list``."""
        param = set(param_group["params"])
        param_set: set = set()
        for group in param_group_list:
            param_set.update(set(group["params"]))
        return not param.isdisjoint(param_set)

    # ------------------------------------------------------------------ MMEngine's rules
    def add_params(
        self, params: list[dict], module: nn.Module, prefix: str = "", is_dcn_module: int | float | None = None
    ) -> None:
        """Append one param group per parameter of ``module`` (recursively), MMEngine's rules.

        Args:
            params: The list of param groups, extended in place.
            module: The module whose parameters are added.
            prefix: The module's name (``''`` for the root, so top-level names read ``'.name'``).
            is_dcn_module: Set when ``module`` is inside a deformable conv (mmcv).
        """
        custom_keys = self.paramwise_cfg.get("custom_keys", {})
        sorted_keys = sorted(sorted(custom_keys.keys()), key=len, reverse=True)
        bias_lr_mult = self.paramwise_cfg.get("bias_lr_mult", None)
        bias_decay_mult = self.paramwise_cfg.get("bias_decay_mult", None)
        norm_decay_mult = self.paramwise_cfg.get("norm_decay_mult", None)
        dwconv_decay_mult = self.paramwise_cfg.get("dwconv_decay_mult", None)
        flat_decay_mult = self.paramwise_cfg.get("flat_decay_mult", None)
        bypass_duplicate = self.paramwise_cfg.get("bypass_duplicate", False)
        dcn_offset_lr_mult = self.paramwise_cfg.get("dcn_offset_lr_mult", None)

        is_norm = isinstance(module, (_BatchNorm, _InstanceNorm, GroupNorm, LayerNorm))
        is_dwconv = isinstance(module, torch.nn.Conv2d) and module.in_channels == module.groups

        for name, param in module.named_parameters(recurse=False):
            param_group: dict[str, Any] = {"params": [param]}
            if bypass_duplicate and self._is_in(param_group, params):
                warnings.warn(f"{prefix} is duplicate. It is skipped since bypass_duplicate={bypass_duplicate}",
                              UserWarning, stacklevel=2)  # MMEngine's warning, word for word
                continue
            if not param.requires_grad:
                continue
            is_custom = False
            for key in sorted_keys:
                if key in f"{prefix}.{name}":
                    is_custom = True
                    lr_mult = custom_keys[key].get("lr_mult", 1.0)
                    param_group["lr"] = self.base_lr * lr_mult
                    if self.base_wd is not None:
                        decay_mult = custom_keys[key].get("decay_mult", 1.0)
                        param_group["weight_decay"] = self.base_wd * decay_mult
                    for k, v in custom_keys[key].items():
                        param_group[k] = v
                    break
            if not is_custom:
                if name == "bias" and not (is_norm or is_dcn_module) and bias_lr_mult is not None:
                    param_group["lr"] = self.base_lr * bias_lr_mult
                if (
                    prefix.find("conv_offset") != -1
                    and is_dcn_module
                    and dcn_offset_lr_mult is not None
                    and isinstance(module, torch.nn.Conv2d)
                ):
                    param_group["lr"] = self.base_lr * dcn_offset_lr_mult
                if self.base_wd is not None:
                    if is_norm and norm_decay_mult is not None:
                        param_group["weight_decay"] = self.base_wd * norm_decay_mult
                    elif name == "bias" and not is_dcn_module and bias_decay_mult is not None:
                        param_group["weight_decay"] = self.base_wd * bias_decay_mult
                    elif is_dwconv and dwconv_decay_mult is not None:
                        param_group["weight_decay"] = self.base_wd * dwconv_decay_mult
                    elif param.ndim == 1 and not is_dcn_module and flat_decay_mult is not None:
                        param_group["weight_decay"] = self.base_wd * flat_decay_mult
            params.append(param_group)

        dcn_types = _dcn_types()
        child_is_dcn = isinstance(module, dcn_types) if dcn_types else False
        for child_name, child_mod in module.named_children():
            child_prefix = f"{prefix}.{child_name}" if prefix else child_name
            self.add_params(params, child_mod, prefix=child_prefix, is_dcn_module=child_is_dcn)

    # ------------------------------------------------------------------ build
    def __call__(self, model: nn.Module) -> torch.optim.Optimizer:
        """Return the torch optimizer for ``model`` (merged, named param groups).

        Note: MMEngine's constructor returns an ``OptimWrapper``; this returns the optimizer itself.
        """
        if hasattr(model, "module"):  # a wrapper (DDP, the hook facade's model) holds the module
            model = cast(nn.Module, model.module)
        if not self.paramwise_cfg:
            groups: list[dict[str, Any]] = [{"params": list(model.parameters())}]
        else:
            groups = []
            self.add_params(groups, model)
            if self._uses_default_rules() and self.paramwise_cfg.get("custom_keys"):
                warn_custom_keys(self.paramwise_cfg["custom_keys"], model)
        opt_cls = OPTIMIZERS.resolve(self.optimizer_cfg.get("type"), path="optimizer.type")
        kwargs = {k: v for k, v in self.optimizer_cfg.items() if k != "type"}
        check_kwargs(opt_cls, kwargs, path="optimizer", skip_first=1)
        merged = merge_param_groups(groups, model, opt_cls, kwargs)
        # Under AMP the precision plugin unscales and clips the gradients before step(); a fused
        # optimizer unscales inside its kernel, which Lightning refuses to combine with clipping.
        amp = str(self.optim_wrapper_cfg.get("type", "OptimWrapper")).rpartition(".")[2] == "AmpOptimWrapper"
        return build_torch_optimizer(self.optimizer_cfg, merged, path="optimizer", allow_fused=not amp)

