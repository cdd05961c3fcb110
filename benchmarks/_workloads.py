"""The workloads the per-iteration benchmarks share, without Lightning (MMEngine's side imports them too).

The tiny MLP and the demo ViT with their in-memory batches, the seed-like runtime config
(``default_hooks`` as MMSeg, logger interval 50, ``LinearLR`` + ``PolyLR``), torch's twin of that
optimizer and schedule, and the measuring: a ``(wall, CPU)`` stamp per iteration start, the mean
time between stamps after the warm-up, and :func:`quiet` (console output to ``/dev/null``). Nothing
here imports Lightning or MMEngine, so a child process that runs MMEngine's Runner does not carry
Lightning's modules (memory, garbage-collection work) and the other way round.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from lightning_runtime.demo.models import tiny_vit_segmentor

__all__ = ["LOG_INTERVAL", "NEVER", "BASE_LR", "WARMUP_FRACTION", "Stamps", "TinyMLP", "DemoViT", "make_data",
           "torch_optim", "stamp", "runtime_config", "quiet", "per_iter_ms"]

LOG_INTERVAL = 50
NEVER = 10**8  # a checkpoint interval no run reaches
BASE_LR = 0.01
WARMUP_FRACTION = 0.1  # LinearLR over the first 10% of iterations, PolyLR after
Stamps = list[tuple[float, float]]


class TinyMLP(nn.Module):
    """A 16-32-1 MLP on batches of 8: a step costs microseconds, so framework overhead dominates."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 1))

    def loss(self, batch: Sequence[torch.Tensor]) -> torch.Tensor:
        x, y = batch
        return F.mse_loss(self.net(x), y)


class DemoViT(nn.Module):
    """The demo config's segmentor (tiny ViT, 32x32 crops, 4 classes) with MMSeg's FCN aux loss."""

    def __init__(self) -> None:
        super().__init__()
        self.seg = tiny_vit_segmentor(img_size=32, patch_size=4, embed_dims=64, depth=4, num_heads=4,
                                      head_channels=32, num_classes=4)

    def loss(self, batch: Sequence[torch.Tensor]) -> torch.Tensor:
        images, labels = batch
        logits, aux = self.seg.forward_train(images)
        return F.cross_entropy(logits, labels) + 0.4 * F.cross_entropy(aux, labels)


def make_data(model: str, n_batches: int) -> tuple[Callable[[], nn.Module], DataLoader]:
    """``(model factory, loader)`` with exactly ``n_batches`` batches held in memory."""
    g = torch.Generator().manual_seed(0)
    if model == "tiny":
        bs = 8
        x = torch.randn(n_batches * bs, 16, generator=g)
        ds = TensorDataset(x, x.sum(1, keepdim=True))
        factory: Callable[[], nn.Module] = TinyMLP
    else:
        bs = 16
        images = torch.randn(n_batches * bs, 3, 32, 32, generator=g)
        labels = torch.randint(0, 4, (n_batches * bs, 32, 32), generator=g)
        ds = TensorDataset(images, labels)
        factory = DemoViT
    return factory, DataLoader(ds, batch_size=bs, shuffle=False, num_workers=0)



def torch_optim(net: nn.Module, max_iters: int) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """SGD + ``SequentialLR(LinearLR(0.1), PolynomialLR(0.9))``: the plain-torch twin of the config."""
    opt = torch.optim.SGD(net.parameters(), lr=BASE_LR, momentum=0.9, weight_decay=5e-4)
    warm = max(1, int(max_iters * WARMUP_FRACTION))
    sched = torch.optim.lr_scheduler.SequentialLR(
        opt,
        [torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=warm),
         torch.optim.lr_scheduler.PolynomialLR(opt, total_iters=max_iters - warm, power=0.9)],
        milestones=[warm],
    )
    return opt, sched



def stamp() -> tuple[float, float]:
    """``(wall, process CPU)`` seconds now."""
    return time.perf_counter(), time.process_time()



def runtime_config(max_iters: int, work_dir: str) -> dict[str, Any]:
    """The seed's runtime settings (``default_hooks`` as MMSeg, ``visualization=None``) for ``max_iters``."""
    warm = max(1, int(max_iters * WARMUP_FRACTION))
    return dict(
        work_dir=work_dir,
        custom_imports=dict(imports=["lightning_runtime.demo.hooks"], allow_failed_imports=False),
        train_cfg=dict(type="IterBasedTrainLoop", max_iters=max_iters, val_interval=NEVER),
        val_cfg=None,
        optim_wrapper=dict(type="OptimWrapper",
                           optimizer=dict(type="SGD", lr=BASE_LR, momentum=0.9, weight_decay=5e-4)),
        param_scheduler=[
            dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=warm),
            dict(type="PolyLR", eta_min=1e-4, power=0.9, begin=warm, end=max_iters, by_epoch=False),
        ],
        default_hooks=dict(
            timer=dict(type="IterTimerHook"),
            logger=dict(type="LoggerHook", interval=LOG_INTERVAL, log_metric_by_epoch=False),
            param_scheduler=dict(type="ParamSchedulerHook"),
            checkpoint=dict(type="CheckpointHook", by_epoch=False, interval=NEVER),
            sampler_seed=dict(type="DistSamplerSeedHook"),
            visualization=None,
        ),
        custom_hooks=[dict(type="NewHook", a=2, b=1, priority="ABOVE_NORMAL")],
        log_processor=dict(by_epoch=False),
    )



@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Send fd 1 and 2 (progress bar, log lines, warnings) to /dev/null; the writes still happen."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)



def per_iter_ms(starts: Sequence[tuple[float, float]], warmup: int, clock: int = 0) -> float:
    """Mean time between batch starts after ``warmup`` iterations, in ms (``clock`` 0: wall, 1: CPU)."""
    timed = starts[warmup:]
    return (timed[-1][clock] - timed[0][clock]) / (len(timed) - 1) * 1e3
