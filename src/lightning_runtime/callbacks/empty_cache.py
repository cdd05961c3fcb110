"""``EmptyCacheHook``: ``torch.cuda.empty_cache()`` at MMEngine's moments (no-op without CUDA)."""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import torch

from lightning_runtime.hooks._adapter import CallbackHook
from lightning_runtime.hooks._hook import DATA_BATCH
from lightning_runtime.registry import HOOKS

__all__ = ["EmptyCacheHook"]


def _empty() -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


@HOOKS.register_module()
class EmptyCacheHook(CallbackHook):
    """Release cached CUDA memory before/after epochs and/or after iterations.

    Args:
        before_epoch: Before each train/val/test epoch.
        after_epoch: After each epoch.
        after_iter: After each iteration.

    Example:
        >>> EmptyCacheHook(after_iter=True).priority
        'NORMAL'
    """

    priority = "NORMAL"

    def __init__(self, before_epoch: bool = False, after_epoch: bool = True, after_iter: bool = False) -> None:
        super().__init__()
        self._do_before_epoch = before_epoch
        self._do_after_epoch = after_epoch
        self._do_after_iter = after_iter

    def _after_iter(
        self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None,
        outputs: Optional[Union[dict, Sequence]] = None, mode: str = "train",
    ) -> None:
        if self._do_after_iter:
            _empty()

    def _before_epoch(self, runner: Any, mode: str = "train") -> None:
        if self._do_before_epoch:
            _empty()

    def _after_epoch(self, runner: Any, mode: str = "train") -> None:
        if self._do_after_epoch:
            _empty()
