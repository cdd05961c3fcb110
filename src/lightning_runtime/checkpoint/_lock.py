"""The work_dir lock: one training run per ``work_dir`` (``work_dir/.lightning_runtime.lock``).

:func:`work_dir_lock` is held by ``Runtime.fit`` around ``trainer.fit``; a lock left by a killed
run on this host is taken over with a warning, one held by a live run is a :class:`ConfigError`.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lightning_runtime.errors import ConfigError
from lightning_runtime.utils import env_is_rank_zero

__all__ = ["LOCK_FILE", "work_dir_lock"]

log = logging.getLogger("lightning_runtime")


LOCK_FILE = ".lightning_runtime.lock"
"""Name of the lock file a training run holds in its ``work_dir``."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    return True


def _lock_holder(path: Path) -> dict[str, Any] | None:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return info if isinstance(info, dict) else None


def _make_dirs(path: Path) -> list[Path]:
    """``mkdir -p path``; returns the directories it created (outermost first)."""
    missing: list[Path] = []
    p = path
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    path.mkdir(parents=True, exist_ok=True)
    return list(reversed(missing))


@contextlib.contextmanager
def work_dir_lock(work_dir: str | os.PathLike[str]) -> Iterator[None]:
    """Hold ``work_dir/.lightning_runtime.lock`` (pid, host, start time) while a training run lasts.

    Taken with ``O_CREAT | O_EXCL`` by rank zero only (other ranks of the same run skip it). A lock
    left by a process that no longer exists on this host (a killed run) is taken over with a
    warning. On exit the lock is removed, and a ``work_dir`` this call had to create is removed
    again when it is still empty (a run stopped by a configuration error leaves nothing behind).

    Raises:
        ConfigError: another live run holds the lock (or a run on another host, or the lock file is
            unreadable), or ``work_dir`` cannot be written.
    """
    if not env_is_rank_zero():
        yield
        return
    root = Path(work_dir)
    try:
        created = _make_dirs(root)
    except OSError as exc:
        raise ConfigError(f"cannot create the work_dir {str(root)!r} ({exc.strerror or exc})", path="work_dir",
                          fix="choose a work_dir you can write to") from None
    lock = root / LOCK_FILE
    me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    try:
        for attempt in range(2):
            try:
                fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = _lock_holder(lock)
                pid = holder.get("pid") if holder is not None else None
                stale = (holder is not None and holder.get("host") == me["host"] and isinstance(pid, int)
                         and pid != me["pid"] and not _pid_alive(pid))
                if attempt == 0 and stale:
                    from lightning_runtime.checkpoint._resume import _warn

                    _warn(f"{lock} was left by process {pid} on this host, which is no longer "
                          "running (a killed run); taking the lock over")
                    with contextlib.suppress(FileNotFoundError):
                        lock.unlink()
                    continue
                who = (f"process {holder.get('pid')} on {holder.get('host')} (since {holder.get('started')})"
                       if holder else "an unknown process (the lock file is unreadable)")
                raise ConfigError(
                    f"another run is training in this work_dir: {lock} is held by {who}",
                    path="work_dir",
                    fix="wait until that run ends, or give this run another work_dir; if no run is using it "
                    f"(its machine went down), delete {lock}",
                ) from None
            except OSError as exc:
                raise ConfigError(f"cannot write to the work_dir {str(root)!r} ({exc.strerror or exc})",
                                  path="work_dir", fix="choose a work_dir you can write to") from None
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(me, f)
            break
    except BaseException:
        _remove_created(created)
        raise
    try:
        yield
    finally:
        if (_lock_holder(lock) or {}).get("pid") == me["pid"]:
            with contextlib.suppress(OSError):
                lock.unlink()
        _remove_created(created)


def _remove_created(created: list[Path]) -> None:
    for d in reversed(created):
        try:
            d.rmdir()
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOENT):
                log.debug("could not remove %s: %s", d, exc)
            break
