"""Per-iteration overhead of the translated callback set vs bare Lightning vs a hand-written loop.

Three ways to train the same model on the same in-memory batches, same SGD and warmup-then-poly
schedule, timed in the same run:

* ``lightning_runtime``: ``Runtime(cfg).fit(...)`` with the seed's ``default_hooks``
  (``IterTimerHook``, ``LoggerHook(interval=50)``, ``ParamSchedulerHook`` over
  ``LinearLR + PolyLR``, ``CheckpointHook`` at an interval never reached, ``DistSamplerSeedHook``,
  ``visualization=None``) and the seed's ``NewHook`` in ``custom_hooks``: every callback the
  Runtime adds (hook adapter, runtime info, loop control, CSV logger from ``LocalVisBackend``,
  text log file), plus Lightning's default progress bar;
* ``bare Lightning``: ``L.Trainer`` with the equivalent logging: ``LearningRateMonitor``,
  ``CSVLogger`` (``log_every_n_steps=50``), the progress bar, ``self.log('loss', prog_bar=True)``,
  a ``ModelCheckpoint`` at the same unreachable interval, and torch's ``SequentialLR(LinearLR,
  PolynomialLR)`` stepped every iteration;
* ``bare Lightning, loss not logged``: the same without ``self.log`` (Lightning's floor: what
  the per-step ``self.log`` costs shows as the difference);
* ``hand-written loop``: ``for batch in loader``: forward, backward, ``step()``, scheduler step,
  and a CSV line every 50 iterations.

Time per iteration is measured between consecutive batch starts (``on_train_batch_start``, or the
top of the hand loop's body) after the warm-up iterations, as process CPU time (the headline: on a
shared, overloaded machine it is far steadier than wall time; torch runs one thread) and as wall time, averaged over the timed iterations (a
multiple of the logging interval, so logging costs are included at their real rate). Each
variant runs several times, round-robin; the figure is the median run, with the spread
(min-max); ratios are against bare Lightning's median of the same run. Two models: a tiny MLP
where framework overhead dominates, and the demo's tiny ViT segmentor
(``lightning_runtime.demo.models.tiny_vit_segmentor`` with ``configs/demo/seg_vit_shapes.py``'s
sizes). Console output of all variants (progress bar, log lines) goes to ``/dev/null``.

Default sizes: tiny MLP 50 warm-up + 400 timed iterations, 5 runs per variant; demo model 10 + 100,
3 runs; one torch thread (``--threads``). MMEngine's ``Runner`` is measured by ``bench_runner.py``.

Usage::

    python benchmarks/bench_callbacks.py          # full run: prints the table (run_all.py puts it in docs/benchmarks.md)
    python benchmarks/bench_callbacks.py --tiny   # seconds-long smoke run
    python benchmarks/bench_callbacks.py --out x.md  # also write a markdown report
"""

from __future__ import annotations

import argparse
import csv
import functools
import logging
import os
import platform
import statistics
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
import torch.nn as nn
from lightning.pytorch.callbacks import Callback, LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from torch.utils.data import DataLoader

from lightning_runtime import Runtime

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/_machine.py, also when loaded by path
from _machine import cpu_model  # noqa: E402
from _workloads import (  # noqa: E402,F401  (re-exported: the side-by-side scripts read them from here too)
    BASE_LR,
    LOG_INTERVAL,
    NEVER,
    WARMUP_FRACTION,
    DemoViT,
    Stamps,
    TinyMLP,
    make_data,
    per_iter_ms,
    quiet,
    runtime_config,
    stamp,
    torch_optim,
)

__all__ = ["run", "table", "main", "MMENGINE_NOTE"]

ROOT = Path(__file__).resolve().parents[1]
MMENGINE_NOTE = (
    "MMEngine's Runner: measured side by side with lightning_runtime and bare Lightning, each run in a "
    "fresh process, by `benchmarks/bench_runner.py` (question 8)."
)


# ---------------------------------------------------------------------------- Lightning pieces
class BenchModule(pl.LightningModule):
    """Wraps a model; ``bare=True`` adds ``configure_optimizers`` (torch SGD + SequentialLR) and ``self.log``."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net
        self.hyper_parameter: float | None = None  # set by the seed's NewHook

    def training_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> dict[str, torch.Tensor]:
        return {"loss": self.net.loss(batch)}


class BareModule(BenchModule):
    def __init__(self, net: nn.Module, max_iters: int, log_loss: bool = True) -> None:
        super().__init__(net)
        self.max_iters = max_iters
        self.log_loss = log_loss

    def training_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> dict[str, torch.Tensor]:
        out = super().training_step(batch, batch_idx)
        if self.log_loss:
            self.log("loss", out["loss"], prog_bar=True)
        return out

    def configure_optimizers(self) -> dict[str, Any]:
        opt, sched = torch_optim(self.net, self.max_iters)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step", "frequency": 1}}


class BatchStarts(Callback):
    """Records :func:`stamp` at every ``on_train_batch_start`` (two calls: negligible, same for all)."""

    def __init__(self) -> None:
        self.times: list[tuple[float, float]] = []

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int) -> None:
        self.times.append(stamp())


# ---------------------------------------------------------------------------- the three variants


def run_runtime(factory: Callable[[], nn.Module], loader: DataLoader, max_iters: int, tmp: str) -> Stamps:
    timer = BatchStarts()
    rt = Runtime(runtime_config(max_iters, tmp))
    rt.fit(BenchModule(factory()), train_dataloaders=loader, callbacks=[timer], enable_model_summary=False)
    return timer.times


def run_bare(factory: Callable[[], nn.Module], loader: DataLoader, max_iters: int, tmp: str,
             log_loss: bool = True) -> Stamps:
    timer = BatchStarts()
    trainer = pl.Trainer(
        max_steps=max_iters, accelerator="cpu", devices=1, default_root_dir=tmp,
        logger=CSVLogger(tmp), log_every_n_steps=LOG_INTERVAL, enable_model_summary=False,
        limit_val_batches=0, num_sanity_val_steps=0,
        callbacks=[LearningRateMonitor(logging_interval="step"),
                   ModelCheckpoint(dirpath=tmp, every_n_train_steps=NEVER), timer],
    )
    trainer.fit(BareModule(factory(), max_iters, log_loss), train_dataloaders=loader)
    return timer.times


def run_hand(factory: Callable[[], nn.Module], loader: DataLoader, max_iters: int, tmp: str) -> Stamps:
    net = factory()
    net.train()
    opt, sched = torch_optim(net, max_iters)
    starts: Stamps = []
    with open(os.path.join(tmp, "metrics.csv"), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["step", "loss", "lr"])
        for step, batch in enumerate(loader):
            starts.append(stamp())
            opt.zero_grad(set_to_none=True)
            loss = net.loss(batch)
            loss.backward()
            opt.step()
            sched.step()
            if (step + 1) % LOG_INTERVAL == 0:
                writer.writerow([step + 1, loss.item(), opt.param_groups[0]["lr"]])
            if step + 1 >= max_iters:
                break
    return starts


VARIANTS: dict[str, Callable[..., Stamps]] = {
    "lightning_runtime (seed hooks)": run_runtime,
    "bare Lightning": run_bare,
    "bare Lightning, loss not logged": functools.partial(run_bare, log_loss=False),
    "hand-written loop": run_hand,
}
BASELINE = "bare Lightning"


def run(model: str, warmup: int, timed: int, repeats: int) -> list[dict[str, Any]]:
    """Time every variant ``repeats`` times, round-robin.

    Rows hold wall and CPU ms per iteration (median of runs, min, max) and their ratios to bare
    Lightning's medians.
    """
    max_iters = warmup + timed + 1
    factory, loader = make_data(model, max_iters)
    names = list(VARIANTS)
    runs: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[: r % len(names)]:
            torch.manual_seed(0)
            with tempfile.TemporaryDirectory() as tmp, quiet():
                starts = VARIANTS[name](factory, loader, max_iters, tmp)
            if len(starts) != max_iters:
                raise RuntimeError(f"{name}: {len(starts)} iterations ran, expected {max_iters}")
            runs[name].append(per_iter_ms(starts, warmup, 0))
            cpu[name].append(per_iter_ms(starts, warmup, 1))
    base = statistics.median(runs[BASELINE])
    base_cpu = statistics.median(cpu[BASELINE])
    rows = []
    for name in names:
        med, med_cpu = statistics.median(runs[name]), statistics.median(cpu[name])
        rows.append(dict(model=model, variant=name, ms=med, min_ms=min(runs[name]), max_ms=max(runs[name]),
                         ratio=med / base, overhead_ms=med - base, cpu_ms=med_cpu, min_cpu_ms=min(cpu[name]),
                         max_cpu_ms=max(cpu[name]), cpu_ratio=med_cpu / base_cpu, cpu_overhead_ms=med_cpu - base_cpu,
                         repeats=repeats, timed=timed))
    return rows


MODELS = {
    "tiny": "tiny MLP (16-32-1, batch 8)",
    "demo": "demo tiny ViT segmentor (depth 4, width 64, 32x32, batch 16)",
}


def table(rows: Sequence[dict[str, Any]]) -> str:
    lines = ["| model | variant | CPU ms / iteration (median) | CPU spread (min-max) | vs bare Lightning (CPU) "
             "| CPU overhead vs bare (ms) | wall ms / iteration (median) | wall spread (min-max) | vs bare Lightning (wall) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {MODELS[r['model']]} | {r['variant']} | {r['cpu_ms']:.3f} | {r['min_cpu_ms']:.3f}-{r['max_cpu_ms']:.3f} "
                     f"| {r['cpu_ratio']:.2f}x | {r['cpu_overhead_ms']:+.3f} | {r['ms']:.3f} | {r['min_ms']:.3f}-{r['max_ms']:.3f} "
                     f"| {r['ratio']:.2f}x |")
    return "\n".join(lines)


def environment() -> str:
    return (f"{cpu_model()}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads; Python "
            f"{platform.python_version()}, torch {torch.__version__}, lightning {pl.__version__}")


def render(rows: Sequence[dict[str, Any]], sizes: dict[str, tuple[int, int, int]]) -> str:
    size_text = "; ".join(f"{MODELS[m]}: {w} warm-up + {t} timed iterations, {r} runs" for m, (w, t, r) in sizes.items())
    return (
        "# Benchmark: per-iteration overhead of the translated callbacks\n\n"
        f"Written by `python benchmarks/bench_callbacks.py`. {__doc__.split(chr(10) + chr(10), 1)[1].split('Usage::')[0].strip()}\n\n"
        f"Sizes: {size_text}. Goal: lightning_runtime within 1.10x of bare Lightning.\n\n"
        f"{table(rows)}\n\n{MMENGINE_NOTE}\n\nGPU (AMP fp16/bf16): not measured (no GPU machine was available for these runs).\n\n"
        f"Environment: {environment()} (a shared CPU machine: compare ratios, not milliseconds).\n"
    )


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="few iterations, one run")
    parser.add_argument("--repeats", type=int, default=None, help="runs per variant (default 5, tiny 1)")
    parser.add_argument("--models", default="tiny,demo", help="comma-separated: tiny, demo")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1: steadier on a shared machine; 0 = torch's choice)")
    parser.add_argument("--out", type=Path, default=None, help="also write a markdown report here")
    args = parser.parse_args(argv)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    if args.threads:
        torch.set_num_threads(args.threads)
    sizes = {"tiny": (5, 20, 1), "demo": (2, 4, 1)} if args.tiny else {"tiny": (50, 400, 5), "demo": (10, 100, 3)}
    rows: list[dict[str, Any]] = []
    used = {}
    for model in args.models.split(","):
        warmup, timed, repeats = sizes[model]
        repeats = args.repeats or repeats
        used[model] = (warmup, timed, repeats)
        rows.extend(run(model, warmup, timed, repeats))
    print(table(rows))
    print()
    print("Sizes: " + "; ".join(f"{MODELS[m]}: {w} warm-up + {t} timed iterations, {r} run(s)"
                                for m, (w, t, r) in used.items()) + f"; torch threads {torch.get_num_threads()}.")
    print(MMENGINE_NOTE)
    out = args.out
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render(rows, used))
        print(f"wrote {out}")
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
