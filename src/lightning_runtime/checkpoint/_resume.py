"""Which checkpoint a run resumes from (MMEngine's ``resume`` / ``load_from`` semantics).

MMEngine's rule (``Runner.load_or_resume``):

* ``resume=True`` and no ``load_from``: resume from the latest checkpoint in ``work_dir`` (the path in
  ``work_dir/last_checkpoint``); when there is none yet, start fresh.
* ``resume=True`` and ``load_from=path``: resume from ``path``.
* ``resume=False`` and ``load_from=path``: load the *weights* of ``path`` and start training from
  iteration 0 (see :func:`lightning_runtime.checkpoint._load_from.load_weights`).

Here ``resume`` may also be a path (resume from that file). Unlike MMEngine, the checkpoint picked
automatically is checked first: a truncated or corrupt file (a write killed half-way, a full disk),
a directory or an unreadable file is skipped with a warning naming it and the reason, and the
newest complete checkpoint in ``work_dir`` is used. ``work_dir/last_checkpoint`` is trusted only
to name a file in the run's own checkpoint directory: a path elsewhere (a copied or moved
work_dir, a hand-edited file) is refused with a warning; the file of the same name in
``work_dir`` is used when there is one, else the scan.

Example:
    >>> ckpt_path = resolve_resume(True, None, "work_dirs/exp")  # doctest: +SKIP
    >>> trainer.fit(module, datamodule=dm, ckpt_path=ckpt_path)   # doctest: +SKIP
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from collections.abc import Mapping
from typing import Any, Sequence

import torch

from lightning_runtime.checkpoint._io import (
    LAST_CHECKPOINT_FILE,
    checkpoint_problem,
    confined_path,
    read_checkpoint,
    read_last_checkpoint,
)
from lightning_runtime.checkpoint._from_mmengine import (
    MMEngineResume,
    expect_mmengine_resume,
    is_mmengine_checkpoint,
    network_prefix,
)
from lightning_runtime.checkpoint._load_from import load_weights_into
from lightning_runtime.errors import ConfigError

__all__ = [
    "find_resume_checkpoint",
    "list_checkpoints",
    "resolve_resume",
    "resolve_load_from",
    "check_model_state",
    "check_optimizer_state",
    "checkpoint_dirs",
    "check_checkpoint_path",
    "mmengine_resume_context",
    "prepare_checkpoints",
]

_CKPT_SUFFIXES = (".pth", ".ckpt", ".pt")
_STEP_RE = re.compile(r"(\d+)")


def _warn(msg: str) -> None:
    from lightning.pytorch.utilities import rank_zero_warn

    rank_zero_warn(msg, stacklevel=3)


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


def _dirs(work_dir: str, checkpoint_dirs: Sequence[str | os.PathLike[str]] | None) -> list[str]:
    out = [os.path.abspath(work_dir)]
    for d in checkpoint_dirs or ():
        d = os.path.abspath(os.fspath(d))
        if d not in out:
            out.append(d)
    return out


def _listed_candidate(listed: str, dirs: list[str], pointer: str) -> str | None:
    """The file ``last_checkpoint`` names, when it lies in one of the run's checkpoint directories."""
    if not os.path.isabs(listed):
        listed = os.path.join(dirs[0], listed)
    for d in dirs:
        try:
            return confined_path(listed, d)
        except ValueError:
            continue
    # A path elsewhere: never loaded. A work_dir that was copied or moved keeps its files under the
    # same names: use the file of that name here when there is one.
    here = None
    base = os.path.basename(os.path.normpath(listed))
    for d in dirs:
        try:
            candidate = confined_path(base, d)
        except ValueError:
            continue
        if os.path.lexists(candidate):
            here = candidate
            break
    _warn(
        f"{pointer} names {listed}, which is outside this run's checkpoint directory "
        f"({', '.join(dirs)}); it is not used"
        + (f" (using {here}, the file of the same name here)" if here else "; looking for the newest complete "
           "checkpoint in the work_dir instead")
    )
    return here


def find_resume_checkpoint(
    work_dir: str | os.PathLike[str],
    *,
    checkpoint_dirs: Sequence[str | os.PathLike[str]] | None = None,
) -> str | None:
    """The newest *complete* checkpoint in ``work_dir``, or ``None`` when there is none.

    ``work_dir/last_checkpoint`` is read first (MMEngine's ``find_latest_checkpoint``). When it is
    missing, is not a readable text file, names a file outside the run's checkpoint directories,
    names a missing file, or names a damaged or unreadable one, the newest complete checkpoint in
    ``work_dir`` (and ``checkpoint_dirs``) is used instead. Every skipped file is named in a
    warning with the reason; a damaged file is never returned. When files were skipped and none is
    usable, a warning says that training starts from iteration 0.

    Args:
        work_dir: The run's work_dir (where ``last_checkpoint`` lives).
        checkpoint_dirs: Further directories the run writes checkpoints to (``CheckpointHook``'s
            ``out_dir/<work_dir name>``).
    """
    work_dir = os.fspath(work_dir)
    dirs = _dirs(work_dir, checkpoint_dirs)
    pointer = os.path.join(work_dir, LAST_CHECKPOINT_FILE)
    tried: set[str] = set()
    skipped: list[str] = []
    if os.path.isdir(pointer):
        _warn(f"{pointer} is a directory, not the text file naming the latest checkpoint; looking for "
              "the newest complete checkpoint in the work_dir instead")
    elif os.path.lexists(pointer) and read_last_checkpoint(work_dir) is None:
        why = ("cannot be read (permission denied)" if not os.access(pointer, os.R_OK)
               else "is not a text file naming a checkpoint")
        _warn(f"{pointer} {why}; looking for the newest complete checkpoint in the work_dir instead")
    listed = read_last_checkpoint(work_dir) if not os.path.isdir(pointer) else None
    if listed is not None:
        path = _listed_candidate(listed, dirs, pointer)
        if path is not None:
            problem = checkpoint_problem(path)
            if problem is None:
                return os.path.abspath(path)
            tried.add(os.path.abspath(path))
            skipped.append(path)
            _warn(f"{pointer} names {path}, which {problem}; looking for the newest complete checkpoint "
                  "in the work_dir instead")
    for d in dirs:
        for candidate in list_checkpoints(d):
            if candidate in tried:
                continue
            problem = checkpoint_problem(candidate)
            if problem is None:
                return candidate
            tried.add(candidate)
            skipped.append(candidate)
            _warn(f"skipping {candidate}: {'truncated or corrupt checkpoint' if problem == 'is truncated or corrupt' else problem} "
                  "(not used for resume)")
    if skipped:
        _warn(
            f"resume=True found no usable checkpoint in {', '.join(dirs)} ({len(skipped)} skipped, see the "
            "warnings above): training starts from iteration 0"
        )
    return None


def resolve_resume(
    resume: bool | str | os.PathLike[str] | None,
    load_from: str | os.PathLike[str] | None,
    work_dir: str | os.PathLike[str],
    *,
    checkpoint_dirs: Sequence[str | os.PathLike[str]] | None = None,
) -> str | None:
    """The ``ckpt_path`` to give ``Trainer.fit``, following MMEngine's ``load_or_resume``.

    Args:
        resume: ``True`` (latest complete checkpoint in ``work_dir``, or ``load_from`` when that is
            set), ``False``/``None`` (no resume), or a checkpoint path.
        load_from: The config's ``load_from``.
        work_dir: Where checkpoints and ``last_checkpoint`` live.
        checkpoint_dirs: Further directories the run writes checkpoints to (``out_dir``).

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
    return find_resume_checkpoint(work_dir, checkpoint_dirs=checkpoint_dirs)


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
    if not isinstance(path, (str, os.PathLike)):
        raise ConfigError(f"must be a checkpoint file path, got {type(path).__name__} {path!r}", path=key,
                          fix=f"set {key} to the path of a .pth/.ckpt file")
    text = os.fspath(path)
    problem = checkpoint_problem(text) if text and "\x00" not in text else "is not a valid path"
    if problem == "does not exist":
        raise ConfigError(
            f"checkpoint file {text!r} does not exist",
            path=key,
            fix=f"check the path (relative paths are relative to the current directory: {os.getcwd()})",
        )
    if problem is not None:
        fixes = {
            "cannot be read (permission denied)": "make the file readable (chmod u+r) or copy it somewhere readable",
            "is a directory, not a checkpoint file": "give the path of a checkpoint file inside it (e.g. iter_2000.pth)",
        }
        raise ConfigError(
            f"checkpoint file {text!r} {problem}",
            path=key,
            fix=fixes.get(problem, "use an older checkpoint, or resume=True to pick the newest complete one"),
        )
    return os.path.abspath(text)


_VERSION_FLAGS = frozenset({"foreach", "maximize", "capturable", "differentiable", "fused", "decoupled_weight_decay"})
"""Optimizer defaults that torch added over versions (absent from older checkpoints, filled on load)."""

_FIX_CHANGED = (
    "restore the config the checkpoint was trained with to resume it; to start a new run from its "
    "weights only, set load_from={path!r} and resume=False"
)


def _shape(value: Any) -> tuple[int, ...] | None:
    return tuple(value.shape) if isinstance(value, torch.Tensor) else None


def _listing(items: Sequence[str], n: int = 5) -> str:
    shown = ", ".join(items[:n])
    return shown + (f", ... ({len(items)} in all)" if len(items) > n else "")


def check_model_state(state_dict: Any, module: torch.nn.Module, path: str, *, key: str = "resume",
                      strict: bool = True) -> None:
    """Refuse, with a :class:`ConfigError`, a checkpoint whose weights do not fit ``module``.

    Lightning would stop with a size-mismatch or missing-key traceback while restoring. A module
    without parameters yet (built in ``configure_model``) is not checked.

    Args:
        state_dict: The checkpoint's ``state_dict``.
        module: The LightningModule about to be resumed.
        path: The checkpoint file (for the message).
        key: The config key that named the file (``resume``, ``load_from``, ``ckpt_path``).
        strict: Report missing and unexpected keys too (``module.strict_loading``).
    """
    if not isinstance(state_dict, Mapping):
        raise ConfigError(
            f"{path} has no 'state_dict' with the model's weights (found "
            f"{type(state_dict).__name__}); it is not a checkpoint this run can resume from",
            path=key,
            fix="resume from a checkpoint written by CheckpointHook / Lightning; to use an MMEngine .pth or a "
            f"bare state dict, set load_from={path!r} and resume=False",
        )
    own = module.state_dict()
    if not own:
        return
    shapes = [f"{k}: checkpoint {list(v.shape)}, model {list(own[k].shape)}" for k, v in state_dict.items()
              if k in own and isinstance(v, torch.Tensor) and isinstance(own[k], torch.Tensor)
              and tuple(v.shape) != tuple(own[k].shape)]
    missing = [k for k in own if k not in state_dict] if strict else []
    unexpected = [str(k) for k in state_dict if k not in own] if strict else []
    if not (shapes or missing or unexpected):
        return
    parts = []
    if shapes:
        parts.append(f"{len(shapes)} tensor(s) changed shape ({_listing(shapes, 3)})")
    if missing:
        parts.append(f"{len(missing)} model tensor(s) missing from the checkpoint ({_listing(missing)})")
    if unexpected:
        parts.append(f"{len(unexpected)} checkpoint tensor(s) the model does not have ({_listing(unexpected)})")
    raise ConfigError(
        f"the model changed since {path} was written: " + "; ".join(parts),
        path=key,
        fix=_FIX_CHANGED.format(path=path) + " (mismatched tensors are then skipped with a warning)",
    )


def _group_keys(groups: Any) -> set[str]:
    keys: set[str] = set()
    for group in groups if isinstance(groups, (list, tuple)) else []:
        if isinstance(group, Mapping):
            keys |= {str(k) for k in group}
    return keys


_KNOWN_OPTIMIZERS = ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam",
                     "ASGD", "Rprop", "Adafactor", "LBFGS")


def _optimizer_like(keys: set[str]) -> list[str]:
    """torch optimizers whose hyperparameters are exactly what a saved param group holds."""
    best: list[str] = []
    best_n = 0
    for name in _KNOWN_OPTIMIZERS:
        cls = getattr(torch.optim, name, None)
        if cls is None:
            continue
        try:
            need = set(cls([torch.nn.Parameter(torch.zeros(1))], lr=0.01).defaults) - _VERSION_FLAGS
        except Exception:  # noqa: BLE001 - an optimizer with other required arguments: skip it
            continue
        if need <= keys:
            if len(need) > best_n:
                best, best_n = [name], len(need)
            elif len(need) == best_n:
                best.append(name)
    return best


def _sharded(opt: torch.optim.Optimizer) -> bool:
    """True when the optimizer holds sharded or flattened parameters (FSDP, DeepSpeed, DTensor)."""
    for group in opt.param_groups:
        for p in group["params"]:
            if (type(p) not in (torch.nn.Parameter, torch.Tensor) or getattr(p, "_fsdp_flattened", False)
                    or hasattr(p, "ds_id") or type(p.data).__name__ == "DTensor"):
                return True
    return False


def check_optimizer_state(states: Any, optimizers: Sequence[torch.optim.Optimizer], path: str, *,
                          key: str = "resume") -> None:
    """Refuse, with a :class:`ConfigError`, optimizer states that do not fit this run's optimizers.

    Caught: another optimizer type (AdamW's state given to SGD ends in ``KeyError: 'momentum'`` at
    the first step), another number of optimizers, param groups or parameters per group, and
    per-parameter state of another shape. Nothing is checked when the checkpoint has no optimizer
    state (``save_optimizer=False``: the optimizer starts fresh).

    Args:
        states: The checkpoint's ``optimizer_states`` (tensors may be on the ``meta`` device).
        optimizers: This run's optimizers.
        path: The checkpoint (for the message).
        key: The config key that named the file.
    """
    if not isinstance(states, (list, tuple)) or not optimizers:
        return
    fix = _FIX_CHANGED.format(path=path)
    if len(states) != len(optimizers):
        raise ConfigError(f"{path} holds the state of {len(states)} optimizer(s), this run builds "
                          f"{len(optimizers)}", path=key, fix=fix)
    for state, opt in zip(states, optimizers):
        if not isinstance(state, Mapping):
            raise ConfigError(f"{path}: an optimizer state is a {type(state).__name__}, not a dict", path=key, fix=fix)
        groups = state.get("param_groups")
        saved = _group_keys(groups)
        need = set(opt.defaults) - _VERSION_FLAGS
        lacking = sorted(need - saved)
        name = type(opt).__name__
        if lacking:
            like = _optimizer_like(saved)
            if {"Adam", "AdamW"} <= set(like):  # the same hyperparameters; torch records which one
                decoupled = {g.get("decoupled_weight_decay") for g in groups or [] if isinstance(g, Mapping)}
                if decoupled in ({True}, {False}):
                    like = ["AdamW" if decoupled == {True} else "Adam"]
            was = f" (saved by {' or '.join(like)})" if like else ""
            own = sorted(saved - need - _VERSION_FLAGS - {"params", "param_names", "name", "initial_lr"})
            raise ConfigError(
                f"the optimizer type changed: {path} holds optimizer state{was} with hyperparameters "
                f"{own}, but this run's {name} needs {lacking}, which it lacks",
                path=key,
                fix=(f"set optim_wrapper.optimizer.type back to {like[0]!r} (the checkpoint's) to resume it; to "
                     f"start a new run from its weights only, set load_from={path!r} and resume=False"
                     if len(like) == 1 else fix),
            )
        new_groups = opt.param_groups
        if not isinstance(groups, (list, tuple)) or _sharded(opt):
            continue  # sharded strategies (FSDP, DeepSpeed) save and load their own layout
        if len(groups) != len(new_groups):
            names = [g.get("name", i) for i, g in enumerate(groups or []) if isinstance(g, Mapping)]
            raise ConfigError(
                f"the optimizer's param groups changed: {path} has {len(names)} group(s) {names}, this "
                f"run builds {len(new_groups)} {[g.get('name', i) for i, g in enumerate(new_groups)]} "
                "(paramwise_cfg, layer decay or the model changed)",
                path=key, fix=fix,
            )
        for i, (old, new) in enumerate(zip(groups, new_groups)):
            n_old = len(old.get("params") or []) if isinstance(old, Mapping) else -1
            if n_old != len(new["params"]):
                raise ConfigError(
                    f"the optimizer's param group {new.get('name', i)!r} changed: {path} has {n_old} "
                    f"parameter(s) in it, this run {len(new['params'])} (paramwise_cfg, layer decay or the "
                    "model changed)",
                    path=key, fix=fix,
                )
        params = [p for g in new_groups for p in g["params"]]
        per_param = state.get("state")
        ids = [i for g in groups for i in (g.get("params") or [])]
        if not all(isinstance(i, int) for i in ids):
            continue  # parameters saved by name: a layout this check does not know
        index = {pid: params[n] for n, pid in enumerate(ids) if n < len(params)}
        for pid, values in (per_param.items() if isinstance(per_param, Mapping) else []):
            param = index.get(pid)
            if param is None or not isinstance(values, Mapping):
                continue
            for k, v in values.items():
                shape = _shape(v)
                if shape and len(shape) > 0 and shape != tuple(param.shape) and v.numel() != 1:
                    raise ConfigError(
                        f"the optimizer state of a parameter changed shape: {path} holds {k!r} of shape "
                        f"{list(shape)} for a parameter that now has shape {list(param.shape)} (the model changed)",
                        path=key, fix=fix,
                    )


def checkpoint_dirs(cfg: Mapping[str, Any], work_dir: Path) -> list[str]:
    """Where this run's CheckpointHook writes besides ``work_dir``: ``out_dir/<work_dir name>``."""
    hooks = cfg.get("default_hooks") if hasattr(cfg, "get") else None
    ckpt = hooks.get("checkpoint") if isinstance(hooks, Mapping) else None
    out_dir = ckpt.get("out_dir") if isinstance(ckpt, Mapping) else None
    if not isinstance(out_dir, (str, os.PathLike)) or not os.fspath(out_dir):
        return []
    base = os.path.basename(os.path.abspath(os.fspath(work_dir)).rstrip(os.sep))
    return [os.path.join(os.path.abspath(os.fspath(out_dir)), base)]


def _meta(value: Any) -> Any:
    """Tensors replaced by shape-only ``meta`` tensors (nothing allocated), containers kept."""
    if isinstance(value, torch.Tensor):
        return torch.empty(value.shape, dtype=value.dtype, device="meta")
    if isinstance(value, Mapping):
        return {k: _meta(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_meta(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_meta(v) for v in value)
    return value


def mmengine_resume_context(cfg: Mapping[str, Any] | None, module: Any) -> MMEngineResume:
    """What resuming an MMEngine checkpoint into ``module`` under ``cfg`` needs (prefix, accumulation, loop)."""
    from lightning_runtime.optim._builder import optimization_root

    prefix = network_prefix(module, optimization_root(module)) if isinstance(module, torch.nn.Module) else ""
    if cfg is None:
        return MMEngineResume(prefix=prefix)
    from lightning_runtime.runtime._loops import parse_train_cfg

    spec = parse_train_cfg(cfg.get("train_cfg"))
    wrapper = cfg.get("optim_wrapper")
    k = wrapper.get("accumulative_counts", 1) if isinstance(wrapper, Mapping) else 1
    return MMEngineResume(prefix=prefix, accumulative_counts=int(k) if isinstance(k, int) and k > 0 else 1,
                          by_epoch=bool(spec is not None and spec.by_epoch),
                          max_iters=None if spec is None or spec.by_epoch else spec.max_iters)


def check_checkpoint_path(path: str, module: Any, key: str = "ckpt_path", *, strict: bool | None = None,
                          cfg: Mapping[str, Any] | None = None) -> dict:
    """Read ``path`` once with ``weights_only=True`` and check it against ``module``, before any Trainer.

    An MMEngine checkpoint is checked under the LightningModule's names (the network's attribute
    prefix added) and remembered for ``AtomicCheckpointIO``, which turns it into a Lightning
    checkpoint when Lightning reads it (``_from_mmengine``); its optimizer state is checked once
    it is mapped onto this run's optimizer.

    Returns:
        ``{'path', 'key', 'optimizer_states' (shapes only), 'has_scheduler', 'mmengine'}`` for the
        later optimizer check (:func:`check_optimizer_state`, in ``Runtime.configure_optimizers``).

    Raises:
        ConfigError: unreadable, unsafe (pickled classes), not a checkpoint dict, or weights that do
            not fit the model (changed width, renamed layers).
    """
    checkpoint = read_checkpoint(path, key)
    if not isinstance(checkpoint, Mapping):
        raise ConfigError(
            f"{path} holds a {type(checkpoint).__name__}, not a checkpoint dict", path=key,
            fix="give a checkpoint written by CheckpointHook / Lightning (a dict with 'state_dict')",
        )
    if strict is None:
        strict = bool(getattr(module, "strict_loading", True))
    mmengine = is_mmengine_checkpoint(checkpoint)
    state_dict = checkpoint.get("state_dict")
    if mmengine and isinstance(state_dict, Mapping):
        ctx = mmengine_resume_context(cfg, module)
        state_dict = {ctx.prefix + str(k): v for k, v in state_dict.items()}
        expect_mmengine_resume(path, ctx)
    check_model_state(state_dict, module, path, key=key, strict=strict)
    summary = {
        "path": path,
        "key": key,
        "optimizer_states": None if mmengine else _meta(checkpoint.get("optimizer_states")),
        "has_scheduler": bool(checkpoint.get("param_schedulers" if mmengine else "lr_schedulers")),
        "mmengine": mmengine,
    }
    del checkpoint
    return summary


def prepare_checkpoints(cfg: Mapping[str, Any], work_dir: Path, module: torch.nn.Module
                        ) -> tuple[str | None, str | None, dict[str, Any] | None]:
    """``resume`` / ``load_from`` for ``Runtime.fit``, every check done before anything is written.

    Resolves the file to resume from (``resume=True``: the newest complete checkpoint of
    ``work_dir`` and ``default_hooks.checkpoint.out_dir``, refusing ``last_checkpoint`` entries
    outside them), loads ``load_from`` weights into ``module``, and reads the resume file once with
    ``weights_only=True`` to check it against ``module`` (weights) and, later, against the optimizer
    (:func:`check_optimizer_state` with the summary returned here).

    Returns:
        ``(resume_from, load_from, summary)``: the ``ckpt_path`` to resume from, the file whose
        weights were loaded, and :func:`check_checkpoint_path`'s summary of the resume file (``None``
        when not resuming).
    """
    resume, load_from_cfg = cfg.get("resume", False), cfg.get("load_from")
    resume_from = resolve_resume(resume, load_from_cfg, work_dir, checkpoint_dirs=checkpoint_dirs(cfg, work_dir))
    load_from = resolve_load_from(resume, load_from_cfg)
    if load_from is not None:
        load_weights_into(module, load_from)
    summary = None
    if resume_from is not None:
        key = "resume" if resume is not True or load_from_cfg is None else "load_from"
        summary = check_checkpoint_path(resume_from, module, key, cfg=cfg)
    return resume_from, load_from, summary
