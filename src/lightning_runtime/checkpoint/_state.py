"""Exact-resume state a Lightning checkpoint lacks: RNG states, unfinished accumulation, missing optimizer states.

:class:`ResumeState` is the part of ``CheckpointHook`` that makes a resumed run continue as if it
had never stopped (``docs/checkpoints.md``):

* every checkpoint gets the global RNG states (``rng_states``: torch, CUDA, numpy, python) and,
  inside an unfinished gradient-accumulation window, the gradients accumulated so far
  (``accumulated_grads``); both are restored when the resumed run starts training;
* a checkpoint saved with ``save_optimizer=False`` / ``save_param_scheduler=False`` resumes with
  fresh optimizer / lr-scheduler states (as MMEngine does) instead of Lightning's ``KeyError``, with
  a warning that the run will differ from an uninterrupted one;
* the checkpoint's optimizer state is checked against this run's optimizers before Lightning loads
  it (:func:`~lightning_runtime.checkpoint._resume.check_optimizer_state`), unless the Runtime did
  so before the Trainer existed;
* an MMEngine checkpoint (converted when read, see ``_from_mmengine``) gets its optimizer state
  mapped by parameter name onto this run's optimizer, the schedule advanced to its iteration, and
  the global RNGs seeded with MMEngine's ``meta['seed']`` as ``Runner.resume`` does.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities import rank_zero_warn

from lightning_runtime.checkpoint._from_mmengine import MMENGINE_KEY, optimizer_state_from_mmengine
from lightning_runtime.checkpoint._resume import check_optimizer_state
from lightning_runtime.errors import ConfigError
from lightning_runtime.optim._builder import optimization_root
from lightning_runtime.schedulers import ParamSchedulerStack
from lightning_runtime.runtime import _lightning_compat as compat

__all__ = ["ResumeState", "collect_rng_states", "restore_rng_states", "accumulated_grads"]

log = logging.getLogger("lightning_runtime")


def collect_rng_states() -> dict[str, Any]:
    """Global RNG states (torch, CUDA, numpy, python) in a ``weights_only``-loadable form.

    Saved in every checkpoint by ``CheckpointHook`` and restored when the resumed run starts
    training (``on_train_start``), so dropout and other model-side randomness continue exactly.
    numpy's key array is stored as a tensor: ``torch.load(weights_only=True)`` refuses ndarrays.
    """
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "torch.cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": [kind, torch.from_numpy(np.asarray(keys, dtype=np.int64)), pos, has_gauss, gauss],
        "python": random.getstate(),
    }


def restore_rng_states(states: dict[str, Any]) -> None:
    """Set the global RNG states returned by :func:`collect_rng_states`."""
    torch.set_rng_state(states["torch"])
    if states.get("torch.cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["torch.cuda"])
    kind, keys, pos, has_gauss, gauss = states["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = states["python"]
    random.setstate((version, tuple(internal), gauss_next))


def accumulated_grads(trainer: pl.Trainer, pl_module: pl.LightningModule) -> dict[str, torch.Tensor]:
    """Gradients of an unfinished accumulation window (lost otherwise on resume); ``{}`` outside one."""
    if trainer.accumulate_grad_batches <= 1 or trainer.state.fn != TrainerFn.FITTING:
        return {}
    if not compat.should_accumulate(trainer):
        return {}
    return {n: p.grad.detach().clone() for n, p in pl_module.named_parameters() if p.grad is not None}


def _warn_inexact(what: str) -> None:
    rank_zero_warn(f"The checkpoint being resumed {what}; the run will not match an uninterrupted one.")


class ResumeState:
    """What a checkpoint needs beyond Lightning's own state to resume exactly, for one callback.

    Call :meth:`add_to` from ``on_save_checkpoint``, :meth:`take_from` from ``on_load_checkpoint``,
    :meth:`complete` from ``on_fit_start`` (before Lightning restores the optimizers) and
    :meth:`restore` from ``on_train_start``.
    """

    def __init__(self) -> None:
        self._loaded: dict[str, Any] | None = None
        self._rng: dict[str, Any] | None = None
        self._grads: dict[str, torch.Tensor] | None = None
        self._seed: int | None = None

    def add_to(self, checkpoint: dict[str, Any], trainer: pl.Trainer, pl_module: pl.LightningModule, *,
               optimizer: bool = True) -> None:
        """Add ``rng_states`` and, with ``optimizer`` (the optimizer state is kept), ``accumulated_grads``."""
        checkpoint["rng_states"] = collect_rng_states()
        grads = accumulated_grads(trainer, pl_module) if optimizer else {}
        if grads:
            checkpoint["accumulated_grads"] = grads

    def take_from(self, checkpoint: dict[str, Any]) -> None:
        """Remember the checkpoint being resumed (completed in :meth:`complete`, restored in :meth:`restore`)."""
        self._loaded = checkpoint
        self._rng = checkpoint.get("rng_states")
        self._grads = checkpoint.get("accumulated_grads")

    def complete(self, trainer: pl.Trainer, *, optimizer_checked: bool, warn_once: Callable[[str], None]) -> None:
        """Fill the optimizer / lr-scheduler states the resumed checkpoint lacks, and check its optimizer state.

        Args:
            trainer: The Trainer about to restore the checkpoint's optimizer and scheduler states.
            optimizer_checked: The Runtime already checked the optimizer state (before the Trainer
                existed); a plain Lightning run is checked here.
            warn_once: The callback's warn-once (rank zero), for a state this run cannot use.
        """
        ckpt, self._loaded = self._loaded, None
        if ckpt is None:
            return
        mmengine = ckpt.pop(MMENGINE_KEY, None)
        if isinstance(mmengine, dict):
            self._from_mmengine(ckpt, mmengine, trainer, warn_once)
            optimizer_checked = True
        if "optimizer_states" not in ckpt:
            ckpt["optimizer_states"] = [trainer.strategy.optimizer_state(o) for o in trainer.optimizers]
            _warn_inexact("has no optimizer state (save_optimizer=False): the optimizer starts fresh")
        if "lr_schedulers" not in ckpt:
            ckpt["lr_schedulers"] = [c.scheduler.state_dict() for c in trainer.lr_scheduler_configs]
            _warn_inexact("has no lr-scheduler state (save_param_scheduler=False): schedules restart from 0")
        elif ckpt["lr_schedulers"] and not trainer.lr_scheduler_configs:
            lrs = sorted({g.get("lr") for s in ckpt.get("optimizer_states") or [] if isinstance(s, dict)
                          for g in s.get("param_groups") or [] if isinstance(g, dict)}, key=str)
            warn_once(
                "The checkpoint being resumed has lr-scheduler state, but this run has no scheduler "
                "(param_scheduler is empty or the ParamSchedulerHook is removed): the learning rate stays "
                f"at the checkpoint's value ({', '.join(map(str, lrs[:4])) or 'unknown'}) for the rest of the run"
            )
        if not optimizer_checked:
            check_optimizer_state(ckpt.get("optimizer_states"), trainer.optimizers, "the resumed checkpoint",
                                  key="ckpt_path")

    def _from_mmengine(self, ckpt: dict[str, Any], saved: dict[str, Any], trainer: pl.Trainer,
                       warn_once: Callable[[str], None]) -> None:
        """Optimizer and scheduler states of an MMEngine checkpoint, for this run's optimizer and schedule."""
        path, n = str(saved.get("path")), int(saved["iter"])
        seed = saved.get("seed")
        self._seed = int(seed) if isinstance(seed, int) and not isinstance(seed, bool) else None
        root = optimization_root(trainer.lightning_module)
        if "optimizer" in saved and trainer.optimizers:
            if len(trainer.optimizers) != 1:
                raise ConfigError(f"{path} holds the state of one optimizer (MMEngine's optim_wrapper); this run "
                                  f"builds {len(trainer.optimizers)}", path="resume",
                                  fix="resume an MMEngine run with one optim_wrapper")
            state = optimizer_state_from_mmengine(saved["optimizer"], trainer.optimizers[0], root, path)
            check_optimizer_state([state], trainer.optimizers, path, key="resume")
            ckpt["optimizer_states"] = [state]
        if "param_schedulers" in saved:
            states = []
            for config in trainer.lr_scheduler_configs:
                scheduler = config.scheduler
                if isinstance(scheduler, ParamSchedulerStack):
                    scheduler.advance_to(n)  # MMEngine's last_step of every scheduler follows from n
                states.append(scheduler.state_dict())
            ckpt["lr_schedulers"] = states
            self._check_schedule(ckpt, trainer, path, n, warn_once)
        if trainer.is_global_zero:
            meta = ckpt.get("meta") or {}
            log.info("Resuming MMEngine's checkpoint %s: epoch %s, iter %d%s", path, meta.get("epoch"), n,
                     "; optimizer state mapped by parameter name" if "optimizer" in saved else "")

    @staticmethod
    def _check_schedule(ckpt: dict[str, Any], trainer: pl.Trainer, path: str, n: int,
                        warn_once: Callable[[str], None]) -> None:
        """Warn when the learning rates MMEngine had at iteration ``n`` are not this config's."""
        groups = (ckpt.get("optimizer_states") or [{}])[0].get("param_groups") or []
        ours = [g["lr"] for o in trainer.optimizers[:1] for g in o.param_groups]
        theirs = [g.get("lr") for g in groups]
        if groups and trainer.lr_scheduler_configs and not all(
                isinstance(b, (int, float)) and abs(a - b) <= 1e-12 + 1e-9 * abs(b) for a, b in zip(ours, theirs)):
            warn_once(f"the learning rates in {path} ({theirs[:4]}) are not what this config's param_scheduler "
                      f"gives at iteration {n} ({ours[:4]}); the run follows this config")

    def restore(self, pl_module: pl.LightningModule) -> None:
        """Set the saved RNG states and put the accumulated gradients back on the parameters."""
        if self._seed is not None:  # MMEngine's Runner.resume: set_random_seed(meta['seed'])
            random.seed(self._seed)
            np.random.seed(self._seed)
            torch.manual_seed(self._seed)
            self._seed = None
        if self._rng is not None:
            restore_rng_states(self._rng)
            self._rng = None
        if self._grads:
            params = dict(pl_module.named_parameters())
            for name, grad in self._grads.items():
                if name in params:
                    params[name].grad = grad.to(params[name].device, params[name].dtype)
        self._grads = None
