"""EMAHook (parity with MMEngine's ExponentialMovingAverage), EarlyStoppingHook, CheckInvalidLossHook,
DistSamplerSeedHook, EmptyCacheHook, SyncBuffersHook in real CPU Trainer runs."""

from __future__ import annotations

import copy

import lightning as L
import pytest
import torch
from lightning.pytorch import Callback
from mmengine.model import ExponentialMovingAverage
from torch.utils.data import DataLoader, TensorDataset

from boring import BoringNet
from lightning_runtime.callbacks import (
    CheckInvalidLossHook,
    DistSamplerSeedHook,
    EarlyStoppingHook,
    EMAHook,
    EmptyCacheHook,
    SyncBuffersHook,
)


class Net(BoringNet):
    """Logs a scripted mIoU per epoch; the loss turns NaN from global step ``nan_at``."""

    def __init__(self, metric=None, nan_at=None) -> None:
        super().__init__(seed=0)
        self.metric = list(metric or [])
        self.nan_at = nan_at

    def training_step(self, batch, batch_idx):
        loss = self.step(batch)
        if self.nan_at is not None and self.global_step >= self.nan_at:
            loss = loss * float("nan")
        return loss

    def validation_step(self, batch, batch_idx):
        if self.metric:
            self.log("mIoU", float(self.metric[min(self.current_epoch, len(self.metric) - 1)]))


def loader(n: int, bs: int = 2, sampler=None) -> DataLoader:
    g = torch.Generator().manual_seed(0)
    return DataLoader(TensorDataset(torch.randn(n, 4, generator=g), torch.randn(n, 1, generator=g)), batch_size=bs,
                      sampler=sampler)


def trainer(tmp_path, callbacks, **kw):
    base = dict(logger=False, enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False,
                default_root_dir=str(tmp_path), num_sanity_val_steps=0)
    base.update(kw)
    return L.Trainer(callbacks=callbacks, **base)


class Snapshots(Callback):
    def __init__(self):
        self.params = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.params.append(copy.deepcopy(pl_module.layer.state_dict()))


@pytest.mark.parametrize("kw", [dict(momentum=0.1), dict(momentum=0.2, interval=3), dict(momentum=0.3, begin_iter=4)])
def test_ema_matches_mmengine(tmp_path, kw):
    snaps = Snapshots()
    net = Net()
    trainer(tmp_path, [snaps, EMAHook(**kw)], max_steps=9, limit_val_batches=0).fit(net, loader(8))
    # reference: MMEngine's EMAHook.after_train_iter over the same raw weights
    src = torch.nn.Linear(4, 1)
    ema = ExponentialMovingAverage(src, momentum=kw["momentum"], interval=kw.get("interval", 1))
    for i, state in enumerate(snaps.params):
        src.load_state_dict(state)
        if i + 1 >= kw.get("begin_iter", 0):
            ema.update_parameters(src)
        else:
            for k, p in ema.module.state_dict().items():
                p.data.copy_(src.state_dict()[k].data)
    # Lightning's EMAWeightAveraging copies the average into the model when training ends
    for k, v in ema.module.state_dict().items():
        torch.testing.assert_close(net.layer.state_dict()[k], v)


def test_early_stopping_stops_like_mmengine(tmp_path):
    # mIoU: 10, 10.05 (< min_delta 0.1 better: wait 1), 10.1 (wait 2 -> stop with patience 2)
    net = Net(metric=[10.0, 10.05, 10.08, 20.0])
    t = trainer(tmp_path, [EarlyStoppingHook(monitor="mIoU", patience=2)], max_epochs=10)
    t.fit(net, loader(4), loader(2))
    assert t.current_epoch == 3  # stopped after the 3rd validation


def test_early_stopping_missing_metric_warns_not_strict(tmp_path):
    t = trainer(tmp_path, [EarlyStoppingHook(monitor="mDice", patience=1)], max_epochs=2)
    with pytest.warns(RuntimeWarning, match="mDice"):
        t.fit(Net(metric=[1.0]), loader(4), loader(2))
    assert t.current_epoch == 2


def test_check_invalid_loss_raises_at_interval(tmp_path):
    t = trainer(tmp_path, [CheckInvalidLossHook(interval=3)], max_steps=10, limit_val_batches=0)
    with pytest.raises(FloatingPointError, match="iteration 5"):
        t.fit(Net(nan_at=4), loader(16))  # NaN from iteration 4, first checked at iteration 5 (every 3rd)


class SeedSampler(torch.utils.data.SequentialSampler):
    def __init__(self, data):
        super().__init__(data)
        self.epochs = []

    def set_epoch(self, epoch):
        self.epochs.append(epoch)


def test_sampler_seed_set_epoch_each_epoch(tmp_path):
    data = TensorDataset(torch.randn(4, 4), torch.randn(4, 1))
    sampler = SeedSampler(data)
    dl = DataLoader(data, batch_size=2, sampler=sampler)
    trainer(tmp_path, [DistSamplerSeedHook()], max_epochs=3, limit_val_batches=0, use_distributed_sampler=False).fit(Net(), dl)
    # Lightning's fit loop already calls set_epoch before each epoch; the hook repeats it (idempotent)
    # at on_train_epoch_start, as MMEngine's DistSamplerSeedHook does in before_train_epoch.
    assert sampler.epochs == [0, 0, 1, 1, 2, 2]


def test_empty_cache_and_sync_buffers_are_harmless_on_cpu(tmp_path):
    net = Net()
    t = trainer(tmp_path, [EmptyCacheHook(before_epoch=True, after_iter=True), SyncBuffersHook()], max_epochs=1)
    t.fit(net, loader(4), loader(2))
    assert t.current_epoch == 1
