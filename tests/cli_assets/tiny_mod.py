"""A tiny LightningModule and DataModule for CLI tests (importable as ``tiny_mod``)."""

from __future__ import annotations

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader, TensorDataset


class TinyModule(pl.LightningModule):
    """Regression with MMSeg-like names: ``backbone.norm`` and a ``decode_head``."""

    def __init__(self, width: int = 8) -> None:
        super().__init__()
        self.backbone = torch.nn.ModuleDict(
            {"stem": torch.nn.Linear(4, width), "norm": torch.nn.LayerNorm(width)})
        self.decode_head = torch.nn.Linear(width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode_head(self.backbone["norm"](self.backbone["stem"](x)))

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        return torch.nn.functional.mse_loss(self(x), y)

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        self.log("mse", torch.nn.functional.mse_loss(self(x), y))

    test_step = validation_step


class TinyData(pl.LightningDataModule):
    def __init__(self, n: int = 64, batch_size: int = 8) -> None:
        super().__init__()
        self.n, self.batch_size = n, batch_size

    def _loader(self) -> DataLoader:
        x = torch.randn(self.n, 4, generator=torch.Generator().manual_seed(0))
        return DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=self.batch_size)

    def train_dataloader(self) -> DataLoader:
        return self._loader()

    def val_dataloader(self) -> DataLoader:
        return self._loader()

    def test_dataloader(self) -> DataLoader:
        return self._loader()
