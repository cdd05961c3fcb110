"""The generated ADE20K-layout dataset: files, sizes, label values, determinism, command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from lightning_runtime.demo.ade20k import (
    BACKGROUND_CLASSES, NUM_CLASSES, SHAPE_CLASSES, class_colour, write_ade20k_like,
)

SPLITS = ("training", "validation")


def _files(root: Path, kind: str, split: str) -> list[Path]:
    return sorted((root / kind / split).iterdir())


def test_layout_counts_and_sizes(tmp_path: Path) -> None:
    root = write_ade20k_like(tmp_path / "ade", n_train=5, n_val=3, size=(40, 24), seed=1)
    assert root == tmp_path / "ade"
    for split, count in zip(SPLITS, (5, 3)):
        images, labels = _files(root, "images", split), _files(root, "annotations", split)
        assert len(images) == len(labels) == count
        assert {p.suffix for p in images} == {".jpg"} and {p.suffix for p in labels} == {".png"}
        assert [p.stem for p in images] == [p.stem for p in labels]  # MMSeg pairs them by name
        for image_path, label_path in zip(images, labels):
            image = cv2.imread(str(image_path), cv2.IMREAD_UNCHANGED)
            label = cv2.imread(str(label_path), cv2.IMREAD_UNCHANGED)
            assert image.shape == (24, 40, 3) and image.dtype == np.uint8
            assert label.shape == (24, 40) and label.dtype == np.uint8


def test_label_values(tmp_path: Path) -> None:
    root = write_ade20k_like(tmp_path, n_train=12, n_val=4, size=(48, 32), seed=3)
    values: set[int] = set()
    for split in SPLITS:
        for path in _files(root, "annotations", split):
            label = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
            assert int(label.max()) <= NUM_CLASSES
            assert (label[0] == 0).all() and (label[:, -1] == 0).all()  # the "other" frame
            inside = set(np.unique(label[1:-1, 1:-1]).tolist())
            assert 0 not in inside and len(inside) >= 2  # a background and at least one region
            assert len(inside & set(BACKGROUND_CLASSES)) >= 1 or len(inside) >= 3
            values |= inside
    assert values <= set(BACKGROUND_CLASSES) | set(SHAPE_CLASSES)
    assert len(values & set(SHAPE_CLASSES)) >= 6  # most drawn classes appear over 16 images


def test_colours_follow_the_class(tmp_path: Path) -> None:
    root = write_ade20k_like(tmp_path, n_train=6, n_val=0, size=(64, 48), seed=0)
    for image_path, label_path in zip(_files(root, "images", "training"), _files(root, "annotations", "training")):
        image = cv2.imread(str(image_path)).astype(np.float64)
        label = cv2.imread(str(label_path), cv2.IMREAD_UNCHANGED)
        for cls in set(np.unique(label).tolist()) - {0}:
            eroded = cv2.erode((label == cls).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
            if eroded.sum() < 10:
                continue  # JPEG blurs thin regions into their neighbours
            mean = image[eroded].mean(0)
            assert np.abs(mean - np.array(class_colour(cls))).max() < 40, (image_path.name, cls, mean)


def test_deterministic(tmp_path: Path) -> None:
    a = write_ade20k_like(tmp_path / "a", n_train=3, n_val=2, seed=5)
    b = write_ade20k_like(tmp_path / "b", n_train=3, n_val=2, seed=5)
    c = write_ade20k_like(tmp_path / "c", n_train=3, n_val=2, seed=6)
    for kind in ("images", "annotations"):
        for split in SPLITS:
            for pa, pb in zip(_files(a, kind, split), _files(b, kind, split)):
                assert pa.read_bytes() == pb.read_bytes(), pa
    first = [p.read_bytes() for p in _files(a, "annotations", "training")]
    assert first != [p.read_bytes() for p in _files(c, "annotations", "training")]


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="n_train"):
        write_ade20k_like(tmp_path, n_train=-1)
    with pytest.raises(ValueError, match="size"):
        write_ade20k_like(tmp_path, size=(4, 48))
    with pytest.raises(ValueError, match="1..150"):
        class_colour(0)


def test_command_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "lightning_runtime.demo.ade20k", str(tmp_path / "d"), "--n-train", "2", "--n-val", "1",
         "--size", "16", "12"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert f"{tmp_path / 'd' / 'images' / 'training'}: 2 files" in proc.stdout
    assert f"{tmp_path / 'd' / 'annotations' / 'validation'}: 1 files" in proc.stdout
    assert cv2.imread(str(tmp_path / "d/images/training/ade_like_train_0001.jpg")).shape == (12, 16, 3)
