"""What the runtime knows about a run, handed to every callback it builds.

:class:`RunContext` is created once by :class:`~lightning_runtime.runtime._runtime.Runtime` and passed to
callbacks through ``bind_context(ctx)``. Callbacks used by hand in a plain Lightning project never
receive one and fall back to what the Trainer tells them (``default_root_dir``, ``max_steps``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

__all__ = ["LoopSpec", "RunContext"]


@dataclass(frozen=True)
class LoopSpec:
    """The training loop, in MMEngine's terms (``train_cfg``).

    Attributes:
        by_epoch: ``EpochBasedTrainLoop`` (True) or ``IterBasedTrainLoop`` (False).
        max_iters: Training iterations (batches) for an iteration-based loop.
        max_epochs: Epochs for an epoch-based loop.
        val_interval: Validate every this many iterations (or epochs when ``by_epoch``).
        val_begin: First iteration/epoch at which validation may run.
        dynamic_intervals: ``[(milestone, interval), ...]`` as MMEngine's loops take them.
    """

    by_epoch: bool
    max_iters: int | None = None
    max_epochs: int | None = None
    val_interval: int = 1
    val_begin: int = 1
    dynamic_intervals: tuple[tuple[int, int], ...] = ()


@dataclass
class RunContext:
    """Run-wide facts the callbacks share.

    Attributes:
        cfg: The loaded config (``lightning_runtime.config._loader.Config``).
        work_dir: MMEngine's ``work_dir``: checkpoints and ``last_checkpoint`` live here.
        timestamp: ``%Y%m%d_%H%M%S`` of this run; logs go to ``work_dir/timestamp/``.
        train_loop: The training loop spec, ``None`` when the config has no ``train_cfg``.
        log_processor: ``log_processor`` settings (``window_size``, ``by_epoch``, ``custom_cfg``, ...).
        accumulative_counts: ``optim_wrapper.accumulative_counts`` (1 without accumulation).
        loss_divisor: What Lightning divided the current training loss by, when the runtime
            chose it (the remainder in the last partial accumulation window; set by
            ``runtime/_loops.LoopControl``). ``None``: ``trainer.accumulate_grad_batches``.
        extra: Free-form values other parts of the runtime share (documented where set).
    """

    cfg: Mapping[str, Any]
    work_dir: Path
    timestamp: str
    train_loop: LoopSpec | None = None
    log_processor: Mapping[str, Any] = field(default_factory=dict)
    accumulative_counts: int = 1
    loss_divisor: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def log_dir(self) -> Path:
        """``work_dir/<timestamp>``: the text log and ``vis_data/`` of this run."""
        return self.work_dir / self.timestamp

    @property
    def experiment_name(self) -> str:
        """MMEngine's ``experiment_name``: ``<config stem>_<timestamp>``."""
        filename = getattr(self.cfg, "filename", None) or ""
        stem = Path(filename).stem if filename else "run"
        return f"{stem}_{self.timestamp}"
