"""LogProcessor parity: the same message-hub contents give MMEngine's exact strings and tags."""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MessageHub as MMMessageHub

from lightning_runtime.hooks._message_hub import MessageHub
from lightning_runtime.runtime import LogProcessor

# imported by its own name: loading the file a second time under another name would register
# LogProcessor twice in MMEngine's registry (a KeyError for the next `import mmengine.runner`)
import mmengine.runner.log_processor as mm_lp  # noqa: E402


def _fill(hub_factory, seed: int, n: int, *, tensors: bool):
    rng = random.Random(seed)
    hub = hub_factory()
    for i in range(n):
        hub.update_scalar("train/lr", 0.01 * (0.9 ** i))
        loss = rng.uniform(0.1, 3.0)
        hub.update_scalar("train/loss", torch.tensor(loss) if tensors else loss)
        hub.update_scalar("train/loss_ce", loss / 2)
        hub.update_scalar("train/acc", rng.uniform(0, 1))
        hub.update_scalar("train/time", rng.uniform(0.05, 1.5))
        hub.update_scalar("train/data_time", rng.uniform(0.001, 0.1))
    for b in range(5):
        hub.update_scalar("val/time", rng.uniform(0.01, 0.2))
        hub.update_scalar("val/data_time", rng.uniform(0.001, 0.01))
    for b in range(3):
        hub.update_scalar("test/time", rng.uniform(0.01, 0.2))
        hub.update_scalar("test/data_time", rng.uniform(0.001, 0.01))
    hub.update_scalar("val/mIoU", 64.123456)
    hub.update_scalar("val/aAcc", 91.5)
    hub.update_scalar("test/mIoU", 61.0)
    hub.update_info("eta", 93784.7)
    return hub


def _runner(hub, *, it: int, epoch: int, train: bool = True):
    loops = SimpleNamespace(
        train_loop=SimpleNamespace(dataloader=range(500)),
        val_loop=SimpleNamespace(dataloader=range(5)),
        test_loop=SimpleNamespace(dataloader=range(3)),
    )
    return SimpleNamespace(
        message_hub=hub, iter=it, epoch=epoch, max_iters=80000, max_epochs=12,
        _train_loop=loops.train_loop if train else None, model=None, **vars(loops),
    )


CASES = [
    dict(),
    dict(by_epoch=False),
    dict(by_epoch=False, window_size=50),
    dict(by_epoch=True, window_size=3, num_digits=2),
    dict(by_epoch=False, custom_cfg=[dict(data_src="loss", window_size="global", method_name="mean", log_name="loss_avg"),
                                     dict(data_src="acc", window_size=5, method_name="max")]),
    dict(by_epoch=True, custom_cfg=[dict(data_src="time", window_size="epoch", method_name="max", log_name="time_max")]),
]


@pytest.mark.parametrize("kwargs", CASES)
@pytest.mark.parametrize("it,batch_idx", [(49, 49), (7999, 499), (123, 3)])
def test_train_line_matches_mmengine(kwargs, it, batch_idx):
    ours_hub = _fill(MessageHub, it, 60, tensors=True)
    mm_hub = _fill(lambda: MMMessageHub("parity"), it, 60, tensors=False)
    ours = LogProcessor(**kwargs).get_log_after_iter(_runner(ours_hub, it=it, epoch=3), batch_idx, "train")
    theirs = mm_lp.LogProcessor(**kwargs).get_log_after_iter(_runner(mm_hub, it=it, epoch=3), batch_idx, "train")
    assert ours[1] == theirs[1]
    assert ours[0].keys() == theirs[0].keys()
    assert all(ours[0][k] == pytest.approx(float(theirs[0][k])) for k in ours[0])


@pytest.mark.parametrize("kwargs", CASES)
@pytest.mark.parametrize("mode,train", [("val", True), ("val", False), ("test", False)])
def test_eval_lines_match_mmengine(kwargs, mode, train):
    ours_hub = _fill(MessageHub, 1, 30, tensors=False)
    mm_hub = _fill(lambda: MMMessageHub("parity2"), 1, 30, tensors=False)
    r_ours, r_mm = _runner(ours_hub, it=8000, epoch=2, train=train), _runner(mm_hub, it=8000, epoch=2, train=train)
    n = 5 if mode == "val" else 3
    kw = {} if mode == "val" else {"with_non_scalar": True}
    ours = LogProcessor(**kwargs).get_log_after_epoch(r_ours, n, mode, **kw)
    theirs = mm_lp.LogProcessor(**kwargs).get_log_after_epoch(r_mm, n, mode, **kw)
    assert ours[1] == theirs[1]
    assert list(ours[0]) == list(theirs[0])
    ours_it = LogProcessor(**kwargs).get_log_after_iter(r_ours, 1, mode)
    theirs_it = mm_lp.LogProcessor(**kwargs).get_log_after_iter(r_mm, 1, mode)
    assert ours_it[1] == theirs_it[1]


def test_known_line_text():
    hub = MessageHub()
    for _ in range(10):
        hub.update_scalar("train/lr", 0.01)
        hub.update_scalar("train/loss", torch.tensor(2.5))
        hub.update_scalar("train/time", 1.11)
        hub.update_scalar("train/data_time", 0.012)
    hub.update_info("eta", 88733.2)
    _, line = LogProcessor(by_epoch=False).get_log_after_iter(_runner(hub, it=49, epoch=0), 49, "train")
    assert line == "Iter(train) [   50/80000]  lr: 1.0000e-02  eta: 1 day, 0:38:53  time: 1.1100  data_time: 0.0120  loss: 2.5000"
