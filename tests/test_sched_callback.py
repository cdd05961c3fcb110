"""ParamSchedulerHook with a real CPU Trainer: LR monitor, accumulation, resume, ReduceOnPlateau."""

from __future__ import annotations

import csv
import warnings

import lightning.pytorch as pl
import pytest
import torch
from lightning.pytorch.callbacks import LearningRateMonitor
from lightning.pytorch.loggers import CSVLogger
from torch.utils.data import DataLoader, TensorDataset

from lightning_runtime.callbacks.param_scheduler import ParamSchedulerHook
from lightning_runtime.errors import ConfigError
from lightning_runtime.registry import HOOKS
from lightning_runtime.schedulers import build_scheduler

SCHED = [
    dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=4),
    dict(type="PolyLR", eta_min=1e-4, power=0.9, by_epoch=False, begin=4, end=24),
]


class Net(pl.LightningModule):
    def __init__(self, sched_cfg=SCHED, epoch_length=None, val_metric="val_loss", val_values=None) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.backbone = torch.nn.Linear(4, 4)
        self.head = torch.nn.Linear(4, 1)
        self.sched_cfg = sched_cfg
        self.epoch_length = epoch_length
        self.val_metric = val_metric
        self.val_values = list(val_values or [])
        self.used_lr: list[list[float]] = []  # lr of every group at each optimizer step
        self.batch_lr: list[float] = []  # lr of group 0 in each training batch

    def training_step(self, batch, batch_idx):
        self.batch_lr.append(self.trainer.optimizers[0].param_groups[0]["lr"])
        (x,) = batch
        return self.head(self.backbone(x)).pow(2).mean()

    def on_before_optimizer_step(self, optimizer):
        self.used_lr.append([g["lr"] for g in optimizer.param_groups])

    def validation_step(self, batch, batch_idx):
        pass

    def on_validation_epoch_end(self):
        if self.val_values and not self.trainer.sanity_checking:
            self.log(self.val_metric, self.val_values.pop(0))

    def configure_optimizers(self):
        opt = torch.optim.SGD(
            [
                {"params": self.backbone.parameters(), "lr": 0.01 * 0.5, "name": "backbone"},
                {"params": self.head.parameters(), "lr": 0.01, "name": "head"},
            ],
            lr=0.01,
            momentum=0.9,
        )
        sched = build_scheduler(opt, self.sched_cfg, epoch_length=self.epoch_length)
        self.stack = sched
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def loader(n=24, same=False):
    data = torch.ones(n, 4) if same else torch.randn(n, 4, generator=torch.Generator().manual_seed(1))
    return DataLoader(TensorDataset(data), batch_size=1)


def trainer(tmp_path=None, **kw):
    kw.setdefault("logger", False)
    return pl.Trainer(accelerator="cpu", devices=1, enable_progress_bar=False, enable_model_summary=False,
                      enable_checkpointing=False, num_sanity_val_steps=0, **kw)


def test_registered_as_mmengine_hook_with_low_priority():
    assert HOOKS.get("ParamSchedulerHook") is ParamSchedulerHook
    assert ParamSchedulerHook.priority == "LOW"
    assert HOOKS.build(dict(type="ParamSchedulerHook")).priority == "LOW"


def test_lr_of_every_batch_and_learning_rate_monitor(tmp_path):
    model = Net()
    t = trainer(max_steps=24, logger=CSVLogger(tmp_path, name="csv"), log_every_n_steps=1,
                callbacks=[ParamSchedulerHook(), LearningRateMonitor(logging_interval="step")], limit_val_batches=0)
    t.fit(model, loader())
    curve = model.stack.curve(24)["lr"]
    assert model.batch_lr == list(curve[:, 0])
    assert model.used_lr == [list(r) for r in curve]
    assert model.stack.last_iter == 24  # Lightning's own step() after each optimizer step was a no-op
    with open(tmp_path / "csv" / "version_0" / "metrics.csv") as f:
        rows = [r for r in csv.DictReader(f) if r.get("lr-SGD/head")]
    assert [float(r["lr-SGD/head"]) for r in rows] == pytest.approx(list(curve[:, 1]), rel=1e-12)
    assert [float(r["lr-SGD/backbone"]) for r in rows] == pytest.approx(list(curve[:, 0]), rel=1e-12)
    assert model.batch_lr[0] == pytest.approx(0.1 * 0.005) and model.batch_lr[-1] == pytest.approx(1e-4)


def test_gradient_accumulation_uses_mmengine_iteration_values():
    """Optimizer step s uses the value of iteration (s+1)k-1; begin/end count batches."""
    k = 3
    model = Net()
    t = trainer(max_epochs=1, accumulate_grad_batches=k, callbacks=[ParamSchedulerHook()], limit_val_batches=0)
    t.fit(model, loader(24))
    curve = model.stack.curve(24)["lr"]
    assert len(model.used_lr) == 24 // k
    assert model.used_lr == [list(curve[(s + 1) * k - 1]) for s in range(24 // k)]
    assert model.batch_lr == list(curve[:, 0])
    assert model.stack.last_iter == 24


def test_resume_through_the_trainer_matches_an_uninterrupted_run(tmp_path):
    # identical batches: Lightning restarts a non-resumable dataloader's epoch on resume
    full = Net()
    trainer(max_steps=20, callbacks=[ParamSchedulerHook()], limit_val_batches=0).fit(full, loader(same=True))

    first = Net()
    t1 = trainer(max_steps=9, callbacks=[ParamSchedulerHook()], limit_val_batches=0)
    t1.fit(first, loader(same=True))
    ckpt = tmp_path / "mid.ckpt"
    t1.save_checkpoint(ckpt)

    second = Net()
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*differs from the one in the checkpoint.*")
        trainer(max_steps=20, callbacks=[ParamSchedulerHook()], limit_val_batches=0).fit(
            second, loader(same=True), ckpt_path=ckpt)
    assert first.used_lr + second.used_lr == full.used_lr
    assert second.stack.last_iter == 20
    for a, b in zip(full.parameters(), second.parameters()):
        assert torch.equal(a, b)


def test_resume_with_changed_schedule_warns_and_follows_it(tmp_path):
    first = Net()
    t1 = trainer(max_steps=9, callbacks=[ParamSchedulerHook()], limit_val_batches=0)
    t1.fit(first, loader())
    t1.save_checkpoint(tmp_path / "mid.ckpt")
    changed = [dict(SCHED[0]), dict(SCHED[1], eta_min=0.0, end=16)]
    second = Net(sched_cfg=changed)
    with pytest.warns(UserWarning, match="following the current config from iteration 9"):
        trainer(max_steps=16, callbacks=[ParamSchedulerHook()], limit_val_batches=0).fit(
            second, loader(), ckpt_path=tmp_path / "mid.ckpt")
    expected = second.stack.curve(16)["lr"]
    assert second.used_lr == [list(r) for r in expected[9:16]]
    assert second.used_lr[-1] == [0.0, 0.0]


def test_reduce_on_plateau_fed_by_validation_metrics():
    cfg = [dict(type="ReduceOnPlateauLR", monitor="val_loss", patience=0, factor=0.5)]
    model = Net(sched_cfg=cfg, epoch_length=6, val_values=[1.0, 2.0, 3.0, 0.5])
    t = trainer(max_epochs=4, callbacks=[ParamSchedulerHook()], limit_train_batches=6, limit_val_batches=1)
    t.fit(model, loader(6), loader(1))
    per_epoch = [model.batch_lr[i * 6] for i in range(4)]
    assert per_epoch == pytest.approx([0.005, 0.005, 0.0025, 0.00125])


def test_reduce_on_plateau_with_a_metric_never_logged_fails_clearly():
    cfg = [dict(type="ReduceOnPlateauLR", monitor="mIoU", rule="greater")]
    model = Net(sched_cfg=cfg, epoch_length=6, val_metric="val/miou", val_values=[0.1])
    t = trainer(max_epochs=1, callbacks=[ParamSchedulerHook()], limit_train_batches=6, limit_val_batches=1)
    with pytest.raises(ConfigError, match="'mIoU' was not logged") as info:
        t.fit(model, loader(6), loader(1))
    assert info.value.path == "param_scheduler[0].monitor"
    assert "miou" in info.value.candidates


class PlainNet(Net):
    """Returns an optimizer only, or with a plain torch scheduler."""

    def __init__(self, torch_sched: bool = False) -> None:
        super().__init__()
        self.torch_sched = torch_sched

    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=0.01)
        if self.torch_sched:
            return {"optimizer": opt, "lr_scheduler": torch.optim.lr_scheduler.StepLR(opt, step_size=1)}
        return opt


def _missing_stack_warnings(hook, net, tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer(max_steps=2, callbacks=[hook], limit_val_batches=0, default_root_dir=str(tmp_path)).fit(net, loader(4))
    return [str(w.message) for w in caught if "found no ParamSchedulerStack" in str(w.message)]


@pytest.mark.parametrize(
    "cfg, torch_sched, expected",
    [
        ({}, False, 0),  # a config without param_scheduler: silent, as MMEngine's hook
        ({"param_scheduler": []}, False, 0),
        ({"param_scheduler": SCHED}, False, 1),  # configured but not returned: it would not apply
        (None, False, 1),  # added by hand, no ctx, no scheduler at all
        (None, True, 0),  # added by hand next to a plain torch scheduler: left to Lightning
    ],
)
def test_missing_stack_warns_only_when_a_schedule_is_lost(tmp_path, cfg, torch_sched, expected):
    from lightning_runtime.runtime import RunContext

    hook = ParamSchedulerHook()
    if cfg is not None:
        hook.bind_context(RunContext(cfg=cfg, work_dir=tmp_path, timestamp="t"))
    texts = _missing_stack_warnings(hook, PlainNet(torch_sched), tmp_path)
    assert len(texts) == expected, texts
    if cfg and expected:
        assert "the config has a param_scheduler" in texts[0]
