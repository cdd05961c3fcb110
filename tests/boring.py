"""The suite's LightningModule double: Lightning's ``BoringModel`` as a tiny regression.

Lightning tests its own callbacks on a ``BoringModel`` subclass and a real CPU ``Trainer``; these
tests do the same. :class:`BoringNet` keeps ``BoringModel``'s forward/loss/step shape with a
``Linear(in_features, out_features)`` layer trained by MSE on ``(x, y, ...)`` batches, and takes its
data from the test (``BoringModel``'s own ``RandomDataset(32, 64)`` loaders are switched off, so
validation runs only when a test passes validation data). Subclass it to record what a test needs.
"""

from __future__ import annotations

from typing import Any

import torch
from lightning.pytorch import LightningModule
from lightning.pytorch.demos.boring_classes import BoringModel
from torch.utils.data import DataLoader, TensorDataset

__all__ = ["BoringNet", "regression_loader"]


class BoringNet(BoringModel):
    """``BoringModel`` with ``Linear(4, 1)`` on ``(x, y)`` batches; ``SGD(lr)`` or ``rt.configure_optimizers``.

    Args:
        rt: A :class:`~lightning_runtime.Runtime`; when given, ``configure_optimizers`` is its own.
        lr: The plain SGD learning rate otherwise.
        seed: Seeds torch right before the layer is made (same initial weights as a reference layer).
        in_features, out_features: The layer's shape.
    """

    # The data comes from the test: BoringModel's RandomDataset(32, 64) loaders do not fit the layer.
    train_dataloader = LightningModule.train_dataloader
    val_dataloader = LightningModule.val_dataloader
    test_dataloader = LightningModule.test_dataloader
    predict_dataloader = LightningModule.predict_dataloader

    def __init__(self, rt: Any = None, lr: float = 0.1, seed: int | None = None,
                 in_features: int = 4, out_features: int = 1) -> None:
        super().__init__()
        if seed is not None:
            torch.manual_seed(seed)
        self.layer = torch.nn.Linear(in_features, out_features)
        self.rt = rt
        self.lr = lr

    def step(self, batch: Any) -> torch.Tensor:
        x, y = batch[0], batch[1]
        return self.loss(self(x), y)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        return self.step(batch)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.log("val_loss", self.step(batch))

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self.log("test_loss", self.step(batch))

    def configure_optimizers(self) -> Any:
        if self.rt is not None:
            return self.rt.configure_optimizers(self)
        return torch.optim.SGD(self.parameters(), lr=self.lr)


def regression_loader(n: int, batch_size: int = 2, seed: int = 0, in_features: int = 4) -> DataLoader:
    """``n`` random ``(x, y)`` samples for :class:`BoringNet` (fixed by ``seed``), not shuffled."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, in_features, generator=g)
    return DataLoader(TensorDataset(x, torch.randn(n, 1, generator=g)), batch_size=batch_size)
