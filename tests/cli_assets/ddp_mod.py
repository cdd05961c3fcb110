"""A 2-process DDP check through the CLI: a BatchNorm model, indexed data and a recording hook.

Importable as ``ddp_mod`` (``tests/cli_assets`` on ``PYTHONPATH``); used by
``tests/test_reliability_ddp.py`` with ``ddp_cfg.py``. Everything it records goes to
``$DDP_RECORD_DIR/rank<r>.jsonl``, outside ``work_dir``, so that ``work_dir`` holds only what the
runtime wrote. An audit hook lists every file this process opens for writing (and every
directory it creates) under ``$DDP_WORK_DIR``: rank 1 must write nothing there.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
from typing import Any

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader, Dataset

from lightning_runtime.hooks import Hook
from lightning_runtime.registry import HOOKS

N_SAMPLES = 32
_WRITES: list[str] = []


def _rank() -> int:
    return int(os.environ.get("RANK", 0))


def _record(kind: str, **data: Any) -> None:
    folder = os.environ.get("DDP_RECORD_DIR")
    if folder:
        with open(os.path.join(folder, f"rank{_rank()}.jsonl"), "a") as f:
            f.write(json.dumps({"kind": kind, "rank": _rank(), **data}) + "\n")


def _audit(event: str, args: tuple) -> None:
    root = os.environ.get("DDP_WORK_DIR")
    if not root:
        return
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        path, mode, flags = args
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
        if writing and os.path.abspath(os.fsdecode(path)).startswith(root):
            _WRITES.append(os.fsdecode(path))
    elif event in ("os.mkdir", "os.rename", "os.remove") and isinstance(args[0], (str, bytes, os.PathLike)):
        if os.path.abspath(os.fsdecode(args[0])).startswith(root):
            _WRITES.append(f"{event}:{os.fsdecode(args[0])}")


sys.addaudithook(_audit)
atexit.register(lambda: _record("writes", paths=sorted(set(_WRITES))))


class Indexed(Dataset):
    """``(x, y, index)``: the index shows which samples each rank was given."""

    def __init__(self, n: int = N_SAMPLES) -> None:
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(n, 4, generator=g)
        self.y = self.x.sum(1, keepdim=True)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        return self.x[i], self.y[i], i


class DDPData(pl.LightningDataModule):
    def __init__(self, batch_size: int = 4) -> None:
        super().__init__()
        self.batch_size = batch_size

    def train_dataloader(self) -> DataLoader:
        return DataLoader(Indexed(), batch_size=self.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(Indexed(), batch_size=self.batch_size)


class DDPModule(pl.LightningModule):
    """Linear -> BatchNorm1d (SyncBatchNorm under ``sync_bn='torch'``) -> Linear."""

    def __init__(self, width: int = 8) -> None:
        super().__init__()
        self.stem = torch.nn.Linear(4, width)
        self.bn = torch.nn.BatchNorm1d(width)
        self.head = torch.nn.Linear(width, 1)
        self.hyper_parameter = None  # set by the tutorial's NewHook before every iteration

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.bn(self.stem(x)))

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y, _ = batch
        return torch.nn.functional.mse_loss(self(x), y)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y, _ = batch
        # a value that differs per rank: with sync_dist=True Lightning logs the mean over ranks
        self.log("rank_value", float(self.global_rank) * 10.0 + 1.0, sync_dist=True)
        self.log("mse", torch.nn.functional.mse_loss(self(x), y), sync_dist=True)


@HOOKS.register_module()
class DDPRecorderHook(Hook):
    """Records, per rank, what each training iteration saw: iteration, lr, sample indices."""

    priority = "LOWEST"

    def before_train(self, runner: Any) -> None:
        module = runner.model.module
        _record("setup", world=runner.world_size, bn=type(module.bn).__name__, start_iter=runner.iter)

    def before_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None) -> None:
        _record("iter", iter=runner.iter, lr=runner.optim_wrapper.get_lr()["lr"],
                indices=[int(i) for i in data_batch[2]], hyper=runner.model.module.hyper_parameter)

    def after_val_epoch(self, runner: Any, metrics: Any = None) -> None:
        metrics = dict(metrics or {})
        _record("val", iter=runner.iter, metrics={k: float(v) for k, v in metrics.items()})

    def after_train(self, runner: Any) -> None:
        module = runner.model.module
        _record("final", iter=runner.iter,
                params={k: v.detach().flatten().tolist() for k, v in module.named_parameters()},
                buffers={k: v.detach().flatten().tolist() for k, v in module.named_buffers()
                         if v.dtype.is_floating_point})
