"""Fresh-process runs for the side-by-side benchmarks: one child per run, round-robin, load recorded.

A script calls itself with ``--child VARIANT ...``; the child prints one JSON object as its last
line. :func:`round_robin` runs every variant ``repeats`` times, rotating the starting one, so that
background load on a shared machine hits the variants alike; each result carries the 1-minute load
average read before and after the run (their mean). :func:`summarize` turns the runs into table rows
(median, spread, ratio to the first variant per figure); :func:`emit` prints a script's report (and
writes it with ``--out``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["load_average", "run_child", "round_robin", "summarize", "emit"]


def load_average() -> float:
    """The 1-minute load average (NaN where the OS has none)."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def run_child(script: Path, args: Sequence[str], timeout: float = 900) -> dict[str, Any]:
    """Run ``python script args``; its last stdout line (JSON) plus ``load`` (mean load average)."""
    before = load_average()
    proc = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if proc.returncode != 0:
        raise RuntimeError(f"{script.name} {' '.join(args)} exited with {proc.returncode}:\n{proc.stderr[-3000:]}")
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    out["load"] = (before + load_average()) / 2
    return out


def round_robin(names: Sequence[str], repeats: int, one: Callable[[str], dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """``one(name)`` for every name, ``repeats`` rounds, the starting name rotating each round."""
    runs: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    for r in range(repeats):
        for name in list(names[r % len(names):]) + list(names[: r % len(names)]):
            runs[name].append(one(name))
    return runs


def summarize(runs: dict[str, list[dict[str, Any]]], keys: Sequence[str], label: str) -> list[dict[str, Any]]:
    """One row per variant: ``{label: name, k: median, min_k, max_k, ratio_k, load, repeats}`` for each ``k``.

    Ratios are medians over the first variant's median (the baseline); ``load`` is the mean load average.
    """
    import statistics

    names = list(runs)
    med = {n: {k: statistics.median(x[k] for x in runs[n]) for k in keys} for n in names}
    rows = []
    for n in names:
        row: dict[str, Any] = {label: n, "repeats": len(runs[n]), "load": statistics.mean(x["load"] for x in runs[n])}
        for k in keys:
            vals = [x[k] for x in runs[n]]
            row[k], row[f"min_{k}"], row[f"max_{k}"] = med[n][k], min(vals), max(vals)
            row[f"ratio_{k}"] = med[n][k] / med[names[0]][k]
        rows.append(row)
    return rows


def emit(text: str, out: Path | None) -> None:
    """Print ``text`` (the script's report); also write it to ``out`` when given."""
    print(text)
    if out is not None:
        out.write_text(text + "\n")
        print(f"wrote {out}")
