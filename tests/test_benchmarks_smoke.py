"""Smoke runs of the benchmarks (``--tiny``, in subprocesses): callbacks, start-up, config, and side by side
with MMEngine's Runner (per-iteration overhead, ViT segmentor end to end, command to first iteration,
checkpoint save).

Timings are not asserted (the machine is shared): each script must exit 0 and print its table
with the rows it promises and a ratio in every row. ``run_all.render`` is checked on real output.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
RATIO = re.compile(r"\| (\d+\.\d\dx|baseline) \|")


def _run(script: str) -> str:
    proc = subprocess.run([sys.executable, str(BENCH / script), "--tiny"], capture_output=True, text=True,
                          timeout=600, cwd=BENCH.parent)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def _table_rows(text: str, first_cell: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(f"| {first_cell}")]


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_bench_callbacks_tiny() -> None:
    out = _run("bench_callbacks.py")
    for model in ("tiny MLP", "demo tiny ViT"):
        rows = _table_rows(out, model)
        assert [r.split(" | ")[1] for r in rows] == ["lightning_runtime (seed hooks)", "bare Lightning",
                                                   "bare Lightning, loss not logged", "hand-written loop"]
        assert all(re.search(r"\| \d+\.\d\dx \|", r) for r in rows)
        assert "| 1.00x |" in rows[1]  # bare Lightning is the baseline
    assert "MMEngine's Runner: measured side by side" in out and "bench_runner.py" in out


@pytest.mark.slow
def test_bench_startup_tiny() -> None:
    out = _run("bench_startup.py")
    rows = [line for line in out.splitlines() if line.startswith("| help") or line.startswith("| import")]
    assert len(rows) == 4 and all(RATIO.search(r) for r in rows)
    assert "`lightning-runtime --help`" in out and "`import lightning`" in out
    assert re.search(r"Import goal \(< 0.3 s over `import lightning`\), CPU time: raw [+-]\d+\.\d\d s", out)


@pytest.fixture(scope="module")
def config_output() -> str:
    return _run("bench_config.py")


@pytest.mark.slow
def test_bench_config_tiny(config_output: str) -> None:
    ours = _table_rows(config_output, "lightning_runtime.load_config")
    theirs = _table_rows(config_output, "mmengine Config.fromfile")
    assert len(ours) == len(theirs) == 1
    assert "| 39 | 0 |" in ours[0]  # every sampled MMSeg config loads
    assert re.search(r"\| \d+\.\d\dx \| \d+\.\d\dx \|$", theirs[0])


@pytest.mark.slow
def test_run_all_renders_real_output(config_output: str) -> None:
    run_all = _load("run_all")
    assert [p.stem for p in run_all.scripts(["config", "callbacks"])] == ["bench_callbacks", "bench_config"]
    result = dict(name="bench_config", rc=0, seconds=1.0, stdout=config_output, stderr="")
    failed = dict(name="bench_startup", rc=1, seconds=1.0, stdout="", stderr="Traceback\nValueError: boom")
    text = run_all.render([result, failed], tiny=True, started="today", load_before="0.0")
    assert "## Headlines" in text and "mmengine Config.fromfile:" in text and "our time in total" in text
    assert "FAILED (exit code 1)" in text and "ValueError: boom" in text
    assert "not measured (no GPU machine was available for these runs)" in text and "make bench" in text
    assert "torch" in text and "lightning" in text and "cores" in text


@pytest.mark.slow
def test_bench_runner_tiny() -> None:
    out = _run("bench_runner.py")
    rows = [line for line in out.splitlines() if line.startswith("| ") and "x |" in line]
    assert [r.split(" | ")[0].lstrip("| ") for r in rows] == [
        "MMEngine Runner", "lightning_runtime", "bare Lightning, self.log", "bare Lightning, no logging",
        "Lightning's loop alone"]
    assert rows[0].count("| 1.00x |") == 2 and rows[2].count("| 1.00x |") == 2  # the two baselines
    assert all(re.search(r"\| \d+\.\d+ \|$", r) for r in rows)  # the load average of every row
    assert re.search(r"Goal lightning_runtime <= 1\.15x MMEngine Runner: \d+\.\d\dx CPU", out)
    assert re.search(r"Goal lightning_runtime <= 1\.00x bare Lightning, self\.log: \d+\.\d\dx CPU", out)
    run_all = _load("run_all")
    heads = run_all.headlines(dict(name="bench_runner", rc=0, stdout=out))
    assert len(heads) == 5 and heads[1].startswith("lightning_runtime: ")


@pytest.mark.slow
def test_bench_segmentor_tiny() -> None:
    out = _run("bench_segmentor.py")
    mm, ours = _table_rows(out, "MMEngine Runner"), _table_rows(out, "lightning_runtime")
    assert len(mm) == len(ours) == 1
    mm_groups, our_groups = int(mm[0].split(" | ")[1]), int(ours[0].split(" | ")[1])
    assert our_groups < mm_groups  # merged groups vs MMEngine's one group per parameter
    assert re.search(r"Goal lightning_runtime <= 0\.85x MMEngine's iteration time: \d+\.\d\dx wall", out)
    assert re.search(r"Goal peak memory <= MMEngine's: \d+\.\d\dx peak RSS", out)


@pytest.mark.slow
def test_bench_launch_tiny() -> None:
    out = _run("bench_launch.py")
    mm, ours = _table_rows(out, "MMEngine tools/train.py"), _table_rows(out, "lightning-runtime fit")
    assert len(mm) == len(ours) == 1 and "| 1.00x |" in mm[0]
    assert re.search(r"Goal start-up no slower than MMEngine's: \d+\.\d\dx wall", out)


@pytest.mark.slow
def test_bench_checkpoint_tiny() -> None:
    out = _run("bench_checkpoint.py")
    rows = [line for line in out.splitlines() if line.startswith("| ") and "x |" in line]
    assert [r.split(" | ")[0].lstrip("| ") for r in rows] == [
        "MMEngine save_checkpoint", "lightning_runtime AtomicCheckpointIO", "Lightning TorchCheckpointIO"]
    assert "| file + directory |" in rows[1] and "| 1.00x |" in rows[0]


def test_readme_speed_table_quotes_docs_benchmarks() -> None:
    """Every ratio in the README's speed table is one that docs/benchmarks.md (the latest run) shows."""
    root = BENCH.parent
    readme = (root / "README.md").read_text()
    section = readme.split("## Speed", 1)[1].split("\n## ", 1)[0]
    ratios = set(re.findall(r"(?<![\d.])\d+\.\d+x", section))
    assert len(ratios) >= 10
    doc = (root / "docs" / "benchmarks.md").read_text()
    missing = sorted(r for r in ratios if r not in doc)
    assert not missing, f"README speed-table ratios not in docs/benchmarks.md: {missing}"


def test_run_all_keeps_sections_no_script_writes() -> None:
    """The fuzzing summary (Q7, written by hand from fuzz_configs.py) survives a rerun; measured ones are replaced."""
    run_all = _load("run_all")
    old = "# B\n\n## Q5. Config\n\nold table\n\n## Q6. GPU\n\nold\n\n## Q7. Fuzzing\n\n| outcome | count |\n\n## How to rerun\n"
    kept = run_all.carried_sections(old, {5, 8})
    assert kept == ["## Q7. Fuzzing\n\n| outcome | count |\n"]
    text = run_all.render([dict(name="bench_config", rc=1, seconds=1.0, stdout="", stderr="boom")], tiny=True,
                          started="today", load_before="0.0", previous=old)
    assert "## Q7. Fuzzing" in text and "old table" not in text
    assert text.index("## Q7. Fuzzing") < text.index("## How to rerun")
