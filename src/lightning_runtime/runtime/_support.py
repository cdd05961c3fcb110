"""Small pieces :class:`~lightning_runtime.runtime._runtime.Runtime` needs at fit time.

* :func:`prepare_checkpoints`: everything about ``resume`` / ``load_from`` that must happen before
  the Trainer exists: which file to resume from (MMEngine's ``load_or_resume``, ``resume.py``),
  ``load_from`` weights (``weights.py``), and the resume file read once with ``weights_only=True``
  and checked against the model; every problem is a :class:`ConfigError` before anything is written.
* :func:`check_checkpoint_path`: the same checks for ``validate`` / ``test`` / ``predict``'s ``ckpt_path``.
* :func:`check_resumed_optimizer`: the resume file's optimizer state against the optimizer this run
  built (called from ``Runtime.configure_optimizers``, before Lightning loads it).
* :func:`work_dir_lock`: ``work_dir/.lightning_runtime.lock``, one training run per work_dir.
* :func:`resolve_checkpoints` / :func:`load_weights_into`: the two halves, for callers of their own.
* :func:`epoch_length_of`: training batches per epoch, for ``by_epoch`` schedulers.
* :func:`auto_scale_ratio`: MMEngine's ``auto_scale_lr`` rule.
* :func:`has_mmengine_sampler`: a dataloader that already shards per rank.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import socket
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from lightning_runtime.errors import ConfigError

__all__ = [
    "LOCK_FILE",
    "prepare_checkpoints",
    "check_checkpoint_path",
    "check_checkpoint_hook_cfg",
    "check_resumed_optimizer",
    "checkpoint_dirs",
    "work_dir_lock",
    "resolve_checkpoints",
    "load_weights_into",
    "epoch_length_of",
    "auto_scale_ratio",
    "has_mmengine_sampler",
]

log = logging.getLogger("lightning_runtime")


LOCK_FILE = ".lightning_runtime.lock"
"""Name of the lock file a training run holds in its ``work_dir``."""


def checkpoint_dirs(cfg: Mapping[str, Any], work_dir: Path) -> list[str]:
    """Where this run's CheckpointHook writes besides ``work_dir``: ``out_dir/<work_dir name>``."""
    hooks = cfg.get("default_hooks") if hasattr(cfg, "get") else None
    ckpt = hooks.get("checkpoint") if isinstance(hooks, Mapping) else None
    out_dir = ckpt.get("out_dir") if isinstance(ckpt, Mapping) else None
    if not isinstance(out_dir, (str, os.PathLike)) or not os.fspath(out_dir):
        return []
    base = os.path.basename(os.path.abspath(os.fspath(work_dir)).rstrip(os.sep))
    return [os.path.join(os.path.abspath(os.fspath(out_dir)), base)]


def check_checkpoint_hook_cfg(cfg: Mapping[str, Any]) -> None:
    """Check ``default_hooks.checkpoint.filename_tmpl`` when the Runtime is built.

    A template such as ``'iter_{}_{x}.pth'``, ``'{1}'`` or a lone ``'{'`` would otherwise fail at the
    first save, after ``work_dir`` was written.

    Raises:
        ConfigError: at ``default_hooks.checkpoint.filename_tmpl``.
    """
    hooks = cfg.get("default_hooks") if hasattr(cfg, "get") else None
    ckpt = hooks.get("checkpoint") if isinstance(hooks, Mapping) else None
    if not isinstance(ckpt, Mapping) or ckpt.get("filename_tmpl") is None:
        return
    if str(ckpt.get("type", "CheckpointHook")).rpartition(".")[2] != "CheckpointHook":
        return
    from lightning_runtime.callbacks.checkpoint import _check_filename_tmpl

    try:
        _check_filename_tmpl(ckpt["filename_tmpl"])
    except ConfigError as err:
        raise err.with_location(path="default_hooks.checkpoint") from None


def resolve_checkpoints(resume: Any, load_from: Any, work_dir: Path,
                        dirs: list[str] | None = None) -> tuple[str | None, str | None]:
    """``(ckpt_path to resume from, file to load weights from)`` following MMEngine's rules."""
    from lightning_runtime.checkpoint._resume import resolve_load_from, resolve_resume

    return (resolve_resume(resume, load_from, work_dir, checkpoint_dirs=dirs),
            resolve_load_from(resume, load_from))


def _read_checkpoint(path: str, key: str) -> Any:
    """``safe_load(path)`` with every failure turned into a :class:`ConfigError` at ``key``."""
    from lightning_runtime.checkpoint._io import CorruptCheckpointError, UnsafeCheckpointError, safe_load

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


def load_weights_into(module: Any, path: str, key: str = "load_from") -> Any:
    """Load ``load_from`` weights into ``module`` (an MMEngine ``.pth``, a Lightning ``.ckpt``, a state dict).

    Raises:
        ConfigError: the file cannot be read safely, holds no weights (a list, a tensor, a dict of
            other things), or none of its keys matches the module's.
    """
    from lightning_runtime.checkpoint._io import CorruptCheckpointError, UnsafeCheckpointError
    from lightning_runtime.checkpoint._load_from import load_weights

    try:
        return load_weights(module, path)
    except (UnsafeCheckpointError, CorruptCheckpointError, PermissionError, IsADirectoryError) as exc:
        _read_checkpoint(path, key)  # raises the ConfigError for this failure
        raise ConfigError(str(exc), path=key, fix="check that the file is a checkpoint written by torch.save") from None  # pragma: no cover - safe_load raised above
    except (TypeError, ValueError, RuntimeError) as exc:
        msg = str(exc).replace(f"load_from={path}: ", "")
        raise ConfigError(
            msg if path in msg else f"{path}: {msg}",
            path=key,
            fix="load_from takes a checkpoint of this model: a Lightning .ckpt / CheckpointHook .pth, an MMEngine "
            ".pth with 'state_dict', or a dict of tensors whose names match the model's (see revise_keys in "
            "docs/checkpoints.md)",
        ) from None


def _meta(value: Any) -> Any:
    """Tensors replaced by shape-only ``meta`` tensors (nothing allocated), containers kept."""
    import torch

    if isinstance(value, torch.Tensor):
        return torch.empty(value.shape, dtype=value.dtype, device="meta")
    if isinstance(value, Mapping):
        return {k: _meta(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_meta(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_meta(v) for v in value)
    return value


def check_checkpoint_path(path: str, module: Any, key: str = "ckpt_path", *, strict: bool | None = None) -> dict:
    """Read ``path`` once with ``weights_only=True`` and check it against ``module``, before any Trainer.

    Returns:
        ``{'path', 'key', 'optimizer_states' (shapes only), 'has_scheduler'}`` for the later
        optimizer check (:func:`check_resumed_optimizer`).

    Raises:
        ConfigError: unreadable, unsafe (pickled classes), not a checkpoint dict, or weights that do
            not fit the model (changed width, renamed layers).
    """
    from lightning_runtime.checkpoint._resume import check_model_state

    checkpoint = _read_checkpoint(path, key)
    if not isinstance(checkpoint, Mapping):
        raise ConfigError(
            f"{path} holds a {type(checkpoint).__name__}, not a checkpoint dict", path=key,
            fix="give a checkpoint written by CheckpointHook / Lightning (a dict with 'state_dict')",
        )
    if strict is None:
        strict = bool(getattr(module, "strict_loading", True))
    check_model_state(checkpoint.get("state_dict"), module, path, key=key, strict=strict)
    summary = {
        "path": path,
        "key": key,
        "optimizer_states": _meta(checkpoint.get("optimizer_states")),
        "has_scheduler": bool(checkpoint.get("lr_schedulers")),
    }
    del checkpoint
    return summary


def prepare_checkpoints(rt: Any, module: Any) -> tuple[str | None, str | None]:
    """``resume`` / ``load_from`` for ``Runtime.fit``, every check done before anything is written.

    Resolves the file to resume from (``resume=True``: the newest complete checkpoint of
    ``work_dir``, refusing ``last_checkpoint`` entries outside it), loads ``load_from`` weights,
    and reads the resume file once with ``weights_only=True`` to check it against ``module``
    (weights) and, later, against the optimizer (:func:`check_resumed_optimizer`).

    Returns:
        ``(resume_from, load_from)`` as :func:`resolve_checkpoints` does.
    """
    cfg, ctx = rt.cfg, rt.ctx
    resume, load_from_cfg = cfg.get("resume", False), cfg.get("load_from")
    resume_from, load_from = resolve_checkpoints(resume, load_from_cfg, ctx.work_dir,
                                                 checkpoint_dirs(cfg, ctx.work_dir))
    ctx.extra.update(resume_from=resume_from, load_from=load_from, resume_checkpoint=None,
                     resume_optimizer_checked=False)
    if load_from is not None:
        load_weights_into(module, load_from)
    if resume_from is not None:
        key = "resume" if resume is not True or load_from_cfg is None else "load_from"
        ctx.extra["resume_checkpoint"] = check_checkpoint_path(resume_from, module, key)
    return resume_from, load_from


def check_resumed_optimizer(ctx: Any, optimizer: Any) -> None:
    """Check the resume file's optimizer state against ``optimizer`` (``Runtime.configure_optimizers``).

    Raises:
        ConfigError: another optimizer type, other param groups or parameter counts (what Lightning
            would load into it and fail on at the first step, e.g. ``KeyError: 'momentum'``).
    """
    summary = ctx.extra.get("resume_checkpoint") if ctx is not None else None
    if not summary:
        return
    from lightning_runtime.checkpoint._resume import check_optimizer_state

    check_optimizer_state(summary["optimizer_states"], [optimizer], summary["path"], key=summary["key"])
    ctx.extra["resume_optimizer_checked"] = True


def _global_rank_is_zero() -> bool:
    for var in ("RANK", "LOCAL_RANK", "NODE_RANK", "SLURM_PROCID", "PMI_RANK", "OMPI_COMM_WORLD_RANK",
                "JSM_NAMESPACE_RANK"):
        value = os.environ.get(var)
        if value not in (None, "", "0"):
            return False
    return True


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
    if not _global_rank_is_zero():
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


def epoch_length_of(trainer: Any) -> int | None:
    """Training batches per epoch (``len(train_dataloader)``: one pass, per rank), or ``None`` if unknown.

    Called from ``configure_optimizers``, before Lightning has set up the training data: asks the
    fit loop to set it up now (Lightning does not repeat it afterwards).
    """
    if trainer is None:
        return None
    try:
        if trainer.state.fn != "fit":
            return None
        trainer.fit_loop.setup_data()
        n = trainer.num_training_batches
        loader = trainer.fit_loop._combined_loader
        if callable(getattr(loader, "pass_length", None)):
            # runtime/_data's wrapper: Lightning's epoch is max_iters long, MMEngine's epoch_length
            # is one pass of the train dataloader (len(runner.train_dataloader))
            n = loader.pass_length()
    except Exception as exc:  # a datamodule that cannot be set up yet: leave it unknown
        log.debug("epoch length unknown: %s", exc)
        return None
    if n is None or n == float("inf"):
        return None
    return int(n)


def auto_scale_ratio(auto_scale_lr: Mapping[str, Any] | None, trainer: Any) -> float | None:
    """MMEngine's ``Runner.scale_lr``: ``world_size * batch_size / base_batch_size`` when enabled."""
    if not auto_scale_lr or not auto_scale_lr.get("enable", False):
        return None
    if trainer is None:
        raise ConfigError(
            "auto_scale_lr needs the real batch size, known only inside a Trainer",
            path="auto_scale_lr",
            fix="call rt.configure_optimizers(self) from LightningModule.configure_optimizers",
        )
    trainer.fit_loop.setup_data()
    loader = trainer.train_dataloader
    batch_size = getattr(loader, "batch_size", None)
    if batch_size is None:
        loaders = getattr(loader, "flattened", None) or (list(loader.values()) if isinstance(loader, Mapping) else [])
        batch_size = getattr(loaders[0], "batch_size", None) if loaders else None
    if batch_size is None:
        raise ConfigError("cannot read the training batch size for auto_scale_lr", path="auto_scale_lr",
                          fix="use a torch DataLoader with batch_size set, or disable auto_scale_lr")
    ratio = float(trainer.world_size * batch_size) / float(auto_scale_lr["base_batch_size"])
    log.info("LR is set based on batch size of %s and the current batch size is %s. Scaling the original LR by %s.",
             auto_scale_lr["base_batch_size"], trainer.world_size * batch_size, ratio)
    return ratio


def has_mmengine_sampler(dataloader: Any) -> bool:
    """True when ``dataloader``'s sampler already shards per rank (MMEngine Default/InfiniteSampler, ...).

    Lightning would otherwise wrap it in a ``DistributedSampler`` and shard twice.
    """
    loaders = dataloader if isinstance(dataloader, (list, tuple)) else [dataloader]
    for dl in loaders:
        sampler = getattr(dl, "sampler", None)
        batch_sampler = getattr(dl, "batch_sampler", None)
        for s in (sampler, getattr(batch_sampler, "sampler", None)):
            if s is None:
                continue
            if hasattr(s, "world_size") and hasattr(s, "rank"):
                return True
            if hasattr(s, "num_replicas") and hasattr(s, "rank"):
                return True
    return False


