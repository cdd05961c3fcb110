"""Lightning callbacks that stand in for MMEngine's hooks, one module per hook.

Importing this package registers every callback in ``lightning_runtime.registry.HOOKS`` under its
MMEngine hook name (``'CheckpointHook'``, ``'LoggerHook'``, ...).

Example:
    >>> import lightning.pytorch as pl
    >>> from lightning_runtime.callbacks import IterTimerHook, LoggerHook, ParamSchedulerHook
    >>> trainer = pl.Trainer(callbacks=[IterTimerHook(), LoggerHook(interval=50), ParamSchedulerHook()])
"""

from __future__ import annotations

from lightning_runtime.callbacks.check_invalid_loss import CheckInvalidLossHook
from lightning_runtime.callbacks.checkpoint import CheckpointHook
from lightning_runtime.callbacks.early_stopping import EarlyStoppingHook
from lightning_runtime.callbacks.ema import EMAHook
from lightning_runtime.callbacks.empty_cache import EmptyCacheHook
from lightning_runtime.callbacks.logger import LoggerHook
from lightning_runtime.callbacks.param_scheduler import ParamSchedulerHook
from lightning_runtime.callbacks.runtime_info import RuntimeInfoHook
from lightning_runtime.callbacks.sampler_seed import DistSamplerSeedHook
from lightning_runtime.callbacks.sync_buffers import SyncBuffersHook
from lightning_runtime.callbacks.timer import IterTimerHook
from lightning_runtime.callbacks.visualization import SegVisualizationHook, VisualizationProtocolError, draw_sem_seg, random_palette

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
