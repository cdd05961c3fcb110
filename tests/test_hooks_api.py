"""Hook API parity with MMEngine: priorities, helpers, triggered stages, ordering rule."""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path
from types import SimpleNamespace

import mmengine
import pytest

from lightning_runtime.errors import ConfigError
from lightning_runtime.hooks import Hook, Priority, get_priority, sort_by_priority

_MM = Path(mmengine.__file__).parent


def _load(rel: str, name: str):
    spec = importlib.util.spec_from_file_location(name, _MM / rel)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


mm_priority = _load("runner/priority.py", "_mm_priority")
mm_hook = _load("hooks/hook.py", "_mm_hook")


@pytest.mark.parametrize("value", ["HIGHEST", "very_high", "HIGH", "ABOVE_NORMAL", "NORMAL", "below_normal", "LOW", "VERY_LOW", "LOWEST", 0, 42, 100])
def test_get_priority_matches_mmengine(value):
    assert get_priority(value) == mm_priority.get_priority(value)


def test_priority_enum_values_match():
    assert {p.name: p.value for p in Priority} == {p.name: p.value for p in mm_priority.Priority}


@pytest.mark.parametrize("bad", ["NORMALL", 101, -1, 1.5])
def test_bad_priority_is_config_error(bad):
    with pytest.raises(ConfigError) as err:
        get_priority(bad, path="custom_hooks[0].priority")
    assert "custom_hooks[0].priority" in str(err.value)
    if bad == "NORMALL":
        assert "'NORMAL'" in str(err.value)  # did you mean


def test_every_hook_point_exists_with_mmengine_signature():
    import inspect

    for stage in mm_hook.Hook.stages:
        ours = inspect.signature(getattr(Hook, stage))
        theirs = inspect.signature(getattr(mm_hook.Hook, stage))
        assert list(ours.parameters) == list(theirs.parameters), stage
    assert set(Hook.stages) == set(mm_hook.Hook.stages)
    assert Hook.priority == mm_hook.Hook.priority == "NORMAL"


@pytest.mark.parametrize("it,epoch,batch_idx,n,start", [(i, e, b, n, s) for i in (0, 4, 9) for e in (0, 3) for b in (0, 5) for n in (0, 1, 5) for s in (0, 3)])
def test_helpers_match_mmengine(it, epoch, batch_idx, n, start):
    runner = SimpleNamespace(iter=it, epoch=epoch, max_iters=10, max_epochs=4)
    ours, theirs = Hook(), mm_hook.Hook()
    assert ours.every_n_epochs(runner, n, start) == theirs.every_n_epochs(runner, n, start)
    assert ours.every_n_train_iters(runner, n, start) == theirs.every_n_train_iters(runner, n, start)
    assert ours.every_n_inner_iters(batch_idx, n) == theirs.every_n_inner_iters(batch_idx, n)
    assert ours.end_of_epoch(range(6), batch_idx) == theirs.end_of_epoch(range(6), batch_idx)
    assert ours.is_last_train_epoch(runner) == theirs.is_last_train_epoch(runner)
    assert ours.is_last_train_iter(runner) == theirs.is_last_train_iter(runner)


def test_triggered_stages_match_mmengine():
    def body(self, *a, **k):
        return None

    for methods in (["before_train_iter"], ["_after_iter"], ["_before_epoch", "after_run"], []):
        ours = type("A", (Hook,), {m: body for m in methods})()
        theirs = type("B", (mm_hook.Hook,), {m: body for m in methods})()
        assert sorted(ours.get_triggered_stages()) == sorted(theirs.get_triggered_stages())


def _mm_register_order(priorities):
    """MMEngine's Runner.register_hook insertion, copied as the reference rule."""
    hooks = []
    for idx, prio in enumerate(priorities):
        obj = SimpleNamespace(priority=prio, idx=idx)
        for i in range(len(hooks) - 1, -1, -1):
            if mm_priority.get_priority(obj.priority) >= mm_priority.get_priority(hooks[i].priority):
                hooks.insert(i + 1, obj)
                break
        else:
            hooks.insert(0, obj)
    return [h.idx for h in hooks]


def test_sort_by_priority_matches_mmengine_rule_on_random_mixes():
    rng = random.Random(0)
    names = [p.name for p in Priority] + [5, 45, 50, 77]
    for _ in range(200):
        prios = [rng.choice(names) for _ in range(rng.randint(1, 12))]
        objs = [SimpleNamespace(priority=p, idx=i) for i, p in enumerate(prios)]
        assert [o.idx for o in sort_by_priority(objs)] == _mm_register_order(prios)


def test_get_logger_keeps_a_level_the_user_chose(tmp_path, capsys):
    """get_logger() sets INFO only on an unset logger; a user's WARNING (or DEBUG) stays."""
    import logging

    from lightning_runtime.runtime import RunContext
    from lightning_runtime.hooks._builder import build_callbacks
    from lightning_runtime.runtime._run_log import LOGGER_NAME, get_logger

    logger = logging.getLogger(LOGGER_NAME)
    saved = logger.level
    try:
        logger.setLevel(logging.WARNING)
        build_callbacks(RunContext(cfg={}, work_dir=tmp_path, timestamp="t"))  # logs the hook order via get_logger()
        assert logger.level == logging.WARNING
        assert "Hooks will be executed" not in capsys.readouterr().err
        logger.setLevel(logging.DEBUG)
        assert get_logger().level == logging.DEBUG  # not raised either
        logger.setLevel(logging.NOTSET)
        assert get_logger().level == logging.INFO  # unset: INFO, as MMEngine's MMLogger
    finally:
        logger.setLevel(saved)
