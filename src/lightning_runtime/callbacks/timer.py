"""``IterTimerHook``: ``time`` and ``data_time`` per iteration and the ETA (MMEngine's, ported).

``data_time`` is the time from the end of the previous iteration (or the epoch start) to the
batch start (Lightning's ``on_train_batch_start``, after the batch is fetched and moved to the
device); ``time`` is the whole iteration, end to end. Both go to the run's message hub as
``<mode>/time`` and ``<mode>/data_time``; ``eta`` (seconds) goes to its ``runtime_info``, with
MMEngine's formula ``mean(time since start) * (max_iters - iter - 1)``.
"""

from __future__ import annotations

import time
from typing import Any, Optional, Sequence, Union

from lightning_runtime.hooks._adapter import CallbackHook
from lightning_runtime.hooks._hook import DATA_BATCH
from lightning_runtime.registry import HOOKS

__all__ = ["IterTimerHook"]


@HOOKS.register_module()
class IterTimerHook(CallbackHook):
    """Time each iteration and estimate the remaining time.

    Example:
        >>> IterTimerHook().priority
        'NORMAL'
    """

    priority = "NORMAL"

    def __init__(self) -> None:
        super().__init__()
        self.time_sec_tot = 0.0
        self.time_sec_test_val = 0.0
        self.start_iter = 0
        self.t = time.time()

    def before_train(self, runner: Any) -> None:
        self.start_iter = runner.iter

    def _before_epoch(self, runner: Any, mode: str = "train") -> None:
        self.t = time.time()

    def _after_epoch(self, runner: Any, mode: str = "train") -> None:
        self.time_sec_test_val = 0.0

    def _before_iter(self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None, mode: str = "train") -> None:
        runner.message_hub.update_scalar(f"{mode}/data_time", time.time() - self.t)

    def _after_iter(
        self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None,
        outputs: Optional[Union[dict, Sequence]] = None, mode: str = "train",
    ) -> None:
        hub = runner.message_hub
        hub.update_scalar(f"{mode}/time", time.time() - self.t)
        self.t = time.time()
        iter_time = hub.get_scalar(f"{mode}/time").current()
        if mode == "train":
            self.time_sec_tot += iter_time
            time_sec_avg = self.time_sec_tot / (runner.iter - self.start_iter + 1)
            eta_sec = time_sec_avg * (runner.max_iters - runner.iter - 1)
        else:
            loader = runner.val_dataloader if mode == "val" else runner.test_dataloader
            self.time_sec_test_val += iter_time
            time_sec_avg = self.time_sec_test_val / (batch_idx + 1)
            eta_sec = time_sec_avg * (len(loader) - batch_idx - 1)
        hub.update_info("eta", eta_sec)
