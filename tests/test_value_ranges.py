"""Values that make no sense are refused through the Python API too, each naming its argument.

The CLI side (exit 2, the config path, a fix) is in ``tests/bad_config_corpus`` (``neg_*``,
``eta_min_ratio_*``, ``*_log_window_size``); here the same checks through ``build_scheduler``,
``build_optimizer`` and the ``LogProcessor``.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from lightning_runtime.errors import ConfigError
from lightning_runtime.optim import build_optimizer
from lightning_runtime.runtime._log_processor import LogProcessor
from lightning_runtime.schedulers import build_scheduler


def _sgd() -> torch.optim.SGD:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1, momentum=0.9, weight_decay=1e-4)


@pytest.mark.parametrize(
    ("entry", "path"),
    [
        (dict(type="PolyLR", eta_min=-1.0, end=10), "param_scheduler[0].eta_min"),
        (dict(type="CosineAnnealingLR", eta_min=-1e-6, T_max=10, end=10), "param_scheduler[0].eta_min"),
        (dict(type="CosineRestartLR", periods=[5], restart_weights=[1], eta_min=-1.0), "param_scheduler[0].eta_min"),
        (dict(type="PolyMomentum", eta_min=-0.1, end=10), "param_scheduler[0].eta_min"),
        (dict(type="CosineAnnealingParamScheduler", param_name="weight_decay", eta_min=-1e-4, end=10),
         "param_scheduler[0].eta_min"),
        (dict(type="ReduceOnPlateauLR", min_value=-0.1), "param_scheduler[0].min_value"),
        (dict(type="ReduceOnPlateauLR", min_value=[-0.1]), "param_scheduler[0].min_value[0]"),
        (dict(type="OneCycleLR", eta_max=-1.0, total_steps=10, end=11), "param_scheduler[0].eta_max"),
        (dict(type="CosineAnnealingLR", eta_min_ratio=1.5, end=10), "param_scheduler[0].eta_min_ratio"),
        (dict(type="CosineRestartLR", periods=[5], eta_min_ratio=-0.1), "param_scheduler[0].eta_min_ratio"),
        (dict(type="PolyLRRatio", eta_min_ratio=2.0, end=10), "param_scheduler[0].eta_min_ratio"),
    ],
)
def test_scheduler_floors(entry: dict[str, Any], path: str) -> None:
    with pytest.raises(ConfigError) as err:
        build_scheduler(_sgd(), [dict(entry, by_epoch=False)])
    assert err.value.path == path
    assert "fix:" in str(err.value)


@pytest.mark.parametrize("ratio", [0.0, 1.0])
def test_eta_min_ratio_bounds_are_valid(ratio: float) -> None:
    opt = _sgd()
    sched = build_scheduler(opt, [dict(type="PolyLRRatio", eta_min_ratio=ratio, power=1.0, end=3, by_epoch=False)])
    sched.step()
    sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * ratio)


@pytest.mark.parametrize(
    ("cfg", "path"),
    [
        (dict(optimizer=dict(type="SGD", lr=-0.01)), "optim_wrapper.optimizer.lr"),
        (dict(optimizer=dict(type="AdamW", lr=1e-4, weight_decay=-0.05)), "optim_wrapper.optimizer.weight_decay"),
        (dict(optimizer=dict(type="SGD", lr=0.01, weight_decay=1e-4), paramwise_cfg=dict(bias_lr_mult=-2.0)),
         "optim_wrapper.paramwise_cfg.bias_lr_mult"),
        (dict(optimizer=dict(type="SGD", lr=0.01, weight_decay=1e-4),
              paramwise_cfg=dict(custom_keys={"bias": dict(lr_mult=-1.0)})),
         "optim_wrapper.paramwise_cfg.custom_keys.bias.lr_mult"),
    ],
)
def test_optimizer_negative_values(cfg: dict[str, Any], path: str) -> None:
    with pytest.raises(ConfigError) as err:
        build_optimizer(torch.nn.Linear(2, 2), cfg)
    assert err.value.path == path


def test_zero_lr_and_weight_decay_are_valid() -> None:
    opt = build_optimizer(torch.nn.Linear(2, 2), dict(optimizer=dict(type="SGD", lr=0.0, weight_decay=0.0)))
    assert opt.param_groups[0]["lr"] == 0.0


@pytest.mark.parametrize("window_size", [-1, 0])
def test_log_processor_window_size(window_size: int) -> None:
    with pytest.raises(ConfigError) as err:
        LogProcessor(window_size=window_size)
    assert err.value.path == "log_processor.window_size"
