"""``RuntimeInfoHook``: iteration, epoch, learning rate, losses and metrics into the message hub.

MMEngine's ``RuntimeInfoHook`` (priority ``VERY_HIGH``), ported: the learning rate *used* by
iteration ``i`` is read in ``before_train_iter`` (Lightning's ``on_train_batch_start``) and stored
as ``train/lr`` (first param group, as MMEngine); the training step's outputs become
``train/<key>`` (kept as detached tensors until the logger reads them); validation/test metrics
become ``val/<key>`` / ``test/<key>`` scalars (non-scalars go to ``runtime_info``).
"""

from __future__ import annotations

from typing import Any, Optional

import torch

from lightning_runtime.hooks._adapter import CallbackHook
from lightning_runtime.hooks._hook import DATA_BATCH
from lightning_runtime.registry import HOOKS

__all__ = ["RuntimeInfoHook"]


def _is_scalar(value: Any) -> bool:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return True
    if isinstance(value, torch.Tensor):
        return value.numel() == 1
    return hasattr(value, "size") and getattr(value, "size", 0) == 1 and hasattr(value, "item")


@HOOKS.register_module()
class RuntimeInfoHook(CallbackHook):
    """Share runtime information (``runner.message_hub``) with the other hooks.

    Example:
        >>> RuntimeInfoHook().priority
        'VERY_HIGH'
    """

    priority = "VERY_HIGH"

    def __init__(self) -> None:
        super().__init__()
        self.last_loop_stage: Optional[str] = None

    def before_run(self, runner: Any) -> None:
        cfg = runner.cfg
        seed = None
        if hasattr(cfg, "get"):
            randomness = cfg.get("randomness") or {}
            seed = randomness.get("seed") if hasattr(randomness, "get") else None
        runner.message_hub.update_info_dict(
            dict(cfg=str(cfg), seed=seed, experiment_name=runner.experiment_name)
        )
        self.last_loop_stage = None

    # ------------------------------------------------------------------ checkpoints
    def on_save_checkpoint(self, trainer: Any, pl_module: Any, checkpoint: dict) -> None:
        """Save the message hub as MMEngine does (``checkpoint['message_hub']``)."""
        super().on_save_checkpoint(trainer, pl_module, checkpoint)
        from lightning_runtime.hooks._message_hub import message_hub_for

        checkpoint["message_hub"] = message_hub_for(trainer).state_dict()

    def on_load_checkpoint(self, trainer: Any, pl_module: Any, checkpoint: dict) -> None:
        """Restore it on resume, after ``after_load_checkpoint`` as MMEngine's ``Runner.resume``."""
        super().on_load_checkpoint(trainer, pl_module, checkpoint)
        saved = checkpoint.get("message_hub")
        if isinstance(saved, dict) and trainer.state.fn == "fit":
            from lightning_runtime.hooks._message_hub import message_hub_for

            message_hub_for(trainer).load_state_dict(saved)

    def before_train(self, runner: Any) -> None:
        hub = runner.message_hub
        hub.update_info("loop_stage", "train")
        hub.update_info("epoch", runner.epoch)
        hub.update_info("iter", runner.iter)
        hub.update_info("max_epochs", runner.max_epochs)
        hub.update_info("max_iters", runner.max_iters)
        dataset = getattr(runner.train_dataloader, "dataset", None)
        if dataset is not None and hasattr(dataset, "metainfo"):
            hub.update_info("dataset_meta", dataset.metainfo)

    def after_train(self, runner: Any) -> None:
        runner.message_hub.pop_info("loop_stage")

    def before_train_epoch(self, runner: Any) -> None:
        runner.message_hub.update_info("epoch", runner.epoch)

    def before_train_iter(self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None) -> None:
        runner.message_hub.update_info("iter", runner.iter)
        optim_wrapper = runner.optim_wrapper
        if optim_wrapper is None:
            return
        for name, lr in optim_wrapper.get_lr().items():
            runner.message_hub.update_scalar(f"train/{name}", lr[0])

    def after_train_iter(
        self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None, outputs: Optional[dict] = None
    ) -> None:
        if outputs is not None:
            for key, value in outputs.items():
                runner.message_hub.update_scalar(f"train/{key}", value)

    def before_val(self, runner: Any) -> None:
        self.last_loop_stage = runner.message_hub.get_info("loop_stage")
        runner.message_hub.update_info("loop_stage", "val")

    def after_val_epoch(self, runner: Any, metrics: Optional[dict] = None) -> None:
        self._store_metrics(runner, "val", metrics)

    def after_val(self, runner: Any) -> None:
        if self.last_loop_stage == "train":
            runner.message_hub.update_info("loop_stage", self.last_loop_stage)
            self.last_loop_stage = None
        else:
            runner.message_hub.pop_info("loop_stage")

    def before_test(self, runner: Any) -> None:
        runner.message_hub.update_info("loop_stage", "test")

    def after_test(self, runner: Any) -> None:
        runner.message_hub.pop_info("loop_stage")

    def after_test_epoch(self, runner: Any, metrics: Optional[dict] = None) -> None:
        self._store_metrics(runner, "test", metrics)

    @staticmethod
    def _store_metrics(runner: Any, mode: str, metrics: Optional[dict]) -> None:
        if metrics is None:
            return
        for key, value in metrics.items():
            if _is_scalar(value):
                runner.message_hub.update_scalar(f"{mode}/{key}", value)
            else:
                runner.message_hub.update_info(f"{mode}/{key}", value)
