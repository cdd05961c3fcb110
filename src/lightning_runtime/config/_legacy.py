"""Refuse MMCV-0.x runtime keys, showing the MMEngine 1.x config that replaces them.

MMSegmentation 0.x configs wrote ``optimizer=`` + ``optimizer_config``, ``lr_config``,
``checkpoint_config``, ``log_config``, ``evaluation``, ``runner``, ``workflow``, ``fp16``. MMEngine
(and this package) read ``optim_wrapper``, ``param_scheduler``, ``default_hooks``, ``train_cfg``
instead; silently ignoring the old keys would train with the wrong numbers. :func:`check_legacy_keys`
is called by the runtime (``load_config`` itself reads any config untouched).

Example:
    >>> try:
    ...     check_legacy_keys({'lr_config': dict(policy='poly', power=0.9, min_lr=1e-4)})
    ... except ConfigError as err:
    ...     print(err.path)
    lr_config
"""

from __future__ import annotations

import warnings

from collections.abc import Callable, Mapping
from typing import Any

from lightning_runtime.config._format import format_value
from lightning_runtime.errors import ConfigError

__all__ = ["LEGACY_KEYS", "check_legacy_keys", "legacy_fix"]


def _fmt(value: Any) -> str:
    try:
        return format_value(value, 4)
    except ConfigError:
        return repr(value)


def _get(cfg: Mapping[str, Any], key: str, default: Any = None) -> Any:
    value = cfg.get(key, default)
    return value if value is not None else default


def _section(cfg: Mapping[str, Any], key: str) -> dict[str, Any]:
    """The legacy section ``key`` as a dict; ``{}`` when it is missing or not a dict (``runner=3``).

    The fix text is written from whatever the old config holds; a value of the wrong kind only
    makes it less specific, never a crash.
    """
    value = cfg.get(key)
    return dict(value) if isinstance(value, Mapping) else {}


def _max_iters(cfg: Mapping[str, Any]) -> Any:
    runner = _section(cfg, "runner")
    return runner.get("max_iters") or runner.get("max_epochs") or "<max_iters>"


def _optimizer_fix(cfg: Mapping[str, Any]) -> str:
    wrapper: dict[str, Any] = {"type": "OptimWrapper", "optimizer": _get(cfg, "optimizer", {})}
    oc = _section(cfg, "optimizer_config")
    if oc:
        if isinstance(oc.get("grad_clip"), Mapping):
            wrapper["clip_grad"] = dict(oc["grad_clip"])
        if oc.get("cumulative_iters"):
            wrapper["accumulative_counts"] = oc["cumulative_iters"]
        if "Fp16" in str(oc.get("type", "")) or "loss_scale" in oc:
            wrapper["type"] = "AmpOptimWrapper"
            wrapper["loss_scale"] = oc.get("loss_scale", "dynamic")
    fp16 = _get(cfg, "fp16")
    if isinstance(fp16, Mapping):
        wrapper["type"] = "AmpOptimWrapper"
        wrapper["loss_scale"] = fp16.get("loss_scale", "dynamic")
    if isinstance(cfg.get("optimizer"), Mapping) and "paramwise_cfg" in cfg["optimizer"]:
        opt = dict(cfg["optimizer"])
        wrapper["paramwise_cfg"] = opt.pop("paramwise_cfg")
        wrapper["optimizer"] = opt
    return "optim_wrapper = " + _fmt(wrapper)


_POLICIES = {
    "poly": ("PolyLR", lambda c: {"eta_min": c.get("min_lr", 0.0), "power": c.get("power", 1.0)}),
    "step": ("MultiStepLR", lambda c: {"milestones": c.get("step"), "gamma": c.get("gamma", 0.1)}),
    "cosineannealing": ("CosineAnnealingLR", lambda c: {"eta_min": c.get("min_lr", 0.0)}),
    "exp": ("ExponentialLR", lambda c: {"gamma": c.get("gamma")}),
    "fixed": ("ConstantLR", lambda c: {"factor": 1.0}),
}


def _lr_fix(cfg: Mapping[str, Any]) -> str:
    lc = _section(cfg, "lr_config")
    if not lc:
        return "param_scheduler = [dict(type='PolyLR', ...)]"
    by_epoch = lc.get("by_epoch", True)
    end = _max_iters(cfg)
    schedulers = []
    if lc.get("warmup"):
        warm_end = lc.get("warmup_iters", 0)
        schedulers.append(dict(type="LinearLR", start_factor=lc.get("warmup_ratio", 0.1),
                               by_epoch=False, begin=0, end=warm_end))
    policy = str(lc.get("policy", "")).lower()
    name, args = _POLICIES.get(policy, (f"<scheduler for policy {lc.get('policy')!r}>",
                                        lambda c: {}))
    main = dict(type=name, **args(lc), begin=0, end=end, by_epoch=by_epoch)
    if end == "<max_iters>":
        del main["end"]  # MMEngine fills a missing end with the length of training
    schedulers.append(main)
    return "param_scheduler = " + _fmt(schedulers)


def _momentum_fix(cfg: Mapping[str, Any]) -> str:
    mc = _get(cfg, "momentum_config", {})
    policy = str(mc.get("policy", "")) if isinstance(mc, Mapping) else ""
    name = {"cyclic": "CosineAnnealingMomentum", "cosineannealing": "CosineAnnealingMomentum",
            "step": "MultiStepMomentum", "poly": "PolyMomentum"}.get(policy.lower(),
                                                                      "<Momentum scheduler>")
    return ("add a momentum entry to param_scheduler, e.g. param_scheduler = [..., "
            f"dict(type='{name}', begin=0, end={_max_iters(cfg)}, by_epoch=False)]")


def _checkpoint_fix(cfg: Mapping[str, Any]) -> str:
    cc = {k: v for k, v in _section(cfg, "checkpoint_config").items() if isinstance(k, str) and k != "type"}
    return "default_hooks = dict(checkpoint=" + _fmt(dict(type="CheckpointHook", **cc)) + ")"


def _log_fix(cfg: Mapping[str, Any]) -> str:
    lc = _section(cfg, "log_config")
    hooks = lc.pop("hooks", [])
    hooks = hooks if isinstance(hooks, (list, tuple)) else []
    logger = dict(type="LoggerHook", interval=lc.pop("interval", 10))
    backends = [dict(type="LocalVisBackend")]
    for hook in hooks:
        kind = str(hook.get("type", "")) if isinstance(hook, Mapping) else ""
        if "Tensorboard" in kind:
            backends.append(dict(type="TensorboardVisBackend"))
        elif "Wandb" in kind:
            backends.append(dict(type="WandbVisBackend"))
    return ("default_hooks = dict(logger=" + _fmt(logger) + ")\n    visualizer = dict(vis_backends="
            + _fmt(backends) + ")")


def _evaluation_fix(cfg: Mapping[str, Any]) -> str:
    ev = _section(cfg, "evaluation")
    metric = ev.get("metric", "mIoU")
    metrics = list(metric) if isinstance(metric, (list, tuple)) else [metric]
    return (f"train_cfg = dict(val_interval={ev.get('interval', 1)}, ...)\n    "
            f"val_cfg = dict(type='ValLoop')\n    val_evaluator = dict(type='IoUMetric', "
            f"iou_metrics={metrics!r})")


def _runner_fix(cfg: Mapping[str, Any]) -> str:
    runner = _section(cfg, "runner")
    kind = str(runner.get("type", ""))
    if "Epoch" in kind or "max_epochs" in runner:
        return (f"train_cfg = dict(type='EpochBasedTrainLoop', "
                f"max_epochs={runner.get('max_epochs', '<max_epochs>')}, val_interval=1)")
    return (f"train_cfg = dict(type='IterBasedTrainLoop', "
            f"max_iters={runner.get('max_iters', '<max_iters>')}, val_interval=<interval>)")


def _workflow_fix(cfg: Mapping[str, Any]) -> str:
    return ("delete workflow: validation runs from train_cfg.val_interval with "
            "val_cfg = dict(type='ValLoop')")


def _fp16_fix(cfg: Mapping[str, Any]) -> str:
    scale = _section(cfg, "fp16").get("loss_scale", "dynamic")
    return (f"optim_wrapper = dict(type='AmpOptimWrapper', loss_scale={scale!r}, "
            "optimizer=...)")


#: legacy key -> (what replaces it, function writing the 1.x config for this cfg)
LEGACY_KEYS: dict[str, tuple[str, Callable[[Mapping[str, Any]], str]]] = {
    "optimizer": ("optim_wrapper", _optimizer_fix),
    "optimizer_config": ("optim_wrapper (clip_grad, accumulative_counts, AmpOptimWrapper)",
                         _optimizer_fix),
    "lr_config": ("param_scheduler", _lr_fix),
    "momentum_config": ("param_scheduler (momentum schedulers)", _momentum_fix),
    "checkpoint_config": ("default_hooks.checkpoint", _checkpoint_fix),
    "log_config": ("default_hooks.logger and visualizer.vis_backends", _log_fix),
    "evaluation": ("train_cfg.val_interval, val_cfg and val_evaluator", _evaluation_fix),
    "runner": ("train_cfg", _runner_fix),
    "workflow": ("train_cfg.val_interval / val_cfg", _workflow_fix),
    "fp16": ("optim_wrapper = dict(type='AmpOptimWrapper', ...)", _fp16_fix),
}


#: legacy key -> the 1.x sections whose presence makes it a stray that MMEngine ignores
EQUIVALENTS: dict[str, tuple[str, ...]] = {
    "optimizer": ("optim_wrapper",),
    "optimizer_config": ("optim_wrapper",),
    "lr_config": ("param_scheduler",),
    "momentum_config": ("param_scheduler",),
    "checkpoint_config": ("default_hooks",),
    "log_config": ("default_hooks",),
    "evaluation": ("train_cfg", "val_cfg"),
    "runner": ("train_cfg",),
    "workflow": ("train_cfg",),
    "fp16": ("optim_wrapper",),
}


def _stray(cfg: Mapping[str, Any], key: str) -> str | None:
    """The 1.x section present beside legacy ``key`` (MMEngine then ignores ``key``), if any."""
    return next((k for k in EQUIVALENTS[key] if cfg.get(k) is not None), None)


def _found(cfg: Mapping[str, Any]) -> list[str]:
    """Legacy keys set (not None) with no 1.x equivalent beside them: these are refused."""
    return [k for k in LEGACY_KEYS if k in cfg and cfg[k] is not None and _stray(cfg, k) is None]


def _warn_strays(cfg: Mapping[str, Any]) -> None:
    for key in LEGACY_KEYS:
        if key == "optimizer" or key not in cfg or cfg[key] is None:
            continue  # a top-level optimizer beside optim_wrapper is normal in MMSeg 1.x schedules
        section = _stray(cfg, key)
        if section is not None:
            warnings.warn(
                f"{key} is an MMCV 0.x key; MMEngine 1.x ignores it beside {section}, and so does "
                f"lightning_runtime: {section} is what runs. Remove {key} (its 1.x form: "
                f"{legacy_fix(cfg, key).splitlines()[0]} ...)",
                UserWarning, stacklevel=3,
            )


def legacy_fix(cfg: Mapping[str, Any], key: str) -> str:
    """The MMEngine 1.x config text that replaces legacy ``key`` in ``cfg``."""
    return LEGACY_KEYS[key][1](cfg)


#: Top-level dicts the seed tutorial shows for a default hook (``checkpoint = dict(interval=1)``,
#: ``logger_hook_cfg = dict(interval=20)``): MMEngine reads neither; where they belong.
MISPLACED_HOOK_CFGS: dict[str, str] = {"checkpoint": "checkpoint", "logger_hook_cfg": "logger"}


def _warn_misplaced(cfg: Mapping[str, Any]) -> None:
    for key, hook in MISPLACED_HOOK_CFGS.items():
        value = cfg.get(key)
        if not isinstance(value, Mapping) or "type" in value:  # a URL string (pretrained weights) is fine
            continue
        hooks = cfg.get("default_hooks")
        used = hooks.get(hook) if isinstance(hooks, Mapping) else None
        if isinstance(used, Mapping) and all(k in used and used[k] == v for k, v in value.items()):
            continue  # a helper variable the config already put into default_hooks (`checkpoint=checkpoint`)
        args = ", ".join(f"{k}={v!r}" for k, v in value.items())
        warnings.warn(
            f"top-level {key} = dict({args}) is not read (MMEngine does not read it either): the "
            f"{'CheckpointHook' if hook == 'checkpoint' else 'LoggerHook'} takes its arguments from "
            f"default_hooks.{hook}. Write default_hooks = dict({hook}=dict({args})) instead",
            UserWarning, stacklevel=3,
        )


def check_legacy_keys(cfg: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigError` if ``cfg`` uses MMCV-0.x runtime keys as its only settings.

    A legacy key beside its 1.x section (``runner`` beside ``train_cfg``, the MAE configs' stray
    ``fp16`` beside ``optim_wrapper``) is what MMEngine ignores: it gets one warning instead.
    A legacy key set to ``None`` (``--fp16=None``) is absent.

    The error names the first legacy key (with ``file:line`` when ``cfg`` is a loaded
    :class:`~lightning_runtime.config._loader.Config`), lists any others, and shows the 1.x config to
    write instead. Top-level ``optimizer`` is legacy only without ``optim_wrapper`` (MMSeg 1.x
    schedules keep both).
    """
    _warn_strays(cfg)
    _warn_misplaced(cfg)
    found = _found(cfg)
    if not found:
        return
    key = found[0]
    replacement, _ = LEGACY_KEYS[key]
    others = found[1:]
    message = f"is an MMCV 0.x key; MMEngine 1.x configs use {replacement}"
    if key == "optimizer":
        message = "top-level optimizer without optim_wrapper is MMCV 0.x; MMEngine 1.x " \
                  "configs use optim_wrapper = dict(optimizer=...)"
    if others:
        message += f" (other 0.x keys here: {', '.join(others)})"
    where = None
    locate = getattr(cfg, "locate", None)
    if callable(locate):
        try:
            where = locate(key)
        except Exception:  # pragma: no cover - locating is best effort
            where = None
    text = legacy_fix(cfg, key)
    fix = text if text.startswith(("delete", "add")) else "replace it with\n    " + text
    raise ConfigError(message, path=key, file=where[0] if where else None,
                      line=where[1] if where else None,
                      expected="MMEngine 1.x runtime keys: optim_wrapper, param_scheduler, "
                               "train_cfg/val_cfg/test_cfg, default_hooks, custom_hooks",
                      fix=fix)
