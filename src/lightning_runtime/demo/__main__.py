"""``python -m lightning_runtime.demo`` (``make demo``): train a demo config end to end on CPU.

Usage::

    python -m lightning_runtime.demo [--config PATH] [--work-dir DIR] [--cfg-options KEY=VALUE ...]

Default config: ``configs/demo/seg_vit_shapes.py`` (a tiny ViT on the generated shapes dataset
with the seed tutorial's runtime settings). The run goes through :class:`~lightning_runtime.Runtime`
exactly as a user's would (``Runtime.fit``), then evaluates the final weights on the held-out
``test`` split, and prints where the text log, scalars, checkpoints and visualizations are.

Programmatic use (what the tests do)::

    from lightning_runtime.demo.__main__ import run_demo
    result = run_demo('configs/demo/seg_vit_shapes.py', work_dir='/tmp/w',
                      overrides={'train_cfg.max_iters': 40, ...})
    result.val_metrics['mIoU'], result.work_dir
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lightning_runtime.errors import ConfigError

__all__ = ["DEFAULT_CONFIG", "DemoResult", "build_demo", "find_config", "instantiate", "run_demo", "main"]

#: The demo config of ``make demo`` (relative to the repository root).
DEFAULT_CONFIG = "configs/demo/seg_vit_shapes.py"
#: The mIoU (percent, MMSeg's unit) the default demo reaches on the held-out splits.
STATED_MIOU = 80.0


def find_config(path: str | None) -> Path:
    """The config file: ``path`` as given, else the default demo config of this checkout."""
    candidates = [Path(path)] if path else [Path(DEFAULT_CONFIG), Path(__file__).resolve().parents[3] / DEFAULT_CONFIG]
    for cand in candidates:
        if cand.is_file():
            return cand
    raise ConfigError(
        f"config file not found: {candidates[0]}",
        path="--config",
        fix="give --config PATH to a demo config (they live in configs/demo/ of the repository)",
    )


def instantiate(section: Any, path: str) -> Any:
    """Build a LightningCLI-style ``dict(class_path=..., init_args=dict(...))`` section."""
    if not isinstance(section, Mapping) or "class_path" not in section:
        raise ConfigError(
            "expected dict(class_path='pkg.module.Class', init_args=dict(...))",
            path=path,
            fix=f"write {path} = dict(class_path='lightning_runtime.demo.module.SegModule', init_args=dict(...))",
        )
    unknown = sorted(set(section) - {"class_path", "init_args"})
    if unknown:
        raise ConfigError(f"unknown key(s) {unknown}", path=path, expected="class_path, init_args", fix="keep only class_path and init_args in this section")
    from lightning_runtime.registry import Kind, resolve_class

    base = "lightning.pytorch.core.module.LightningModule" if path == "model" else \
        "lightning.pytorch.core.datamodule.LightningDataModule"
    kind = Kind(f"a {base.rpartition('.')[2]} subclass", bases=(base,))
    cls = resolve_class(section["class_path"], kind, path=f"{path}.class_path", what="class_path")  # nothing called
    init_args = dict(section.get("init_args") or {})
    try:
        return cls(**init_args)
    except TypeError as exc:
        raise ConfigError(str(exc), path=f"{path}.init_args", fix=f"check the arguments of {cls.__name__}") from exc


def build_demo(cfg: Any) -> tuple[Any, Any]:
    """``(module, datamodule)`` from the config's ``model`` and ``data`` sections (plain dicts)."""
    plain = cfg.to_dict() if hasattr(cfg, "to_dict") else dict(cfg)
    return instantiate(plain.get("model"), "model"), instantiate(plain.get("data"), "data")


@dataclass
class DemoResult:
    """What a demo run produced."""

    work_dir: Path
    log_dir: Path
    val_metrics: dict[str, float]
    test_metrics: dict[str, float]
    checkpoints: list[Path] = field(default_factory=list)
    visualizations: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    stated_goal: bool = False  # the default config ran, unchanged: STATED_MIOU applies
    trainer: Any = None
    module: Any = None
    lr_plot: Path | None = None  # None when matplotlib (the 'plot' extra) is not installed


def _floats(metrics: Mapping[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items()}


def run_demo(
    config: str | Path | None = None,
    work_dir: str | Path | None = None,
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
    test: bool = True,
    **trainer_overrides: Any,
) -> DemoResult:
    """Train ``config`` with :meth:`Runtime.fit`, then test the final weights on the ``test`` split.

    Args:
        config: Demo config path (default: ``configs/demo/seg_vit_shapes.py``).
        work_dir: Overrides the config's ``work_dir``.
        overrides: Dotted overrides (``{'train_cfg.max_iters': 40}`` or ``['train_cfg.max_iters=40']``).
        test: Also run the test loop after training.
        **trainer_overrides: Extra ``L.Trainer`` arguments (``enable_progress_bar=False``, ...).
    """
    from lightning_runtime import Runtime, load_config

    start = time.perf_counter()
    opts: dict[str, Any] | list[str]
    if overrides is None:
        opts = {}
    elif isinstance(overrides, Mapping):
        opts = dict(overrides)
    else:
        opts = list(overrides)
    if work_dir is not None:
        if isinstance(opts, dict):
            opts["work_dir"] = str(work_dir)
        else:
            opts.append(f"work_dir={work_dir}")
    path = find_config(None if config is None else str(config))
    cfg = load_config(path, opts)
    rt = Runtime(cfg)
    module, datamodule = build_demo(cfg)
    module.runtime = rt  # configure_optimizers() -> rt.configure_optimizers(module)
    # CheckpointHook writes the checkpoints; Lightning's own ModelCheckpoint would add a second set.
    trainer_overrides.setdefault("enable_checkpointing", False)
    trainer = rt.fit(module, datamodule=datamodule, **trainer_overrides)
    val_metrics = _floats(getattr(module, "last_val_metrics", {}) or {})
    test_metrics: dict[str, float] = {}
    if test and cfg.get("test_cfg") is not None:
        import warnings

        with warnings.catch_warnings():  # the runtime announces the logger override: it is the demo's own
            warnings.filterwarnings("ignore", message=r"trainer\.logger=.* replaces what visualizer")
            rt.test(module, datamodule=datamodule, **_test_logger(rt, trainer_overrides))
        test_metrics = _floats(getattr(module, "last_test_metrics", {}) or {})
    work = Path(rt.ctx.work_dir)
    lr_plot = _plot_lr(rt, module, work / "lr.png") if trainer.is_global_zero else None
    return DemoResult(
        work_dir=work,
        log_dir=Path(rt.ctx.log_dir),
        val_metrics=val_metrics,
        test_metrics=test_metrics,
        checkpoints=sorted(work.glob("*.pth")),
        visualizations=sorted(p for p in work.rglob("*.png") if p.name != "lr.png"),
        seconds=time.perf_counter() - start,
        stated_goal=path.resolve() == find_config(None).resolve() and not [k for k in opts if "work_dir" not in k],
        trainer=trainer,
        module=module,
        lr_plot=lr_plot,
    )


def _test_logger(rt: Any, trainer_overrides: dict[str, Any]) -> dict[str, Any]:
    """The test phase's Trainer arguments: its own CSV file, ``vis_data/test/metrics.csv``.

    The test Trainer of the same run would otherwise open ``vis_data/metrics.csv`` again, and
    Lightning's CSVLogger deletes an existing file there: training and validation logs are kept.
    """
    if "logger" in trainer_overrides:
        return trainer_overrides
    from lightning.pytorch.loggers import CSVLogger

    logger = CSVLogger(save_dir=str(Path(rt.ctx.log_dir) / "vis_data"), name="test", version="")
    return {**trainer_overrides, "logger": logger}


def _plot_lr(rt: Any, module: Any, path: Path) -> Path | None:
    """The learning rate of every param group over the run (``explain.plot_lr``), if matplotlib is there."""
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        return None
    from lightning_runtime.explain import plot_lr

    return Path(plot_lr(rt, str(path), module))


def _summary(result: DemoResult) -> str:
    lines = [f"\nDemo finished in {result.seconds:.0f} s.  work_dir: {result.work_dir.resolve()}"]
    for split, metrics in (("val (held out, last validation)", result.val_metrics),
                           ("test (held out, final weights)", result.test_metrics)):
        if metrics:
            shown = "  ".join(f"{k}: {v:.2f}" for k, v in metrics.items())
            lines.append(f"  {split}: {shown}")
    miou = result.test_metrics.get("mIoU", result.val_metrics.get("mIoU"))
    if miou is not None and result.stated_goal:
        verdict = "reached" if miou >= STATED_MIOU else "NOT reached"
        lines.append(f"  stated goal mIoU >= {STATED_MIOU:.1f}: {verdict} ({miou:.2f})")
    logs = sorted(result.log_dir.glob("*.log"))
    lines.append(f"  text log:       {logs[0] if logs else result.log_dir}")
    scalars = result.log_dir / "vis_data" / "scalars.json"
    lines.append(f"  scalars:        {scalars if scalars.exists() else result.log_dir / 'vis_data'}")
    vis = result.log_dir / "vis_data"
    csvs = [p for p in (vis / "metrics.csv", vis / "test" / "metrics.csv") if p.exists()]
    if csvs:  # the test phase has its own file: the training/validation one is kept
        shown = " (train/val), ".join(str(p) for p in csvs) + (" (test)" if len(csvs) > 1 else "")
        lines.append(f"  metrics csv:    {shown}")
    lines.append("  checkpoints:    " + (", ".join(p.name for p in result.checkpoints) or "none")
                 + f"  (in {result.work_dir})")
    lines.append("  lr plot:        " + (str(result.lr_plot) if result.lr_plot
                                         else "skipped (pip install 'lightning-runtime[plot]')"))
    vis_dirs = sorted({str(p.parent) for p in result.visualizations if p.name != "lr.png"})
    lines.append(f"  visualizations: {len(result.visualizations)} PNG in " + (", ".join(vis_dirs) or "none"))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry; returns the exit code (2 for a config problem)."""
    parser = argparse.ArgumentParser(prog="python -m lightning_runtime.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=None, help=f"demo config (default: {DEFAULT_CONFIG})")
    parser.add_argument("--work-dir", default=None, help="where logs, checkpoints and visualizations go")
    parser.add_argument("--cfg-options", nargs="*", default=[], metavar="KEY=VALUE",
                        help="dotted overrides, MMEngine style: train_cfg.max_iters=100")
    parser.add_argument("--no-test", action="store_true", help="skip the final test-split evaluation")
    args = parser.parse_args(argv)
    try:
        result = run_demo(args.config, args.work_dir, args.cfg_options, test=not args.no_test)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    print(_summary(result))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
