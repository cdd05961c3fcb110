"""optim_wrapper validation (parse_optim_wrapper), optimizer resolution, errors and warnings."""

from __future__ import annotations

import sys
import types
import warnings
from typing import Any

import pytest
import torch
import torch.nn as nn
from torch.optim import Optimizer

from lightning_runtime.demo.models import tiny_vit_segmentor
from lightning_runtime.errors import ConfigError
from lightning_runtime.optim import (
    AmpOptimWrapper,
    DefaultOptimWrapperConstructor,
    OptimWrapper,
    OptimWrapperSpec,
    build_optimizer,
    parse_optim_wrapper,
)
from lightning_runtime.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS, OPTIMIZERS

SGD = dict(type="SGD", lr=0.01, momentum=0.9, weight_decay=0.0005)


def test_registries_hold_torch_optimizers_constructors_and_wrappers() -> None:
    for name in ("SGD", "AdamW", "Adam", "RMSprop", "Adagrad", "NAdam", "RAdam", "LBFGS", "Rprop"):
        assert OPTIMIZERS.get(name) is getattr(torch.optim, name)
    for name in ("DefaultOptimWrapperConstructor", "LearningRateDecayOptimizerConstructor", "LayerDecayOptimizerConstructor"):
        assert name in OPTIM_WRAPPER_CONSTRUCTORS
    assert OPTIM_WRAPPERS.get("AmpOptimWrapper") is AmpOptimWrapper and OPTIM_WRAPPERS.get("OptimWrapper") is OptimWrapper


def test_spec_of_seed_examples() -> None:
    spec = parse_optim_wrapper(dict(type="AmpOptimWrapper", optimizer=dict(type="AdamW", lr=1e-4), loss_scale="dynamic",
                                    constructor="LearningRateDecayOptimizerConstructor",
                                    paramwise_cfg={"decay_rate": 0.9, "decay_type": "stage_wise", "num_layers": 12}))
    assert isinstance(spec, OptimWrapperSpec)
    assert (spec.type, spec.amp, spec.dtype, spec.loss_scale, spec.clip_grad, spec.accumulative_counts) == (
        "AmpOptimWrapper", True, None, "dynamic", None, 1)
    assert spec.constructor == "LearningRateDecayOptimizerConstructor" and spec.paramwise_cfg["num_layers"] == 12
    plain = parse_optim_wrapper(dict(optimizer=SGD, grad_clip=dict(max_norm=1, norm_type=2), accumulative_counts=4))
    assert (plain.type, plain.amp, plain.loss_scale) == ("OptimWrapper", False, None)
    assert plain.clip_grad == {"max_norm": 1, "norm_type": 2} and plain.accumulative_counts == 4
    value = parse_optim_wrapper(dict(optimizer=SGD, clip_grad=dict(type="value", clip_value=0.5)))
    assert value.clip_grad == {"type": "value", "clip_value": 0.5}
    bf16 = parse_optim_wrapper(dict(type="mmengine.AmpOptimWrapper", optimizer=SGD, dtype="bfloat16", loss_scale=512.0))
    assert (bf16.dtype, bf16.loss_scale) == ("bfloat16", 512.0)
    assert parse_optim_wrapper(dict(type="AmpOptimWrapper", optimizer=SGD, dtype=torch.float16,
                                    loss_scale=dict(init_scale=2.0**10))).loss_scale == {"init_scale": 1024.0}
    with pytest.raises(Exception):
        spec.amp = False  # frozen


def test_seed_grad_clip_snippet_after_delete_says_what_happened() -> None:
    with pytest.raises(ConfigError) as err:
        parse_optim_wrapper(dict(_delete_=True, type="OptimWrapper", grad_clip=dict(max_norm=1, norm_type=2)))
    text = str(err.value)
    assert text.startswith("optim_wrapper: has no 'optimizer'") and "_delete_=True" in text
    assert "optim_wrapper = dict(clip_grad=dict(_delete_=True, max_norm=1, norm_type=2))" in text
    with pytest.raises(ConfigError, match="has no 'optimizer'"):
        build_optimizer(nn.Linear(2, 2), dict(type="OptimWrapper", grad_clip=dict(max_norm=1, norm_type=2)))


@pytest.mark.parametrize(
    "cfg, path, words",
    [
        (dict(optimizer=SGD, clip_gard=dict(max_norm=1)), "optim_wrapper.clip_gard", "'clip_grad'"),
        (dict(type="ApexOptimWrapper", optimizer=SGD), "optim_wrapper.type", "AmpOptimWrapper"),
        (dict(type="DeepSpeedOptimWrapper", optimizer=SGD), "optim_wrapper.type", "strategy"),
        (dict(type="AmpOptimWraper", optimizer=SGD), "optim_wrapper.type", "'AmpOptimWrapper'"),
        (dict(optimizer=SGD, loss_scale="dynamic"), "optim_wrapper.loss_scale", "AmpOptimWrapper"),
        (dict(type="AmpOptimWrapper", optimizer=SGD, dtype="float32"), "optim_wrapper.dtype", "bfloat16"),
        (dict(type="AmpOptimWrapper", optimizer=SGD, loss_scale="auto"), "optim_wrapper.loss_scale", "dynamic"),
        (dict(type="AmpOptimWrapper", optimizer=SGD, loss_scale=dict(init_scal=2.0)), "optim_wrapper.loss_scale.init_scal", "init_scale"),
        (dict(optimizer=SGD, clip_grad=dict(max_norm=1), grad_clip=dict(max_norm=1)), "optim_wrapper.grad_clip", "both"),
        (dict(optimizer=SGD, clip_grad=dict(type="norm", norm_type=2)), "optim_wrapper.clip_grad", "max_norm"),
        (dict(optimizer=SGD, clip_grad=dict(max_norm=1, norm_typ=2)), "optim_wrapper.clip_grad.norm_typ", "norm_type"),
        (dict(optimizer=SGD, accumulative_counts=0), "optim_wrapper.accumulative_counts", ">= 1"),
        (dict(optimizer="SGD"), "optim_wrapper.optimizer", "type"),
    ],
)
def test_spec_errors(cfg: dict[str, Any], path: str, words: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_optim_wrapper(cfg)
    assert err.value.path == path and words in str(err.value)


@pytest.mark.parametrize(
    "cfg, path, words",
    [
        (dict(optimizer=dict(type="SGD", lrr=0.1)), "optim_wrapper.optimizer.lrr", "'lr'"),
        (dict(optimizer=dict(type="AdamWW", lr=0.1)), "optim_wrapper.optimizer.type", "'AdamW'"),
        (dict(optimizer=SGD, paramwise_cfg=dict(bias_decay_mul=0.0)), "optim_wrapper.paramwise_cfg.bias_decay_mul", "'bias_decay_mult'"),
        (dict(optimizer=SGD, paramwise_cfg=dict(num_layers=12, decay_rate=0.9)), "optim_wrapper.paramwise_cfg.num_layers",
         "LearningRateDecayOptimizerConstructor"),
        (dict(optimizer=dict(type="SGD", lr=0.1), paramwise_cfg=dict(norm_decay_mult=0.0)), "optim_wrapper.paramwise_cfg.norm_decay_mult",
         "weight_decay"),
        (dict(optimizer=SGD, constructor="MyConstructr"), "optim_wrapper.constructor", "unknown"),
    ],
)
def test_build_errors(cfg: dict[str, Any], path: str, words: str) -> None:
    with pytest.raises(ConfigError) as err:
        build_optimizer(tiny_vit_segmentor(depth=1), cfg)
    assert err.value.path == path and words in str(err.value)


def test_shared_parameter_without_bypass_duplicate_is_an_error() -> None:
    model = tiny_vit_segmentor(depth=1)
    model.auxiliary_head.conv_seg = model.decode_head.conv_seg
    with pytest.raises(ConfigError, match="bypass_duplicate=True") as err:
        build_optimizer(model, dict(optimizer=SGD, paramwise_cfg=dict(bias_lr_mult=2.0)))
    assert "decode_head.conv_seg" in str(err.value)
    opt = build_optimizer(model, dict(optimizer=SGD, paramwise_cfg=dict(bias_lr_mult=2.0, bypass_duplicate=True)))
    assert sum(len(g["params"]) for g in opt.param_groups) == len(list(model.parameters()))


def test_custom_key_warnings() -> None:
    cfg = dict(optimizer=SGD, paramwise_cfg=dict(custom_keys={
        "head": dict(lr_mult=10.0), "pos_embd": dict(decay_mult=0.0), "backbone": dict(lr_mult=0.1), "backbone.": dict(lr_mult=0.2)}))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build_optimizer(tiny_vit_segmentor(depth=1), cfg)
    text = [str(w.message) for w in caught]
    assert any("['pos_embd'] matches no trainable parameter" in t for t in text)
    assert any("['head'] matches parameters of 2 top-level modules (auxiliary_head, decode_head)" in t for t in text)
    assert any("['backbone'] has no effect" in t for t in text)
    assert len(text) == 3


def test_user_optimizer_by_registry_and_dotted_path(isolated_registries) -> None:
    mod = types.ModuleType("my_optim_pkg")

    class MyOptimizer(Optimizer):
        def __init__(self, params: Any, a: float, b: float = 1.0, c: float = 2.0) -> None:
            super().__init__(params, dict(lr=a, b=b, c=c))

        def step(self, closure: Any = None) -> None:
            return None

    MyOptimizer.__module__ = "my_optim_pkg"
    mod.MyOptimizer = MyOptimizer
    sys.modules["my_optim_pkg"] = mod
    try:
        opt = build_optimizer(nn.Linear(2, 2), dict(optimizer=dict(type="my_optim_pkg.MyOptimizer", a=0.5, c=3.0)))
        assert isinstance(opt, MyOptimizer) and opt.param_groups[0]["c"] == 3.0
        with pytest.raises(ConfigError, match="needs argument 'a'"):
            build_optimizer(nn.Linear(2, 2), dict(optimizer=dict(type="my_optim_pkg.MyOptimizer")))
        OPTIMIZERS.register_module(module=MyOptimizer)
        opt = build_optimizer(nn.Linear(2, 2), dict(optimizer=dict(type="MyOptimizer", a=0.5, b=0.1),
                                                    paramwise_cfg=dict(bypass_duplicate=True)))
        assert [g["name"] for g in opt.param_groups] == ["base"] and opt.param_groups[0]["b"] == 0.1
        with pytest.raises(ConfigError, match="no lr"):  # MMEngine: TypeError (None * 2.0)
            build_optimizer(nn.Linear(2, 2), dict(optimizer=dict(type="MyOptimizer", a=0.5), paramwise_cfg=dict(bias_lr_mult=2.0)))
        assert "fused" not in opt.defaults  # user optimizers are left as they are
    finally:
        sys.modules.pop("my_optim_pkg", None)


class SeedTemplateConstructor(DefaultOptimWrapperConstructor):
    """The seed's template: overrides __init__ and __call__, ends with an MMEngine-style wrapper."""

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: dict | None = None) -> None:
        super().__init__(optim_wrapper_cfg, paramwise_cfg)

    def __call__(self, model: nn.Module) -> Any:
        optimizer = OPTIMIZERS.build(dict(self.optimizer_cfg, params=[
            {"params": [p for n, p in model.named_parameters() if "head" not in n]},
            {"params": [p for n, p in model.named_parameters() if "head" in n], "lr": self.base_lr * 10}]))
        return OPTIM_WRAPPERS.build(self.optim_wrapper_cfg, default_args=dict(optimizer=optimizer))


class ForgetfulConstructor(DefaultOptimWrapperConstructor):
    def add_params(self, params: list[dict], module: nn.Module, prefix: str = "", **kwargs: Any) -> None:
        params.append({"params": list(module.backbone.parameters())})


def test_user_constructors(isolated_registries) -> None:
    OPTIM_WRAPPER_CONSTRUCTORS.register_module(module=SeedTemplateConstructor, force=True)
    model = tiny_vit_segmentor(depth=1)
    opt = build_optimizer(model, dict(type="OptimWrapper", optimizer=SGD, constructor="SeedTemplateConstructor",
                                      clip_grad=dict(max_norm=1.0), accumulative_counts=2))
    assert [g["lr"] for g in opt.param_groups] == [0.01, 0.1]
    assert [g["name"] for g in opt.param_groups] == ["backbone", "lr_x10"]
    with pytest.raises(ConfigError, match="left 10 trainable parameter") as err:
        build_optimizer(model, dict(optimizer=SGD, constructor=ForgetfulConstructor, paramwise_cfg=dict(x=1)))
    assert err.value.path == "optim_wrapper.constructor"


def test_group_names_are_readable_and_unique() -> None:
    model = tiny_vit_segmentor(depth=2)
    opt = build_optimizer(model, dict(optimizer=dict(type="AdamW", lr=1e-3, weight_decay=0.05), paramwise_cfg=dict(
        custom_keys={"backbone.pos_embed": dict(decay_mult=0.0), "decode_head": dict(lr_mult=10.0)}, norm_decay_mult=0.0)))
    names = [g["name"] for g in opt.param_groups]
    assert names == ["base", "backbone.pos_embed.no_decay", "no_decay", "decode_head.lr_x10"]
    assert opt.param_groups[1]["param_names"] == ["backbone.pos_embed"]


@pytest.mark.parametrize(
    "extra, expected",
    [
        (dict(clip_grad=None, grad_clip=dict(max_norm=1, norm_type=2)), {"max_norm": 1, "norm_type": 2}),
        (dict(clip_grad=dict(max_norm=3), grad_clip=None), {"max_norm": 3, "norm_type": 2.0}),
        (dict(clip_grad=None, grad_clip=None), None),
    ],
)
def test_none_clip_grad_counts_as_absent(extra: dict[str, Any], expected: Any) -> None:
    """MMSeg's base schedules say clip_grad=None; the seed's grad_clip alias must still work on them."""
    cfg = dict(type="OptimWrapper", optimizer=SGD, **extra)
    assert parse_optim_wrapper(cfg).clip_grad == expected
    assert isinstance(build_optimizer(nn.Linear(2, 2), cfg), torch.optim.SGD)


def test_delete_error_fix_loads_and_builds_on_an_mmseg_base(tmp_path: Any) -> None:
    """The first fix the `_delete_` error suggests must load on MMSeg's bases (clip_grad=None there)."""
    import re
    from pathlib import Path

    import sysconfig

    from lightning_runtime.config import load_config

    with pytest.raises(ConfigError) as err:
        parse_optim_wrapper(dict(_delete_=True, type="OptimWrapper", grad_clip=dict(max_norm=1, norm_type=2)))
    fix = re.search(r"optim_wrapper = dict\(clip_grad=dict\(.*?\)\)", str(err.value))
    assert fix is not None and fix.group(0) == "optim_wrapper = dict(clip_grad=dict(_delete_=True, max_norm=1, norm_type=2))"
    base = Path(sysconfig.get_paths()["purelib"]) / "mmseg/.mim/configs/_base_/schedules/schedule_160k.py"
    child = tmp_path / "child.py"
    child.write_text(f"_base_ = [{str(base)!r}]\n{fix.group(0)}\n")
    cfg = load_config(str(child))
    assert dict(cfg.optim_wrapper.clip_grad) == {"max_norm": 1, "norm_type": 2}
    assert parse_optim_wrapper(cfg.optim_wrapper).clip_grad == {"max_norm": 1, "norm_type": 2}
    opt = build_optimizer(nn.Linear(2, 2), cfg.optim_wrapper)
    assert isinstance(opt, torch.optim.SGD) and opt.param_groups[0]["lr"] == 0.01
    # without the inner _delete_ the merge fails (as in MMEngine), which is why the fix carries it
    child.write_text(f"_base_ = [{str(base)!r}]\noptim_wrapper = dict(clip_grad=dict(max_norm=1, norm_type=2))\n")
    with pytest.raises(Exception, match="None"):
        load_config(str(child))


@pytest.mark.parametrize(
    "optimizer, path, fix",
    [
        (dict(type="SGD", lr="0.01"), "optim_wrapper.optimizer.lr", "write lr=0.01"),
        (dict(type="SGD", lr=0.01, momentum="0.9"), "optim_wrapper.optimizer.momentum", "write momentum=0.9"),
        (dict(type="SGD", lr=0.01, weight_decay="5e-4"), "optim_wrapper.optimizer.weight_decay", "write weight_decay=0.0005"),
        (dict(type="AdamW", lr=1e-4, eps="tiny"), "optim_wrapper.optimizer.eps", "eps=1e-08"),
        (dict(type="AdamW", lr=1e-4, betas=(0.9, "0.999")), "optim_wrapper.optimizer.betas", "betas=(0.9, 0.999)"),
        (dict(type="AdamW", lr=1e-4, betas=0.9), "optim_wrapper.optimizer.betas", "betas=(0.9, 0.999)"),
    ],
)
def test_numeric_hyperparameters_are_type_checked(optimizer: dict[str, Any], path: str, fix: str) -> None:
    with pytest.raises(ConfigError) as err:
        build_optimizer(nn.Linear(2, 2), dict(optimizer=optimizer))
    assert err.value.path == path and "must be a" in str(err.value)
    assert fix in (err.value.fix or "")


def test_numeric_check_accepts_valid_hyperparameters() -> None:
    for optimizer in (dict(type="SGD", lr=0.01, momentum=0.9, nesterov=True, weight_decay=0),
                      dict(type="AdamW", lr=torch.tensor(1e-3), betas=[0.9, 0.95], eps=1e-6),
                      dict(type="Rprop", lr=0.1, etas=(0.5, 1.2))):
        build_optimizer(nn.Linear(2, 2), dict(optimizer=optimizer))


def test_amp_wrapper_never_gets_a_fused_optimizer():
    # Lightning's mixed-precision plugin refuses to clip gradients of fused optimizers (they unscale
    # inside their kernel), so under AmpOptimWrapper the builder picks foreach at most.
    import torch

    from lightning_runtime.optim import build_optimizer

    model = torch.nn.Linear(4, 4)
    plain = build_optimizer(model, dict(optimizer=dict(type="AdamW", lr=1e-3)))
    amp = build_optimizer(model, dict(type="AmpOptimWrapper", optimizer=dict(type="AdamW", lr=1e-3),
                                      clip_grad=dict(max_norm=1.0)))
    assert plain.defaults["fused"] is True
    assert not amp.defaults["fused"]  # foreach where the device has foreach kernels (not on CPU)
