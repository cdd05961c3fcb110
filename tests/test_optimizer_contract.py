"""An optimizer the run cannot use is a ConfigError when it is built, not a KeyError or MisconfigurationException mid-run."""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn as nn

from lightning_runtime.errors import ConfigError
from lightning_runtime.optim import build_optimizer
from lightning_runtime.optim._builder import check_optimizer_contract
from lightning_runtime.registry import OPTIMIZERS


class NoLr(torch.optim.Optimizer):
    """The seed tutorial's ``MyOptimizer(a, b, c)`` shape: no lr among its defaults."""

    def __init__(self, params: Any, a: float = 1.0, b: float = 2.0, c: float = 3.0) -> None:
        super().__init__(params, dict(a=a, b=b, c=c))

    def step(self, closure: Any = None) -> Any:
        return closure() if closure is not None else None


class NoClosure(torch.optim.SGD):
    def step(self) -> None:  # type: ignore[override]
        super().step()


@pytest.fixture()
def registered(isolated_registries: list) -> None:
    OPTIMIZERS.register_module(module=NoLr, force=True)
    OPTIMIZERS.register_module(module=NoClosure, force=True)


def test_an_optimizer_without_lr_is_refused_before_training(registered: None, tmp_path: Any) -> None:
    """build_optimizer builds it (the seed's MyOptimizer snippet works); a run refuses it before its first step."""
    from runtime_helpers import QUIET, Boring, loader, make_cfg

    from lightning_runtime import Runtime

    opt = build_optimizer(nn.Linear(2, 2), dict(optimizer=dict(type="NoLr", a=1.0, b=2.0, c=3.0)))
    with pytest.raises(ConfigError, match="NoLr's param group 0 has no numeric 'lr'") as info:
        check_optimizer_contract(opt)
    assert info.value.path == "optim_wrapper.optimizer" and "dict(lr=lr" in info.value.fix
    rt = Runtime(make_cfg(tmp_path, train_cfg=dict(by_epoch=False, max_iters=2),
                          optim_wrapper=dict(optimizer=dict(type="NoLr", a=1.0, b=2.0, c=3.0))))
    module = Boring(rt)
    with pytest.raises(ConfigError, match="has no numeric 'lr'"):
        rt.fit(module, loader(2), **QUIET)
    assert module.steps == 0


def test_an_optimizer_whose_step_takes_no_closure_is_refused(registered: None) -> None:
    opt = build_optimizer(nn.Linear(2, 2), dict(optimizer=dict(type="NoClosure", lr=0.1)))
    with pytest.raises(ConfigError, match=r"NoClosure.step\(\) takes no closure") as info:
        check_optimizer_contract(opt)
    assert "closure=None" in info.value.fix


def test_torch_optimizers_pass() -> None:
    for cfg in (dict(type="SGD", lr=0.1), dict(type="AdamW", lr=1e-3), dict(type="LBFGS", lr=1.0)):
        opt = build_optimizer(nn.Linear(2, 2), dict(optimizer=cfg))
        check_optimizer_contract(opt)
        assert opt.param_groups[0]["lr"] == cfg["lr"]
