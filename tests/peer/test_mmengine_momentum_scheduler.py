"""MMEngine's momentum scheduler tests, translated to this package's API.

Source: open-mmlab/mmengine, ``tests/test_optim/test_scheduler/test_momentum_scheduler.py`` at tag
v0.10.7 (commit 390ba2fb). Every expected number is MMEngine's, unchanged, for SGD's ``momentum``
and Adam's ``betas[0]`` (checked together with the ``momentum`` key, as MMEngine's suite does).
The translation is the one of ``test_mmengine_lr_scheduler.py`` (see ``peer_sched.py``): the
schedulers of a test are the rules of one ``build_scheduler(optimizer, [...], epoch_length=1)``
stack, and MMEngine's ``ValueError`` / ``AssertionError`` for bad arguments is ``ConfigError``.

Not translated as written, and why (docs/schedulers.md, "Where this differs"):

* ``test_overwrite_optimzer_step``, ``test_scheduler_before_optim_warning``: no wrapping of
  ``optimizer.step`` here (Lightning orders the steps): strict xfails.
* ``test_resume``: ``last_step=`` is refused; the same numbers through ``load_state_dict``.
* ``ReduceOnPlateauMomentum(by_epoch=False)`` works here (MMEngine asserts): a strict xfail; a
  missing monitored metric is a ``ConfigError`` (MMEngine: ``KeyError``).
* ``*_state_dict`` with a second scheduler of another config: strict xfails (this package follows
  the current config on resume); the same check with equal configs passes.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch.optim as optim

from lightning_runtime.errors import ConfigError
from lightning_runtime.schedulers import (
    ConstantMomentum,
    CosineAnnealingMomentum,
    CosineRestartMomentum,
    ExponentialMomentum,
    LinearMomentum,
    MultiStepMomentum,
    PolyMomentum,
    ReduceOnPlateauMomentum,
    StepMomentum,
    build_scheduler,
)
from peer_sched import (
    MIN_VALUE_TARGETS,
    OTHER_CONFIG,
    PLATEAU_CASES,
    PLATEAU_LOSSES,
    PLATEAU_TARGETS,
    STATE_NAMES,
    ToyModel,
    check_state_dict,
    check_values,
    plateau_metrics,
    stack,
    state_metrics,
    state_pairs,
)

LAYER2_MULT = 10
MOMENTUM = 0.05


def _sgd(model: ToyModel) -> optim.SGD:
    return optim.SGD(
        [{"params": model.conv1.parameters()},
         {"params": model.conv2.parameters(), "momentum": MOMENTUM * LAYER2_MULT}],
        lr=0.01, momentum=MOMENTUM, weight_decay=5e-4,
    )


def _adam(model: ToyModel) -> optim.Adam:
    return optim.Adam(
        [{"params": model.conv1.parameters()},
         {"params": model.conv2.parameters(), "betas": (MOMENTUM * LAYER2_MULT, 0.999)}],
        lr=0.01, betas=(MOMENTUM, 0.999), weight_decay=5e-4,
    )


@pytest.fixture
def model() -> ToyModel:
    return ToyModel()


@pytest.fixture
def optimizer(model: ToyModel) -> optim.SGD:
    return _sgd(model)


@pytest.fixture(params=["sgd", "adam_betas"])
def any_optimizer(request: pytest.FixtureRequest, model: ToyModel) -> Any:
    """MMEngine's ``self.optimizer`` and ``self.optimizer_with_betas``: each value test runs on both."""
    return _sgd(model) if request.param == "sgd" else _adam(model)


def _two(single: list[float]) -> list[list[float]]:
    return [single, [x * LAYER2_MULT for x in single]]


def test_invalid_optimizer(model: ToyModel) -> None:
    with pytest.raises(ConfigError, match="momentum or betas"):
        stack(optim.ASGD(model.parameters(), lr=0.01), StepMomentum(step_size=1))


@pytest.mark.xfail(strict=True, reason="the stack does not wrap optimizer.step (Lightning orders the steps); "
                   "no 'scheduler before optimizer' warning: docs/schedulers.md")
def test_overwrite_optimzer_step(optimizer: optim.SGD) -> None:
    sched = stack(optimizer, ExponentialMomentum(gamma=0.9))
    optimizer.step = lambda: None  # type: ignore[assignment, method-assign, return-value]
    optimizer.step()
    with pytest.warns(UserWarning, match="how-to-adjust-learning-rate"):
        sched.step()


def test_resume(optimizer: optim.SGD) -> None:
    with pytest.raises(ConfigError, match="last_step"):
        StepMomentum(gamma=0.1, step_size=3, last_step=10)
    epochs = 10
    targets = [0.05 * (0.9**x) for x in range(epochs)]
    sched = stack(optimizer, ExponentialMomentum(gamma=0.9))
    results = []
    for epoch in range(5):
        results.append(optimizer.param_groups[0]["momentum"])
        if epoch == 4:
            break
        sched.step()
    state = sched.state_dict()
    sched2 = stack(optimizer, ExponentialMomentum(gamma=0.9))
    sched2.load_state_dict(state)
    sched2.step()  # the step the checkpointed run had not made (MMEngine's constructor makes it)
    for _ in range(6):
        results.append(optimizer.param_groups[0]["momentum"])
        sched2.step()
    for epoch in range(epochs):
        assert results[epoch] == pytest.approx(targets[epoch], abs=1e-5, rel=0)


@pytest.mark.xfail(strict=True, reason="the stack does not wrap optimizer.step (Lightning orders the steps); "
                   "no 'scheduler before optimizer' warning: docs/schedulers.md")
def test_scheduler_before_optim_warning(optimizer: optim.SGD) -> None:
    with pytest.warns(UserWarning, match="how-to-adjust-learning-rate"):
        sched = stack(optimizer, StepMomentum(gamma=0.1, step_size=3))
        sched.step()
        optimizer.step()


def test_get_last_value(optimizer: optim.SGD) -> None:
    targets = _two([0.05] * 3 + [0.005] * 3 + [0.0005] * 3 + [0.00005])
    sched = stack(optimizer, StepMomentum(3, gamma=0.1))
    for epoch in range(10):
        result = [g["momentum"] for g in optimizer.param_groups]
        optimizer.step()
        sched.step()
        for t, r in zip([t[epoch] for t in targets], result):
            assert r == pytest.approx(t, abs=1e-5, rel=0)


def test_scheduler_step_count(optimizer: optim.SGD) -> None:
    sched = stack(optimizer, StepMomentum(gamma=0.1, step_size=3))
    assert sched.last_iter == 0
    counts = []
    for _ in range(10):
        optimizer.step()
        sched.step()
        counts.append(sched.last_iter)
    assert counts == [i + 1 for i in range(10)]


def test_effective_interval(optimizer: optim.SGD) -> None:
    with pytest.raises(ConfigError, match="must be larger than begin"):
        StepMomentum(gamma=0.1, step_size=3, begin=10, end=5)
    begin, epochs, start_factor, iters = 1, 10, 1.0 / 2, 4
    interpolation = [start_factor + i * (1 - start_factor) / iters for i in range(iters)]
    single = [0.05] * begin + [x * 0.05 for x in interpolation] + [0.05] * (epochs - iters - begin)
    sched = stack(optimizer, LinearMomentum(start_factor=start_factor, begin=begin, end=begin + iters + 1))
    check_values(optimizer, sched, _two(single), epochs, param_name="momentum")


def test_step_scheduler(any_optimizer: Any) -> None:
    single = [0.05] * 3 + [0.005] * 3 + [0.0005] * 3 + [0.00005] * 3
    sched = stack(any_optimizer, StepMomentum(gamma=0.1, step_size=3, verbose=True))
    check_values(any_optimizer, sched, _two(single), 10, param_name="momentum")


def test_multi_step_scheduler(any_optimizer: Any) -> None:
    single = [0.05] * 2 + [0.005] * 3 + [0.0005] * 4 + [0.00005] * 3
    sched = stack(any_optimizer, MultiStepMomentum(gamma=0.1, milestones=[2, 5, 9]))
    check_values(any_optimizer, sched, _two(single), 10, param_name="momentum")


def test_constant_scheduler(any_optimizer: Any) -> None:
    with pytest.raises(ConfigError):
        ConstantMomentum(factor=99)
    single = [0.025] * 4 + [0.05] * 6
    sched = stack(any_optimizer, ConstantMomentum(factor=1.0 / 2, end=5))
    check_values(any_optimizer, sched, _two(single), 10, param_name="momentum")


def test_linear_scheduler(any_optimizer: Any) -> None:
    for bad in (dict(start_factor=10), dict(start_factor=-1), dict(end_factor=1.001), dict(end_factor=-0.00001)):
        with pytest.raises(ConfigError):
            LinearMomentum(end=900, **bad)  # type: ignore[arg-type]
    epochs, start_factor, iters = 10, 1.0 / 2, 4
    interpolation = [start_factor + i * (1 - start_factor) / iters for i in range(iters)]
    single = [x * 0.05 for x in interpolation] + [0.05] * (epochs - iters)
    sched = stack(any_optimizer, LinearMomentum(start_factor=start_factor, end=iters + 1))
    check_values(any_optimizer, sched, _two(single), epochs, param_name="momentum")


def test_exp_scheduler(any_optimizer: Any) -> None:
    single = [0.05 * (0.9**x) for x in range(10)]
    check_values(any_optimizer, stack(any_optimizer, ExponentialMomentum(gamma=0.9)), _two(single), 10,
                 param_name="momentum")


def test_cos_anneal_scheduler(any_optimizer: Any) -> None:
    epochs, t, eta_min = 12, 10, 1e-10
    single = [eta_min + (0.05 - eta_min) * (1 + math.cos(math.pi * x / t)) / 2 for x in range(epochs)]
    sched = stack(any_optimizer, CosineAnnealingMomentum(T_max=t, eta_min=eta_min))
    check_values(any_optimizer, sched, _two(single), epochs, param_name="momentum")
    assert CosineAnnealingMomentum(begin=5, end=100, eta_min=eta_min).T_max == 100 - 5


def test_poly_scheduler(any_optimizer: Any) -> None:
    epochs, power, min_lr, iters = 10, 0.9, 0.001, 4
    layer1 = [min_lr + (0.05 - min_lr) * (1 - i / iters) ** power for i in range(iters)] + [min_lr] * (epochs - iters)
    layer2 = [min_lr + (0.05 * LAYER2_MULT - min_lr) * (1 - i / iters) ** power for i in range(iters)] + [min_lr] * (
        epochs - iters
    )
    sched = stack(any_optimizer, PolyMomentum(power=power, eta_min=min_lr, end=iters + 1))
    check_values(any_optimizer, sched, [layer1, layer2], epochs=10, param_name="momentum")


def test_cosine_restart_scheduler(any_optimizer: Any) -> None:
    with pytest.raises(ConfigError):
        CosineRestartMomentum(periods=[4, 5], restart_weights=[1, 0.5], eta_min=0, eta_min_ratio=0.1)
    with pytest.raises(ConfigError):
        CosineRestartMomentum(periods=[4, 5], restart_weights=[1, 0.5, 0.0], eta_min=0)
    single = [0.05, 0.0426776, 0.025, 0.00732233, 0.025, 0.022612712, 0.01636271, 0.0086372, 0.0023872, 0.0023872]
    sched = stack(any_optimizer, CosineRestartMomentum(periods=[4, 5], restart_weights=[1, 0.5], eta_min=0))
    check_values(any_optimizer, sched, _two(single), epochs=10, param_name="momentum")


def test_reduce_on_plateau_scheduler_errors(model: ToyModel, optimizer: optim.SGD) -> None:
    with pytest.raises(ConfigError, match="momentum or betas"):
        stack(optim.ASGD(model.parameters(), lr=0.01), ReduceOnPlateauMomentum())
    with pytest.raises(ConfigError):
        ReduceOnPlateauMomentum(begin=10, end=5)
    for last_step in (1.5, -2):
        with pytest.raises(ConfigError):
            ReduceOnPlateauMomentum(last_step=last_step)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        ReduceOnPlateauMomentum(factor=2.0)
    stack(optimizer, ReduceOnPlateauMomentum(min_value=[0.1, 0.1]))
    with pytest.raises(ConfigError):
        stack(optimizer, ReduceOnPlateauMomentum(min_value=[0.1, 0.1, 0.1, 0.1]))
    with pytest.raises(ConfigError):
        ReduceOnPlateauMomentum(threshold=-1.0)
    with pytest.raises(ConfigError):
        ReduceOnPlateauMomentum(rule="foo")
    with pytest.raises(ConfigError):
        ReduceOnPlateauMomentum(threshold_rule="foo")
    sched = stack(optimizer, ReduceOnPlateauMomentum(monitor="loss"))
    assert sched.step() is None
    with pytest.raises(TypeError, match="metrics"):
        sched.step_metrics(("foo", 1.0))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="loss_foo"):
        sched.step_metrics(dict(loss_foo=1.0))


@pytest.mark.xfail(strict=True, reason="ReduceOnPlateau with by_epoch=False works here (MMEngine asserts): "
                   "docs/schedulers.md")
def test_reduce_on_plateau_by_epoch_false_refused(optimizer: optim.SGD) -> None:
    with pytest.raises((ConfigError, AssertionError)):
        stack(optimizer, ReduceOnPlateauMomentum(by_epoch=False))


@pytest.mark.parametrize(("rule", "threshold_rule", "threshold", "monitor", "values"), PLATEAU_CASES)
def test_reduce_on_plateau_scheduler_values(
    optimizer: optim.SGD, rule: str, threshold_rule: str, threshold: float, monitor: str, values: list[float]
) -> None:
    sched = stack(optimizer, ReduceOnPlateauMomentum(monitor=monitor, rule=rule, factor=0.1, patience=2,
                                               threshold=threshold, threshold_rule=threshold_rule, cooldown=1,
                                               min_value=0.0))
    check_values(optimizer, sched, _two(PLATEAU_TARGETS), epochs=10, param_name="momentum", metrics=plateau_metrics(monitor, values))


def test_reduce_on_plateau_scheduler_min_value(any_optimizer: Any) -> None:
    sched = stack(any_optimizer, ReduceOnPlateauMomentum(monitor="loss", rule="less", factor=0.1, patience=2, threshold=0.01,
                                               threshold_rule="rel", cooldown=1, min_value=0.01))
    check_values(any_optimizer, sched, MIN_VALUE_TARGETS, epochs=10, param_name="momentum", metrics=plateau_metrics("loss", PLATEAU_LOSSES))


@pytest.mark.parametrize("name", STATE_NAMES)
def test_scheduler_state_dict_same_config(optimizer: optim.SGD, name: str) -> None:
    first, _ = state_pairs(name, "Momentum")
    check_state_dict(lambda: stack(optimizer, first()), lambda: stack(optimizer, first()), metrics=state_metrics(name))


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=OTHER_CONFIG))
                                  for n in STATE_NAMES])
def test_scheduler_state_dict(optimizer: optim.SGD, name: str) -> None:
    first, second = state_pairs(name, "Momentum")
    check_state_dict(lambda: stack(optimizer, first()), lambda: stack(optimizer, second()), metrics=state_metrics(name))


def test_multi_scheduler_without_overlap_linear_multi_step(optimizer: optim.SGD) -> None:
    single = [0.025, 0.03125, 0.0375, 0.04375] + [0.05] * 4 + [0.005] * 3 + [0.0005] * 1
    sched = stack(optimizer, LinearMomentum(start_factor=1 / 2, begin=0, end=5),
                  MultiStepMomentum(gamma=0.1, milestones=[3, 6], begin=5, end=12))
    check_values(optimizer, sched, _two(single), 12, param_name="momentum")


def test_multi_scheduler_without_overlap_exp_cosine(optimizer: optim.SGD) -> None:
    single1 = [0.05 * (0.9**x) for x in range(5)]
    eta_min = 1e-10
    single2 = [eta_min + (single1[-1] - eta_min) * (1 + math.cos(math.pi * x / 5)) / 2 for x in range(5)]
    sched = stack(optimizer, ExponentialMomentum(gamma=0.9, begin=0, end=5),
                  CosineAnnealingMomentum(T_max=5, eta_min=eta_min, begin=5, end=10))
    check_values(optimizer, sched, _two(single1 + single2), 10, param_name="momentum")


def test_multi_scheduler_with_overlap(optimizer: optim.SGD) -> None:
    single = [0.025, 0.03125, 0.0375, 0.004375] + [0.005] * 2 + [0.0005] * 3 + [0.00005] * 1
    sched = stack(optimizer, LinearMomentum(start_factor=1 / 2, begin=0, end=5),
                  MultiStepMomentum(gamma=0.1, milestones=[3, 6, 9]))
    check_values(optimizer, sched, _two(single), 10, param_name="momentum")


def test_multi_scheduler_with_gap(optimizer: optim.SGD) -> None:
    single1 = [0.05 * (0.9**x) for x in range(5)]
    eta_min = 1e-10
    single2 = [eta_min + (single1[-1] - eta_min) * (1 + math.cos(math.pi * x / 5)) / 2 for x in range(5)]
    sched = stack(optimizer, ExponentialMomentum(gamma=0.9, begin=0, end=5),
                  CosineAnnealingMomentum(T_max=5, eta_min=eta_min, begin=10, end=15))
    check_values(optimizer, sched, _two(single1 + [single1[-1]] * 5 + single2), 15, param_name="momentum")


def test_build_scheduler_takes_the_optimizer_first(optimizer: optim.SGD) -> None:
    """Arguments swapped by mistake: one message saying an optimizer is expected."""
    with pytest.raises(ConfigError, match="expects a torch.optim.Optimizer"):
        build_scheduler([dict(type="StepMomentum", step_size=1)], optimizer)  # type: ignore[arg-type]
