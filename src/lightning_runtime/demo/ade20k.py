"""A generated dataset in ADE20K's folder layout, for MMSegmentation's ``ADE20KDataset`` configs.

:func:`write_ade20k_like` writes JPEG images and PNG label maps where MMSeg's ADE20K configs look
for them, so a real config trains on it with ``data_root`` changed and nothing else::

    <root>/images/training/ade_like_train_0000.jpg      <root>/annotations/training/ade_like_train_0000.png
    <root>/images/validation/ade_like_val_0000.jpg      <root>/annotations/validation/ade_like_val_0000.png

Label maps are ``uint8`` with ADE20K's values: ``0`` is "other" (ignored once MMSeg's
``reduce_zero_label=True`` maps it to 255) and ``1..150`` are the classes. Each image has a
background class (one of :data:`BACKGROUND_CLASSES`) and 3 to 6 rectangles and discs of other
classes (from :data:`SHAPE_CLASSES`) on it, plus a thin "other" frame. Every class has its own
colour (:func:`class_colour`), jittered per region and with pixel noise, so a model can learn the
classes from colour and texture in a few steps. Everything is drawn from a
:class:`numpy.random.Generator` seeded with ``seed``: the same arguments write byte-identical files.

Example:
    >>> import tempfile
    >>> root = write_ade20k_like(tempfile.mkdtemp(), n_train=2, n_val=1, size=(32, 24))
    >>> sorted(p.name for p in (root / 'annotations' / 'training').iterdir())
    ['ade_like_train_0000.png', 'ade_like_train_0001.png']
    >>> import cv2
    >>> cv2.imread(str(root / 'images/validation/ade_like_val_0000.jpg')).shape
    (24, 32, 3)

From the command line: ``python -m lightning_runtime.demo.ade20k DIR [--n-train N] [--n-val N]
[--size W H] [--seed S]``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

__all__ = ["BACKGROUND_CLASSES", "NUM_CLASSES", "SHAPE_CLASSES", "class_colour", "draw_sample",
           "write_ade20k_like", "main"]

#: ADE20K's classes without "other" (label values ``1..NUM_CLASSES``).
NUM_CLASSES = 150
#: Background classes (ADE20K's wall, building, sky, floor).
BACKGROUND_CLASSES = (1, 2, 3, 4)
#: Classes of the drawn regions (tree, ceiling, road, bed, grass, cabinet, sidewalk, person).
SHAPE_CLASSES = (5, 6, 7, 8, 10, 11, 12, 13)

_SPLITS = (("training", "train"), ("validation", "val"))


def class_colour(label: int) -> tuple[int, int, int]:
    """The BGR drawing colour of ``label`` (1..150): well apart for the classes the generator uses."""
    if not 1 <= label <= NUM_CLASSES:
        raise ValueError(f"label must be in 1..{NUM_CLASSES}, got {label}")
    hue = (label * 47) % 180  # OpenCV's hue range is 0..179
    value = 110 + (label * 29) % 130
    hsv = np.array([[[hue, 200, value]]], dtype=np.uint8)
    b, g, r = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0]
    return int(b), int(g), int(r)


def draw_sample(rng: np.random.Generator, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """One image (BGR ``uint8``, ``(H, W, 3)``) and its label map (``uint8``, ``(H, W)``).

    Args:
        rng: The generator every random choice is drawn from.
        size: ``(width, height)`` in pixels (OpenCV's order).
    """
    width, height = size
    background = int(rng.choice(BACKGROUND_CLASSES))
    label = np.full((height, width), background, dtype=np.uint8)
    for _ in range(int(rng.integers(3, 7))):
        cls = int(rng.choice(SHAPE_CLASSES))
        cx, cy = int(rng.integers(0, width)), int(rng.integers(0, height))
        extent = int(rng.integers(max(2, min(width, height) // 8), max(3, min(width, height) // 3) + 1))
        if rng.random() < 0.5:
            cv2.circle(label, (cx, cy), extent, cls, thickness=-1)
        else:
            half_w, half_h = extent, int(rng.integers(max(1, extent // 2), extent * 2 + 1))
            cv2.rectangle(label, (cx - half_w, cy - half_h), (cx + half_w, cy + half_h), cls, thickness=-1)
    label[0, :] = label[-1, :] = label[:, 0] = label[:, -1] = 0  # a frame of "other" (ignored)
    # colour by class, jittered per image and class, then pixel noise
    image = np.zeros((height, width, 3), dtype=np.float64)
    for cls in np.unique(label):
        colour = np.array((96, 96, 96) if cls == 0 else class_colour(int(cls)), dtype=np.float64)
        image[label == cls] = colour + rng.normal(0.0, 8.0, size=3)
    image += rng.normal(0.0, 10.0, size=image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), label


def write_ade20k_like(root: str | Path, *, n_train: int = 24, n_val: int = 8, size: tuple[int, int] = (64, 48),
                      seed: int = 0) -> Path:
    """Write ``n_train`` training and ``n_val`` validation pairs under ``root`` in ADE20K's layout.

    Args:
        root: The dataset folder (``data_root`` of an ADE20K config); created if missing.
        n_train: Number of ``images/training`` / ``annotations/training`` pairs.
        n_val: Number of ``images/validation`` / ``annotations/validation`` pairs.
        size: ``(width, height)`` of every image and label map.
        seed: Seed of the one :class:`numpy.random.Generator` drawing both splits, training first.

    Returns:
        ``root`` as a :class:`~pathlib.Path`.

    Raises:
        ValueError: A negative count, or a side under 8 pixels.
    """
    if n_train < 0 or n_val < 0:
        raise ValueError(f"n_train and n_val must be >= 0, got {n_train} and {n_val}")
    if len(size) != 2 or min(size) < 8:
        raise ValueError(f"size must be (width, height) with both at least 8, got {size}")
    root = Path(root)
    rng = np.random.default_rng(seed)
    for (folder, stem), count in zip(_SPLITS, (n_train, n_val)):
        images, annotations = root / "images" / folder, root / "annotations" / folder
        images.mkdir(parents=True, exist_ok=True)
        annotations.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            image, label = draw_sample(rng, (int(size[0]), int(size[1])))
            name = f"ade_like_{stem}_{i:04d}"
            cv2.imwrite(str(images / f"{name}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 95])
            cv2.imwrite(str(annotations / f"{name}.png"), label)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m lightning_runtime.demo.ade20k DIR``: write the dataset and say what was written."""
    parser = argparse.ArgumentParser(prog="python -m lightning_runtime.demo.ade20k", description=__doc__.splitlines()[0])
    parser.add_argument("root", help="dataset folder (the config's data_root)")
    parser.add_argument("--n-train", type=int, default=24, help="training pairs (default 24)")
    parser.add_argument("--n-val", type=int, default=8, help="validation pairs (default 8)")
    parser.add_argument("--size", type=int, nargs=2, default=(64, 48), metavar=("W", "H"),
                        help="image width and height (default 64 48)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    try:
        root = write_ade20k_like(args.root, n_train=args.n_train, n_val=args.n_val, size=tuple(args.size),
                                 seed=args.seed)
    except ValueError as err:
        parser.error(str(err))
    for folder, _ in _SPLITS:
        for kind in ("images", "annotations"):
            path = root / kind / folder
            print(f"{path}: {sum(1 for _ in path.iterdir())} files")
    print(f"{args.size[0]}x{args.size[1]} pixels, labels 0 (other) and 1..{NUM_CLASSES}; "
          f"use it as data_root of an ADE20K config")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
