"""The Runtime's hook dispatcher: the same hook points, order, log lines and checkpoints as unpacked callbacks.

``Runtime.build_trainer`` packs consecutive stateless runtime callbacks into one
``HookDispatcher`` (less per-iteration overhead in Lightning's dispatch). A run through it must be
indistinguishable from a run with the same callbacks given one by one to a plain ``L.Trainer``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping, LearningRateMonitor

from lightning_runtime import Runtime
from lightning_runtime.callbacks import (
    CheckpointHook,
    EarlyStoppingHook,
    EMAHook,
    IterTimerHook,
    LoggerHook,
    ParamSchedulerHook,
    RuntimeInfoHook,
    SegVisualizationHook,
)
from lightning_runtime.hooks import Hook, HookCallback
from lightning_runtime.hooks._dispatch import HookDispatcher, dispatch_hooks, flat_callbacks, packable
from lightning_runtime.registry import HOOKS
from runtime_helpers import Boring, loader

EVENTS: list[tuple[str, str, int]] = []


@HOOKS.register_module(force=True)
class DispatchRecorder(Hook):
    """Records (name, point, runner.iter) at every training/checkpoint point it sees."""

    def __init__(self, name: str) -> None:
        self.name = name

    def _rec(self, point: str, runner: Any) -> None:
        EVENTS.append((self.name, point, runner.iter))

    def before_run(self, runner: Any) -> None:
        self._rec("before_run", runner)

    def before_train(self, runner: Any) -> None:
        self._rec("before_train", runner)

    def before_train_epoch(self, runner: Any) -> None:
        self._rec("before_train_epoch", runner)

    def before_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None) -> None:
        self._rec("before_train_iter", runner)

    def after_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None) -> None:
        lr = runner.optim_wrapper.get_lr()["lr"][0]
        EVENTS.append((self.name, f"after_train_iter lr={lr:.6g} loss={float(outputs['loss']):.6g}", runner.iter))

    def after_train_epoch(self, runner: Any) -> None:
        self._rec("after_train_epoch", runner)

    def before_val(self, runner: Any) -> None:
        self._rec("before_val", runner)

    def after_val_epoch(self, runner: Any, metrics: Any = None) -> None:
        self._rec("after_val_epoch", runner)

    def after_val(self, runner: Any) -> None:
        self._rec("after_val", runner)

    def before_save_checkpoint(self, runner: Any, checkpoint: dict) -> None:
        self._rec("before_save_checkpoint", runner)

    def after_train(self, runner: Any) -> None:
        self._rec("after_train", runner)

    def after_run(self, runner: Any) -> None:
        self._rec("after_run", runner)


class ValNet(Boring):
    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.log("mIoU", 0.5)


def _cfg(work_dir: Path) -> dict[str, Any]:
    return dict(
        work_dir=str(work_dir),
        train_cfg=dict(type="IterBasedTrainLoop", max_iters=8, val_interval=4),
        val_cfg=dict(type="ValLoop"),
        optim_wrapper=dict(type="OptimWrapper", optimizer=dict(type="SGD", lr=0.1, momentum=0.9)),
        param_scheduler=[dict(type="LinearLR", start_factor=0.5, by_epoch=False, begin=0, end=4),
                         dict(type="PolyLR", power=0.9, eta_min=0.001, by_epoch=False, begin=4, end=8)],
        default_hooks=dict(logger=dict(type="LoggerHook", interval=2),
                           checkpoint=dict(type="CheckpointHook", interval=4, by_epoch=False)),
        custom_hooks=[dict(type="DispatchRecorder", name="high", priority="ABOVE_NORMAL"),
                      dict(type="DispatchRecorder", name="normal", priority="NORMAL"),
                      dict(type="DispatchRecorder", name="very_low", priority="VERY_LOW")],
        log_processor=dict(by_epoch=False),
        randomness=dict(seed=0),
    )


def _run(work_dir: Path, packed: bool) -> tuple[list, L.Trainer, Boring]:
    """One fit: through Runtime.fit (packed), or the same callbacks one by one in a plain Trainer."""
    EVENTS.clear()
    rt = Runtime(_cfg(work_dir))
    torch.manual_seed(0)
    net = ValNet(rt)
    if packed:
        trainer = rt.fit(net, train_dataloaders=loader(8, 2), val_dataloaders=loader(2, 2, seed=1),
                         enable_progress_bar=False, enable_model_summary=False)
    else:
        rt._prepare(net, [])
        kwargs = rt.trainer_kwargs()
        trainer = L.Trainer(**kwargs, callbacks=rt.callbacks(), enable_progress_bar=False, enable_model_summary=False)
        trainer.fit(net, train_dataloaders=loader(8, 2), val_dataloaders=loader(2, 2, seed=1))
    return list(EVENTS), trainer, net


def _log_lines(work_dir: Path) -> list[str]:
    (log,) = work_dir.glob("*/*.log")
    lines = [line.split(" - ", 3)[-1] for line in log.read_text().splitlines() if "Iter(" in line]
    return [re.sub(r"(eta|time|data_time): \S+", r"\1: _", line) for line in lines]


def _scalars(work_dir: Path) -> list[dict]:
    (path,) = work_dir.glob("*/vis_data/scalars.json")
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return [{k: v for k, v in row.items() if k not in ("time", "data_time", "eta")} for row in rows]


def test_runtime_trainer_packs_the_stateless_hooks_in_priority_order(tmp_path: Path) -> None:
    rt = Runtime(_cfg(tmp_path))
    trainer = rt.build_trainer(enable_progress_bar=False)
    first = next(cb for cb in trainer.callbacks if isinstance(cb, HookDispatcher))
    names = [type(cb.hook).__name__ if isinstance(cb, HookCallback) else type(cb).__name__ for cb in first.callbacks]
    assert names[names.index("RuntimeInfoHook"):] == [
        "RuntimeInfoHook", "DispatchRecorder", "IterTimerHook", "DistSamplerSeedHook", "DispatchRecorder",
        "LoggerHook", "ParamSchedulerHook"]
    # CheckpointHook (state in checkpoints) stays a callback of its own, right after them, before the
    # VERY_LOW hook that follows it in priority order
    top = [type(cb).__name__ for cb in trainer.callbacks]
    assert top[top.index("HookDispatcher") + 1] == "CheckpointHook"
    # with the dispatchers opened, the order is Runtime.callbacks()'s
    flat = [type(cb).__name__ for cb in flat_callbacks(trainer) if type(cb).__module__.startswith("lightning_runtime.")]
    assert flat == [type(cb).__name__ for cb in rt.callbacks()]


def test_packed_run_is_the_unpacked_run(tmp_path: Path) -> None:
    packed_events, packed_trainer, packed_net = _run(tmp_path / "packed", packed=True)
    plain_events, plain_trainer, plain_net = _run(tmp_path / "plain", packed=False)
    assert any(isinstance(cb, HookDispatcher) for cb in packed_trainer.callbacks)
    assert not any(isinstance(cb, HookDispatcher) for cb in plain_trainer.callbacks)
    # every hook point, in the same order, with the same iter, lr (after the LOW scheduler step for
    # VERY_LOW) and loss
    assert packed_events == plain_events
    assert len([e for e in packed_events if e[1].startswith("after_train_iter")]) == 3 * 8
    assert [e for e in packed_events if e[1] == "before_save_checkpoint"] == \
        [e for e in plain_events if e[1] == "before_save_checkpoint"]
    # the same weights, log lines, scalars and checkpoint contents
    for a, b in zip(packed_net.parameters(), plain_net.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert _log_lines(tmp_path / "packed") == _log_lines(tmp_path / "plain") != []
    assert _scalars(tmp_path / "packed") == _scalars(tmp_path / "plain") != []
    a = torch.load(tmp_path / "packed" / "iter_8.pth", weights_only=False)
    b = torch.load(tmp_path / "plain" / "iter_8.pth", weights_only=False)
    assert sorted(a) == sorted(b)
    assert sorted(a["callbacks"]) == sorted(b["callbacks"])
    assert a["message_hub"]["log_scalars"].keys() == b["message_hub"]["log_scalars"].keys()


def test_packed_run_hook_outputs_are_one_dict_per_batch(tmp_path: Path) -> None:
    seen: list[int] = []

    class Out(Hook):
        def after_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None) -> None:
            seen.append(id(outputs))

    rt = Runtime(dict(_cfg(tmp_path), custom_hooks=[Out(), Out()]))
    torch.manual_seed(0)
    rt.fit(Boring(rt), train_dataloaders=loader(8, 2), enable_progress_bar=False, enable_model_summary=False)
    assert len(seen) == 16 and all(seen[i] == seen[i + 1] for i in range(0, 16, 2))  # as MMEngine: one outputs


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: RuntimeInfoHook(), True),
        (lambda: IterTimerHook(), True),
        (lambda: LoggerHook(interval=5), True),
        (lambda: ParamSchedulerHook(), True),
        (lambda: HookCallback(Hook()), True),
        (lambda: CheckpointHook(interval=1), False),  # state in checkpoints
        (lambda: SegVisualizationHook(), False),  # state in checkpoints
        (lambda: EarlyStoppingHook(monitor="mIoU"), False),  # Lightning's EarlyStopping: found by type
        (lambda: EMAHook(), False),  # Lightning's weight averaging
        (lambda: LearningRateMonitor(), False),  # Lightning's own
        (lambda: EarlyStopping(monitor="x"), False),
        (lambda: Callback(), False),  # not this package's
    ],
)
def test_packable(make: Any, expected: bool) -> None:
    assert packable(make()) is expected


def test_dispatch_hooks_keeps_unpackable_callbacks_in_place() -> None:
    a, b, c, d = RuntimeInfoHook(), IterTimerHook(), CheckpointHook(interval=1), LoggerHook(interval=5)
    out = dispatch_hooks([a, b, c, d])
    assert isinstance(out[0], HookDispatcher) and out[0].callbacks == [a, b]
    assert out[1:] == [c, d]  # a run of one is left as it is


def test_dispatcher_calls_only_what_each_callback_overrides() -> None:
    calls: list[str] = []

    class A(Callback):
        def on_train_batch_start(self, *args: Any) -> None:
            calls.append("A.start")

    class B(Callback):
        def on_train_batch_end(self, *args: Any) -> None:
            calls.append("B.end")

    d = HookDispatcher([A(), B()])
    assert [len(d._calls[p]) for p in ("on_train_batch_start", "on_train_batch_end", "on_fit_start")] == [1, 1, 0]
    d.on_train_batch_start(None, None, None, 0)
    d.on_train_batch_end(None, None, None, None, 0)
    assert calls == ["A.start", "B.end"]
    assert d.state_key == d.state_key and "HookDispatcher" in d.state_key


def test_runtime_trainer_profiler_records_nothing_unless_one_is_given(tmp_path: Path) -> None:
    from lightning.pytorch.profilers import PassThroughProfiler, SimpleProfiler

    from lightning_runtime.hooks._dispatch import NoOpProfiler

    rt = Runtime(_cfg(tmp_path))
    trainer = rt.build_trainer(enable_progress_bar=False)
    assert isinstance(trainer.profiler, NoOpProfiler) and isinstance(trainer.profiler, PassThroughProfiler)
    first = trainer.profiler.profile("a")
    assert first is trainer.profiler.profile("b")  # one reusable context, nothing recorded
    assert trainer.profiler.summary() == ""
    # a profiler asked for is used (Lightning's name or an instance), and it records the hooks
    assert isinstance(rt.build_trainer(profiler="simple").profiler, SimpleProfiler)
    simple = SimpleProfiler(dirpath=str(tmp_path), filename="prof")
    rt2 = Runtime(dict(_cfg(tmp_path / "p"), custom_hooks=[]))
    torch.manual_seed(0)
    trainer = rt2.fit(Boring(rt2), train_dataloaders=loader(8, 2), enable_progress_bar=False,
                      enable_model_summary=False, profiler=simple)
    assert trainer.profiler is simple
    assert any("HookDispatcher" in action and "on_train_batch_end" in action for action in simple.recorded_durations)
