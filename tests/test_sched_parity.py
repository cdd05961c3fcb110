"""Parity of ``build_scheduler`` with mmengine-lite 0.10.7's schedulers, value by value.

MMEngine's schedulers are driven exactly as its ``ParamSchedulerHook`` drives them: iteration-based
ones stepped after every iteration, epoch-based ones after every epoch (``ReduceOnPlateau`` also
fed the validation metrics then); the values of iteration ``i`` are read before the ``i``-th step.
Ours is stepped once per iteration (and fed metrics after each epoch). Every group's value at
every iteration must agree to a relative 1e-9 (in practice they are bit-for-bit equal).
"""

from __future__ import annotations

import copy
import glob
import importlib.util
import json
import os
import sys
import types
import warnings

import numpy as np
import pytest
import torch

from lightning_runtime.schedulers import build_scheduler

import mmengine.optim as mmengine_optim  # noqa: E402 - the reference (a test dependency)
from mmengine.registry import PARAM_SCHEDULERS as MM_SCHEDULERS  # noqa: E402

MMSEG_CONFIGS = os.path.join(
    os.path.dirname(mmengine_optim.__file__), "..", "..", "mmseg", ".mim", "configs"
)


def _register_mmseg_poly_ratio() -> None:
    """Load MMSeg's own PolyLRRatio source into MMEngine's registry (mmseg itself needs mmcv)."""
    if "PolyLRRatio" in MM_SCHEDULERS.module_dict:
        return
    path = os.path.join(os.path.dirname(MMSEG_CONFIGS), "..", "engine", "schedulers", "poly_ratio_scheduler.py")
    saved = {k: sys.modules.get(k) for k in ("mmseg", "mmseg.registry")}
    sys.modules["mmseg"] = types.ModuleType("mmseg")
    sys.modules["mmseg.registry"] = types.SimpleNamespace(PARAM_SCHEDULERS=MM_SCHEDULERS)  # type: ignore
    try:
        spec = importlib.util.spec_from_file_location("_mmseg_poly_ratio", os.path.normpath(path))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


_register_mmseg_poly_ratio()


def make_optimizer(kind: str = "sgd", lrs=(0.01,), wds=None) -> torch.optim.Optimizer:
    wds = wds or [1e-4 * (i + 1) for i in range(len(lrs))]
    groups = [
        {"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr, "weight_decay": wd, "name": f"g{i}"}
        for i, (lr, wd) in enumerate(zip(lrs, wds))
    ]
    if kind == "sgd":
        return torch.optim.SGD(groups, lr=0.01, momentum=0.9)
    return torch.optim.AdamW(groups, lr=0.01, betas=(0.9, 0.999))


def _read(opt: torch.optim.Optimizer, keys) -> list[float]:
    out = []
    for g in opt.param_groups:
        for k in keys:
            out.append(g["betas"][0] if (k == "momentum" and "betas" in g) else g[k])
    return out


def run_mmengine(cfgs, opt, n_iters, keys=("lr",), epoch_length=None, metrics=None) -> np.ndarray:
    scheds = [
        MM_SCHEDULERS.build(copy.deepcopy(c), default_args=dict(optimizer=opt, epoch_length=epoch_length))
        for c in cfgs
    ]
    by_iter = [s.step for s in scheds if not s.by_epoch]
    by_epoch = [s for s in scheds if s.by_epoch]
    out = np.empty((n_iters, len(opt.param_groups) * len(keys)))
    for i in range(n_iters):
        out[i] = _read(opt, keys)
        for step in by_iter:
            step()
        if by_epoch and (i + 1) % epoch_length == 0:
            for s in by_epoch:
                s.step()
            if metrics is not None:  # validation after the epoch
                val = {"loss": metrics[(i + 1) // epoch_length - 1]}
                for s in by_epoch:
                    if getattr(s, "need_val_args", False):
                        s.step(val)
    return out


def run_ours(cfgs, opt, n_iters, keys=("lr",), epoch_length=None, metrics=None) -> np.ndarray:
    stack = build_scheduler(opt, copy.deepcopy(cfgs), epoch_length=epoch_length)
    out = np.empty((n_iters, len(opt.param_groups) * len(keys)))
    for i in range(n_iters):
        out[i] = _read(opt, keys)
        stack.step()
        if metrics is not None and (i + 1) % epoch_length == 0:
            stack.step_metrics({"loss": metrics[(i + 1) // epoch_length - 1]})
    return out


def assert_parity(cfgs, n_iters, *, kind="sgd", lrs=(0.01, 0.0045, 0.002), keys=("lr",), epoch_length=None,
                  metrics=None) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = run_mmengine(cfgs, make_optimizer(kind, lrs), n_iters, keys, epoch_length, metrics)
        ours = run_ours(cfgs, make_optimizer(kind, lrs), n_iters, keys, epoch_length, metrics)
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=0)
    return ours


def it(type_, **kw):
    return dict(type=type_, by_epoch=False, **kw)


SINGLE = {
    "ConstantLR": [it("ConstantLR", factor=0.5, begin=3, end=40)],
    "ConstantLR-one-step": [it("ConstantLR", factor=0.25, begin=2, end=3)],
    "LinearLR": [it("LinearLR", start_factor=0.2, end_factor=0.9, begin=5, end=60)],
    "LinearLR-down": [it("LinearLR", start_factor=1.0, end_factor=0.05, begin=0, end=30)],
    "StepLR": [it("StepLR", step_size=7, gamma=0.5, begin=2, end=80)],
    "MultiStepLR": [it("MultiStepLR", milestones=[5, 20, 20, 33], gamma=0.3, begin=4, end=90)],
    "ExponentialLR": [it("ExponentialLR", gamma=0.97, begin=1, end=70)],
    "PolyLR": [it("PolyLR", eta_min=1e-4, power=2.0, begin=10, end=90)],
    "PolyLRRatio": [it("PolyLRRatio", eta_min_ratio=0.05, power=0.9, begin=3, end=77)],
    "CosineAnnealingLR-Tmax": [it("CosineAnnealingLR", T_max=25, eta_min=1e-5, begin=5, end=100)],
    "CosineAnnealingLR-ratio": [it("CosineAnnealingLR", eta_min_ratio=0.01, begin=0, end=50)],
    "CosineRestartLR": [it("CosineRestartLR", periods=[10, 20, 15], restart_weights=[1, 0.6, 0.3], eta_min=1e-5,
                           begin=2, end=60)],
    "CosineRestartLR-ratio": [it("CosineRestartLR", periods=[8, 12], restart_weights=[1, 0.5], eta_min_ratio=0.1,
                                 end=40)],
    "OneCycleLR-3phase-linear": [it("OneCycleLR", eta_max=0.1, total_steps=60, pct_start=0.25,
                                    anneal_strategy="linear", div_factor=10, final_div_factor=100,
                                    three_phase=True, begin=0, end=61)],
    "OneCycleLR-per-group": [it("OneCycleLR", eta_max=[0.1, 0.05, 0.02], pct_start=0.4, begin=5, end=55)],
}


@pytest.mark.parametrize("name", list(SINGLE))
def test_each_lr_scheduler_alone(name):
    assert_parity(SINGLE[name], 120)


MOMENTUM = {
    "LinearMomentum": [it("LinearMomentum", start_factor=0.9, end_factor=1.0, begin=0, end=30)],
    "CosineAnnealingMomentum": [it("CosineAnnealingMomentum", T_max=20, eta_min=0.85, begin=3, end=50)],
    "StepMomentum": [it("StepMomentum", step_size=9, gamma=0.95, begin=0, end=60)],
    "PolyMomentum+ConstantMomentum": [it("PolyMomentum", eta_min=0.8, power=1.5, begin=0, end=50),
                                      it("ConstantMomentum", factor=0.9, begin=10, end=20)],
    "MultiStep+Exponential+CosineRestart": [
        it("MultiStepMomentum", milestones=[10, 30], gamma=0.97),
        it("ExponentialMomentum", gamma=0.999, begin=40, end=60),
        it("CosineRestartMomentum", periods=[15, 15], restart_weights=[1, 0.9], eta_min=0.8, begin=60, end=90),
    ],
}


@pytest.mark.parametrize("kind", ["sgd", "adamw"])
@pytest.mark.parametrize("name", list(MOMENTUM))
def test_momentum_schedulers_sgd_and_adam_betas(name, kind):
    cfg = MOMENTUM[name] + [it("PolyLR", eta_min=1e-5, power=0.9, begin=0, end=100)]
    assert_parity(cfg, 100, kind=kind, keys=("lr", "momentum"))


def test_generic_schedulers_drive_weight_decay():
    cfg = [
        dict(type="PolyParamScheduler", param_name="weight_decay", eta_min=1e-6, power=1.0, by_epoch=False,
             begin=0, end=80),
        dict(type="StepParamScheduler", param_name="weight_decay", step_size=10, gamma=0.5, by_epoch=False,
             begin=20, end=60),
        dict(type="CosineAnnealingParamScheduler", param_name="lr", by_epoch=False, begin=0, end=100),
    ]
    out = assert_parity(cfg, 100, keys=("lr", "weight_decay"))
    wd = out[:, 1::2]  # columns: lr, weight_decay per group
    assert wd[0].tolist() == pytest.approx([1e-4, 2e-4, 3e-4], rel=1e-12)
    assert wd[79:].min() < 1e-5 and (wd[79:] == wd[79]).all()  # decayed, then held


SEED = [
    dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=1000),
    dict(type="PolyLR", eta_min=1e-4, power=0.9, begin=1000, end=160000, by_epoch=False),
]


def test_seed_warmup_then_poly_full_length_every_iteration():
    out = assert_parity(SEED, 160000, lrs=(0.01,))
    assert out[0, 0] == pytest.approx(0.001)
    assert out[999, 0] == pytest.approx(0.01)
    assert out[159999, 0] == pytest.approx(1e-4)


def test_seed_schedule_with_layer_decay_groups():
    lrs = tuple(6e-5 * 0.9 ** (12 - k) for k in range(13))
    cfg = [dict(SEED[0]), dict(SEED[1], eta_min=0.0, end=3000)]
    assert_parity(cfg, 3000, kind="adamw", lrs=lrs)


@pytest.mark.parametrize("epoch_length", [1, 7, 50])
def test_by_epoch_schedules(epoch_length):
    cfg = [
        dict(type="LinearLR", start_factor=0.25, begin=0, end=3),
        dict(type="CosineAnnealingLR", eta_min=1e-5, begin=3, end=10),
        dict(type="MultiStepLR", milestones=[5, 8], gamma=0.5, begin=0, end=12),
        it("ConstantLR", factor=0.5, begin=0, end=epoch_length + 2),  # iteration-based, mixed in
    ]
    assert_parity(cfg, 12 * epoch_length, epoch_length=epoch_length)


@pytest.mark.parametrize("epoch_length", [1, 7, 13])
def test_converted_to_iter_based_schedules(epoch_length):
    cfg = [
        dict(type="LinearLR", start_factor=0.01, begin=0, end=2, convert_to_iter_based=True),
        dict(type="CosineAnnealingLR", T_max=6, eta_min_ratio=0.02, begin=2, end=8, convert_to_iter_based=True),
        dict(type="StepLR", step_size=2, gamma=0.7, begin=8, end=12, convert_to_iter_based=True),
        dict(type="CosineRestartLR", periods=[1, 2], restart_weights=[1, 0.5], eta_min=0.0, begin=12, end=15,
             convert_to_iter_based=True),
        dict(type="OneCycleLR", eta_max=0.05, begin=15, end=17, convert_to_iter_based=True),
    ]
    assert_parity(cfg, 18 * epoch_length, epoch_length=epoch_length)


def test_overlapping_windows_chain_and_closed_form_overwrites():
    cfg = [
        it("PolyLR", eta_min=0.0, power=1.0, begin=0, end=200),
        it("LinearLR", start_factor=0.1, begin=0, end=50),  # nested warmup: multiplies into poly
        it("StepLR", step_size=15, gamma=0.8, begin=30, end=120),
        it("CosineAnnealingLR", T_max=40, eta_min=1e-5, begin=100, end=180),
        it("OneCycleLR", eta_max=0.02, begin=150, end=190),  # closed form: overwrites the others
        it("ExponentialLR", gamma=0.99, begin=170, end=210),
    ]
    assert_parity(cfg, 220)


def test_gapped_windows_hold_the_last_value():
    cfg = [
        it("LinearLR", start_factor=0.3, begin=0, end=20),
        it("PolyLR", eta_min=1e-4, power=0.9, begin=40, end=100),
        it("ExponentialLR", gamma=0.95, begin=120, end=150),
        it("ConstantLR", factor=0.5, begin=160, end=170),
    ]
    out = assert_parity(cfg, 200)
    assert np.all(out[20:41] == out[20])  # the gap holds


def test_reduce_on_plateau_by_epoch():
    metrics = [1.0, 0.9, 0.95, 0.97, 0.96, 0.99, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2]
    cfg = [
        dict(type="ReduceOnPlateauLR", monitor="loss", factor=0.5, patience=1, cooldown=1, min_value=[1e-3, 0, 0],
             begin=1, end=12),
        it("LinearLR", start_factor=0.5, begin=0, end=10),
    ]
    out = assert_parity(cfg, 5 * len(metrics), epoch_length=5, metrics=metrics)
    assert out[-1, 0] < out[0, 0]


def _mmseg_schedules():
    cache = os.path.join(os.path.dirname(__file__), "..", ".pytest_cache", "sched_mmseg_schedules.json")
    paths = sorted(glob.glob(os.path.join(MMSEG_CONFIGS, "**", "*.py"), recursive=True))
    if os.path.exists(cache):
        with open(cache) as f:
            data = json.load(f)
        if data["n_configs"] == len(paths):
            return data
    from mmengine import Config

    distinct: dict[str, list[str]] = {}
    with_sched = 0
    for p in paths:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cfg = Config.fromfile(p, import_custom_modules=False)
        ps = cfg.get("param_scheduler")
        if ps is None:
            continue
        with_sched += 1
        ps = ps if isinstance(ps, list) else [ps]
        key = json.dumps([dict(c) for c in ps], sort_keys=True)
        distinct.setdefault(key, []).append(os.path.relpath(p, MMSEG_CONFIGS))
    data = {"n_configs": len(paths), "with_scheduler": with_sched, "distinct": distinct}
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    with open(cache, "w") as f:
        json.dump(data, f)
    return data


#: Iterations compared per MMSeg schedule (every one of them, from 0). Both implementations are
#: recursive, so a check costs as many steps as it covers; 25001 covers every warmup, hand-over
#: and the last window of the 25k schedule. LR_RUNTIME_FULL_PARITY=1 compares every schedule to
#: its very end (2.7M iterations, about two minutes); the 160k seed schedule is always full length.
MMSEG_HORIZON = None if os.environ.get("LR_RUNTIME_FULL_PARITY") else 25001


@pytest.mark.slow
def test_every_distinct_param_scheduler_in_mmseg_configs():
    data = _mmseg_schedules()
    assert data["n_configs"] == 769
    schedules = [json.loads(k) for k in data["distinct"]]
    print(f"\n{data['n_configs']} config files, {data['with_scheduler']} with a param_scheduler, "
          f"{len(schedules)} distinct param_scheduler values")
    assert len(schedules) == 24
    for cfg in schedules:
        end = max(c.get("end", 0) for c in cfg) + 1
        n = end if MMSEG_HORIZON is None else min(end, MMSEG_HORIZON)
        assert_parity(cfg, n, kind="adamw", lrs=(6e-5, 6e-5 * 0.9))
