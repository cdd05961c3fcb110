"""``default_hooks`` + ``custom_hooks`` -> an ordered list of Lightning callbacks.

Follows MMEngine's ``Runner.register_default_hooks`` / ``register_custom_hooks`` /
``register_hook``:

* MMEngine's default set (``runtime_info``, ``timer``, ``sampler_seed``, ``logger``,
  ``param_scheduler``, ``checkpoint`` with ``interval=1``) is updated with the config's
  ``default_hooks``; an entry set to ``None`` removes that hook. A known key given without
  ``type`` keeps its default type. Keys other than the defaults and ``visualization`` are a
  :class:`~lightning_runtime.errors.ConfigError` (put extra hooks in ``custom_hooks``).
* ``custom_hooks`` follow, in list order.
* Each entry is built through ``HOOKS`` at call time: a Lightning ``Callback`` class is built
  with the entry's arguments; a :class:`~lightning_runtime.hooks.Hook` subclass is built and
  wrapped in :class:`~lightning_runtime.hooks.HookCallback`. ``priority`` (a name or an int)
  overrides the class's default.
* Hooks are inserted by priority exactly as MMEngine does (stable: equal priorities keep
  registration order), ``bind_context(ctx)`` is called on each that has it, and the order is
  logged once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lightning.pytorch import Callback
from lightning.pytorch.utilities.rank_zero import rank_zero_only

from lightning_runtime.errors import ConfigError, check_keys
from lightning_runtime.registry import HOOKS
from lightning_runtime.hooks._adapter import HookCallback
from lightning_runtime.runtime._run_log import get_logger
from lightning_runtime.hooks._hook import Hook
from lightning_runtime.hooks._priority import get_priority, priority_name

__all__ = ["build_callbacks", "build_hook", "sort_by_priority", "hooks_info", "DEFAULT_HOOKS"]

#: MMEngine's ``Runner.register_default_hooks`` defaults, in registration order.
DEFAULT_HOOKS: dict[str, dict[str, Any]] = {
    "runtime_info": {"type": "RuntimeInfoHook"},
    "timer": {"type": "IterTimerHook"},
    "sampler_seed": {"type": "DistSamplerSeedHook"},
    "logger": {"type": "LoggerHook"},
    "param_scheduler": {"type": "ParamSchedulerHook"},
    "checkpoint": {"type": "CheckpointHook", "interval": 1},
}
_EXTRA_KEYS = {"visualization": {"type": "SegVisualizationHook"}}

#: MMEngine hook types that have no counterpart here, with what to do instead.
_UNMAPPED = {
    "ProfilerHook": "use Lightning's profiler: Trainer(profiler='pytorch') (or the runtime's trainer overrides)",
    "NPUProfilerHook": "NPU profiling is not supported; use Trainer(profiler='pytorch')",
    "PrepareTTAHook": "test-time augmentation hooks are not supported; remove it",
    "NaiveVisualizationHook": "use type='SegVisualizationHook'",
    "TextLoggerHook": "MMCV 1.x hook: use type='LoggerHook' in default_hooks.logger",
    "TensorboardLoggerHook": "use visualizer.vis_backends=[dict(type='TensorboardVisBackend')] or a Lightning logger",
    "WandbLoggerHook": "use visualizer.vis_backends=[dict(type='WandbVisBackend')] or a Lightning logger",
}


def _priority_of(obj: Any) -> int:
    return get_priority(getattr(obj, "priority", "NORMAL"))


def sort_by_priority(callbacks: Sequence[Any]) -> list[Any]:
    """Insert each callback as MMEngine's ``register_hook`` does (stable for ties)."""
    ordered: list[Any] = []
    for cb in callbacks:
        prio = _priority_of(cb)
        for i in range(len(ordered) - 1, -1, -1):
            if prio >= _priority_of(ordered[i]):
                ordered.insert(i + 1, cb)
                break
        else:
            ordered.insert(0, cb)
    return ordered


def _refuse_model_checkpoint(cls: Any, path: str) -> None:
    """Lightning's ModelCheckpoint cannot be a hook: the CheckpointHook owns checkpointing here.

    The runtime builds the Trainer with ``enable_checkpointing=False`` (checkpoints are
    ``default_hooks.checkpoint``'s, with MMEngine's names, ``last_checkpoint`` and resume), so a
    ModelCheckpoint among the hooks would only fail later inside ``L.Trainer``.
    """
    from lightning.pytorch.callbacks import ModelCheckpoint

    if isinstance(cls, type) and issubclass(cls, ModelCheckpoint):
        raise ConfigError(
            f"Lightning's {cls.__name__} cannot be used as a hook: checkpoints are written by "
            "default_hooks.checkpoint (CheckpointHook), which resume and last_checkpoint rely on",
            path=path,
            fix="configure default_hooks.checkpoint = dict(type='CheckpointHook', interval=..., "
            "max_keep_ckpts=..., save_best='mIoU', rule='greater') instead and remove this entry; from Python, "
            "pass ModelCheckpoint(...) to Runtime.fit(..., callbacks=[...], enable_checkpointing=True)",
        )


def build_hook(entry: Any, path: str) -> Callback:
    """Build one ``default_hooks`` / ``custom_hooks`` entry into a Lightning callback.

    Args:
        entry: ``dict(type=..., priority=..., **args)``, a :class:`Hook` or a ``Callback``.
        path: The config path used in errors (``custom_hooks[0]``).
    """
    if isinstance(entry, Callback):
        return entry
    if isinstance(entry, Hook):
        return HookCallback(entry)
    if not isinstance(entry, Mapping):
        raise ConfigError(
            f"a hook must be a dict with a 'type', got {type(entry).__name__}",
            path=path,
            fix="write it as dict(type='HookName', ...)",
        )
    args = dict(entry)
    priority = args.pop("priority", None)
    if priority is not None:
        get_priority(priority, path=f"{path}.priority")
    if "type" not in args:
        raise ConfigError("missing 'type' (which hook to build)", path=path, fix="add type='...'")
    type_name = args["type"]
    cls = HOOKS.get(type_name)
    if cls is None and isinstance(type_name, str) and type_name.rpartition(".")[2] in _UNMAPPED:
        short = type_name.rpartition(".")[2]
        raise ConfigError(f"hook type {short!r} has no Lightning counterpart here", path=f"{path}.type", fix=_UNMAPPED[short])
    cls = HOOKS.resolve(type_name, path=f"{path}.type")  # a hook/Callback class or registered builder
    _refuse_model_checkpoint(cls, f"{path}.type")
    args["type"] = cls
    if isinstance(cls, type) and issubclass(cls, Callback):
        obj = HOOKS.build(args, path=path)
    elif isinstance(cls, type) and issubclass(cls, Hook):
        obj = HookCallback(HOOKS.build(args, path=path))
    else:
        name = getattr(cls, "__name__", repr(cls))
        raise ConfigError(
            f"{name} is neither a lightning_runtime.hooks.Hook nor a Lightning Callback",
            path=f"{path}.type",
            fix="derive it from lightning_runtime.hooks.Hook (MMEngine-style) or lightning.pytorch.Callback",
        )
    if priority is not None:
        obj.priority = priority
        if isinstance(obj, HookCallback):
            obj.hook.priority = priority
    return obj


def _default_entries(cfg_hooks: Any) -> list[tuple[str, Any]]:
    hooks: dict[str, Any] = {k: dict(v) for k, v in DEFAULT_HOOKS.items()}
    if cfg_hooks is None:
        return list(hooks.items())
    if not isinstance(cfg_hooks, Mapping):
        raise ConfigError(
            f"default_hooks must be a dict of name -> hook, got {type(cfg_hooks).__name__}",
            path="default_hooks",
            fix="write default_hooks=dict(logger=dict(type='LoggerHook', interval=50), ...)",
        )
    known = list(DEFAULT_HOOKS) + list(_EXTRA_KEYS)
    check_keys(cfg_hooks, known, "default_hooks", what="default hook",
               fix="correct the name, or move the hook to custom_hooks=[dict(type=...)]")
    for key, value in cfg_hooks.items():
        if key == "_scope_":
            continue
        if value is None:
            hooks.pop(key, None)
            continue
        if isinstance(value, Mapping):
            value = dict(value)
            if "type" not in value:
                default = DEFAULT_HOOKS.get(key) or _EXTRA_KEYS[key]
                value = {"type": default["type"], **value}
        hooks[key] = value
    return list(hooks.items())


def hooks_info(callbacks: Sequence[Any]) -> str:
    """``(PRIORITY    ) ClassName`` per callback, in call order (MMEngine prints this per stage)."""
    lines = []
    for cb in callbacks:
        name = type(cb.hook).__name__ if isinstance(cb, HookCallback) else type(cb).__name__
        lines.append(f"({priority_name(getattr(cb, 'priority', 'NORMAL')):<12}) {name}")
    return "\n".join(lines)


@rank_zero_only
def _log_order(callbacks: Sequence[Any]) -> None:
    get_logger().info("Hooks will be executed in the following order:\n%s", hooks_info(callbacks))


def build_callbacks(ctx: Any) -> list[Callback]:
    """The run's callbacks from ``ctx.cfg['default_hooks']`` and ``ctx.cfg['custom_hooks']``.

    Args:
        ctx: The :class:`~lightning_runtime.runtime._context.RunContext` (or anything with a ``cfg``
            mapping; ``bind_context`` receives it).

    Returns:
        Callbacks ordered by priority as MMEngine orders hooks.

    Example:
        >>> from pathlib import Path
        >>> from lightning_runtime.runtime._context import RunContext
        >>> ctx = RunContext(cfg=dict(default_hooks=dict(checkpoint=None, param_scheduler=None,
        ...                           visualization=None)), work_dir=Path("w"), timestamp="t")
        >>> [type(cb).__name__ for cb in build_callbacks(ctx)]  # doctest: +SKIP
        ['RuntimeInfoHook', 'IterTimerHook', 'DistSamplerSeedHook', 'LoggerHook']
    """
    cfg = ctx.cfg if ctx is not None else {}
    built: list[Any] = []
    for key, entry in _default_entries(cfg.get("default_hooks")):
        built.append(build_hook(entry, f"default_hooks.{key}"))
    custom = cfg.get("custom_hooks")
    if custom is not None:
        if isinstance(custom, (str, bytes)) or not isinstance(custom, Sequence):
            raise ConfigError(
                f"custom_hooks must be a list of dicts, got {type(custom).__name__}",
                path="custom_hooks",
                fix="write custom_hooks=[dict(type='MyHook', ...)]",
            )
        for i, entry in enumerate(custom):
            built.append(build_hook(entry, f"custom_hooks[{i}]"))
    ordered = sort_by_priority(built)
    for cb in ordered:
        bind = getattr(cb, "bind_context", None)
        if callable(bind):
            bind(ctx)
    _log_order(ordered)
    return ordered
