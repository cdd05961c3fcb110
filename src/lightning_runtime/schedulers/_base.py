"""The base class every scheduler in the zoo derives from.

A :class:`ParamScheduler` here is a *rule*, not an object bound to an optimizer: it knows its window
(``begin``/``end``, ``by_epoch``), the hyper-parameter it drives (``param_name``) and how to compute
the next value of every param group from the current ones. :class:`~.stack.ParamSchedulerStack`
owns the optimizer, the counters and the order in which rules apply, exactly as MMEngine's
``ParamSchedulerHook`` steps a list of ``_ParamScheduler`` objects.

The arithmetic of each rule is MMEngine's *chainable* form, operation for operation, so composed
windows (a warmup inside a poly window, two chainable rules multiplying) give the same floats.

Writing your own rule::

    from lightning_runtime.registry import PARAM_SCHEDULERS
    from lightning_runtime.schedulers import ParamScheduler, scale

    @PARAM_SCHEDULERS.register_module()
    class HalvingLR(ParamScheduler):
        def __init__(self, every: int = 10, **kwargs):
            self.every = every
            super().__init__('lr', **kwargs)

        def get_value(self, step, cur):
            # cur: one value per group (a list live, an ndarray in dry runs); scale() handles both
            return scale(cur, 0.5) if step and step % self.every == 0 else None
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from lightning_runtime.errors import ConfigError, check_int, check_number

__all__ = ["INF", "ParamScheduler", "Vec", "check_floor", "check_int", "check_number", "check_ratio", "scale", "toward",
           "like"]

#: MMEngine's "no end" (``int(1e9)``); an unset ``end`` without a train loop length.
INF = int(1e9)


class Vec(list):
    """One float per param group: a list for the live path, with an ndarray twin (``.np``) for dry runs."""

    def __init__(self, values: Any = ()) -> None:
        super().__init__(float(v) for v in values)
        self.np = np.array(self, dtype=float)


def check_floor(value: Any, name: str = "eta_min") -> float:
    """An absolute floor (``eta_min``, ``min_value``, ``eta_max``): a number >= 0.

    No learning rate, momentum or weight decay is negative; MMEngine accepts one and trains with it.
    """
    return check_number(value, name, low=0.0)


def check_ratio(eta_min_ratio: Any) -> float:
    """``eta_min_ratio``: the floor as a fraction of each group's base value, in ``[0, 1]``."""
    return check_number(eta_min_ratio, "eta_min_ratio", low=0.0, high=1.0)


# Arithmetic shared by the live path (lists of Python floats, cheap for tens of groups) and dry runs
# (ndarrays over groups). Both are IEEE double operations in the same order, so the two agree bit
# for bit; the expressions are MMEngine's.
def like(cur: Any, vec: Vec) -> Any:
    """``vec`` in the representation of ``cur`` (a fresh list, or the ndarray twin)."""
    return vec.np.copy() if isinstance(cur, np.ndarray) else list(vec)


def scale(cur: Any, factor: float) -> Any:
    """``v * factor`` for every group."""
    if isinstance(cur, np.ndarray):
        return cur * factor
    return [v * factor for v in cur]


def toward(cur: Any, ratio: float, eta: Any, ratio_first: bool = False) -> Any:
    """``(v - eta) * ratio + eta`` (poly), or ``ratio * (v - eta) + eta`` with ``ratio_first`` (cosine)."""
    if isinstance(cur, np.ndarray):
        e = eta.np if isinstance(eta, Vec) else eta
        return ratio * (cur - e) + e if ratio_first else (cur - e) * ratio + e
    if isinstance(eta, list):
        if ratio_first:
            return [ratio * (v - e) + e for v, e in zip(cur, eta)]
        return [(v - e) * ratio + e for v, e in zip(cur, eta)]
    if ratio_first:
        return [ratio * (v - eta) + eta for v in cur]
    return [(v - eta) * ratio + eta for v in cur]


class ParamScheduler:
    """A rule that schedules one hyper-parameter of every param group (MMEngine's ``_ParamScheduler``).

    Args:
        param_name: The param-group key it drives (``'lr'``, ``'momentum'``, ``'weight_decay'``).
        begin: First step (iteration, or epoch when ``by_epoch``) of the window.
        end: First step after the window (exclusive). Defaults to :data:`INF`.
        last_step: Only ``-1`` is accepted: resuming restores the state from the checkpoint.
        by_epoch: Count steps in epochs (stepped at epoch ends) instead of iterations.
        verbose: Accepted for compatibility; the values are visible with ``LearningRateMonitor``.

    Subclasses implement :meth:`get_value`. ``step`` passed to it is MMEngine's ``last_step``:
    0 at ``begin``, counted in the scheduler's own unit.
    """

    #: Reads validation metrics (``ReduceOnPlateau*``) instead of following a fixed curve.
    need_val_args: ClassVar[bool] = False
    #: ``'momentum'`` drives ``betas[0]`` of Adam-family optimizers (MMEngine's momentum mixin).
    momentum_via_betas: ClassVar[bool] = False
    #: Keyword arguments counted in steps, multiplied by ``epoch_length`` by ``convert_to_iter_based``.
    step_args: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        param_name: str,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        if not isinstance(param_name, str) or not param_name:
            raise ConfigError(f"must be a param-group key such as 'lr', got {param_name!r}", path="param_name",
                              fix="use the LR/momentum variant of the scheduler, or param_name='lr'")
        self.param_name = param_name
        self.begin = check_int(begin, "begin", minimum=0)
        self.end = INF if isinstance(end, float) and math.isinf(end) and end > 0 else check_int(end, "end")
        if self.end <= self.begin:
            raise ConfigError(
                f"must be larger than begin ({self.begin}), got {self.end}",
                path="end",
                fix="a window covers steps begin..end-1; set end > begin",
            )
        if last_step != -1:
            raise ConfigError(
                f"last_step={last_step!r} is not supported",
                path="last_step",
                fix="remove it: resuming restores the scheduler state from the checkpoint",
            )
        if not isinstance(by_epoch, bool):
            raise ConfigError(f"must be True or False, got {by_epoch!r}", path="by_epoch",
                              fix="write by_epoch=False to count iterations, by_epoch=True for epochs")
        self.by_epoch = by_epoch
        self.verbose = bool(verbose)
        self.base_values: Vec = Vec()

    # ------------------------------------------------------------------ conversion
    @classmethod
    def convert_kwargs(cls, kwargs: Mapping[str, Any], epoch_length: int) -> dict[str, Any]:
        """MMEngine's ``build_iter_from_epoch``: an epoch-based config made iteration-based.

        ``begin``/``end`` become ``int(x * epoch_length)`` (``end`` stays :data:`INF` when unset) and
        every argument in :attr:`step_args` is multiplied by ``epoch_length``.
        """
        out = dict(kwargs)
        out["by_epoch"] = False
        out["begin"] = int(out.get("begin", 0) * epoch_length)
        if out.get("end", INF) != INF:
            out["end"] = int(out["end"] * epoch_length)
        for name in cls.step_args:
            value = out.get(name)
            if value is None:
                continue
            if isinstance(value, (list, tuple)):
                out[name] = [v * epoch_length for v in value]
            else:
                out[name] = value * epoch_length
        return out

    # ------------------------------------------------------------------ the rule
    def setup(self, initial: list[float]) -> list[float] | None:
        """Bind to the groups' initial values (MMEngine's ``base_values``).

        Returns new initial values when the rule redefines them (``OneCycle`` does), else ``None``.
        """
        self.base_values = Vec(initial)
        return None

    def get_value(self, step: int, cur: list[float]) -> list[float] | None:
        """Values of all groups after this step, given the current ones; ``None`` for "unchanged".

        Args:
            step: Steps since ``begin`` (0 at ``begin``).
            cur: Current values, one float per param group (do not modify in place).
        """
        raise NotImplementedError

    def min_value_hint(self) -> float | None:
        """An absolute value the schedule tends to (``eta_min``), for the "lr rises" warning."""
        return None

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """Mutable state beyond the counters (most rules have none)."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""

    def describe(self) -> str:
        """``PolyLR(lr, 1000-160000 iters)``: a short label for messages and ``explain``."""
        unit = "epochs" if self.by_epoch else "iters"
        end = "inf" if self.end >= INF else str(self.end)
        return f"{type(self).__name__}({self.param_name}, {self.begin}-{end} {unit})"

    def __repr__(self) -> str:
        return self.describe()
