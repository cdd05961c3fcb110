"""Tiny model and data shared by the test_runtime*.py files (not a test module)."""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import DataLoader, TensorDataset

from boring import BoringNet
from lightning_runtime.runtime import train_iter


def loader(n: int = 8, batch_size: int = 1, seed: int = 0) -> DataLoader:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n * batch_size, 4, generator=g)
    return DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=batch_size)


class Boring(BoringNet):
    """Linear(4, 1); records the iterations at which validation ran and optimizer steps."""

    def __init__(self, rt: Any = None) -> None:
        super().__init__(rt)
        self.val_iters: list[int] = []
        self.val_epochs: list[int] = []
        self.steps = 0
        self.lrs: list[float] = []

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        self.lrs.append(self.trainer.optimizers[0].param_groups[0]["lr"])

    def on_validation_epoch_start(self) -> None:
        if not self.trainer.sanity_checking:
            self.val_iters.append(train_iter(self.trainer))
            self.val_epochs.append(self.trainer.current_epoch)

    def optimizer_step(self, *args: Any, **kwargs: Any) -> None:
        self.steps += 1
        super().optimizer_step(*args, **kwargs)


QUIET = dict(enable_progress_bar=False, enable_model_summary=False, logger=False, enable_checkpointing=False)

#: default_hooks with every hook removed: isolates the runtime's own behaviour from the hook callbacks.
NO_HOOKS = dict(runtime_info=None, timer=None, sampler_seed=None, logger=None, param_scheduler=None, checkpoint=None)


def make_cfg(tmp_path: Any, **cfg: Any) -> dict:
    cfg.setdefault("default_hooks", dict(NO_HOOKS))
    cfg.setdefault("work_dir", str(tmp_path))
    return cfg
