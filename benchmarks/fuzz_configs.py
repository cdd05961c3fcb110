"""The large config fuzz run of issue 13: thousands of mutants, counts per outcome and per operator.

Generates ``--n`` mutants (every hand-written trick, controls, then seeded mutants of the MMSeg 1.2.2
configs and the demo configs; see ``tests/fuzz_harness.py``), runs each in a sandboxed child
process (``RLIMIT_AS``, a timeout, an audit hook that records and blocks writes outside the
scratch work_dir and every process spawn) through what ``lightning-runtime explain`` runs plus the
Trainer ``fit`` builds, and prints markdown tables: outcomes, operator x outcome, failure kinds
(with the helper area owning the innermost frame and an example mutant).

Usage::

    python benchmarks/fuzz_configs.py --n 3000 --seed 0 > fuzz.md
    python benchmarks/fuzz_configs.py --n 3000 --seed 0 --repros /work/notes/fuzz_repros --minimize

Every outcome should be ``loads`` or ``ConfigError`` (with a ``fix:`` line); ``loads:suspect``
marks plainly wrong values that loaded (reported, not a failure). Exit code 1 when any mutant
failed, 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import fuzz_harness as fh  # noqa: E402

__all__ = ["main", "save_repros"]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")[:80]


def save_repros(summary: dict, mutants: dict[str, fh.Mutant], results: dict[str, fh.Result], out: Path,
                work: Path, minimize: bool, run_kwargs: dict) -> list[str]:
    """One repro directory per failure kind under ``out`` (config, extra files, ``README.txt``)."""
    out.mkdir(parents=True, exist_ok=True)
    neutral = Path("/tmp/fuzz_repro")  # victim/sentinel paths in repro files point here
    lines = []
    for n, (kind, entry) in enumerate(sorted(summary["kinds"].items(), key=lambda kv: -kv[1]["count"])):
        ex = entry["example"]
        m = mutants[ex.name]
        if minimize and not ex.name.startswith("trick:"):
            m = fh.minimize(m, ex, work / f"min{n}", **run_kwargs)
        d = out / f"{n:02d}_{_slug(entry['area'])}_{_slug(kind)}"
        if d.exists():
            shutil.rmtree(d)
        cfg = fh.write_mutant(m, d, neutral)
        ov = " ".join(f"--{o}" for o in m.overrides)
        wd = "" if m.keep_work_dir else f" --work_dir={neutral}/work_dir"
        (d / "README.txt").write_text(
            f"kind: {kind}\narea: {entry['area']}\ncount: {entry['count']}\nexample: {ex.name}\n"
            f"stage: {ex.stage}\nerror: {ex.error_type} at {ex.where}\nmessage: {ex.message[:1500]}\n"
            f"violations: {ex.violations}\n"
            f"reproduce: mkdir -p {neutral}/victims && echo data > {neutral}/victims/victim.txt && "
            f"cd {neutral}/victims && lightning-runtime explain --config {cfg}{wd} {ov}\n"
            f"  (the fuzz child also builds the Trainer: rt.build_trainer(**trainer_section))\n"
            f"other mutants of this kind: {', '.join(entry['names'][:8])}\n")
        lines.append(f"{d.name}: {ex.name}")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Run the fuzz campaign; print markdown to stdout, progress to stderr."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=3000, help="mutants in all (tricks included)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=25, help="mutants per child process")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds per mutant")
    ap.add_argument("--mem-gb", type=float, default=3.0, help="RLIMIT_AS of each child")
    ap.add_argument("--root", type=Path, default=None, help="work directory (default: a temporary one)")
    ap.add_argument("--json", type=Path, default=None, help="write every result as JSON here")
    ap.add_argument("--repros", type=Path, default=None, help="save one repro per failure kind here")
    ap.add_argument("--minimize", action="store_true", help="shrink generated repros (more runs)")
    ap.add_argument("--no-tricks", action="store_true")
    args = ap.parse_args(argv)

    root = args.root or Path(tempfile.mkdtemp(prefix="fuzz_configs_"))
    if root.exists():
        shutil.rmtree(root)
    t0 = time.perf_counter()
    mutants = fh.generate(args.n, args.seed, with_tricks=not args.no_tricks)
    print(f"generated {len(mutants)} mutants in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    run_kwargs = dict(workers=args.workers, batch_size=args.batch, timeout=args.timeout,
                      mem_bytes=int(args.mem_gb * (1 << 30)))

    def progress(done: int, total: int) -> None:
        print(f"  {done}/{total} ({time.perf_counter() - t0:.0f}s)", file=sys.stderr, flush=True)

    results = fh.run_mutants(mutants, root / "run", progress=progress, **run_kwargs)
    wall = time.perf_counter() - t0
    summary = fh.summarize(results)
    print(f"# Config fuzz: n={len(mutants)} seed={args.seed} ({wall:.0f}s, {args.workers} workers)\n")
    print(fh.markdown_report(summary))
    slow = sorted((r for r in results if r.elapsed > 1.0 and r.ok), key=lambda r: -r.elapsed)
    if slow:
        print("\n| slow (> 1 s) but ok | outcome | seconds |\n|---|---|---:|")
        for r in slow[:20]:
            print(f"| {r.name} | {r.outcome} | {r.elapsed:.1f} |")
    suspect = [r for r in results if r.outcome == "loads:suspect"]
    if suspect:
        print("\nloads:suspect (plainly wrong values that loaded): " + ", ".join(r.name for r in suspect))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=0))
    if args.repros and summary["kinds"]:
        by_name = {m.name: m for m in mutants}
        by_res = {r.name: r for r in results}
        saved = save_repros(summary, by_name, by_res, args.repros, root / "minimize", args.minimize, run_kwargs)
        print(f"\nrepros saved under {args.repros}:", *saved, sep="\n  ", file=sys.stderr)
    if args.root is None:
        shutil.rmtree(root, ignore_errors=True)
    return 1 if any(not r.ok for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
