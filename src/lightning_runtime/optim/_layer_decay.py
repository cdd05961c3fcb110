"""Layer-wise / stage-wise learning-rate decay: MMSegmentation 1.2.2's constructors, same numbers.

``LearningRateDecayOptimizerConstructor`` (``paramwise_cfg=dict(num_layers, decay_rate,
decay_type='layer_wise'|'stage_wise')``) and ``LayerDecayOptimizerConstructor``
(``dict(num_layers, layer_decay_rate)``, BEiT/MAE) give every trainable parameter
``lr = base_lr * decay_rate ** (num_layers + 1 - layer_id)`` and weight decay ``0`` for 1-D
parameters and biases, ``base_wd`` otherwise, exactly as MMSeg does, quirks included (see
``docs/optim.md``). Two additions:

* **Any backbone**: where MMSeg raises ``NotImplementedError`` for a backbone class whose name does
  not contain ``ConvNeXt``/``BEiT``/``MAE``, the layer id comes from, in order, ``paramwise_cfg.layer_id_fn``
  (a callable or dotted path ``fn(name, num_layers) -> int``), a ``get_layer_id(name, num_layers)``
  method on ``model.backbone`` or the model, MMSeg's class-name rule, or MMSeg's parameter-name
  layout (``backbone.layers.N`` -> ViT rule, ``backbone.stages.N`` -> ConvNeXt rule; warns).
  Layer ids: ``0`` embeddings, ``i + 1`` for block ``i``, ``num_layers + 1`` for the rest (heads).
* **``fix_quirks=True``** (opt-in): no weight decay for ``pos_embed``/``cls_token``/``mask_token``,
  stage-wise downsampling layers take the id of the stage they feed, and unused layer ids are
  squeezed out so the deepest backbone level gets ``decay_rate ** 1`` below the head.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import torch.nn as nn

from lightning_runtime.errors import ConfigError, check_keys, did_you_mean
from lightning_runtime.optim._constructor import PARAMWISE_KEYS, DefaultOptimWrapperConstructor

__all__ = [
    "LearningRateDecayOptimizerConstructor",
    "LayerDecayOptimizerConstructor",
    "get_layer_id_for_convnext",
    "get_stage_id_for_convnext",
    "get_layer_id_for_vit",
]

LAYER_DECAY_KEYS = ("num_layers", "decay_rate", "decay_type", "layer_id_fn", "fix_quirks")
_TOKENS = ("backbone.cls_token", "backbone.mask_token", "backbone.pos_embed")


def get_layer_id_for_convnext(var_name: str, max_layer_id: int) -> int:
    """MMSeg's ConvNeXt ``layer_wise`` id (``max_layer_id`` is ``num_layers``)."""
    if var_name in _TOKENS:
        return 0
    if var_name.startswith("backbone.downsample_layers"):
        stage_id = int(var_name.split(".")[2])
        return {0: 0, 1: 2, 2: 3}.get(stage_id, max_layer_id)
    if var_name.startswith("backbone.stages"):
        stage_id = int(var_name.split(".")[2])
        block_id = int(var_name.split(".")[3])
        if stage_id == 0:
            return 1
        if stage_id == 1:
            return 2
        if stage_id == 2:
            return 3 + block_id // 3
        return max_layer_id
    return max_layer_id + 1


def get_stage_id_for_convnext(var_name: str, max_stage_id: int) -> int:
    """MMSeg's ConvNeXt ``stage_wise`` id (``max_stage_id`` is ``num_layers + 2``)."""
    if var_name in _TOKENS or var_name.startswith("backbone.downsample_layers"):
        return 0
    if var_name.startswith("backbone.stages"):
        return int(var_name.split(".")[2]) + 1
    return max_stage_id - 1


def get_layer_id_for_vit(var_name: str, max_layer_id: int) -> int:
    """MMSeg's BEiT/MAE/ViT id (``max_layer_id`` is ``num_layers + 2``)."""
    if var_name in _TOKENS or var_name.startswith("backbone.patch_embed"):
        return 0
    if var_name.startswith("backbone.layers"):
        return int(var_name.split(".")[2]) + 1
    return max_layer_id - 1


def _fixed_stage_id(var_name: str, max_stage_id: int) -> int:
    if var_name.startswith("backbone.downsample_layers"):
        stage_id = int(var_name.split(".")[2])
        return 0 if stage_id == 0 else stage_id + 1
    return get_stage_id_for_convnext(var_name, max_stage_id)


def _import_callable(spec: Any, path: str) -> Callable[[str, int], int]:
    """``layer_id_fn``: a callable, or the dotted path of the user's own ``fn(name, num_layers) -> int``.

    Functions of the standard library or installed packages (``shutil.rmtree``, ``torch.save``),
    builtins and classes are refused before anything is called (see
    :func:`~lightning_runtime.registry.resolve_function`); this module's own layer-id rules are allowed.
    """
    from lightning_runtime.registry import resolve_function

    return resolve_function(
        spec, path=path, what="fn(name, num_layers) -> int", nargs=2,
        allowed=(get_layer_id_for_convnext, get_stage_id_for_convnext, get_layer_id_for_vit),
        example="my_pkg.layer_ids.get_layer_id",
    )


class LearningRateDecayOptimizerConstructor(DefaultOptimWrapperConstructor):
    """Different learning rates for different backbone layers (MMSeg 1.2.2's numbers).

    Args:
        optim_wrapper_cfg: The ``optim_wrapper`` config (with ``optimizer``).
        paramwise_cfg: ``num_layers`` (int), ``decay_rate`` (float), ``decay_type``
            (``'layer_wise'`` or ``'stage_wise'``), optional ``layer_id_fn`` and ``fix_quirks``.

    Example:
        >>> from lightning_runtime.demo.models import tiny_convnext_segmentor
        >>> ctor = LearningRateDecayOptimizerConstructor(
        ...     dict(optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.05)),
        ...     dict(decay_rate=0.9, decay_type='stage_wise', num_layers=6))
        >>> opt = ctor(tiny_convnext_segmentor())
        >>> [g['name'] for g in opt.param_groups][:3]
        ['backbone.layer_0.decay', 'backbone.layer_0.no_decay', 'backbone.layer_1.no_decay']
    """

    def _validate_cfg(self) -> None:
        cfg = self.paramwise_cfg
        if not isinstance(cfg, dict):
            raise ConfigError(f"must be a dict, got {type(cfg).__name__}", path="paramwise_cfg",
                              fix="write paramwise_cfg=dict(num_layers=12, decay_rate=0.9, decay_type='layer_wise')")
        ignored = [key for key in cfg if key not in LAYER_DECAY_KEYS and key in PARAMWISE_KEYS]
        if not self._reads_own_keys(LearningRateDecayOptimizerConstructor):  # else a subclass reads its own keys
            check_keys({k: v for k, v in cfg.items() if k not in ignored}, LAYER_DECAY_KEYS, "paramwise_cfg",
                       what="layer-decay key")
        for key in ignored:
            warnings.warn(
                f"paramwise_cfg.{key} is ignored by {type(self).__name__} (as in MMSegmentation); "
                "layer decay sets lr and weight decay of every parameter itself",
                UserWarning,
                stacklevel=4,
            )
        num_layers = cfg.get("num_layers")
        if isinstance(num_layers, bool) or not isinstance(num_layers, int) or num_layers < 1:
            raise ConfigError(
                f"must be an int >= 1, got {num_layers!r}",
                path="paramwise_cfg.num_layers",
                fix="set num_layers to the backbone depth, e.g. num_layers=12 for ViT-B",
            )
        rate = cfg.get("decay_rate")
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or rate <= 0:
            raise ConfigError(f"must be a number > 0, got {rate!r}", path="paramwise_cfg.decay_rate",
                              fix="e.g. decay_rate=0.9")
        decay_type = cfg.get("decay_type", "layer_wise")
        if not isinstance(decay_type, str) or not ("layer_wise" in decay_type or decay_type == "stage_wise"):
            raise ConfigError(
                f"must be 'layer_wise' or 'stage_wise', got {decay_type!r}",
                path="paramwise_cfg.decay_type",
                candidates=did_you_mean(str(decay_type), ["layer_wise", "stage_wise"]),
                fix="write decay_type='layer_wise' (the default) or 'stage_wise'",
            )
        if cfg.get("layer_id_fn") is not None:  # resolved (never called) up front
            _import_callable(cfg["layer_id_fn"], "paramwise_cfg.layer_id_fn")
        if self.base_lr is None:
            raise ConfigError("layer decay needs a base lr", path="optimizer.lr", fix="add lr=... to the optimizer")
        if self.base_wd is None:
            raise ConfigError(
                "layer decay needs a base weight decay (MMSeg would put weight_decay=None into the groups)",
                path="optimizer.weight_decay",
                fix="add weight_decay=... to the optimizer (0 for none)",
            )

    # ------------------------------------------------------------------ layer ids
    def _layer_id_function(self, model: nn.Module) -> Callable[[str], int]:
        cfg = self.paramwise_cfg
        n = cfg["num_layers"]
        decay_type = cfg.get("decay_type", "layer_wise")
        fix = bool(cfg.get("fix_quirks", False))
        if cfg.get("layer_id_fn") is not None:
            fn = _import_callable(cfg["layer_id_fn"], "paramwise_cfg.layer_id_fn")
            return lambda name: fn(name, n)
        backbone = getattr(model, "backbone", None)
        for owner in (backbone, model):
            hook = getattr(owner, "get_layer_id", None) if owner is not None else None
            if callable(hook):
                return lambda name: hook(name, n)
        if backbone is None:
            raise ConfigError(
                f"layer decay needs the model's layers, but {type(model).__name__} has no `backbone` "
                "attribute and no get_layer_id method",
                path="paramwise_cfg",
                fix="add get_layer_id(self, name, num_layers) -> int to the model, or set "
                "paramwise_cfg.layer_id_fn='my_pkg.module.fn'",
            )
        cls_name = type(backbone).__name__
        stage_fn = _fixed_stage_id if fix else get_stage_id_for_convnext
        if "layer_wise" in decay_type:
            if "ConvNeXt" in cls_name:
                return lambda name: get_layer_id_for_convnext(name, n)
            if "BEiT" in cls_name or "MAE" in cls_name:
                return lambda name: get_layer_id_for_vit(name, n + 2)
        elif "ConvNeXt" in cls_name:
            return lambda name: stage_fn(name, n + 2)
        names = [name for name, _ in model.named_parameters()]
        if "layer_wise" in decay_type and any(x.startswith("backbone.layers.") for x in names):
            scheme, fn2 = "ViT (backbone.layers.N)", (lambda name: get_layer_id_for_vit(name, n + 2))
        elif any(x.startswith("backbone.stages.") for x in names):
            if "layer_wise" in decay_type:
                scheme, fn2 = "ConvNeXt (backbone.stages.N.M)", (lambda name: get_layer_id_for_convnext(name, n))
            else:
                scheme, fn2 = "ConvNeXt stages (backbone.stages.N)", (lambda name: stage_fn(name, n + 2))
        else:
            raise ConfigError(
                f"{decay_type} decay does not know the layers of backbone {cls_name!r} "
                "(MMSeg supports class names containing ConvNeXt, BEiT or MAE)",
                path="paramwise_cfg.decay_type",
                fix="add get_layer_id(self, name, num_layers) -> int to the backbone (0 = embeddings, "
                "i + 1 = block i, num_layers + 1 = heads), or set paramwise_cfg.layer_id_fn",
            )
        warnings.warn(
            f"backbone class {cls_name!r} is not one MMSeg's layer decay recognises (it would raise "
            f"NotImplementedError); layer ids follow the {scheme} parameter names",
            UserWarning,
            stacklevel=5,
        )
        return fn2

    def _no_decay(self, name: str, param: Any) -> bool:
        if len(param.shape) == 1 or name.endswith(".bias") or name in ("pos_embed", "cls_token"):
            return True  # MMSeg compares full names with bare ones: pos_embed keeps its decay
        if self.paramwise_cfg.get("fix_quirks", False):
            return name.rpartition(".")[2] in ("pos_embed", "cls_token", "mask_token")
        return False

    def add_params(
        self, params: list[dict], module: nn.Module, prefix: str = "", is_dcn_module: int | float | None = None,
        **kwargs: Any,
    ) -> None:
        """Append one group per (layer id, decay / no_decay), MMSeg's order and keys (``prefix`` and
        ``is_dcn_module``, the base class's recursion arguments, are unused, as in MMSeg)."""
        num_layers = self.paramwise_cfg["num_layers"] + 2
        decay_rate = self.paramwise_cfg["decay_rate"]
        fix = bool(self.paramwise_cfg.get("fix_quirks", False))
        layer_id_of = self._layer_id_function(module)
        rows = []
        for name, param in module.named_parameters():
            if not param.requires_grad:
                continue
            layer_id = layer_id_of(name)
            if isinstance(layer_id, bool) or not isinstance(layer_id, int):
                raise ConfigError(f"the layer id of {name!r} must be an int, got {layer_id!r}", path="paramwise_cfg",
                                  fix="make the layer-id function return an int for every parameter name")
            rows.append((name, param, layer_id, self._no_decay(name, param)))
        ids = sorted({row[2] for row in rows})
        if len(ids) == 1 and rows:
            warnings.warn(
                f"layer decay collapsed to one layer: all {len(rows)} trainable parameters got layer id "
                f"{ids[0]}, so decay_rate has no effect; check the backbone's parameter names or the layer-id function",
                UserWarning,
                stacklevel=3,
            )
        rank = {layer_id: i for i, layer_id in enumerate(ids)}
        groups: dict[str, dict[str, Any]] = {}
        for name, param, layer_id, no_decay in rows:
            if fix:
                layer_id = rank[layer_id]
            group_name = f"layer_{layer_id}_{'no_decay' if no_decay else 'decay'}"
            if group_name not in groups:
                exponent = (len(ids) - 1 - layer_id) if fix else (num_layers - layer_id - 1)
                scale = decay_rate**exponent
                groups[group_name] = {
                    "weight_decay": 0.0 if no_decay else self.base_wd,
                    "params": [],
                    "param_names": [],
                    "lr_scale": scale,
                    "group_name": group_name,
                    "lr": scale * self.base_lr,
                }
            groups[group_name]["params"].append(param)
            groups[group_name]["param_names"].append(name)
        params.extend(groups.values())


class LayerDecayOptimizerConstructor(LearningRateDecayOptimizerConstructor):
    """MMSeg's BEiT/MAE constructor: ``paramwise_cfg=dict(num_layers, layer_decay_rate)``.

    Same as :class:`LearningRateDecayOptimizerConstructor` with ``decay_type='layer_wise_vit'`` and
    ``decay_rate=layer_decay_rate``. Unlike MMSeg, the given ``paramwise_cfg`` is not modified and
    ``decay_rate`` is accepted in place of ``layer_decay_rate``.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: dict | None = None) -> None:
        cfg = dict(paramwise_cfg or {})
        cfg["decay_type"] = "layer_wise_vit"
        if "layer_decay_rate" in cfg:
            cfg["decay_rate"] = cfg.pop("layer_decay_rate")
        elif "decay_rate" not in cfg:
            raise ConfigError(
                "LayerDecayOptimizerConstructor needs layer_decay_rate",
                path="paramwise_cfg.layer_decay_rate",
                fix="e.g. paramwise_cfg=dict(num_layers=12, layer_decay_rate=0.9)",
            )
        super().__init__(optim_wrapper_cfg, cfg)
