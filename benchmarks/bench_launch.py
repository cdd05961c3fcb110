"""Time from the command to the end of the first training iteration: MMEngine's tools/train.py vs ``lightning-runtime fit``.

Both commands train the same tiny MLP (16-32-1, batch 8, 512 samples in memory) with the seed's
runtime (SGD, ``LinearLR`` + ``PolyLR`` over 160k iterations, the default hooks, logger interval
50, checkpoints every 16k iterations), from a config file each:

* MMEngine: ``python benchmarks/launch/mm_train.py benchmarks/launch/mmengine_cfg.py --work-dir D``
  (MMEngine's ``tools/train.py`` reduced to ``Config.fromfile`` + ``Runner.from_cfg(cfg).train()``;
  model, dataset and hook registered from ``benchmarks/launch/mm_side.py`` by ``custom_imports``);
* lightning_runtime: ``python -m lightning_runtime fit --config benchmarks/launch/runtime_cfg.py
  --work_dir=D`` (the ``lightning-runtime`` command; ``model:``/``data:`` class paths and the hook
  from ``benchmarks/launch/lit_side.py``).

A hook in each prints ``time.time()`` at the end of the first training iteration and ends the
process. The figure is that moment minus the moment just before the parent starts the process
(wall), and the child's CPU time (user + system, ``getrusage``). ``.pyc`` files are on under a
private cache prefix (primed by one unmeasured run of each), as an installed package would run.
Runs alternate, the first side rotating; medians with spreads. Goal: no slower than MMEngine.

Usage::

    python benchmarks/bench_launch.py          # 5 runs per side
    python benchmarks/bench_launch.py --tiny   # 1 run per side, no priming
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LAUNCH = HERE / "launch"
sys.path.insert(0, str(HERE))  # benchmarks/ helpers, also when loaded by path
from _child import emit, load_average, round_robin, summarize  # noqa: E402
from bench_startup import child_env  # noqa: E402

__all__ = ["COMMANDS", "run", "table", "main"]

COMMANDS: dict[str, list[str]] = {
    "MMEngine tools/train.py": [str(LAUNCH / "mm_train.py"), str(LAUNCH / "mmengine_cfg.py"), "--work-dir"],
    "lightning-runtime fit": ["-m", "lightning_runtime", "fit", "--config", str(LAUNCH / "runtime_cfg.py"),
                              "--work_dir="],
}


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def launch(name: str) -> dict[str, Any]:
    """Run one command; ``wall_s`` (start to the end of iteration 1), ``cpu_s``, ``load``."""
    argv = list(COMMANDS[name])
    with tempfile.TemporaryDirectory() as tmp:
        work_dir = os.path.join(tmp, "work")
        argv = argv[:-1] + [argv[-1] + work_dir] if argv[-1].endswith("=") else argv + [work_dir]
        env = {**child_env(), "PYTHONPATH": str(LAUNCH), "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"}
        before_load, cpu = load_average(), _cpu_children()
        start = time.time()
        proc = subprocess.run([sys.executable, *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        cpu = _cpu_children() - cpu
    ends = [line for line in proc.stdout.splitlines() if line.startswith("FIRST_ITER_END ")]
    if proc.returncode != 0 or not ends:
        raise RuntimeError(f"{name} exited with {proc.returncode} before the first iteration ended:\n"
                           f"{(proc.stderr or proc.stdout)[-3000:]}")
    return dict(wall_s=float(ends[-1].split()[1]) - start, cpu_s=cpu, load=(before_load + load_average()) / 2)


def run(repeats: int, prime: bool) -> list[dict[str, Any]]:
    names = list(COMMANDS)
    if prime:
        for name in names:
            launch(name)
    return summarize(round_robin(names, repeats, launch), ("wall_s", "cpu_s"), "command")


def table(rows: Sequence[dict[str, Any]]) -> str:
    lines = ["| command | wall s to end of iteration 1 (median) | wall spread (min-max) | vs MMEngine (wall) "
             "| CPU s (median) | CPU spread (min-max) | vs MMEngine (CPU) | load average during runs |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['command']} | {r['wall_s']:.2f} | {r['min_wall_s']:.2f}-{r['max_wall_s']:.2f} "
                     f"| {r['ratio_wall_s']:.2f}x | {r['cpu_s']:.2f} | {r['min_cpu_s']:.2f}-{r['max_cpu_s']:.2f} "
                     f"| {r['ratio_cpu_s']:.2f}x | {r['load']:.1f} |")
    return "\n".join(lines)


def goals(rows: Sequence[dict[str, Any]]) -> list[str]:
    ours = rows[1]
    ok = ours["ratio_wall_s"] <= 1.0
    return [f"Goal start-up no slower than MMEngine's: {ours['ratio_wall_s']:.2f}x wall "
            f"({ours['wall_s'] - rows[0]['wall_s']:+.2f} s), {ours['ratio_cpu_s']:.2f}x CPU -> {'met' if ok else 'not met'}"]


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="one run per command, no priming")
    parser.add_argument("--repeats", type=int, default=None, help="runs per command (default 5, tiny 1)")
    parser.add_argument("--out", type=Path, default=None, help="also write the printed report here")
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.tiny else 5)
    rows = run(repeats, prime=not args.tiny)
    text = "\n".join([table(rows), "", *goals(rows), "",
                      f"{repeats} run(s) per command, alternating; .pyc files on (private cache prefix)."])
    emit(text, args.out)
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
