"""``CheckInvalidLossHook``: stop when the loss becomes NaN or infinite (MMDetection's hook).

Checked every ``interval`` training iterations only, so the loss is read on the host (one device
sync) at that cadence, not every iteration.
"""

from __future__ import annotations

from typing import Any, Optional

import torch

from lightning_runtime.errors import ConfigError
from lightning_runtime.hooks._adapter import CallbackHook
from lightning_runtime.hooks._hook import DATA_BATCH
from lightning_runtime.registry import HOOKS

__all__ = ["CheckInvalidLossHook"]


@HOOKS.register_module()
class CheckInvalidLossHook(CallbackHook):
    """Raise ``FloatingPointError`` when ``outputs['loss']`` is not finite.

    Args:
        interval: Check every this many training iterations.

    Example:
        >>> CheckInvalidLossHook(interval=10).interval
        10
    """

    priority = "NORMAL"

    def __init__(self, interval: int = 50) -> None:
        super().__init__()
        if not isinstance(interval, int) or interval < 1:
            raise ConfigError(f"interval must be a positive int, got {interval!r}", path="interval",
                              fix="check the loss every N iterations with a whole number N >= 1 (default 50)")
        self.interval = interval

    def after_train_iter(
        self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None, outputs: Optional[dict] = None
    ) -> None:
        if not outputs or "loss" not in outputs or not self.every_n_train_iters(runner, self.interval):
            return
        loss = outputs["loss"]
        finite = bool(torch.isfinite(loss).all()) if isinstance(loss, torch.Tensor) else float(loss) == float(loss) and abs(float(loss)) != float("inf")
        if not finite:
            runner.logger.info("loss become infinite or NaN!")
            raise FloatingPointError(
                f"loss became infinite or NaN at iteration {runner.iter}: {float(loss)}; "
                "lower the learning rate, add grad_clip to optim_wrapper, or check the data"
            )
