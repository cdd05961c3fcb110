"""``train_cfg`` / ``val_cfg`` / ``test_cfg``: MMEngine's loops on Lightning's fit loop.

MMEngine counts *iterations* (batches, also under gradient accumulation) and validates at
exactly these points (``mmengine/runner/loops.py``)::

    IterBasedTrainLoop:  after iteration i (1-based):  i >= val_begin and (i % val_interval == 0 or i == max_iters)
    EpochBasedTrainLoop: after epoch e (1-based):      e >= val_begin and (e % val_interval == 0 or e == max_epochs)

with ``val_interval`` re-decided after each iteration/epoch from ``dynamic_intervals`` (a bisect on
``i + 1`` / ``e + 1``, MMEngine's own off-by-one kept). Lightning's ``val_check_interval`` cannot
express ``val_begin`` nor ``dynamic_intervals``, so :class:`LoopControl` installs that rule as the
epoch loop's validation predicate and stops training after ``max_iters`` batches (Lightning's
``max_steps`` counts optimizer steps, not batches).

Example:
    >>> spec = parse_train_cfg(dict(type='IterBasedTrainLoop', max_iters=10, val_interval=4))
    >>> [i for i in range(1, 11) if should_validate(spec, iters=i)]
    [4, 8, 10]
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.callbacks import Callback

from lightning_runtime.runtime import _lightning_compat as compat
from lightning_runtime.runtime._context import LoopSpec, RunContext
from lightning_runtime.errors import ConfigError, check_int, check_keys, check_mapping, did_you_mean
from lightning_runtime.runtime._progress import train_epoch, train_iter, train_iters_processed

__all__ = [
    "parse_train_cfg",
    "check_eval_cfg",
    "should_validate",
    "loop_trainer_kwargs",
    "LoopControl",
]

_ITER_KEYS = ("type", "max_iters", "val_begin", "val_interval", "dynamic_intervals")
_EPOCH_KEYS = ("type", "max_epochs", "val_begin", "val_interval", "dynamic_intervals")
_LOOP_TYPES = ("IterBasedTrainLoop", "EpochBasedTrainLoop")
_EVAL_LOOPS = {"val_cfg": ("ValLoop",), "test_cfg": ("TestLoop",)}


def _int(value: Any, path: str, minimum: int = 0) -> int:
    return check_int(value, path, minimum=minimum)


def parse_train_cfg(train_cfg: Mapping[str, Any] | None, *, path: str = "train_cfg") -> LoopSpec | None:
    """Read ``train_cfg`` into a :class:`~lightning_runtime.runtime._context.LoopSpec`.

    Accepts ``type='IterBasedTrainLoop'|'EpochBasedTrainLoop'`` (scoped names such as
    ``'mmengine.IterBasedTrainLoop'`` too) or MMEngine's ``by_epoch=True/False`` shorthand.
    """
    if train_cfg is None:
        return None
    cfg = dict(check_mapping(train_cfg, path, example="dict(type='IterBasedTrainLoop', max_iters=80000, val_interval=8000)"))
    if "type" in cfg and "by_epoch" in cfg:
        raise ConfigError(
            "only one of 'type' or 'by_epoch' may be given (as in MMEngine)", path=path, fix="remove 'by_epoch'"
        )
    if "type" in cfg:
        loop_type = str(cfg["type"]).rpartition(".")[2] if isinstance(cfg["type"], str) else repr(cfg["type"])
        if loop_type not in _LOOP_TYPES:
            raise ConfigError(
                f"unknown training loop {cfg['type']!r}",
                path=f"{path}.type",
                candidates=did_you_mean(loop_type, _LOOP_TYPES),
                fix="use IterBasedTrainLoop or EpochBasedTrainLoop (custom loops are not supported on Lightning)",
            )
        by_epoch = loop_type == "EpochBasedTrainLoop"
    else:
        by_epoch = cfg.pop("by_epoch", True)
        if not isinstance(by_epoch, bool):
            raise ConfigError(f"must be True or False, got {by_epoch!r}", path=f"{path}.by_epoch",
                              fix="write by_epoch=True (epochs) or by_epoch=False (iterations), or use type=...")
    keys = _EPOCH_KEYS if by_epoch else _ITER_KEYS
    check_keys(cfg, keys, path, what=f"{'EpochBasedTrainLoop' if by_epoch else 'IterBasedTrainLoop'} argument")
    limit_key = "max_epochs" if by_epoch else "max_iters"
    if limit_key not in cfg:
        raise ConfigError(f"missing {limit_key!r}", path=path, fix=f"add {limit_key}=... to train_cfg")
    limit = _int(cfg[limit_key], f"{path}.{limit_key}", 1)
    val_interval = _int(cfg.get("val_interval", 1 if by_epoch else 1000), f"{path}.val_interval", 1)
    val_begin = _int(cfg.get("val_begin", 1), f"{path}.val_begin", 0)
    dyn_raw = cfg.get("dynamic_intervals")
    if dyn_raw is None:
        dyn_raw = ()
    if not isinstance(dyn_raw, (list, tuple)):
        raise ConfigError(
            f"expected a list of (milestone, interval) pairs, got {type(dyn_raw).__name__} {dyn_raw!r}",
            path=f"{path}.dynamic_intervals",
            fix="write dynamic_intervals=[(milestone, interval), ...], e.g. [(4000, 500)], or remove it",
        )
    dynamic: list[tuple[int, int]] = []
    for i, item in enumerate(dyn_raw):
        if not isinstance(item, (list, tuple)) or len(item) != 2:
            raise ConfigError(
                f"expected (milestone, interval), got {item!r}", path=f"{path}.dynamic_intervals[{i}]",
                fix="write each entry as a pair (milestone, interval), e.g. (4000, 500)",
            )
        dynamic.append(
            (_int(item[0], f"{path}.dynamic_intervals[{i}][0]"), _int(item[1], f"{path}.dynamic_intervals[{i}][1]", 1))
        )
    if [m for m, _ in dynamic] != sorted(m for m, _ in dynamic):
        raise ConfigError("milestones must be increasing", path=f"{path}.dynamic_intervals",
                          fix="sort the (milestone, interval) pairs by milestone")
    return LoopSpec(
        by_epoch=by_epoch,
        max_iters=None if by_epoch else limit,
        max_epochs=limit if by_epoch else None,
        val_interval=val_interval,
        val_begin=val_begin,
        dynamic_intervals=tuple(dynamic),
    )


def check_eval_cfg(name: str, cfg: Mapping[str, Any] | None) -> bool:
    """Validate ``val_cfg`` / ``test_cfg`` (``ValLoop`` / ``TestLoop``, ``fp16``); True when fp16 is asked."""
    if cfg is None:
        return False
    check_mapping(cfg, name, example=f"dict(type={_EVAL_LOOPS[name][0]!r})")
    allowed = _EVAL_LOOPS[name]
    loop_type = str(cfg.get("type", allowed[0])).rpartition(".")[2]
    if loop_type not in allowed:
        raise ConfigError(
            f"unknown loop {cfg.get('type')!r}", path=f"{name}.type", candidates=did_you_mean(loop_type, allowed),
            fix=f"use type={allowed[0]!r} (custom loops are not supported on Lightning)",
        )
    check_keys(cfg, ("type", "fp16"), name, what=f"{loop_type} argument",
               fix=lambda key: f"remove {key!r} (a {loop_type} takes only fp16)")
    fp16 = cfg.get("fp16", False)
    if not isinstance(fp16, bool):
        raise ConfigError(f"must be True or False, got {fp16!r}", path=f"{name}.fp16", fix="write fp16=True or fp16=False")
    return fp16


def _interval_after(spec: LoopSpec, count: int) -> int:
    """MMEngine's ``_decide_current_val_interval`` after ``count`` iterations/epochs."""
    milestones = [0] + [m for m, _ in spec.dynamic_intervals]
    intervals = [spec.val_interval] + [iv for _, iv in spec.dynamic_intervals]
    return intervals[bisect.bisect(milestones, count + 1) - 1]


def should_validate(spec: LoopSpec, *, iters: int | None = None, epochs: int | None = None) -> bool:
    """MMEngine's rule: validate after ``iters`` iterations (iteration loop) or ``epochs`` epochs."""
    count = epochs if spec.by_epoch else iters
    limit = spec.max_epochs if spec.by_epoch else spec.max_iters
    if count is None:
        raise ValueError("pass epochs= for an epoch-based loop, iters= for an iteration-based one")
    interval = _interval_after(spec, count)
    return count >= spec.val_begin and (count % interval == 0 or count == limit)


def loop_trainer_kwargs(spec: LoopSpec | None, *, validate: bool, accumulative_counts: int = 1) -> dict[str, Any]:
    """Trainer arguments for the loop. Validation timing itself is :class:`LoopControl`'s job.

    Iteration-based: ``max_steps=max_iters`` without accumulation (one optimizer step per
    batch); with accumulation Lightning's ``max_steps`` would count optimizer steps, so it is left
    unlimited and :class:`LoopControl` stops after ``max_iters`` batches.
    """
    kwargs: dict[str, Any] = {"num_sanity_val_steps": 0}
    if spec is None:
        return kwargs
    if spec.by_epoch:
        kwargs.update(max_epochs=spec.max_epochs, max_steps=-1)
    else:
        kwargs.update(max_epochs=-1, max_steps=spec.max_iters if accumulative_counts == 1 else -1)
    # Lightning's own cadence is replaced by LoopControl; these values keep its checks quiet.
    kwargs.update(check_val_every_n_epoch=1 if spec.by_epoch else None, val_check_interval=1.0 if spec.by_epoch else 1)
    if not validate:
        kwargs["limit_val_batches"] = 0
    return kwargs


class LoopControl(Callback):
    """Runs validation at MMEngine's iterations/epochs and stops after ``max_iters`` batches.

    Under gradient accumulation (``accumulative_counts=k``) of an iteration-based loop it also
    gives the last partial window MMEngine's loss factor (``OptimWrapper.scale_loss``): with
    ``r = max_iters % k``, the losses of the last ``r`` iterations are divided by ``r``, not by
    ``k``. (The windows themselves cross dataloader passes because the runtime hands Lightning
    one epoch of ``max_iters`` batches, see ``runtime/_data``; Lightning steps the optimizer when
    ``iteration % k == 0`` and at the epoch's last batch, which is MMEngine's ``should_update``.)
    For an epoch-based loop the windows are counted over the whole run too (they cross epoch
    ends, gradients carried over), with ``max_iters = max_epochs * len(train_dataloader)``: the
    epoch loop's ``_should_accumulate`` and zero-grad are replaced on the trainer (see
    :func:`_install_global_windows`), and the same last-window factor applies.

    Args:
        spec: The loop (:func:`parse_train_cfg`).
        accumulative_counts: ``optim_wrapper.accumulative_counts``.

    Attributes:
        validated_at: ``runner.iter`` (iteration loop) or ``runner.epoch`` (epoch loop) at each
            validation this callback triggered, for inspection.
    """

    def __init__(self, spec: LoopSpec, accumulative_counts: int = 1, ctx: RunContext | None = None) -> None:
        self.spec = spec
        self.accumulative_counts = accumulative_counts
        self.ctx = ctx
        self.validated_at: list[int] = []

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage != "fit":
            return
        # The one predicate Lightning asks "validate now?"; replaced by MMEngine's rule.
        compat.set_val_check_predicate(trainer, self._make_predicate(trainer))
        k, spec = self.accumulative_counts, self.spec
        if not spec.by_epoch and spec.max_iters is not None and k > 1 and spec.max_iters % k:
            max_iters = spec.max_iters
            compat.set_loss_divisor(trainer, _last_window_divisor(trainer, k, lambda: max_iters, self.ctx))
        elif spec.by_epoch and spec.max_epochs is not None and k > 1:
            max_epochs = spec.max_epochs
            _install_global_windows(trainer, k, max_epochs)
            compat.set_loss_divisor(trainer, _last_window_divisor(
                trainer, k, lambda: _epoch_max_iters(trainer, max_epochs), self.ctx))

    def _make_predicate(self, trainer: pl.Trainer) -> Any:
        spec = self.spec

        def should_check_val(data_fetcher: Any = None) -> bool:
            if not trainer.enable_validation:
                return False
            if spec.by_epoch:
                if not compat.num_ready_batches_reached(trainer):
                    return False
                count = train_epoch(trainer) + 1
                due = should_validate(spec, epochs=count)
            else:
                count = train_iter(trainer)
                due = should_validate(spec, iters=count)
            if due and not trainer.fit_loop.epoch_loop.restarting:
                self.validated_at.append(count)
            return due

        return should_check_val

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if not self.spec.by_epoch and self.spec.max_iters is not None:
            if train_iters_processed(trainer) >= self.spec.max_iters:
                trainer.should_stop = True

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int) -> None:
        # A resumed run that already reached max_iters trains nothing more, as MMEngine. (Lightning
        # ignores what a Callback's hook returns: only the module's -1 skips the epoch.)
        if not self.spec.by_epoch and self.spec.max_iters is not None and train_iter(trainer) >= self.spec.max_iters:
            trainer.should_stop = True


def _epoch_max_iters(trainer: pl.Trainer, max_epochs: int) -> int | None:
    """MMEngine's ``max_iters`` of an epoch loop: ``max_epochs * len(train_dataloader)`` (None if unsized)."""
    per_epoch = trainer.num_training_batches
    if not isinstance(per_epoch, int) or per_epoch <= 0:
        return None
    return max_epochs * per_epoch


def _install_global_windows(trainer: pl.Trainer, k: int, max_epochs: int) -> None:
    """Epoch loops: MMEngine's accumulation windows, counted over the whole run, not per epoch.

    MMEngine's ``EpochBasedTrainLoop`` calls ``initialize_count_status(model, iter, max_iters)``
    with ``max_iters = max_epochs * len(train_dataloader)``, so ``should_update`` is
    ``(iter + 1) % k == 0 or iter + 1 == max_iters`` with ``iter`` the global iteration: windows
    run across epoch ends (gradients carried over). Lightning's ``_should_accumulate`` counts
    batches of the current epoch and steps at every epoch's last batch, and its zero-grad before
    a window's first backward uses the in-epoch ``batch_idx``; both are replaced on this trainer.
    """
    epoch_loop = trainer.fit_loop.epoch_loop

    def should_accumulate() -> bool:
        if trainer.strategy.handles_gradient_accumulation:
            return not compat.accumulated_batches_reached(trainer)
        done = int(epoch_loop.batch_progress.total.ready)  # iterations including the current one
        if done % k == 0:
            return False
        # the very last iteration of training closes the last (partial) window
        last_epoch = int(trainer.current_epoch) + 1 >= max_epochs
        return not (last_epoch and compat.num_ready_batches_reached(trainer))

    def zero_grad_due() -> bool:
        # Lightning zeroes before the first backward of a window: at global iteration % k == 0.
        return (int(epoch_loop.batch_progress.total.ready) - 1) % k == 0

    compat.install_accumulation(trainer, should_accumulate, zero_grad_due)


def _last_window_divisor(trainer: pl.Trainer, k: int, max_iters_fn: Callable[[], int | None],
                         ctx: RunContext | None) -> Callable[[int], int]:
    """MMEngine's loss factor for the last partial window, as a divisor of each training loss.

    Lightning divides each loss by ``trainer.accumulate_grad_batches`` (``normalize``); MMEngine's
    ``OptimWrapper.scale_loss`` divides by ``r = max_iters % k`` from iteration ``max_iters - r``
    (0-based) on. The divisor used is recorded in ``ctx.loss_divisor`` so that the hooks log the
    undivided loss (``hooks.normalize_outputs``).
    """

    def divisor(normalize: int) -> int:
        max_iters = max_iters_fn()
        if normalize == k and max_iters is not None and max_iters % k:
            if train_iter(trainer) >= max_iters - max_iters % k:
                normalize = max_iters % k
        if ctx is not None:
            ctx.loss_divisor = normalize
        return normalize

    return divisor
