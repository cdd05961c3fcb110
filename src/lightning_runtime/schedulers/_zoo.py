"""MMEngine's curve schedulers as rules (generic ``*ParamScheduler`` forms).

Each ``get_value`` is MMEngine 0.10.7's ``_get_value`` with the same operations in the same order
(a scalar factor computed in Python, then applied to every group), so a stack of these rules
reproduces MMEngine's floats. Where MMEngine divides by zero (``LinearLR(start_factor=0)``,
``ConstantLR(factor=0)``) these rules keep going; see ``docs/schedulers.md``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from lightning_runtime.errors import ConfigError
from lightning_runtime.schedulers._base import (
    INF,
    ParamScheduler,
    Vec,
    check_floor,
    check_int,
    check_number,
    check_ratio,
    like,
    scale,
    toward,
)

__all__ = [
    "ConstantParamScheduler",
    "LinearParamScheduler",
    "StepParamScheduler",
    "MultiStepParamScheduler",
    "ExponentialParamScheduler",
    "PolyParamScheduler",
    "PolyRatioParamScheduler",
    "CosineAnnealingParamScheduler",
    "CosineRestartParamScheduler",
    "OneCycleParamScheduler",
]

_WINDOW = dict(begin=0, end=INF, last_step=-1, by_epoch=True, verbose=False)


def _eta_min_pair(eta_min: float | None, eta_min_ratio: float | None, *, default_zero: bool) -> tuple:
    if eta_min is None and eta_min_ratio is None and default_zero:
        eta_min = 0.0
    if (eta_min is None) == (eta_min_ratio is None):
        raise ConfigError(
            "give exactly one of eta_min and eta_min_ratio",
            path="eta_min",
            fix="eta_min is an absolute floor; eta_min_ratio a fraction of each group's base value",
        )
    if eta_min is not None:
        check_floor(eta_min)
    else:
        check_ratio(eta_min_ratio)
    return eta_min, eta_min_ratio


class ConstantParamScheduler(ParamScheduler):
    """Multiply by ``factor`` from ``begin`` until ``end - 1``, where the value is restored.

    ``factor=0`` (a ZeroDivisionError in MMEngine) restores the values saved at ``begin``.
    """

    def __init__(self, param_name: str, factor: float = 1.0 / 3, begin: int = 0, end: int = INF,
                 last_step: int = -1, by_epoch: bool = True, verbose: bool = False) -> None:
        self.factor = check_number(factor, "factor", low=0.0, high=1.0)
        super().__init__(param_name, begin, end, last_step, by_epoch, verbose)
        self.total_iters = self.end - self.begin - 1
        self._saved: Vec | None = None

    def get_value(self, step: int, cur: list[float]) -> list[float] | None:
        if step == 0:
            if self.factor == 0:
                self._saved = Vec(cur)
            return scale(cur, self.factor)
        if step != self.total_iters:
            return None
        if self.factor == 0:
            return like(cur, self._saved if self._saved is not None else Vec(cur))
        return scale(cur, 1.0 / self.factor)

    def state_dict(self) -> dict[str, Any]:
        return {"saved": None if self._saved is None else list(self._saved)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        saved = state.get("saved")
        self._saved = None if saved is None else Vec(saved)


class LinearParamScheduler(ParamScheduler):
    """Scale linearly from ``start_factor`` to ``end_factor``, reached at ``end - 1`` and held.

    ``start_factor=0`` (a ZeroDivisionError in MMEngine) ramps up from the values saved at ``begin``.
    """

    def __init__(self, param_name: str, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 begin: int = 0, end: int = INF, last_step: int = -1, by_epoch: bool = True,
                 verbose: bool = False) -> None:
        self.start_factor = check_number(start_factor, "start_factor", low=0.0, high=1.0)
        self.end_factor = check_number(end_factor, "end_factor", low=0.0, high=1.0)
        super().__init__(param_name, begin, end, last_step, by_epoch, verbose)
        self.total_iters = self.end - self.begin - 1
        self._saved: Vec | None = None

    def get_value(self, step: int, cur: list[float]) -> list[float] | None:
        sf, ef = self.start_factor, self.end_factor
        if step == 0:
            if sf == 0:
                self._saved = Vec(cur)
            return scale(cur, sf)
        denom = self.total_iters * sf + (step - 1) * (ef - sf)
        if denom == 0:
            if self._saved is None or step != 1:  # start_factor == end_factor == 0: stays 0
                return None
            return scale(like(cur, self._saved), sf + (ef - sf) * step / self.total_iters)
        return scale(cur, 1.0 + (ef - sf) / denom)

    def state_dict(self) -> dict[str, Any]:
        return {"saved": None if self._saved is None else list(self._saved)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        saved = state.get("saved")
        self._saved = None if saved is None else Vec(saved)


class StepParamScheduler(ParamScheduler):
    """Multiply by ``gamma`` every ``step_size`` steps (counted from ``begin``)."""

    step_args = ("step_size",)

    def __init__(self, param_name: str, step_size: int, gamma: float = 0.1, begin: int = 0,
                 end: int = INF, last_step: int = -1, by_epoch: bool = True, verbose: bool = False) -> None:
        self.step_size = check_int(step_size, "step_size", minimum=1)
        self.gamma = check_number(gamma, "gamma")
        super().__init__(param_name, begin, end, last_step, by_epoch, verbose)

    def get_value(self, step: int, cur: list[float]) -> list[float] | None:
        if step == 0 or step % self.step_size != 0:
            return None
        return scale(cur, self.gamma)


class MultiStepParamScheduler(ParamScheduler):
    """Multiply by ``gamma`` at each milestone (steps counted from ``begin``)."""

    step_args = ("milestones",)

    def __init__(self, param_name: str, milestones: Sequence[int], gamma: float = 0.1,
                 last_step: int = -1, begin: int = 0, end: int = INF, by_epoch: bool = True,
                 verbose: bool = False) -> None:
        if isinstance(milestones, (str, bytes)) or not isinstance(milestones, Sequence):
            raise ConfigError(f"must be a list of steps, got {milestones!r}", path="milestones",
                              fix="write e.g. milestones=[8, 11]")
        self.milestones = Counter(check_int(m, f"milestones[{i}]", minimum=0) for i, m in enumerate(milestones))
        self.gamma = check_number(gamma, "gamma")
        super().__init__(param_name, begin, end, last_step, by_epoch, verbose)

    def get_value(self, step: int, cur: list[float]) -> list[float] | None:
        count = self.milestones.get(step)
        if not count:
            return None
        return scale(cur, self.gamma**count)


class ExponentialParamScheduler(ParamScheduler):
    """Multiply by ``gamma`` every step after ``begin``."""

    def __init__(self, param_name: str, gamma: float, begin: int = 0, end: int = INF,
                 last_step: int = -1, by_epoch: bool = True, verbose: bool = False) -> None:
        self.gamma = check_number(gamma, "gamma")
        super().__init__(param_name, begin, end, last_step, by_epoch, verbose)

    def get_value(self, step: int, cur: list[float]) -> list[float] | None:
        if step == 0:
            return None
        return scale(cur, self.gamma)


class PolyParamScheduler(ParamScheduler):
    """Polynomial decay to ``eta_min``, reached at ``end - 1`` and held."""

    def __init__(self, param_name: str, eta_min: float = 0, power: float = 1.0, begin: int = 0,
                 end: int = INF, last_step: int = -1, by_epoch: bool = True, verbose: bool = False) -> None:
        self.eta_min = check_floor(eta_min)
        # a negative power divides by zero at the window's last step (MMEngine crashes there)
        self.power = check_number(power, "power", low=0.0, high=1e6)
        super().__init__(param_name, begin, end, last_step, by_epoch, verbose)
        self.total_iters = self.end - self.begin - 1

    def setup(self, initial: list[float]) -> list[float] | None:
        super().setup(initial)
        self._eta = self._eta_min()
        return None

    def _eta_min(self) -> Any:
        return self.eta_min

    def min_value_hint(self) -> float | None:
        return self.eta_min

    def get_value(self, step: int, cur: list[float]) -> list[float] | None:
        if step == 0:
            return None
        return toward(cur, (1 - 1 / (self.total_iters - step + 1)) ** self.power, self._eta)


class PolyRatioParamScheduler(PolyParamScheduler):
    """MMSegmentation's ``PolyLRRatio``: poly decay to ``base * eta_min_ratio`` (or ``eta_min``)."""

    def __init__(self, param_name: str, eta_min_ratio: float | None = None, eta_min: float = 0,
                 power: float = 1.0, begin: int = 0, end: int = INF, last_step: int = -1,
                 by_epoch: bool = True, verbose: bool = False) -> None:
        super().__init__(param_name, eta_min, power, begin, end, last_step, by_epoch, verbose)
        self.eta_min_ratio = None if eta_min_ratio is None else check_ratio(eta_min_ratio)

    def _eta_min(self) -> Any:
        if self.eta_min_ratio is None:
            return self.eta_min
        return Vec(b * self.eta_min_ratio for b in self.base_values)

    def min_value_hint(self) -> float | None:
        return self.eta_min if self.eta_min_ratio is None else None


class CosineAnnealingParamScheduler(ParamScheduler):
    """Cosine annealing from the base value to ``eta_min`` over ``T_max`` (default ``end - begin``).

    With the default ``T_max`` the value at ``end - 1`` is still above ``eta_min`` (as in MMEngine).
    """

    step_args = ("T_max",)

    def __init__(self, param_name: str, T_max: int | None = None, eta_min: float | None = None,
                 begin: int = 0, end: int = INF, last_step: int = -1, by_epoch: bool = True,
                 verbose: bool = False, eta_min_ratio: float | None = None) -> None:
        self.eta_min, self.eta_min_ratio = _eta_min_pair(eta_min, eta_min_ratio, default_zero=True)
        super().__init__(param_name, begin, end, last_step, by_epoch, verbose)
        if T_max is not None:
            check_int(T_max, "T_max", minimum=0)
        self.T_max = int(T_max or (self.end - self.begin))

    def min_value_hint(self) -> float | None:
        return self.eta_min

    def setup(self, initial: list[float]) -> list[float] | None:
        super().setup(initial)
        if self.eta_min_ratio is None:
            self._etas = Vec([self.eta_min] * len(self.base_values))
        else:
            self._etas = Vec(b * self.eta_min_ratio for b in self.base_values)
        self._gap = Vec(b - e for b, e in zip(self.base_values, self._etas))  # MMEngine's (base - eta_min)
        return None

    def get_value(self, step: int, cur: list[float]) -> list[float] | None:
        if step == 0:
            return None
        t_max = self.T_max
        if (step - 1 - t_max) % (2 * t_max) == 0:
            c = 1 - math.cos(math.pi / t_max)
            if isinstance(cur, list):
                return [v + g * c / 2 for v, g in zip(cur, self._gap)]
            return cur + self._gap.np * c / 2
        ratio = (1 + math.cos(math.pi * step / t_max)) / (1 + math.cos(math.pi * (step - 1) / t_max))
        return toward(cur, ratio, self._etas, ratio_first=True)


class CosineRestartParamScheduler(ParamScheduler):
    """Cosine annealing with restarts: one cycle per entry of ``periods``, peak scaled by ``restart_weights``."""

    step_args = ("periods",)

    def __init__(self, param_name: str, periods: Sequence[int], restart_weights: Sequence[float] = (1,),
                 eta_min: float | None = None, eta_min_ratio: float | None = None, begin: int = 0,
                 end: int = INF, last_step: int = -1, by_epoch: bool = True, verbose: bool = False) -> None:
        self.eta_min, self.eta_min_ratio = _eta_min_pair(eta_min, eta_min_ratio, default_zero=False)
        if isinstance(periods, (str, bytes)) or not isinstance(periods, Sequence) or not periods:
            raise ConfigError(f"must be a non-empty list of cycle lengths, got {periods!r}", path="periods",
                              fix="write e.g. periods=[40000, 40000]")
        self.periods = [check_int(p, f"periods[{i}]", minimum=1) for i, p in enumerate(periods)]
        self.restart_weights = [check_number(w, f"restart_weights[{i}]") for i, w in enumerate(restart_weights)]
        if len(self.periods) != len(self.restart_weights):
            raise ConfigError(
                f"has {len(self.restart_weights)} entries but periods has {len(self.periods)}",
                path="restart_weights",
                fix="give one restart weight per period",
            )
        self.cumulative_periods = [sum(self.periods[: i + 1]) for i in range(len(self.periods))]
        super().__init__(param_name, begin, end, last_step, by_epoch, verbose)

    def min_value_hint(self) -> float | None:
        return self.eta_min

    def setup(self, initial: list[float]) -> list[float] | None:
        super().setup(initial)
        ratio = self.eta_min_ratio
        self._eta = self.eta_min if ratio is None else Vec(b * ratio for b in self.base_values)
        return None

    def get_value(self, step: int, cur: list[float]) -> list[float] | None:
        idx = next((i for i, p in enumerate(self.cumulative_periods) if step < p), None)
        if idx is None:
            return None
        nearest_restart = 0 if idx == 0 else self.cumulative_periods[idx - 1]
        period = self.periods[idx]
        s = step - nearest_restart
        if s == 0:
            return scale(like(cur, self.base_values), self.restart_weights[idx])
        ratio = (1 + math.cos(math.pi * s / period)) / (1 + math.cos(math.pi * (s - 1) / period))
        return toward(cur, ratio, self._eta, ratio_first=True)


class OneCycleParamScheduler(ParamScheduler):
    """The 1cycle policy (closed form: overwrites, does not chain). Only for ``lr``.

    Like MMEngine, it redefines the groups' initial value as ``eta_max / div_factor``, which later
    rules use as their base value.
    """

    step_args = ("total_steps",)

    def __init__(self, param_name: str, eta_max: float | Sequence[float] = 0, total_steps: int | None = None,
                 pct_start: float = 0.3, anneal_strategy: str = "cos", div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False, begin: int = 0, end: int = INF,
                 last_step: int = -1, by_epoch: bool = True, verbose: bool = False) -> None:
        if param_name != "lr":
            raise ConfigError(f"OneCycle only schedules 'lr', got param_name={param_name!r}", path="param_name",
                              fix="use OneCycleLR (it schedules 'lr') or another scheduler for other parameters")
        super().__init__(param_name, begin, end, last_step, by_epoch, verbose)
        self.eta_max = eta_max
        self.div_factor = check_number(div_factor, "div_factor")
        self.final_div_factor = check_number(final_div_factor, "final_div_factor")
        if total_steps is not None:
            total_steps = check_int(total_steps, "total_steps", minimum=1)
        self.total_steps = total_steps if total_steps is not None else self.end - self.begin
        if self.end - self.begin - 1 > self.total_steps:
            raise ConfigError(
                f"the window {self.begin}-{self.end} is longer than total_steps={self.total_steps} + 1 "
                "(MMEngine raises ValueError mid-training there)",
                path="total_steps",
                fix=f"set end={self.begin + self.total_steps + 1} or remove total_steps",
            )
        self.pct_start = check_number(pct_start, "pct_start", low=0.0, high=1.0)
        if anneal_strategy not in ("cos", "linear"):
            raise ConfigError(f"must be 'cos' or 'linear', got {anneal_strategy!r}", path="anneal_strategy",
                              fix="write anneal_strategy='cos' (the default) or 'linear'")
        self.anneal_strategy = anneal_strategy
        n = self.total_steps
        if three_phase:
            self._phases = [(float(pct_start * n) - 1, "initial", "max"),
                            (float(2 * pct_start * n) - 2, "max", "initial"),
                            (n - 1, "initial", "min")]
        else:
            self._phases = [(float(pct_start * n) - 1, "initial", "max"), (n - 1, "max", "min")]
        self._values: dict[str, Vec] = {}

    def setup(self, initial: list[float]) -> list[float] | None:
        n = len(initial)
        if isinstance(self.eta_max, (list, tuple)):
            if len(self.eta_max) != n:
                raise ConfigError(f"expected {n} values (one per param group), got {len(self.eta_max)}",
                                  path="eta_max", fix=f"give {n} values, or one number for every group")
            max_values = Vec(check_floor(v, f"eta_max[{i}]") for i, v in enumerate(self.eta_max))
        else:
            max_values = Vec([check_floor(self.eta_max, "eta_max")] * n)
        start = Vec(m / self.div_factor for m in max_values)
        self._values = {"max": max_values, "initial": start, "min": Vec(v / self.final_div_factor for v in start)}
        super().setup(start)
        return start

    def get_value(self, step: int, cur: list[float]) -> list[float] | None:
        start_step = 0.0
        for i, (end_step, first, last) in enumerate(self._phases):
            if step <= end_step or i == len(self._phases) - 1:
                span = end_step - start_step
                pct = (step - start_step) / span if span else 1.0
                starts, ends = self._values[first], self._values[last]
                if isinstance(cur, list):
                    if self.anneal_strategy == "cos":
                        cos_out = math.cos(math.pi * pct) + 1
                        return [b + (a - b) / 2.0 * cos_out for a, b in zip(starts, ends)]
                    return [(b - a) * pct + a for a, b in zip(starts, ends)]
                a, b = starts.np, ends.np
                if self.anneal_strategy == "cos":
                    return b + (a - b) / 2.0 * (math.cos(math.pi * pct) + 1)
                return (b - a) * pct + a
            start_step = end_step
        return None  # pragma: no cover - the last phase always matches
