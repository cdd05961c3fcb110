"""Lightning callbacks that stand in for MMEngine's hooks, one module per hook.

Importing this package registers every callback in ``lightning_runtime.registry.HOOKS`` under its
MMEngine hook name (``'CheckpointHook'``, ``'LoggerHook'``, ...).

Example:
    >>> import lightning.pytorch as pl
    >>> from lightning_runtime.callbacks import IterTimerHook, LoggerHook, ParamSchedulerHook
    >>> trainer = pl.Trainer(callbacks=[IterTimerHook(), LoggerHook(interval=50), ParamSchedulerHook()])
"""

from __future__ import annotations

from .check_invalid_loss import CheckInvalidLossHook
from .checkpoint import CheckpointHook
from .early_stopping import EarlyStoppingHook
from .ema import EMAHook
from .empty_cache import EmptyCacheHook
from .logger import LoggerHook
from .param_scheduler import ParamSchedulerHook
from .runtime_info import RuntimeInfoHook
from .sampler_seed import DistSamplerSeedHook
from .sync_buffers import SyncBuffersHook
from .timer import IterTimerHook
from .visualization import SegVisualizationHook, VisualizationProtocolError, draw_sem_seg, random_palette

__all__ = [
    "CheckInvalidLossHook",
    "CheckpointHook",
    "DistSamplerSeedHook",
    "EMAHook",
    "EarlyStoppingHook",
    "EmptyCacheHook",
    "IterTimerHook",
    "LoggerHook",
    "ParamSchedulerHook",
    "RuntimeInfoHook",
    "SegVisualizationHook",
    "SyncBuffersHook",
    "VisualizationProtocolError",
    "draw_sem_seg",
    "random_palette",
]
