"""Checkpoint save time for a ViT-B segmentor: atomic + fsync here vs MMEngine's ``save_checkpoint`` vs Lightning's.

The checkpoint is what a training run saves: the weights of ``vit_base_segmentor`` (ViT-B backbone,
150 classes) and the state of its AdamW optimizer after one step (two moments per parameter), in
one dict, about 1.2 GB. The same dict is written to the same directory three ways:

* ``lightning_runtime AtomicCheckpointIO``: ``torch.save`` into a temporary file in the target
  directory, ``flush`` + ``fsync``, ``os.replace`` over the final name, ``fsync`` of the directory
  (the plugin the Runtime gives the Trainer: a crash leaves the old file or the new one, never a
  torn one);
* ``MMEngine save_checkpoint``: ``mmengine.runner.checkpoint.save_checkpoint`` 0.10.7 (``torch.save``
  into memory, then the local file backend writes the bytes; no ``fsync``);
* ``Lightning TorchCheckpointIO``: Lightning's default plugin (``torch.save`` to a buffer, then
  written to the path through fsspec; no ``fsync``).

Without ``fsync`` a save may return while the bytes are still in the page cache; the atomic save
returns once they are on disk. Saves go round-robin (the first one rotating), each file is deleted
after its save; the figure is the median time with the spread, and the ratio to MMEngine's.

Usage::

    python benchmarks/bench_checkpoint.py          # ViT-B, 5 rounds
    python benchmarks/bench_checkpoint.py --tiny   # a tiny ViT, 2 rounds
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # benchmarks/ helpers, also when loaded by path
from _child import emit, load_average, round_robin, summarize  # noqa: E402

__all__ = ["savers", "make_checkpoint", "run", "table", "main"]


def make_checkpoint(tiny: bool) -> dict[str, Any]:
    """Weights + AdamW state (after one step) of the ViT-B segmentor (or a tiny ViT)."""
    from lightning_runtime.demo.models import tiny_vit_segmentor, vit_base_segmentor

    torch.manual_seed(0)
    model = tiny_vit_segmentor(depth=2, embed_dims=64) if tiny else vit_base_segmentor(num_classes=150)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.05)
    for p in model.parameters():
        p.grad = torch.full_like(p, 1e-3)
    opt.step()
    return {"state_dict": model.state_dict(), "optimizer_states": [opt.state_dict()], "global_step": 1, "epoch": 0}


def savers() -> dict[str, Callable[[dict[str, Any], str], None]]:
    """name -> ``save(checkpoint, path)``."""
    from lightning.pytorch.plugins.io import TorchCheckpointIO

    from lightning_runtime.checkpoint._io import AtomicCheckpointIO

    out: dict[str, Callable[[dict[str, Any], str], None]] = {}
    try:
        from mmengine.runner.checkpoint import save_checkpoint

        out["MMEngine save_checkpoint"] = lambda ckpt, path: save_checkpoint(ckpt, path)
    except ImportError:  # pragma: no cover - mmengine is installed with the test extra
        pass
    out["lightning_runtime AtomicCheckpointIO"] = AtomicCheckpointIO().save_checkpoint
    out["Lightning TorchCheckpointIO"] = TorchCheckpointIO().save_checkpoint
    return out


def run(tiny: bool, repeats: int) -> tuple[list[dict[str, Any]], int]:
    """Rows (median seconds, spread, ratio to MMEngine) and the file size in bytes."""
    ckpt = make_checkpoint(tiny)
    fns = savers()
    size = 0
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_CKPT_DIR")) as tmp:
        def one(name: str) -> dict[str, Any]:
            nonlocal size
            path = os.path.join(tmp, "iter_1.pth")
            load = load_average()
            start = time.perf_counter()
            fns[name](ckpt, path)
            seconds = time.perf_counter() - start
            size = os.path.getsize(path)
            os.remove(path)
            return dict(s=seconds, load=(load + load_average()) / 2)

        runs = round_robin(list(fns), repeats, one)
    return summarize(runs, ("s",), "saver"), size


def table(rows: Sequence[dict[str, Any]]) -> str:
    lines = ["| saver | fsync | save s (median) | spread (min-max) | vs MMEngine save_checkpoint | load average during saves |",
             "|---|---|---:|---:|---:|---:|"]
    for r in rows:
        fsync = "file + directory" if r["saver"].startswith("lightning_runtime") else "no"
        lines.append(f"| {r['saver']} | {fsync} | {r['s']:.2f} | {r['min_s']:.2f}-{r['max_s']:.2f} | {r['ratio_s']:.2f}x "
                     f"| {r['load']:.1f} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="a tiny ViT, 2 rounds")
    parser.add_argument("--repeats", type=int, default=None, help="rounds (default 5, tiny 2)")
    parser.add_argument("--out", type=Path, default=None, help="also write the printed report here")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    repeats = args.repeats or (2 if args.tiny else 5)
    rows, size = run(args.tiny, repeats)
    model = "tiny ViT" if args.tiny else "ViT-B segmentor (150 classes)"
    text = "\n".join([table(rows), "",
                      f"Checkpoint: {model} weights + AdamW state, {size / 2**20:.0f} MiB; {repeats} round(s), "
                      f"written under {tempfile.gettempdir() if not os.environ.get('BENCH_CKPT_DIR') else os.environ['BENCH_CKPT_DIR']}."])
    emit(text, args.out)
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
