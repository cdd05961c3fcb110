"""A generated semantic-segmentation dataset: coloured shapes on textured backgrounds.

Nothing is downloaded or written: every split is drawn on the fly with torch, vectorised over the
samples, from a fixed seed. Classes are ``background`` plus shape kinds (``circle``, ``rectangle``,
``triangle``, then ``ellipse``, ``diamond`` for more classes). What makes it not trivial:

* shape colours are jittered around a per-class colour and one shape in twenty gets a random colour, so
  colour alone does not give the class; the shape does;
* backgrounds are textured (smooth colour blobs + oriented stripes + pixel noise);
* shapes are rotated, of random size, and overlap (later shapes hide earlier ones).

Sample ``i`` of a split depends only on ``(seed, split, i)``: asking for more samples extends a split
without changing the first ones.

Example:
    >>> ds = ShapesDataset('train', num_samples=8, image_size=32)
    >>> img, label = ds[0]
    >>> tuple(img.shape), img.dtype, tuple(label.shape), label.dtype
    ((3, 32, 32), torch.float32, (32, 32), torch.int64)
    >>> ds.class_names
    ('background', 'circle', 'rectangle', 'triangle')
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch.utils.data import DataLoader, Dataset

__all__ = ["ShapesDataset", "SHAPE_CLASSES", "SHAPE_PALETTE", "MEAN", "STD", "make_dataloaders", "denormalize"]

#: Class names in label order (``num_classes`` takes the first ones).
SHAPE_CLASSES = ("background", "circle", "rectangle", "triangle", "ellipse", "diamond")
#: RGB drawing colour of each class (``palette`` in MMSeg's ``METAINFO``).
SHAPE_PALETTE = ((0, 0, 0), (230, 60, 60), (60, 170, 60), (60, 90, 230), (230, 200, 40), (180, 60, 200))
#: Normalisation applied to the images: ``(x - MEAN) / STD`` per channel on 0-1 values.
MEAN = (0.5, 0.5, 0.5)
STD = (0.25, 0.25, 0.25)

_SPLIT_OFFSET = {"train": 0, "val": 1, "test": 2}
_CHUNK = 64  # samples drawn per generator; sample i lives in chunk i // _CHUNK


def denormalize(image: torch.Tensor) -> torch.Tensor:
    """Undo the dataset normalisation: ``(..., 3, H, W)`` normalised -> 0-1 floats."""
    mean = torch.tensor(MEAN, dtype=image.dtype, device=image.device).view(3, 1, 1)
    std = torch.tensor(STD, dtype=image.dtype, device=image.device).view(3, 1, 1)
    return (image * std + mean).clamp(0, 1)


def _rand(g: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.rand(shape, generator=g)


def _draw_chunk(
    g: torch.Generator, n: int, size: int, num_classes: int, max_shapes: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``n`` images ``(n, 3, size, size)`` in 0-1 and labels ``(n, size, size)``."""
    # --- background: smooth colour blobs + oriented stripes + pixel noise
    coarse = _rand(g, n, 3, 4, 4) * 0.6 + 0.2
    image = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False)
    ys = torch.linspace(-1, 1, size).view(1, size, 1)
    xs = torch.linspace(-1, 1, size).view(1, 1, size)
    theta = _rand(g, n, 1, 1) * math.pi
    freq = 4 + _rand(g, n, 1, 1) * 10
    stripes = torch.sin((xs * torch.cos(theta) + ys * torch.sin(theta)) * freq * math.pi)
    image = image + (0.08 + 0.1 * _rand(g, n, 1, 1, 1)) * stripes[:, None] * (_rand(g, n, 3, 1, 1) - 0.5) * 2
    label = torch.zeros(n, size, size, dtype=torch.int64)

    # --- shapes: k slots per image, painted in order (later ones on top)
    k = max_shapes
    active = torch.arange(k).view(1, k) < torch.randint(1, k + 1, (n, 1), generator=g)
    cls = torch.randint(1, num_classes, (n, k), generator=g)
    cx = (_rand(g, n, k) * 1.6 - 0.8).view(n, k, 1, 1)
    cy = (_rand(g, n, k) * 1.6 - 0.8).view(n, k, 1, 1)
    radius = (0.35 + _rand(g, n, k) * 0.35).view(n, k, 1, 1)
    angle = (_rand(g, n, k) * 2 * math.pi).view(n, k, 1, 1)
    aspect = (0.4 + _rand(g, n, k) * 0.6).view(n, k, 1, 1)
    dx, dy = xs.unsqueeze(0) - cx, ys.unsqueeze(0) - cy  # (n, k, size, size)
    u = dx * torch.cos(angle) + dy * torch.sin(angle)  # rotated coordinates
    v = -dx * torch.sin(angle) + dy * torch.cos(angle)
    masks = {
        1: dx**2 + dy**2 <= radius**2,  # circle
        2: (u.abs() <= radius * 0.9) & (v.abs() <= radius * 0.9 * (0.4 + 0.6 * aspect)),  # rectangle
        4: (u / radius) ** 2 + (v / (radius * aspect)) ** 2 <= 1,  # ellipse
        5: u.abs() + v.abs() / (aspect + 0.3) <= radius,  # diamond
    }
    tri = torch.ones_like(masks[1])
    for j in range(3):  # equilateral triangle: 3 half-planes at 120 degrees, inradius r/2
        a = angle + 2 * math.pi * j / 3
        tri &= dx * torch.cos(a) + dy * torch.sin(a) <= radius * 0.6
    masks[3] = tri
    shape_mask = torch.zeros_like(tri)
    for c, m in masks.items():
        if c < num_classes:
            shape_mask |= (cls.view(n, k, 1, 1) == c) & m
    shape_mask &= active.view(n, k, 1, 1)

    # Colour: the class colour jittered, or (5% of shapes) any colour.
    base = torch.tensor(SHAPE_PALETTE, dtype=torch.float32)[cls] / 255.0  # (n, k, 3)
    jittered = (base + (_rand(g, n, k, 3) - 0.5) * 0.4).clamp(0.05, 0.95)
    random_colour = _rand(g, n, k, 3) * 0.9 + 0.05
    colour = torch.where(_rand(g, n, k, 1) < 0.05, random_colour, jittered)
    shading = 1 + 0.15 * (u / radius).clamp(-1, 1)  # a light gradient across each shape
    for s in range(k):
        m = shape_mask[:, s]  # (n, size, size)
        fill = colour[:, s].view(n, 3, 1, 1) * shading[:, s].unsqueeze(1)
        image = torch.where(m.unsqueeze(1), fill, image)
        label = torch.where(m, cls[:, s].view(n, 1, 1), label)
    image = image + torch.randn((n, 3, size, size), generator=g) * 0.06
    return image.clamp(0, 1), label


class ShapesDataset(Dataset):
    """Generated semantic segmentation: ``(image, label)`` pairs.

    Args:
        split: ``'train'``, ``'val'`` or ``'test'`` (independent draws from the same seed).
        num_samples: Number of samples.
        image_size: Height and width in pixels.
        num_classes: Classes including background, 2 to 6 (see :data:`SHAPE_CLASSES`).
        seed: Base seed; the split and the chunk index are mixed in.
        max_shapes: Up to this many shapes per image (at least one).
        normalize: Return ``(x - MEAN) / STD`` (default) or raw 0-1 images.

    Items: ``image`` float32 ``(3, H, W)``, ``label`` int64 ``(H, W)`` with values in
    ``[0, num_classes)``. :attr:`class_names`, :attr:`palette` and :attr:`metainfo`
    (MMSeg's ``dict(classes=..., palette=...)``) describe the classes.
    """

    def __init__(
        self,
        split: Literal["train", "val", "test"] = "train",
        num_samples: int = 512,
        image_size: int = 32,
        num_classes: int = 4,
        seed: int = 0,
        max_shapes: int = 3,
        normalize: bool = True,
    ) -> None:
        if split not in _SPLIT_OFFSET:
            raise ValueError(f"split must be one of {sorted(_SPLIT_OFFSET)}, got {split!r}")
        if not 2 <= num_classes <= len(SHAPE_CLASSES):
            raise ValueError(f"num_classes must be between 2 and {len(SHAPE_CLASSES)}, got {num_classes}")
        if num_samples < 0 or image_size < 8 or max_shapes < 1:
            raise ValueError("need num_samples >= 0, image_size >= 8 and max_shapes >= 1")
        self.split = split
        self.num_samples = num_samples
        self.image_size = image_size
        self.num_classes = num_classes
        self.seed = seed
        self.max_shapes = max_shapes
        self.normalize = normalize
        images, labels = [], []
        for chunk in range(math.ceil(num_samples / _CHUNK)):
            g = torch.Generator().manual_seed(seed * 1_000_003 + _SPLIT_OFFSET[split] * 10_007 + chunk)
            n = min(_CHUNK, num_samples - chunk * _CHUNK)
            img, lab = _draw_chunk(g, _CHUNK, image_size, num_classes, max_shapes)
            images.append(img[:n])
            labels.append(lab[:n])
        self.images = torch.cat(images) if images else torch.zeros(0, 3, image_size, image_size)
        self.labels = torch.cat(labels) if labels else torch.zeros(0, image_size, image_size, dtype=torch.int64)
        if normalize:
            mean = torch.tensor(MEAN).view(1, 3, 1, 1)
            std = torch.tensor(STD).view(1, 3, 1, 1)
            self.images = (self.images - mean) / std

    @property
    def class_names(self) -> tuple[str, ...]:
        return SHAPE_CLASSES[: self.num_classes]

    @property
    def palette(self) -> list[list[int]]:
        return [list(c) for c in SHAPE_PALETTE[: self.num_classes]]

    @property
    def metainfo(self) -> dict[str, object]:
        return dict(classes=self.class_names, palette=self.palette)

    def __len__(self) -> int:
        return self.num_samples

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.images[index], self.labels[index]


def make_dataloaders(
    batch_size: int = 16,
    num_train: int = 512,
    num_val: int = 128,
    image_size: int = 32,
    num_classes: int = 4,
    seed: int = 0,
    num_workers: int = 0,
) -> tuple[DataLoader, DataLoader]:
    """Train (shuffled with a seeded generator, last partial batch dropped) and val loaders.

    Example:
        >>> train, val = make_dataloaders(batch_size=4, num_train=8, num_val=4)
        >>> [tuple(t.shape) for t in next(iter(train))]
        [(4, 3, 32, 32), (4, 32, 32)]
    """
    train = ShapesDataset("train", num_train, image_size, num_classes, seed)
    val = ShapesDataset("val", num_val, image_size, num_classes, seed)
    g = torch.Generator().manual_seed(seed)
    return (
        DataLoader(train, batch_size=batch_size, shuffle=True, drop_last=True, generator=g, num_workers=num_workers),
        DataLoader(val, batch_size=batch_size, shuffle=False, num_workers=num_workers),
    )
