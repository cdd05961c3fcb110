"""LoggerHook / IterTimerHook / RuntimeInfoHook in real CPU Trainer runs: exact lines and files."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.loggers import CSVLogger
from torch.utils.data import DataLoader, TensorDataset

from boring import BoringNet
from lightning_runtime.callbacks import IterTimerHook, LoggerHook, RuntimeInfoHook
from lightning_runtime.runtime._context import LoopSpec, RunContext
from lightning_runtime.hooks import message_hub_for

NUM = r"\d+\.\d{4}"


class Net(BoringNet):
    """Loss values are recorded so the averaged text can be checked exactly."""

    def __init__(self) -> None:
        super().__init__()
        self.losses: list[float] = []

    def training_step(self, batch, batch_idx):
        loss = self.step(batch)
        self.losses.append(loss.item())
        return loss

    def validation_step(self, batch, batch_idx):
        self.log("mIoU", 0.625)

    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=0.1)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 ** s)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def loader(n: int, bs: int = 2) -> DataLoader:
    g = torch.Generator().manual_seed(0)
    return DataLoader(TensorDataset(torch.randn(n, 4, generator=g), torch.randn(n, 1, generator=g)), batch_size=bs)


def _ctx(tmp_path: Path, loop: LoopSpec, **log_processor) -> RunContext:
    return RunContext(cfg={}, work_dir=tmp_path / "work", timestamp="20240101_120000", train_loop=loop,
                      log_processor=log_processor)


def _run(tmp_path, callbacks, ctx, net=None, val=None, **kw):
    for cb in callbacks:
        cb.bind_context(ctx)
    base = dict(logger=False, enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False,
                default_root_dir=str(tmp_path), accelerator="cpu", devices=1, num_sanity_val_steps=0)
    base.update(kw)
    net = net or Net()
    trainer = L.Trainer(callbacks=callbacks, **base)
    trainer.fit(net, loader(8), val)
    return trainer, net


def _messages(log_file: Path) -> list[str]:
    return [line.split(" - INFO - ", 1)[1] for line in log_file.read_text().splitlines() if " - INFO - " in line]


def test_iter_based_lines_values_and_files(tmp_path):
    ctx = _ctx(tmp_path, LoopSpec(by_epoch=False, max_iters=10, val_interval=5), by_epoch=False, window_size=3)
    cbs = [RuntimeInfoHook(), IterTimerHook(), LoggerHook(interval=5, interval_exp_name=10, log_metric_by_epoch=False)]
    trainer, net = _run(tmp_path, cbs, ctx, val=loader(6, 3), max_steps=10, val_check_interval=5,
                        check_val_every_n_epoch=None, logger=CSVLogger(tmp_path / "csv"))
    log_dir = tmp_path / "work" / "20240101_120000"
    msgs = _messages(log_dir / "20240101_120000.log")
    train = [m for m in msgs if m.startswith("Iter(train)")]
    # MMEngine quirk kept: with an iteration-based loop batch_idx is runner.iter, so
    # end_of_epoch() is true once, at iter+1 == len(train_dataloader) == 4, and since 4 <= interval
    # that iteration is logged too (and gets an 'Exp name' line).
    assert [t[:19] for t in train] == ["Iter(train) [ 4/10]", "Iter(train) [ 5/10]", "Iter(train) [10/10]"]
    train = train[1:]
    for line, it in zip(train, (5, 10)):
        lr = 0.1 * 0.5 ** (it - 1)  # lr used by iteration it-1 (0-based)
        loss = sum(net.losses[it - 3:it]) / 3  # window_size=3
        assert re.fullmatch(
            rf"Iter\(train\) \[{it:>2}/10\]  lr: {lr:.4e}  eta: \d:\d\d:\d\d  time: {NUM}  data_time: {NUM}  loss: {loss:.4f}", line
        ), line
    assert train[0].startswith("Iter(train) [ 5/10]  lr: 6.2500e-03  eta: ")
    val_lines = [m for m in msgs if m.startswith("Iter(val)")]
    assert len(val_lines) == 2  # interval 5 > 2 val batches: only the metrics lines
    assert all(re.fullmatch(rf"Iter\(val\) \[2/2\]    mIoU: 0\.6250  data_time: {NUM}  time: {NUM}", v) for v in val_lines)
    assert msgs.count("Exp name: 20240101_120000") == 2  # iter 4 (quirk above) and 10 (interval_exp_name)
    # vis_data/scalars.json: one JSON object per logged line, MMEngine's keys and steps
    records = [json.loads(x) for x in (log_dir / "vis_data" / "scalars.json").read_text().splitlines()]
    records = records[1:]
    assert [r["step"] for r in records] == [5, 5, 10, 10]
    assert records[0]["lr"] == pytest.approx(6.25e-3) and records[0]["iter"] == 5
    assert records[1]["mIoU"] == pytest.approx(0.625)
    assert set(records[0]) >= {"lr", "loss", "time", "data_time", "iter", "step"}
    assert (log_dir / "vis_data" / "20240101_120000.json").read_text() == (log_dir / "vis_data" / "scalars.json").read_text()
    # and the Trainer's logger got the same scalars
    csv = (tmp_path / "csv" / "lightning_logs" / "version_0" / "metrics.csv").read_text()
    assert "loss" in csv.splitlines()[0] and "data_time" in csv.splitlines()[0]
    # timer values are positive and eta reached 0 at the end
    hub = message_hub_for(trainer)
    assert len(hub.get_scalar("train/time")) == 10 and min(hub.get_scalar("train/time").data[0]) > 0
    assert hub.get_scalar("train/data_time").mean() > 0
    assert hub.get_info("eta") == pytest.approx(0.0, abs=1e-6)  # (max_iters - iter - 1) = 0 at the end


def test_epoch_based_lines_and_ignore_last(tmp_path):
    ctx = _ctx(tmp_path, LoopSpec(by_epoch=True, max_epochs=2))  # MMEngine's LogProcessor default: by_epoch=True
    cbs = [RuntimeInfoHook(), IterTimerHook(), LoggerHook(interval=3)]
    net = Net()
    _run(tmp_path, cbs, ctx, net=net, val=loader(4, 2), max_epochs=2)  # 4 batches per epoch
    msgs = _messages(tmp_path / "work" / "20240101_120000" / "20240101_120000.log")
    train = [m for m in msgs if m.startswith("Epoch(train)")]
    # interval 3, ignore_last=True and 4 > 3: only batch 3 of each epoch is logged
    assert [t[:26] for t in train] == ["Epoch(train) [1][3/4]  lr:", "Epoch(train) [2][3/4]  lr:"]
    assert train[1].startswith(f"Epoch(train) [2][3/4]  lr: {0.1 * 0.5 ** 6:.4e}  eta: ")
    loss = sum(net.losses[:7]) / 7  # default window 10 covers the 7 iterations so far
    assert train[1].endswith(f"loss: {loss:.4f}")
    vals = [m for m in msgs if m.startswith("Epoch(val)")]
    assert [v[:28] for v in vals] == ["Epoch(val) [1][2/2]    mIoU:", "Epoch(val) [2][2/2]    mIoU:"]
    assert msgs.count("Exp name: 20240101_120000") == 2  # end of each epoch


def test_ignore_last_false_logs_epoch_end(tmp_path):
    ctx = _ctx(tmp_path, LoopSpec(by_epoch=True, max_epochs=1))
    _run(tmp_path, [RuntimeInfoHook(), LoggerHook(interval=3, ignore_last=False)], ctx, limit_val_batches=0, max_epochs=1)
    msgs = _messages(tmp_path / "work" / "20240101_120000" / "20240101_120000.log")
    # without the timer there is no eta/time, as MMEngine
    assert [m for m in msgs if m.startswith("Epoch(train)")] == [
        m for m in msgs if re.fullmatch(rf"Epoch\(train\) \[1\]\[[34]/4\]  lr: \S+  loss: {NUM}", m)
    ]
    assert len([m for m in msgs if m.startswith("Epoch(train)")]) == 2


def test_out_dir_copy_and_keep_local(tmp_path):
    ctx = _ctx(tmp_path, LoopSpec(by_epoch=False, max_iters=2), by_epoch=False)
    cb = LoggerHook(interval=1, out_dir=str(tmp_path / "remote"), keep_local=False)
    _run(tmp_path, [cb], ctx, max_steps=2, limit_val_batches=0)
    copied = tmp_path / "remote" / "work" / "20240101_120000.log"
    assert "Iter(train) [2/2]" in copied.read_text()
    assert (tmp_path / "remote" / "work" / "vis_data" / "scalars.json").exists()
    assert not (tmp_path / "work" / "20240101_120000" / "20240101_120000.log").exists()


def test_without_context_falls_back_to_trainer(tmp_path):
    trainer = L.Trainer(callbacks=[IterTimerHook(), LoggerHook(interval=2)], max_steps=4, limit_val_batches=0,
                        logger=False, enable_progress_bar=False, enable_model_summary=False,
                        enable_checkpointing=False, default_root_dir=str(tmp_path))
    trainer.fit(Net(), loader(8))
    logs = list(tmp_path.glob("*/*.log"))
    assert len(logs) == 1 and logs[0].stem == logs[0].parent.name
    msgs = _messages(logs[0])
    assert [m[:17] for m in msgs if m.startswith("Iter")] == ["Iter(train) [2/4]", "Iter(train) [4/4]"]


def test_trainer_loggers_get_lightnings_own_step(tmp_path):
    """LoggerHook's train scalars land at the step Lightning gives the module's own self.log values."""
    ctx = _ctx(tmp_path, LoopSpec(by_epoch=False, max_iters=6, val_interval=100), by_epoch=False, window_size=1)
    cbs = [RuntimeInfoHook(), IterTimerHook(), LoggerHook(interval=2, log_metric_by_epoch=False)]

    class Logs(Net):
        def training_step(self, batch, batch_idx):
            self.log("own_batch_idx", float(len(self.losses) + 1))  # this iteration, 1-based, as MMEngine's iter
            return super().training_step(batch, batch_idx)

    _run(tmp_path, cbs, ctx, net=Logs(), max_steps=6, limit_val_batches=0, log_every_n_steps=2,
         logger=CSVLogger(tmp_path / "csv"))
    rows = list(csv.DictReader((tmp_path / "csv" / "lightning_logs" / "version_0" / "metrics.csv").open()))
    mine = {int(r["step"]): float(r["iter"]) for r in rows if r.get("data_time")}
    own = {int(r["step"]): float(r["own_batch_idx"]) for r in rows if r.get("own_batch_idx")}
    assert mine == {1: 2.0, 3: 4.0, 5: 6.0}  # MMEngine's iter 2, 4, 6 (1-based) at Lightning's steps 1, 3, 5
    assert own == mine  # the module's own values of the same iterations, at the same steps


def test_hooks_used_alone_write_under_the_trainers_default_root_dir(tmp_path, monkeypatch):
    """No Runtime: the text log, scalars and checkpoints go to trainer.default_root_dir, never the cwd."""
    from lightning.pytorch.demos.boring_classes import BoringModel

    from lightning_runtime.callbacks import CheckpointHook

    cwd, root = tmp_path / "cwd", tmp_path / "root"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    trainer = L.Trainer(max_steps=4, default_root_dir=str(root), limit_val_batches=0, enable_progress_bar=False,
                        enable_model_summary=False, logger=False,
                        callbacks=[IterTimerHook(), LoggerHook(interval=2), CheckpointHook(interval=2, by_epoch=False)])
    trainer.fit(BoringModel())
    assert list(cwd.iterdir()) == []
    assert sorted(p.name for p in root.glob("iter_*.pth")) == ["iter_2.pth", "iter_4.pth"]
    assert (root / "last_checkpoint").is_file()
    (log_dir,) = [p for p in root.iterdir() if p.is_dir() and p.name[:8].isdigit()]  # <timestamp>/
    assert (log_dir / f"{log_dir.name}.log").is_file() and (log_dir / "vis_data" / "scalars.json").is_file()
