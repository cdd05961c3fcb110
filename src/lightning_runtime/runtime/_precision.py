"""``optim_wrapper``'s training-loop half: AMP, loss scaling, gradient clipping, accumulation.

What concerns the optimizer (``optimizer``, ``paramwise_cfg``, ``constructor``) is built by
:func:`lightning_runtime.optim.build_optimizer`; this module turns the rest into Trainer arguments.

============================================  ==============================================================
MMEngine                                      Lightning
============================================  ==============================================================
``type='OptimWrapper'``                       32-bit (``precision`` unset)
``type='AmpOptimWrapper'`` on CUDA            ``MixedPrecision('16-mixed', 'cuda', scaler)`` (plugin)
``dtype='bfloat16'``                          ``precision='bf16-mixed'`` (no scaler, as torch)
``AmpOptimWrapper`` on CPU                    ``precision='bf16-mixed'``: MMEngine's CPU autocast is bf16 only
``loss_scale='dynamic'``                      ``torch.amp.GradScaler(device)`` (torch defaults, as MMEngine)
``loss_scale=512.`` (a number)                :class:`StaticGradScaler`: ``init_scale=512`` and
                                              ``update(512)`` after every step, exactly MMEngine's
``loss_scale=dict(init_scale=..., ...)``      ``torch.amp.GradScaler(device, **dict)``
``clip_grad=dict(max_norm=m)`` (L2)           ``gradient_clip_val=m, gradient_clip_algorithm='norm'``
``clip_grad=dict(type='value', clip_value)``  ``gradient_clip_val=v, gradient_clip_algorithm='value'``
``clip_grad=dict(max_norm, norm_type=inf)``   :class:`GradClip` callback (Lightning's norm clip is L2 only)
``accumulative_counts=k``                     ``accumulate_grad_batches=k``
============================================  ==============================================================

Clipping always sees unscaled gradients: Lightning unscales before ``on_before_optimizer_step``.
``ApexOptimWrapper`` / ``DeepSpeedOptimWrapper`` are refused with a pointer to Lightning's
``precision`` / ``strategy='deepspeed'``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
import lightning.pytorch as pl
from lightning.pytorch.callbacks import Callback

from lightning_runtime.errors import ConfigError, check_keys

if TYPE_CHECKING:  # pragma: no cover
    from lightning_runtime.optim import OptimWrapperSpec

__all__ = ["PrecisionPlan", "plan_precision", "StaticGradScaler", "build_grad_scaler", "GradClip"]

class StaticGradScaler(torch.amp.GradScaler):
    """A GradScaler that keeps one scale, as MMEngine's ``AmpOptimWrapper(loss_scale=<float>)``.

    MMEngine builds ``GradScaler(init_scale=s)`` and calls ``update(s)`` after every step: steps
    with inf/nan gradients are still skipped, but the scale never moves. Lightning's
    MixedPrecision calls ``update()`` without an argument, so the fixed value is supplied here.
    """

    def __init__(self, device: str = "cuda", init_scale: float = 2.0**16, enabled: bool = True) -> None:
        super().__init__(device=device, init_scale=init_scale, enabled=enabled)
        self.static_scale = float(init_scale)

    def update(self, new_scale: float | torch.Tensor | None = None) -> None:  # noqa: D102
        super().update(self.static_scale if new_scale is None else new_scale)


def _tag(scaler: torch.amp.GradScaler, kwargs: dict[str, Any]) -> torch.amp.GradScaler:
    # The constructor arguments, readable even where a CUDA scaler disabled itself (no CUDA).
    scaler.scaler_kwargs = kwargs  # type: ignore[attr-defined]
    return scaler


def build_grad_scaler(loss_scale: Any, device: str = "cuda", *, path: str = "optim_wrapper.loss_scale") -> torch.amp.GradScaler:
    """The GradScaler MMEngine's ``AmpOptimWrapper`` builds for ``loss_scale``.

    Example:
        >>> s = build_grad_scaler(dict(init_scale=1024., growth_interval=100), device='cpu')
        >>> s.get_growth_interval(), s.get_scale() if s.is_enabled() else 1024.0
        (100, 1024.0)
    """
    if loss_scale == "dynamic":
        return _tag(torch.amp.GradScaler(device=device), {})
    if isinstance(loss_scale, (int, float)) and not isinstance(loss_scale, bool):
        # MMEngine accepts only float (an int raises TypeError there); 512 and 512. mean the same here.
        if loss_scale <= 0:
            raise ConfigError(f"must be > 0, got {loss_scale!r}", path=path, fix="use loss_scale='dynamic', a number > 0, or a dict of GradScaler arguments")
        return _tag(StaticGradScaler(device=device, init_scale=float(loss_scale)), {"init_scale": float(loss_scale)})
    if isinstance(loss_scale, Mapping):
        allowed = ("init_scale", "growth_factor", "backoff_factor", "growth_interval", "enabled")
        check_keys(loss_scale, allowed, path, what="GradScaler argument")
        kwargs = {k: v for k, v in loss_scale.items() if k != "_scope_"}
        return _tag(torch.amp.GradScaler(device=device, **kwargs), kwargs)
    raise ConfigError(
        f"must be 'dynamic', a number or a dict of GradScaler arguments, got {loss_scale!r}",
        path=path,
        fix="use loss_scale='dynamic', loss_scale=512. or loss_scale=dict(init_scale=..., growth_interval=...)",
    )


class GradClip(Callback):
    """Clip gradients as MMEngine's ``OptimWrapper._clip_grad`` (any ``norm_type``, extra kwargs).

    Runs in ``on_before_optimizer_step``, i.e. after AMP unscaling and only on steps that update.
    The total norm goes into the message hub as ``train/grad_norm`` (MMEngine's name; the log
    lines show its windowed mean, as MMEngine's).

    Args:
        clip_type: ``'norm'`` (``clip_grad_norm_``) or ``'value'`` (``clip_grad_value_``).
        apply: ``False``: only measure the norm (Lightning's ``gradient_clip_val`` clips after).
        kwargs: The remaining ``clip_grad`` arguments, passed to the torch function.

    Attributes:
        last_norm: The total norm returned by the last ``clip_grad_norm_`` (``None`` for value).
    """

    def __init__(self, clip_type: str = "norm", apply: bool = True, **kwargs: Any) -> None:
        self.clip_type = clip_type
        self.apply = apply
        self.kwargs = kwargs
        self.last_norm: float | None = None

    def on_before_optimizer_step(self, trainer: pl.Trainer, pl_module: pl.LightningModule, optimizer: Any) -> None:
        params = [p for g in optimizer.param_groups for p in g["params"] if p.requires_grad and p.grad is not None]
        if not params:
            return
        if self.clip_type == "value":
            torch.nn.utils.clip_grad_value_(params, **self.kwargs)
            return
        if self.apply:
            norm = torch.nn.utils.clip_grad_norm_(params, **self.kwargs)
        else:  # the norm clip_grad_norm_ returns: of the unclipped gradients
            norm = torch.nn.utils.get_total_norm([p.grad for p in params], float(self.kwargs.get("norm_type", 2.0)),
                                                  foreach=self.kwargs.get("foreach"))
        self.last_norm = float(norm)
        from lightning_runtime.hooks._message_hub import message_hub_for

        message_hub_for(trainer).update_scalar("train/grad_norm", self.last_norm)
        pl_module.log("grad_norm", self.last_norm, on_step=True, on_epoch=False, logger=True)


@dataclass
class PrecisionPlan:
    """Trainer arguments, plugins and callbacks derived from ``optim_wrapper``."""

    trainer_kwargs: dict[str, Any] = field(default_factory=dict)
    plugins: list[Any] = field(default_factory=list)
    callbacks: list[Callback] = field(default_factory=list)
    accumulative_counts: int = 1
    amp: bool = False


def _clip_plan(clip: dict[str, Any] | None, plan: PrecisionPlan) -> None:
    """Translate the parsed ``clip_grad`` (``OptimWrapperSpec.clip_grad``: its keys already checked)."""
    if clip is None:
        return
    kwargs = dict(clip)
    clip_type = kwargs.pop("type", "norm")
    if clip_type == "value":
        plan.trainer_kwargs.update(gradient_clip_val=float(kwargs["clip_value"]), gradient_clip_algorithm="value")
    elif set(kwargs) == {"max_norm"} or (set(kwargs) == {"max_norm", "norm_type"} and float(kwargs["norm_type"]) == 2.0):
        plan.trainer_kwargs.update(gradient_clip_val=float(kwargs["max_norm"]), gradient_clip_algorithm="norm")
        plan.callbacks.append(GradClip("norm", apply=False, **kwargs))  # train/grad_norm, as MMEngine logs it
    else:
        plan.callbacks.append(GradClip("norm", **kwargs))


def plan_precision(
    spec: OptimWrapperSpec | None,
    *,
    accelerator: str = "cpu",
    path: str = "optim_wrapper",
) -> PrecisionPlan:
    """Translate a parsed ``optim_wrapper``'s wrapper-level settings for ``accelerator`` ('cpu'/'cuda').

    ``spec`` comes from :func:`~lightning_runtime.optim.parse_optim_wrapper`, the one validation of
    ``optim_wrapper`` (types, keys, the ``grad_clip`` alias, AMP-only keys, dtype, loss scale); it
    is trusted here, and what remains is the translation to Lightning. ``path`` names the section
    in the one error left: float16 autocast on CPU, which depends on the accelerator.

    Example:
        >>> from lightning_runtime.optim import parse_optim_wrapper
        >>> p = plan_precision(parse_optim_wrapper(dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1),
        ...                                             clip_grad=dict(max_norm=1.0), accumulative_counts=2)))
        >>> p.trainer_kwargs
        {'gradient_clip_val': 1.0, 'gradient_clip_algorithm': 'norm', 'accumulate_grad_batches': 2}
    """
    plan = PrecisionPlan()
    if spec is None:
        return plan
    _clip_plan(spec.clip_grad, plan)
    k = spec.accumulative_counts
    plan.accumulative_counts = k
    if k > 1:
        plan.trainer_kwargs["accumulate_grad_batches"] = k
    if spec.amp:
        plan.amp = True
        dtype = spec.dtype  # None (float16), 'float16' or 'bfloat16'
        loss_scale = "dynamic" if spec.loss_scale is None else spec.loss_scale
        device = "cuda" if accelerator in ("cuda", "gpu") else accelerator
        if dtype == "bfloat16" or (device == "cpu" and dtype is None):
            # MMEngine's CPU autocast is bf16 only (its GradScaler is disabled without CUDA).
            plan.trainer_kwargs["precision"] = "bf16-mixed"
        elif device == "cpu":
            raise ConfigError(
                "float16 autocast is not supported on CPU (MMEngine asserts the same)",
                path=f"{path}.dtype",
                fix="use dtype='bfloat16' on CPU, or train on a GPU",
            )
        else:
            from lightning.pytorch.plugins.precision import MixedPrecision

            scaler = build_grad_scaler(loss_scale, device, path=f"{path}.loss_scale")
            plan.plugins.append(MixedPrecision("16-mixed", device, scaler=scaler))
    return plan


def expected_optimizer_steps(max_iters: int, k: int) -> int:
    """Optimizer steps MMEngine makes for ``max_iters`` iterations at ``accumulative_counts=k``."""
    return math.ceil(max_iters / k)
