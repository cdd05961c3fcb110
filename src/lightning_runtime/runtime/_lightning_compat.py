"""Every private Lightning touchpoint of the package, behind small named functions.

Written for and tested with Lightning 2.6.0 and 2.6.6 (the oldest and the newest release of the
supported range ``lightning>=2.6,<2.7``; CI runs the suite on the newest and a subset on the
oldest, ``scripts/test_lightning_oldest.sh``). Lightning 2.5 lacks ``EMAWeightAveraging`` (the
EMA hook is built on it). Importing this module with a Lightning outside the range raises an
ImportError that names the installed version, the range and the ``pip install`` that fixes it
(``LIGHTNING_RUNTIME_SKIP_VERSION_CHECK=1`` skips the check, to try a new release at one's own risk).

What the runtime needs that Lightning has no public API for, and where it is used:

* the fit loop's "validate now?" predicate (``_TrainingEpochLoop._should_check_val_fx``) and its
  batch counters, for MMEngine's validation cadence (``runtime/_loops``);
* the loss divisor of the automatic optimization's closure result (``output_result_cls``), for
  MMEngine's factor of the last partial accumulation window (``runtime/_loops``);
* the epoch loop's accumulation test and zero-grad (``_should_accumulate``,
  ``_make_zero_grad_fn``), for windows that run across epoch ends (``runtime/_loops``), and that
  test read for a checkpoint's unfinished-window gradients (``checkpoint/_state``);
* the fit loop's train-data source and combined loader (``_data_source``, ``_combined_loader``,
  ``_load_combined_loader_states``), for MMEngine's chained passes and exact resume (``runtime/_data``);
* ``DistributedSamplerWrapper`` (moved to ``lightning.fabric.utilities.distributed``), the sampler
  it wraps and ``_auto_add_worker_init_fn`` (``runtime/_data``);
* the logged results of an evaluation run (``trainer._results``, the val loop's ``_results``),
  for ``after_val_epoch(metrics=...)`` (``hooks/_adapter``) and ``save_best='auto'``
  (``callbacks/checkpoint``);
* a LightningModule's trainer when it may have none (``module._trainer``, ``runtime/_runtime``).

No other module of the package reads or patches a private Lightning attribute
(``tests/test_lightning_compat.py`` scans ``src/`` for it).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import lightning

__all__ = [
    "SUPPORTED_RANGE",
    "check_lightning_version",
    "set_val_check_predicate",
    "num_ready_batches_reached",
    "accumulated_batches_reached",
    "should_accumulate",
    "set_loss_divisor",
    "install_accumulation",
    "install_train_data_wrapper",
    "remove_train_data_wrapper",
    "load_train_loader_states",
    "train_combined_loader",
    "DistributedSamplerWrapper",
    "unforwarded_set_epoch_sampler",
    "auto_add_worker_init_fn",
    "logged_eval_metrics",
    "val_logged_names",
    "attached_trainer",
]

#: ``(lowest, first unsupported)``: the releases this module was written and tested for.
SUPPORTED_RANGE = ("2.6", "2.7")
_SKIP_ENV = "LIGHTNING_RUNTIME_SKIP_VERSION_CHECK"


def check_lightning_version(version: str) -> None:
    """Raise ImportError unless ``version`` (major.minor) is in ``[SUPPORTED_RANGE[0], SUPPORTED_RANGE[1])``.

    Example:
        >>> check_lightning_version("2.6.3")
        >>> check_lightning_version("2.5.6")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ImportError: lightning_runtime supports lightning>=2.6,<2.7 but lightning 2.5.6 is installed
    """
    def minor(v: str) -> tuple[int, int]:
        match = re.match(r"(\d+)\.(\d+)", v)
        return (int(match.group(1)), int(match.group(2))) if match else (0, 0)

    if minor(SUPPORTED_RANGE[0]) <= minor(version) < minor(SUPPORTED_RANGE[1]):
        return
    spec = f"lightning>={SUPPORTED_RANGE[0]},<{SUPPORTED_RANGE[1]}"
    raise ImportError(
        f"lightning_runtime supports {spec} but lightning {version} is installed: it patches Lightning "
        f"internals that change between minor releases. Install a supported release with "
        f"`pip install '{spec}'` (or set {_SKIP_ENV}=1 to try this one at your own risk)."
    )


if not os.environ.get(_SKIP_ENV):
    check_lightning_version(lightning.__version__)

# Imported after the check: a release outside the range may not have them.
from lightning.fabric.utilities.data import _auto_add_worker_init_fn  # noqa: E402
from lightning.fabric.utilities.distributed import DistributedSamplerWrapper  # noqa: E402
from lightning.pytorch.trainer.connectors.data_connector import _DataLoaderSource  # noqa: E402


# ---------------------------------------------------------------------------- the training epoch loop
def set_val_check_predicate(trainer: Any, predicate: Callable[..., bool]) -> None:
    """Make ``predicate(data_fetcher=None) -> bool`` the fit loop's one "validate now?" test."""
    trainer.fit_loop.epoch_loop._should_check_val_fx = predicate


def num_ready_batches_reached(trainer: Any) -> bool:
    """Whether the current batch is the last of the Lightning epoch."""
    return bool(trainer.fit_loop.epoch_loop._num_ready_batches_reached())


def accumulated_batches_reached(trainer: Any) -> bool:
    """Lightning's own window test: ``batch_progress.current.ready % accumulate_grad_batches == 0``."""
    return bool(trainer.fit_loop.epoch_loop._accumulated_batches_reached())


def should_accumulate(trainer: Any) -> bool:
    """Whether the current batch only accumulates (no optimizer step after it)."""
    return bool(trainer.fit_loop.epoch_loop._should_accumulate())


def set_loss_divisor(trainer: Any, divisor: Callable[[int], int]) -> None:
    """Divide each training loss by ``divisor(normalize)`` instead of Lightning's ``normalize``.

    Lightning's automatic optimization divides the ``training_step`` loss by ``normalize``
    (``trainer.accumulate_grad_batches``) when it builds the closure result.
    """
    optimization = trainer.fit_loop.epoch_loop.automatic_optimization
    base = optimization.output_result_cls

    class _DividedResult(base):  # type: ignore[misc, valid-type]
        @classmethod
        def from_training_step_output(cls, training_step_output: Any, normalize: int = 1) -> Any:
            return super().from_training_step_output(training_step_output, divisor(normalize))

    optimization.output_result_cls = _DividedResult


def install_accumulation(trainer: Any, should_accumulate: Callable[[], bool], zero_grad_due: Callable[[], bool]) -> None:
    """Replace the epoch loop's accumulation test and the moment gradients are zeroed.

    ``should_accumulate()``: the current batch only accumulates. ``zero_grad_due()``: zero the
    gradients before the current batch's backward (the first batch of a window).
    """
    epoch_loop = trainer.fit_loop.epoch_loop
    optimization = epoch_loop.automatic_optimization

    def make_zero_grad_fn(batch_idx: int, optimizer: Any) -> Callable[[], None] | None:
        if optimization._skip_backward or not zero_grad_due():
            return None

        def zero_grad() -> None:
            optimization._on_before_zero_grad(optimizer)
            optimization._optimizer_zero_grad(batch_idx, optimizer)

        return zero_grad

    epoch_loop._should_accumulate = should_accumulate
    optimization._make_zero_grad_fn = make_zero_grad_fn


# ---------------------------------------------------------------------------- the training data
@dataclass
class _WrappedSource(_DataLoaderSource):
    """Lightning's train-data source with a wrapper applied to what it returns."""

    wrap: Callable[[Any], Any] | None = None

    def dataloader(self) -> Any:
        data = super().dataloader()
        return self.wrap(data) if self.wrap is not None else data


def install_train_data_wrapper(trainer: Any, wrap: Callable[[Any], Any]) -> None:
    """Pass whatever gives the training data (fit argument, datamodule, module) through ``wrap``."""
    source = trainer.fit_loop._data_source
    if not isinstance(source, _WrappedSource):
        trainer.fit_loop._data_source = _WrappedSource(source.instance, source.name, wrap=wrap)


def remove_train_data_wrapper(trainer: Any) -> None:
    """Undo :func:`install_train_data_wrapper`."""
    source = trainer.fit_loop._data_source
    if isinstance(source, _WrappedSource):
        trainer.fit_loop._data_source = _DataLoaderSource(source.instance, source.name)


def load_train_loader_states(trainer: Any) -> None:
    """Restore a stateful train loader from the checkpoint being resumed (idempotent)."""
    trainer.fit_loop._load_combined_loader_states()


def train_combined_loader(trainer: Any) -> Any:
    """The fit loop's ``CombinedLoader`` (``None`` before its data is set up)."""
    return trainer.fit_loop._combined_loader


def unforwarded_set_epoch_sampler(sampler: Any) -> Any:
    """The user's sampler inside a :class:`DistributedSamplerWrapper` that needs ``set_epoch`` called
    on it directly, else ``None``.

    Later 2.6 releases (2.6.6) have the wrapper pass ``set_epoch`` on itself; 2.6.0 does not.
    """
    if not isinstance(sampler, DistributedSamplerWrapper) or "set_epoch" in vars(DistributedSamplerWrapper):
        return None
    inner = getattr(sampler.dataset, "_sampler", None)
    return inner if callable(getattr(inner, "set_epoch", None)) else None


def auto_add_worker_init_fn(loader: Any, rank: int) -> None:
    """Lightning's worker seeding (``seed_everything(workers=True)``) on a loader built here."""
    _auto_add_worker_init_fn(loader, rank)


# ---------------------------------------------------------------------------- logged results
def logged_eval_metrics(trainer: Any) -> dict[str, Any] | None:
    """Epoch-level values logged in the evaluation run now ending (``None``: not readable)."""
    results = getattr(trainer, "_results", None)
    if results is None:
        return {}
    try:
        return dict(results.metrics(False)["callback"])
    except Exception:  # pragma: no cover - nothing logged yet
        return None


def val_logged_names(trainer: Any) -> list[str]:
    """Names logged by the fit loop's validation (``"val_loop_key.name"`` keys, prefix dropped)."""
    results = getattr(trainer.fit_loop.epoch_loop.val_loop, "_results", None)
    keys = results.keys() if results is not None else []
    return [str(k).split(".", 1)[1] for k in keys if "." in str(k)]


def dump_checkpoint(trainer: Any) -> dict[str, Any]:
    """The checkpoint dict ``trainer.save_checkpoint`` would write (every ``on_save_checkpoint`` hook run), in memory."""
    return trainer._checkpoint_connector.dump_checkpoint(weights_only=False)


def attached_trainer(module: Any) -> Any:
    """The module's Trainer, or ``None`` (Lightning's ``module.trainer`` raises when there is none)."""
    return getattr(module, "_trainer", None)
