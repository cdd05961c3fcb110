"""The ``runner`` an MMEngine-style hook receives: a read-mostly view of a Lightning Trainer.

:class:`RunnerFacade` offers what MMEngine hooks use, with MMEngine's values at each hook point:

* ``iter`` (completed training iterations, ``progress.train_iter``), ``epoch``, ``max_iters``,
  ``max_epochs``; ``train_loop`` / ``val_loop`` / ``test_loop`` (``max_iters``, ``max_epochs``,
  ``iter``, ``epoch``, ``dataloader``, settable ``stop_training``);
* ``model``: always a :class:`ModelWrapper` whose ``.module`` is the LightningModule and which
  forwards attribute get/set to it, so ``is_model_wrapper(runner.model)`` is True (the seed's
  ``NewHook`` binds ``model`` only in that case);
* ``optim_wrapper`` (``get_lr()``, ``get_momentum()``, ``optimizer``, ``param_groups``; ``None``
  when the Trainer has no optimizer, e.g. ``trainer.validate``), ``param_schedulers``;
* ``message_hub`` (one per Trainer, see :mod:`.message_hub`), ``logger`` (the
  ``lightning_runtime`` Python logger), ``visualizer`` (``ctx.visualizer`` when one was
  set, else ``None``);
* ``work_dir``, ``log_dir``, ``timestamp``, ``experiment_name``, ``cfg``, ``rank``,
  ``world_size``, ``train_dataloader``/``val_dataloader``/``test_dataloader``, and ``trainer``
  (the Lightning Trainer itself, an escape hatch).

Anything else raises ``AttributeError`` listing what is offered.
"""

from __future__ import annotations

import logging
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from lightning_runtime.optim._wrappers import OptimWrapper
from lightning_runtime.runtime._progress import train_epoch, train_iter
from lightning_runtime.runtime._run_log import get_logger
from lightning_runtime.hooks._message_hub import MessageHub, message_hub_for

__all__ = ["RunnerFacade", "ModelWrapper", "OptimWrapperView", "LoopView", "LoopState", "run_timestamp"]

class ModelWrapper:
    """``runner.model``: wraps the LightningModule as MMEngine's model wrappers do.

    ``wrapper.module`` is the LightningModule; every other attribute read or written goes to it,
    so ``runner.model.hyper_parameter = 3`` and ``runner.model.module.hyper_parameter = 3`` agree.
    """

    _is_model_wrapper = True

    def __init__(self, module: Any) -> None:
        object.__setattr__(self, "module", module)

    def __getattr__(self, name: str) -> Any:
        return getattr(object.__getattribute__(self, "module"), name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "module":
            object.__setattr__(self, name, value)
        else:
            setattr(self.module, name, value)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)

    def __repr__(self) -> str:
        return f"ModelWrapper({type(self.module).__name__})"


# ``runner.optim_wrapper``: MMEngine's read API (get_lr, get_momentum, param_groups, optimizer)
# is the one optim.OptimWrapper already offers.
OptimWrapperView = OptimWrapper


@dataclass
class LoopState:
    """Where the driving callback is in MMEngine's loop (kept by the adapter).

    Attributes:
        by_epoch: Epoch-based (True) or iteration-based training loop.
        epoch_ended_at: Lightning's completed-epoch count when ``after_train_epoch`` last ran; while it
            equals the current count, ``runner.epoch`` is one more (MMEngine increments it before
            validating).
        max_iters: Training iterations from the run context, when known.
        max_epochs: Training epochs from the run context, when known.
        before_first_batch: Between ``on_fit_start`` and the first ``on_train_batch_start`` (the
            adapter keeps it): on a resume from a checkpoint saved at a batch end, Lightning counts
            that batch as completed only when the epoch loop resets, after ``before_train`` and
            ``before_train_epoch`` ran.
    """

    by_epoch: bool = True
    epoch_ended_at: Optional[int] = None
    max_iters: Optional[int] = None
    max_epochs: Optional[int] = None
    before_first_batch: bool = False


class LoopView:
    """``runner.train_loop`` / ``val_loop`` / ``test_loop``."""

    def __init__(self, runner: "RunnerFacade", dataloader: Any) -> None:
        self._runner = runner
        self.dataloader = dataloader

    max_iters = property(lambda self: self._runner.max_iters)
    max_epochs = property(lambda self: self._runner.max_epochs)
    iter = property(lambda self: self._runner.iter)
    epoch = property(lambda self: self._runner.epoch)

    @property
    def stop_training(self) -> bool:
        trainer = self._runner.trainer
        return bool(trainer.should_stop) or trainer in _STOP_AFTER_EPOCH

    @stop_training.setter
    def stop_training(self, value: bool) -> None:
        """MMEngine's loops read ``stop_training`` between iterations (``IterBasedTrainLoop``) or between
        epochs (``EpochBasedTrainLoop``: the epoch, its ``after_train_epoch`` and its validation finish
        first); Lightning's ``should_stop`` stops after the current batch, so an epoch loop's request
        waits for :func:`stop_after_epoch`."""
        trainer, state = self._runner.trainer, self._runner._state
        if value and state.by_epoch and state.epoch_ended_at != train_epoch(trainer):
            _STOP_AFTER_EPOCH.add(trainer)
            return
        _STOP_AFTER_EPOCH.discard(trainer)
        trainer.should_stop = bool(value)


#: Trainers of an epoch loop whose hooks set ``runner.train_loop.stop_training`` during an epoch.
_STOP_AFTER_EPOCH: "weakref.WeakSet[Any]" = weakref.WeakSet()


def stop_after_epoch(trainer: Any) -> None:
    """The epoch's ``after_train_epoch`` has run: a stop asked for during the epoch takes effect now."""
    if trainer in _STOP_AFTER_EPOCH:
        _STOP_AFTER_EPOCH.discard(trainer)
        trainer.should_stop = True


def run_timestamp(trainer: Any, ctx: Any = None) -> str:
    """The run's ``%Y%m%d_%H%M%S`` timestamp: ``ctx.timestamp``, else one per Trainer."""
    if ctx is not None:
        return ctx.timestamp
    hub = message_hub_for(trainer)
    stamp = hub.get_info("_timestamp")
    if stamp is None:
        stamp = time.strftime("%Y%m%d_%H%M%S", time.localtime())
        hub.update_info("_timestamp", stamp)
    return stamp


_OFFERED = (
    "iter", "epoch", "max_iters", "max_epochs", "model", "optim_wrapper", "param_schedulers",
    "message_hub", "logger", "visualizer", "work_dir", "log_dir", "timestamp", "experiment_name",
    "cfg", "rank", "world_size", "train_dataloader", "val_dataloader", "test_dataloader",
    "train_loop", "val_loop", "test_loop", "trainer",
)


def _first(loaders: Any) -> Any:
    if isinstance(loaders, (list, tuple)):
        return loaders[0] if loaders else None
    if isinstance(loaders, dict):
        return next(iter(loaders.values()), None)
    return loaders


class RunnerFacade:
    """MMEngine's ``runner`` as seen by hooks, backed by a Lightning Trainer.

    Args:
        trainer: The running Trainer.
        ctx: The :class:`~lightning_runtime.runtime._context.RunContext`, or ``None`` (plain Lightning).
        state: The adapter's :class:`LoopState`.
    """

    def __init__(self, trainer: Any, ctx: Any = None, state: Optional[LoopState] = None) -> None:
        self.trainer = trainer
        self._ctx = ctx
        self._state = state or LoopState()

    # ------------------------------------------------------------------ counters
    @property
    def iter(self) -> int:
        it = train_iter(self.trainer)
        if self._state.before_first_batch and getattr(self.trainer.fit_loop.epoch_loop,
                                                      "restarted_on_train_batch_end", False):
            it += 1  # resumed at iteration `it + 1`, as MMEngine's runner.iter says in before_train
        return it

    @property
    def epoch(self) -> int:
        if not self._state.by_epoch:
            return 0  # IterBasedTrainLoop never advances runner.epoch
        done = train_epoch(self.trainer)
        return done + (1 if self._state.epoch_ended_at == done else 0)

    @property
    def max_epochs(self) -> int:
        if not self._state.by_epoch:
            return 1  # as MMEngine's IterBasedTrainLoop
        if self._state.max_epochs is not None:
            return self._state.max_epochs
        return int(self.trainer.max_epochs or 0)

    @property
    def max_iters(self) -> int:
        if self._state.max_iters is not None:
            return self._state.max_iters
        trainer = self.trainer
        if self._state.by_epoch:
            return self.max_epochs * int(trainer.num_training_batches)
        return int(trainer.max_steps) * int(trainer.accumulate_grad_batches)

    # ------------------------------------------------------------------ model / optim
    @property
    def model(self) -> ModelWrapper:
        return ModelWrapper(self.trainer.lightning_module)

    @property
    def optim_wrapper(self) -> Optional[OptimWrapper]:
        optimizers = self.trainer.optimizers
        return OptimWrapper(optimizers[0]) if optimizers else None

    @property
    def param_schedulers(self) -> list[Any]:
        return [cfg.scheduler for cfg in self.trainer.lr_scheduler_configs]

    # ------------------------------------------------------------------ services
    @property
    def message_hub(self) -> MessageHub:
        return message_hub_for(self.trainer)

    @property
    def logger(self) -> logging.Logger:
        return get_logger()

    @property
    def visualizer(self) -> Any:
        return self._ctx.visualizer if self._ctx is not None else None

    @property
    def timestamp(self) -> str:
        return run_timestamp(self.trainer, self._ctx)

    @property
    def work_dir(self) -> str:
        if self._ctx is not None:
            return str(self._ctx.work_dir)
        return str(self.trainer.default_root_dir)

    @property
    def log_dir(self) -> str:
        if self._ctx is not None:
            return str(self._ctx.log_dir)
        return str(Path(self.work_dir) / self.timestamp)

    @property
    def experiment_name(self) -> str:
        if self._ctx is not None:
            return self._ctx.experiment_name
        return self.timestamp  # MMEngine's name without a config file

    @property
    def cfg(self) -> Any:
        return self._ctx.cfg if self._ctx is not None else {}

    @property
    def rank(self) -> int:
        return int(self.trainer.global_rank)

    @property
    def world_size(self) -> int:
        return int(self.trainer.world_size)

    # ------------------------------------------------------------------ data / loops
    @property
    def train_dataloader(self) -> Any:
        return self.trainer.train_dataloader

    @property
    def val_dataloader(self) -> Any:
        return _first(self.trainer.val_dataloaders)

    @property
    def test_dataloader(self) -> Any:
        return _first(self.trainer.test_dataloaders)

    @property
    def train_loop(self) -> LoopView:
        return LoopView(self, self.train_dataloader)

    @property
    def val_loop(self) -> LoopView:
        return LoopView(self, self.val_dataloader)

    @property
    def test_loop(self) -> LoopView:
        return LoopView(self, self.test_dataloader)

    @property
    def _train_loop(self) -> Optional[LoopView]:
        """MMEngine's private ``runner._train_loop``: ``None`` outside ``trainer.fit``.

        MMEngine's log processor and LoggerHook test it to tell a training run from a
        validate/test-only run.
        """
        return self.train_loop if self.trainer.state.fn == "fit" else None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(
            f"the runner facade has no attribute {name!r}. It offers: {', '.join(_OFFERED)}. "
            "For anything else use runner.trainer (the Lightning Trainer) or "
            "runner.model.module (the LightningModule)."
        )
