"""``ParamSchedulerHook``: drives :class:`~lightning_runtime.schedulers.ParamSchedulerStack` per iteration.

MMEngine's ``ParamSchedulerHook`` steps iteration-based schedulers after every training iteration
(micro-batch, accumulation or not), epoch-based ones after every epoch, and feeds validation
metrics to ``ReduceOnPlateau``. Here the stack composes all of that; this callback only

* attaches its own iteration counter as the stack's clock, so ``step()`` means "advance to the
  iterations this hook has reached" and Lightning's own ``step()`` after optimizer steps (before
  any ``on_train_batch_end``) is a no-op;
* steps the stack in ``on_train_batch_end`` on *every* batch, at this hook's LOW place in the
  priority order: a NORMAL hook's ``after_train_iter`` still sees the lr iteration ``i`` used, a
  VERY_LOW one the lr of ``i + 1``, as in MMEngine. Under
  ``accumulate_grad_batches=k`` optimizer step ``s`` uses the value of iteration ``(s+1)k-1``
  exactly as in MMEngine, and ``begin``/``end`` keep counting batches;
* feeds ``trainer.callback_metrics`` to the stack after each validation (not the sanity check)
  when a ``ReduceOnPlateau*`` entry is configured; a metric that is never logged is a clear error.

Example:
    >>> from lightning_runtime.callbacks.param_scheduler import ParamSchedulerHook
    >>> ParamSchedulerHook.priority
    'LOW'
"""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities import rank_zero_warn

from lightning_runtime.runtime._progress import train_iters_processed
from lightning_runtime.registry import HOOKS
from lightning_runtime.schedulers import ParamSchedulerStack

__all__ = ["ParamSchedulerHook"]


def _metrics(trainer: pl.Trainer) -> dict[str, float]:
    """``callback_metrics`` as floats; ``'val/mIoU'`` is also reachable as ``'mIoU'``."""
    out: dict[str, float] = {}
    for key, value in trainer.callback_metrics.items():
        try:
            out[key] = float(value)
        except (TypeError, ValueError):
            continue
    for key in list(out):
        short = key.rsplit("/", 1)[-1]
        out.setdefault(short, out[key])
    return out


@HOOKS.register_module(name="ParamSchedulerHook")
class ParamSchedulerHook(Callback):
    """Steps every :class:`ParamSchedulerStack` of the Trainer once per training iteration.

    Accepts MMEngine's ``ParamSchedulerHook`` arguments (none). Works with the stack returned from
    ``configure_optimizers`` as ``{'scheduler': stack, 'interval': 'step'}`` (what
    ``Runtime.configure_optimizers`` returns); other schedulers are left to Lightning.
    """

    priority = "LOW"

    def __init__(self) -> None:
        self._ctx: Any = None
        self._stacks: list[ParamSchedulerStack] = []
        self._reached = 0  # iterations whose after_train_iter this hook has run (the stacks' clock)

    def bind_context(self, ctx: Any) -> None:
        """Receive the runtime's :class:`~lightning_runtime.runtime._context.RunContext` (optional)."""
        self._ctx = ctx

    def _config_schedules(self) -> bool:
        """True when the bound run config has a non-empty ``param_scheduler``."""
        cfg = getattr(self._ctx, "cfg", None) or {}
        try:
            value = cfg.get("param_scheduler")
        except AttributeError:
            return False
        return value is not None and not (isinstance(value, (list, tuple, dict)) and len(value) == 0)

    def _should_warn_missing(self, trainer: pl.Trainer) -> bool:
        """Whether a missing stack deserves a warning (MMEngine's hook is silent without schedulers).

        With a run context: only when its config has a ``param_scheduler`` that the module did not
        return from ``configure_optimizers``. Without one (the callback added by hand): only when
        the module returned no lr scheduler at all (other torch schedulers are left to Lightning).
        """
        if self._ctx is not None:
            return self._config_schedules()
        return not trainer.lr_scheduler_configs

    def _why(self) -> str:
        if self._ctx is not None:
            return " although the config has a param_scheduler (it is not applied)"
        return " (the module returned no lr scheduler)"

    @staticmethod
    def _find(trainer: pl.Trainer) -> list[ParamSchedulerStack]:
        return [c.scheduler for c in trainer.lr_scheduler_configs if isinstance(c.scheduler, ParamSchedulerStack)]

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._stacks = self._find(trainer)
        if not self._stacks and self._should_warn_missing(trainer):
            rank_zero_warn(
                "ParamSchedulerHook found no ParamSchedulerStack in configure_optimizers' lr schedulers"
                f"{self._why()}; return rt.configure_optimizers(self) or {{'optimizer': opt, 'lr_scheduler': "
                "{'scheduler': build_scheduler(opt, cfg), 'interval': 'step'}}"
            )
        now = train_iters_processed(trainer)
        self._reached = now
        for stack in self._stacks:
            stack.attach_clock(lambda: self._reached)
            # A fresh run starts at 0; a resumed one at the restored counter (a no-op when the
            # checkpoint's scheduler state and loop state agree, which Lightning 2.6 ensures).
            if stack.last_iter != now:
                stack.advance_to(now)

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self._reached = train_iters_processed(trainer)
        for stack in self._stacks:
            stack.step()

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        stacks = [s for s in self._stacks if s.monitored_metrics]  # empty outside fit
        if not stacks:
            return
        metrics = _metrics(trainer)
        for stack in stacks:
            stack.step_metrics(metrics)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        for stack in self._stacks:
            stack.attach_clock(None)
        self._stacks = []
