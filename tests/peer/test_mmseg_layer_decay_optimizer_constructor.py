"""MMSegmentation's layer-decay constructor tests, translated to this package's API.

Source: open-mmlab/mmsegmentation, ``tests/test_engine/test_layer_decay_optimizer_constructor.py``
(commit c746a865, the 1.x test; commit d0fb6cc8 differs only in how it registers MMSeg's modules).
Every expected value (weight decay, ``lr_scale`` and ``lr`` of each param group, in order) is
MMSeg's, unchanged. Translated: ``build_optim_wrapper(model, cfg).optimizer`` is
``build_optimizer(model, cfg)``; ``mmcv.cnn.ConvModule(3, 4, kernel_size=1, bias=True)`` (mmcv is
not a dependency) is a stand-in with the same parameters and names (``conv.weight``,
``conv.bias``) and the same ReLU.

Every test is translated and passes. The one changed expectation is the error type: for
``ToyViT`` (a backbone class MMSeg's rule does not know, with no parameters to read a layout from)
MMSeg raises ``NotImplementedError``; here it is a ``ConfigError`` at ``paramwise_cfg.decay_type``
that says how to give the layer ids (``get_layer_id`` on the backbone, or ``layer_id_fn``).
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn as nn

from lightning_runtime.errors import ConfigError
from lightning_runtime.optim import LearningRateDecayOptimizerConstructor, build_optimizer

BASE_LR = 1
DECAY_RATE = 2
BASE_WD = 0.05


def _expected(pairs: list[tuple[float, int]]) -> list[dict[str, float]]:
    return [{"weight_decay": wd, "lr_scale": scale} for wd, scale in pairs]


EXPECTED_STAGE_WISE_LR_WD_CONVNEXT = _expected([
    (0.0, 128), (0.0, 1), (0.05, 64), (0.0, 64), (0.05, 32), (0.0, 32), (0.05, 16), (0.0, 16), (0.05, 8), (0.0, 8),
    (0.05, 128), (0.05, 1),
])
EXPECTED_LAYER_WISE_LR_WD_CONVNEXT = _expected([
    (0.0, 128), (0.0, 1), (0.05, 64), (0.0, 64), (0.05, 32), (0.0, 32), (0.05, 16), (0.0, 16), (0.05, 2), (0.0, 2),
    (0.05, 128), (0.05, 1),
])
EXPECTED_LAYER_WISE_WD_LR_BEIT = _expected([
    (0.0, 16), (0.05, 8), (0.0, 8), (0.05, 4), (0.0, 4), (0.05, 2), (0.0, 2), (0.05, 1), (0.0, 1),
])


class ConvModule(nn.Module):
    """``mmcv.cnn.ConvModule(in, out, kernel_size, bias=True)`` without a norm: conv then ReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, bias=bias)
        self.activate = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activate(self.conv(x))


class ToyConvNeXt(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stages = nn.ModuleList()
        for _ in range(4):
            self.stages.append(nn.Sequential(ConvModule(3, 4, kernel_size=1, bias=True)))
        self.norm0 = nn.BatchNorm2d(2)
        # add some variables to meet unit test coverate rate
        self.cls_token = nn.Parameter(torch.ones(1))
        self.mask_token = nn.Parameter(torch.ones(1))
        self.pos_embed = nn.Parameter(torch.ones(1))
        self.stem_norm = nn.Parameter(torch.ones(1))
        self.downsample_norm0 = nn.BatchNorm2d(2)
        self.downsample_norm1 = nn.BatchNorm2d(2)
        self.downsample_norm2 = nn.BatchNorm2d(2)
        self.lin = nn.Parameter(torch.ones(1))
        self.lin.requires_grad = False
        self.downsample_layers = nn.ModuleList()
        for _ in range(4):
            self.downsample_layers.append(nn.Sequential(nn.Conv2d(3, 4, kernel_size=1, bias=True)))


class ToyBEiT(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.cls_token = nn.Parameter(torch.ones(1))
        self.patch_embed = nn.Parameter(torch.ones(1))
        self.layers = nn.ModuleList()
        for _ in range(3):
            self.layers.append(nn.Conv2d(3, 3, 1))


class ToyMAE(nn.Module):
    """ToyBEiT under another name: MMSeg's layer-id rule reads the backbone's class name."""

    def __init__(self) -> None:
        super().__init__()
        self.cls_token = nn.Parameter(torch.ones(1))
        self.patch_embed = nn.Parameter(torch.ones(1))
        self.layers = nn.ModuleList()
        for _ in range(3):
            self.layers.append(nn.Conv2d(3, 3, 1))


class ToySegmentor(nn.Module):
    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.decode_head = nn.Conv2d(2, 2, kernel_size=1, groups=2)


class PseudoDataParallel(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.module = model


class ToyViT(nn.Module):
    def __init__(self) -> None:
        super().__init__()


OPTIMIZER_CFG = dict(type="AdamW", lr=BASE_LR, betas=(0.9, 0.999), weight_decay=0.05)


def check_optimizer_lr_wd(optimizer: torch.optim.Optimizer, gt_lr_wd: list[dict[str, float]]) -> None:
    assert isinstance(optimizer, torch.optim.AdamW)
    assert optimizer.defaults["lr"] == BASE_LR
    assert optimizer.defaults["weight_decay"] == BASE_WD
    param_groups = optimizer.param_groups
    assert len(param_groups) == len(gt_lr_wd)
    for i, param_dict in enumerate(param_groups):
        assert param_dict["weight_decay"] == gt_lr_wd[i]["weight_decay"]
        assert param_dict["lr_scale"] == gt_lr_wd[i]["lr_scale"]
        assert param_dict["lr_scale"] == param_dict["lr"]


def _cfg(paramwise_cfg: dict[str, Any], constructor: str = "LearningRateDecayOptimizerConstructor") -> dict[str, Any]:
    return dict(type="OptimWrapper", optimizer=OPTIMIZER_CFG, paramwise_cfg=paramwise_cfg, constructor=constructor)


def test_learning_rate_decay_optimizer_constructor_convnext() -> None:
    model = PseudoDataParallel(ToySegmentor(ToyConvNeXt()))
    stagewise = dict(decay_rate=DECAY_RATE, decay_type="stage_wise", num_layers=6)
    check_optimizer_lr_wd(build_optimizer(model, _cfg(stagewise)), EXPECTED_STAGE_WISE_LR_WD_CONVNEXT)
    layerwise = dict(decay_rate=DECAY_RATE, decay_type="layer_wise", num_layers=6)
    check_optimizer_lr_wd(build_optimizer(model, _cfg(layerwise)), EXPECTED_LAYER_WISE_LR_WD_CONVNEXT)


@pytest.mark.parametrize("backbone", [ToyBEiT, ToyMAE])
def test_learning_rate_decay_optimizer_constructor_beit_mae(backbone: type[nn.Module]) -> None:
    model = PseudoDataParallel(ToySegmentor(backbone()))
    layerwise = dict(decay_rate=DECAY_RATE, decay_type="layer_wise", num_layers=3)
    check_optimizer_lr_wd(build_optimizer(model, _cfg(layerwise)), EXPECTED_LAYER_WISE_WD_LR_BEIT)


def test_learning_rate_decay_optimizer_constructor_vit_not_implemented() -> None:
    model = PseudoDataParallel(ToySegmentor(ToyViT()))
    for paramwise_cfg in (dict(decay_rate=DECAY_RATE, decay_type="layer_wise", num_layers=3),
                          dict(decay_rate=DECAY_RATE, decay_type="stage_wise", num_layers=6)):
        with pytest.raises(ConfigError, match="does not know the layers of backbone 'ToyViT'") as err:
            LearningRateDecayOptimizerConstructor(_cfg(paramwise_cfg), paramwise_cfg)(model)
        assert err.value.path == "paramwise_cfg.decay_type"
        assert "layer_id_fn" in str(err.value)


def test_beit_layer_decay_optimizer_constructor() -> None:
    model = PseudoDataParallel(ToySegmentor(ToyBEiT()))
    cfg = dict(type="OptimWrapper", constructor="LayerDecayOptimizerConstructor",
               paramwise_cfg=dict(layer_decay_rate=2, num_layers=3),
               optimizer=dict(type="AdamW", lr=1, betas=(0.9, 0.999), weight_decay=0.05))
    check_optimizer_lr_wd(build_optimizer(model, cfg), EXPECTED_LAYER_WISE_WD_LR_BEIT)
