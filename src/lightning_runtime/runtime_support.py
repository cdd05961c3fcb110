"""Small pieces :class:`~lightning_runtime.runtime.Runtime` needs at fit time.

* :func:`resolve_checkpoints`: ``resume`` / ``load_from`` -> (ckpt_path, weights file), MMEngine's
  ``load_or_resume`` (``resume.py`` does the work).
* :func:`load_weights_into`: ``load_from`` (weights only, ``weights.py``).
* :func:`epoch_length_of`: training batches per epoch, for ``by_epoch`` schedulers.
* :func:`auto_scale_ratio`: MMEngine's ``auto_scale_lr`` rule.
* :func:`has_mmengine_sampler`: a dataloader that already shards per rank.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import ConfigError

__all__ = [
    "resolve_checkpoints",
    "load_weights_into",
    "epoch_length_of",
    "auto_scale_ratio",
    "has_mmengine_sampler",
]

log = logging.getLogger("lightning_runtime")


def resolve_checkpoints(resume: Any, load_from: Any, work_dir: Path) -> tuple[str | None, str | None]:
    """``(ckpt_path to resume from, file to load weights from)`` following MMEngine's rules."""
    from .resume import resolve_load_from, resolve_resume

    return resolve_resume(resume, load_from, work_dir), resolve_load_from(resume, load_from)


def load_weights_into(module: Any, path: str) -> Any:
    """Load ``load_from`` weights into ``module`` (an MMEngine ``.pth`` or a Lightning ``.ckpt``)."""
    try:
        from .weights import load_weights
    except ImportError:  # weights.py not available: plain MMEngine-style load
        return _load_state_dict(module, path)
    return load_weights(module, path)


def _load_state_dict(module: Any, path: str) -> Any:
    import torch

    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    state = ckpt.get("state_dict", ckpt) if isinstance(ckpt, Mapping) else ckpt
    state = {k[7:] if k.startswith("module.") else k: v for k, v in state.items()}
    result = module.load_state_dict(state, strict=False)
    if result.missing_keys or result.unexpected_keys:
        log.warning("load_from %s: missing keys %s, unexpected keys %s", path, result.missing_keys,
                    result.unexpected_keys)
    return result


def epoch_length_of(trainer: Any) -> int | None:
    """Training batches per epoch (``len(train_dataloader)``: one pass, per rank), or ``None`` if unknown.

    Called from ``configure_optimizers``, before Lightning has set up the training data: asks the
    fit loop to set it up now (Lightning does not repeat it afterwards).
    """
    if trainer is None:
        return None
    try:
        if trainer.state.fn != "fit":
            return None
        trainer.fit_loop.setup_data()
        n = trainer.num_training_batches
        loader = trainer.fit_loop._combined_loader
        if callable(getattr(loader, "pass_length", None)):
            # runtime_data's wrapper: Lightning's epoch is max_iters long, MMEngine's epoch_length
            # is one pass of the train dataloader (len(runner.train_dataloader))
            n = loader.pass_length()
    except Exception as exc:  # a datamodule that cannot be set up yet: leave it unknown
        log.debug("epoch length unknown: %s", exc)
        return None
    if n is None or n == float("inf"):
        return None
    return int(n)


def auto_scale_ratio(auto_scale_lr: Mapping[str, Any] | None, trainer: Any) -> float | None:
    """MMEngine's ``Runner.scale_lr``: ``world_size * batch_size / base_batch_size`` when enabled."""
    if not auto_scale_lr or not auto_scale_lr.get("enable", False):
        return None
    if trainer is None:
        raise ConfigError(
            "auto_scale_lr needs the real batch size, known only inside a Trainer",
            path="auto_scale_lr",
            fix="call rt.configure_optimizers(self) from LightningModule.configure_optimizers",
        )
    trainer.fit_loop.setup_data()
    loader = trainer.train_dataloader
    batch_size = getattr(loader, "batch_size", None)
    if batch_size is None:
        loaders = getattr(loader, "flattened", None) or (list(loader.values()) if isinstance(loader, Mapping) else [])
        batch_size = getattr(loaders[0], "batch_size", None) if loaders else None
    if batch_size is None:
        raise ConfigError("cannot read the training batch size for auto_scale_lr", path="auto_scale_lr",
                          fix="use a torch DataLoader with batch_size set, or disable auto_scale_lr")
    ratio = float(trainer.world_size * batch_size) / float(auto_scale_lr["base_batch_size"])
    log.info("LR is set based on batch size of %s and the current batch size is %s. Scaling the original LR by %s.",
             auto_scale_lr["base_batch_size"], trainer.world_size * batch_size, ratio)
    return ratio


def has_mmengine_sampler(dataloader: Any) -> bool:
    """True when ``dataloader``'s sampler already shards per rank (MMEngine Default/InfiniteSampler, ...).

    Lightning would otherwise wrap it in a ``DistributedSampler`` and shard twice.
    """
    loaders = dataloader if isinstance(dataloader, (list, tuple)) else [dataloader]
    for dl in loaders:
        sampler = getattr(dl, "sampler", None)
        batch_sampler = getattr(dl, "batch_sampler", None)
        for s in (sampler, getattr(batch_sampler, "sampler", None)):
            if s is None:
                continue
            if hasattr(s, "world_size") and hasattr(s, "rank"):
                return True
            if hasattr(s, "num_replicas") and hasattr(s, "rank"):
                return True
    return False


