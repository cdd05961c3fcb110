"""Smoke run of the optimizer benchmark (tiny model, one timed step, writes to tmp_path)."""

from __future__ import annotations

import importlib.util
from pathlib import Path


BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_optimizer.py"


def test_bench_optimizer_tiny(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("bench_optimizer", BENCH)
    bench = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(bench)
    out = tmp_path / "bench.md"
    rows = bench.main(["--tiny", "--steps", "1", "--threads", "1", "--out", str(out)])
    variants = {(r["optimizer"], r["variant"]): r for r in rows}
    assert variants[("AdamW", "MMEngine per-parameter")]["groups"] == 40
    assert variants[("AdamW", "merged paramwise")]["groups"] == 3
    assert variants[("AdamW", "merged layer decay")]["groups"] == 8
    assert min(r["ratio"] for r in rows if r["variant"].startswith("single group")) == 1.0
    text = out.read_text()
    assert "| AdamW | merged layer decay | 8 |" in text and "Rerun:" in text and "torch" in text
