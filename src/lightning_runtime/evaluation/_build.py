"""``val_evaluator`` / ``test_evaluator`` as torchmetrics: MMSegmentation's ``IoUMetric``.

:class:`IoUMetric` takes MMSeg 1.2.2's arguments and returns MMSeg's numbers (``aAcc``, ``mIoU``,
``mAcc``, ``mDice``, ``mFscore``, ``mPrecision``, ``mRecall``: percent, rounded to 2 decimals),
computed with MMSeg's own formula (``intersect_and_union`` + ``total_area_to_metrics``) on four
per-class pixel histograms that are summed across processes. :func:`build_evaluator` turns the
config entry (one metric dict or a list of them) into an :class:`Evaluator`.

Protocol (see ``docs/evaluation.md``)::

    evaluator = build_evaluator(cfg.val_evaluator, num_classes=4, class_names=names)
    evaluator.update(logits_or_labels, gt)   # (N, C, H, W) logits or (N, H, W) labels; gt (N, H, W)
    metrics = evaluator.compute()            # {'aAcc': 91.2, 'mIoU': 80.05, ...}
    evaluator.reset()

Example:
    >>> import torch
    >>> m = IoUMetric(iou_metrics=['mIoU'], num_classes=2, class_names=['bg', 'fg'])
    >>> m.update(torch.tensor([[[0, 1], [1, 1]]]), torch.tensor([[[0, 1], [0, 255]]]))
    >>> m.compute()
    {'aAcc': 66.67, 'mIoU': 50.0, 'mAcc': 75.0}
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, cast

import torch
from torchmetrics import Metric

from lightning_runtime.errors import ConfigError
from lightning_runtime.evaluation._iou import ALLOWED_IOU_METRICS, IoUMetric, format_class_table, total_area_to_metrics
from lightning_runtime.registry import METRICS

__all__ = [
    "IoUMetric",
    "Evaluator",
    "build_evaluator",
    "check_evaluator",
    "evaluator_output_keys",
    "format_class_table",
    "total_area_to_metrics",
    "UNSUPPORTED_METRICS",
    "ALLOWED_IOU_METRICS",
]

#: MMSeg metrics that have no torchmetrics stand-in here, with what to do instead.
UNSUPPORTED_METRICS: dict[str, str] = {
    "CitysMetric": (
        "use type='IoUMetric' (the same mIoU on Cityscapes trainIds), or set "
        "IoUMetric(format_only=True, output_dir=...) and run cityscapesscripts on the saved masks"
    ),
    "DepthMetric": (
        "depth estimation is not supported by lightning_runtime's evaluators; compute depth "
        "errors in your LightningModule with torchmetrics (e.g. MeanSquaredError) and self.log them"
    ),
}


class Evaluator(torch.nn.Module):
    """The metrics of one ``*_evaluator`` entry, updated and computed together.

    A ``torch.nn.Module`` so that, set as an attribute of a LightningModule, its metric states
    follow the module's device.
    """

    def __init__(self, metrics: Sequence[Metric]) -> None:
        super().__init__()
        self.metrics = torch.nn.ModuleList(metrics)
        self._update_params = [frozenset(inspect.signature(m.update).parameters) for m in metrics]

    def update(self, preds: torch.Tensor, target: torch.Tensor | None = None, **kwargs: Any) -> None:
        """Pass one batch to every metric (``kwargs`` only to metrics whose ``update`` takes them)."""
        for m, params in zip(self, self._update_params):
            extra = {k: v for k, v in kwargs.items() if k in params}
            m.update(preds, target, **extra) if target is not None else m.update(preds, **extra)

    def compute(self) -> dict[str, Any]:
        """Merge every metric's results; a key computed twice is an error, as in MMEngine."""
        out: dict[str, Any] = {}
        for m in self:
            res = m.compute()
            if not isinstance(res, Mapping):
                res = {type(m).__name__: res}
            for key, value in res.items():
                if key in out:
                    raise ValueError(
                        f"There are multiple evaluation results with the same metric name {key}. "
                        "Please make sure all metrics have different prefixes."
                    )
                out[key] = value
        return out

    def reset(self) -> None:
        for m in self:
            m.reset()

    @property
    def tables(self) -> list[str]:
        """Per-class tables of the last :meth:`compute` (metrics that make one)."""
        return [table for m in self if (table := getattr(m, "table", ""))]

    def __len__(self) -> int:
        return len(self.metrics)

    def __iter__(self) -> Iterator[Metric]:
        return iter(cast("list[Metric]", list(self.metrics)))  # the ModuleList holds the Metrics given


def _metric_type_name(t: Any) -> str:
    return t.rpartition(".")[2] if isinstance(t, str) else getattr(t, "__name__", repr(t))


def _metric_items(cfg: Any, path: str) -> list[tuple[Any, str, type | None]]:
    """Check an evaluator entry's shape and resolve each metric ``type`` (nothing is called).

    Returns ``(item, item_path, cls)`` per metric; ``cls`` is ``None`` for an already-built metric
    or a dict without ``type``.
    """
    if isinstance(cfg, Mapping) and "metrics" in cfg:
        extra = sorted(set(cfg) - {"type", "metrics"})
        if cfg.get("type", "Evaluator") != "Evaluator" or extra:
            raise ConfigError(
                "an evaluator dict with 'metrics' must be dict(type='Evaluator', metrics=[...])",
                path=path, fix="give the metric dict(s) directly: val_evaluator = dict(type='IoUMetric', ...)",
            )
        cfg, path = cfg["metrics"], f"{path}.metrics"
    items = [(cfg, path)] if isinstance(cfg, Mapping) else None
    if items is None:
        if isinstance(cfg, Sequence) and not isinstance(cfg, str):
            items = [(c, f"{path}[{i}]") for i, c in enumerate(cfg)]
        else:
            raise ConfigError(
                f"expected a metric dict or a list of them, got {type(cfg).__name__}",
                path=path, fix="write val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])",
            )
    if not items:
        raise ConfigError("no metric given", path=path, fix="add dict(type='IoUMetric', iou_metrics=['mIoU'])")
    out: list[tuple[Any, str, type | None]] = []
    for item, item_path in items:
        cls = None
        if isinstance(item, Mapping):
            name = _metric_type_name(item.get("type"))
            if name in UNSUPPORTED_METRICS:
                raise ConfigError(f"{name} is not supported", path=f"{item_path}.type",
                                  fix=UNSUPPORTED_METRICS[name])
            cls = METRICS.resolve(item["type"], path=f"{item_path}.type") if "type" in item else None
        elif not isinstance(item, Metric):
            raise ConfigError(
                f"{type(item).__name__} is not a metric dict or a torchmetrics.Metric",
                path=item_path, fix="write dict(type='IoUMetric', iou_metrics=['mIoU'])",
            )
        out.append((item, item_path, cls))
    return out


def check_evaluator(cfg: Any, *, path: str = "val_evaluator") -> None:
    """Check a ``val_evaluator`` / ``test_evaluator`` entry without building anything.

    Every ``type`` must name a registered metric or a ``torchmetrics.Metric`` class (dotted path);
    :class:`~lightning_runtime.runtime._runtime.Runtime` calls this for the top-level entries, so a config
    whose evaluator names a function (``type='os.system'``) stops before training starts.

    Raises:
        ConfigError: The entry's shape, an unknown or unsupported metric, or a ``type`` of the wrong kind.

    Example:
        >>> check_evaluator(dict(type='IoUMetric', iou_metrics=['mIoU']))
        >>> check_evaluator(dict(type='os.system', command='true'))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        lightning_runtime.errors.ConfigError: ...
    """
    if cfg is not None:
        _metric_items(cfg, path)


def evaluator_output_keys(cfg: Any) -> set[str] | None:
    """The result keys a ``val_evaluator`` / ``test_evaluator`` entry produces, known before it runs.

    A metric class tells its keys with a static ``output_keys(**metric_config)``
    (:meth:`IoUMetric.output_keys`). Returns ``None`` when some metric's keys are known only once it
    has run (a class without ``output_keys``, an already-built metric, a type that names nothing).

    Example:
        >>> sorted(evaluator_output_keys(dict(type='IoUMetric', iou_metrics=['mIoU'])))
        ['aAcc', 'mAcc', 'mIoU']
    """
    if isinstance(cfg, Mapping) and "metrics" in cfg:  # MMEngine's dict(type='Evaluator', metrics=[...])
        cfg = cfg["metrics"]
    items = [cfg] if isinstance(cfg, Mapping) else list(cfg) if isinstance(cfg, (list, tuple)) else []
    if not items:
        return None
    keys: set[str] = set()
    for item in items:
        cls = METRICS.get(item["type"]) if isinstance(item, Mapping) and "type" in item else None
        output_keys = getattr(cls, "output_keys", None)
        if output_keys is None:
            return None
        keys.update(output_keys(**{k: v for k, v in item.items() if k != "type"}))
    return keys


def build_evaluator(
    cfg: Any,
    *,
    path: str = "val_evaluator",
    num_classes: int | None = None,
    class_names: Sequence[str] | None = None,
) -> Evaluator | None:
    """Build an :class:`Evaluator` from a ``val_evaluator`` / ``test_evaluator`` entry.

    Args:
        cfg: ``dict(type='IoUMetric', ...)``, a list of such dicts, or MMEngine's
            ``dict(type='Evaluator', metrics=[...])``; ``None`` returns ``None``.
        path: Config path for messages.
        num_classes: Number of classes, given to metrics whose signature takes ``num_classes``.
        class_names: Class names, given to metrics that take ``class_names``.

    Example:
        >>> ev = build_evaluator(dict(type='IoUMetric', iou_metrics=['mIoU', 'mDice']), num_classes=3)
        >>> type(ev.metrics[0]).__name__
        'IoUMetric'
    """
    if cfg is None:
        return None
    metrics = []
    for item, item_path, cls in _metric_items(cfg, path):
        if isinstance(item, Mapping):
            defaults: dict[str, Any] = {}
            if cls is not None:
                params: Mapping[str, inspect.Parameter]
                try:
                    params = inspect.signature(cls).parameters
                except (TypeError, ValueError):
                    params = {}
                if num_classes is not None and "num_classes" in params:
                    defaults["num_classes"] = num_classes
                if class_names is not None and "class_names" in params:
                    defaults["class_names"] = list(class_names)
            metric = METRICS.build(item, defaults, path=item_path)
        else:
            metric = item
        if not isinstance(metric, Metric):
            raise ConfigError(
                f"{type(metric).__name__} is not a torchmetrics.Metric",
                path=item_path, fix="register a torchmetrics.Metric subclass in METRICS, or use 'IoUMetric'",
            )
        metrics.append(metric)
    return Evaluator(metrics)
