"""MMEngine's loop counters read off a Lightning Trainer.

MMEngine counts *iterations* (batches, micro-batches under gradient accumulation); Lightning's
``global_step`` counts optimizer steps. Every callback that needs ``runner.iter`` reads it here, so
the mapping lives in one place.

``train_iter(trainer)`` is MMEngine's ``runner.iter``: the number of training iterations completed.
Inside a batch (``on_train_batch_start`` ... ``on_train_batch_end``) it is the index of the current
iteration, exactly as ``runner.iter`` is inside ``before_train_iter`` / ``after_train_iter``; after
the batch (e.g. during iteration-based validation) it is one more, as in MMEngine's
``after_val_epoch``.

Order inside one Lightning batch (2.6), which the callbacks rely on::

    on_train_batch_start -> training_step/optimizer step -> batch_progress.processed += 1
    -> Lightning steps 'step'-interval lr schedulers (not on accumulation batches)
    -> on_train_batch_end -> batch_progress.completed += 1
"""

from __future__ import annotations

from typing import Any

__all__ = ["train_iter", "train_iters_processed", "train_epoch"]


def _total(trainer: Any) -> Any:
    return trainer.fit_loop.epoch_loop.batch_progress.total


def train_iter(trainer: Any) -> int:
    """MMEngine's ``runner.iter``: completed training iterations (batches)."""
    return int(_total(trainer).completed)


def train_iters_processed(trainer: Any) -> int:
    """Training iterations whose optimizer work is done (``completed`` + the batch ending now).

    In ``on_train_batch_end`` this is ``train_iter(trainer) + 1``: the iteration count MMEngine's
    ParamSchedulerHook has reached after stepping in ``after_train_iter``.
    """
    return int(_total(trainer).processed)


def train_epoch(trainer: Any) -> int:
    """MMEngine's ``runner.epoch``: completed training epochs."""
    return int(trainer.fit_loop.epoch_progress.current.completed)
