"""optim_wrapper's training-loop half: precision plugins, GradScaler arguments, clipping on a real Trainer."""

from __future__ import annotations

import math

import pytest
import torch

from runtime_helpers import QUIET, Boring, loader, make_cfg

from lightning_runtime.errors import ConfigError
from lightning_runtime.optim import parse_optim_wrapper
from lightning_runtime.runtime import Runtime
from lightning_runtime.runtime._precision import GradClip, StaticGradScaler, build_grad_scaler, plan_precision

SGD = dict(type="SGD", lr=0.1)


def plan_of(optim_wrapper, **kwargs):
    """plan_precision of a parsed optim_wrapper, as the Runtime calls it (the spec is validated once)."""
    return plan_precision(parse_optim_wrapper(optim_wrapper), **kwargs)


def _scaler_args(s: torch.amp.GradScaler) -> tuple:
    return (s._init_scale, s._growth_factor, s._backoff_factor, s._growth_interval, s._enabled)


@pytest.mark.parametrize(
    "loss_scale,expected,cls",
    [
        ("dynamic", (2.0**16, 2.0, 0.5, 2000), torch.amp.GradScaler),
        (512.0, (512.0, 2.0, 0.5, 2000), StaticGradScaler),
        (dict(init_scale=1024.0, growth_interval=100, backoff_factor=0.25), (1024.0, 2.0, 0.25, 100), torch.amp.GradScaler),
    ],
)
def test_cuda_plan_builds_mixed_precision_plugin_with_mmengine_scaler(loss_scale, expected, cls):
    from lightning.pytorch.plugins.precision import MixedPrecision

    plan = plan_of(dict(type="AmpOptimWrapper", optimizer=SGD, loss_scale=loss_scale), accelerator="cuda")
    (plugin,) = plan.plugins
    assert isinstance(plugin, MixedPrecision) and plugin.precision == "16-mixed" and plugin.device == "cuda"
    assert type(plugin.scaler) is cls
    # MMEngine's AmpOptimWrapper: GradScaler() / GradScaler(init_scale=s) / GradScaler(**dict)
    mm_args = {} if loss_scale == "dynamic" else dict(init_scale=loss_scale) if isinstance(loss_scale, float) else loss_scale
    assert plugin.scaler.scaler_kwargs == mm_args
    # the values those arguments give (a CPU scaler: a CUDA one disables itself on this machine)
    assert _scaler_args(cls("cpu", **plugin.scaler.scaler_kwargs))[:4] == expected


def test_static_scale_never_moves_on_cpu_scaler():
    s = build_grad_scaler(8.0, device="cpu")
    p = torch.nn.Parameter(torch.ones(2))
    opt = torch.optim.SGD([p], lr=0.1)
    for grad in (torch.tensor([float("inf"), 1.0]), torch.tensor([1.0, 1.0])):
        opt.zero_grad()
        (s.scale(p * grad).sum()).backward()
        s.step(opt)
        s.update()
        assert s.get_scale() == 8.0  # dynamic would have backed off to 4.0 after the inf step
    assert torch.allclose(p.detach(), torch.tensor([0.9, 0.9]))  # inf step skipped, second applied


def test_bf16_and_cpu_plans():
    assert plan_of(dict(type="AmpOptimWrapper", optimizer=SGD, dtype="bfloat16"),
                   accelerator="cuda").trainer_kwargs == {"precision": "bf16-mixed"}
    # MMEngine's CPU autocast is bf16-only: AmpOptimWrapper without dtype trains bf16 on CPU.
    assert plan_of(dict(type="AmpOptimWrapper", optimizer=SGD), accelerator="cpu").trainer_kwargs == {
        "precision": "bf16-mixed"}
    with pytest.raises(ConfigError, match="float16 autocast is not supported on CPU"):
        plan_of(dict(type="AmpOptimWrapper", optimizer=SGD, dtype="float16"), accelerator="cpu")
    assert plan_of(dict(type="OptimWrapper", optimizer=SGD)).trainer_kwargs == {}


@pytest.mark.parametrize(
    "cfg,path",
    [
        (dict(type="AmpOptimWrapper", optimizer=SGD, loss_scale="dynamc"), "optim_wrapper.loss_scale"),
        (dict(type="AmpOptimWrapper", optimizer=SGD, loss_scale=dict(init_scal=2.0)), "optim_wrapper.loss_scale.init_scal"),
        (dict(type="OptimWrapper", optimizer=SGD, loss_scale=512.0), "optim_wrapper.loss_scale"),
        (dict(type="ApexOptimWrapper", optimizer=SGD), "optim_wrapper.type"),
        (dict(type="OptimWrapper", optimizer=SGD, clip_grad=dict(max_norm=1, norm_typ=2)), "optim_wrapper.clip_grad.norm_typ"),
        (dict(type="OptimWrapper", optimizer=SGD, clip_grad=dict(type="abs", max_norm=1)), "optim_wrapper.clip_grad.type"),
        (dict(type="OptimWrapper", optimizer=SGD, accumulative_counts=0), "optim_wrapper.accumulative_counts"),
    ],
)
def test_wrapper_errors_name_the_path(cfg, path):
    with pytest.raises(ConfigError) as err:
        plan_of(cfg, accelerator="cuda")
    assert err.value.path == path


def test_clip_translation():
    kw = lambda clip: plan_of(dict(optimizer=SGD, clip_grad=clip))  # noqa: E731
    assert kw(dict(max_norm=1, norm_type=2)).trainer_kwargs == {"gradient_clip_val": 1.0, "gradient_clip_algorithm": "norm"}
    assert kw(dict(type="value", clip_value=0.5)).trainer_kwargs == {"gradient_clip_val": 0.5, "gradient_clip_algorithm": "value"}
    plan = kw(dict(max_norm=1, norm_type=float("inf")))
    assert plan.trainer_kwargs == {} and isinstance(plan.callbacks[0], GradClip)
    # the tutorial's grad_clip spelling
    assert plan_of(dict(optimizer=SGD, grad_clip=dict(max_norm=1, norm_type=2))).trainer_kwargs[
        "gradient_clip_val"] == 1.0


class _Big(Boring):
    """Huge loss so every gradient is clipped; records the grads the optimizer applies."""

    def __init__(self) -> None:
        super().__init__()
        self.applied: list[torch.Tensor] = []

    def training_step(self, batch, batch_idx):
        return 1000.0 * super().training_step(batch, batch_idx)

    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=0.1)
        opt.register_step_post_hook(
            lambda o, a, k: self.applied.append(torch.cat([p.grad.flatten() for p in self.parameters()]).clone()))
        return opt


@pytest.mark.parametrize(
    "clip,check",
    [
        (dict(max_norm=0.5, norm_type=2), lambda g: math.isclose(g.norm(2).item(), 0.5, rel_tol=1e-4)),
        (dict(max_norm=0.5, norm_type=float("inf")), lambda g: math.isclose(g.abs().max().item(), 0.5, rel_tol=1e-4)),
        (dict(max_norm=0.5, norm_type=1), lambda g: math.isclose(g.abs().sum().item(), 0.5, rel_tol=1e-4)),
        (dict(type="value", clip_value=0.01), lambda g: g.abs().max().item() <= 0.01 + 1e-7),
    ],
)
def test_clipping_applied_on_real_trainer(tmp_path, clip, check):
    rt = Runtime(make_cfg(tmp_path, train_cfg=dict(by_epoch=False, max_iters=3, val_interval=10),
                          optim_wrapper=dict(optimizer=SGD, clip_grad=clip)))
    m = _Big()
    rt.fit(m, loader(3), **QUIET)
    assert len(m.applied) == 3 and all(check(g) for g in m.applied)


def test_bf16_amp_on_cpu_trains(tmp_path):
    rt = Runtime(make_cfg(tmp_path, train_cfg=dict(by_epoch=False, max_iters=2, val_interval=10),
                          optim_wrapper=dict(type="AmpOptimWrapper", optimizer=SGD)))
    trainer = rt.fit(Boring(), loader(2), **QUIET)
    assert trainer.precision == "bf16-mixed" and trainer.global_step == 2


def test_grad_clip_alias_over_a_base_with_clip_grad_none():
    # MMSeg's schedule_*.py set clip_grad=None; the seed writes grad_clip=dict(...) on top.
    plan = plan_of(dict(type="OptimWrapper", optimizer=dict(type="SGD", lr=0.01), clip_grad=None,
                        grad_clip=dict(max_norm=1, norm_type=2)))
    assert plan.trainer_kwargs["gradient_clip_val"] == 1.0
    assert plan.trainer_kwargs["gradient_clip_algorithm"] == "norm"
