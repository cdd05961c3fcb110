"""SegVisualizationHook on real CPU Trainer runs: which PNGs, where, how big, what colours."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from torch.utils.data import DataLoader

from lightning_runtime.callbacks.visualization import (
    SegVisualizationHook, VisualizationProtocolError, draw_sem_seg, random_palette,
)
from lightning_runtime.runtime import RunContext
from lightning_runtime.demo.data import ShapesDataset, denormalize
from lightning_runtime.errors import ConfigError
from lightning_runtime.evaluation._png import png_size
from lightning_runtime.registry import HOOKS

PALETTE = [[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]]


class TinySeg(LightningModule):
    def __init__(self, protocol: bool = True, palette=PALETTE) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.protocol = protocol
        if palette is not None:
            self.palette = palette

    def training_step(self, batch, batch_idx):
        x, y = batch
        return F.cross_entropy(self.conv(x), y)

    def _eval(self, batch):
        x, y = batch
        logits = self.conv(x)
        if not self.protocol:
            return F.cross_entropy(logits, y)
        return {"inputs": denormalize(x), "gt": y, "pred": logits}  # logits: arg-maxed by the hook

    def validation_step(self, batch, batch_idx):
        return self._eval(batch)

    def test_step(self, batch, batch_idx):
        return self._eval(batch)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def _loaders(n_train=8, n_val=10, bs=2):
    return (DataLoader(ShapesDataset("train", n_train, 16), batch_size=bs),
            DataLoader(ShapesDataset("val", n_val, 16), batch_size=bs))


def _trainer(tmp_path, hook, **kw):
    args = dict(default_root_dir=tmp_path, max_steps=4, val_check_interval=2, limit_val_batches=3,
                num_sanity_val_steps=1, enable_progress_bar=False, enable_model_summary=False,
                enable_checkpointing=False, logger=False, callbacks=[hook])
    args.update(kw)
    return Trainer(**args)


def test_val_pngs_every_interval(tmp_path):
    hook = HOOKS.build(dict(type="SegVisualizationHook", draw=True, interval=2))
    train, val = _loaders()
    _trainer(tmp_path, hook).fit(TinySeg(), train, val)
    vis = tmp_path / "vis_data" / "vis_image"
    assert hook.vis_dir == vis
    # Validation after iterations 2 and 4, 3 batches of 2 each; batch_idx 1 is the only
    # (batch_idx + 1) % 2 == 0 batch: samples 2 and 3. Nothing from the sanity check.
    names = sorted(p.name for p in vis.iterdir())
    assert names == ["val_img_2_2.png", "val_img_2_4.png", "val_img_3_2.png", "val_img_3_4.png"]
    assert [p.name for p in hook.saved] == ["val_img_2_2.png", "val_img_3_2.png", "val_img_2_4.png", "val_img_3_4.png"]
    for p in vis.iterdir():
        assert png_size(p) == (3 * 16, 16)  # image | ground truth | prediction


def test_test_loop_pngs_and_colours(tmp_path):
    import PIL.Image as pil

    hook = SegVisualizationHook(draw=True, interval=1)
    _, val = _loaders(n_val=5)
    module = TinySeg()
    _trainer(tmp_path, hook).test(module, val)
    vis = tmp_path / "vis_data" / "vis_image"
    assert sorted(p.name for p in vis.iterdir()) == [f"test_img_{i}_0.png" for i in range(5)]
    # Panel 1 is the image; panel 2 blends it with the ground-truth colours as MMSeg (alpha 0.8).
    x, y = val.dataset[4]
    image = (denormalize(x) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    png = np.asarray(pil.open(vis / "test_img_4_0.png").convert("RGB"))
    assert np.array_equal(png[:, :16], image)
    assert np.array_equal(png[:, 16:32], draw_sem_seg(image, y.numpy(), PALETTE))
    c = int(y.max())  # a shape class present in this sample
    expected = image[y.numpy() == c][0] * 0.2 + np.array(PALETTE[c]) * 0.8
    assert (np.abs(png[:, 16:32][y.numpy() == c][0] - expected) <= 1).all()


def test_context_dir_and_tensorboard(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    hook = SegVisualizationHook(draw=True, interval=3)
    hook.bind_context(RunContext(cfg={}, work_dir=tmp_path / "work", timestamp="20260101_000000"))
    train, val = _loaders()
    tb = TensorBoardLogger(tmp_path, name="tb", version=0)
    _trainer(tmp_path, hook, logger=tb, max_steps=2).fit(TinySeg(palette=None), train, val)
    vis = tmp_path / "work" / "20260101_000000" / "vis_data" / "vis_image"
    assert sorted(p.name for p in vis.iterdir()) == ["val_img_4_2.png", "val_img_5_2.png"]
    acc = EventAccumulator(str(tmp_path / "tb" / "version_0"), size_guidance={"images": 0})
    acc.Reload()
    assert sorted(acc.Tags()["images"]) == ["val_img_4", "val_img_5"]
    event = acc.Images("val_img_4")[0]
    assert (event.step, event.width, event.height) == (2, 48, 16)


def test_log_dir_fallback_is_logger_dir(tmp_path):
    hook = SegVisualizationHook(draw=True, interval=1)
    _, val = _loaders(n_val=2)
    _trainer(tmp_path, hook, logger=CSVLogger(tmp_path, name="csv", version=0)).validate(TinySeg(), val)
    assert [p.name for p in (tmp_path / "csv" / "version_0" / "vis_data" / "vis_image").iterdir()] != []


def test_draw_false_writes_nothing(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # MMSeg's default_runtime (draw=False): silent, as in MMEngine
        hook = SegVisualizationHook()
    with pytest.warns(UserWarning, match="draw=False, so interval=4 draws nothing"):
        SegVisualizationHook(interval=4)  # drawing options beside draw=False: said once
    train, val = _loaders()
    _trainer(tmp_path, hook).fit(TinySeg(protocol=False), train, val)  # outputs not even checked
    assert not (tmp_path / "vis_data").exists()


def test_protocol_error(tmp_path):
    hook = SegVisualizationHook(draw=True, interval=50)
    _, val = _loaders()
    with pytest.raises(VisualizationProtocolError, match="must return a dict with 'inputs'"):
        _trainer(tmp_path, hook).validate(TinySeg(protocol=False), val)


def test_bad_arguments():
    with pytest.raises(ConfigError) as info:
        HOOKS.build(dict(type="SegVisualizationHook", draw=True, show=True), path="default_hooks.visualization")
    assert info.value.path == "default_hooks.visualization.show"
    assert "vis_data/vis_image" in str(info.value)
    with pytest.raises(ConfigError, match="no argument 'intervl'"):
        HOOKS.build(dict(type="SegVisualizationHook", intervl=5))
    with pytest.warns(UserWarning, match="backend_args is not used"):
        SegVisualizationHook(draw=True, backend_args=dict(backend="local"))


def test_random_palette_is_mmseg_and_keeps_global_state():
    state = np.random.get_state()
    np.random.seed(42)
    mmseg = np.random.randint(0, 255, size=(5, 3)).tolist()
    np.random.set_state(state)
    before = np.random.get_state()[1].copy()
    assert random_palette(5) == mmseg
    assert random_palette(8)[:5] == mmseg
    assert np.array_equal(np.random.get_state()[1], before)


def test_zlib_png_writer_round_trip(tmp_path):
    import PIL.Image as pil

    from lightning_runtime.evaluation._png import write_png

    rgb = np.random.RandomState(0).randint(0, 256, size=(5, 7, 3)).astype(np.uint8)
    write_png(tmp_path / "a.png", rgb, backend="zlib")
    assert png_size(tmp_path / "a.png") == (7, 5)
    assert np.array_equal(np.asarray(pil.open(tmp_path / "a.png")), rgb)
    write_png(tmp_path / "b.png", rgb, backend="matplotlib")
    assert np.array_equal(np.asarray(pil.open(tmp_path / "b.png").convert("RGB")), rgb)


def test_through_runtime_default_hooks(tmp_path):
    """default_hooks.visualization in a config: PNGs land in work_dir/<timestamp>/vis_data/vis_image."""
    from lightning_runtime import Runtime

    cfg = dict(
        work_dir=str(tmp_path / "work"),
        train_cfg=dict(type="IterBasedTrainLoop", max_iters=4, val_interval=2),
        val_cfg=dict(type="ValLoop"),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
        default_hooks=dict(checkpoint=None, logger=dict(type="LoggerHook", interval=2),
                           visualization=dict(type="SegVisualizationHook", draw=True, interval=3)),
    )
    rt = Runtime(cfg)
    hooks = [cb for cb in rt.callbacks() if isinstance(cb, SegVisualizationHook)]
    assert len(hooks) == 1 and hooks[0].interval == 3
    train, val = _loaders(n_val=6)
    module = rt.attach(TinySeg())
    rt.fit(module, train, val, enable_progress_bar=False, enable_model_summary=False, logger=False)
    vis = rt.ctx.log_dir / "vis_data" / "vis_image"
    assert sorted(p.name for p in vis.iterdir()) == ["val_img_4_2.png", "val_img_4_4.png",
                                                     "val_img_5_2.png", "val_img_5_4.png"]


class _Classifier(LightningModule):
    """An ordinary module: ``training_step`` returns the loss, ``validation_step`` logs ``val_acc``."""

    def __init__(self, rt) -> None:
        super().__init__()
        self.rt = rt
        self.head = torch.nn.Linear(4, 2)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return F.cross_entropy(self.head(x), y)

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_acc", (self.head(x).argmax(1) == y).float().mean())

    def configure_optimizers(self):
        return self.rt.configure_optimizers(self)


@pytest.mark.parametrize(("overrides", "error", "match"), [
    ({}, VisualizationProtocolError, "must return a dict with 'inputs'"),
    ({"default_hooks.visualization": None}, ConfigError, "save_best metric 'mIoU' was not logged"),
])
def test_lightnings_sanity_check_stops_a_module_the_demo_hooks_cannot_use_before_anything_is_written(
        tmp_path, overrides, error, match, demo_hooks):
    """The README's snippet with the demo config and an ordinary classifier: with Lightning's sanity
    check turned on (``num_sanity_val_steps``), the hooks' requirements stop the run before its first
    iteration, and ``work_dir`` holds nothing (no log, no config dump, no checkpoint)."""
    from torch.utils.data import TensorDataset

    from lightning_runtime import Runtime, load_config

    cfg = load_config("configs/demo/seg_vit_shapes.py", overrides=dict(overrides, work_dir=str(tmp_path / "work")))
    rt = Runtime(cfg)
    g = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.randn(8, 4, generator=g), torch.randint(0, 2, (8,), generator=g))
    train, val = DataLoader(data, batch_size=4), DataLoader(data, batch_size=4)
    module = _Classifier(rt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # custom_keys that match no parameter of this module
        with pytest.raises(error, match=match):
            rt.fit(module, train_dataloaders=train, val_dataloaders=val, num_sanity_val_steps=1,
                   enable_progress_bar=False, enable_model_summary=False)
    assert module.global_step == 0
    written = sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "work").rglob("*") if p.is_file())
    assert written == []
