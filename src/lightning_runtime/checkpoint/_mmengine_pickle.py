"""MMEngine's pickled objects, read through an allow-list and written under MMEngine's names.

An MMEngine checkpoint pickles more than tensors: ``message_hub['log_scalars']`` holds
``mmengine.logging.history_buffer.HistoryBuffer`` objects (numpy arrays inside, and
``getattr(HistoryBuffer, 'mean')``-style references to its statistics methods), and
``runtime_info`` numpy scalars. ``torch.load(weights_only=True)`` refuses all of them, and
``weights_only=False`` would run whatever a file names. :func:`mmengine_safe_globals` is the
allow-list that reads them and nothing else:

* ``HistoryBuffer`` is read into :class:`HistoryBufferState`, a data-only stand-in (mmengine is
  never imported, and need not be installed);
* ``getattr`` is allowed only as ``getattr(HistoryBuffer, 'mean' | 'max' | 'min' | 'current')``;
* numpy's array, dtype and scalar reconstructors (plain numeric data).

Anything else a file names is refused by torch (``UnsafeCheckpointError`` with the class named,
see :func:`~lightning_runtime.checkpoint._io.safe_load`). :func:`save_mmengine` writes a
checkpoint whose :class:`HistoryBufferState` objects unpickle as MMEngine's ``HistoryBuffer``.

Example:
    >>> buf = HistoryBufferState.from_values([1.0, 3.0], [1, 1])
    >>> buf.values(), buf.counts()
    ([1.0, 3.0], [1.0, 1.0])
"""

from __future__ import annotations

import os
import pickle
import types
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["HISTORY_BUFFER", "HistoryBufferState", "mmengine_safe_globals", "save_mmengine"]

HISTORY_BUFFER = "mmengine.logging.history_buffer.HistoryBuffer"
"""The name MMEngine's ``HistoryBuffer`` is pickled under."""

_STATISTICS = frozenset({"mean", "max", "min", "current"})
_MODULE, _, _NAME = HISTORY_BUFFER.rpartition(".")


class HistoryBufferState:
    """The data of one MMEngine ``HistoryBuffer``: values, their counts and the maximum length.

    What a checkpoint's ``HistoryBuffer`` unpickles into here (attributes ``max_length``,
    ``_log_history``, ``_count_history``, as MMEngine names them), and what
    :func:`save_mmengine` pickles back under MMEngine's class name.
    """

    max_length: int
    _log_history: Any
    _count_history: Any

    @classmethod
    def from_values(cls, values: Sequence[float], counts: Sequence[float], max_length: int = 1_000_000
                    ) -> "HistoryBufferState":
        """A buffer holding ``values`` with ``counts`` (MMEngine keeps both as numpy arrays)."""
        buf = cls.__new__(cls)
        buf.max_length = int(max_length)
        buf._log_history = np.asarray([float(v) for v in values], dtype=np.float64)
        ints = all(float(c).is_integer() for c in counts)
        buf._count_history = np.asarray([int(c) if ints else float(c) for c in counts],
                                        dtype=np.int64 if ints else np.float64)
        return buf

    def values(self) -> list[float]:
        """The logged values, oldest first."""
        return [float(v) for v in np.asarray(getattr(self, "_log_history", []), dtype=np.float64).reshape(-1)]

    def counts(self) -> list[float]:
        """The count of each value."""
        return [float(c) for c in np.asarray(getattr(self, "_count_history", []), dtype=np.float64).reshape(-1)]

    def __getstate__(self) -> dict[str, Any]:
        return {"max_length": int(getattr(self, "max_length", 1_000_000)),
                "_log_history": np.asarray(getattr(self, "_log_history", [])),
                "_count_history": np.asarray(getattr(self, "_count_history", []))}


def _history_buffer_getattr(obj: Any, name: Any) -> str:
    """``getattr`` as MMEngine's pickled ``HistoryBuffer`` uses it, and only so.

    MMEngine pickles the buffer's statistics methods as ``getattr(HistoryBuffer, 'mean')``; the
    name is what comes back (nothing here calls it).
    """
    if obj is HistoryBufferState and isinstance(name, str) and name in _STATISTICS:
        return name
    raise pickle.UnpicklingError(
        f"weights_only load refused GLOBAL builtins.getattr: the checkpoint asks for getattr({obj!r}, {name!r}); "
        f"only getattr({HISTORY_BUFFER}, 'mean'|'max'|'min'|'current') is allowed"
    )


def _numpy_globals() -> list[Any]:
    core = getattr(np, "_core", None) or np.core  # numpy 2 / numpy 1
    out: list[Any] = [np.ndarray, np.dtype]
    for module in ("numpy._core.multiarray", "numpy.core.multiarray"):
        out += [(core.multiarray._reconstruct, f"{module}._reconstruct"), (core.multiarray.scalar, f"{module}.scalar")]
    dtypes = getattr(np, "dtypes", None)
    if dtypes is not None:  # numpy >= 1.25 pickles dtypes by their class
        out += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith("DType") and n != "ObjectDType"]
    return out


def mmengine_safe_globals() -> list[Any]:
    """What ``torch.serialization.safe_globals`` needs to read an MMEngine checkpoint, and no more.

    Example:
        >>> import torch
        >>> with torch.serialization.safe_globals(mmengine_safe_globals()):  # doctest: +SKIP
        ...     checkpoint = torch.load("iter_4000.pth", weights_only=True)
    """
    return [(HistoryBufferState, HISTORY_BUFFER), (_history_buffer_getattr, "builtins.getattr"), *_numpy_globals()]


_PY_PICKLER: Any = getattr(pickle, "_Pickler")  # the Python pickler: its save_global can be overridden


class _MMEnginePickler(_PY_PICKLER):
    """Pickles :class:`HistoryBufferState` as ``mmengine.logging.history_buffer.HistoryBuffer``."""

    def save_global(self, obj: Any, name: Any = None) -> None:
        if obj is HistoryBufferState:
            self.write(pickle.GLOBAL + f"{_MODULE}\n{_NAME}\n".encode())
            self.memoize(obj)
            return
        super().save_global(obj, name)


_PICKLE_MODULE = types.SimpleNamespace(Pickler=_MMEnginePickler, __name__="pickle")


def save_mmengine(checkpoint: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """``torch.save`` for an MMEngine-format checkpoint, atomically (``HistoryBuffer`` under MMEngine's name)."""
    from lightning_runtime.checkpoint._io import atomic_write_bytes

    import torch

    atomic_write_bytes(path, lambda f: torch.save(checkpoint, f, pickle_module=_PICKLE_MODULE))
