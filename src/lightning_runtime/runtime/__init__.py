"""The translation of a config's runtime sections into a Lightning Trainer, and the run around it.

:class:`Runtime` is the translation table (``train_cfg`` -> loop control, ``optim_wrapper`` ->
precision/clipping/accumulation, ``env_cfg``/``launcher`` -> strategy, ``visualizer`` -> loggers,
``default_hooks``/``custom_hooks`` -> callbacks, ``work_dir``/``resume``/``load_from``);
:class:`RunContext` is what its callbacks share; :class:`LogProcessor` formats MMEngine's log
lines; the ``*VisBackend`` classes are the ``vis_backends`` entries as Lightning loggers.
Private modules: ``_loops`` (validation cadence, accumulation), ``_data`` (iteration-based
training data), ``_env`` (launcher, seeding), ``_precision``, ``_run_log``, ``_progress``.

Example:
    >>> from lightning_runtime.runtime import Runtime
    >>> rt = Runtime(dict(train_cfg=dict(type='IterBasedTrainLoop', max_iters=100)))  # doctest: +SKIP
"""

from lightning_runtime.runtime._context import RunContext
from lightning_runtime.runtime._log_processor import LogProcessor
from lightning_runtime.runtime._loggers import (
    LocalVisBackend,
    MLflowVisBackend,
    TensorboardVisBackend,
    WandbVisBackend,
)
from lightning_runtime.runtime._loops import should_validate
from lightning_runtime.runtime._progress import train_iter
from lightning_runtime.runtime._runtime import Runtime

__all__ = ["Runtime", "RunContext", "LogProcessor", "LocalVisBackend", "TensorboardVisBackend",
           "WandbVisBackend", "MLflowVisBackend", "should_validate", "train_iter"]
