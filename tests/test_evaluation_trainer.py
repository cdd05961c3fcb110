"""IoUMetric inside real runs: a CPU Trainer logging MMSeg's keys, and a 2-process gloo reduction."""

from __future__ import annotations

import os

from ddp_utils import free_port
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from lightning.pytorch import LightningModule, Trainer
from torch.utils.data import DataLoader

from lightning_runtime.demo.data import ShapesDataset
from lightning_runtime.evaluation import IoUMetric, build_evaluator

CFG = dict(type="IoUMetric", iou_metrics=["mIoU", "mDice", "mFscore"], ignore_index=255)


class Segmentor(LightningModule):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.val_evaluator = build_evaluator(CFG, num_classes=4, class_names=["bg", "circle", "rect", "tri"])
        self.logged: dict[str, float] = {}
        self.seen: list[tuple[torch.Tensor, torch.Tensor]] = []

    def validation_step(self, batch, batch_idx):
        x, y = batch
        logits = self.conv(x)
        self.val_evaluator.update(logits, y)
        self.seen.append((logits.argmax(1), y))

    def on_validation_epoch_end(self):
        metrics = self.val_evaluator.compute()
        self.log_dict(metrics)
        self.logged = metrics
        self.val_evaluator.reset()


def test_trainer_logs_mmseg_keys(tmp_path):
    data = ShapesDataset("val", 12, 16)
    y = data.labels.clone()
    y[:, :2] = 255  # an ignored band
    data.labels = y
    module = Segmentor()
    trainer = Trainer(default_root_dir=tmp_path, logger=False, enable_progress_bar=False,
                      enable_model_summary=False, accelerator="cpu")
    (result,) = trainer.validate(module, DataLoader(data, batch_size=5))
    assert list(module.logged) == ["aAcc", "mIoU", "mAcc", "mDice", "mFscore", "mPrecision", "mRecall"]
    # The same predictions, in one update, give the same numbers (accumulation is exact).
    ref = IoUMetric(iou_metrics=["mIoU", "mDice", "mFscore"], num_classes=4)
    ref.update(torch.cat([p for p, _ in module.seen]), torch.cat([t for _, t in module.seen]))
    assert module.logged == ref.compute()
    assert result["mIoU"] == pytest.approx(module.logged["mIoU"], abs=1e-4)
    assert 0 < module.logged["mIoU"] < 100
    assert "circle" in module.val_evaluator.tables[0]


def _worker(rank: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        g = torch.Generator().manual_seed(rank)
        pred = torch.randint(0, 5, (3, 8, 8), generator=g)
        gt = torch.randint(0, 5, (3, 8, 8), generator=g)
        m = IoUMetric(iou_metrics=["mIoU", "mFscore"], num_classes=5)
        m.update(pred, gt)
        result = m.compute()  # torchmetrics syncs the states (sum) before computing
        torch.save({"result": result, "pred": pred, "gt": gt}, os.path.join(out, f"{rank}.pt"))
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_states_are_summed_across_two_processes(tmp_path):
    mp.spawn(_worker, args=(free_port(), str(tmp_path)), nprocs=2, join=True)
    parts = [torch.load(tmp_path / f"{r}.pt") for r in range(2)]
    single = IoUMetric(iou_metrics=["mIoU", "mFscore"], num_classes=5)
    single.update(torch.cat([p["pred"] for p in parts]), torch.cat([p["gt"] for p in parts]))
    expected = single.compute()
    assert parts[0]["result"] == expected and parts[1]["result"] == expected
