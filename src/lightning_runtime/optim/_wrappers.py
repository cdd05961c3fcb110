"""``OptimWrapper`` / ``AmpOptimWrapper``: MMEngine's names, registered in ``OPTIM_WRAPPERS``.

Here they only *hold* the optimizer and the wrapper settings: backward, loss scaling, clipping and
accumulation are done by the Lightning Trainer (see :func:`~lightning_runtime.optim.parse_optim_wrapper`).
They exist so that ``type='AmpOptimWrapper'`` resolves and so that a constructor written for
MMEngine whose ``__call__`` ends with ``OPTIM_WRAPPERS.build(cfg, default_args=dict(optimizer=...))``
still works: :func:`~lightning_runtime.optim.build_optimizer` unwraps ``.optimizer``.
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["OptimWrapper", "AmpOptimWrapper", "BASE_PARAM_SETTINGS", "set_base_param_settings"]

#: Attribute of a built optimizer holding MMEngine's ``base_param_settings`` (see :class:`OptimWrapper`).
BASE_PARAM_SETTINGS = "lightning_runtime_base_param_settings"


def set_base_param_settings(optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """Give ``optimizer`` MMEngine's ``base_param_settings``: ``{'params': [], **defaults}``.

    MMEngine's ``OptimWrapper`` keeps this extra "group" whenever the optimizer has more than one
    param group; its schedulers step it with the others and ``get_lr()`` reports its lr as
    ``base_lr`` (log lines, ``scalars.json``). Merged groups here do not change that.
    """
    settings: dict[str, Any] = {"params": [], **optimizer.defaults}
    setattr(optimizer, BASE_PARAM_SETTINGS, settings)
    return settings


class OptimWrapper:
    """A record of an optimizer and MMEngine's wrapper settings (no training logic).

    Args:
        optimizer: The torch optimizer.
        accumulative_counts: Gradient accumulation steps.
        clip_grad: Gradient clipping settings, as in MMEngine.
    """

    def __init__(
        self, optimizer: torch.optim.Optimizer, accumulative_counts: int = 1, clip_grad: dict | None = None
    ) -> None:
        self.optimizer = optimizer
        self.accumulative_counts = accumulative_counts
        self.clip_grad = clip_grad
        #: MMEngine's extra "group" of the optimizer's defaults, scheduled like the others; there
        #: when MMEngine's optimizer has more than one param group (set by ``build_optimizer``).
        self.base_param_settings: dict[str, Any] | None = getattr(optimizer, BASE_PARAM_SETTINGS, None)

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        """The optimizer's param groups."""
        return self.optimizer.param_groups

    def get_lr(self) -> dict[str, list[float]]:
        """``{'lr': [lr of each group]}`` as MMEngine's wrapper returns it.

        ``{'base_lr': [scheduled lr of the optimizer's defaults], 'lr': [...]}`` when MMEngine's
        optimizer would have more than one param group (``paramwise_cfg`` or a constructor).
        """
        res: dict[str, list[float]] = {}
        if self.base_param_settings is not None:
            res["base_lr"] = [self.base_param_settings["lr"]]
        res["lr"] = [group["lr"] for group in self.param_groups]
        return res

    def get_momentum(self) -> dict[str, list[float]]:
        """``{'momentum': [...]}`` (``betas[0]`` for Adam-style optimizers), as MMEngine."""
        out = []
        for group in self.param_groups:
            if "momentum" in group:
                out.append(group["momentum"])
            elif "betas" in group:
                out.append(group["betas"][0])
            else:
                out.append(0)
        return {"momentum": out}


class AmpOptimWrapper(OptimWrapper):
    """``OptimWrapper`` asking for mixed precision (MMEngine's arguments; the Trainer applies them).

    Args:
        loss_scale: ``'dynamic'``, a float or a dict of ``GradScaler`` arguments.
        dtype: ``'float16'`` / ``'bfloat16'`` (or the torch dtype); ``None`` means float16.
        use_fsdp: MMEngine's flag for a sharded grad scaler (the FSDP strategy handles it here).
        **kwargs: ``optimizer``, ``accumulative_counts``, ``clip_grad``.
    """

    def __init__(self, loss_scale: Any = "dynamic", dtype: Any = None, use_fsdp: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.loss_scale = loss_scale
        self.dtype = dtype
        self.use_fsdp = use_fsdp
