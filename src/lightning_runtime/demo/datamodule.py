"""``ShapesDataModule``: the generated shapes dataset as a LightningDataModule.

Usable from LightningCLI's ``data:`` section::

    data:
      class_path: lightning_runtime.demo.datamodule.ShapesDataModule
      init_args: {batch_size: 16, num_train: 512, num_val: 128, image_size: 32}

Example:
    >>> dm = ShapesDataModule(batch_size=4, num_train=8, num_val=4)
    >>> dm.setup('fit')
    >>> len(dm.train_dataloader()), len(dm.val_dataloader())
    (2, 1)
    >>> dm.class_names
    ('background', 'circle', 'rectangle', 'triangle')
"""

from __future__ import annotations

from typing import Literal

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader

from lightning_runtime.demo.data import SHAPE_CLASSES, SHAPE_PALETTE, ShapesDataset

__all__ = ["ShapesDataModule"]


class ShapesDataModule(pl.LightningDataModule):
    """Train / val / test splits of :class:`~lightning_runtime.demo.data.ShapesDataset`.

    Args:
        batch_size: Samples per batch (all splits).
        num_train: Training samples (the last partial batch is dropped, as MMSeg's
            ``InfiniteSampler`` + ``drop_last`` style loaders never see a short batch).
        num_val: Validation samples; the ``test`` stage uses the ``'test'`` split of the same size.
        image_size: Height and width.
        num_classes: Classes including background (2 to 6).
        seed: Data seed (independent of the training seed).
        num_workers: DataLoader workers (0: generate in the main process; data is in memory).
    """

    def __init__(
        self,
        batch_size: int = 16,
        num_train: int = 512,
        num_val: int = 128,
        image_size: int = 32,
        num_classes: int = 4,
        seed: int = 0,
        num_workers: int = 0,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.batch_size = batch_size
        self.num_train = num_train
        self.num_val = num_val
        self.image_size = image_size
        self.num_classes = num_classes
        self.seed = seed
        self.num_workers = num_workers
        self.train_set: ShapesDataset | None = None
        self.val_set: ShapesDataset | None = None
        self.test_set: ShapesDataset | None = None

    @property
    def class_names(self) -> tuple[str, ...]:
        return SHAPE_CLASSES[: self.num_classes]

    @property
    def palette(self) -> list[list[int]]:
        return [list(c) for c in SHAPE_PALETTE[: self.num_classes]]

    def _make(self, split: Literal["train", "val", "test"], n: int) -> ShapesDataset:
        return ShapesDataset(split, n, self.image_size, self.num_classes, self.seed)

    def setup(self, stage: str | None = None) -> None:
        if stage in (None, "fit") and self.train_set is None:
            self.train_set = self._make("train", self.num_train)
        if stage in (None, "fit", "validate") and self.val_set is None:
            self.val_set = self._make("val", self.num_val)
        if stage in (None, "test", "predict") and self.test_set is None:
            self.test_set = self._make("test", self.num_val)

    def train_dataloader(self) -> DataLoader:
        if self.train_set is None:
            self.setup("fit")
        assert self.train_set is not None  # made by setup("fit")
        g = torch.Generator().manual_seed(self.seed)
        return DataLoader(self.train_set, batch_size=self.batch_size, shuffle=True, drop_last=True,
                          generator=g, num_workers=self.num_workers)

    def val_dataloader(self) -> DataLoader:
        if self.val_set is None:
            self.setup("validate")
        assert self.val_set is not None  # made by setup("validate")
        return DataLoader(self.val_set, batch_size=self.batch_size, num_workers=self.num_workers)

    def test_dataloader(self) -> DataLoader:
        if self.test_set is None:
            self.setup("test")
        assert self.test_set is not None  # made by setup("test")
        return DataLoader(self.test_set, batch_size=self.batch_size, num_workers=self.num_workers)

    def predict_dataloader(self) -> DataLoader:
        return self.test_dataloader()
