"""Layer decay: MMSeg 1.2.2's own constructor (run on mmengine-lite) is the reference."""

from __future__ import annotations

import copy
import logging
import sys
import types
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn as nn

import lightning_runtime.optim  # noqa: F401  (registers the built-ins)
from lightning_runtime.demo.models import VisionTransformer, tiny_convnext_segmentor, tiny_vit_segmentor
from lightning_runtime.errors import ConfigError
from lightning_runtime.optim import build_optimizer
from lightning_runtime.registry import OPTIM_WRAPPER_CONSTRUCTORS

import mmengine.optim as mmengine_optim  # noqa: E402 - the reference (a test dependency)
MMSEG_SRC = Path(sys.prefix, "lib", f"python{sys.version_info[0]}.{sys.version_info[1]}", "site-packages",
                 "mmseg", "engine", "optimizers", "layer_decay_optimizer_constructor.py")
if not MMSEG_SRC.exists():  # pragma: no cover
    pytest.skip("mmsegmentation 1.2.2 sources not installed", allow_module_level=True)
_SKIP = {"params", "param_names", "name", "fused", "foreach"}
ADAMW = dict(type="AdamW", lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05)


@pytest.fixture(autouse=True)
def _quiet() -> None:
    from mmengine.logging import MMLogger

    MMLogger.get_current_instance().setLevel(logging.ERROR)


def _exec_source(source: str, module_name: str) -> types.ModuleType:
    module = types.ModuleType(module_name)
    module.__file__ = str(MMSEG_SRC)
    exec(compile(source, str(MMSEG_SRC), "exec"), module.__dict__)
    return module


@pytest.fixture(scope="module")
def mmseg_ref() -> types.ModuleType:
    """MMSeg's module on the real mmengine base class; only ``mmseg.registry`` is stubbed."""
    stub_pkg, stub_reg = types.ModuleType("mmseg"), types.ModuleType("mmseg.registry")
    stub_reg.OPTIM_WRAPPER_CONSTRUCTORS = types.SimpleNamespace(register_module=lambda *a, **k: (lambda c: c))
    saved = {k: sys.modules.get(k) for k in ("mmseg", "mmseg.registry")}
    sys.modules.update({"mmseg": stub_pkg, "mmseg.registry": stub_reg})
    try:
        return _exec_source(MMSEG_SRC.read_text(), "mmseg_layer_decay_reference")
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


def reference(mod: types.ModuleType, model: nn.Module, cfg: dict[str, Any]) -> torch.optim.Optimizer:
    cfg = copy.deepcopy(cfg)
    ctor_cls = getattr(mod, cfg.pop("constructor"))
    paramwise = cfg.pop("paramwise_cfg")
    cfg = {"type": "OptimWrapper", "optimizer": cfg["optimizer"]}  # AmpOptimWrapper needs CUDA in MMEngine
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ctor_cls(cfg, paramwise)(model).optimizer


def per_param(opt: torch.optim.Optimizer) -> dict[int, dict[str, Any]]:
    return {id(p): {k: v for k, v in g.items() if k not in _SKIP} for g in opt.param_groups for p in g["params"]}


def assert_same(ref: torch.optim.Optimizer, ours: torch.optim.Optimizer, model: nn.Module) -> None:
    expected, got = per_param(ref), per_param(ours)
    names = {id(p): n for n, p in model.named_parameters()}
    assert set(expected) == set(got)
    for pid in expected:
        assert got[pid] == expected[pid], (names[pid], got[pid], expected[pid])


def mae_vit(depth: int = 4) -> nn.Module:
    model = tiny_vit_segmentor(depth=depth)
    model.backbone.__class__ = type("MAE", (VisionTransformer,), {"get_layer_id": None})  # MMSeg's class-name rule
    return model


def beit_vit_frozen() -> nn.Module:
    model = tiny_vit_segmentor(depth=3)
    model.backbone.__class__ = type("BEiT", (VisionTransformer,), {"get_layer_id": None})
    model.backbone.patch_embed.requires_grad_(False)
    return model


def demo_vit_with_hook() -> nn.Module:
    """The demo's VisionTransformer answers get_layer_id; MMSeg sees the class name 'MAE'."""
    model = tiny_vit_segmentor(depth=4)
    model.backbone.__class__ = type("MAE", (VisionTransformer,), {})
    return model


CASES = {
    "demo_hook_vs_mae_rule": (demo_vit_with_hook, dict(optimizer=ADAMW, paramwise_cfg=dict(num_layers=4, layer_decay_rate=0.65),
                                                       constructor="LayerDecayOptimizerConstructor")),
    "mae_config": (mae_vit, dict(optimizer=ADAMW, paramwise_cfg=dict(num_layers=4, layer_decay_rate=0.65),
                                 constructor="LayerDecayOptimizerConstructor")),
    "beit_layer_wise_frozen": (beit_vit_frozen, dict(optimizer=ADAMW, constructor="LearningRateDecayOptimizerConstructor",
                                                     paramwise_cfg=dict(num_layers=3, decay_rate=0.9, decay_type="layer_wise"))),
    "convnext_stage_wise_config": (tiny_convnext_segmentor, dict(
        type="AmpOptimWrapper", optimizer=ADAMW, loss_scale="dynamic", constructor="LearningRateDecayOptimizerConstructor",
        paramwise_cfg={"decay_rate": 0.9, "decay_type": "stage_wise", "num_layers": 6})),
    "seed_simclr_example": (tiny_convnext_segmentor, dict(
        type="AmpOptimWrapper", optimizer=dict(type="AdamW", lr=0.0001, betas=(0.9, 0.999), weight_decay=0.05),
        paramwise_cfg={"decay_rate": 0.9, "decay_type": "stage_wise", "num_layers": 12},
        constructor="LearningRateDecayOptimizerConstructor", loss_scale="dynamic")),
    "convnext_layer_wise": (lambda: tiny_convnext_segmentor(depths=(1, 2, 9, 1)), dict(
        optimizer=dict(type="SGD", lr=0.01, momentum=0.9, weight_decay=1e-4),
        constructor="LearningRateDecayOptimizerConstructor",
        paramwise_cfg=dict(num_layers=12, decay_rate=0.8, decay_type="layer_wise"))),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_builtin_matches_mmseg(mmseg_ref: types.ModuleType, case: str) -> None:
    make, cfg = CASES[case]
    torch.manual_seed(0)
    model = make()
    ours = build_optimizer(model, copy.deepcopy(cfg))
    assert_same(reference(mmseg_ref, model, cfg), ours, model)
    assert len({g["name"] for g in ours.param_groups}) == len(ours.param_groups)


def test_mmseg_source_runs_here_with_only_imports_changed(mmseg_ref: types.ModuleType, isolated_registries) -> None:
    source = MMSEG_SRC.read_text()
    for old, new in {
        "from mmengine.dist import get_dist_info": "from lightning_runtime.optim._compat import get_dist_info",
        "from mmengine.logging import print_log": "from lightning_runtime.optim._compat import print_log",
        "from mmengine.optim import DefaultOptimWrapperConstructor": "from lightning_runtime.optim import DefaultOptimWrapperConstructor",
        "from mmseg.registry import OPTIM_WRAPPER_CONSTRUCTORS": "from lightning_runtime.registry import OPTIM_WRAPPER_CONSTRUCTORS",
    }.items():
        assert old in source
        source = source.replace(old, new)
    with pytest.warns(UserWarning, match="replaces the built-in"):
        user = _exec_source(source, "user_project.layer_decay")
    assert OPTIM_WRAPPER_CONSTRUCTORS.get("LayerDecayOptimizerConstructor") is user.LayerDecayOptimizerConstructor
    for case in ("mae_config", "convnext_stage_wise_config"):
        make, cfg = CASES[case]
        model = make()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours = build_optimizer(model, copy.deepcopy(cfg))
        assert_same(reference(mmseg_ref, model, cfg), ours, model)


def by_name(opt: torch.optim.Optimizer) -> dict[str, dict[str, Any]]:
    return {n: g for g in opt.param_groups for n in g["param_names"]}


def test_pinned_vit_numbers_and_quirks() -> None:
    cfg = dict(optimizer=ADAMW, constructor="LayerDecayOptimizerConstructor",
               paramwise_cfg=dict(num_layers=4, layer_decay_rate=0.65))
    groups = by_name(build_optimizer(mae_vit(4), cfg))
    assert groups["backbone.patch_embed.projection.weight"]["lr"] == 0.65**5 * 1e-4
    assert groups["backbone.layers.0.ffn.layers.1.weight"]["lr"] == 0.65**4 * 1e-4
    assert groups["backbone.layers.3.attn.attn.in_proj_weight"]["lr"] == 0.65 * 1e-4
    assert groups["decode_head.conv_seg.weight"]["lr"] == 1e-4
    assert groups["backbone.ln1.weight"]["lr"] == 1e-4  # the final norm sits with the heads
    # quirk: MMSeg compares 'backbone.pos_embed' with 'pos_embed', so the tokens keep weight decay
    assert groups["backbone.pos_embed"]["weight_decay"] == 0.05
    assert groups["backbone.cls_token"]["weight_decay"] == 0.05
    assert groups["backbone.layers.0.ln1.weight"]["weight_decay"] == 0.0
    assert groups["backbone.pos_embed"]["name"] == "backbone.layer_0.decay"
    fixed = by_name(build_optimizer(mae_vit(4), {**cfg, "paramwise_cfg": dict(num_layers=4, layer_decay_rate=0.65, fix_quirks=True)}))
    assert fixed["backbone.pos_embed"]["weight_decay"] == 0.0
    assert fixed["backbone.layers.3.attn.attn.in_proj_weight"]["lr"] == 0.65 * 1e-4  # no gap: unchanged


def test_pinned_convnext_stage_wise_and_fix() -> None:
    cfg = dict(optimizer=ADAMW, constructor="LearningRateDecayOptimizerConstructor",
               paramwise_cfg=dict(num_layers=6, decay_rate=0.9, decay_type="stage_wise"))
    groups = by_name(build_optimizer(tiny_convnext_segmentor(), cfg))
    assert groups["backbone.stages.3.0.pointwise_conv1.weight"]["lr"] == 0.9**3 * 1e-4  # ids 5, 6 unused
    assert groups["backbone.stages.0.0.depthwise_conv.weight"]["lr"] == 0.9**6 * 1e-4
    assert groups["backbone.downsample_layers.3.1.weight"]["lr"] == 0.9**7 * 1e-4  # with the stem
    assert groups["decode_head.conv_seg.weight"]["lr"] == 1e-4
    fixed_cfg = copy.deepcopy(cfg)
    fixed_cfg["paramwise_cfg"]["fix_quirks"] = True
    fixed = by_name(build_optimizer(tiny_convnext_segmentor(), fixed_cfg))
    assert fixed["backbone.stages.3.0.pointwise_conv1.weight"]["lr"] == 0.9 * 1e-4
    assert fixed["backbone.downsample_layers.3.1.weight"]["lr"] == 0.9 * 1e-4
    assert fixed["backbone.downsample_layers.0.0.weight"]["lr"] == 0.9**5 * 1e-4


class MyBackbone(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Linear(4, 4)
        self.blocks = nn.ModuleList(nn.Linear(4, 4) for _ in range(3))

    def get_layer_id(self, name: str, num_layers: int) -> int:
        parts = name.split(".")
        if parts[1] == "stem":
            return 0
        if parts[1] == "blocks":
            return int(parts[2]) + 1
        return num_layers + 1


class MyModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = MyBackbone()
        self.head = nn.Linear(4, 2)


def my_layer_ids(name: str, num_layers: int) -> int:
    return 0 if name.startswith("backbone.stem") else num_layers + 1


def test_layer_id_hook_any_backbone_class() -> None:
    cfg = dict(optimizer=ADAMW, constructor="LearningRateDecayOptimizerConstructor",
               paramwise_cfg=dict(num_layers=3, decay_rate=0.5))
    groups = by_name(build_optimizer(MyModel(), cfg))
    assert groups["backbone.stem.weight"]["lr"] == 0.5**4 * 1e-4
    assert groups["backbone.blocks.2.weight"]["lr"] == 0.5 * 1e-4
    assert groups["head.weight"]["lr"] == 1e-4
    cfg["paramwise_cfg"]["layer_id_fn"] = f"{__name__}.my_layer_ids" if __name__ in sys.modules else my_layer_ids
    groups = by_name(build_optimizer(MyModel(), cfg))
    assert groups["backbone.blocks.2.weight"]["lr"] == 1e-4


def test_unknown_backbone_class_uses_mmseg_names_with_warning(mmseg_ref: types.ModuleType) -> None:
    cfg = dict(optimizer=ADAMW, constructor="LayerDecayOptimizerConstructor", paramwise_cfg=dict(num_layers=4, layer_decay_rate=0.65))
    plain = tiny_vit_segmentor(depth=4)  # class VisionTransformer: MMSeg raises NotImplementedError
    plain.backbone.__class__ = type("VisionTransformer", (VisionTransformer,), {"get_layer_id": None})
    with pytest.warns(UserWarning, match="VisionTransformer"):
        ours = build_optimizer(plain, cfg)
    renamed = copy.deepcopy(plain)
    renamed.backbone.__class__ = type("MAE", (VisionTransformer,), {"get_layer_id": None})
    ref = reference(mmseg_ref, renamed, cfg)
    ref_by_id = per_param(ref)
    got = by_name(ours)
    for n, p in renamed.named_parameters():
        assert {k: got[n][k] for k in ("lr", "weight_decay", "lr_scale")} == {
            k: ref_by_id[id(p)][k] for k in ("lr", "weight_decay", "lr_scale")}, n


def test_unknown_layout_and_bad_keys_are_config_errors() -> None:
    model = MyModel()
    del MyBackbone.get_layer_id  # type: ignore[attr-defined]
    try:
        with pytest.raises(ConfigError, match="does not know the layers") as err:
            build_optimizer(model, dict(optimizer=ADAMW, constructor="LearningRateDecayOptimizerConstructor",
                                        paramwise_cfg=dict(num_layers=3, decay_rate=0.5)))
        assert "get_layer_id" in str(err.value)
    finally:
        MyBackbone.get_layer_id = _hook  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="decay_rat") as err:
        build_optimizer(mae_vit(), dict(optimizer=ADAMW, constructor="LearningRateDecayOptimizerConstructor",
                                        paramwise_cfg=dict(num_layers=4, decay_rat=0.5)))
    assert "optim_wrapper.paramwise_cfg" in str(err.value)
    with pytest.raises(ConfigError, match="optim_wrapper.paramwise_cfg.decay_type"):
        build_optimizer(mae_vit(), dict(optimizer=ADAMW, constructor="LearningRateDecayOptimizerConstructor",
                                        paramwise_cfg=dict(num_layers=4, decay_rate=0.5, decay_type="block_wise")))
    with pytest.raises(ConfigError, match="weight_decay"):
        build_optimizer(mae_vit(), dict(optimizer=dict(type="AdamW", lr=1e-3), constructor="LayerDecayOptimizerConstructor",
                                        paramwise_cfg=dict(num_layers=4, layer_decay_rate=0.5)))


_hook = MyBackbone.get_layer_id


def test_warnings_collapse_and_ignored_keys() -> None:
    cfg = dict(optimizer=ADAMW, constructor="LearningRateDecayOptimizerConstructor",
               paramwise_cfg=dict(num_layers=3, decay_rate=0.5, layer_id_fn=lambda name, n: 2,
                                  custom_keys={"head": dict(lr_mult=10.0)}))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        opt = build_optimizer(MyModel(), cfg)
    text = "\n".join(str(w.message) for w in caught)
    assert "collapsed to one layer" in text and "custom_keys is ignored" in text
    assert {g["lr"] for g in opt.param_groups} == {0.5**2 * 1e-4}  # id 2 of num_layers + 1 = 4


def test_layer_decay_constructor_does_not_modify_config() -> None:
    paramwise = dict(num_layers=4, layer_decay_rate=0.65)
    cfg = dict(optimizer=ADAMW, constructor="LayerDecayOptimizerConstructor", paramwise_cfg=paramwise)
    build_optimizer(mae_vit(), cfg)
    assert paramwise == dict(num_layers=4, layer_decay_rate=0.65)


def test_demo_models_need_no_warning() -> None:
    cfg = dict(optimizer=ADAMW, constructor="LayerDecayOptimizerConstructor", paramwise_cfg=dict(num_layers=2, layer_decay_rate=0.65))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        vit = build_optimizer(tiny_vit_segmentor(depth=2), cfg)
        convnext = build_optimizer(tiny_convnext_segmentor(), {**cfg, "constructor": "LearningRateDecayOptimizerConstructor",
                                                               "paramwise_cfg": dict(num_layers=6, decay_rate=0.9, decay_type="stage_wise")})
    assert len(vit.param_groups) == 8 and len(convnext.param_groups) == 12


def test_segmentor_held_by_a_lightning_module_keeps_mmseg_names():
    # A LightningModule that holds the MMSeg-style model as `self.model` gets the same groups as the
    # model itself: names (custom_keys, layer ids) are relative to the segmentor, as in MMEngine.
    import lightning.pytorch as pl
    import torch

    from lightning_runtime.demo.models import tiny_convnext_segmentor
    from lightning_runtime.optim import build_optimizer, optimization_root

    cfg = dict(type="OptimWrapper", constructor="LearningRateDecayOptimizerConstructor",
               optimizer=dict(type="AdamW", lr=1e-3, weight_decay=0.05),
               paramwise_cfg=dict(decay_rate=0.9, decay_type="stage_wise", num_layers=4))

    class Holder(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            torch.manual_seed(0)
            self.model = tiny_convnext_segmentor()

    holder = Holder()
    assert optimization_root(holder) is holder.model
    direct = build_optimizer(holder.model, cfg)
    held = build_optimizer(holder, cfg)
    summary = lambda opt: [(g["name"], g["lr"], g["weight_decay"], g["param_names"]) for g in opt.param_groups]  # noqa: E731
    assert summary(held) == summary(direct)
    assert len({g["lr"] for g in held.param_groups}) > 2  # the stage-wise decay really applied
