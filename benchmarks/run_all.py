"""Run every ``benchmarks/bench_*.py`` and assemble ``docs/benchmarks.md``.

Each script runs in its own process with its default sizes (or ``--tiny``), one after the other;
its printed tables go into ``docs/benchmarks.md`` under the issue's question it answers, after a
headline section that quotes the key ratios, the machine (CPU model, cores, load average) and the
versions. Scripts that also write their own report (``bench_optimizer.py``,
``bench_scheduler.py``) keep doing so in full runs. A failing script is reported in the document
and makes the exit code 1; the others still run.

Usage::

    make bench                                   # = .venv/bin/python benchmarks/run_all.py
    python benchmarks/run_all.py --tiny          # every script with --tiny; prints, writes nothing
    python benchmarks/run_all.py --only callbacks,startup --out /tmp/b.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/_machine.py, also when loaded by path
from _machine import cpu_model  # noqa: E402

__all__ = ["scripts", "run_script", "parse_tables", "headlines", "render", "main"]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_OUT = ROOT / "docs" / "benchmarks.md"
NO_GPU = "not measured (no GPU machine was available for these runs)"

#: script stem -> (issue question number, title)
QUESTIONS: dict[str, tuple[int, str]] = {
    "bench_optimizer": (1, "Optimizer step with paramwise_cfg + layer decay"),
    "bench_callbacks": (2, "Per-iteration overhead of the translated callbacks"),
    "bench_scheduler": (3, "Scheduler step cost"),
    "bench_startup": (4, "Start-up: --help, explain, first iteration, imports"),
    "bench_config": (5, "Config loading: all MMSeg 1.2.2 configs"),
    "bench_runner": (8, "Per-iteration overhead vs MMEngine's Runner and bare Lightning (tiny MLP)"),
    "bench_segmentor": (9, "ViT-B segmentor end to end: MMEngine's Runner vs lightning_runtime (CPU)"),
    "bench_launch": (10, "Command to first iteration: MMEngine's tools/train.py vs lightning-runtime fit"),
    "bench_checkpoint": (11, "Checkpoint save time, ViT-B + AdamW state"),
}


def scripts(only: Sequence[str] | None = None) -> list[Path]:
    """``bench_*.py`` in question order (unknown ones last), optionally filtered by stem suffix."""
    found = sorted(HERE.glob("bench_*.py"), key=lambda p: (QUESTIONS.get(p.stem, (99, ""))[0], p.stem))
    if only:
        wanted = {f"bench_{o.removeprefix('bench_')}" for o in only}
        found = [p for p in found if p.stem in wanted]
    return found


def run_script(path: Path, tiny: bool, timeout: float | None, side_dir: Path | None = None) -> dict[str, Any]:
    """Run one script; returns ``{name, rc, seconds, stdout, stderr}``.

    With ``side_dir``, the script's own report goes to ``side_dir/<name>.md`` (``--out``) instead
    of its default place.
    """
    cmd = [sys.executable, str(path)] + (["--tiny"] if tiny else [])
    if side_dir is not None:
        side_dir.mkdir(parents=True, exist_ok=True)
        cmd += ["--out", str(side_dir / f"{path.stem}.md")]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        rc, out, err = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        rc, out, err = 124, _text(exc.stdout), _text(exc.stderr) + f"\ntimed out after {timeout} s"
    return dict(name=path.stem, rc=rc, seconds=time.perf_counter() - start, stdout=out, stderr=err)


def _text(data: Any) -> str:
    return data.decode(errors="replace") if isinstance(data, bytes) else (data or "")


def parse_tables(text: str) -> list[list[dict[str, str]]]:
    """Every markdown table in ``text`` as a list of ``{header: cell}`` rows."""
    tables: list[list[dict[str, str]]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines) - 1:
        if lines[i].startswith("|") and re.match(r"^\|[\s:|-]+\|$", lines[i + 1].strip()):
            header = [c.strip() for c in lines[i].strip().strip("|").split("|")]
            rows = []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
                rows.append(dict(zip(header, cells)))
                i += 1
            tables.append(rows)
        else:
            i += 1
    return tables


def _rows(text: str) -> list[dict[str, str]]:
    return [row for t in parse_tables(text) for row in t]


def _optimizer(text: str) -> list[str]:
    out = []
    for row in _rows(text):
        if row.get("variant") in ("merged paramwise", "merged layer decay", "MMEngine per-parameter"):
            goal = " (goal: within 1.15x)" if row["variant"].startswith("merged") else ""
            best = row.get("min vs single group fastest min")
            out.append(f"{row['optimizer']} {row['variant']} ({row['groups']} groups): {row['vs single group fastest']} "
                       f"the single-group floor" + (f" (fastest steps: {best})" if best else "") + goal)
    return out


def _callbacks(text: str) -> list[str]:
    rows = _rows(text)
    floor = {r["model"]: float(r["CPU ms / iteration (median)"]) for r in rows
             if r.get("variant") == "bare Lightning, loss not logged"}
    out = []
    for row in rows:
        if not row.get("variant", "").startswith("lightning_runtime"):
            continue
        line = (f"{row['model']}: lightning_runtime {row['vs bare Lightning (CPU)']} bare Lightning in CPU time "
                f"({row['CPU overhead vs bare (ms)']} ms/iteration), {row['vs bare Lightning (wall)']} in wall time "
                "(goal <= 1.10x)")
        if floor.get(row["model"]):
            ratio = float(row["CPU ms / iteration (median)"]) / floor[row["model"]]
            line += f"; {ratio:.2f}x bare Lightning without `self.log` (CPU)"
        out.append(line)
    out += [line for line in text.splitlines() if line.startswith("MMEngine's Runner")]
    return out


def _scheduler(text: str) -> list[str]:
    return [f"groups={row['param groups']}: ours {row['ours step() µs']} µs/step "
            f"(in Trainer {row['ours in Trainer (clock + no-op step) µs']} µs), MMEngine {row['MMEngine µs']} µs: "
            f"MMEngine / ours = {row['MMEngine / ours']}" + (" (goal < 5 µs at 30 groups)" if row["param groups"] == "30" else "")
            for row in _rows(text) if "param groups" in row]


def _startup(text: str) -> list[str]:
    out = [f"{row['measurement']}: `{row['command'].strip('`')}` {row['CPU s (median)']} CPU s "
           f"({row['ratio to baseline (CPU)']} its baseline, {row['added CPU s']} s; wall {row['wall s (median)']} s)"
           for row in _rows(text) if row.get("ratio to baseline (CPU)") not in (None, "baseline")]
    out += [line for line in text.splitlines() if line.startswith("Import goal")]
    return out


def _config(text: str) -> list[str]:
    return [f"{row['loader']}: {row['total s (median of passes)']} s for {row['configs timed']} configs, "
            f"{row['per-config ms (median)']} ms per config: {row['total vs ours']} our time in total, "
            f"{row['per-config vs ours']} per config"
            for row in _rows(text) if row.get("loader", "").startswith("mmengine")]


def _runner(text: str) -> list[str]:
    out = [f"{row['variant']}: {row['CPU ms / iteration (median)']} CPU ms/iteration "
           f"({row['vs MMEngine Runner (CPU)']} MMEngine's Runner, {row['vs bare Lightning, self.log (CPU)']} bare "
           f"Lightning with self.log; wall {row['vs MMEngine Runner (wall)']} / {row['vs bare Lightning, self.log (wall)']})"
           for row in _rows(text) if "variant" in row and "vs MMEngine Runner (CPU)" in row]
    return out


def _segmentor(text: str) -> list[str]:
    out = [f"{row['side']} ({row['param groups']} param groups): {row['wall ms / iteration (median)']} ms/iteration "
           f"({row['vs MMEngine (wall)']} MMEngine's), peak RSS {row['peak RSS MB (median)']} MB ({row['vs MMEngine (peak RSS)']})"
           for row in _rows(text) if "side" in row]
    return out


def _launch(text: str) -> list[str]:
    out = [f"{row['command']}: {row['wall s to end of iteration 1 (median)']} s to the end of iteration 1 "
           f"({row['vs MMEngine (wall)']} MMEngine's; CPU {row['vs MMEngine (CPU)']})"
           for row in _rows(text) if "command" in row]
    return out


def _checkpoint(text: str) -> list[str]:
    return [f"{row['saver']}: {row['save s (median)']} s ({row['vs MMEngine save_checkpoint']} MMEngine's; "
            f"fsync: {row['fsync']})" for row in _rows(text) if "saver" in row]


HEADLINES: dict[str, Callable[[str], list[str]]] = {
    "bench_optimizer": _optimizer,
    "bench_callbacks": _callbacks,
    "bench_scheduler": _scheduler,
    "bench_startup": _startup,
    "bench_config": _config,
    "bench_runner": _runner,
    "bench_segmentor": _segmentor,
    "bench_launch": _launch,
    "bench_checkpoint": _checkpoint,
}


def headlines(result: dict[str, Any]) -> list[str]:
    """The key ratios of one script's output (empty when its table format is not recognised)."""
    fn = HEADLINES.get(result["name"])
    if fn is None or result["rc"] != 0:
        return []
    try:
        return fn(result["stdout"])
    except (KeyError, IndexError):
        return []


def machine() -> str:
    cpu = cpu_model()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return f"{cpu}; {os.cpu_count()} cores; {platform.system()} {platform.release()}; load average now {load}"


def versions() -> str:
    parts = [f"Python {platform.python_version()}"]
    for dist in ("torch", "lightning", "mmengine", "lightning-runtime"):
        try:
            parts.append(f"{dist} {importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            parts.append(f"{dist} not installed")
    return ", ".join(parts)


def _gpu_available() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except ImportError:
        return False


def _body(stdout: str) -> str:
    """A script's output without ``wrote ...`` lines, with a blank line after every table (markdown)."""
    out: list[str] = []
    for line in stdout.rstrip().splitlines():
        if line.startswith("wrote "):
            continue
        if out and out[-1].startswith("|") and line.strip() and not line.startswith("|"):
            out.append("")
        out.append(line)
    return "\n".join(out).strip()


def carried_sections(old: str, produced: set[int]) -> list[str]:
    """``## Q<n>.`` sections of the previous document that no script of this run writes (e.g. Q7, fuzzing).

    Question 6 (GPU) is always written anew; a section of a question measured in this run is replaced.
    """
    out = []
    for part in re.split(r"(?m)^(?=## )", old):
        m = re.match(r"## Q(\d+)\.", part)
        if m and int(m.group(1)) not in produced | {6}:
            out.append(part.rstrip() + "\n")
    return out


def render(results: Sequence[dict[str, Any]], tiny: bool, started: str, load_before: str, previous: str = "") -> str:
    gpu = NO_GPU if not _gpu_available() else "not measured (the scripts time CPU only)"
    lines = [
        "# Benchmarks",
        "",
        "Written by `benchmarks/run_all.py` (`make bench`)" + (" with `--tiny` (smoke sizes: figures not meaningful)" if tiny else "")
        + f" on {started}. Every figure is a ratio against a baseline measured in the same run on the same "
        "machine; absolute times do not carry across machines, and this one is shared and noisy: "
        "quote the ratios, with the spread shown next to each median.",
        "",
        f"- Machine: {machine()} (load average when the run started: {load_before})",
        f"- Versions: {versions()}",
        f"- GPU (question 6: questions 1, 2, 8 and 9 with CUDA and AMP fp16/bf16, demo throughput): {gpu}",
        "",
        "## Headlines",
        "",
    ]
    for r in results:
        q, title = QUESTIONS.get(r["name"], (0, r["name"]))
        found = headlines(r)
        status = "" if r["rc"] == 0 else f" FAILED (exit code {r['rc']})"
        lines.append(f"- **Q{q} {title}**{status}:" + ("" if found else " see the table below"))
        lines.extend(f"  - {h}" for h in found)
    lines += [f"- **Q6 GPU with AMP**: {gpu}", ""]
    goal_lines = [(r["name"], line) for r in results if r["rc"] == 0 for line in r["stdout"].splitlines()
                  if line.startswith(("Goal ", "Why: ", "Import goal"))]
    if goal_lines:
        lines += ["## Goals", "", "Each goal as the script that measures it reports it (CPU-time ratios unless said).", ""]
        for name, line in goal_lines:
            q = QUESTIONS.get(name, (0, name))[0]
            lines.append(f"- Q{q}: {line}")
        lines.append("")
    for r in results:
        q, title = QUESTIONS.get(r["name"], (0, r["name"]))
        lines += [f"## Q{q}. {title}", "",
                  f"`benchmarks/{r['name']}.py`{' --tiny' if tiny else ''}, {r['seconds']:.0f} s. "
                  + _description(ROOT / "benchmarks" / f"{r['name']}.py"), ""]
        if r["rc"] == 0:
            lines += [_body(r["stdout"]), ""]
        else:
            tail = (r["stderr"] or r["stdout"]).strip().splitlines()[-15:]
            lines += [f"Failed with exit code {r['rc']}:", "", "```", *tail, "```", ""]
    lines += ["## Q6. GPU (AMP fp16 and bf16, demo throughput)", "", gpu[0].upper() + gpu[1:] + ".", ""]
    produced = {QUESTIONS.get(r["name"], (0, ""))[0] for r in results}
    lines += carried_sections(previous, produced)
    lines += [
        "## How to rerun",
        "",
        "- Everything: `make bench` (runs `.venv/bin/python benchmarks/run_all.py`, rewrites this file; "
        "`bench_optimizer.py` and `bench_scheduler.py` also rewrite `docs/benchmarks_optimizer.md` and "
        "`docs/benchmarks_scheduler.md`).",
        "- Smoke sizes: `.venv/bin/python benchmarks/run_all.py --tiny` (prints; add `--out FILE` to write).",
        "- One question: `.venv/bin/python benchmarks/bench_<name>.py [--tiny]`, or "
        "`benchmarks/run_all.py --only callbacks,startup --out FILE`.",
        "- Run on an otherwise idle machine when you can; compare ratios, not milliseconds.",
        "",
    ]
    return "\n".join(lines)


def _description(path: Path) -> str:
    """The script's docstring up to ``Usage::``, in markdown."""
    try:
        text = path.read_text()
    except OSError:
        return ""
    m = re.match(r'\s*(?:#[^\n]*\n\s*)*"""(.*?)"""', text, re.S)
    if not m:
        return ""
    doc = m.group(1).split("Usage::")[0].strip().replace("``", "`")
    return re.sub(r":(?:func|class|data|meth):`~?([^`]+)`", r"`\1`", doc)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="run every script with --tiny; writes nothing unless --out")
    parser.add_argument("--only", default=None, help="comma-separated script names (callbacks,startup,...)")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per script (default: none)")
    parser.add_argument("--side-dir", type=Path, default=None,
                        help="give every script --out SIDE_DIR/<name>.md (keeps docs/benchmarks_*.md untouched)")
    parser.add_argument("--out", type=Path, default=None, help=f"markdown file (default {DEFAULT_OUT} for a full run of all)")
    args = parser.parse_args(argv)
    only = [o.strip() for o in args.only.split(",")] if args.only else None
    started = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load_before = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    results = []
    for path in scripts(only):
        print(f"== {path.name}{' --tiny' if args.tiny else ''}", flush=True)
        result = run_script(path, args.tiny, args.timeout, args.side_dir)
        print(_body(result["stdout"]) if result["rc"] == 0 else result["stderr"][-3000:], flush=True)
        print(f"-- {path.name}: exit {result['rc']}, {result['seconds']:.0f} s", flush=True)
        results.append(result)
    out = args.out if args.out is not None else (None if args.tiny or only else DEFAULT_OUT)
    previous = DEFAULT_OUT.read_text() if DEFAULT_OUT.exists() else ""
    text = render(results, args.tiny, started, load_before, previous)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        print(f"wrote {out}")
    else:
        print(text)
    return 0 if all(r["rc"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
