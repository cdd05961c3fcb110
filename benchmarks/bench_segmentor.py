"""A ViT-B-sized segmentor trained end to end on CPU: MMEngine's Runner vs lightning_runtime.

The model is ``lightning_runtime.demo.models.vit_base_segmentor`` (a MAE/BEiT-style ViT: 12 layers,
width 768, patch 16, about 86M backbone parameters; FCN decode and auxiliary heads, 19 classes) on
64x64 inputs, batch 2, cross-entropy + 0.4 x auxiliary loss, in-memory batches. Both sides get the
same config:

* ``optim_wrapper``: ``AdamW(lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05)``, ``clip_grad=dict(
  max_norm=1.0)``, and a ``paramwise_cfg`` with layer-wise lr decay (rate 0.65) written as
  ``custom_keys`` (``backbone.layers.<i>.``: ``lr_mult=0.65**(12-i)``; embeddings and tokens
  ``0.65**13``, tokens without weight decay) plus ``norm_decay_mult=0``, ``bias_decay_mult=0``.
  MMEngine's ``DefaultOptimWrapperConstructor`` makes one param group per parameter from it;
  lightning_runtime merges the parameters whose settings are all equal (and picks torch's fused or
  foreach kernel). (MMSeg's ``LayerDecayOptimizerConstructor`` groups by layer by itself, so it
  would not show MMEngine's per-parameter cost.)
* ``param_scheduler``: ``LinearLR(start_factor=1e-6)`` warm-up then ``PolyLR(power=1.0)``, by iteration;
* ``default_hooks``: MMEngine's defaults, logger interval 50, checkpoints never reached.

Each run is a fresh process (one torch thread); MMEngine's never imports Lightning, ours never
MMEngine, so each carries its own framework's imports only. Figures per run: the mean time per
iteration between iteration starts after the warm-up (wall and process CPU), and memory as the process's
peak resident set size (``ru_maxrss``: RSS, not ``tracemalloc``, which does not see torch's tensor
memory), also shown as growth over the RSS measured just before training starts (framework
imported, model and data built, nothing of the run yet). Runs alternate between the two sides; the
table shows medians with spreads and the ratio lightning_runtime / MMEngine Runner. Goal: <= 0.85x
MMEngine's iteration time with less or equal peak memory.

Default sizes: 2 warm-up + 4 timed iterations, 3 runs per side (a few minutes on 2 cores).

Usage::

    python benchmarks/bench_segmentor.py          # full run
    python benchmarks/bench_segmentor.py --tiny   # a 2-layer, width-64 ViT, seconds
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # benchmarks/ helpers, also when loaded by path
from _child import emit, round_robin, run_child, summarize  # noqa: E402

__all__ = ["SIDES", "segmentor_config", "run", "table", "main"]

SIDES = ("MMEngine Runner", "lightning_runtime")
NEVER = 10**8
LAYER_DECAY = 0.65
NUM_CLASSES = 19


def segmentor_config(depth: int, max_iters: int, work_dir: str) -> dict[str, Any]:
    """The run's config (both sides): AdamW + layer decay as custom_keys, clip_grad, warm-up + poly."""
    keys: dict[str, Any] = {f"backbone.layers.{i}.": dict(lr_mult=LAYER_DECAY ** (depth - i)) for i in range(depth)}
    embed = LAYER_DECAY ** (depth + 1)
    keys.update({"backbone.patch_embed": dict(lr_mult=embed), "backbone.pos_embed": dict(lr_mult=embed, decay_mult=0.0),
                 "backbone.cls_token": dict(lr_mult=embed, decay_mult=0.0)})
    warm = max(1, max_iters // 4)
    return dict(
        work_dir=work_dir,
        train_cfg=dict(type="IterBasedTrainLoop", max_iters=max_iters, val_interval=NEVER),
        val_cfg=None,
        optim_wrapper=dict(
            type="OptimWrapper",
            optimizer=dict(type="AdamW", lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
            paramwise_cfg=dict(custom_keys=keys, norm_decay_mult=0.0, bias_decay_mult=0.0),
            clip_grad=dict(max_norm=1.0, norm_type=2),
        ),
        param_scheduler=[
            dict(type="LinearLR", start_factor=1e-6, by_epoch=False, begin=0, end=warm),
            dict(type="PolyLR", power=1.0, eta_min=0.0, begin=warm, end=max_iters, by_epoch=False),
        ],
        default_hooks=dict(
            timer=dict(type="IterTimerHook"),
            logger=dict(type="LoggerHook", interval=50, log_metric_by_epoch=False),
            param_scheduler=dict(type="ParamSchedulerHook"),
            checkpoint=dict(type="CheckpointHook", by_epoch=False, interval=NEVER, save_last=False),
            sampler_seed=dict(type="DistSamplerSeedHook"),
        ),
        log_processor=dict(by_epoch=False),
    )


def _rss_mb() -> float:
    """Resident set size now (MB), from /proc (Linux); NaN elsewhere."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
    except OSError:
        return float("nan")
    return pages * resource.getpagesize() / 2**20


def child(side: str, tiny: bool, warmup: int, timed: int) -> dict[str, Any]:
    """One training run of ``side`` in this process: time per iteration and memory."""
    import logging

    import torch

    torch.set_num_threads(1)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    if side == "MMEngine Runner":
        import _mmengine_side as mm  # patches time.sleep: MMEngine's process only
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, TensorDataset

    import _workloads as wl  # no Lightning: MMEngine's process does not import it
    from lightning_runtime.demo.models import tiny_vit_segmentor, vit_base_segmentor

    if side != "MMEngine Runner":  # the framework imported before the RSS baseline, as MMEngine's above
        import bench_callbacks as bc
        from lightning_runtime import Runtime

    class SegNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            if tiny:
                self.seg = tiny_vit_segmentor(depth=2, embed_dims=64, num_heads=2, img_size=32, patch_size=8,
                                              num_classes=NUM_CLASSES)
            else:
                self.seg = vit_base_segmentor(num_classes=NUM_CLASSES, img_size=64)

        def loss(self, batch: Sequence[torch.Tensor]) -> torch.Tensor:
            images, labels = batch
            logits, aux = self.seg.forward_train(images)
            return F.cross_entropy(logits, labels) + 0.4 * F.cross_entropy(aux, labels)

    depth, size, bs = (2, 32, 2) if tiny else (12, 64, 2)
    max_iters = warmup + timed + 1
    g = torch.Generator().manual_seed(0)
    images = torch.randn(max_iters * bs, 3, size, size, generator=g)
    labels = torch.randint(0, NUM_CLASSES, (max_iters * bs, size, size), generator=g)
    loader = DataLoader(TensorDataset(images, labels), batch_size=bs, shuffle=False)
    torch.manual_seed(0)
    net = SegNet()
    params = sum(p.numel() for p in net.parameters())
    rss_before = _rss_mb()
    groups = 0
    with tempfile.TemporaryDirectory() as tmp, wl.quiet():
        cfg = segmentor_config(depth, max_iters, tmp)
        if side == "MMEngine Runner":
            stamp = mm.StampHook()
            runner = mm.build_runner(mm.MMModel(net), loader, cfg, [stamp])
            runner.train()
            starts = stamp.times
            groups = len(runner.optim_wrapper.optimizer.param_groups)
        else:
            timer = bc.BatchStarts()
            trainer = Runtime(cfg).fit(bc.BenchModule(net), train_dataloaders=loader, callbacks=[timer],
                                       enable_model_summary=False)
            starts = timer.times
            groups = len(trainer.optimizers[0].param_groups)
    if len(starts) != max_iters:
        raise RuntimeError(f"{side}: {len(starts)} iterations ran, expected {max_iters}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux
    return dict(wall_ms=wl.per_iter_ms(starts, warmup, 0), cpu_ms=wl.per_iter_ms(starts, warmup, 1),
                peak_mb=peak, growth_mb=peak - rss_before, groups=groups, params=params)


def run(tiny: bool, warmup: int, timed: int, repeats: int) -> list[dict[str, Any]]:
    script = Path(__file__).resolve()
    args = ["--warmup", str(warmup), "--timed", str(timed)] + (["--tiny"] if tiny else [])
    runs = round_robin(SIDES, repeats, lambda side: run_child(script, ["--child", side, *args], timeout=1800))
    rows = summarize(runs, ("wall_ms", "cpu_ms", "peak_mb", "growth_mb"), "side")
    for row in rows:
        row.update(groups=runs[row["side"]][0]["groups"], params=runs[row["side"]][0]["params"])
    return rows


def table(rows: Sequence[dict[str, Any]]) -> str:
    lines = ["| side | param groups | wall ms / iteration (median) | wall spread (min-max) | vs MMEngine (wall) "
             "| CPU ms / iteration (median) | vs MMEngine (CPU) | peak RSS MB (median) | peak RSS spread "
             "| vs MMEngine (peak RSS) | RSS growth in training MB | vs MMEngine (growth) | load average during runs |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(
            f"| {r['side']} | {r['groups']} | {r['wall_ms']:.0f} | {r['min_wall_ms']:.0f}-{r['max_wall_ms']:.0f} "
            f"| {r['ratio_wall_ms']:.2f}x | {r['cpu_ms']:.0f} | {r['ratio_cpu_ms']:.2f}x | {r['peak_mb']:.0f} "
            f"| {r['min_peak_mb']:.0f}-{r['max_peak_mb']:.0f} | {r['ratio_peak_mb']:.2f}x | {r['growth_mb']:.0f} "
            f"| {r['ratio_growth_mb']:.2f}x | {r['load']:.1f} |")
    return "\n".join(lines)


def goals(rows: Sequence[dict[str, Any]]) -> list[str]:
    ours = rows[1]
    time_ok = ours["ratio_wall_ms"] <= 0.85
    mem_ok = ours["ratio_peak_mb"] <= 1.0
    mm = rows[0]
    out = [f"Goal lightning_runtime <= 0.85x MMEngine's iteration time: {ours['ratio_wall_ms']:.2f}x wall "
           f"({ours['ratio_cpu_ms']:.2f}x CPU) -> {'met' if time_ok else 'not met'}",
           f"Goal peak memory <= MMEngine's: {ours['ratio_peak_mb']:.2f}x peak RSS "
           f"({ours['peak_mb'] - mm['peak_mb']:+.0f} MB) -> {'met' if mem_ok else 'not met'}"]
    if not mem_ok:
        base_ours, base_mm = ours["peak_mb"] - ours["growth_mb"], mm["peak_mb"] - mm["growth_mb"]
        out.append(f"Why: peak RSS is the process before training (interpreter, torch, the framework's modules, "
                   f"model and data: {base_ours:.0f} MB here, {base_mm:.0f} MB MMEngine's) plus what training adds "
                   f"({ours['growth_mb']:.0f} MB here, {mm['growth_mb']:.0f} MB MMEngine's: gradients, AdamW's two "
                   "moments, activations, and the framework's own objects: the Trainer, its loops, loggers and "
                   "progress bar here; the Runner, its hooks and visualizer there).")
    return out


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="a tiny ViT, one run per side")
    parser.add_argument("--repeats", type=int, default=None, help="runs per side (default 3, tiny 1)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--timed", type=int, default=4)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None, help="also write the printed report here")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.tiny, args.warmup, args.timed)))
        return []
    repeats = args.repeats or (1 if args.tiny else 3)
    rows = run(args.tiny, args.warmup, args.timed, repeats)
    model = ("tiny ViT (2 layers, width 64, 32x32)" if args.tiny
             else "ViT-B segmentor (12 layers, width 768, 64x64 input, batch 2)")
    text = "\n".join([table(rows), "", *goals(rows), "",
                      f"Model: {model}, {rows[0]['params'] / 1e6:.1f}M parameters; {args.warmup} warm-up + "
                      f"{args.timed} timed iterations, {repeats} run(s) per side, each a fresh process, one torch thread."])
    emit(text, args.out)
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
