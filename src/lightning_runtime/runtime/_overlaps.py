"""Trainer arguments that overlap an MMEngine section: refused, or applied with one warning saying which won.

A LightningCLI ``trainer:`` section (or ``rt.build_trainer(**overrides)``) may set an argument the
runtime already derived from the config. Where the MMEngine section drives the log lines,
checkpoints and schedule (``max_steps`` vs ``train_cfg.max_iters``), silently letting the Trainer
win would leave ``Iter(train) [10/40]`` lines and no checkpoint: that is refused, naming both
settings and the one to keep. Where the Trainer's value is a plain choice of the machine or of
the output (``devices``, ``logger``), it is applied with one warning naming what it replaced.

Example:
    >>> check_overlaps({'max_steps': 40}, {'max_steps': 10})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lightning_runtime.errors.ConfigError: trainer.max_steps: ...
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lightning.pytorch.utilities import rank_zero_warn

from lightning_runtime.errors import ConfigError

__all__ = ["REFUSED", "APPLIED", "check_overlaps"]

#: Trainer argument -> the MMEngine setting it would silently contradict (the log, checkpoints and
#: schedule follow the MMEngine setting, so the Trainer's must go).
REFUSED: dict[str, str] = {
    "max_steps": "train_cfg.max_iters",
    "max_epochs": "train_cfg.max_epochs",
    "val_check_interval": "train_cfg.val_interval",
    "check_val_every_n_epoch": "train_cfg.val_interval",
    "gradient_clip_val": "optim_wrapper.clip_grad",
    "gradient_clip_algorithm": "optim_wrapper.clip_grad",
    "accumulate_grad_batches": "optim_wrapper.accumulative_counts",
    "default_root_dir": "work_dir",
}
#: Trainer argument -> the MMEngine setting it replaces when applied (one warning).
APPLIED: dict[str, str] = {
    "logger": "visualizer.vis_backends",
    "devices": "launcher",
    "accelerator": "launcher / env_cfg",
    "strategy": "launcher / model_wrapper_cfg / env_cfg.dist_cfg",
    "num_sanity_val_steps": "MMEngine's no-sanity-check validation",
    "limit_val_batches": "val_cfg / val_dataloader",
    "log_every_n_steps": "default_hooks.logger.interval",
    "enable_checkpointing": "default_hooks.checkpoint",
    "deterministic": "randomness.deterministic",
    "benchmark": "env_cfg.cudnn_benchmark",
}
_MMENGINE_FIX: dict[str, str] = {
    "max_steps": "--train_cfg.max_iters=N",
    "max_epochs": "--train_cfg.max_epochs=N",
    "val_check_interval": "--train_cfg.val_interval=N",
    "check_val_every_n_epoch": "--train_cfg.val_interval=N",
    "gradient_clip_val": "optim_wrapper.clip_grad=dict(max_norm=...)",
    "gradient_clip_algorithm": "optim_wrapper.clip_grad=dict(type='value', clip_value=...)",
    "accumulate_grad_batches": "--optim_wrapper.accumulative_counts=N",
    "default_root_dir": "--work_dir=DIR",
}


def _trainer_default(key: str) -> Any:
    import inspect

    import lightning.pytorch as pl

    return inspect.signature(pl.Trainer.__init__).parameters[key].default


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - objects without a usable __eq__ are different
        return a is b


def _has_precision_plugin(runtime_kwargs: Mapping[str, Any]) -> bool:
    from lightning.pytorch.plugins.precision import Precision

    plugins = runtime_kwargs.get("plugins") or []
    return any(isinstance(p, Precision) for p in (plugins if isinstance(plugins, (list, tuple)) else [plugins]))


def check_overlaps(runtime_kwargs: Mapping[str, Any], overrides: Mapping[str, Any],
                   *, path: str = "trainer") -> None:
    """Refuse or warn about each override that changes an argument the runtime derived from the config.

    Args:
        runtime_kwargs: What :meth:`Runtime.trainer_kwargs` returned.
        overrides: The ``trainer:`` section / ``build_trainer`` keywords.
        path: Config path of the overrides, for messages.

    Raises:
        ConfigError: An override of :data:`REFUSED` with a value other than the runtime's.
    """
    for key, value in overrides.items():
        if key == "precision" and ("precision" in runtime_kwargs or _has_precision_plugin(runtime_kwargs)):
            given = runtime_kwargs.get("precision", "the AmpOptimWrapper's mixed-precision plugin")
            if not _same(value, runtime_kwargs.get("precision")):
                raise ConfigError(
                    f"precision={value!r} contradicts optim_wrapper (which sets {given})", path=f"{path}.{key}",
                    fix="remove trainer.precision, or change optim_wrapper (type='AmpOptimWrapper' for fp16, "
                        "dtype='bfloat16' for bf16, type='OptimWrapper' for fp32)")
            continue
        if key == "precision":
            if str(value) not in ("32", "32-true"):
                rank_zero_warn(f"{path}.precision={value!r} replaces what optim_wrapper set (OptimWrapper: fp32): "
                               "the Trainer's value is used")
            continue
        if key in REFUSED:
            # the runtime does not pass it: L.Trainer's own default is what it contradicts
            current = runtime_kwargs[key] if key in runtime_kwargs else _trainer_default(key)
            if _same(value, current):
                continue
            raise ConfigError(
                f"{key}={value!r} contradicts {REFUSED[key]} (the runtime gives the Trainer {key}={current!r}; "
                "the log lines, checkpoints and schedule count from the MMEngine setting)",
                path=f"{path}.{key}",
                fix=f"remove trainer.{key} and set {_MMENGINE_FIX[key]} instead")
        if key in APPLIED and key in runtime_kwargs and not _same(value, runtime_kwargs[key]):
            rank_zero_warn(f"{path}.{key}={value!r} replaces what {APPLIED[key]} set "
                           f"({key}={runtime_kwargs[key]!r}): the Trainer's value is used")
