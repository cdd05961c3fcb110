"""``lightning-runtime export CKPT OUT.pth [--weights-only]``: a checkpoint in MMEngine's format.

For MMEngine's tools (``tools/test.py``, MMDeploy, ``mmengine.runner.load_checkpoint``) and for
continuing the run with MMEngine's Runner (``load_from=OUT.pth, resume=True``); see
:func:`lightning_runtime.checkpoint.export_mmengine` and ``docs/checkpoints.md``.
"""

from __future__ import annotations

import argparse
import os
import sys

from lightning_runtime.errors import ConfigError

__all__ = ["export_main", "EXPORT_USAGE"]

EXPORT_USAGE = "lightning-runtime export CKPT OUT.pth [--weights-only] [--prefix PREFIX]"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lightning-runtime export", usage=EXPORT_USAGE,
        description="Write a checkpoint of this package (CheckpointHook / Lightning) in MMEngine's format: meta, "
        "state_dict with the network's own keys, and (unless --weights-only) optimizer, param_schedulers and "
        "message_hub, so that MMEngine's Runner resumes from it (load_from=OUT.pth, resume=True).")
    parser.add_argument("checkpoint", metavar="CKPT", help="the checkpoint to export (iter_N.pth, epoch_N.pth, .ckpt)")
    parser.add_argument("out", metavar="OUT.pth", help="the MMEngine checkpoint to write")
    parser.add_argument("--weights-only", action="store_true", help="write meta and state_dict only")
    parser.add_argument("--prefix", default=None,
                        help="the LightningModule's attribute prefix to strip from the weights' names "
                        "(default: inferred, e.g. 'model.' for self.model = EncoderDecoder(...))")
    return parser


def export_main(argv: list[str]) -> int:
    """Run ``lightning-runtime export``; returns the exit code (2 for a bad file or usage)."""
    from lightning_runtime.checkpoint import export_mmengine

    args = _parser().parse_args(argv)  # usage errors: argparse's message, exit code 2
    try:
        if os.path.abspath(args.out) == os.path.abspath(args.checkpoint):
            raise ConfigError("OUT.pth is the checkpoint being exported", path="out",
                              fix="write the MMEngine checkpoint under another name")
        written = export_mmengine(args.checkpoint, args.out, weights_only=args.weights_only, prefix=args.prefix)
    except ConfigError as err:
        print(f"lightning-runtime: config error\n{err}", file=sys.stderr)
        return 2
    meta = written["meta"]
    parts = [f"state_dict ({len(written['state_dict'])} tensors)"]
    if "optimizer" in written:
        parts.append(f"optimizer ({len(written['optimizer']['param_groups'])} param groups)")
    if "param_schedulers" in written:
        parts.append(f"param_schedulers ({len(written['param_schedulers'])})")
    if "message_hub" in written:
        parts.append("message_hub")
    print(f"{args.out}: MMEngine checkpoint at epoch {meta['epoch']}, iter {meta['iter']}: {', '.join(parts)}")
    return 0
