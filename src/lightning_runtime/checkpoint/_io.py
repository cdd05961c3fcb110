"""Crash-safe checkpoint files: atomic writes, safe loads, validity checks.

A checkpoint is written to a temporary file *in the same directory*, flushed, ``fsync``-ed and then
renamed over the final name with :func:`os.replace` (atomic on POSIX and Windows), after which the
directory itself is ``fsync``-ed. A process killed at any moment therefore leaves either the old
file, the new complete file, or a stray ``.<name>.tmp-*`` file that nothing ever loads; never a
truncated ``iter_2000.pth``. The ``last_checkpoint`` text file is written the same way and only
after the checkpoint it names is complete.

Loading goes through ``torch.load(weights_only=True)``: tensors, containers and plain Python
values only, plus what an MMEngine checkpoint's message hub pickles (``HistoryBuffer`` read into a
data-only stand-in, numpy arrays and scalars; see :mod:`._mmengine_pickle`). A file that needs arbitrary unpickling (a pickled ``nn.Module``, a custom class) is
refused with :class:`UnsafeCheckpointError`, which names the class the file wanted and the explicit
opt-in ``weights_only=False`` (for files you trust). :func:`checkpoint_problem` says in words why a
file cannot be used (missing, a directory, permission denied, empty, truncated or corrupt), and
:func:`confined_path` is how file names stored *inside* a checkpoint are turned into paths: only
names of files directly in the run's checkpoint directory are accepted.

Example:
    >>> import torch, tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> atomic_save({"w": torch.ones(2)}, os.path.join(d, "iter_1.pth"))
    >>> is_complete_checkpoint(os.path.join(d, "iter_1.pth"))
    True
    >>> safe_load(os.path.join(d, "iter_1.pth"))["w"].tolist()
    [1.0, 1.0]
"""

from __future__ import annotations

import hashlib
import io
import os
import errno
import pickle
import re
import stat
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from lightning_runtime.checkpoint._mmengine_pickle import mmengine_safe_globals
from lightning_runtime.errors import ConfigError

__all__ = [
    "AtomicCheckpointIO",
    "UnsafeCheckpointError",
    "CorruptCheckpointError",
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_save",
    "safe_load",
    "is_complete_checkpoint",
    "checkpoint_problem",
    "confined_path",
    "unsafe_global_name",
    "LAST_CHECKPOINT_FILE",
    "TMP_MARK",
    "write_last_checkpoint",
    "read_last_checkpoint",
    "remove_stale_temp_files",
    "publish_checkpoint",
    "read_checkpoint",
]

LAST_CHECKPOINT_FILE = "last_checkpoint"
"""Name of the text file in ``work_dir`` holding the absolute path of the latest checkpoint."""

TMP_MARK = ".tmp-"
"""Marker in the names of temporary files written by :func:`atomic_write_bytes`."""


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint needs arbitrary unpickling, which ``weights_only=True`` refuses.

    Attributes:
        path: The file.
        global_name: The class or function the file wanted to unpickle (``'pkg.mod.Class'``), or
            ``None`` when torch's message does not name one.
    """

    path: str = ""
    global_name: str | None = None


_GLOBAL_RE = re.compile(r"GLOBAL ([\w.]+)")


def unsafe_global_name(message: str) -> str | None:
    """The dotted name torch's ``weights_only`` refusal names (``GLOBAL __main__.Evil``), or ``None``."""
    match = _GLOBAL_RE.search(message)
    return match.group(1) if match else None


class CorruptCheckpointError(RuntimeError):
    """A checkpoint file is truncated or damaged (e.g. a write killed half-way)."""


def _fsync_dir(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on directories
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes | Callable[[io.BufferedWriter], None]) -> None:
    """Write ``data`` to ``path`` atomically (temp file + flush + fsync + ``os.replace``).

    Args:
        path: Final file name. Its directory is created when missing.
        data: The bytes, or a function writing them into the open binary file.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}{TMP_MARK}", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_save(obj: Any, path: str | os.PathLike[str]) -> None:
    """``torch.save(obj, path)`` made atomic: the file appears complete or not at all."""
    atomic_write_bytes(path, lambda f: torch.save(obj, f))


def is_complete_checkpoint(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a whole, undamaged ``torch.save`` file.

    The zip container ``torch.save`` writes is checked end to end (central directory and the CRC of
    every record), which catches truncation and corrupted bytes without unpickling anything. A
    legacy (non-zip) file is checked by loading it with ``weights_only=True``.
    """
    path = os.fspath(path)
    if not os.path.isfile(path) or os.path.getsize(path) == 0:
        return False
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                return zf.testzip() is None and any(n.endswith("data.pkl") for n in zf.namelist())
        torch.load(path, map_location="cpu", weights_only=True)
        return True
    except Exception:  # noqa: BLE001 - any failure means "not usable"
        return False


def checkpoint_problem(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` cannot be used as a checkpoint, in words, or ``None`` when it is complete.

    The answers: ``'does not exist'``, ``'is a directory, not a checkpoint file'``, ``'is not a
    regular file'``, ``'cannot be read (permission denied)'``, ``'is empty'``, ``'is truncated or
    corrupt'``. Nothing is unpickled (see :func:`is_complete_checkpoint`).
    """
    path = os.fspath(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "does not exist"
    except PermissionError:
        return "cannot be read (permission denied)"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if stat.S_ISDIR(st.st_mode):
        return "is a directory, not a checkpoint file"
    if not stat.S_ISREG(st.st_mode):
        return "is not a regular file"
    try:
        with open(path, "rb"):
            pass
    except PermissionError:
        return "cannot be read (permission denied)"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if st.st_size == 0:
        return "is empty"
    return None if is_complete_checkpoint(path) else "is truncated or corrupt"


def confined_path(name: Any, directory: str | os.PathLike[str]) -> str:
    """The path of a file *named in checkpoint state*, when it is a plain file name in ``directory``.

    Checkpoint state (``CheckpointHook``'s best file, files still to delete, the last checkpoint)
    names files relative to the run's checkpoint directory. A name is accepted only when it is a
    single path component (no ``/``, no ``..``, not hidden) and, once joined to ``directory`` and
    every symlink resolved, still lies directly in ``directory``. An absolute path is accepted when
    it names such a file (checkpoints written before names were stored relative).

    Args:
        name: The name found in the checkpoint.
        directory: The run's checkpoint directory (``work_dir``, or ``out_dir/<work_dir name>``).

    Returns:
        The absolute path (``directory`` joined with the name; symlinks not resolved).

    Raises:
        ValueError: the name is not a string, is empty, hidden, escapes ``directory`` (``..``, an
            absolute path elsewhere, a symlink resolving outside), or is ``last_checkpoint``.
    """
    if not isinstance(name, str) or not name or "\x00" in name:
        raise ValueError(f"{name!r} is not a file name")
    root = os.path.abspath(os.fspath(directory))
    if os.path.isabs(name):
        if os.path.dirname(os.path.normpath(name)) != root and os.path.dirname(os.path.realpath(name)) != os.path.realpath(root):
            raise ValueError(f"{name!r} is outside {root}")
        name = os.path.basename(os.path.normpath(name))
    if name in (".", "..") or os.sep in name or (os.altsep and os.altsep in name) or name.startswith("."):
        raise ValueError(f"{name!r} is not a plain file name in {root}")
    if name == LAST_CHECKPOINT_FILE:
        raise ValueError(f"{name!r} is the last_checkpoint pointer, not a checkpoint")
    path = os.path.join(root, name)
    if os.path.dirname(os.path.realpath(path)) != os.path.realpath(root):
        raise ValueError(f"{path} is a symlink resolving outside {root}")
    return path


def safe_load(
    path: str | os.PathLike[str],
    *,
    map_location: Any = "cpu",
    weights_only: bool = True,
) -> Any:
    """Load a checkpoint with ``torch.load(weights_only=True)`` unless told otherwise.

    Args:
        path: The checkpoint file.
        map_location: Passed to ``torch.load`` (default ``'cpu'``).
        weights_only: ``False`` is the explicit opt-in to arbitrary unpickling; use it only for
            files you trust.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        IsADirectoryError: ``path`` is a directory.
        PermissionError: ``path`` cannot be read (the message says "permission denied").
        UnsafeCheckpointError: the file needs arbitrary unpickling and ``weights_only`` is True.
        CorruptCheckpointError: the file is truncated or damaged.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "is a directory, not a checkpoint file", path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint file not found: {path}")
    try:
        if not weights_only:
            return torch.load(path, map_location=map_location, weights_only=False)
        with torch.serialization.safe_globals(mmengine_safe_globals()):  # MMEngine's message hub, nothing else
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        if weights_only and "weights_only" in str(exc):
            name = unsafe_global_name(str(exc))
            what = f"a pickled {name}" if name else "objects other than tensors and plain Python values"
            err = UnsafeCheckpointError(
                f"{path} cannot be loaded with torch.load(weights_only=True): it holds {what}, "
                "and unpickling it could run arbitrary code. Refusing to load it. If you trust this "
                "file, opt in explicitly with weights_only=False (load_weights(..., "
                "weights_only=False) for load_from, AtomicCheckpointIO(weights_only=False) for "
                "resume), or re-save its tensors as a plain dict."
            )
            err.path, err.global_name = path, name
            raise err from exc
        raise CorruptCheckpointError(f"{path} is not a readable checkpoint: {exc}") from exc
    except PermissionError as exc:
        raise PermissionError(errno.EACCES, "cannot read (permission denied)", path) from exc
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as exc:
        if not is_complete_checkpoint(path):
            raise CorruptCheckpointError(
                f"{path} is truncated or corrupt ({exc}); it was probably being written when the "
                "process died. Delete it, or resume from an older checkpoint."
            ) from exc
        raise


def read_checkpoint(path: str, key: str) -> Any:
    """``safe_load(path)`` with every failure turned into a :class:`ConfigError` at ``key``."""
    try:
        return safe_load(path)
    except UnsafeCheckpointError as exc:
        what = f"a pickled {exc.global_name}" if exc.global_name else "pickled Python objects"
        raise ConfigError(
            f"{path} holds {what}, not only tensors and plain values; it is not loaded, because "
            "unpickling it could run arbitrary code (torch.load(weights_only=True) refuses it)",
            path=key,
            fix="use another checkpoint; if you trust this file, opt in explicitly in Python with "
            "weights_only=False (load_weights(module, path, weights_only=False) for weights, "
            "plugins=[AtomicCheckpointIO(weights_only=False)] to resume) and re-save its tensors as a plain dict",
        ) from None
    except PermissionError:
        raise ConfigError(f"checkpoint file {path!r} cannot be read (permission denied)", path=key,
                          fix="make the file readable (chmod u+r) or copy it somewhere readable") from None
    except (CorruptCheckpointError, IsADirectoryError, FileNotFoundError, OSError) as exc:
        raise ConfigError(f"checkpoint file {path!r} cannot be loaded: {exc}", path=key,
                          fix="use another checkpoint (resume=True picks the newest complete one)") from None


def write_last_checkpoint(work_dir: str | os.PathLike[str], ckpt_path: str | os.PathLike[str]) -> Path:
    """Atomically write ``work_dir/last_checkpoint`` holding the absolute ``ckpt_path`` (as MMEngine)."""
    target = Path(work_dir) / LAST_CHECKPOINT_FILE
    atomic_write_text(target, os.path.abspath(os.fspath(ckpt_path)))
    return target


def read_last_checkpoint(work_dir: str | os.PathLike[str]) -> str | None:
    """The path written in ``work_dir/last_checkpoint``, or ``None`` when there is none."""
    target = Path(work_dir) / LAST_CHECKPOINT_FILE
    try:
        text = target.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):  # missing, a directory, unreadable, not text
        return None
    return text or None


def remove_stale_temp_files(directory: str | os.PathLike[str] | None) -> list[str]:
    """Delete ``.<name>.tmp-*`` files left in ``directory`` by atomic writes a killed run never finished.

    Only regular files directly in ``directory`` (a symlink is not followed, a file that cannot be
    removed is left and skipped).
    """
    removed: list[str] = []
    if directory and os.path.isdir(directory):
        for entry in os.scandir(directory):
            if entry.name.startswith(".") and TMP_MARK in entry.name and entry.is_file(follow_symlinks=False):
                try:
                    os.remove(entry.path)
                except OSError:
                    continue
                removed.append(entry.path)
    return removed


def publish_checkpoint(path: str | os.PathLike[str], keys: list[str]) -> str:
    """MMEngine's ``_publish_model``: keep only ``keys``, save as ``<stem>-<sha256[:8]>.pth``.

    Returns:
        The published file's path.
    """
    checkpoint = safe_load(path)
    for key in [k for k in checkpoint if k not in keys]:
        checkpoint.pop(key)
    buf = io.BytesIO()
    torch.save(checkpoint, buf)
    sha = hashlib.sha256(buf.getvalue()).hexdigest()
    final = os.path.splitext(os.fspath(path))[0] + f"-{sha[:8]}.pth"
    atomic_write_bytes(final, buf.getvalue())
    return final


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning ``CheckpointIO`` that writes atomically and loads with ``weights_only=True``.

    Pass it to the Trainer (``plugins=[AtomicCheckpointIO()]``); ``Runtime`` does so. Only local
    paths are supported (``s3://`` and other fsspec URLs raise ``ValueError``).

    Args:
        weights_only: Default for loading. ``False`` is the explicit opt-in to arbitrary unpickling
            when resuming from a checkpoint you trust.

    Example:
        >>> import lightning as L
        >>> trainer = L.Trainer(plugins=[AtomicCheckpointIO()], logger=False)  # doctest: +SKIP
    """

    def __init__(self, weights_only: bool = True) -> None:
        super().__init__()
        self.weights_only = weights_only

    @staticmethod
    def _local(path: Any) -> str:
        text = os.fspath(path)
        if "://" in text and not text.startswith("file://"):
            raise ValueError(
                f"AtomicCheckpointIO writes local files only, got {text!r}; save to a local work_dir "
                "(and sync it elsewhere afterwards) or use Lightning's TorchCheckpointIO for remote URLs"
            )
        return text[len("file://"):] if text.startswith("file://") else text

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        """Write ``checkpoint`` to ``path`` atomically."""
        if storage_options is not None:
            raise TypeError("AtomicCheckpointIO.save_checkpoint takes no storage_options")
        atomic_save(checkpoint, self._local(path))

    def load_checkpoint(
        self,
        path: Any,
        map_location: Any = lambda storage, loc: storage,
        weights_only: bool | None = None,
    ) -> dict[str, Any]:
        """Load with ``weights_only=True`` (unless this plugin or the caller opted out).

        An MMEngine checkpoint (``iter_N.pth`` of MMEngine's Runner) comes back as the Lightning
        checkpoint this package would have written at the same iteration (see ``_from_mmengine``).
        """
        from lightning_runtime.checkpoint._from_mmengine import is_mmengine_checkpoint, take_mmengine_resume, to_lightning

        wo = self.weights_only if weights_only is None else weights_only
        local = self._local(path)
        checkpoint = safe_load(local, map_location=map_location, weights_only=wo)
        if is_mmengine_checkpoint(checkpoint):
            return to_lightning(checkpoint, take_mmengine_resume(local), path=local)
        return checkpoint

    def remove_checkpoint(self, path: Any) -> None:
        """Delete ``path`` when it exists."""
        try:
            os.remove(self._local(path))
        except FileNotFoundError:
            pass
