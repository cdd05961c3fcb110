"""Start-up cost: the CLI's ``--help`` and ``explain``, time to the first training iteration, imports.

Every figure comes from fresh Python processes (``sys.executable``), run round-robin several
times; the figure is the median, with the spread (min-max), and each is compared with a baseline
measured in the same run. Ratios are taken on CPU time (user + system of the child, from
``getrusage``, or ``time.process_time()`` around an import statement): on a shared, overloaded
machine it is far steadier than wall time, which is shown beside it.

* ``lightning-runtime --help`` (``python -m lightning_runtime --help``) vs ``python -c pass``;
* ``lightning-runtime explain --config <cfg>`` for the demo config (``configs/demo/seg_vit_shapes.py``:
  builds its model, prints param groups and lr curves) and the seed-like 160k config
  (``benchmarks/configs/seed_160k.py``) vs a process that only runs ``import lightning``;
* time to the end of the first training iteration (process start to ``on_train_batch_end`` of
  batch 0, tiny model, in-memory batches): ``Runtime.from_file(seed_160k.py).fit(...)`` vs a bare
  ``L.Trainer`` with LearningRateMonitor + CSVLogger + ModelCheckpoint + torch's SequentialLR;
* imports, timed inside the child around the statement: ``import lightning_runtime; from
  lightning_runtime import Runtime`` vs ``import lightning`` (goal: < 0.3 s added), raw and with a
  ``gc.collect()`` at the end of both statements. Importing Lightning leaves a full (generation 2)
  garbage collection pending, 0.1-0.7 s here; whatever allocates next pays for it, which in the raw
  figure is our import. With the collection at the end of both, each side pays it once.

Children run with ``.pyc`` files enabled under a private ``PYTHONPYCACHEPREFIX`` (primed by one
unmeasured run), as an installed package would; this sandbox sets ``PYTHONDONTWRITEBYTECODE=1``,
which would make every import compile our sources. In the full run, ``python -X importtime``
(3 runs, least time per module) lists the modules imported by ``from lightning_runtime import
Runtime`` after ``import lightning`` and the time each takes itself.

Usage::

    python benchmarks/bench_startup.py          # full run (3 repeats), prints the tables
    python benchmarks/bench_startup.py --tiny   # --help and the raw import rows, one repeat, no priming
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["run", "table", "import_breakdown", "main"]

ROOT = Path(__file__).resolve().parents[1]
DEMO_CONFIG = ROOT / "configs" / "demo" / "seg_vit_shapes.py"
SEED_CONFIG = ROOT / "benchmarks" / "configs" / "seed_160k.py"
PYCACHE = Path(tempfile.gettempdir()) / "lightning_runtime_bench_pycache"
GOAL_S = 0.3

_MODEL = '''
import os, sys, tempfile, time
import torch, torch.nn as nn, torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset
import lightning.pytorch as pl

class Stop(pl.Callback):
    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        sys.stdout.flush(); sys.stderr.flush(); os._exit(0)

class Net(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 1))
    def training_step(self, batch, batch_idx):
        x, y = batch
        return F.mse_loss(self.net(x), y)

x = torch.randn(512, 16)
loader = DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=8)
tmp = tempfile.mkdtemp()
'''
FIRST_ITER_RUNTIME = _MODEL + f'''
from lightning_runtime import Runtime
rt = Runtime.from_file({str(SEED_CONFIG)!r}, {{"work_dir": tmp}})
rt.fit(Net(), train_dataloaders=loader, callbacks=[Stop()], enable_model_summary=False)
raise SystemExit("training ended before the first iteration")
'''
FIRST_ITER_BARE = _MODEL + '''
from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger

class BareNet(Net):
    def training_step(self, batch, batch_idx):
        loss = super().training_step(batch, batch_idx)
        self.log("loss", loss, prog_bar=True)
        return loss
    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
        sched = torch.optim.lr_scheduler.SequentialLR(opt, [
            torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=1000),
            torch.optim.lr_scheduler.PolynomialLR(opt, total_iters=159000, power=0.9)], milestones=[1000])
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

trainer = pl.Trainer(max_steps=160000, accelerator="cpu", devices=1, default_root_dir=tmp,
                     logger=CSVLogger(tmp), log_every_n_steps=50, enable_model_summary=False,
                     callbacks=[LearningRateMonitor(logging_interval="step"),
                                ModelCheckpoint(dirpath=tmp, every_n_train_steps=16000), Stop()])
trainer.fit(BareNet(), train_dataloaders=loader)
raise SystemExit("training ended before the first iteration")
'''
IMPORT_LIGHTNING = "import lightning"
IMPORT_RUNTIME = "import lightning_runtime; from lightning_runtime import Runtime"


def _timed_stmt(stmt: str, gc_after: bool) -> str:
    tail = "; import gc; gc.collect()" if gc_after else ""
    return (f"import time; t, c = time.perf_counter(), time.process_time(); {stmt}{tail}; "
            "print(time.perf_counter() - t, time.process_time() - c)")


def child_env() -> dict[str, str]:
    """The environment of every child: ``.pyc`` files on, under a private cache prefix."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    env["PYTHONWARNINGS"] = "ignore"
    return env


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(args: Sequence[str], inner: bool) -> tuple[float, float]:
    """``(wall, CPU)`` seconds of the whole process, or (``inner``) the two numbers it prints last."""
    start, cpu = time.perf_counter(), _cpu_children()
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, env=child_env(), capture_output=True, text=True,
                          timeout=600)
    wall, cpu = time.perf_counter() - start, _cpu_children() - cpu
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)[:80]} exited with {proc.returncode}:\n{proc.stderr[-2000:]}")
    if inner:
        w, c = proc.stdout.strip().splitlines()[-1].split()
        return float(w), float(c)
    return wall, cpu


def cases(tiny: bool) -> list[tuple[str, str, list[str], bool]]:
    """(group, label, argv, inner) for every measured command; the first of each group is its baseline."""
    out: list[tuple[str, str, list[str], bool]] = [
        ("help", "python -c pass", ["-c", "pass"], False),
        ("help", "lightning-runtime --help", ["-m", "lightning_runtime", "--help"], False),
        ("import", "import lightning", ["-c", _timed_stmt(IMPORT_LIGHTNING, False)], True),
        ("import", "import lightning_runtime; from lightning_runtime import Runtime",
         ["-c", _timed_stmt(IMPORT_RUNTIME, False)], True),
        ("import+gc", "import lightning; gc.collect()", ["-c", _timed_stmt(IMPORT_LIGHTNING, True)], True),
        ("import+gc", "import lightning_runtime; from lightning_runtime import Runtime; gc.collect()",
         ["-c", _timed_stmt(IMPORT_RUNTIME, True)], True),
    ]
    if tiny:
        return out[:4]
    explain = [("explain", "python -c 'import lightning' (process)", ["-c", IMPORT_LIGHTNING], False)]
    if DEMO_CONFIG.exists():
        explain.append(("explain", f"explain --config {DEMO_CONFIG.relative_to(ROOT)}",
                        ["-m", "lightning_runtime", "explain", "--config", str(DEMO_CONFIG)], False))
    explain.append(("explain", f"explain --config {SEED_CONFIG.relative_to(ROOT)}",
                    ["-m", "lightning_runtime", "explain", "--config", str(SEED_CONFIG)], False))
    first = [
        ("first iteration", "bare Lightning: start to end of iteration 1", ["-c", FIRST_ITER_BARE], False),
        ("first iteration", "Runtime.from_file(seed_160k.py).fit: start to end of iteration 1",
         ["-c", FIRST_ITER_RUNTIME], False),
    ]
    return out + explain + first


def run(tiny: bool = False, repeats: int = 5) -> list[dict[str, Any]]:
    """Run every case ``repeats`` times round-robin (after one unmeasured priming pass)."""
    todo = cases(tiny)
    if not tiny:  # prime the .pyc cache; not measured (a smoke run takes the cache as it is)
        for _, _, argv, inner in todo:
            _run(argv, inner)
    times: dict[str, list[tuple[float, float]]] = {label: [] for _, label, _, _ in todo}
    for r in range(repeats):
        order = todo[r % len(todo):] + todo[: r % len(todo)]
        for _, label, argv, inner in order:
            times[label].append(_run(argv, inner))
    rows: list[dict[str, Any]] = []
    baseline: dict[str, tuple[float, float]] = {}
    for group, label, _, _ in todo:
        wall = [t[0] for t in times[label]]
        cpu = [t[1] for t in times[label]]
        med, med_cpu = statistics.median(wall), statistics.median(cpu)
        base, base_cpu = baseline.setdefault(group, (med, med_cpu))
        rows.append(dict(group=group, label=label, s=med, min_s=min(wall), max_s=max(wall), ratio=med / base,
                         added_s=med - base, cpu_s=med_cpu, min_cpu_s=min(cpu), max_cpu_s=max(cpu),
                         cpu_ratio=med_cpu / base_cpu, added_cpu_s=med_cpu - base_cpu))
    for group in baseline:  # mark the first row of every group as the baseline
        next(r for r in rows if r["group"] == group)["is_baseline"] = True
    return rows


def table(rows: Sequence[dict[str, Any]]) -> str:
    lines = ["| measurement | command | CPU s (median) | CPU spread (min-max) | ratio to baseline (CPU) | added CPU s "
             "| wall s (median) | wall spread (min-max) | ratio to baseline (wall) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        first = r.get("is_baseline")
        ratio = "baseline" if first else f"{r['cpu_ratio']:.2f}x"
        added = "" if first else f"{r['added_cpu_s']:+.2f}"
        wall_ratio = "baseline" if first else f"{r['ratio']:.2f}x"
        lines.append(f"| {r['group']} | `{r['label']}` | {r['cpu_s']:.2f} | {r['min_cpu_s']:.2f}-{r['max_cpu_s']:.2f} "
                     f"| {ratio} | {added} | {r['s']:.2f} | {r['min_s']:.2f}-{r['max_s']:.2f} | {wall_ratio} |")
    return "\n".join(lines)


_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def import_breakdown(runs: int = 3, top: int = 12) -> str:
    """``-X importtime`` of ``from lightning_runtime import Runtime`` after ``import lightning``.

    Returns a markdown table of the modules imported by our statement (least self time over
    ``runs`` runs, largest first) and the total per package.
    """
    best: dict[str, int] = {}
    for _ in range(runs):
        stmt = "import lightning, gc; gc.collect(); print('--mark--', file=__import__('sys').stderr); " + IMPORT_RUNTIME
        proc = subprocess.run([sys.executable, "-X", "importtime", "-c", stmt], cwd=ROOT, env=child_env(),
                              capture_output=True, text=True, timeout=600)
        after = proc.stderr.split("--mark--", 1)[-1]
        for m in _LINE.finditer(after):
            name, self_us = m.group(4), int(m.group(1))
            best[name] = min(best.get(name, self_us), self_us)
    per_pkg: dict[str, int] = {}
    for name, us in best.items():
        pkg = name.split(".")[0]
        per_pkg[pkg] = per_pkg.get(pkg, 0) + us
    lines = ["| module (imported by `from lightning_runtime import Runtime` after `import lightning`) | self ms |",
             "|---|---:|"]
    for name, us in sorted(best.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"| `{name}` | {us / 1e3:.1f} |")
    totals = ", ".join(f"{p} {us / 1e3:.0f} ms" for p, us in sorted(per_pkg.items(), key=lambda kv: -kv[1])[:6])
    return "\n".join(lines) + f"\n\nTotal self time by package ({len(best)} modules): {totals}."


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="--help and import rows only, one repeat")
    parser.add_argument("--repeats", type=int, default=None, help="runs per command (default 3, tiny 1)")
    parser.add_argument("--out", type=Path, default=None, help="also write the tables to this markdown file")
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.tiny else 3)
    rows = run(tiny=args.tiny, repeats=repeats)
    text = table(rows)
    added = {r["group"]: r["added_cpu_s"] for r in rows if not r.get("is_baseline") and r["group"].startswith("import")}
    settled = added.get("import+gc", added["import"])
    verdict = (f"Import goal (< {GOAL_S} s over `import lightning`), CPU time: raw {added['import']:+.2f} s"
               + (f", gc-settled {added['import+gc']:+.2f} s" if "import+gc" in added else "")
               + f" -> {'met' if settled < GOAL_S else 'NOT met'} (medians of {repeats}).")
    text += "\n\n" + verdict
    if not args.tiny:
        text += "\n\n" + import_breakdown()
    print(text)
    if args.out is not None:
        args.out.write_text("# Benchmark: start-up\n\n" + text + "\n")
        print(f"wrote {args.out}")
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
