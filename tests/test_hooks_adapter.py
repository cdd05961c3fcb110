"""The adapter drives MMEngine hook points at MMEngine's moments, with MMEngine's iter/epoch.

Expected sequences are written out from mmengine/runner/loops.py (IterBasedTrainLoop,
EpochBasedTrainLoop, ValLoop) and runner.py (before_run/after_run around each run).
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from boring import BoringNet
from lightning_runtime.runtime._context import LoopSpec, RunContext
from lightning_runtime.hooks import Hook, HookCallback, build_callbacks
from lightning_runtime.runtime import train_iter
from lightning_runtime.registry import HOOKS
from lightning_runtime.utils import is_model_wrapper


class Net(BoringNet):
    """Records (iteration, hyper_parameter) that a hook set; logs a fixed mIoU / aAcc."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[int, float]] = []

    def training_step(self, batch, batch_idx):
        if hasattr(self, "hyper_parameter"):
            self.seen.append((train_iter(self.trainer), self.hyper_parameter))
        return self.step(batch)

    def validation_step(self, batch, batch_idx):
        self.log("mIoU", 0.5)

    def test_step(self, batch, batch_idx):
        self.log("aAcc", 0.25)


def loader(n: int, bs: int = 2) -> DataLoader:
    g = torch.Generator().manual_seed(0)
    return DataLoader(TensorDataset(torch.randn(n, 4, generator=g), torch.randn(n, 1, generator=g)), batch_size=bs)


def trainer(tmp_path: Path, callbacks, **kw) -> L.Trainer:
    base = dict(
        logger=False, enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False,
        default_root_dir=str(tmp_path), accelerator="cpu", devices=1,
    )
    base.update(kw)
    return L.Trainer(callbacks=callbacks, **base)


class Recorder(Hook):
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def _rec(self, stage, runner, *extra):
        self.calls.append((stage, runner.iter, runner.epoch, *extra))


for _stage in Hook.stages:
    def _make(stage):
        if stage.endswith("_iter"):
            def fn(self, runner, batch_idx, data_batch=None, outputs=None):
                self._rec(stage, runner, batch_idx)
        elif stage in ("after_val_epoch", "after_test_epoch"):
            def fn(self, runner, metrics=None):
                self._rec(stage, runner, dict(metrics))
        elif stage in ("before_save_checkpoint", "after_load_checkpoint"):
            def fn(self, runner, checkpoint):
                self._rec(stage, runner)
        else:
            def fn(self, runner):
                self._rec(stage, runner)
        return fn
    setattr(Recorder, _stage, _make(_stage))


def _val(it, ep, n, metrics):
    out = [("before_val", it, ep), ("before_val_epoch", it, ep)]
    for b in range(n):
        out += [("before_val_iter", it, ep, b), ("after_val_iter", it, ep, b)]
    return out + [("after_val_epoch", it, ep, metrics), ("after_val", it, ep)]


def test_iter_based_sequence(tmp_path):
    rec = Recorder()
    t = trainer(tmp_path, [HookCallback(rec)], max_steps=6, val_check_interval=3, check_val_every_n_epoch=None)
    t.fit(Net(), loader(8), loader(4))  # 4 train batches per pass, 2 val batches
    exp = [("before_run", 0, 0), ("before_train", 0, 0), ("before_train_epoch", 0, 0)]
    for i in range(6):
        exp += [("before_train_iter", i, 0, i), ("after_train_iter", i, 0, i)]
        if (i + 1) % 3 == 0:
            exp += _val(i + 1, 0, 2, {"mIoU": 0.5})
    exp += [("after_train_epoch", 6, 0), ("after_train", 6, 0), ("after_run", 6, 0)]
    assert rec.calls == exp


def test_epoch_based_sequence(tmp_path):
    rec = Recorder()
    t = trainer(tmp_path, [HookCallback(rec)], max_epochs=2, num_sanity_val_steps=2)
    t.fit(Net(), loader(6), loader(4))  # 3 train batches per epoch
    exp = [("before_run", 0, 0), ("before_train", 0, 0)]
    for e in range(2):
        exp.append(("before_train_epoch", 3 * e, e))
        for b in range(3):
            exp += [("before_train_iter", 3 * e + b, e, b), ("after_train_iter", 3 * e + b, e, b)]
        exp.append(("after_train_epoch", 3 * e + 3, e))  # MMEngine ends the epoch, then validates
        exp += _val(3 * e + 3, e + 1, 2, {"mIoU": 0.5})
    exp += [("after_train", 6, 2), ("after_run", 6, 2)]
    assert rec.calls == exp


def test_validate_and_test_runs(tmp_path):
    rec = Recorder()
    t = trainer(tmp_path, [HookCallback(rec)])
    t.validate(Net(), loader(4))
    assert rec.calls == [("before_run", 0, 0)] + _val(0, 0, 2, {"mIoU": 0.5}) + [("after_run", 0, 0)]
    rec.calls.clear()
    t.test(Net(), loader(2))
    assert rec.calls == [
        ("before_run", 0, 0), ("before_test", 0, 0), ("before_test_epoch", 0, 0),
        ("before_test_iter", 0, 0, 0), ("after_test_iter", 0, 0, 0),
        ("after_test_epoch", 0, 0, {"aAcc": 0.25}), ("after_test", 0, 0), ("after_run", 0, 0),
    ]


def test_checkpoint_points_and_resume_iter(tmp_path):
    rec = Recorder()
    t = trainer(tmp_path, [HookCallback(rec)], max_steps=4, limit_val_batches=0)
    t.fit(Net(), loader(8))
    ckpt = tmp_path / "x.ckpt"
    t.save_checkpoint(ckpt)
    assert rec.calls[-1] == ("before_save_checkpoint", 4, 0)
    rec2 = Recorder()
    t2 = trainer(tmp_path, [HookCallback(rec2)], max_steps=6, limit_val_batches=0)
    t2.fit(Net(), loader(8), ckpt_path=str(ckpt))
    # MMEngine: before_run, then load_checkpoint calls after_load_checkpoint before resume() sets
    # train_loop._iter, so both see iter 0; training then starts at the restored iteration.
    assert rec2.calls[:4] == [
        ("before_run", 0, 0), ("after_load_checkpoint", 0, 0), ("before_train", 4, 0), ("before_train_epoch", 4, 0),
    ]
    assert [c[1] for c in rec2.calls if c[0] == "before_train_iter"] == [4, 5]


class Probe(Hook):
    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.seen = dict(
            wrapper=is_model_wrapper(runner.model), module=runner.model.module,
            lr=runner.optim_wrapper.get_lr(), momentum=runner.optim_wrapper.get_momentum(),
            max_iters=runner.max_iters, max_epochs=runner.max_epochs, work_dir=runner.work_dir,
            log_dir=runner.log_dir, rank=runner.rank, world_size=runner.world_size,
            n_train=len(runner.train_dataloader), loop_max=runner.train_loop.max_iters,
        )
        runner.model.flag = 5  # forwarded to the LightningModule
        try:
            runner.no_such_thing
        except AttributeError as exc:
            self.error = str(exc)


def test_facade_values_and_unknown_attribute(tmp_path):
    probe, net = Probe(), Net()
    ctx = RunContext(cfg={}, work_dir=tmp_path / "wd", timestamp="20240101_000000",
                     train_loop=LoopSpec(by_epoch=False, max_iters=3))
    cb = HookCallback(probe)
    cb.bind_context(ctx)
    trainer(tmp_path, [cb], max_steps=3, limit_val_batches=0).fit(net, loader(8))
    s = probe.seen
    assert s["wrapper"] and s["module"] is net and net.flag == 5
    assert s["lr"] == {"lr": [0.1]} and s["momentum"] == {"momentum": [0]}
    assert (s["max_iters"], s["max_epochs"], s["loop_max"], s["n_train"]) == (3, 1, 3, 4)
    assert s["work_dir"] == str(tmp_path / "wd") and s["log_dir"] == str(tmp_path / "wd" / "20240101_000000")
    assert (s["rank"], s["world_size"]) == (0, 1)
    assert "no attribute 'no_such_thing'" in probe.error and "optim_wrapper" in probe.error


SEED_NEW_HOOK = '''
# Copyright (c) OpenMMLab. All rights reserved.
from typing import Optional, Sequence

from lightning_runtime.hooks import Hook
from lightning_runtime.utils import is_model_wrapper

from lightning_runtime.registry import HOOKS


@HOOKS.register_module()
class NewHook(Hook):
    """Docstring for NewHook.
    """

    def __init__(self, a: int, b: int) -> None:
        self.a = a
        self.b = b

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: Optional[Sequence[dict]] = None) -> None:
        cur_iter = runner.iter
        # Get model if the input model is a model wrapper
        if is_model_wrapper(runner.model):
          model = runner.model.module
        model.hyper_parameter = self.a * cur_iter + self.b
'''


@pytest.fixture
def new_hook(isolated_registries):
    namespace: dict = {}
    exec(compile(SEED_NEW_HOOK, "new_hook.py", "exec"), namespace)
    return namespace["NewHook"]


def test_seed_new_hook_from_config(tmp_path, new_hook):
    ctx = RunContext(
        cfg=dict(
            default_hooks=dict(param_scheduler=None, checkpoint=None, logger=dict(type="LoggerHook", interval=5)),
            custom_hooks=[dict(type="NewHook", a=3, b=7, priority="ABOVE_NORMAL")],
        ),
        work_dir=tmp_path, timestamp="20240101_000000", train_loop=LoopSpec(by_epoch=False, max_iters=10),
    )
    net = Net()
    trainer(tmp_path, build_callbacks(ctx), max_steps=10, limit_val_batches=0).fit(net, loader(8))
    assert [it for it, _ in net.seen] == list(range(10))
    assert all(hp == 3 * it + 7 for it, hp in net.seen)


def test_lightning_user_adds_three_callbacks_by_hand(tmp_path, new_hook, capsys):
    """The docs' example: an existing LightningModule, callbacks imported by hand."""
    from lightning_runtime.callbacks import IterTimerHook, LoggerHook

    net = Net()
    t = trainer(tmp_path, [IterTimerHook(), HookCallback(new_hook(a=2, b=1)), LoggerHook(interval=2)], max_steps=4,
                limit_val_batches=0)
    t.fit(net, loader(8))
    assert net.seen == [(0, 1), (1, 3), (2, 5), (3, 7)]
    out = capsys.readouterr().out
    lines = [line.split(" - INFO - ")[1] for line in out.splitlines() if "Iter(train)" in line]
    assert [line[:38] for line in lines] == ["Iter(train) [2/4]  lr: 1.0000e-01  eta", "Iter(train) [4/4]  lr: 1.0000e-01  eta"]
    assert all("time: " in line and "data_time: " in line and "loss: " in line for line in lines)
    stamp = next(p for p in tmp_path.iterdir() if p.is_dir() and p.name[:2] == "20").name
    assert (tmp_path / stamp / f"{stamp}.log").read_text().count("Iter(train)") == 2


class StopAt(Hook):
    """``runner.train_loop.stop_training = True`` in iteration ``at``'s ``after_train_iter``."""

    def __init__(self, at: int) -> None:
        self.at = at
        self.read_back: bool | None = None

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if runner.iter == self.at:
            runner.train_loop.stop_training = True
            self.read_back = runner.train_loop.stop_training


@pytest.mark.parametrize(("by_epoch", "steps"), [(True, 8), (False, 2)])
def test_stop_training_stops_where_mmengines_loops_look(tmp_path, by_epoch, steps):
    """Asked in iteration 1 (of 4 per epoch): an EpochBasedTrainLoop finishes the epoch (MMEngine reads
    stop_training between epochs: 2 x 4 iterations here, as the request came in epoch 2), an
    IterBasedTrainLoop stops after that iteration."""
    hook = StopAt(5 if by_epoch else 1)
    ctx = RunContext(cfg={}, work_dir=tmp_path / "wd", timestamp="20240101_000000",
                     train_loop=LoopSpec(by_epoch=by_epoch, max_epochs=3) if by_epoch
                     else LoopSpec(by_epoch=False, max_iters=12))
    cb = HookCallback(hook)
    cb.bind_context(ctx)
    kw = dict(max_epochs=3) if by_epoch else dict(max_steps=12)
    t = trainer(tmp_path, [cb], limit_val_batches=0, **kw)
    t.fit(Net(), loader(8))
    assert hook.read_back is True
    assert t.global_step == steps
