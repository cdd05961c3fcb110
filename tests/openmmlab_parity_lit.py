"""The Lightning side of ``test_openmmlab_parity``: one real MMSeg config through ``lightning-runtime fit``.

Usage: ``python openmmlab_parity_lit.py RUN WORK_DIR OUT_JSON DATA_ROOT``: runs, in a process of
its own (under ``torchrun --nproc_per_node=2`` for a run of
:data:`openmmlab_parity_common.DDP_RUNS`), what a user types::

    lightning-runtime fit --config <installed mmseg config> --config <recording config> --KEY=VALUE ...

with the same dotted overrides as the reference side and no ``model``/``data`` sections. Imported
by name (the recording config's ``custom_imports``), this module registers the recording hooks in
this package's ``HOOKS``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import openmmlab_parity_common as common  # the script's folder is on sys.path

if __name__ != "__main__":  # imported by the command line's custom_imports
    from lightning_runtime.hooks import Hook
    from lightning_runtime.registry import HOOKS

    common.make_hooks(Hook, HOOKS)


def command(name: str, work_dir: str, out: str, data_root: str) -> list[str]:
    """The command line of run ``name`` (``torchrun`` in front for a two-rank run)."""
    bin_dir = Path(sys.executable).parent
    instrument = common.write_instrument_config(name, out, Path(work_dir).parent / "instrument")
    args = [str(bin_dir / "lightning-runtime"), "fit", "--config", str(common.config_path(name)),
            "--config", str(instrument)]
    args += [f"--{key}={common.cli_value(value)}" for key, value in common.overrides(name, data_root, work_dir).items()]
    if name in common.DDP_RUNS:
        from ddp_utils import free_port

        args = [str(bin_dir / "torchrun"), "--nproc_per_node=2", f"--master_port={free_port()}", *args]
    return args


def main(name: str, work_dir: str, out: str, data_root: str) -> None:
    args = command(name, work_dir, out, data_root)
    proc = subprocess.run(args, env=common.child_env(), cwd=Path(work_dir).parent, capture_output=True, text=True,
                          timeout=280)
    if proc.returncode != 0 or not Path(out).exists():
        sys.exit(f"{' '.join(args)} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")


if __name__ == "__main__":
    main(*sys.argv[1:5])
