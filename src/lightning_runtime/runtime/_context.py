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
        seed: The seed ``randomness`` set (``runner.seed``), ``None`` when unseeded.
        launcher: ``launcher`` (``'none'``, ``'pytorch'``, ``'slurm'``, ``'mpi'``).
        log_level: ``log_level``, upper case.
        run_log_file: ``work_dir/<timestamp>/<timestamp>.log``, written by the Runtime's
            :class:`~lightning_runtime.runtime._run_log.RunLogFile` (the LoggerHook then opens no file
            of its own); ``None`` without a Runtime.
        visualizer: An object with MMEngine's ``Visualizer`` interface (``add_scalars``, ...) for
            ``runner.visualizer``; the LoggerHook sends scalars to it instead of the JSON files. The
            Runtime sets none (``vis_backends`` become Lightning loggers); set it to bring your own.
        auto_scale_lr_ratio: The factor ``auto_scale_lr`` applied to every lr, once known
            (``configure_optimizers``).
        resume_from: The checkpoint ``Runtime.fit`` resumes from (``ckpt_path``), or ``None``.
        load_from: The file whose weights ``Runtime.fit`` loaded, or ``None``.
        resume_checkpoint: The resume file's summary (``checkpoint._resume.check_checkpoint_path``:
            path, key, optimizer-state shapes) for the optimizer check in ``configure_optimizers``.
        resume_optimizer_checked: That check ran, so ``CheckpointHook`` does not repeat it.
    """

    cfg: Mapping[str, Any]
    work_dir: Path
    timestamp: str
    train_loop: LoopSpec | None = None
    log_processor: Mapping[str, Any] = field(default_factory=dict)
    accumulative_counts: int = 1
    loss_divisor: int | None = None
    seed: int | None = None
    launcher: str = "none"
    log_level: str = "INFO"
    run_log_file: str | None = None
    visualizer: Any = None
    auto_scale_lr_ratio: float | None = None
    resume_from: str | None = None
    load_from: str | None = None
    resume_checkpoint: dict[str, Any] | None = None
    resume_optimizer_checked: bool = False

    @property
    def log_dir(self) -> Path:
        """``work_dir/<timestamp>``: the text log and ``vis_data/`` of this run."""
        return self.work_dir / self.timestamp

    @property
    def experiment_name(self) -> str:
        """MMEngine's ``experiment_name``: ``<config stem>_<timestamp>``, or the timestamp for a dict config."""
        filename = getattr(self.cfg, "filename", None) or ""
        return f"{Path(filename).stem}_{self.timestamp}" if filename else self.timestamp
