"""MMEngine's ``Hook`` base class: every hook point, MMEngine's helpers, no Lightning.

A subclass overrides the points it needs; the adapter callback
(:class:`~lightning_runtime.hooks._adapter.HookCallback`) calls them at MMEngine's moments with a
runner facade (:class:`~lightning_runtime.hooks._facade.RunnerFacade`) as ``runner``.

Example:
    >>> from lightning_runtime.hooks import Hook
    >>> class NewHook(Hook):
    ...     def __init__(self, a: int, b: int) -> None:
    ...         self.a, self.b = a, b
    ...     def before_train_iter(self, runner, batch_idx, data_batch=None):
    ...         runner.model.module.hyper_parameter = self.a * runner.iter + self.b
    >>> NewHook(1, 2).priority
    'NORMAL'
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

__all__ = ["Hook", "DATA_BATCH"]

# What the dataloader yields. MMEngine writes ``Optional[Union[dict, tuple, list]]``; ``Any`` here so
# that a user hook narrowing it (the tutorial's ``data_batch: Optional[Sequence[dict]] = None``) is
# a valid override for mypy.
DATA_BATCH = Any


class Hook:
    """Base class for MMEngine-style hooks. Each method is a no-op hook point.

    Attributes:
        priority: Default priority (``'NORMAL'``); a config's ``priority`` overrides it.
    """

    priority: Union[int, str] = "NORMAL"
    stages = (
        "before_run", "after_load_checkpoint", "before_train", "before_train_epoch",
        "before_train_iter", "after_train_iter", "after_train_epoch", "before_val",
        "before_val_epoch", "before_val_iter", "after_val_iter", "after_val_epoch", "after_val",
        "before_save_checkpoint", "after_train", "before_test", "before_test_epoch",
        "before_test_iter", "after_test_iter", "after_test_epoch", "after_test", "after_run",
    )

    # ------------------------------------------------------------------ run / loops
    def before_run(self, runner: Any) -> None:
        """Before the run (train, val or test) starts."""

    def after_run(self, runner: Any) -> None:
        """After the run ends."""

    def before_train(self, runner: Any) -> None:
        """Before training starts."""

    def after_train(self, runner: Any) -> None:
        """After training ends."""

    def before_val(self, runner: Any) -> None:
        """Before validation starts."""

    def after_val(self, runner: Any) -> None:
        """After validation ends."""

    def before_test(self, runner: Any) -> None:
        """Before testing starts."""

    def after_test(self, runner: Any) -> None:
        """After testing ends."""

    # ------------------------------------------------------------------ checkpoints
    def before_save_checkpoint(self, runner: Any, checkpoint: dict) -> None:
        """Before ``checkpoint`` (the dict about to be written) is saved; may edit it."""

    def after_load_checkpoint(self, runner: Any, checkpoint: dict) -> None:
        """After ``checkpoint`` has been loaded (resume)."""

    # ------------------------------------------------------------------ epochs
    def before_train_epoch(self, runner: Any) -> None:
        self._before_epoch(runner, mode="train")

    def before_val_epoch(self, runner: Any) -> None:
        self._before_epoch(runner, mode="val")

    def before_test_epoch(self, runner: Any) -> None:
        self._before_epoch(runner, mode="test")

    def after_train_epoch(self, runner: Any) -> None:
        self._after_epoch(runner, mode="train")

    def after_val_epoch(self, runner: Any, metrics: Optional[dict] = None) -> None:
        """After a validation epoch; ``metrics`` are the evaluation results."""
        self._after_epoch(runner, mode="val")

    def after_test_epoch(self, runner: Any, metrics: Optional[dict] = None) -> None:
        """After a test epoch; ``metrics`` are the evaluation results."""
        self._after_epoch(runner, mode="test")

    # ------------------------------------------------------------------ iterations
    def before_train_iter(self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None) -> None:
        self._before_iter(runner, batch_idx=batch_idx, data_batch=data_batch, mode="train")

    def before_val_iter(self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None) -> None:
        self._before_iter(runner, batch_idx=batch_idx, data_batch=data_batch, mode="val")

    def before_test_iter(self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None) -> None:
        self._before_iter(runner, batch_idx=batch_idx, data_batch=data_batch, mode="test")

    def after_train_iter(
        self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None, outputs: Optional[dict] = None
    ) -> None:
        self._after_iter(runner, batch_idx=batch_idx, data_batch=data_batch, outputs=outputs, mode="train")

    def after_val_iter(
        self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None, outputs: Optional[Sequence] = None
    ) -> None:
        self._after_iter(runner, batch_idx=batch_idx, data_batch=data_batch, outputs=outputs, mode="val")

    def after_test_iter(
        self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None, outputs: Optional[Sequence] = None
    ) -> None:
        self._after_iter(runner, batch_idx=batch_idx, data_batch=data_batch, outputs=outputs, mode="test")

    # ------------------------------------------------------------------ shared by modes
    def _before_epoch(self, runner: Any, mode: str = "train") -> None:
        """Every ``before_*_epoch`` point (override once for all modes)."""

    def _after_epoch(self, runner: Any, mode: str = "train") -> None:
        """Every ``after_*_epoch`` point."""

    def _before_iter(self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None, mode: str = "train") -> None:
        """Every ``before_*_iter`` point."""

    def _after_iter(
        self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None,
        outputs: Optional[Union[Sequence, dict]] = None, mode: str = "train",
    ) -> None:
        """Every ``after_*_iter`` point."""

    # ------------------------------------------------------------------ helpers (MMEngine's)
    def every_n_epochs(self, runner: Any, n: int, start: int = 0) -> bool:
        """True every ``n`` epochs from ``start`` (``runner.epoch + 1 - start`` divisible by n)."""
        dividend = runner.epoch + 1 - start
        return dividend % n == 0 if dividend >= 0 and n > 0 else False

    def every_n_inner_iters(self, batch_idx: int, n: int) -> bool:
        """True every ``n`` iterations of the current loop (``batch_idx + 1`` divisible by n)."""
        return (batch_idx + 1) % n == 0 if n > 0 else False

    def every_n_train_iters(self, runner: Any, n: int, start: int = 0) -> bool:
        """True every ``n`` training iterations from ``start``."""
        dividend = runner.iter + 1 - start
        return dividend % n == 0 if dividend >= 0 and n > 0 else False

    def end_of_epoch(self, dataloader: Any, batch_idx: int) -> bool:
        """True at the last batch of ``dataloader``."""
        return batch_idx + 1 == len(dataloader)

    def is_last_train_epoch(self, runner: Any) -> bool:
        return runner.epoch + 1 == runner.max_epochs

    def is_last_train_iter(self, runner: Any) -> bool:
        return runner.iter + 1 == runner.max_iters

    def get_triggered_stages(self) -> list[str]:
        """The stages this hook overrides (directly or through ``_before_epoch`` & co)."""
        stages: set[str] = set()
        for stage in Hook.stages:
            if _overridden(self, stage):
                stages.add(stage)
        shared = {
            "_before_epoch": ["before_train_epoch", "before_val_epoch", "before_test_epoch"],
            "_after_epoch": ["after_train_epoch", "after_val_epoch", "after_test_epoch"],
            "_before_iter": ["before_train_iter", "before_val_iter", "before_test_iter"],
            "_after_iter": ["after_train_iter", "after_val_iter", "after_test_iter"],
        }
        for method, mapped in shared.items():
            if _overridden(self, method):
                stages.update(mapped)
        return [s for s in Hook.stages if s in stages]


def _overridden(obj: Any, name: str) -> bool:
    return getattr(type(obj), name, None) is not getattr(Hook, name)
