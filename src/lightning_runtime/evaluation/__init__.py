"""``val_evaluator`` / ``test_evaluator`` as torchmetrics: MMSegmentation's ``IoUMetric`` and friends.

:func:`build_evaluator` turns a config entry into an :class:`Evaluator` (a list of torchmetrics);
:func:`check_evaluator` checks one without building it (``Runtime`` does, before training);
:class:`IoUMetric` returns MMSeg 1.2.2's numbers.

Example:
    >>> from lightning_runtime.evaluation import build_evaluator
    >>> ev = build_evaluator(dict(type='IoUMetric', iou_metrics=['mIoU']), num_classes=2)
    >>> type(ev.metrics[0]).__name__
    'IoUMetric'
"""

from lightning_runtime.evaluation._build import (
    UNSUPPORTED_METRICS,
    Evaluator,
    build_evaluator,
    check_evaluator,
)
from lightning_runtime.evaluation._iou import ALLOWED_IOU_METRICS, IoUMetric

__all__ = ["IoUMetric", "Evaluator", "build_evaluator", "check_evaluator", "UNSUPPORTED_METRICS",
           "ALLOWED_IOU_METRICS"]
