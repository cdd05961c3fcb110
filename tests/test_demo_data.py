"""The generated shapes dataset: shapes, determinism, class balance, speed, DataModule."""

from __future__ import annotations

import time

import pytest
import torch

from lightning_runtime.demo.data import (
    MEAN, SHAPE_CLASSES, STD, ShapesDataset, denormalize, make_dataloaders,
)
from lightning_runtime.demo.datamodule import ShapesDataModule


def test_item_shapes_and_types():
    ds = ShapesDataset("train", num_samples=10, image_size=48, num_classes=4, seed=1)
    assert len(ds) == 10
    img, label = ds[3]
    assert img.shape == (3, 48, 48) and img.dtype == torch.float32
    assert label.shape == (48, 48) and label.dtype == torch.int64
    assert int(label.min()) >= 0 and int(label.max()) < 4
    assert ds.class_names == ("background", "circle", "rectangle", "triangle")
    assert len(ds.palette) == 4 and ds.metainfo["classes"] == ds.class_names


def test_normalised_images():
    ds = ShapesDataset("train", 64, 32, normalize=True)
    raw = ShapesDataset("train", 64, 32, normalize=False)
    assert 0 <= float(raw.images.min()) and float(raw.images.max()) <= 1
    assert torch.allclose(denormalize(ds.images), raw.images, atol=1e-6)
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    assert torch.allclose(ds.images, (raw.images - mean) / torch.tensor(STD).view(1, 3, 1, 1))
    assert abs(float(ds.images.mean())) < 0.6  # roughly centred


def test_deterministic_and_split_independent():
    a = ShapesDataset("train", 40, 32, seed=7)
    b = ShapesDataset("train", 40, 32, seed=7)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    longer = ShapesDataset("train", 150, 32, seed=7)  # crosses generation chunks
    assert torch.equal(longer.images[:40], a.images) and torch.equal(longer.labels[:40], a.labels)
    assert not torch.equal(ShapesDataset("val", 40, 32, seed=7).labels, a.labels)
    assert not torch.equal(ShapesDataset("train", 40, 32, seed=8).labels, a.labels)
    # Global RNG state is neither used nor changed.
    state = torch.get_rng_state()
    ShapesDataset("train", 4, 32)
    assert torch.equal(state, torch.get_rng_state())


@pytest.mark.parametrize("num_classes", [2, 4, 6])
def test_class_balance(num_classes):
    ds = ShapesDataset("train", 256, 32, num_classes=num_classes)
    frac = torch.bincount(ds.labels.flatten(), minlength=num_classes).float() / ds.labels.numel()
    assert frac.shape == (num_classes,)
    assert 0.4 < float(frac[0]) < 0.85  # background is the largest class but not everything
    assert all(float(f) > 0.03 for f in frac[1:]), frac  # every shape class is well represented
    # Each class appears in many images, and most images hold more than one shape class.
    present = torch.stack([(ds.labels == c).flatten(1).any(1) for c in range(num_classes)], 1)
    assert (present[:, 1:].float().mean(0) > 0.2).all()


def test_colour_is_not_the_class():
    ds = ShapesDataset("train", 256, 32, normalize=False)
    # Mean colour of circle pixels varies a lot between shapes: per-pixel std of red > 0.1.
    red = ds.images[:, 0][ds.labels == 1]
    assert float(red.std()) > 0.1


def test_generation_is_cheap():
    # CPU time, not wall time: the test machine is shared (0.3 s wall on 2 idle cores).
    # One thread so that spinning OpenMP workers on a loaded machine do not count.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ShapesDataset("train", 8, 64)  # warm-up (first-call kernel setup)
        start = time.process_time()
        ShapesDataset("train", 512, 64)
        assert time.process_time() - start < 2.0
    finally:
        torch.set_num_threads(threads)


def test_make_dataloaders():
    train, val = make_dataloaders(batch_size=8, num_train=20, num_val=12, image_size=32, seed=3)
    assert len(train) == 2 and len(val) == 2  # train drops the short batch
    x, y = next(iter(train))
    assert x.shape == (8, 3, 32, 32) and y.shape == (8, 32, 32)
    first = [b[1] for b in make_dataloaders(batch_size=8, num_train=20, seed=3)[0]]
    again = [b[1] for b in make_dataloaders(batch_size=8, num_train=20, seed=3)[0]]
    assert all(torch.equal(p, q) for p, q in zip(first, again))  # seeded shuffle


def test_datamodule():
    dm = ShapesDataModule(batch_size=4, num_train=10, num_val=6, image_size=32, num_classes=3, seed=2)
    dm.setup("fit")
    assert len(dm.train_dataloader()) == 2 and len(dm.val_dataloader()) == 2
    assert dm.class_names == SHAPE_CLASSES[:3] and len(dm.palette) == 3
    x, y = next(iter(dm.test_dataloader()))
    assert x.shape == (4, 3, 32, 32) and int(y.max()) < 3
    assert dm.hparams["num_classes"] == 3
    with pytest.raises(ValueError, match="num_classes"):
        ShapesDataset(num_classes=9)


def test_datamodule_from_lightning_cli_data_section(tmp_path):
    from lightning.pytorch import LightningModule
    from lightning.pytorch.cli import LightningCLI

    class Net(LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 1)

    cli = LightningCLI(
        Net, run=False, subclass_mode_data=True, save_config_kwargs={"overwrite": True},
        args=["--data=lightning_runtime.demo.datamodule.ShapesDataModule", "--data.batch_size=4",
              "--data.num_val=8", "--data.image_size=16", f"--trainer.default_root_dir={tmp_path}"],
    )
    assert isinstance(cli.datamodule, ShapesDataModule)
    assert (cli.datamodule.batch_size, cli.datamodule.num_val, cli.datamodule.image_size) == (4, 8, 16)
    x, y = next(iter(cli.datamodule.val_dataloader()))
    assert x.shape == (4, 3, 16, 16) and y.shape == (4, 16, 16)
