"""build_callbacks: MMEngine's default set, None removal, custom_hooks, priorities, errors."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from lightning.pytorch import Callback

from lightning_runtime.runtime import RunContext
from lightning_runtime.errors import ConfigError
from lightning_runtime.hooks import Hook, HookCallback, build_callbacks
from lightning_runtime.registry import HOOKS

_STANDINS = ("ParamSchedulerHook", "CheckpointHook", "SegVisualizationHook")


@pytest.fixture
def standins(isolated_registries):
    """Small stand-ins for hooks other modules own; the registry is restored afterwards."""
    made = {}
    for name, prio in zip(_STANDINS, ("LOW", "VERY_LOW", "NORMAL")):
        def __init__(self, **kwargs):
            self.kwargs = kwargs
        made[name] = type(name, (Callback,), {"priority": prio, "__init__": __init__})
        HOOKS.register_module(name=name, module=made[name], force=True)
    return made


class MarkHook(Hook):
    def __init__(self, tag: str = "") -> None:
        self.tag = tag


class ContextHook(Hook):
    def bind_context(self, ctx):
        self.ctx = ctx


def _ctx(tmp_path: Path, **cfg) -> RunContext:
    return RunContext(cfg=cfg, work_dir=tmp_path, timestamp="20240101_000000")


def _names(cbs):
    return [type(cb.hook).__name__ if isinstance(cb, HookCallback) else type(cb).__name__ for cb in cbs]


SEG_DEFAULTS = dict(
    timer=dict(type="IterTimerHook"),
    logger=dict(type="LoggerHook", interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type="ParamSchedulerHook"),
    checkpoint=dict(type="CheckpointHook", by_epoch=False, interval=2000),
    sampler_seed=dict(type="DistSamplerSeedHook"),
    visualization=dict(type="SegVisualizationHook"),
)


def test_mmseg_default_hooks_order_and_args(tmp_path, standins, caplog):
    caplog.set_level(logging.INFO, logger="lightning_runtime")
    cbs = build_callbacks(_ctx(tmp_path, default_hooks=SEG_DEFAULTS))
    # MMEngine: runtime_info(VERY_HIGH), timer, sampler_seed (NORMAL, registration order),
    # visualization (NORMAL, added after the defaults), logger(BELOW_NORMAL), param_scheduler(LOW),
    # checkpoint(VERY_LOW)
    assert _names(cbs) == [
        "RuntimeInfoHook", "IterTimerHook", "DistSamplerSeedHook", "SegVisualizationHook",
        "LoggerHook", "ParamSchedulerHook", "CheckpointHook",
    ]
    logger = cbs[4]
    assert (logger.interval, logger.log_metric_by_epoch) == (50, False)
    assert cbs[6].kwargs == dict(by_epoch=False, interval=2000)
    assert all(cb._ctx is not None for cb in cbs if hasattr(cb, "_ctx"))
    order = [r.getMessage() for r in caplog.records if "executed in the following order" in r.getMessage()]
    assert len(order) == 1
    assert "(VERY_HIGH   ) RuntimeInfoHook\n(NORMAL      ) IterTimerHook" in order[0]


def test_none_removes_hooks_without_standins(tmp_path):
    cfg = dict(default_hooks=dict(param_scheduler=None, checkpoint=None, timer=None))
    assert _names(build_callbacks(_ctx(tmp_path, **cfg))) == ["RuntimeInfoHook", "DistSamplerSeedHook", "LoggerHook"]


def test_missing_type_keeps_default_type(tmp_path):
    cfg = dict(default_hooks=dict(param_scheduler=None, checkpoint=None, logger=dict(interval=7)))
    logger = [cb for cb in build_callbacks(_ctx(tmp_path, **cfg)) if type(cb).__name__ == "LoggerHook"][0]
    assert logger.interval == 7


def test_custom_hooks_priorities_mixed(tmp_path, standins):
    HOOKS.register_module(module=MarkHook, force=True)
    cfg = dict(
        default_hooks=dict(visualization=None),
        custom_hooks=[
            dict(type="MarkHook", tag="a"),                        # NORMAL: after the NORMAL defaults
            dict(type="MarkHook", tag="b", priority="ABOVE_NORMAL"),
            dict(type="MarkHook", tag="c", priority=0),
            dict(type="EMAHook", momentum=0.01),                    # NORMAL, after 'a'
            dict(type="EarlyStoppingHook", monitor="mIoU"),         # LOWEST
            dict(type=f"{__name__}.MarkHook", tag="d", priority="VERY_LOW"),  # dotted path; tie with checkpoint
        ],
    )
    cbs = build_callbacks(_ctx(tmp_path, **cfg))
    tags = [getattr(getattr(cb, "hook", None), "tag", None) or type(cb).__name__ for cb in cbs]
    assert tags == [
        "c", "RuntimeInfoHook", "b", "IterTimerHook", "DistSamplerSeedHook", "a", "EMAHook",
        "LoggerHook", "ParamSchedulerHook", "CheckpointHook", "d", "EarlyStoppingHook",
    ]
    assert cbs[0].priority == 0 and cbs[2].hook.priority == "ABOVE_NORMAL"


def test_bind_context_reaches_wrapped_hook(tmp_path, isolated_registries):
    HOOKS.register_module(module=ContextHook, force=True)
    ctx = _ctx(tmp_path, default_hooks=dict(param_scheduler=None, checkpoint=None), custom_hooks=[dict(type="ContextHook")])
    wrapped = [cb for cb in build_callbacks(ctx) if isinstance(cb, HookCallback)][0]
    assert wrapped.hook.ctx is ctx and wrapped._ctx is ctx


@pytest.mark.parametrize(
    "cfg,path,hint",
    [
        (dict(default_hooks=dict(loger=dict(type="LoggerHook"))), "default_hooks.loger", "'logger'"),
        (dict(default_hooks=dict(timer=dict(type="IterTimerHok"))), "default_hooks.timer.type", "'IterTimerHook'"),
        (dict(default_hooks=dict(logger=dict(type="LoggerHook", intervall=5))), "default_hooks.logger.intervall", "'interval'"),
        (dict(default_hooks=dict(logger=dict(type="LoggerHook", interval=0))), "default_hooks.logger.interval", "positive"),
        (dict(custom_hooks=[dict(type="NewHok")]), "custom_hooks[0].type", "unknown hook type"),
        (dict(custom_hooks=[dict(type="IterTimerHook", priority="NORMALL")]), "custom_hooks[0].priority", "'NORMAL'"),
        (dict(custom_hooks=[dict(type="ProfilerHook")]), "custom_hooks[0].type", "profiler"),
        (dict(custom_hooks=[dict(type="EMAHook", ema_type="StochasticWeightAverage")]), "custom_hooks[0].ema_type", "StochasticWeightAveraging"),
        (dict(custom_hooks=[dict(type="EarlyStoppingHook", monitor="foo")]), "custom_hooks[0].rule", "rule="),
        (dict(custom_hooks=[dict(type="collections.OrderedDict")]), "custom_hooks[0].type", "not a hook class"),
        (dict(custom_hooks=dict(type="IterTimerHook")), "custom_hooks", "list"),
    ],
)
def test_config_errors_name_the_path(tmp_path, cfg, path, hint):
    cfg.setdefault("default_hooks", {})
    cfg["default_hooks"].update(param_scheduler=None, checkpoint=None)
    with pytest.raises(ConfigError) as err:
        build_callbacks(_ctx(tmp_path, **cfg))
    assert err.value.path == path
    assert hint in str(err.value)


def test_unregistered_default_types_resolve_at_call_time(tmp_path, isolated_registries):
    """ParamSchedulerHook etc. are looked up when build_callbacks runs, not at import."""
    HOOKS._module_dict.pop("ParamSchedulerHook", None)
    with pytest.raises(ConfigError) as err:
        build_callbacks(_ctx(tmp_path, default_hooks=dict(checkpoint=None)))
    assert err.value.path == "default_hooks.param_scheduler.type"
