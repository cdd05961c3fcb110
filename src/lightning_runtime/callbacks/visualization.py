"""``SegVisualizationHook``: image / ground truth / prediction overlays of val and test samples.

MMSeg 1.2.2's hook (``mmseg/engine/hooks/visualization_hook.py``) as a Lightning callback. With
``draw=True``, after every ``interval``-th validation or test batch (``(batch_idx + 1) % interval ==
0``, the batch index restarting at 0 in each loop, as ``every_n_inner_iters``), every sample of that
batch is drawn and saved as ``<log_dir>/vis_data/vis_image/{mode}_{name}_{step}.png``: ``mode`` is
``val`` or ``test``, ``name`` the basename of ``img_path`` when the step outputs give one, else
``img_{k}`` with ``k`` the sample's index in the loop; ``step`` is MMEngine's ``runner.iter``
(training iterations done). When a Trainer logger is a ``TensorBoardLogger`` the same image goes to
TensorBoard under ``{mode}_{name}`` at that step.

``log_dir`` is the run context's ``work_dir/<timestamp>`` when the runtime bound one
(``bind_context``); otherwise ``trainer.log_dir`` (the first logger's folder), or
``trainer.default_root_dir`` without loggers.

Protocol: ``validation_step`` / ``test_step`` return a dict with

* ``'inputs'``: ``(N, 3, H, W)`` float RGB images, 0-1 or 0-255 (values above 1.5 mean 0-255),
* ``'gt'``: ``(N, H, W)`` integer labels (values outside the palette, e.g. 255, are not coloured),
* ``'pred'``: ``(N, H, W)`` integer labels or ``(N, C, H, W)`` logits,
* optionally ``'img_path'``: ``N`` file names used to name the PNGs.

Colours: ``palette`` of the LightningModule, else of the DataModule / val dataset (attribute
``palette`` or ``metainfo['palette']``), else MMSeg's random palette (``np.random.seed(42)``).
Each panel blends the image with the class colours as MMSeg does (``alpha=0.8``); class-name text
labels (drawn by MMSeg with OpenCV) are not drawn.

Example:
    >>> hook = SegVisualizationHook(draw=True, interval=1)
    >>> hook.priority, hook.interval
    ('NORMAL', 1)
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from lightning.pytorch import Callback
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_warn

from lightning_runtime.errors import ConfigError
from lightning_runtime.evaluation._png import write_png
from lightning_runtime.runtime._progress import train_iter
from lightning_runtime.registry import HOOKS

__all__ = ["SegVisualizationHook", "VisualizationProtocolError", "random_palette", "draw_sem_seg"]

PROTOCOL = (
    "validation_step/test_step must return a dict with 'inputs' ((N, 3, H, W) float images, 0-1 or "
    "0-255), 'gt' ((N, H, W) integer labels) and 'pred' ((N, H, W) integer labels or (N, C, H, W) "
    "logits), optionally 'img_path' (N names); see docs/evaluation.md"
)


class VisualizationProtocolError(ConfigError, TypeError):
    """The step outputs do not follow the visualization protocol (:data:`PROTOCOL`).

    A :class:`~lightning_runtime.errors.ConfigError` (the CLI prints one message and exits 2) and,
    as before, a ``TypeError``.
    """

    def __init__(self, message: str) -> None:
        super().__init__(
            message, path="default_hooks.visualization",
            fix="return dict(inputs=..., gt=..., pred=...) from validation_step/test_step, or set "
                "default_hooks.visualization.draw=False (or default_hooks.visualization=None)")


def random_palette(num_classes: int) -> list[list[int]]:
    """MMSeg's palette for datasets without one: ``np.random.seed(42); randint(0, 255, (n, 3))``.

    The global NumPy random state is left untouched.
    """
    return np.random.RandomState(42).randint(0, 255, size=(num_classes, 3)).tolist()


def draw_sem_seg(image: np.ndarray, labels: np.ndarray, palette: Sequence[Sequence[int]], alpha: float = 0.8) -> np.ndarray:
    """MMSeg's ``_draw_sem_seg`` without text: ``image * (1 - alpha) + colour_mask * alpha``.

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        labels: ``(H, W)`` integer labels; values outside ``[0, len(palette))`` stay uncoloured.
        palette: RGB colour per class.
    """
    pal = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
    mask = np.zeros_like(image, dtype=np.uint8)
    valid = (labels >= 0) & (labels < len(pal))
    mask[valid] = pal[labels[valid]]
    return (image * (1 - alpha) + mask * alpha).astype(np.uint8)


def _to_uint8_images(inputs: torch.Tensor) -> np.ndarray:
    x = inputs.detach().float().cpu()
    if float(x.max()) <= 1.5:
        x = x * 255.0
    return x.clamp(0, 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def _check_outputs(outputs: Any, mode: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, Sequence[str] | None]:
    where = f"SegVisualizationHook(draw=True) got {mode} step outputs"
    if not isinstance(outputs, Mapping):
        raise VisualizationProtocolError(f"{where} of type {type(outputs).__name__}: {PROTOCOL}")
    missing = [k for k in ("inputs", "gt", "pred") if k not in outputs]
    if missing:
        raise VisualizationProtocolError(f"{where} without {missing} (keys: {sorted(outputs)}): {PROTOCOL}")
    inputs, gt, pred = outputs["inputs"], outputs["gt"], outputs["pred"]
    if not all(isinstance(t, torch.Tensor) for t in (inputs, gt, pred)):
        raise VisualizationProtocolError(f"{where} whose 'inputs', 'gt', 'pred' are not all tensors: {PROTOCOL}")
    if pred.ndim == 4:
        pred = pred.argmax(1)
    if inputs.ndim != 4 or inputs.shape[1] != 3 or not inputs.is_floating_point():
        raise VisualizationProtocolError(f"{where} with 'inputs' of shape {tuple(inputs.shape)} ({inputs.dtype}): {PROTOCOL}")
    expected = (inputs.shape[0], *inputs.shape[2:])
    for key, t in (("gt", gt), ("pred", pred)):
        if tuple(t.shape) != expected or t.is_floating_point():
            raise VisualizationProtocolError(
                f"{where} with '{key}' of shape {tuple(t.shape)} ({t.dtype}); expected integer labels "
                f"of shape {expected}: {PROTOCOL}")
    paths = outputs.get("img_path")
    if isinstance(paths, str):
        paths = [paths]
    if paths is not None and len(paths) != expected[0]:
        raise VisualizationProtocolError(f"{where} with {len(paths)} 'img_path' for {expected[0]} images: {PROTOCOL}")
    return inputs, gt, pred, paths


def _find_palette(trainer: Any, pl_module: Any, num_classes: int) -> list[list[int]]:
    candidates = [pl_module, getattr(trainer, "datamodule", None)]
    for loaders in (getattr(trainer, "val_dataloaders", None), getattr(trainer, "test_dataloaders", None)):
        for loader in loaders if isinstance(loaders, (list, tuple)) else [loaders]:
            candidates.append(getattr(loader, "dataset", None))
    for obj in candidates:
        if obj is None:
            continue
        palette = getattr(obj, "palette", None)
        meta = getattr(obj, "metainfo", None)
        if palette is None and isinstance(meta, Mapping):
            palette = meta.get("palette")
        if palette is not None and len(palette) > 0:
            return [list(map(int, c)) for c in palette]
    return random_palette(num_classes)


@HOOKS.register_module()
class SegVisualizationHook(Callback):
    """Draw validation / test predictions (MMSeg's arguments; see the module doc for the protocol).

    Args:
        draw: Draw at all. ``False`` (MMSeg's default) does nothing, silently as in MMEngine; it
            warns once when drawing options (``interval``, ``wait_time``) are given beside it.
        interval: Draw every ``interval``-th batch of each validation/test loop.
        show: Display in a window: not available (no display); ``True`` is a ``ConfigError``.
        wait_time: Seconds a shown window stays open; only meaningful with ``show``.
        backend_args: File backend for reading ``img_path`` in MMSeg; unused here (images come from
            the step outputs), so a non-empty value warns.
    """

    priority = "NORMAL"

    def __init__(
        self,
        draw: bool = False,
        interval: int = 50,
        show: bool = False,
        wait_time: float = 0.0,
        backend_args: dict | None = None,
    ) -> None:
        if show:
            raise ConfigError(
                "show=True opens a display window, which lightning_runtime does not do",
                path="show",
                fix="set show=False and set draw=True: the overlays are written to "
                "<log_dir>/vis_data/vis_image/*.png and to TensorBoard when that logger is on",
            )
        if not isinstance(interval, int) or isinstance(interval, bool):
            raise ConfigError(f"interval must be an int, got {interval!r}", path="interval",
                              fix="write a whole number, e.g. interval=50")
        if not isinstance(wait_time, (int, float)) or wait_time < 0:
            raise ConfigError(f"wait_time must be a number >= 0, got {wait_time!r}", path="wait_time",
                              fix="remove wait_time (it only matters with show=True)")
        if backend_args is not None and not isinstance(backend_args, Mapping):
            raise ConfigError(f"backend_args must be a dict or None, got {type(backend_args).__name__}",
                              path="backend_args", fix="remove backend_args (images come from the step outputs)")
        self.draw = bool(draw)
        self.interval = interval
        self.show = False
        self.wait_time = float(wait_time)
        self.backend_args = dict(backend_args) if backend_args else None
        self._ctx: Any = None
        self._vis_dir: Path | None = None
        self._palette: list[list[int]] | None = None
        self._seen: dict[tuple[str, int], int] = {}
        self.saved: list[Path] = []  # every PNG written, in order (handy for tests and notebooks)
        if not self.draw and (interval != 50 or wait_time):
            # MMSeg's default_runtime has draw=False: silent there, as in MMEngine; drawing options
            # given beside draw=False are the sign that drawing was meant.
            rank_zero_warn(f"SegVisualizationHook: draw=False, so interval={interval!r} draws nothing and "
                           "nothing is stored (set default_hooks.visualization.draw=True to draw)")
        if self.backend_args:
            rank_zero_warn("SegVisualizationHook: backend_args is not used; images come from the "
                           "validation/test step outputs, not from files")

    def bind_context(self, ctx: Any) -> None:
        """Receive the runtime's run context: images go to ``ctx.log_dir / 'vis_data' / 'vis_image'``."""
        self._ctx = ctx

    @property
    def vis_dir(self) -> Path | None:
        """Where the PNGs go (known from ``setup`` on)."""
        return self._vis_dir

    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        if self._ctx is not None:
            base = Path(self._ctx.log_dir)
        else:
            base = Path(trainer.log_dir or trainer.default_root_dir)  # log_dir: call on all ranks
        self._vis_dir = base / "vis_data" / "vis_image"
        self._palette = None

    # ------------------------------------------------------------------ loops
    def on_validation_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        self._seen = {k: v for k, v in self._seen.items() if k[0] != "val"}

    def on_test_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        self._seen = {k: v for k, v in self._seen.items() if k[0] != "test"}

    def on_validation_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any,
                                batch_idx: int, dataloader_idx: int = 0) -> None:
        if not trainer.sanity_checking:
            self._after_iter(trainer, pl_module, outputs, batch_idx, dataloader_idx, "val")
        elif self.draw:  # Lightning's sanity check (when turned on): the outputs checked, nothing drawn
            _check_outputs(outputs, "val")

    def on_test_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any,
                          batch_idx: int, dataloader_idx: int = 0) -> None:
        self._after_iter(trainer, pl_module, outputs, batch_idx, dataloader_idx, "test")

    def _after_iter(self, trainer: Any, pl_module: Any, outputs: Any, batch_idx: int,
                    dataloader_idx: int, mode: str) -> None:
        if not self.draw:
            return
        inputs, gt, pred, paths = _check_outputs(outputs, mode)  # every batch: fail on the first
        key = (mode, dataloader_idx)
        first = self._seen.get(key, 0)
        self._seen[key] = first + inputs.shape[0]
        if not (self.interval > 0 and (batch_idx + 1) % self.interval == 0) or not trainer.is_global_zero:
            return
        if self._palette is None:
            num = int(max(int(gt[gt < 255].max()) if bool((gt < 255).any()) else 0, int(pred.max()))) + 1
            self._palette = _find_palette(trainer, pl_module, num)
        images = _to_uint8_images(inputs)
        gt_np, pred_np = gt.detach().cpu().long().numpy(), pred.detach().cpu().long().numpy()
        step = train_iter(trainer)
        prefix = "" if dataloader_idx == 0 else f"dl{dataloader_idx}_"
        tb = [lg for lg in trainer.loggers if isinstance(lg, TensorBoardLogger)]
        for i, image in enumerate(images):
            name = os.path.basename(paths[i]) if paths is not None else f"img_{first + i}"
            window = f"{mode}_{prefix}{name}"
            drawn = np.concatenate(
                [image, draw_sem_seg(image, gt_np[i], self._palette), draw_sem_seg(image, pred_np[i], self._palette)],
                axis=1)
            assert self._vis_dir is not None
            path = self._vis_dir / f"{window}_{step}.png"
            write_png(path, drawn)
            self.saved.append(path)
            for logger in tb:
                logger.experiment.add_image(window, drawn, step, dataformats="HWC")

    def state_dict(self) -> dict[str, Any]:
        return {}
