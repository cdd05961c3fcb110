"""``SyncBuffersHook``: average the model's buffers over ranks before validation (MMEngine's).

After each training epoch (and before a validation not preceded by one) floating-point buffers
(BatchNorm running statistics) are all-reduced to their mean, so every rank validates the same
model. Integer buffers (``num_batches_tracked``) are left alone. Single process: nothing happens.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist

from lightning_runtime.hooks._adapter import CallbackHook
from lightning_runtime.registry import HOOKS

__all__ = ["SyncBuffersHook"]


def all_reduce_buffers(module: torch.nn.Module) -> int:
    """Average ``module``'s floating-point buffers over the process group; returns how many."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return 0
    world = dist.get_world_size()
    count = 0
    for buf in module.buffers():
        if buf.is_floating_point():
            dist.all_reduce(buf, op=dist.ReduceOp.SUM)
            buf.div_(world)
            count += 1
    return count


@HOOKS.register_module()
class SyncBuffersHook(CallbackHook):
    """Synchronize buffers across ranks (MMEngine's ``SyncBuffersHook``).

    Example:
        >>> SyncBuffersHook().priority
        'NORMAL'
    """

    priority = "NORMAL"

    def __init__(self) -> None:
        super().__init__()
        self.called_in_train = False

    def before_val_epoch(self, runner: Any) -> None:
        if not self.called_in_train:
            all_reduce_buffers(runner.model.module)
        self.called_in_train = False

    def after_train_epoch(self, runner: Any) -> None:
        all_reduce_buffers(runner.model.module)
        self.called_in_train = True
