"""Drive MMEngine-style hook points from Lightning's callback hooks.

:class:`HookDriver` is a Lightning ``Callback`` that turns Lightning's hooks into MMEngine's hook
points, in MMEngine's order and with MMEngine's ``runner.iter`` / ``runner.epoch`` at each:

====================================  ===============================================================
Lightning                             MMEngine hook point(s)
====================================  ===============================================================
``on_fit_start``                      ``before_run`` (or earlier: before ``after_load_checkpoint``)
``on_train_start``                    ``before_train``
``on_train_epoch_start``              ``before_train_epoch`` (iteration-based: the first one only)
``on_train_batch_start``              ``before_train_iter(batch_idx, data_batch)``
``on_train_batch_end``                ``after_train_iter(batch_idx, data_batch, outputs)``
``on_validation_start`` (in fit)      ``after_train_epoch`` when validating at the end of an epoch
                                      (epoch-based; MMEngine ends the epoch *then* validates),
                                      then ``before_val``
``on_validation_epoch_start``         ``before_val_epoch``
``on_validation_batch_start/end``     ``before_val_iter`` / ``after_val_iter``
``on_validation_end``                 ``after_val_epoch(metrics)``, ``after_val`` (+ ``after_run``
                                      under ``trainer.validate``)
``on_train_epoch_end``                ``after_train_epoch`` (epoch-based, unless already called)
``on_train_end``                      ``after_train_epoch`` (iteration-based: once), ``after_train``
``on_fit_end``                        ``after_run``
``on_test_*``                         the ``test`` points, as for validation
``on_save_checkpoint``                ``before_save_checkpoint(checkpoint)``
``on_load_checkpoint``                ``after_load_checkpoint(checkpoint)``
====================================  ===============================================================

``batch_idx`` is MMEngine's: the global ``runner.iter`` for an iteration-based loop, the index in
the epoch for an epoch-based one. Sanity-check validation (Lightning only) calls nothing.
``outputs`` of ``after_train_iter`` is a dict of detached tensors (``{'loss': ...}`` plus any other
scalar the ``training_step`` returned), as MMEngine's ``log_vars``; ``metrics`` of
``after_val_epoch`` are the epoch-level values logged during that validation.

:class:`HookCallback` wraps a user's :class:`~lightning_runtime.hooks.Hook`;
:class:`CallbackHook` is the base of the built-in callbacks, which are Hooks and Callbacks at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional, Union

import torch
from lightning.pytorch import Callback

from lightning_runtime.runtime._progress import train_epoch, train_iter
from lightning_runtime.hooks._dispatch import flat_callbacks
from lightning_runtime.hooks._facade import LoopState, RunnerFacade, stop_after_epoch
from lightning_runtime.hooks._hook import Hook

__all__ = ["HookDriver", "HookCallback", "CallbackHook", "normalize_outputs", "eval_metrics"]


def normalize_outputs(outputs: Any, trainer: Any = None, ctx: Any = None) -> Optional[dict]:
    """Lightning's ``training_step`` outputs as MMEngine's ``log_vars`` (scalars, detached).

    Lightning divides the loss by ``accumulate_grad_batches`` before handing it to callbacks;
    that is undone so the logged loss is the one ``training_step`` computed, as MMEngine logs it.
    Under the Runtime, pass its run context (``ctx``): the divisor of the last partial window is
    kept there.
    """
    if outputs is None:
        return None
    if isinstance(outputs, torch.Tensor):
        outputs = {"loss": outputs}
    if not isinstance(outputs, Mapping):
        return None
    out: dict[str, Any] = {}
    for key, value in outputs.items():
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            out[str(key)] = value.detach()
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[str(key)] = value
    # Under the Runtime the divisor of the last partial window is the remainder, not k (MMEngine's
    # OptimWrapper.scale_loss); runtime/_loops records the one it used in the run context.
    k = getattr(ctx, "loss_divisor", None) or getattr(trainer, "accumulate_grad_batches", 1) or 1
    if k != 1 and "loss" in out:
        out["loss"] = out["loss"] * k
    return out


#: ``(outputs, divisor, log_vars)`` of the last :func:`_shared_log_vars` call.
_LAST_LOG_VARS: list[Any] = [None, None, None]


def _shared_log_vars(outputs: Any, trainer: Any, ctx: Any) -> Optional[dict]:
    """:func:`normalize_outputs` once per training batch: every hook's ``after_train_iter`` gets the same dict.

    As in MMEngine, where the loop hands one ``outputs`` dict to every hook. Lightning hands every
    callback the same ``outputs`` object, which identifies the batch (the cache holds it, so its
    identity cannot be reused while cached).
    """
    k = getattr(ctx, "loss_divisor", None) or getattr(trainer, "accumulate_grad_batches", 1) or 1
    last = _LAST_LOG_VARS
    if outputs is not None and last[0] is outputs and last[1] == k:
        return last[2]
    log_vars = normalize_outputs(outputs, trainer, ctx)
    last[:] = [outputs, k, log_vars]
    return log_vars


def eval_metrics(trainer: Any) -> dict[str, Any]:
    """Epoch-level values logged during the validation/test run now ending (floats)."""
    metrics: dict[str, Any] = {}
    from lightning_runtime.runtime._lightning_compat import logged_eval_metrics

    found = logged_eval_metrics(trainer)
    if found is None:  # pragma: no cover - not readable: fall back to callback_metrics
        found = dict(trainer.callback_metrics)
    for key, value in found.items():
        if isinstance(value, torch.Tensor):
            value = value.item() if value.numel() == 1 else value
        metrics[key] = value
    return metrics


class HookDriver(Callback):
    """Calls MMEngine hook points on :meth:`_target` at MMEngine's moments (see module doc).

    Subclasses define ``_target()``. The run context (``bind_context``) is optional.
    """

    priority: Union[int, str] = "NORMAL"

    def __init__(self) -> None:
        self._ctx: Any = None
        self._state = LoopState()
        self._runner: Optional[RunnerFacade] = None
        self._ran = False
        self._train_epoch_started = False
        self._skip_iter: frozenset[str] = frozenset()

    # ------------------------------------------------------------------ plumbing
    def bind_context(self, ctx: Any) -> None:
        """Receive the runtime's :class:`~lightning_runtime.runtime._context.RunContext`."""
        self._ctx = ctx

    def _target(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def runner(self) -> RunnerFacade:
        """The facade handed to the hook (available from ``setup`` on)."""
        if self._runner is None:
            raise RuntimeError("the runner facade exists once the Trainer has called setup()")
        return self._runner

    def _call(self, name: str, **kwargs: Any) -> None:
        getattr(self._target(), name)(self._runner, **kwargs)

    def _ensure_before_run(self) -> None:
        if not self._ran:
            self._ran = True
            self._call("before_run")

    def _end_run(self) -> None:
        if self._ran:
            self._call("after_run")
            self._ran = False

    def _batch_idx(self, trainer: Any, batch_idx: int) -> int:
        return batch_idx if self._state.by_epoch else train_iter(trainer)

    def _in_priority_order(self, trainer: Any, *phases: Any) -> None:
        """Run each phase (``phase(driver)``) for every driver of the Trainer before the next phase.

        MMEngine calls one hook point on all hooks, then the next point: ``after_val_epoch`` of
        every hook before any ``after_val``. Lightning calls each callback's ``on_validation_end``
        in turn, so the first driver in ``trainer.callbacks`` (the priority order; drivers packed in
        a ``HookDispatcher`` at its place) runs the phases for all of them and the others do nothing.
        """
        drivers = [cb for cb in flat_callbacks(trainer) if isinstance(cb, HookDriver)]
        if self not in drivers:
            drivers = [self]
        elif drivers[0] is not self:
            return
        for phase in phases:
            for driver in drivers:
                phase(driver)

    def _end_train_epoch(self, trainer: Any) -> None:
        if self._state.epoch_ended_at != train_epoch(trainer):
            self._call("after_train_epoch")
            self._state.epoch_ended_at = train_epoch(trainer)
            stop_after_epoch(trainer)  # a stop_training set during the epoch (MMEngine: between epochs)

    # ------------------------------------------------------------------ setup
    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        loop = getattr(self._ctx, "train_loop", None) if self._ctx is not None else None
        if loop is not None:
            by_epoch = bool(loop.by_epoch)
            max_iters = None if by_epoch else loop.max_iters
            max_epochs = loop.max_epochs if by_epoch else None
        else:
            by_epoch = trainer.max_steps is None or trainer.max_steps < 0
            max_iters = max_epochs = None
        self._state = LoopState(by_epoch=by_epoch, max_iters=max_iters, max_epochs=max_epochs)
        self._runner = RunnerFacade(trainer, self._ctx, self._state)
        self._ran = False
        self._train_epoch_started = False
        self._skip_iter = self._no_op_iter_points()

    def _no_op_iter_points(self) -> frozenset[str]:
        """``before_train_iter`` / ``after_train_iter`` when the target leaves them as ``Hook``'s no-ops.

        Those are not called (they would do nothing); every other point always is.
        """
        target = self._target()
        triggered = getattr(target, "get_triggered_stages", None)
        if not callable(triggered):
            return frozenset()
        stages = set(triggered())
        return frozenset(p for p in ("before_train_iter", "after_train_iter")
                         if p not in stages and p not in vars(target))

    # ------------------------------------------------------------------ fit
    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        self._state.before_first_batch = True
        self._ensure_before_run()

    def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
        self._end_run()

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        self._call("before_train")

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        def end_epoch(d: HookDriver) -> None:
            if not d._state.by_epoch and d._train_epoch_started:
                d._call("after_train_epoch")

        self._in_priority_order(trainer, end_epoch, lambda d: d._call("after_train"))
        _LAST_LOG_VARS[:] = [None, None, None]  # let the last batch's tensors go

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        if self._state.by_epoch or not self._train_epoch_started:
            self._call("before_train_epoch")
        self._train_epoch_started = True

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        if self._state.by_epoch:
            self._end_train_epoch(trainer)

    def on_train_batch_start(self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int) -> None:
        if not self._train_epoch_started and not self._state.by_epoch:
            # Resumed in the middle of a pass: Lightning skips on_train_epoch_start, MMEngine's
            # IterBasedTrainLoop still calls before_train_epoch (for every hook, first).
            self._in_priority_order(trainer, HookDriver._start_missed_epoch)
        self._state.before_first_batch = False
        if "before_train_iter" not in self._skip_iter:
            self._call("before_train_iter", batch_idx=self._batch_idx(trainer, batch_idx), data_batch=batch)

    def _start_missed_epoch(self) -> None:
        if not self._train_epoch_started:
            self._train_epoch_started = True
            self._state.before_first_batch = False  # the epoch loop has reset: runner.iter is right
            self._call("before_train_epoch")

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        if "after_train_iter" in self._skip_iter:
            return
        self._call(
            "after_train_iter",
            batch_idx=self._batch_idx(trainer, batch_idx),
            data_batch=batch,
            outputs=_shared_log_vars(outputs, trainer, self._ctx),
        )

    # ------------------------------------------------------------------ validation
    def on_validation_start(self, trainer: Any, pl_module: Any) -> None:
        if trainer.sanity_checking:
            return

        def start(d: HookDriver) -> None:
            if trainer.state.fn == "fit":
                if d._state.by_epoch and trainer.fit_loop.epoch_loop.batch_progress.is_last_batch:
                    d._end_train_epoch(trainer)
            else:
                d._ensure_before_run()

        self._in_priority_order(trainer, start, lambda d: d._call("before_val"))

    def on_validation_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        if not trainer.sanity_checking:
            self._call("before_val_epoch")

    def on_validation_batch_start(
        self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        if not trainer.sanity_checking:
            self._call("before_val_iter", batch_idx=batch_idx, data_batch=batch)

    def on_validation_batch_end(
        self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        if not trainer.sanity_checking:
            self._call("after_val_iter", batch_idx=batch_idx, data_batch=batch, outputs=outputs)

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        if trainer.sanity_checking:
            return
        metrics = eval_metrics(trainer)
        self._in_priority_order(
            trainer,
            lambda d: d._call("after_val_epoch", metrics=metrics),
            lambda d: d._call("after_val"),
            lambda d: d._end_run() if trainer.state.fn == "validate" else None,
        )

    # ------------------------------------------------------------------ test
    def on_test_start(self, trainer: Any, pl_module: Any) -> None:
        self._ensure_before_run()
        self._call("before_test")

    def on_test_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        self._call("before_test_epoch")

    def on_test_batch_start(
        self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        self._call("before_test_iter", batch_idx=batch_idx, data_batch=batch)

    def on_test_batch_end(
        self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        self._call("after_test_iter", batch_idx=batch_idx, data_batch=batch, outputs=outputs)

    def on_test_end(self, trainer: Any, pl_module: Any) -> None:
        metrics = eval_metrics(trainer)
        self._in_priority_order(
            trainer,
            lambda d: d._call("after_test_epoch", metrics=metrics),
            lambda d: d._call("after_test"),
            lambda d: d._end_run(),
        )

    # ------------------------------------------------------------------ checkpoints
    def on_save_checkpoint(self, trainer: Any, pl_module: Any, checkpoint: dict) -> None:
        self._call("before_save_checkpoint", checkpoint=checkpoint)

    def on_load_checkpoint(self, trainer: Any, pl_module: Any, checkpoint: dict) -> None:
        if self._runner is None:
            return
        self._in_priority_order(  # every hook's before_run, then every hook's after_load_checkpoint
            trainer,
            lambda d: d._ensure_before_run() if d._runner is not None else None,
            lambda d: d._call("after_load_checkpoint", checkpoint=checkpoint) if d._runner is not None else None,
        )


class HookCallback(HookDriver):
    """Run an MMEngine-style :class:`Hook` unchanged inside a Lightning Trainer.

    Args:
        hook: The hook instance.
        priority: Overrides ``hook.priority`` (name or int).

    Example:
        >>> cb = HookCallback(Hook(), priority="ABOVE_NORMAL")
        >>> cb.priority, cb.hook.priority
        ('ABOVE_NORMAL', 'ABOVE_NORMAL')
    """

    def __init__(self, hook: Hook, priority: Union[int, str, None] = None) -> None:
        super().__init__()
        if not isinstance(hook, Hook):
            raise TypeError(
                f"HookCallback wraps a lightning_runtime.hooks.Hook, got {type(hook).__name__}; "
                "a Lightning Callback goes into Trainer(callbacks=...) directly"
            )
        self.hook = hook
        if priority is not None:
            hook.priority = priority
        self.priority = hook.priority

    def _target(self) -> Any:
        return self.hook

    @property
    def state_key(self) -> str:
        return self._generate_state_key(hook=type(self.hook).__qualname__)

    def bind_context(self, ctx: Any) -> None:
        super().bind_context(ctx)
        if hasattr(self.hook, "bind_context"):
            self.hook.bind_context(ctx)

    def __repr__(self) -> str:
        return f"HookCallback({type(self.hook).__name__}, priority={self.priority!r})"


class CallbackHook(Hook, HookDriver):
    """Base of the built-in callbacks: a :class:`Hook` that drives itself (MMEngine code inside)."""

    def __init__(self) -> None:
        HookDriver.__init__(self)

    def _target(self) -> Any:
        return self
