"""Resume an MMEngine Runner's run here: its ``iter_N.pth`` / ``epoch_N.pth`` as this package's resume state.

An MMEngine checkpoint holds ``meta`` (``epoch``, ``iter``, ``seed``, ...), the model's
``state_dict``, the ``optimizer`` (MMEngine's one group per parameter when ``paramwise_cfg`` or a
constructor is set, plus ``base_param_settings``), ``param_schedulers`` (one state per scheduler:
``last_step``, ``_global_step``, ...) and the ``message_hub``. Resuming it is done in two steps:

1. :func:`to_lightning` (when the file is read, :class:`~lightning_runtime.checkpoint.AtomicCheckpointIO`)
   turns it into the checkpoint Lightning and ``CheckpointHook`` would have written at the same
   iteration: the weights under the LightningModule's names (the attribute prefix of the network
   added), the loop counters and the data position (``iter`` batches into the chained passes, or
   ``epoch`` passes), ``CheckpointHook``'s retention and best-score state (from MMEngine's
   ``runtime_info``), the message hub (histories as values and counts) and MMEngine's seed.
2. :func:`optimizer_state_from_mmengine` (when the optimizer exists, ``CheckpointHook.on_fit_start``)
   puts each parameter's optimizer state, found by parameter name, into the merged named groups,
   with the group hyperparameters MMEngine had scheduled; the ``ParamSchedulerStack`` is advanced
   to the checkpoint's iteration (MMEngine's ``last_step`` of each scheduler follows from it).

The run then continues as MMEngine's ``Runner.resume`` continues it (``tests/test_migrate.py``
compares both against the real Runner).
"""

from __future__ import annotations

import math
import os
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from lightning_runtime.checkpoint._mmengine_pickle import HistoryBufferState
from lightning_runtime.errors import ConfigError

__all__ = [
    "MMENGINE_KEY",
    "MMEngineResume",
    "is_mmengine_checkpoint",
    "plain_message_hub",
    "to_lightning",
    "expect_mmengine_resume",
    "take_mmengine_resume",
    "mmengine_param_names",
    "optimizer_state_from_mmengine",
    "network_prefix",
]

MMENGINE_KEY = "mmengine_resume"
"""Key of what a converted checkpoint keeps for the second step (optimizer, schedulers, seed)."""


@dataclass(frozen=True)
class MMEngineResume:
    """What converting an MMEngine checkpoint needs to know of this run.

    Attributes:
        prefix: The LightningModule's attribute path to the network MMEngine trained
            (``'model.'`` for ``self.model = EncoderDecoder(...)``, ``''`` when the module is it).
        accumulative_counts: ``optim_wrapper.accumulative_counts``.
        by_epoch: ``EpochBasedTrainLoop``.
        max_iters: An iteration loop's length (its last checkpoint ends the data).
    """

    prefix: str = ""
    accumulative_counts: int = 1
    by_epoch: bool = False
    max_iters: int | None = None


def is_mmengine_checkpoint(checkpoint: Any) -> bool:
    """True for a checkpoint MMEngine's ``Runner.save_checkpoint`` wrote (not a Lightning one)."""
    return (isinstance(checkpoint, Mapping) and "pytorch-lightning_version" not in checkpoint
            and isinstance(checkpoint.get("meta"), Mapping) and isinstance(checkpoint.get("state_dict"), Mapping)
            and ("message_hub" in checkpoint or "optimizer" in checkpoint or "mmengine_version" in checkpoint["meta"]))


def _plain(value: Any) -> Any:
    """numpy scalars and arrays as Python numbers and lists; ``None`` marks what is not plain data."""
    if isinstance(value, np.generic):  # before float: np.float64 is a float
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.ndarray) and value.dtype != object:
        return value.tolist()
    if isinstance(value, (list, tuple)):
        items = [_plain(v) for v in value]
        return None if any(i is None and v is not None for i, v in zip(items, value)) else type(value)(items)
    if isinstance(value, Mapping):
        out = {k: _plain(v) for k, v in value.items()}
        return None if any(out[k] is None and v is not None for k, v in value.items()) else out
    return None


def plain_message_hub(hub: Any) -> dict[str, Any]:
    """MMEngine's ``message_hub`` state as this package's ``MessageHub.state_dict()`` holds it.

    Histories become ``{'values', 'counts'}``; numpy values in ``runtime_info`` become Python
    numbers; what is not plain data is left out (``resumed_keys`` is MMEngine's bookkeeping).
    """
    scalars: dict[str, Any] = {}
    info: dict[str, Any] = {}
    if isinstance(hub, Mapping):
        for key, buf in (hub.get("log_scalars") or {}).items():
            if isinstance(buf, HistoryBufferState):
                scalars[str(key)] = {"values": buf.values(), "counts": buf.counts()}
        for key, value in (hub.get("runtime_info") or {}).items():
            plain = _plain(value)
            if plain is not None or value is None:
                info[str(key)] = plain
    return {"log_scalars": scalars, "runtime_info": info}


def _best_state(info: Mapping[str, Any]) -> tuple[dict[str, float], dict[str, str]]:
    """``CheckpointHook``'s best scores and files from MMEngine's ``runtime_info`` (plain file names)."""
    scores: dict[str, float] = {}
    files: dict[str, str] = {}
    for key, value in info.items():
        if key.startswith("best_score_") and isinstance(value, (int, float)):
            scores[key[len("best_score_"):]] = float(value)
        elif key.startswith("best_ckpt_") and isinstance(value, str):
            files[key[len("best_ckpt_"):]] = os.path.basename(value)
    if isinstance(info.get("best_ckpt"), str):  # one save_best metric: its name is in the file name
        name = os.path.basename(info["best_ckpt"])
        match = re.fullmatch(r"best_(.+?)_((?:iter|epoch)_\d+\.\w+)", name)
        if match:
            files[match.group(1)] = name
            if isinstance(info.get("best_score"), (int, float)):
                scores[match.group(1)] = float(info["best_score"])
    return scores, files


def _tracker(n: int, *, completed: int | None = None, processed: bool = True) -> dict[str, int]:
    out = {"ready": n, "completed": n if completed is None else completed, "started": n}
    if processed:
        out["processed"] = n
    return out


def _steps(n: int, k: int, max_iters: int | None) -> int:
    """Optimizer steps after ``n`` iterations with windows of ``k`` (the last, partial one steps too)."""
    return math.ceil(n / k) if max_iters is not None and n >= max_iters else n // k


def _fit_loop_state(n: int, epoch: int, ctx: MMEngineResume) -> tuple[dict[str, Any], int, int]:
    """Lightning's fit-loop state at MMEngine's ``iter`` / ``epoch`` (as ``CheckpointHook`` saves it).

    Returns:
        ``(state, current_epoch, global_step)``.
    """
    k = max(1, ctx.accumulative_counts)
    steps = _steps(n, k, ctx.max_iters)
    if ctx.by_epoch:  # saved after epoch ``epoch`` ended: every pass complete
        length = n // epoch if epoch else 0
        steps_now = steps - ((epoch - 1) * length) // k if epoch else 0
        loader = {"version": 1, "pass": max(epoch - 1, 0), "offset": length, "consumed": n}
        batches = {"total": _tracker(n), "current": _tracker(length), "is_last_batch": True}
        stepped = steps
        epochs = {"ready": epoch, "completed": max(epoch - 1, 0), "started": epoch, "processed": epoch}
        current_epoch = max(epoch - 1, 0)
    else:  # saved after iteration ``n - 1``, inside Lightning's single epoch (PassLoader chains the passes)
        steps_now = steps
        loader = {"version": 1, "pass": 0, "offset": n, "consumed": n}
        batches = {"total": _tracker(n, completed=n - 1), "current": _tracker(n, completed=n - 1),
                   "is_last_batch": ctx.max_iters is not None and n >= ctx.max_iters}
        stepped = (n - 1) // k
        epochs = {"ready": 1, "completed": 0, "started": 1, "processed": 0}
        current_epoch = 0

    def counts(total: int, now: int, *, started: bool = False) -> dict[str, Any]:
        def one(v: int) -> dict[str, int]:
            return {"ready": v, "completed": v, **({"started": v} if started else {})}

        return {"total": one(total), "current": one(now)}

    state = {
        "state_dict": {"combined_loader": [loader]},
        "epoch_loop.state_dict": {"_batches_that_stepped": stepped},
        "epoch_loop.batch_progress": batches,
        "epoch_loop.scheduler_progress": counts(steps, steps_now),
        "epoch_loop.automatic_optimization.state_dict": {},
        "epoch_loop.automatic_optimization.optim_progress": {
            "optimizer": {"step": counts(steps, steps_now), "zero_grad": counts(steps, steps_now, started=True)}},
        "epoch_loop.manual_optimization.state_dict": {},
        "epoch_loop.manual_optimization.optim_step_progress": counts(0, 0),
        "epoch_loop.val_loop.state_dict": {},
        "epoch_loop.val_loop.batch_progress": {"total": _tracker(0), "current": _tracker(0), "is_last_batch": False},
        "epoch_progress": {"total": dict(epochs), "current": dict(epochs)},
    }
    return state, current_epoch, steps


def _evaluation_loops() -> dict[str, Any]:
    """Lightning's validate/test/predict loop states before any run (``Trainer.validate(ckpt_path=...)`` reads them)."""
    def loop(last: bool) -> dict[str, Any]:
        progress: dict[str, Any] = {"total": _tracker(0), "current": _tracker(0)}
        if last:
            progress["is_last_batch"] = False
        return {"state_dict": {}, "batch_progress": progress}

    return {"validate_loop": loop(True), "test_loop": loop(True), "predict_loop": loop(False)}


def _int(value: Any, what: str, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < 0:
        raise ConfigError(f"{path}: meta[{what!r}] is {value!r}, not an iteration count", path="resume",
                          fix="resume from a checkpoint written by MMEngine's CheckpointHook (iter_N.pth / epoch_N.pth)")
    return int(value)


def to_lightning(checkpoint: Mapping[str, Any], ctx: MMEngineResume, *, path: str = "<checkpoint>") -> dict[str, Any]:
    """The Lightning checkpoint ``CheckpointHook`` would have written where MMEngine wrote ``checkpoint``.

    The optimizer and scheduler states are completed once the optimizer exists
    (:func:`optimizer_state_from_mmengine`); until then they wait under :data:`MMENGINE_KEY`.

    Args:
        checkpoint: The MMEngine checkpoint (read with the allow-list, see ``_mmengine_pickle``).
        ctx: What this run adds (prefix, accumulation, loop kind).
        path: The file, for messages.
    """
    import lightning.pytorch as pl

    meta = dict(checkpoint["meta"])
    n = _int(meta.get("iter"), "iter", path)
    epoch = _int(meta.get("epoch", 0), "epoch", path)
    if ctx.by_epoch and n and not epoch:
        raise ConfigError(f"{path} was written at iteration {n} of epoch 0, inside an epoch; an epoch-based loop "
                          "resumes only from the end of an epoch (epoch_N.pth)", path="resume",
                          fix="resume from an epoch_N.pth checkpoint, or set train_cfg to the IterBasedTrainLoop it ran with")
    loops, current_epoch, steps = _fit_loop_state(n, epoch, ctx)
    hub = plain_message_hub(checkpoint.get("message_hub"))
    info = hub["runtime_info"]
    scores, best = _best_state(info)
    keep = [int(s) for s in info.get("keep_ckpt_ids") or [] if isinstance(s, int) and not isinstance(s, bool)]
    last = info.get("last_ckpt")
    out: dict[str, Any] = {
        "epoch": current_epoch,
        "global_step": steps,
        "pytorch-lightning_version": pl.__version__,
        "state_dict": {ctx.prefix + str(k): v for k, v in checkpoint["state_dict"].items()},
        "loops": {"fit_loop": loops, **_evaluation_loops()},
        "callbacks": {"CheckpointHook": {
            "keep_ckpt_ids": keep, "best_score": scores, "best_ckpt": best,
            "last_ckpt": os.path.basename(last) if isinstance(last, str) else None, "pending_delete": []}},
        "message_hub": hub,
        "meta": {k: v for k, v in meta.items() if k in ("epoch", "iter", "seed", "experiment_name", "time")},
        MMENGINE_KEY: {"iter": n, "seed": meta.get("seed"), "path": path},
    }
    if "optimizer" in checkpoint:
        out[MMENGINE_KEY]["optimizer"] = checkpoint["optimizer"]
    if checkpoint.get("param_schedulers") is not None:
        out[MMENGINE_KEY]["param_schedulers"] = checkpoint["param_schedulers"]
    return out


# What Runtime.fit learned about the run, for the file AtomicCheckpointIO is about to read.
_EXPECTED: dict[str, MMEngineResume] = {}
_LOCK = threading.Lock()


def expect_mmengine_resume(path: str, ctx: MMEngineResume) -> None:
    """Remember ``ctx`` for the MMEngine checkpoint ``path`` (read later by ``AtomicCheckpointIO``)."""
    with _LOCK:
        _EXPECTED[os.path.abspath(path)] = ctx


def take_mmengine_resume(path: str) -> MMEngineResume:
    """The context :func:`expect_mmengine_resume` left for ``path`` (MMEngineResume() when none)."""
    with _LOCK:
        return _EXPECTED.pop(os.path.abspath(path), MMEngineResume())


# ------------------------------------------------------------------------------ the optimizer
def mmengine_param_names(saved: Mapping[str, Any], root: torch.nn.Module, path: str) -> dict[int, str]:
    """``{MMEngine's parameter index: parameter name}`` for an MMEngine optimizer state.

    MMEngine's groups carry ``param_names`` when its constructor put them there (MMSeg's layer
    decay); otherwise parameters are numbered in the order MMEngine's constructors visit them,
    which is ``named_parameters()`` (all of them, or the trainable ones). Every state tensor's shape
    is checked against the parameter it is given to.

    Raises:
        ConfigError: the numbering cannot be matched with the model (another model or constructor).
    """
    groups = [g for g in saved.get("param_groups") or [] if isinstance(g, Mapping)]
    ids = [int(i) for g in groups for i in g.get("params") or []]
    names: list[str] | None = None
    if groups and all(isinstance(g.get("param_names"), (list, tuple)) and len(g["param_names"]) == len(g["params"])
                      for g in groups):
        names = [str(n) for g in groups for n in g["param_names"]]
    params = dict(root.named_parameters())
    if names is None:
        every = list(params)
        trainable = [n for n, p in params.items() if p.requires_grad]
        names = every if len(ids) == len(every) else trainable if len(ids) == len(trainable) else None
    fix = ("resume with the model and optim_wrapper the MMEngine run used; to start a new run from its weights "
           f"only, set load_from={path!r} and resume=False")
    if names is None:
        raise ConfigError(f"{path} holds optimizer state for {len(ids)} parameters; the model has {len(params)} "
                          f"({sum(p.requires_grad for p in params.values())} trainable)", path="resume", fix=fix)
    mapping = dict(zip(ids, names))
    unknown = sorted(n for n in mapping.values() if n not in params)
    if unknown:
        raise ConfigError(f"{path} names optimizer parameters the model does not have: {unknown[:5]}",
                          path="resume", fix=fix)
    state = saved.get("state") or {}
    for pid, values in state.items():
        if int(pid) not in mapping or not isinstance(values, Mapping):
            continue
        param = params[mapping[int(pid)]]
        for key, value in values.items():
            if isinstance(value, torch.Tensor) and value.dim() > 0 and tuple(value.shape) != tuple(param.shape):
                raise ConfigError(
                    f"{path}: the optimizer state {key!r} of parameter #{pid} has shape {list(value.shape)}, but the "
                    f"parameter it lines up with ({mapping[int(pid)]}) has shape {list(param.shape)}",
                    path="resume", fix=fix)
    return mapping


_SCHEDULED = ("lr", "momentum", "betas", "weight_decay")


def optimizer_state_from_mmengine(saved: Mapping[str, Any], optimizer: torch.optim.Optimizer,
                                  root: torch.nn.Module, path: str) -> dict[str, Any]:
    """MMEngine's optimizer state as the state dict of ``optimizer`` (merged, named groups).

    Each parameter's state (``exp_avg``, ``momentum_buffer``, ``step``, ...) goes to the parameter
    of the same name; each group takes the hyperparameters MMEngine had (scheduled ``lr``,
    ``momentum``/``betas``, ``weight_decay``, and ``initial_*``), which the parameters merged into
    it must share.

    Raises:
        ConfigError: names or shapes that do not match, or parameters merged here whose
            hyperparameters differed in MMEngine (the config changed).
    """
    mapping = mmengine_param_names(saved, root, path)
    by_name = {name: pid for pid, name in mapping.items()}
    mm_group = {int(i): g for g in saved.get("param_groups") or [] for i in g.get("params") or []}
    names = {id(p): n for n, p in root.named_parameters()}
    saved_state = saved.get("state") or {}
    state: dict[int, Any] = {}
    groups: list[dict[str, Any]] = []
    index = 0
    for group in optimizer.param_groups:
        new = {k: v for k, v in group.items() if k != "params"}
        ids = []
        members: list[tuple[str, Mapping[str, Any]]] = []
        for param in group["params"]:
            name = names.get(id(param))
            pid = by_name.get(name) if name is not None else None
            if name is not None and pid is not None:
                if pid in saved_state:
                    state[index] = saved_state[pid]
                members.append((name, mm_group[pid]))
            ids.append(index)
            index += 1
        keys = [k for k in members[0][1] if k in _SCHEDULED or k.startswith("initial_")] if members else []
        for key in keys:
            values = {repr(g.get(key)) for _, g in members}
            if len(values) > 1:
                raise ConfigError(
                    f"{path}: the parameters of param group {group.get('name', len(groups))!r} had different "
                    f"{key!r} in the MMEngine run ({sorted(values)[:4]}); this config puts them in one group",
                    path="resume",
                    fix="resume with the optim_wrapper (paramwise_cfg, constructor) the MMEngine run used")
            new[key] = members[0][1][key]
        new["params"] = ids
        groups.append(new)
    return {"state": state, "param_groups": groups}


def network_prefix(module: torch.nn.Module, root: torch.nn.Module) -> str:
    """The attribute path of ``root`` inside ``module`` with a trailing dot (``''`` when they are one)."""
    for name, sub in module.named_modules():
        if sub is root:
            return f"{name}." if name else ""
    return ""

