"""MMEngine's side of ``bench_launch.py``: the tiny MLP, its dataset and the exit hook, registered in MMEngine.

Imported through ``custom_imports`` of ``benchmarks/launch/mmengine_cfg.py`` by ``mm_train.py``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from mmengine.dataset import BaseDataset  # noqa: F401  (registers MMEngine's datasets)
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.registry import DATASETS, HOOKS, MODELS
from torch import nn
from torch.utils.data import Dataset

from first_iter import report_and_exit

__all__ = ["BenchMLP", "BenchData", "FirstIterExit"]


@MODELS.register_module()
class BenchMLP(BaseModel):
    """16-32-1 MLP."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 1))

    def forward(self, x: torch.Tensor, y: torch.Tensor, mode: str = "tensor") -> Any:
        out = self.net(x)
        return {"loss": F.mse_loss(out, y)} if mode == "loss" else out


@DATASETS.register_module()
class BenchData(Dataset):
    """512 samples of 16 features, in memory."""

    def __init__(self) -> None:
        self.x = torch.randn(512, 16, generator=torch.Generator().manual_seed(0))

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[i], self.x[i].sum(0, keepdim=True)


@HOOKS.register_module()
class FirstIterExit(Hook):
    """Prints ``time.time()`` after the first training iteration and ends the process."""

    def after_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None) -> None:
        report_and_exit()
