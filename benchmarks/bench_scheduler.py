"""Scheduler cost per training iteration: ParamSchedulerStack vs MMEngine's schedulers, same run.

The schedule is the seed's ``LinearLR(0.1, 0-1000) + PolyLR(eta_min=1e-4, power=0.9, 1000-160000)``
(MMSegmentation's most common shape), measured inside the PolyLR window on an SGD optimizer with
1, 30 and 300 param groups (layer decay makes tens to hundreds of groups). MMEngine is driven as
its ParamSchedulerHook drives it: ``step()`` of every scheduler after every iteration. Ours is
measured bare (``step()``) and as the Trainer drives it (a clock attached, the callback's
``step()`` plus Lightning's no-op ``step()`` after the optimizer step). Each figure is the best of
several repeats of process CPU time (wall time on a shared machine is noisy; the ratio is the
figure to compare across machines).

Usage::

    python benchmarks/bench_scheduler.py            # table + docs/benchmarks_scheduler.md
    python benchmarks/bench_scheduler.py --tiny     # smoke run, writes nothing
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import timeit
import warnings
from pathlib import Path

import torch

from lightning_runtime.schedulers import build_scheduler

SEED = [
    dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=1000),
    dict(type="PolyLR", eta_min=1e-4, power=0.9, begin=1000, end=160000, by_epoch=False),
]


def make_optimizer(n_groups: int) -> torch.optim.Optimizer:
    groups = [
        {"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.01 * 0.9 ** (n_groups - 1 - i), "name": f"g{i}"}
        for i in range(n_groups)
    ]
    return torch.optim.SGD(groups, lr=0.01, momentum=0.9)


def per_step_us(fn, steps: int, repeats: int) -> float:
    """Best-of-``repeats`` CPU time per call (process time: robust to other jobs on a shared machine)."""
    return min(timeit.repeat(fn, number=steps, repeat=repeats, timer=time.process_time)) / steps * 1e6


def bench(n_groups: int, steps: int, repeats: int) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = build_scheduler(make_optimizer(n_groups), SEED)
        ours.advance_to(2000)
        bare = per_step_us(ours.step, steps, repeats)

        clocked = build_scheduler(make_optimizer(n_groups), SEED)
        clocked.advance_to(2000)
        counter = [2000]
        clocked.attach_clock(lambda: counter[0])

        def trainer_iteration() -> None:
            counter[0] += 1
            clocked.step()  # ParamSchedulerHook.on_train_batch_end
            clocked.step()  # Lightning's step after the optimizer step: a no-op

        with_clock = per_step_us(trainer_iteration, steps, repeats)

        result = {"groups": n_groups, "ours": bare, "ours_trainer": with_clock}
        try:
            import mmengine.optim  # noqa: F401
            from mmengine.registry import PARAM_SCHEDULERS
        except ImportError:  # mmengine-lite is a test extra
            return result
        opt = make_optimizer(n_groups)
        mm = [PARAM_SCHEDULERS.build(dict(c), default_args=dict(optimizer=opt)) for c in SEED]
        steppers = [s.step for s in mm]
        for _ in range(2000):
            for step in steppers:
                step()

        def mm_iteration() -> None:
            for step in steppers:
                step()

        result["mmengine"] = per_step_us(mm_iteration, steps, repeats)
    return result


def curve_seconds(n_groups: int, iterations: int) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stack = build_scheduler(make_optimizer(n_groups), SEED)
    start = time.process_time()
    stack.curve(iterations)
    return time.process_time() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="smoke run: few steps, writes nothing")
    parser.add_argument("--out", default=None, help="markdown report (default docs/benchmarks_scheduler.md)")
    args = parser.parse_args(argv)
    steps, repeats, curve_its = (200, 2, 2000) if args.tiny else (5000, 9, 160000)
    rows = [bench(n, steps, repeats) for n in (1, 30, 300)]
    curve_s = curve_seconds(30, curve_its)

    header = "| param groups | ours step() µs | ours in Trainer (clock + no-op step) µs | MMEngine µs | MMEngine / ours |"
    lines = [header, "|---:|---:|---:|---:|---:|"]
    for r in rows:
        mm = r.get("mmengine")
        ratio = f"{mm / r['ours']:.2f}x" if mm else "n/a"
        mm_s = f"{mm:.2f}" if mm else "n/a"
        lines.append(f"| {r['groups']} | {r['ours']:.2f} | {r['ours_trainer']:.2f} | {mm_s} | {ratio} |")
    table = "\n".join(lines)
    curve_line = f"Dry run (`curve`) of all {curve_its} iterations, 30 groups: {curve_s:.2f} s CPU."
    print(table)
    print(curve_line)

    if args.tiny and args.out is None:
        return 0
    out = Path(args.out) if args.out else Path(__file__).resolve().parents[1] / "docs" / "benchmarks_scheduler.md"
    env = f"Python {platform.python_version()}, torch {torch.__version__}, {platform.machine()}, {platform.system()}"
    out.write_text(
        "# Scheduler benchmark\n\n"
        "Written by `python benchmarks/bench_scheduler.py`. Cost of the param scheduler per training "
        "iteration for the seed schedule (LinearLR warmup 0-1000 + PolyLR 1000-160000), measured in "
        f"the PolyLR window, best of {repeats} x {steps} steps (process CPU time); MMEngine 0.10.7's schedulers driven as "
        "its ParamSchedulerHook does, in the same run. Goal: under 5 µs per step with 30 groups.\n\n"
        f"{table}\n\n{curve_line}\n\nEnvironment: {env} (a shared CPU machine; compare ratios, not "
        "absolute figures, across machines).\n"
    )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
