"""``SegModule``: a demo segmentor as a LightningModule, trained the MMSegmentation way.

* **Model**: one of the tiny segmentors of :mod:`lightning_runtime.demo.models` (``arch='tiny_vit'``
  or ``'tiny_convnext'``, or a dotted path to any factory returning an ``EncoderDecoder``). Its
  ``backbone`` / ``decode_head`` / ``auxiliary_head`` become direct children of the module, so
  parameter names are MMSeg's (``backbone.pos_embed``, ``backbone.stages.2.0.gamma``, ...) and
  ``custom_keys`` and the layer-decay constructors match them as they would in MMSeg.
* **Loss**: ``CrossEntropyLoss(ignore_index=255)`` on the decode head, plus ``0.4 x`` the same loss on
  the auxiliary head (MMSeg's FCN auxiliary head). ``training_step`` returns MMSeg's log keys
  (``loss``, ``decode.loss_ce``, ``decode.acc_seg``, ``aux.loss_ce``, ``aux.acc_seg``); the
  ``LoggerHook`` callback prints them.
* **Evaluation**: ``val_evaluator`` / ``test_evaluator`` (MMSeg config entries, default
  ``IoUMetric(iou_metrics=['mIoU'])``) are built with :func:`lightning_runtime.evaluation._build.build_evaluator`;
  at the end of validation/test every key (``aAcc``, ``mIoU``, ``mAcc``, ...; percent, as MMSeg) is
  logged with ``self.log`` under its MMSeg name, so ``CheckpointHook(save_best='mIoU')`` and
  ``EarlyStoppingHook(monitor='mIoU')`` find it.
* **Visualization protocol**: ``validation_step`` / ``test_step`` return
  ``{'inputs': images in 0-1 (N, 3, H, W), 'gt': (N, H, W) int64, 'pred': (N, H, W) int64}``, which
  ``SegVisualizationHook`` draws; :attr:`class_names` and :attr:`palette` describe the classes.
* **Optimizers**: :meth:`configure_optimizers` delegates to a
  :class:`~lightning_runtime.runtime._runtime.Runtime` (``optim_wrapper`` + ``param_scheduler`` of the run's
  config): set ``module.runtime = rt`` (what ``python -m lightning_runtime.demo`` does), or give
  ``optim_wrapper=`` / ``param_scheduler=`` (+ ``train_cfg=``) to the constructor for a module
  used on its own.

Example:
    >>> from lightning_runtime import Runtime
    >>> rt = Runtime(dict(optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-3)),
    ...                   train_cfg=dict(type='IterBasedTrainLoop', max_iters=10)))
    >>> module = SegModule(arch='tiny_vit', num_classes=4, runtime=rt)
    >>> sorted(n for n, _ in module.named_parameters())[:2]
    ['auxiliary_head.conv_seg.bias', 'auxiliary_head.conv_seg.weight']
    >>> type(module.configure_optimizers()['optimizer']).__name__
    'AdamW'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import lightning.pytorch as pl
import torch
import torch.nn as nn
import torch.nn.functional as F
from lightning.pytorch.utilities.types import OptimizerConfig, OptimizerLRSchedulerConfig

from lightning_runtime.errors import ConfigError, did_you_mean
from lightning_runtime.evaluation._build import Evaluator, build_evaluator
from lightning_runtime.demo.data import SHAPE_CLASSES, SHAPE_PALETTE, denormalize
from lightning_runtime.demo.models import tiny_convnext_segmentor, tiny_vit_segmentor

__all__ = ["SegModule", "ARCHS", "DEFAULT_EVALUATOR"]

#: Named model factories (``arch=``); any other ``arch`` is a dotted path to a factory.
ARCHS: dict[str, Callable[..., nn.Module]] = {
    "tiny_vit": tiny_vit_segmentor,
    "tiny_convnext": tiny_convnext_segmentor,
}
#: MMSeg's default ``val_evaluator``.
DEFAULT_EVALUATOR: dict[str, Any] = {"type": "IoUMetric", "iou_metrics": ["mIoU"]}


def _factory(arch: str) -> Callable[..., nn.Module]:
    if arch in ARCHS:
        return ARCHS[arch]
    if isinstance(arch, str) and "." in arch:
        # A dotted path: an nn.Module subclass, or the user's own factory function (never a library
        # function such as 'os.system'); checked before anything is called.
        from lightning_runtime.registry import Kind, import_object, resolve_class, resolve_function

        obj = import_object(arch, path="model.init_args.arch")
        if isinstance(obj, type):
            return resolve_class(obj, Kind("an nn.Module subclass", bases=("torch.nn.modules.module.Module",)),
                                 path="model.init_args.arch", what="arch")
        if obj is not None:
            return resolve_function(arch, path="model.init_args.arch", what="factory(num_classes, **arch_args)",
                                    example="my_pkg.models.build_segmentor")
    raise ConfigError(
        f"unknown arch {arch!r}",
        path="model.init_args.arch",
        candidates=did_you_mean(arch, list(ARCHS)),
        expected=", ".join(ARCHS) + " or a dotted path to a model factory",
        fix="use one of the archs above, or a dotted path to a function that returns the model",
    )


def _accuracy(logits: torch.Tensor, target: torch.Tensor, ignore_index: int) -> torch.Tensor:
    """MMSeg's ``acc_seg``: percent of non-ignored pixels whose argmax is right."""
    valid = target != ignore_index
    correct = (logits.argmax(1) == target) & valid
    return correct.sum().float() * 100.0 / valid.sum().clamp(min=1)


class SegModule(pl.LightningModule):
    """A demo segmentor with MMSeg's loss, log keys, metrics and parameter names.

    Args:
        arch: ``'tiny_vit'``, ``'tiny_convnext'`` or a dotted path to a factory
            ``fn(num_classes=..., **arch_args) -> EncoderDecoder``.
        arch_args: Keyword arguments of the factory (``depth``, ``embed_dims``, ``img_size``,
            ``patch_size``, ``dims``, ...).
        num_classes: Classes including background.
        class_names: Names for the per-class table and the visualizations (default: the shapes
            dataset's first ``num_classes`` names).
        palette: RGB colour per class for the visualizations (default: the shapes palette).
        ignore_index: Label value left out of the loss and the metrics (MMSeg: 255).
        aux_loss_weight: Weight of the auxiliary head's loss (MMSeg's FCN auxiliary head: 0.4);
            ignored when the model has no auxiliary head.
        val_evaluator: MMSeg's ``val_evaluator`` entry (a dict or a list of them).
        test_evaluator: ``test_evaluator``; defaults to ``val_evaluator``.
        optim_wrapper: Only for a module used without a Runtime: ``optim_wrapper`` config.
        param_scheduler: Only with ``optim_wrapper``: the ``param_scheduler`` list.
        train_cfg: Only with ``optim_wrapper``: ``train_cfg`` (fills a missing scheduler ``end``).
        runtime: The :class:`~lightning_runtime.runtime._runtime.Runtime` whose config builds the
            optimizer (not saved in hyperparameters; can also be set later: ``module.runtime = rt``).
    """

    # The segmentor's children, added by name in __init__ (``auxiliary_head`` only when it has one).
    backbone: nn.Module
    decode_head: nn.Module

    def __init__(
        self,
        arch: str = "tiny_vit",
        arch_args: dict[str, Any] | None = None,
        num_classes: int = 4,
        class_names: Sequence[str] | None = None,
        palette: Sequence[Sequence[int]] | None = None,
        ignore_index: int = 255,
        aux_loss_weight: float = 0.4,
        val_evaluator: dict[str, Any] | list[dict[str, Any]] | None = None,
        test_evaluator: dict[str, Any] | list[dict[str, Any]] | None = None,
        optim_wrapper: dict[str, Any] | None = None,
        param_scheduler: list[dict[str, Any]] | None = None,
        train_cfg: dict[str, Any] | None = None,
        runtime: Any = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["runtime"])
        segmentor = _factory(arch)(num_classes=num_classes, **dict(arch_args or {}))
        for name, child in segmentor.named_children():  # backbone, decode_head, auxiliary_head
            self.add_module(name, child)
        self.num_classes = num_classes
        if class_names is None:
            class_names = SHAPE_CLASSES[:num_classes] if num_classes <= len(SHAPE_CLASSES) else None
        self.class_names = tuple(class_names) if class_names is not None else tuple(map(str, range(num_classes)))
        if palette is None and num_classes <= len(SHAPE_PALETTE):
            palette = SHAPE_PALETTE[:num_classes]
        self.palette = [list(c) for c in palette] if palette is not None else None
        self.ignore_index = ignore_index
        self.aux_loss_weight = aux_loss_weight
        val_cfg = DEFAULT_EVALUATOR if val_evaluator is None else val_evaluator
        self.val_evaluator: Evaluator = self._evaluator(val_cfg, "val_evaluator")
        self.test_evaluator: Evaluator = self._evaluator(
            val_cfg if test_evaluator is None else test_evaluator, "test_evaluator")
        self.optim_wrapper = optim_wrapper
        self.param_scheduler = param_scheduler
        self.train_cfg = train_cfg
        self.runtime = runtime
        self.hyper_parameter: float | None = None  # set by the demo's NewHook

    def _evaluator(self, cfg: Any, path: str) -> Evaluator:
        evaluator = build_evaluator(cfg, path=path, num_classes=self.num_classes, class_names=self.class_names)
        assert evaluator is not None
        return evaluator

    # ------------------------------------------------------------------ model
    def forward_train(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(logits, aux_logits)`` at the input resolution (``aux_logits`` None without aux head)."""
        feat = self.backbone(images)
        size = images.shape[-2:]
        logits = F.interpolate(self.decode_head(feat), size=size, mode="bilinear", align_corners=False)
        aux_head = getattr(self, "auxiliary_head", None)
        if aux_head is None:
            return logits, None
        return logits, F.interpolate(aux_head(feat), size=size, mode="bilinear", align_corners=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Per-pixel logits ``(N, num_classes, H, W)``."""
        feat = self.backbone(images)
        return F.interpolate(self.decode_head(feat), size=images.shape[-2:], mode="bilinear", align_corners=False)

    # ------------------------------------------------------------------ training
    def training_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> dict[str, torch.Tensor]:
        images, labels = batch
        logits, aux_logits = self.forward_train(images)
        loss_decode = F.cross_entropy(logits.float(), labels, ignore_index=self.ignore_index)
        out = {"decode.loss_ce": loss_decode,
               "decode.acc_seg": _accuracy(logits.detach(), labels, self.ignore_index)}
        loss = loss_decode
        if aux_logits is not None:
            loss_aux = self.aux_loss_weight * F.cross_entropy(aux_logits.float(), labels, ignore_index=self.ignore_index)
            out["aux.loss_ce"] = loss_aux
            out["aux.acc_seg"] = _accuracy(aux_logits.detach(), labels, self.ignore_index)
            loss = loss + loss_aux
        # MMSeg's log order: the total first, then the parts
        return {"loss": loss, **out}

    # ------------------------------------------------------------------ evaluation
    def _eval_step(self, batch: Sequence[torch.Tensor], evaluator: Evaluator) -> dict[str, torch.Tensor]:
        images, labels = batch[0], batch[1]
        pred = self(images).argmax(1)
        evaluator.update(pred, labels)
        return {"inputs": denormalize(images.float()), "gt": labels, "pred": pred}

    def _eval_end(self, evaluator: Evaluator) -> dict[str, float]:
        metrics = evaluator.compute()
        evaluator.reset()
        for key, value in metrics.items():
            if isinstance(value, (int, float)):
                self.log(key, float(value), prog_bar=key == "mIoU", sync_dist=False)
        return metrics

    def validation_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> dict[str, torch.Tensor]:
        return self._eval_step(batch, self.val_evaluator)

    def on_validation_epoch_end(self) -> None:
        self.last_val_metrics = self._eval_end(self.val_evaluator)

    def test_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> dict[str, torch.Tensor]:
        return self._eval_step(batch, self.test_evaluator)

    def on_test_epoch_end(self) -> None:
        self.last_test_metrics = self._eval_end(self.test_evaluator)

    def predict_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        images = batch[0] if isinstance(batch, (list, tuple)) else batch
        return self(images).argmax(1)

    # ------------------------------------------------------------------ optimizers
    def _resolve_runtime(self) -> Any:
        if self.runtime is not None:
            return self.runtime
        if self.optim_wrapper is None:
            raise ConfigError(
                "SegModule has no runtime to build its optimizer from",
                path="model.init_args",
                fix="set module.runtime = Runtime(cfg) before fitting (Runtime.fit / the CLI config's "
                    "optim_wrapper), or pass optim_wrapper=dict(optimizer=dict(type='AdamW', lr=...))",
            )
        from lightning_runtime.runtime._runtime import Runtime

        cfg: dict[str, Any] = {"optim_wrapper": self.optim_wrapper}
        if self.param_scheduler is not None:
            cfg["param_scheduler"] = self.param_scheduler
        if self.train_cfg is not None:
            cfg["train_cfg"] = self.train_cfg
        self.runtime = Runtime(cfg)
        return self.runtime

    def configure_optimizers(self) -> OptimizerConfig | OptimizerLRSchedulerConfig:
        """``runtime.configure_optimizers(self)``: optimizer + per-iteration scheduler stack."""
        return self._resolve_runtime().configure_optimizers(self)
