"""Shared pieces of the translated MMEngine scheduler suites (``tests/peer/test_mmengine_*``).

MMEngine's tests build one scheduler object per entry on an optimizer and call ``step()`` on each
once per epoch. Here a ``param_scheduler`` list becomes one :class:`ParamSchedulerStack`: the
entries of a test become the rules of one stack (``build_scheduler(optimizer, [rules...])``) and
one ``stack.step()`` stands for one round of ``scheduler.step()`` calls. MMEngine's default
``by_epoch=True`` is kept; ``epoch_length=1`` makes one ``step()`` one epoch, as in those tests.
``scheduler.step(metrics)`` of a ``ReduceOnPlateau*`` becomes ``stack.step_metrics(metrics)``
followed by ``stack.step()`` (MMEngine's ``after_val_epoch`` then ``after_train_epoch``).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from lightning_runtime import schedulers
from lightning_runtime.schedulers import ParamScheduler, ParamSchedulerStack, build_scheduler

__all__ = [
    "ATOL",
    "MIN_VALUE_TARGETS",
    "OTHER_CONFIG",
    "PLATEAU_CASES",
    "PLATEAU_LOSSES",
    "PLATEAU_TARGETS",
    "ToyModel",
    "check_state_dict",
    "check_values",
    "plateau_metrics",
    "stack",
    "state_metrics",
    "state_pairs",
    "STATE_NAMES",
]

#: MMEngine's ``assert_allclose(..., atol=1e-5, rtol=0)`` in these suites.
ATOL = 1e-5


class ToyModel(torch.nn.Module):
    """MMEngine's two-conv toy model of the scheduler tests."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 1, 1)
        self.conv2 = torch.nn.Conv2d(1, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(F.relu(self.conv1(x)))


def stack(optimizer: Any, *rules: ParamScheduler | Mapping[str, Any], epoch_length: int = 1) -> ParamSchedulerStack:
    """The schedulers of one MMEngine test as one stack (window warnings of these toy schedules ignored)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return build_scheduler(optimizer, list(rules), epoch_length=epoch_length)


def _value(group: Mapping[str, Any], param_name: str) -> float:
    return float(group[param_name])


def check_values(
    optimizer: Any,
    sched: ParamSchedulerStack,
    targets: Sequence[Sequence[float]],
    epochs: int = 10,
    param_name: str = "lr",
    metrics: Sequence[Mapping[str, float]] | None = None,
) -> None:
    """MMEngine's ``_test_scheduler_value``: check every group, then step (feeding ``metrics[epoch]``)."""
    groups = optimizer.param_groups
    for epoch in range(epochs):
        for group, target in zip(groups, targets):
            got = _value(group, param_name)
            assert got == pytest.approx(target[epoch], abs=ATOL, rel=0), f"{param_name} of epoch {epoch}"
            if param_name == "momentum" and "betas" in group:
                assert group["betas"][0] == pytest.approx(target[epoch], abs=ATOL, rel=0), f"betas[0] of epoch {epoch}"
        if metrics is not None:
            sched.step_metrics(metrics[epoch])
        sched.step()


def check_state_dict(
    construct: Callable[[], ParamSchedulerStack],
    construct2: Callable[[], ParamSchedulerStack],
    epochs: int = 10,
    metrics: Sequence[Mapping[str, float]] | None = None,
    saved_to: Path | None = None,
) -> None:
    """MMEngine's ``_check_scheduler_state_dict``: a second scheduler loading the first's state equals it.

    With ``saved_to``, the state goes through ``torch.save`` / ``torch.load`` (``weights_only``) first.
    """
    sched = construct()
    for epoch in range(epochs):
        if metrics is not None:
            sched.step_metrics(metrics[epoch])
        sched.step()
    copy = construct2()
    state = sched.state_dict()
    if saved_to is not None:
        torch.save(state, saved_to)
        state = torch.load(saved_to, weights_only=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        copy.load_state_dict(state)
    assert copy.last_iter == sched.last_iter
    assert copy.state_dict()["cur"] == sched.state_dict()["cur"]
    assert copy.state_dict()["schedulers"] == sched.state_dict()["schedulers"]
    assert copy.get_last_lr() == sched.get_last_lr()


# ---------------------------------------------------------------- ReduceOnPlateau cases (all three suites)
#: rule, threshold_rule, threshold, monitor, metric values; the value falls 10x at epoch 8 in each.
PLATEAU_CASES = [
    ("less", "rel", 0.01, "loss", [10.0, 9.0, 8.0, 7.0, 6.0, 6.0, 6.0, 6.0, 6.0, 6.0]),
    ("less", "abs", 0.9, "loss", [10.0, 9.0, 8.0, 7.0, 6.0, 6.0, 6.0, 6.0, 6.0, 6.0]),
    ("greater", "rel", 0.01, "bbox_mAP", [1.0, 2.0, 3.0, 4.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0]),
    ("greater", "abs", 0.9, "bbox_mAP", [1.0, 2.0, 3.0, 4.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0]),
]
#: Group 1's values in each case (group 2: times 10); MMEngine's ``factor=0.1, cooldown=1, patience=2``.
PLATEAU_TARGETS = [0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.005, 0.005]
#: The ``min_value=0.01`` case (``rule='less'``, ``threshold_rule='rel'``, ``threshold=0.01``).
MIN_VALUE_TARGETS = [
    [0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.01, 0.01],
    [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.05, 0.05],
]
PLATEAU_LOSSES = [10.0, 9.0, 8.0, 7.0, 6.0, 6.0, 6.0, 6.0, 6.0, 6.0]


def plateau_metrics(monitor: str, values: Sequence[float]) -> list[dict[str, float]]:
    """MMEngine's ``metrics_list``: one ``{monitor: value}`` per epoch."""
    return [{monitor: v} for v in values]


# ---------------------------------------------------------------- the *_state_dict pairs (all three suites)
OTHER_CONFIG = (
    "a state loaded into a scheduler of another config: MMEngine takes the checkpoint's schedule, this package "
    "follows the current config (docs/schedulers.md, Resume)"
)

_STATE_ARGS: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "step": ("Step", dict(gamma=0.1, step_size=3), dict(gamma=0.01 / 2, step_size=1)),
    "multi_step": ("MultiStep", dict(gamma=0.1, milestones=[2, 5, 9]), dict(gamma=0.01, milestones=[1, 4, 6])),
    "exp": ("Exponential", dict(gamma=0.1), dict(gamma=0.01)),
    "cosine": ("CosineAnnealing", dict(T_max=10, eta_min=1e-10), dict(T_max=10 // 2, eta_min=1e-10 / 2)),
    "linear": ("Linear", dict(start_factor=1 / 3), dict(start_factor=0, end_factor=0.3)),
    "poly": ("Poly", dict(power=0.5, eta_min=0.001), dict(power=0.8, eta_min=0.002)),
    "cosine_restart": ("CosineRestart", dict(periods=[4, 5], restart_weights=[1, 0.5], eta_min=0),
                       dict(periods=[4, 6], restart_weights=[1, 0.5], eta_min=0)),
    "reduce_on_plateau": (
        "ReduceOnPlateau",
        dict(monitor="loss", rule="less", factor=0.01, patience=5, threshold=1e-4, threshold_rule="rel", cooldown=0,
             min_value=0.0, eps=1e-8),
        dict(monitor="loss_foo", rule="greater", factor=0.05, patience=10, threshold=1e-5, threshold_rule="abs",
             cooldown=5, min_value=0.1, eps=1e-9),
    ),
}

#: The names of MMEngine's ``test_*_scheduler_state_dict`` tests, in order.
STATE_NAMES = list(_STATE_ARGS)


def state_pairs(name: str, suffix: str, **extra: Any) -> tuple[Callable[[], ParamScheduler], Callable[[], ParamScheduler]]:
    """MMEngine's two constructors of ``test_<name>_scheduler_state_dict`` for the ``suffix`` variant.

    Args:
        name: A key of :data:`STATE_NAMES` (``'step'``, ``'reduce_on_plateau'``, ...).
        suffix: ``'LR'``, ``'Momentum'`` or ``'ParamScheduler'`` (then pass ``param_name='lr'``).
        **extra: More arguments for both.
    """
    stem, first, second = _STATE_ARGS[name]
    cls = getattr(schedulers, stem + suffix)
    return (lambda: cls(**extra, **first)), (lambda: cls(**extra, **second))


def state_metrics(name: str) -> list[dict[str, float]] | None:
    """The metrics MMEngine feeds in ``test_<name>_scheduler_state_dict`` (only ReduceOnPlateau gets any)."""
    return [dict(loss=1.0) for _ in range(10)] if name == "reduce_on_plateau" else None
