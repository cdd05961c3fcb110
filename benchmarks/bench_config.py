"""Config loading: every MMSegmentation 1.2.2 config, ``load_config`` vs ``mmengine.Config.fromfile``.

Loads each of the 769 ``.py`` configs shipped in MMSeg's wheel (``mmseg/.mim/configs``) with
:func:`lightning_runtime.config._loader.load_config` (``ast``, never executes the file) and with
``mmengine.Config.fromfile(path, import_custom_modules=False)`` (mmengine-lite 0.10.7, which
executes each file and its ``_base_`` chain). The two loaders run alternately, config by config
and pass by pass (the order flips every pass), so background load on a shared machine hits them
alike. Figures: the median over passes of the total time for all configs, and the median over
configs of each config's median time; ratios are MMEngine / ours. A config that one loader
rejects is counted as a failure of that loader and left out of both timings.

Usage::

    python benchmarks/bench_config.py          # all configs, 3 passes
    python benchmarks/bench_config.py --tiny   # every 20th config (39), one pass
"""

from __future__ import annotations

import argparse
import io
import logging
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

from lightning_runtime.config import load_config

__all__ = ["CONFIG_ROOT", "config_files", "loaders", "run", "table", "main"]

ROOT = Path(__file__).resolve().parents[1]


def _config_root() -> Path:
    try:
        import importlib.util

        spec = importlib.util.find_spec("mmseg")
        if spec is not None and spec.submodule_search_locations:
            return Path(list(spec.submodule_search_locations)[0]) / ".mim" / "configs"
    except (ImportError, ValueError):
        pass
    return ROOT / ".venv" / "lib" / "python3.11" / "site-packages" / "mmseg" / ".mim" / "configs"


CONFIG_ROOT = _config_root()


def _shown(path: Path) -> str:
    parts = path.parts
    return str(Path(*parts[parts.index("mmseg"):])) if "mmseg" in parts else str(path)


def config_files(root: Path = CONFIG_ROOT) -> list[Path]:
    """Every ``.py`` file under ``root``: the model configs and the ``_base_`` fragments (769 in MMSeg 1.2.2)."""
    return sorted(root.rglob("*.py"))


def loaders() -> dict[str, Callable[[str], Any]]:
    """name -> function loading one config file; MMEngine's only where mmengine is installed."""
    out: dict[str, Callable[[str], Any]] = {"lightning_runtime.load_config": load_config}
    try:
        from mmengine.config import Config
    except ImportError:
        return out
    out["mmengine Config.fromfile"] = lambda p: Config.fromfile(p, import_custom_modules=False)
    return out


def run(files: Sequence[Path], passes: int) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """Time every loader on every file ``passes`` times.

    Returns ``(rows, failures)``: one row per loader, and per loader the ``"file: error"`` lines
    of the configs it rejected.
    """
    fns = loaders()
    names = list(fns)
    times: dict[str, dict[str, list[float]]] = {n: {} for n in names}
    failed: dict[str, set[str]] = {n: set() for n in names}
    failures: dict[str, list[str]] = {n: [] for n in names}
    for p in range(passes):
        order = names if p % 2 == 0 else names[::-1]
        for path in files:
            key = str(path)
            for name in order:
                if key in failed[name]:
                    continue
                sink = io.StringIO()
                start = time.perf_counter()
                try:
                    with warnings.catch_warnings(), redirect_stdout(sink), redirect_stderr(sink):
                        warnings.simplefilter("ignore")
                        fns[name](key)
                except Exception as exc:  # a loader rejecting a config is a result, not a crash
                    failed[name].add(key)
                    failures[name].append(f"{path.relative_to(CONFIG_ROOT)}: {type(exc).__name__}: {str(exc)[:160]}")
                    continue
                times[name].setdefault(key, []).append(time.perf_counter() - start)
    ok = [str(f) for f in files if all(str(f) not in failed[n] for n in names)]
    rows: list[dict[str, Any]] = []
    for name in names:
        per_pass = [sum(times[name][k][i] for k in ok) for i in range(passes)] if ok else [0.0]
        per_config = [statistics.median(times[name][k]) for k in ok] or [0.0]
        rows.append(dict(loader=name, configs=len(ok), failed=len(failures[name]), total_s=statistics.median(per_pass),
                         min_total_s=min(per_pass), max_total_s=max(per_pass),
                         per_config_ms=statistics.median(per_config) * 1e3, passes=passes))
    ours = rows[0]
    for r in rows:
        r["ratio_total"] = r["total_s"] / ours["total_s"] if ours["total_s"] else float("nan")
        r["ratio_per_config"] = r["per_config_ms"] / ours["per_config_ms"] if ours["per_config_ms"] else float("nan")
    return rows, failures


def table(rows: Sequence[dict[str, Any]]) -> str:
    lines = ["| loader | configs timed | failed | total s (median of passes) | spread (min-max) | "
             "per-config ms (median) | total vs ours | per-config vs ours |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['loader']} | {r['configs']} | {r['failed']} | {r['total_s']:.2f} | "
                     f"{r['min_total_s']:.2f}-{r['max_total_s']:.2f} | {r['per_config_ms']:.2f} | "
                     f"{r['ratio_total']:.2f}x | {r['ratio_per_config']:.2f}x |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="every 20th config, one pass")
    parser.add_argument("--passes", type=int, default=None, help="passes over all configs (default 3, tiny 1)")
    parser.add_argument("--out", type=Path, default=None, help="also write the table to this markdown file")
    args = parser.parse_args(argv)
    logging.getLogger("mmengine").setLevel(logging.ERROR)
    files = config_files()
    if not files:
        print(f"no configs under {CONFIG_ROOT} (mmsegmentation 1.2.2 installed --no-deps provides them)")
        return []
    if args.tiny:
        files = files[::20]  # 39 configs spread over the tree
    passes = args.passes or (1 if args.tiny else 3)
    rows, failures = run(files, passes)
    text = table(rows)
    if len(rows) == 1:
        text += "\n\nmmengine is not installed: MMEngine's figure is missing (pip install mmengine-lite)."
    for name, why in failures.items():
        if why:
            text += f"\n\n{name} failed on {len(why)} config(s), e.g.:\n" + "\n".join(f"- {w}" for w in why[:5])
    text += f"\n\nConfigs: {len(files)} files under `{_shown(CONFIG_ROOT)}` (model configs and `_base_` fragments), {passes} pass(es)."
    print(text)
    if args.out is not None:
        args.out.write_text("# Benchmark: config loading\n\n" + text + "\n")
        print(f"wrote {args.out}")
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
