"""Checkpoint files: atomic writes, safe reads, which file a run resumes from, ``load_from``.

:class:`AtomicCheckpointIO` writes through a temporary file and a rename (a torn file is never
picked), reads with ``torch.load(weights_only=True)`` (:class:`UnsafeCheckpointError` for pickled
code, :class:`CorruptCheckpointError` for truncated files); :func:`find_resume_checkpoint` /
:func:`resolve_resume` follow MMEngine's ``last_checkpoint``; :func:`load_weights` loads MMEngine
``.pth`` or Lightning ``.ckpt`` weights (``load_from``). An MMEngine Runner's checkpoint resumes
here (``resume``; read with an allow-list for its message hub), and :func:`export_mmengine` writes
one of this package's checkpoints in MMEngine's format.
"""

from lightning_runtime.checkpoint._io import (
    LAST_CHECKPOINT_FILE,
    AtomicCheckpointIO,
    CorruptCheckpointError,
    UnsafeCheckpointError,
)
from lightning_runtime.checkpoint._export import export_mmengine
from lightning_runtime.checkpoint._load_from import load_weights
from lightning_runtime.checkpoint._resume import find_resume_checkpoint, resolve_resume

__all__ = ["AtomicCheckpointIO", "UnsafeCheckpointError", "CorruptCheckpointError", "load_weights",
           "find_resume_checkpoint", "resolve_resume", "LAST_CHECKPOINT_FILE", "export_mmengine"]
