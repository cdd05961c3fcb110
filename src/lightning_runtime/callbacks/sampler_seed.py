"""``DistSamplerSeedHook``: ``set_epoch`` on the training sampler at each epoch start.

As MMEngine's hook: the sampler (or the batch sampler's sampler) gets ``set_epoch(epoch)`` when it
has that method, so each epoch shuffles differently and all ranks agree. The epoch is Lightning's
``current_epoch``. Under the Runtime an iteration-based loop is one Lightning epoch of
``max_iters`` batches (``runtime/_data.PassLoader``), so this hook fires once with epoch 0, as
MMEngine's does in ``before_train_epoch``; the loader then calls ``set_epoch(p)`` at each new pass,
as MMEngine's infinite iterator does.
"""

from __future__ import annotations

from typing import Any

from lightning.pytorch import Callback

from lightning_runtime.registry import HOOKS

__all__ = ["DistSamplerSeedHook"]


def _set_epoch(loader: Any, epoch: int) -> bool:
    sampler = getattr(loader, "sampler", None)
    if sampler is not None and hasattr(sampler, "set_epoch"):
        sampler.set_epoch(epoch)
        return True
    batch_sampler = getattr(loader, "batch_sampler", None)
    inner = getattr(batch_sampler, "sampler", None)
    if inner is not None and hasattr(inner, "set_epoch"):
        inner.set_epoch(epoch)
        return True
    return False


@HOOKS.register_module()
class DistSamplerSeedHook(Callback):
    """Call ``set_epoch`` on the training sampler at every epoch start.

    Example:
        >>> DistSamplerSeedHook().priority
        'NORMAL'
    """

    priority = "NORMAL"

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        loader = trainer.train_dataloader
        loaders = loader if isinstance(loader, (list, tuple)) else [loader]
        for item in loaders:
            _set_epoch(item, int(trainer.current_epoch))
