"""Checkpoint files: atomic writes, safe reads, which file a run resumes from, ``load_from``.

:class:`AtomicCheckpointIO` writes through a temporary file and a rename (a torn file is never
picked), reads with ``torch.load(weights_only=True)`` (:class:`UnsafeCheckpointError` for pickled
code, :class:`CorruptCheckpointError` for truncated files); :func:`find_resume_checkpoint` /
:func:`resolve_resume` follow MMEngine's ``last_checkpoint``; :func:`load_weights` loads MMEngine
``.pth`` or Lightning ``.ckpt`` weights (``load_from``).
"""

from lightning_runtime.checkpoint._io import (
    LAST_CHECKPOINT_FILE,
    AtomicCheckpointIO,
    CorruptCheckpointError,
    UnsafeCheckpointError,
)
from lightning_runtime.checkpoint._load_from import load_weights
from lightning_runtime.checkpoint._resume import find_resume_checkpoint, resolve_resume

__all__ = ["AtomicCheckpointIO", "UnsafeCheckpointError", "CorruptCheckpointError", "load_weights",
           "find_resume_checkpoint", "resolve_resume", "LAST_CHECKPOINT_FILE"]
