"""``ReduceOnPlateau*``: reduce a hyper-parameter when a validation metric stops improving.

Same decision rule as MMEngine 0.10.7 (``rule``/``threshold_rule``/``patience``/``cooldown``/
``min_value``/``eps``, its ``best`` starting at ``int(1e9)``). Differences, all where MMEngine fails:
``by_epoch=False`` and ``convert_to_iter_based=True`` work (its window then counts iterations and
it is fed after each iteration-based validation); ``ReduceOnPlateauMomentum`` with Adam works.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lightning_runtime.errors import ConfigError
from lightning_runtime.schedulers._base import INF, ParamScheduler, check_floor, check_int, check_number

__all__ = ["ReduceOnPlateauParamScheduler"]


class ReduceOnPlateauParamScheduler(ParamScheduler):
    """Multiply by ``factor`` after ``patience`` validations without improvement of ``monitor``.

    Args:
        param_name: The param-group key it drives.
        monitor: Name of the validation metric (as logged; ``'mIoU'``, ``'loss'``).
        rule: ``'less'`` (lower is better) or ``'greater'``.
        factor: Multiplier (< 1).
        patience: Validations without improvement tolerated before reducing.
        threshold: Minimal change that counts as an improvement.
        threshold_rule: ``'rel'`` or ``'abs'``.
        cooldown: Validations to wait after a reduction.
        min_value: Lower bound, a number or one per param group.
        eps: Reductions smaller than this are skipped.
    """

    need_val_args = True

    def __init__(self, param_name: str, monitor: str = "loss", rule: str = "less", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_rule: str = "rel", cooldown: int = 0,
                 min_value: float | Sequence[float] = 0.0, eps: float = 1e-8, begin: int = 0, end: int = INF,
                 last_step: int = -1, by_epoch: bool = True, verbose: bool = False) -> None:
        super().__init__(param_name, begin, end, last_step, by_epoch, verbose)
        if not isinstance(monitor, str) or not monitor:
            raise ConfigError(f"must be a metric name, got {monitor!r}", path="monitor",
                              fix="name a validation metric, e.g. monitor='mIoU'")
        self.monitor = monitor
        if rule not in ("less", "greater"):
            raise ConfigError(f"must be 'less' or 'greater', got {rule!r}", path="rule",
                              fix="rule='less' for a loss, rule='greater' for an accuracy/mIoU")
        if threshold_rule not in ("rel", "abs"):
            raise ConfigError(f"must be 'rel' or 'abs', got {threshold_rule!r}", path="threshold_rule",
                              fix="write threshold_rule='rel' (the default) or 'abs'")
        self.rule, self.threshold_rule = rule, threshold_rule
        self.factor = check_number(factor, "factor")
        if self.factor >= 1.0:
            raise ConfigError(f"must be < 1.0, got {factor!r}", path="factor",
                              fix="the value is multiplied by factor on a plateau: use e.g. factor=0.1")
        self.threshold = check_number(threshold, "threshold", low=0.0)
        self.patience = check_int(patience, "patience", minimum=0)
        self.cooldown = check_int(cooldown, "cooldown", minimum=0)
        self.eps = check_number(eps, "eps")
        self.min_value = min_value
        self.rule_worse = INF if rule == "less" else -INF
        self.min_values: list[float] = []
        self.best: float = self.rule_worse
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_step = -1

    def setup(self, initial: list[float]) -> list[float] | None:
        n = len(initial)
        if isinstance(self.min_value, (list, tuple)):
            if len(self.min_value) != n:
                raise ConfigError(f"expected {n} values (one per param group), got {len(self.min_value)}",
                                  path="min_value", fix=f"give {n} values, or one number for every group")
            self.min_values = [check_floor(v, f"min_value[{i}]") for i, v in enumerate(self.min_value)]
        else:
            self.min_values = [check_floor(self.min_value, "min_value")] * n
        return super().setup(initial)

    def get_value(self, step: int, cur: list[float]) -> list[float] | None:
        return None  # moves only when fed a metric

    def _is_better(self, a: float, best: float) -> bool:
        if self.rule == "less" and self.threshold_rule == "rel":
            return a < best * (1.0 - self.threshold)
        if self.rule == "less":
            return a < best - self.threshold
        if self.threshold_rule == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def update(self, metric: float, cur: list[float]) -> list[float] | None:
        """Feed one validation result; returns the new values when it reduces them."""
        self.last_step += 1
        if self._is_better(metric, self.best):
            self.best = metric
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs <= self.patience:
            return None
        values = [max(float(v) * self.factor, m) for v, m in zip(cur, self.min_values)]
        self.cooldown_counter = self.cooldown
        self.num_bad_epochs = 0
        return [new if old - new > self.eps else old for old, new in zip(cur, values)]

    def state_dict(self) -> dict[str, Any]:
        return {
            "best": self.best,
            "num_bad_epochs": self.num_bad_epochs,
            "cooldown_counter": self.cooldown_counter,
            "last_step": self.last_step,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.best = state["best"]
        self.num_bad_epochs = state["num_bad_epochs"]
        self.cooldown_counter = state["cooldown_counter"]
        self.last_step = state["last_step"]
