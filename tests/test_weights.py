"""load_from: MMEngine .pth, Lightning checkpoints and bare state dicts, weights only."""

from __future__ import annotations

import collections
import logging

import lightning as L
import pytest
import torch
import torch.nn as nn

from lightning_runtime.checkpoint import UnsafeCheckpointError
from lightning_runtime.checkpoint import load_weights


class Segmentor(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
        self.decode_head = nn.Conv2d(4, 2, 1)


class Module(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.model = Segmentor()


def mmengine_pth(path, model: nn.Module, prefix: str = "") -> dict:
    """A checkpoint laid out as MMEngine's Runner.save_checkpoint writes it."""
    state = collections.OrderedDict((prefix + k, v.clone()) for k, v in model.state_dict().items())
    ckpt = dict(
        meta=dict(epoch=0, iter=8000, mmengine_version="0.10.7", dataset_meta=dict(classes=("a", "b"))),
        state_dict=state,
        message_hub=dict(log_scalars={}, runtime_info={"iter": 8000}),
        optimizer=dict(state={}, param_groups=[dict(lr=0.01, params=[0, 1])]),
        param_schedulers=[dict(last_epoch=8000)],
    )
    torch.save(ckpt, path)
    return ckpt


def test_mmengine_pth_with_module_prefix_loads_into_the_network(tmp_path):
    src = Segmentor()
    mmengine_pth(tmp_path / "iter_8000.pth", src, prefix="module.")  # saved from a DDP-wrapped model
    dst = Segmentor()
    report = load_weights(dst, tmp_path / "iter_8000.pth")
    assert report.missing_keys == [] and report.unexpected_keys == [] and report.message == ""
    assert report.meta["iter"] == 8000
    for k, v in src.state_dict().items():
        assert torch.equal(dst.state_dict()[k], v), k


def test_prefix_for_a_lightning_module_attribute(tmp_path):
    src = Segmentor()
    mmengine_pth(tmp_path / "m.pth", src)
    module = Module()
    with pytest.raises(RuntimeError, match=r"none of its 9 keys.*revise_keys=\[\(r'\^', 'model\.'\)\]"):
        load_weights(module, tmp_path / "m.pth")
    report = load_weights(module, tmp_path / "m.pth", revise_keys=[(r"^module\.", ""), (r"^", "model.")])
    assert report.missing_keys == []
    assert torch.equal(module.model.decode_head.weight, src.decode_head.weight)
    load_weights(module.model, tmp_path / "m.pth")  # or load into the attribute directly


def test_mismatch_is_reported_like_mmengine(tmp_path, caplog):
    src = Segmentor()
    state = src.state_dict()
    state.pop("decode_head.bias")
    state.pop("backbone.1.num_batches_tracked")  # never reported, as MMEngine
    state["auxiliary_head.weight"] = torch.zeros(1)
    torch.save({"meta": {}, "state_dict": state}, tmp_path / "p.pth")
    with caplog.at_level(logging.WARNING, logger="lightning_runtime.checkpoint._load_from"), pytest.warns(UserWarning):
        report = load_weights(Segmentor(), tmp_path / "p.pth")
    assert report.missing_keys == ["decode_head.bias"]
    assert report.unexpected_keys == ["auxiliary_head.weight"]
    assert report.message == (
        "The model and loaded state dict do not match exactly\n\n"
        "unexpected key in source state_dict: auxiliary_head.weight\n\n"
        "missing keys in source state_dict: decode_head.bias\n"
    )
    with pytest.raises(RuntimeError, match="missing keys in source state_dict: decode_head.bias"):
        load_weights(Segmentor(), tmp_path / "p.pth", strict=True)


def test_shape_mismatch_is_reported_not_raised(tmp_path):
    state = Segmentor().state_dict()
    state["decode_head.weight"] = torch.zeros(5, 4, 1, 1)  # a different number of classes
    torch.save(state, tmp_path / "bare.pth")  # a bare state dict
    dst = Segmentor()
    before = dst.decode_head.weight.clone()
    with pytest.warns(UserWarning):
        report = load_weights(dst, tmp_path / "bare.pth")
    assert "size mismatch for decode_head.weight" in report.message
    assert torch.equal(dst.decode_head.weight, before)
    assert torch.equal(dst.backbone[0].weight, state["backbone.0.weight"])


def test_lightning_checkpoint_loads_weights_only(tmp_path):
    src = Module()
    trainer = L.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False, max_steps=0)
    trainer.strategy.connect(src)
    trainer.save_checkpoint(tmp_path / "epoch=0.ckpt")
    dst = Module()
    report = load_weights(dst, tmp_path / "epoch=0.ckpt")
    assert report.missing_keys == [] and report.unexpected_keys == []
    assert torch.equal(dst.model.backbone[0].weight, src.model.backbone[0].weight)


class Custom:
    pass


def test_file_needing_arbitrary_unpickling_is_refused(tmp_path):
    torch.save({"state_dict": Segmentor().state_dict(), "extra": Custom()}, tmp_path / "evil.pth")
    with pytest.raises(UnsafeCheckpointError, match=r"weights_only=False") as err:
        load_weights(Segmentor(), tmp_path / "evil.pth")
    assert "evil.pth" in str(err.value)
    torch.save(Segmentor(), tmp_path / "module.pth")  # a pickled nn.Module
    with pytest.raises(UnsafeCheckpointError):
        load_weights(Segmentor(), tmp_path / "module.pth")
    # the explicit opt-in, for trusted files
    report = load_weights(Segmentor(), tmp_path / "evil.pth", weights_only=False)
    assert report.missing_keys == []


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        load_weights(Segmentor(), tmp_path / "nope.pth")
