"""MMSegmentation 1.2.2's ``IoUMetric`` as a torchmetrics ``Metric`` (see :mod:`lightning_runtime.evaluation._build`).

The per-class histograms follow MMSeg's ``intersect_and_union``; :func:`total_area_to_metrics` is
MMSeg's function operation for operation; :func:`format_class_table` lays the per-class values out
as PrettyTable's default table does.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torchmetrics import Metric

from lightning_runtime.errors import ConfigError, did_you_mean
from lightning_runtime.evaluation._png import write_png
from lightning_runtime.registry import METRICS
from lightning_runtime.utils import is_main_process

__all__ = ["IoUMetric", "total_area_to_metrics", "format_class_table", "ALLOWED_IOU_METRICS"]

logger = logging.getLogger("lightning_runtime.evaluation._build")

ALLOWED_IOU_METRICS = ("mIoU", "mDice", "mFscore")

#: The summary keys each ``iou_metrics`` entry adds to ``aAcc`` (MMSeg's ``total_area_to_metrics``).
_SUMMARY_KEYS: dict[str, tuple[str, ...]] = {
    "mIoU": ("mIoU", "mAcc"),
    "mDice": ("mDice", "mAcc"),
    "mFscore": ("mFscore", "mPrecision", "mRecall"),
}


def format_class_table(columns: Mapping[str, Sequence[Any]]) -> str:
    """Render columns as a boxed plain-text table shaped like PrettyTable's default output.

    Example:
        >>> print(format_class_table({'Class': ['bg', 'fg'], 'IoU': [50.0, 100.0]}))
        +-------+-------+
        | Class |  IoU  |
        +-------+-------+
        |   bg  |  50.0 |
        |   fg  | 100.0 |
        +-------+-------+
    """
    names = list(columns)
    cells = [[str(v) for v in columns[n]] for n in names]
    widths = [max([len(n)] + [len(c) for c in col]) for n, col in zip(names, cells)]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def row(values: Sequence[str]) -> str:
        return "|" + "|".join(f" {v.center(w)} " for v, w in zip(values, widths)) + "|"

    n_rows = max((len(c) for c in cells), default=0)
    body = [row([col[i] if i < len(col) else "" for col in cells]) for i in range(n_rows)]
    return "\n".join([rule, row(names), rule, *body, rule])


@METRICS.register_module()
class IoUMetric(Metric):
    """MMSegmentation's ``IoUMetric`` as a torchmetrics ``Metric``.

    Args:
        ignore_index: Ground-truth value left out of every count (MMSeg default 255).
        iou_metrics: Any of ``'mIoU'`` (adds IoU, Acc), ``'mDice'`` (Dice, Acc), ``'mFscore'``
            (Fscore, Precision, Recall); a string is one metric.
        nan_to_num: Replace NaN per-class values (classes absent from both prediction and ground
            truth) by this number before averaging; ``None`` keeps NaN and ``nanmean`` skips them.
        beta: Weight of recall in the F-score.
        collect_device: MMSeg's ``'cpu'`` or ``'gpu'``; accepted for compatibility. The histograms
            are summed with ``all_reduce`` on the metric's device either way.
        output_dir: Also save each predicted label mask as a grey PNG here (named after
            ``img_paths`` passed to :meth:`update`, else ``{sample:06d}.png``).
        format_only: Only save masks (needs ``output_dir``); :meth:`compute` returns ``{}``.
        prefix: Prefix of the result keys (``'prefix/mIoU'``), as MMEngine's ``BaseMetric``.
        num_classes: Number of classes (MMSeg reads it from ``dataset_meta``). When neither this
            nor ``class_names`` is given, it is taken from the channel dimension of the first
            logits passed to :meth:`update`.
        class_names: Class names for the per-class table (default ``'0'``, ``'1'``, ...).

    After :meth:`compute`, :attr:`per_class` holds the per-class values (percent, 2 decimals)
    and :attr:`table` the per-class table logged to ``lightning_runtime.evaluation._build`` at INFO.
    """

    full_state_update = False
    is_differentiable = False
    higher_is_better = True
    # The summed histograms, registered with add_state in __init__ (one int64 count per class).
    area_intersect: torch.Tensor
    area_union: torch.Tensor
    area_pred_label: torch.Tensor
    area_label: torch.Tensor

    def __init__(
        self,
        ignore_index: int = 255,
        iou_metrics: Sequence[str] | str = ("mIoU",),
        nan_to_num: float | None = None,
        beta: float = 1,
        collect_device: str = "cpu",
        output_dir: str | None = None,
        format_only: bool = False,
        prefix: str | None = None,
        num_classes: int | None = None,
        class_names: Sequence[str] | None = None,
    ) -> None:
        super().__init__()
        metrics = [iou_metrics] if isinstance(iou_metrics, str) else list(iou_metrics)
        for i, name in enumerate(metrics):
            if name not in ALLOWED_IOU_METRICS:
                raise ConfigError(
                    f"unknown IoU metric {name!r}",
                    path=f"iou_metrics[{i}]",
                    expected=", ".join(ALLOWED_IOU_METRICS),
                    candidates=did_you_mean(str(name), ALLOWED_IOU_METRICS),
                    fix="list some of 'mIoU', 'mDice', 'mFscore'",
                )
        if collect_device not in ("cpu", "gpu"):
            raise ConfigError(f"collect_device must be 'cpu' or 'gpu', got {collect_device!r}", path="collect_device",
                              fix="use collect_device='cpu' (it has no effect here: states are all-reduced)")
        if format_only and not output_dir:
            raise ConfigError(
                "format_only=True saves predictions only and needs output_dir",
                path="output_dir",
                fix="set output_dir='work_dirs/format_results' or drop format_only",
            )
        if not isinstance(beta, (int, float)) or beta <= 0:
            raise ConfigError(f"beta must be a positive number, got {beta!r}", path="beta",
                              fix="use beta=1 for the F1 score")
        if class_names is not None:
            class_names = [str(c) for c in class_names]
            if num_classes is not None and num_classes != len(class_names):
                raise ConfigError(
                    f"num_classes={num_classes} but {len(class_names)} class names were given",
                    path="num_classes",
                    fix="give as many class names as classes",
                )
            num_classes = len(class_names)
        if num_classes is not None and (not isinstance(num_classes, int) or num_classes < 1):
            raise ConfigError(f"num_classes must be a positive int, got {num_classes!r}", path="num_classes",
                              fix="pass the number of classes including background, e.g. num_classes=4")
        self.ignore_index = ignore_index
        self.metrics = metrics
        self.nan_to_num = nan_to_num
        self.beta = beta
        self.collect_device = collect_device
        self.output_dir = output_dir
        self.format_only = format_only
        self.prefix = prefix
        self.class_names = class_names
        self.num_classes = num_classes
        self.per_class: dict[str, list[float]] = {}
        self.table = ""
        self._saved = 0
        if output_dir and is_main_process():
            os.makedirs(output_dir, exist_ok=True)
        if num_classes is not None:
            self._add_area_states(num_classes)

    @staticmethod
    def output_keys(iou_metrics: Sequence[str] | str = ("mIoU",), prefix: str | None = None,
                    **_other_args: Any) -> list[str]:
        """The keys :meth:`compute` returns for a metric built with these arguments (its config).

        ``aAcc``, then per entry of ``iou_metrics`` MMSeg's summary keys (``mIoU`` and ``mDice`` come
        with ``mAcc``, ``mFscore`` with ``mPrecision`` and ``mRecall``), ``prefix/`` in front when set.

        Example:
            >>> IoUMetric.output_keys(iou_metrics=['mIoU', 'mFscore'], prefix='val')
            ['val/aAcc', 'val/mIoU', 'val/mAcc', 'val/mFscore', 'val/mPrecision', 'val/mRecall']
        """
        keys = ["aAcc"]
        for name in [iou_metrics] if isinstance(iou_metrics, str) else iou_metrics:
            for key in _SUMMARY_KEYS.get(name, ()):
                if key not in keys:
                    keys.append(key)
        return [f"{prefix}/{k}" for k in keys] if prefix else keys

    # ------------------------------------------------------------------ state
    def _add_area_states(self, num_classes: int) -> None:
        for name in ("area_intersect", "area_union", "area_pred_label", "area_label"):
            self.add_state(name, default=torch.zeros(num_classes, dtype=torch.int64), dist_reduce_fx="sum")

    def _labels(self, preds: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor:
        if not isinstance(preds, torch.Tensor):
            raise TypeError(f"IoUMetric.update expects tensors, got {type(preds).__name__}")
        if preds.is_floating_point():
            if preds.ndim != 4:
                raise ValueError(
                    f"float predictions must be (N, C, H, W) logits, got shape {tuple(preds.shape)}; "
                    "pass integer label maps (N, H, W) otherwise"
                )
            if self.num_classes is None:
                self.num_classes = int(preds.shape[1])
                self._add_area_states(self.num_classes)
            elif preds.shape[1] != self.num_classes:
                raise ValueError(f"logits have {preds.shape[1]} channels but num_classes={self.num_classes}")
            preds = preds.argmax(dim=1)
        elif preds.ndim == 4 and preds.shape[1] == 1:
            preds = preds[:, 0]
        if preds.ndim == 2:
            preds = preds[None]
        if preds.ndim != 3:
            raise ValueError(f"predictions must be (N, H, W) labels or (N, C, H, W) logits, got {tuple(preds.shape)}")
        if target is not None and preds.shape != target.shape:
            raise ValueError(
                f"prediction {tuple(preds.shape)} and ground truth {tuple(target.shape)} differ in size; "
                "resize the logits to the label size first (F.interpolate(logits, size=gt.shape[-2:], "
                "mode='bilinear')), as MMSeg's postprocess_result does"
            )
        return preds.long()

    def update(self, preds: torch.Tensor, target: torch.Tensor | None = None,
               img_paths: Sequence[str] | None = None) -> None:
        """Add one batch.

        Args:
            preds: ``(N, C, H, W)`` float logits (arg-maxed over C) or ``(N, H, W)`` integer labels.
            target: ``(N, H, W)`` integer ground truth (``(N, 1, H, W)`` is squeezed); may be
                ``None`` only with ``format_only=True``.
            img_paths: Optional source paths, used to name the masks saved to ``output_dir``.
        """
        if target is not None:
            if target.ndim == 4 and target.shape[1] == 1:
                target = target[:, 0]
            if target.ndim == 2:
                target = target[None]
            target = target.to(preds.device).long()
        elif not self.format_only:
            raise ValueError("IoUMetric.update needs the ground truth (target) unless format_only=True")
        labels = self._labels(preds, target)
        if self.output_dir is not None:
            self._save_masks(labels, img_paths)
        if self.format_only:
            return
        if self.num_classes is None:
            raise ValueError(
                "IoUMetric does not know the number of classes: pass num_classes= (or class_names=) "
                "to IoUMetric/build_evaluator, or give (N, C, H, W) logits"
            )
        n = self.num_classes
        assert target is not None  # None is refused above unless format_only (returned already)
        mask = target != self.ignore_index
        pred, label = labels[mask], target[mask]

        def hist(x: torch.Tensor) -> torch.Tensor:  # == torch.histc(x, bins=n, min=0, max=n-1) on ints
            return torch.bincount(x[(x >= 0) & (x < n)], minlength=n)

        inter = hist(pred[pred == label])
        area_pred, area_label = hist(pred), hist(label)
        self.area_intersect += inter
        self.area_union += area_pred + area_label - inter
        self.area_pred_label += area_pred
        self.area_label += area_label

    def _save_masks(self, labels: torch.Tensor, img_paths: Sequence[str] | None) -> None:
        masks = labels.detach().cpu().numpy().astype(np.uint8)
        for i, mask in enumerate(masks):
            if img_paths is not None:
                stem = os.path.splitext(os.path.basename(img_paths[i]))[0]
            else:
                stem = f"{self._saved:06d}"
            write_png(os.path.join(str(self.output_dir), f"{stem}.png"), mask, backend="zlib")
            self._saved += 1

    # ------------------------------------------------------------------ compute
    def compute(self) -> dict[str, float]:
        """MMSeg's summary keys (percent, 2 decimals), prefixed ``prefix/`` when set."""
        if self.format_only:
            logger.info("results are saved to %s", os.path.dirname(str(self.output_dir)))
            return {}
        if self.num_classes is None:
            raise ValueError("IoUMetric.compute called before any update (number of classes unknown)")
        inter, union, pred_label, label = (a.cpu().to(torch.float32) for a in
                                           (self.area_intersect, self.area_union, self.area_pred_label, self.area_label))
        ret = total_area_to_metrics(inter, union, pred_label, label,
                                    metrics=self.metrics, nan_to_num=self.nan_to_num, beta=self.beta)
        summary: dict[str, float] = {}
        for key, value in ret.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # nanmean of an all-NaN array is NaN
                val = np.round(np.nanmean(value) * 100, 2)
            # MMSeg returns np.float32 (66.67 prints as 66.67 but is 66.66999...); return the
            # Python float of the same 2-decimal value.
            summary[key if key == "aAcc" else "m" + key] = round(float(val), 2)
        ret.pop("aAcc", None)
        self.per_class = {k: [round(float(x), 2) for x in np.round(v * 100, 2)] for k, v in ret.items()}
        names = self.class_names or [str(i) for i in range(self.num_classes)]
        columns: dict[str, Sequence[Any]] = {"Class": names}
        columns.update({k: [np.round(v * 100, 2)[i] for i in range(len(v))] for k, v in ret.items()})
        self.table = format_class_table(columns)
        if is_main_process():
            logger.info("per class results:")
            logger.info("\n%s", self.table)
        if self.prefix:
            summary = {f"{self.prefix}/{k}": v for k, v in summary.items()}
        return summary

    def reset(self) -> None:
        super().reset()
        self._saved = 0


def total_area_to_metrics(
    total_area_intersect: torch.Tensor,
    total_area_union: torch.Tensor,
    total_area_pred_label: torch.Tensor,
    total_area_label: torch.Tensor,
    metrics: Sequence[str] = ("mIoU",),
    nan_to_num: float | None = None,
    beta: float = 1,
) -> "OrderedDict[str, np.ndarray]":
    """MMSeg 1.2.2's ``IoUMetric.total_area_to_metrics``, operation for operation (float32)."""
    all_acc = total_area_intersect.sum() / total_area_label.sum()
    ret: OrderedDict[str, torch.Tensor] = OrderedDict({"aAcc": all_acc})
    for metric in metrics:
        if metric == "mIoU":
            ret["IoU"] = total_area_intersect / total_area_union
            ret["Acc"] = total_area_intersect / total_area_label
        elif metric == "mDice":
            ret["Dice"] = 2 * total_area_intersect / (total_area_pred_label + total_area_label)
            ret["Acc"] = total_area_intersect / total_area_label
        elif metric == "mFscore":
            precision = total_area_intersect / total_area_pred_label
            recall = total_area_intersect / total_area_label
            ret["Fscore"] = (1 + beta**2) * (precision * recall) / ((beta**2 * precision) + recall)
            ret["Precision"] = precision
            ret["Recall"] = recall
    out = OrderedDict((k, v.numpy()) for k, v in ret.items())
    if nan_to_num is not None:
        out = OrderedDict((k, np.nan_to_num(v, nan=nan_to_num)) for k, v in out.items())
    return out
