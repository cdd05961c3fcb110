"""Writing PNG files without Pillow or OpenCV.

Used for MMSeg's ``IoUMetric(output_dir=...)`` prediction masks and for the
:class:`~lightning_runtime.callbacks.visualization.SegVisualizationHook` overlays. The package's
required dependencies (torch, lightning, torchmetrics, omegaconf, jsonargparse) do not bring an
image library, so :func:`write_png` uses ``matplotlib.image.imsave`` when matplotlib is installed
(the ``plot`` extra) and otherwise a tiny, lossless PNG encoder built on :mod:`zlib`.

Example:
    >>> import numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "x.png")
    >>> write_png(path, np.zeros((4, 6, 3), dtype=np.uint8))
    >>> png_size(path)
    (6, 4)
"""

from __future__ import annotations

import os
import struct
import zlib
from typing import Any

import numpy as np

__all__ = ["write_png", "encode_png", "png_size"]


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def encode_png(image: Any) -> bytes:
    """Encode a ``uint8`` array as PNG bytes (pure Python + zlib).

    Args:
        image: ``(H, W)`` grey or ``(H, W, 3)`` RGB array of ``uint8`` (a torch tensor is accepted).

    Returns:
        The PNG file content (8-bit, no filtering, default zlib level).
    """
    arr = np.ascontiguousarray(np.asarray(image))
    if arr.dtype != np.uint8:
        raise ValueError(f"PNG images must be uint8, got {arr.dtype}")
    if arr.ndim == 2:
        color_type = 0
    elif arr.ndim == 3 and arr.shape[2] == 3:
        color_type = 2
    else:
        raise ValueError(f"expected an (H, W) or (H, W, 3) array, got shape {tuple(arr.shape)}")
    height, width = arr.shape[:2]
    rows = arr.reshape(height, -1)
    # Each scanline starts with filter type 0 (None).
    raw = np.concatenate([np.zeros((height, 1), dtype=np.uint8), rows], axis=1).tobytes()
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b"")


def _matplotlib_imsave() -> Any:
    # matplotlib.image.imsave needs no pyplot and no GUI backend (a notebook's backend is untouched).
    try:
        from matplotlib import image as mpl_image
    except Exception:  # not installed
        return None
    return mpl_image.imsave


def write_png(path: str | os.PathLike[str], image: Any, *, backend: str = "auto") -> None:
    """Write a ``uint8`` image to ``path`` as PNG, creating parent folders.

    Args:
        path: Output file.
        image: ``(H, W)`` grey (stored as-is, e.g. a label mask) or ``(H, W, 3)`` RGB ``uint8``.
        backend: ``'auto'`` (``matplotlib.image.imsave`` for RGB images when installed, else zlib),
            ``'matplotlib'`` or ``'zlib'``. Grey masks always use zlib so pixel values are label
            ids, not a colour-mapped rendering.
    """
    if backend not in ("auto", "matplotlib", "zlib"):
        raise ValueError(f"backend must be 'auto', 'matplotlib' or 'zlib', got {backend!r}")
    arr = np.asarray(image)
    os.makedirs(os.path.dirname(os.path.abspath(os.fspath(path))), exist_ok=True)
    imsave = None
    if backend != "zlib" and arr.ndim == 3:
        imsave = _matplotlib_imsave()
        if imsave is None and backend == "matplotlib":
            raise ImportError("matplotlib is not installed: pip install matplotlib, or use backend='zlib'")
    if imsave is not None:
        imsave(os.fspath(path), np.ascontiguousarray(arr, dtype=np.uint8), format="png")
        return
    with open(path, "wb") as fh:
        fh.write(encode_png(arr))


def png_size(path: str | os.PathLike[str]) -> tuple[int, int]:
    """``(width, height)`` of a PNG file, read from its header."""
    with open(path, "rb") as fh:
        head = fh.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise ValueError(f"{os.fspath(path)} is not a PNG file")
    width, height = struct.unpack(">II", head[16:24])
    return int(width), int(height)
