"""lightning_runtime's side of ``bench_launch.py``: the tiny MLP as a LightningModule + DataModule, and the exit hook.

Imported by ``lightning-runtime fit --config benchmarks/launch/runtime_cfg.py`` (``custom_imports`` and
``model:``/``data:`` class paths; ``benchmarks/launch`` is on ``PYTHONPATH`` in the child).
"""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from first_iter import report_and_exit
from lightning_runtime.hooks import Hook
from lightning_runtime.registry import HOOKS

__all__ = ["Net", "Data", "FirstIterExit"]


class Net(pl.LightningModule):
    """16-32-1 MLP; its optimizer and schedule come from the config (``rt.configure_optimizers``)."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 1))

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        return F.mse_loss(self.net(x), y)


class Data(pl.LightningDataModule):
    """512 samples of 16 features, batch 8, in memory."""

    def train_dataloader(self) -> DataLoader:
        x = torch.randn(512, 16, generator=torch.Generator().manual_seed(0))
        return DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=8)


@HOOKS.register_module()
class FirstIterExit(Hook):
    """Prints ``time.time()`` after the first training iteration and ends the process."""

    def after_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None) -> None:
        report_and_exit()
