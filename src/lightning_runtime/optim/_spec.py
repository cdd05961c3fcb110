"""Read and validate an MMEngine ``optim_wrapper`` config into an :class:`OptimWrapperSpec`.

The optimizer builder uses ``optimizer`` / ``paramwise_cfg`` / ``constructor``; the runtime turns the
rest (``type`` -> AMP, ``dtype``, ``loss_scale``, ``clip_grad``, ``accumulative_counts``) into
Trainer arguments. Every problem is a :class:`~lightning_runtime.errors.ConfigError` naming the
config path.

Example:
    >>> spec = parse_optim_wrapper(dict(type='AmpOptimWrapper',
    ...     optimizer=dict(type='SGD', lr=0.01), grad_clip=dict(max_norm=1, norm_type=2)))
    >>> spec.amp, spec.loss_scale, spec.clip_grad
    (True, 'dynamic', {'max_norm': 1, 'norm_type': 2})
"""

from __future__ import annotations

import math

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from lightning_runtime.config._types import to_plain
from lightning_runtime.errors import ConfigError, check_keys, did_you_mean

__all__ = ["OptimWrapperSpec", "parse_optim_wrapper", "check_optimizer_numbers", "OPTIM_WRAPPER_KEYS"]

OPTIM_WRAPPER_KEYS = (
    "type",
    "optimizer",
    "paramwise_cfg",
    "constructor",
    "clip_grad",
    "grad_clip",
    "accumulative_counts",
    "loss_scale",
    "dtype",
    "use_fsdp",
)
_AMP_ONLY = ("loss_scale", "dtype", "use_fsdp")
_SCALER_KEYS = ("init_scale", "growth_factor", "backoff_factor", "growth_interval", "enabled")
_DTYPES = {"float16": "float16", "half": "float16", "bfloat16": "bfloat16"}

_UNSUPPORTED = {
    "ApexOptimWrapper": (
        "NVIDIA Apex AMP is not used here; Lightning's native mixed precision replaces it",
        "use type='AmpOptimWrapper' (optionally with dtype='bfloat16' or loss_scale=...)",
    ),
    "DeepSpeedOptimWrapper": (
        "DeepSpeed is a Lightning strategy here, not an optimizer wrapper",
        "use type='OptimWrapper' (or 'AmpOptimWrapper') and select the strategy in the trainer "
        "config, e.g. strategy='deepspeed_stage_2'",
    ),
    "OptimWrapperDict": (
        "several optimizers (OptimWrapperDict) are not supported by the optimizer builder",
        "use one optim_wrapper, or return several optimizers from your own configure_optimizers",
    ),
}


@dataclass(frozen=True)
class OptimWrapperSpec:
    """What an ``optim_wrapper`` config asks for, validated and normalised.

    Attributes:
        type: The wrapper type name (``'OptimWrapper'`` or ``'AmpOptimWrapper'``).
        amp: True for ``AmpOptimWrapper`` (mixed precision).
        dtype: ``None``, ``'float16'`` or ``'bfloat16'`` (AMP compute dtype; ``None`` = float16).
        loss_scale: ``'dynamic'``, a float (static scale), a dict of ``GradScaler`` kwargs, or
            ``None`` (no AMP).
        clip_grad: ``{'max_norm': .., 'norm_type': ..}`` (norm clipping, extra kwargs of
            ``clip_grad_norm_`` kept), ``{'type': 'value', 'clip_value': ..}``, or ``None``.
        accumulative_counts: Gradient accumulation steps (>= 1).
        optimizer: The ``optimizer`` config (with ``type``).
        paramwise_cfg: The ``paramwise_cfg`` dict or ``None``.
        constructor: The constructor name/class or ``None`` (default constructor).
        use_fsdp: MMEngine's ``AmpOptimWrapper(use_fsdp=...)`` flag.
    """

    type: str
    amp: bool
    dtype: str | None
    loss_scale: str | float | dict[str, Any] | None
    clip_grad: dict[str, Any] | None
    accumulative_counts: int
    optimizer: dict[str, Any]
    paramwise_cfg: dict[str, Any] | None
    constructor: Any
    use_fsdp: bool = False


_NUMERIC_NAMES = ("lr", "weight_decay", "momentum", "dampening", "eps", "alpha", "lr_decay", "rho")
#: Hyperparameters that make no sense below 0 (MMEngine passes them on; some torch optimizers check).
_NON_NEGATIVE = {
    "lr": "a negative learning rate climbs the loss",
    "weight_decay": "a negative weight decay grows the weights",
}


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)) or (
        isinstance(value, torch.Tensor) and value.numel() == 1
    )


def _is_number_tuple(value: Any) -> bool:
    return isinstance(value, (tuple, list)) and bool(value) and all(_is_number(v) for v in value)


def _number_fix(key: str, value: Any, default: Any) -> str:
    """``write lr=0.01`` from ``'0.01'`` when the string is a number, else the optimizer's default."""
    if isinstance(value, str):
        try:
            return f"write {key}={float(value)!r} (a number, without quotes)"
        except ValueError:
            pass
    if isinstance(value, (tuple, list)) and value:
        try:
            return f"write {key}=({', '.join(repr(float(v)) for v in value)}) (numbers, without quotes)"
        except (TypeError, ValueError):
            pass
    if _is_number_tuple(default):
        return f"write numbers, e.g. {key}={tuple(default)!r} (the optimizer's default)"
    if _is_number(default):
        return f"write a number, e.g. {key}={default!r} (the optimizer's default)"
    return f"write a number, e.g. {key}=0.01"


def check_optimizer_numbers(optimizer: Mapping[str, Any], *, path: str = "optim_wrapper.optimizer") -> None:
    """Check that the numeric hyperparameters of an ``optimizer`` config are numbers (``lr`` and ``weight_decay`` >= 0).

    A hyperparameter is numeric when the optimizer's default for it is an int/float or a tuple of
    them (``lr``, ``weight_decay``, ``momentum``, ``eps``, ``betas`` ...), or when it is one of the
    usual names (``lr``, ``weight_decay``, ``momentum`` ...) whatever its default. Unknown optimizer
    types are left to the builder (which names them with did-you-mean).

    Example:
        >>> check_optimizer_numbers(dict(type='SGD', lr='0.01'))
        Traceback (most recent call last):
        ...
        lightning_runtime.errors.ConfigError: optim_wrapper.optimizer.lr: must be a number, got '0.01' (str)
        ...

    Raises:
        ConfigError: with ``path`` the hyperparameter's path (``optim_wrapper.optimizer.lr``).
    """
    import inspect

    from lightning_runtime.registry import OPTIMIZERS

    try:
        opt_cls = OPTIMIZERS.get(optimizer.get("type"))
    except Exception:  # noqa: BLE001 - resolution errors are reported by the builder
        opt_cls = None
    defaults: dict[str, Any] = {}
    if opt_cls is not None:
        params: Mapping[str, inspect.Parameter]
        try:
            params = inspect.signature(opt_cls).parameters
        except (TypeError, ValueError):
            params = {}
        defaults = {k: p.default for k, p in params.items() if p.default is not inspect.Parameter.empty}
    for key, value in optimizer.items():
        if key == "type":
            continue
        default = defaults.get(key, inspect.Parameter.empty)
        if _is_number_tuple(default) or (key == "betas" and default is inspect.Parameter.empty):
            if not _is_number_tuple(value):
                raise ConfigError(
                    f"must be a tuple of numbers, got {value!r}",
                    path=f"{path}.{key}",
                    expected="a tuple of numbers",
                    fix=_number_fix(key, value, default),
                )
            continue
        if isinstance(default, (tuple, list)):  # e.g. Adafactor's eps=(None, 1e-3): not ours to judge
            continue
        numeric = (_is_number(default) and not isinstance(default, bool)) or (
            key in _NUMERIC_NAMES and not isinstance(default, bool)
        )
        if numeric and not _is_number(value):
            raise ConfigError(
                f"must be a number, got {value!r} ({type(value).__name__})",
                path=f"{path}.{key}",
                expected="a number",
                fix=_number_fix(key, value, default),
            )
        if numeric and isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(
                f"must be a finite number, got {value!r}",
                path=f"{path}.{key}",
                expected="a finite number",
                fix=_number_fix(key, None, default),
            )
        if key in _NON_NEGATIVE and numeric and float(value) < 0:
            raise ConfigError(
                f"must be >= 0, got {value!r}: {_NON_NEGATIVE[key]}",
                path=f"{path}.{key}",
                expected="a number >= 0",
                fix=f"set {key} to 0 or more" + (f", e.g. {key}={default!r} (the optimizer's default)"
                                                  if _is_number(default) and float(default) >= 0 else ""),
            )


def _missing_optimizer_error(cfg: Mapping[str, Any], path: str) -> ConfigError:
    kept = ", ".join(f"{k}={v!r}" for k, v in cfg.items() if k != "_delete_")
    clip = cfg.get("clip_grad") if cfg.get("clip_grad") is not None else cfg.get("grad_clip")
    clip_args = (
        ", ".join(f"{k}={v!r}" for k, v in clip.items() if k != "_delete_")
        if isinstance(clip, Mapping) and clip
        else "max_norm=1, norm_type=2"
    )
    clip_txt = f"clip_grad=dict({clip_args})"
    # The inner `_delete_` lets the dict replace an inherited `clip_grad=None` (every MMSeg base
    # schedule has one): merging a dict into None fails in MMEngine and here.
    merge_txt = f"clip_grad=dict(_delete_=True, {clip_args})"
    if "_delete_" in cfg or "grad_clip" in cfg or "clip_grad" in cfg:
        msg = (
            f"has no 'optimizer' (it holds only: {kept or 'nothing'}); `_delete_=True` replaces the "
            "whole inherited optim_wrapper, so the base config's optimizer was dropped "
            "(MMEngine fails here too)"
        )
    else:
        msg = "has no 'optimizer'"
    fix = (
        f"either move `_delete_=True` into clip_grad, so only clip_grad is replaced and the base "
        f"optim_wrapper (with its optimizer) is kept: "
        f"optim_wrapper = dict({merge_txt}); or restate the optimizer: optim_wrapper = dict("
        f"type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01, momentum=0.9, "
        f"weight_decay=0.0005), {clip_txt})"
    )
    return ConfigError(msg, path=path, fix=fix)


def _parse_clip(value: Any, path: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or not value:
        raise ConfigError(
            f"must be a non-empty dict, got {value!r}",
            path=path,
            fix="write e.g. clip_grad=dict(max_norm=1, norm_type=2) or dict(type='value', clip_value=0.5)",
        )
    clip = dict(value)
    kind = clip.pop("type", "norm")
    if kind == "norm":
        allowed: tuple[str, ...] = ("max_norm", "norm_type", "error_if_nonfinite", "foreach")
        required = "max_norm"
    elif kind == "value":
        allowed = ("clip_value", "foreach")
        required = "clip_value"
    else:
        raise ConfigError(
            f"type must be 'norm' or 'value', got {kind!r}", path=f"{path}.type", candidates=did_you_mean(str(kind), ["norm", "value"]),
            fix="leave type out for norm clipping (max_norm=...), or type='value' with clip_value=..."
        )
    check_keys(clip, allowed, path, what=f"{kind} clipping key")
    if required not in clip:
        raise ConfigError(f"{kind} clipping needs {required!r}", path=path, fix=f"add {required}=...")
    number = clip[required]
    if isinstance(number, bool) or not isinstance(number, (int, float)) or number <= 0:
        raise ConfigError(f"{required} must be a positive number, got {number!r}", path=f"{path}.{required}",
                          fix=f"write e.g. {required}=1 (a number > 0, without quotes)")
    if kind == "norm":
        clip.setdefault("norm_type", 2.0)
        return clip
    return {"type": "value", **clip}


def _parse_loss_scale(value: Any, amp: bool, path: str) -> str | float | dict[str, Any] | None:
    if not amp:
        return None
    if value == "dynamic":
        return "dynamic"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value <= 0:
            raise ConfigError(f"a static loss scale must be > 0, got {value!r}", path=path,
                              fix="write loss_scale='dynamic' or a positive number such as 512.0")
        return float(value)
    if isinstance(value, Mapping):
        check_keys(value, _SCALER_KEYS, path, what="GradScaler argument")
        return dict(value)
    raise ConfigError(
        f"must be 'dynamic', a float or a dict of GradScaler arguments, got {value!r}",
        path=path,
        fix="use loss_scale='dynamic' (the default)",
    )


def _parse_dtype(value: Any, path: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, torch.dtype):
        value = str(value).replace("torch.", "")
    if isinstance(value, str) and value in _DTYPES:
        return _DTYPES[value]
    raise ConfigError(
        f"AMP dtype must be 'float16' or 'bfloat16', got {value!r}",
        path=path,
        fix="use dtype='bfloat16' or 'float16', or use type='OptimWrapper' for full precision",
    )


def parse_optim_wrapper(cfg: Mapping[str, Any], *, path: str = "optim_wrapper") -> OptimWrapperSpec:
    """Validate an ``optim_wrapper`` config and return its normalised :class:`OptimWrapperSpec`.

    Args:
        cfg: The ``optim_wrapper`` mapping of an MMEngine config.
        path: Its config path, used in error messages.

    Raises:
        ConfigError: unknown keys (with did-you-mean), bad values, unsupported wrapper types, or an
            ``optim_wrapper`` that lost its ``optimizer`` through ``_delete_``.
    """
    from lightning_runtime.registry import OPTIM_WRAPPERS
    from lightning_runtime.optim._wrappers import AmpOptimWrapper

    if not isinstance(cfg, Mapping):
        raise ConfigError(f"must be a dict, got {type(cfg).__name__}", path=path,
                          fix="write optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01))")
    cfg = to_plain(cfg, drop_scope=True)
    # An unsupported wrapper first: its own keys (Apex's opt_level, ...) are not typos.
    wtype = cfg.get("type", "OptimWrapper")
    short = wtype.rpartition(".")[2] if isinstance(wtype, str) else getattr(wtype, "__name__", "")
    if short in _UNSUPPORTED:
        why, fix = _UNSUPPORTED[short]
        raise ConfigError(f"type {short!r} is not supported: {why}", path=f"{path}.type", fix=fix)
    check_keys({k: v for k, v in cfg.items() if k != "_delete_"}, OPTIM_WRAPPER_KEYS, path)
    wcls = OPTIM_WRAPPERS.resolve(wtype, path=f"{path}.type")
    amp = isinstance(wcls, type) and issubclass(wcls, AmpOptimWrapper)
    type_name = getattr(wcls, "__name__", str(wtype))

    if "optimizer" not in cfg or cfg["optimizer"] is None:
        raise _missing_optimizer_error(cfg, path)
    optimizer = cfg["optimizer"]
    if not isinstance(optimizer, Mapping) or "type" not in optimizer:
        raise ConfigError(
            f"must be a dict with a 'type', got {optimizer!r}",
            path=f"{path}.optimizer",
            fix="write optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.01)",
        )
    check_optimizer_numbers(optimizer, path=f"{path}.optimizer")
    if not amp:
        for key in _AMP_ONLY:
            if key in cfg:
                raise ConfigError(
                    f"{key!r} only applies to AmpOptimWrapper, but type is {type_name!r}",
                    path=f"{path}.{key}",
                    fix=f"set type='AmpOptimWrapper' for mixed precision, or remove {key!r}",
                )
    # A None value counts as absent: MMSeg's base schedules all say clip_grad=None, and a child
    # config adding the seed's grad_clip alias must still work.
    if cfg.get("clip_grad") is not None and cfg.get("grad_clip") is not None:
        raise ConfigError(
            "both 'clip_grad' and its alias 'grad_clip' are set",
            path=f"{path}.grad_clip",
            fix="keep only clip_grad",
        )
    clip_key = "grad_clip" if cfg.get("grad_clip") is not None else "clip_grad"
    clip = _parse_clip(cfg.get(clip_key), f"{path}.{clip_key}")

    acc = cfg.get("accumulative_counts", 1)
    if isinstance(acc, bool) or not isinstance(acc, int) or acc < 1:
        raise ConfigError(f"must be an int >= 1, got {acc!r}", path=f"{path}.accumulative_counts",
                          fix="write accumulative_counts=1 (no accumulation) or a larger int")

    paramwise = cfg.get("paramwise_cfg")
    if paramwise is not None and not isinstance(paramwise, Mapping):
        raise ConfigError(f"must be a dict or None, got {type(paramwise).__name__}", path=f"{path}.paramwise_cfg",
                          fix="write paramwise_cfg=dict(norm_decay_mult=0.0, ...) or leave it out")
    constructor = cfg.get("constructor")
    if constructor is not None and not isinstance(constructor, str) and not callable(constructor):
        raise ConfigError(f"must be a constructor name or class, got {constructor!r}", path=f"{path}.constructor",
                          fix="write e.g. constructor='LearningRateDecayOptimizerConstructor' or leave it out")
    if constructor is not None:
        # Checked here, once, so that Runtime(cfg) refuses a constructor that is not one (a function
        # such as 'os.system', a class such as 'builtins.dict') before anything is built or called.
        from lightning_runtime.registry import OPTIM_WRAPPER_CONSTRUCTORS

        OPTIM_WRAPPER_CONSTRUCTORS.resolve(constructor, path=f"{path}.constructor")
    use_fsdp = cfg.get("use_fsdp", False)
    if not isinstance(use_fsdp, bool):
        raise ConfigError(f"must be True or False, got {use_fsdp!r}", path=f"{path}.use_fsdp",
                          fix="write use_fsdp=False (or True)")

    return OptimWrapperSpec(
        type=type_name,
        amp=amp,
        dtype=_parse_dtype(cfg.get("dtype"), f"{path}.dtype") if amp else None,
        loss_scale=_parse_loss_scale(cfg.get("loss_scale", "dynamic"), amp, f"{path}.loss_scale"),
        clip_grad=clip,
        accumulative_counts=acc,
        optimizer=dict(optimizer),
        paramwise_cfg=dict(paramwise) if paramwise is not None else None,
        constructor=constructor,
        use_fsdp=use_fsdp,
    )
