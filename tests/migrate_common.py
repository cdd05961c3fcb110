"""Migration scenarios for ``test_migrate``: an MMEngine run stopped mid-way, continued two ways.

Phase ``<name>:stop`` trains with MMEngine's Runner until a ``StopHook`` ends the run after a
checkpoint; phase ``<name>:resume`` continues it (``resume=True`` in that work_dir, or the
checkpoint's path) to ``max_iters`` / ``max_epochs``, once with MMEngine's Runner and once here.
Phase ``<name>:export`` is this package's first phase, whose checkpoint is exported to MMEngine's
format, and ``<name>:from_export`` MMEngine's Runner resuming from the exported file.

The configs are :func:`runner_parity_common.scenario`'s, so the model, data and hooks are those of
``test_runner_parity``.
"""

from __future__ import annotations

import os
from typing import Any

import runner_parity_common as common

#: name -> (the parity scenario it continues, StopHook's iteration, the checkpoint it resumes from, tweaks)
MIGRATIONS: dict[str, tuple[str, int, str, dict[str, Any]]] = {
    # SGD + bias/norm multipliers + momentum schedule; resumed with resume='<work_dir>/iter_4.pth'.
    "sgd_momentum": ("sgd_momentum", 5, "iter_4.pth", {"resume_path": True}),
    # accumulative_counts=2 + clipping: iter_3.pth is written inside the window of iterations 2-3.
    "accumulation_mid_window": ("accumulation_clipping", 4, "iter_3.pth", {"interval": 3, "not_bitwise": True}),
    # MMSeg's layer-decay constructor (its groups carry param_names).
    "layer_decay": ("layer_decay", 5, "iter_4.pth", {}),
    # AdamW + MAE-style custom_keys, LinearLR then PolyLR, save_best='mse' (the best score and file
    # come back from MMEngine's runtime_info); stopped in iteration 5, resumed from iter_4.
    "adamw_paramwise_save_best": ("save_best", 5, "iter_4.pth", {}),
    # EpochBasedTrainLoop, converted warmup + by-epoch MultiStepLR: stopped at the end of epoch 2
    # (MMEngine ends the epoch when a hook stops the loop; Lightning stops after that batch).
    "epoch_loop": ("epoch_loop", 7, "epoch_2.pth", {}),
    # Here -> MMEngine only: MMSeg's layer decay, CheckpointHook writing MMEngine's format itself
    # (format='mmengine', the converter export_mmengine uses, with the live base_param_settings).
    "format_mmengine": ("layer_decay", 5, "iter_4.pth", {"format": "mmengine"}),
}
#: The migrations MMEngine's Runner starts (MMEngine -> here).
FROM_MMENGINE = tuple(sorted(n for n, m in MIGRATIONS.items() if "format" not in m[3]))


def scenario(name: str, work_dir: str) -> dict[str, Any]:
    """The config of ``<migration>:<phase>`` (see the module docstring)."""
    base, _, phase = name.partition(":")
    parity, stop_after, ckpt, tweaks = MIGRATIONS[base]
    cfg = common.scenario(parity)  # (the parity scenario: migrate_run.py leaves those names to it)
    if "interval" in tweaks:
        cfg["default_hooks"]["checkpoint"]["interval"] = tweaks["interval"]
    if "format" in tweaks and phase != "from_export":  # this package's phases only
        cfg["default_hooks"]["checkpoint"]["format"] = tweaks["format"]
    if phase in ("stop", "export"):
        cfg["custom_hooks"] = cfg["custom_hooks"] + [dict(type="StopHook", after_iter=stop_after)]
    elif phase == "resume":
        cfg["resume"] = os.path.join(work_dir, ckpt) if tweaks.get("resume_path") else True
    elif phase == "from_export":  # MMEngine: load_from + resume=True resumes from that file
        cfg.update(resume=True, load_from=os.path.join(work_dir, "exported", ckpt))
    else:
        raise KeyError(name)
    return cfg


def checkpoint_of(name: str) -> str:
    """The file a migration resumes from."""
    return MIGRATIONS[name.partition(":")[0]][2]
