"""Here -> MMEngine: a checkpoint of this package in MMEngine's format (``lightning-runtime export``).

MMEngine's tools (``tools/test.py``, MMDeploy, ``mmengine.runner.load_checkpoint``) and its
``Runner.resume`` read ``dict(meta, state_dict, optimizer, param_schedulers, message_hub)``:

* ``meta``: ``epoch``, ``iter`` (MMEngine's counters), ``seed``, ``experiment_name``, ``time`` and
  ``dataset_meta`` when the checkpoint knows it;
* ``state_dict``: the network's own keys, the LightningModule's attribute prefix (``model.``)
  stripped, as MMEngine's model sees them;
* ``optimizer``: MMEngine's layout, one param group per parameter in ``named_parameters()`` order
  when MMEngine builds those (``paramwise_cfg``: more than one merged group here), MMSeg's
  layer-decay groups as they are (``group_name``, ``param_names``), with ``base_param_settings``
  (the optimizer's own values, scheduled: the live ones, else the ``base`` group's);
* ``param_schedulers``: per ``param_scheduler`` entry, the state MMEngine's scheduler restores
  (``last_step``, ``_global_step``, ``base_values``, ``_last_value``), computed from the iteration;
* ``message_hub``: the scalar histories as MMEngine ``HistoryBuffer`` objects, the runtime info,
  and ``CheckpointHook``'s retention / best-score state under MMEngine's keys.

``weights_only=True`` keeps ``meta`` and ``state_dict`` only (what ``tools/test.py`` needs).
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from lightning_runtime.checkpoint._from_mmengine import is_mmengine_checkpoint
from lightning_runtime.checkpoint._mmengine_pickle import HistoryBufferState, save_mmengine
from lightning_runtime.errors import ConfigError

__all__ = ["export_mmengine", "mmengine_from_lightning", "infer_network_prefix"]

_GROUP_ONLY = ("params", "param_names", "name")


def infer_network_prefix(checkpoint: Mapping[str, Any]) -> str:
    """The LightningModule's attribute path to the network (``'model.'``), from a checkpoint alone.

    The optimizer's groups name parameters as the network does (``backbone.pos_embed``); the
    ``state_dict`` key that ends with such a name gives the prefix. Without an optimizer state, a
    prefix shared by every key is taken when the network under it has a ``backbone`` (the rule
    ``optimization_root`` follows); otherwise there is none.
    """
    keys = [str(k) for k in checkpoint.get("state_dict") or {}]
    for state in checkpoint.get("optimizer_states") or []:
        for group in state.get("param_groups") or [] if isinstance(state, Mapping) else []:
            for name in group.get("param_names") or []:
                for key in keys:
                    if key == name or key.endswith("." + name):
                        return key[: len(key) - len(name)]
    heads = {k.split(".", 1)[0] for k in keys}
    if len(heads) == 1 and all("." in k for k in keys):
        head = next(iter(heads))
        if any(k.startswith(f"{head}.backbone.") for k in keys):
            return head + "."
    return ""


def _meta(checkpoint: Mapping[str, Any], hub: Mapping[str, Any]) -> dict[str, Any]:
    saved: Mapping[str, Any] = checkpoint["meta"] if isinstance(checkpoint.get("meta"), Mapping) else {}
    info = hub.get("runtime_info") or {}
    meta: dict[str, Any] = {
        "epoch": int(saved.get("epoch", checkpoint.get("epoch", 0))),
        "iter": int(saved.get("iter", checkpoint.get("global_step", 0))),
    }
    seed = saved.get("seed", info.get("seed"))
    if seed is not None:
        meta["seed"] = seed
    for key in ("experiment_name", "time", "dataset_meta"):
        value = saved.get(key, info.get(key))
        if value is not None:
            meta[key] = value
    return meta


def _unmerge(state: Mapping[str, Any], order: Sequence[str]) -> tuple[dict[int, Any], list[dict[str, Any]]]:
    """Merged named groups -> MMEngine's one group per parameter, in ``order`` (``named_parameters()``)."""
    groups = state["param_groups"]
    where: dict[str, tuple[Mapping[str, Any], int]] = {}
    for group in groups:
        names = group.get("param_names")
        if not isinstance(names, (list, tuple)) or len(names) != len(group["params"]):
            raise ConfigError("the checkpoint's optimizer groups do not name their parameters (param_names); "
                              "they cannot be split into MMEngine's per-parameter groups", path="optimizer_states",
                              fix="export with weights_only=True (--weights-only), or a checkpoint whose optimizer "
                              "was built by optim_wrapper")
        for name, pid in zip(names, group["params"]):
            where[str(name)] = (group, pid)
    ordered = [n for n in order if n in where] + [n for n in where if n not in set(order)]
    saved_state = state.get("state") or {}
    new_state: dict[int, Any] = {}
    new_groups: list[dict[str, Any]] = []
    for index, name in enumerate(ordered):
        group, pid = where[name]
        new_groups.append({**{k: v for k, v in group.items() if k not in _GROUP_ONLY}, "params": [index]})
        if pid in saved_state:
            new_state[index] = saved_state[pid]
    return new_state, new_groups


def _as_is(state: Mapping[str, Any], keep: tuple[str, ...] = ()) -> tuple[dict[int, Any], list[dict[str, Any]]]:
    """The groups as they are, parameters renumbered in group order (``keep``: group keys MMEngine has too)."""
    saved_state = state.get("state") or {}
    new_state: dict[int, Any] = {}
    new_groups: list[dict[str, Any]] = []
    index = 0
    for group in state["param_groups"]:
        ids = []
        for pid in group["params"]:
            if pid in saved_state:
                new_state[index] = saved_state[pid]
            ids.append(index)
            index += 1
        new_groups.append({**{k: v for k, v in group.items() if k not in _GROUP_ONLY or k in keep}, "params": ids})
    return new_state, new_groups


def _schedules(checkpoint: Mapping[str, Any]) -> tuple[list[dict[str, Any]], int | None]:
    """The ``param_scheduler`` entries (as configured) and the epoch length, from the stack's signature."""
    states = checkpoint.get("lr_schedulers") or []
    if not states or not isinstance(states[0], Mapping) or "signature" not in states[0]:
        return [], None
    try:
        cfg = json.loads(json.loads(states[0]["signature"])["cfg"])
    except (ValueError, KeyError, TypeError):
        return [], None
    return list(cfg.get("schedulers") or []), cfg.get("epoch_length")


def _param_name(entry: Mapping[str, Any]) -> str:
    kind = str(entry.get("type", "")).rpartition(".")[2]
    if kind.endswith("Momentum"):
        return "momentum"
    if kind.endswith("LR"):
        return "lr"
    return str(entry.get("param_name", "lr"))


def _scheduler_states(entries: Sequence[Mapping[str, Any]], epoch_length: int | None, groups: Sequence[Mapping[str, Any]],
                      meta: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What MMEngine's ``_ParamScheduler.load_state_dict`` restores, per entry, at ``meta``'s iteration/epoch."""
    out = []
    for entry in entries:
        begin, end = entry.get("begin", 0), entry.get("end")
        by_epoch = bool(entry.get("by_epoch", True))
        if by_epoch and entry.get("convert_to_iter_based") and epoch_length:
            begin, end, by_epoch = begin * epoch_length, None if end is None else end * epoch_length, False
        steps = int(meta["epoch"] if by_epoch else meta["iter"])
        last = (min(steps, end - 1) if end is not None else steps) - begin if steps >= begin else -1
        param = _param_name(entry)
        out.append({"last_step": int(last), "_global_step": steps,
                    "base_values": [g.get(f"initial_{param}", g.get(param)) for g in groups],
                    "_last_value": [g.get(param) for g in groups]})
    return out


def _message_hub(hub: Mapping[str, Any], hook: Mapping[str, Any] | None, out_dir: str) -> dict[str, Any]:
    scalars: OrderedDict[str, Any] = OrderedDict()
    for key, saved in (hub.get("log_scalars") or {}).items():
        scalars[key] = HistoryBufferState.from_values(saved.get("values") or [], saved.get("counts") or [])
    info: OrderedDict[str, Any] = OrderedDict(hub.get("runtime_info") or {})
    if isinstance(hook, Mapping):  # CheckpointHook's state, where MMEngine's hook keeps it
        if hook.get("keep_ckpt_ids"):
            info["keep_ckpt_ids"] = list(hook["keep_ckpt_ids"])
        if hook.get("last_ckpt"):
            info["last_ckpt"] = os.path.join(out_dir, os.path.basename(str(hook["last_ckpt"])))
        scores, files = hook.get("best_score") or {}, hook.get("best_ckpt") or {}
        single = len(scores) == 1
        for key, score in scores.items():
            info["best_score" if single else f"best_score_{key}"] = score
            if key in files:
                info["best_ckpt" if single else f"best_ckpt_{key}"] = os.path.join(out_dir, os.path.basename(files[key]))
    return {"log_scalars": scalars, "runtime_info": info, "resumed_keys": OrderedDict((k, True) for k in [*scalars, *info])}


def mmengine_from_lightning(checkpoint: Mapping[str, Any], *, weights_only: bool = False, prefix: str | None = None,
                            out_dir: str = ".", base_param_settings: Mapping[str, Any] | None = None,
                            per_parameter: bool | None = None) -> dict[str, Any]:
    """A Lightning checkpoint of this package as the dict MMEngine's ``Runner.save_checkpoint`` writes.

    Args:
        checkpoint: The loaded checkpoint (``CheckpointHook`` / Lightning).
        weights_only: Only ``meta`` and ``state_dict``.
        prefix: The LightningModule's attribute prefix to strip (default: :func:`infer_network_prefix`).
        out_dir: Where the MMEngine run will find its files (``last_ckpt`` / ``best_ckpt`` paths).
        base_param_settings: MMEngine's extra group of base values (default: the ``base`` group's values).
        per_parameter: MMEngine built one group per parameter (``paramwise_cfg`` or a constructor
            set); default: when there is more than one merged group here.
    """
    if is_mmengine_checkpoint(checkpoint):
        raise ConfigError("the checkpoint is already in MMEngine's format", path="checkpoint",
                          fix="use it as it is (MMEngine's tools and Runner read it)")
    if not isinstance(checkpoint.get("state_dict"), Mapping):
        raise ConfigError(f"the checkpoint has no 'state_dict' (keys: {sorted(map(str, checkpoint))[:8]})",
                          path="checkpoint", fix="export a checkpoint written by CheckpointHook / Lightning")
    prefix = infer_network_prefix(checkpoint) if prefix is None else prefix
    state_dict = OrderedDict((str(k)[len(prefix):], v) for k, v in checkpoint["state_dict"].items()
                             if str(k).startswith(prefix))
    hub: Mapping[str, Any] = checkpoint["message_hub"] if isinstance(checkpoint.get("message_hub"), Mapping) else {}
    meta = _meta(checkpoint, hub)
    out: dict[str, Any] = {"meta": meta, "state_dict": state_dict}
    if weights_only:
        return out
    hook = (checkpoint.get("callbacks") or {}).get("CheckpointHook")
    out["message_hub"] = _message_hub(hub, hook, out_dir)
    states = checkpoint.get("optimizer_states") or []
    if len(states) > 1:
        raise ConfigError(f"the checkpoint holds {len(states)} optimizers; MMEngine's optim_wrapper has one",
                          path="optimizer_states", fix="export with weights_only=True (--weights-only)")
    if not states:
        return out
    groups = states[0]["param_groups"]
    base = base_param_settings or next((g for g in groups if g.get("name") == "base"), None)
    if all("group_name" in g for g in groups) and per_parameter is not False:
        # MMSeg's layer-decay constructors: MMEngine's groups are these (one per layer and decay, named)
        opt_state, mm_groups = _as_is(states[0], keep=("param_names",))
    elif len(groups) > 1 if per_parameter is None else per_parameter:  # paramwise_cfg / a constructor in MMEngine
        opt_state, mm_groups = _unmerge(states[0], list(state_dict))
    else:
        opt_state, mm_groups = _as_is(states[0])
    if len(mm_groups) < 2:  # MMEngine's OptimWrapper keeps base_param_settings with several groups only
        base = None
    optimizer: dict[str, Any] = {"state": opt_state, "param_groups": mm_groups}
    all_groups = list(mm_groups)
    if base is not None:
        settings = {k: v for k, v in base.items() if k not in _GROUP_ONLY}
        optimizer["base_param_settings"] = {"params": torch.tensor([0.0]), **settings}
        all_groups.append(settings)
    out["optimizer"] = optimizer
    entries, epoch_length = _schedules(checkpoint)
    if entries:
        out["param_schedulers"] = _scheduler_states(entries, epoch_length, all_groups, meta)
    return out


def export_mmengine(checkpoint: str | os.PathLike[str] | Mapping[str, Any], out: str | os.PathLike[str], *,
                    weights_only: bool = False, prefix: str | None = None,
                    per_parameter: bool | None = None) -> dict[str, Any]:
    """Write ``checkpoint`` (a file of this package, or a loaded one) to ``out`` in MMEngine's format.

    The file is read with the ``weights_only`` allow-list and written atomically; MMEngine's
    ``load_checkpoint`` loads it, and its ``Runner`` resumes from it (``load_from=out,
    resume=True``) where this run was.

    Args:
        checkpoint: A ``CheckpointHook`` / Lightning checkpoint file or dict.
        out: The ``.pth`` to write.
        weights_only: ``meta`` and ``state_dict`` only.
        prefix: The LightningModule's attribute prefix to strip (default: inferred).
        per_parameter: MMEngine built one param group per parameter (``paramwise_cfg`` or a
            constructor set); default: when the checkpoint has more than one merged group.

    Returns:
        The dict written.

    Example:
        >>> export_mmengine("work_dirs/exp/iter_4000.pth", "mmengine_run/iter_4000.pth")  # doctest: +SKIP
    """
    from lightning_runtime.checkpoint._io import checkpoint_problem, read_checkpoint

    if not isinstance(checkpoint, Mapping):
        problem = checkpoint_problem(checkpoint)
        if problem is not None:
            raise ConfigError(f"checkpoint file {os.fspath(checkpoint)!r} {problem}", path="checkpoint",
                              fix="give a checkpoint written by CheckpointHook / Lightning (iter_N.pth, epoch_N.pth, .ckpt)")
    loaded = read_checkpoint(os.fspath(checkpoint), "checkpoint") if not isinstance(checkpoint, Mapping) else checkpoint
    if not isinstance(loaded, Mapping):
        raise ConfigError(f"{checkpoint} holds a {type(loaded).__name__}, not a checkpoint dict", path="checkpoint",
                          fix="export a checkpoint written by CheckpointHook / Lightning")
    out = os.fspath(out)
    converted = mmengine_from_lightning(loaded, weights_only=weights_only, prefix=prefix,
                                        out_dir=os.path.dirname(os.path.abspath(out)), per_parameter=per_parameter)
    save_mmengine(converted, out)
    return converted
