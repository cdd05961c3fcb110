"""Which checkpoint a run resumes from (MMEngine's ``resume`` / ``load_from`` semantics).

MMEngine's rule (``Runner.load_or_resume``):

* ``resume=True`` and no ``load_from``: resume from the latest checkpoint in ``work_dir`` (the path in
  ``work_dir/last_checkpoint``); when there is none yet, start fresh.
* ``resume=True`` and ``load_from=path``: resume from ``path``.
* ``resume=False`` and ``load_from=path``: load the *weights* of ``path`` and start training from
  iteration 0 (see :func:`lightning_runtime.weights.load_weights`).

Here ``resume`` may also be a path (resume from that file). Unlike MMEngine, the checkpoint picked
automatically is checked first: a truncated or corrupt file (a write killed half-way, a full disk)
is skipped with a warning naming it, and the newest complete checkpoint in ``work_dir`` is used.

Example:
    >>> ckpt_path = resolve_resume(True, None, "work_dirs/exp")  # doctest: +SKIP
    >>> trainer.fit(module, datamodule=dm, ckpt_path=ckpt_path)   # doctest: +SKIP
"""

from __future__ import annotations

import os
import random
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .checkpoint_io import LAST_CHECKPOINT_FILE, is_complete_checkpoint, read_last_checkpoint
from .errors import ConfigError

__all__ = [
    "find_resume_checkpoint",
    "list_checkpoints",
    "resolve_resume",
    "resolve_load_from",
    "collect_rng_states",
    "restore_rng_states",
]

_CKPT_SUFFIXES = (".pth", ".ckpt", ".pt")
_STEP_RE = re.compile(r"(\d+)")


def _warn(msg: str) -> None:
    try:
        from lightning.pytorch.utilities import rank_zero_warn

        rank_zero_warn(msg, stacklevel=3)
    except ImportError:  # pragma: no cover - lightning is a dependency
        warnings.warn(msg, stacklevel=3)


def list_checkpoints(work_dir: str | os.PathLike[str]) -> list[str]:
    """Checkpoint files directly in ``work_dir``, newest first.

    "Newest" is by modification time, then by the number in the name (``iter_2000`` after
    ``iter_1000``). Temporary files from interrupted atomic writes (``.iter_2000.pth.tmp-*``) and
    best-metric copies (``best_*``), which hold no optimizer state, are not listed.
    """
    root = Path(work_dir)
    if not root.is_dir():
        return []
    files = []
    for p in root.iterdir():
        if not p.is_file() or p.name.startswith(".") or p.name.startswith("best_"):
            continue
        if p.suffix not in _CKPT_SUFFIXES:
            continue
        nums = _STEP_RE.findall(p.stem)
        step = int(nums[-1]) if nums else -1
        files.append((p.stat().st_mtime_ns, step, str(p.resolve())))
    files.sort(reverse=True)
    return [f for _, _, f in files]


def find_resume_checkpoint(work_dir: str | os.PathLike[str]) -> str | None:
    """The newest *complete* checkpoint in ``work_dir``, or ``None`` when there is none.

    ``work_dir/last_checkpoint`` is read first (MMEngine's ``find_latest_checkpoint``). When it is
    missing, names a missing file, or names a truncated/corrupt one, the newest complete checkpoint
    in ``work_dir`` is used instead. Every skipped file is named in a warning; a damaged file is
    never returned.
    """
    work_dir = os.fspath(work_dir)
    listed = read_last_checkpoint(work_dir)
    tried: set[str] = set()
    if listed is not None:
        path = listed if os.path.isabs(listed) else os.path.join(work_dir, listed)
        # A work_dir moved to another place keeps working: fall back to the same name here.
        if not os.path.exists(path):
            moved = os.path.join(work_dir, os.path.basename(path))
            if os.path.exists(moved):
                path = moved
        if is_complete_checkpoint(path):
            return os.path.abspath(path)
        tried.add(os.path.abspath(path))
        reason = "does not exist" if not os.path.exists(path) else "is truncated or corrupt"
        _warn(
            f"{os.path.join(work_dir, LAST_CHECKPOINT_FILE)} names {path}, which {reason}; "
            "looking for the newest complete checkpoint in the work_dir instead"
        )
    for candidate in list_checkpoints(work_dir):
        if candidate in tried:
            continue
        if is_complete_checkpoint(candidate):
            return candidate
        _warn(f"skipping {candidate}: truncated or corrupt checkpoint (not used for resume)")
    return None


def resolve_resume(
    resume: bool | str | os.PathLike[str] | None,
    load_from: str | os.PathLike[str] | None,
    work_dir: str | os.PathLike[str],
) -> str | None:
    """The ``ckpt_path`` to give ``Trainer.fit``, following MMEngine's ``load_or_resume``.

    Args:
        resume: ``True`` (latest complete checkpoint in ``work_dir``, or ``load_from`` when that is
            set), ``False``/``None`` (no resume), or a checkpoint path.
        load_from: The config's ``load_from``.
        work_dir: Where checkpoints and ``last_checkpoint`` live.

    Returns:
        A checkpoint path to resume from, or ``None`` to start fresh (then, when ``load_from`` is
        set, call :func:`resolve_load_from` / ``load_weights``).

    Raises:
        ConfigError: ``resume`` or ``load_from`` names a file that does not exist or is damaged.
    """
    if resume is None or resume is False:
        return None
    if isinstance(resume, (str, os.PathLike)):
        return _existing(resume, "resume")
    if resume is not True:
        raise ConfigError(
            f"expected True, False or a checkpoint path, got {resume!r}",
            path="resume",
            fix="set resume=True to continue from work_dir's latest checkpoint, or give a path",
        )
    if load_from is not None:
        return _existing(load_from, "load_from")
    return find_resume_checkpoint(work_dir)


def resolve_load_from(
    resume: bool | str | os.PathLike[str] | None, load_from: str | os.PathLike[str] | None
) -> str | None:
    """The file whose *weights* to load before training, or ``None`` (MMEngine's ``load_checkpoint``).

    ``load_from`` is a weights-only load only when the run does not resume; with ``resume=True``
    MMEngine resumes from ``load_from`` instead (see :func:`resolve_resume`).
    """
    if load_from is None or (resume is not None and resume is not False):
        return None
    return _existing(load_from, "load_from")


def _existing(path: Any, key: str) -> str:
    text = os.fspath(path)
    if not os.path.isfile(text):
        raise ConfigError(
            f"checkpoint file {text!r} does not exist",
            path=key,
            fix=f"check the path (relative paths are relative to the current directory: {os.getcwd()})",
        )
    if not is_complete_checkpoint(text):
        raise ConfigError(
            f"checkpoint file {text!r} is truncated or corrupt",
            path=key,
            fix="use an older checkpoint, or resume=True to pick the newest complete one",
        )
    return os.path.abspath(text)


def collect_rng_states() -> dict[str, Any]:
    """Global RNG states (torch, CUDA, numpy, python) in a ``weights_only``-loadable form.

    Saved in every checkpoint by ``CheckpointHook`` and restored when the resumed run starts
    training (``on_train_start``), so dropout and other model-side randomness continue exactly.
    numpy's key array is stored as a tensor: ``torch.load(weights_only=True)`` refuses ndarrays.
    """
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "torch.cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": [kind, torch.from_numpy(np.asarray(keys, dtype=np.int64)), pos, has_gauss, gauss],
        "python": random.getstate(),
    }


def restore_rng_states(states: dict[str, Any]) -> None:
    """Set the global RNG states returned by :func:`collect_rng_states`."""
    torch.set_rng_state(states["torch"])
    if states.get("torch.cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["torch.cuda"])
    kind, keys, pos, has_gauss, gauss = states["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = states["python"]
    random.setstate((version, tuple(internal), gauss_next))
