"""``EarlyStoppingHook`` -> Lightning's ``EarlyStopping``, with MMEngine's arguments.

``rule`` is ``'greater'``/``'less'`` (Lightning's ``mode='max'/'min'``), inferred from the
monitor name as MMEngine does (``mIoU``, ``acc``, ... -> greater; ``loss`` -> less).
``min_delta`` (MMEngine default 0.1), ``patience`` (5), ``check_finite``, ``stopping_threshold``
mean the same; ``strict=False`` (MMEngine's default) warns and skips when the metric is missing.
The check runs after each validation, as MMEngine's ``after_val_epoch``.

Divergence: an improvement of exactly ``min_delta`` resets patience in MMEngine but not in
Lightning (``current - min_delta > best``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Optional

from lightning.pytorch.callbacks import EarlyStopping
from lightning.pytorch.utilities.rank_zero import rank_zero_warn

from lightning_runtime.errors import ConfigError, check_int, check_number
from lightning_runtime.registry import HOOKS

__all__ = ["EarlyStoppingHook", "infer_rule", "GREATER_KEYS", "LESS_KEYS"]

#: Metric names (or parts of names) for which a greater value is better (MMEngine's list).
GREATER_KEYS: tuple[str, ...] = ("acc", "top", "AR@", "auc", "precision", "mAP", "mDice", "mIoU", "mAcc", "aAcc")
#: Metric names (or parts of names) for which a smaller value is better.
LESS_KEYS: tuple[str, ...] = ("loss",)


def infer_rule(
    metric: str,
    greater_keys: Iterable[str] = GREATER_KEYS,
    less_keys: Iterable[str] = LESS_KEYS,
    *,
    fix: str = "set rule='greater' or rule='less'",
) -> str:
    """``'greater'`` or ``'less'`` for ``metric``: MMEngine's ``_init_rule`` (CheckpointHook, EarlyStoppingHook).

    An exact (case-insensitive) name wins over a part of a name; ``greater_keys`` over ``less_keys``.

    Example:
        >>> infer_rule('mIoU'), infer_rule('val/loss_ce')
        ('greater', 'less')

    Raises:
        ConfigError: at ``rule`` when neither list matches (``fix`` says what to do).
    """
    greater = {k.lower() for k in greater_keys}
    less = {k.lower() for k in less_keys}
    name = metric.lower()
    if name in greater:
        return "greater"
    if name in less:
        return "less"
    if any(k in name for k in greater):
        return "greater"
    if any(k in name for k in less):
        return "less"
    raise ConfigError(f"cannot infer whether a greater or smaller {metric!r} is better", path="rule", fix=fix)


@HOOKS.register_module()
class EarlyStoppingHook(EarlyStopping):
    """Stop training when a validation metric stops improving (MMEngine's arguments).

    Example:
        >>> hook = EarlyStoppingHook(monitor="mIoU", patience=3)
        >>> hook.mode, hook.rule, hook.priority
        ('max', 'greater', 'LOWEST')
    """

    priority = "LOWEST"

    def __init__(
        self,
        monitor: str,
        rule: Optional[str] = None,
        min_delta: float = 0.1,
        strict: bool = False,
        check_finite: bool = True,
        patience: int = 5,
        stopping_threshold: Optional[float] = None,
    ) -> None:
        if not isinstance(monitor, str) or not monitor:
            raise ConfigError(f"must be the name of a logged metric (a string), got {monitor!r}", path="monitor",
                              fix="write monitor='mIoU' (or another key your validation logs)")
        if rule is None:
            rule = infer_rule(monitor)
        if rule not in ("greater", "less"):
            raise ConfigError(f"rule must be 'greater' or 'less', got {rule!r}", path="rule",
                              fix="write rule='greater' (higher is better) or rule='less'")
        min_delta = check_number(min_delta, "min_delta", low=0)
        patience = check_int(patience, "patience", minimum=0)
        for name, flag in (("strict", strict), ("check_finite", check_finite)):
            if not isinstance(flag, bool):
                raise ConfigError(f"must be True or False, got {flag!r}", path=name, fix=f"write {name}=True or {name}=False")
        if stopping_threshold is not None:
            stopping_threshold = check_number(stopping_threshold, "stopping_threshold")
        self.rule = rule
        super().__init__(
            monitor=monitor,
            min_delta=min_delta,
            patience=patience,
            mode="max" if rule == "greater" else "min",
            strict=strict,
            check_finite=check_finite,
            stopping_threshold=stopping_threshold,
            check_on_train_epoch_end=False,
        )

    def _validate_condition_metric(self, logs: dict[str, Any]) -> bool:
        """As Lightning's, but a missing metric warns with ``strict=False`` (MMEngine's behaviour)."""
        if self.monitor not in logs and not self.strict:
            rank_zero_warn(
                f"Skip early stopping process since the evaluation results ({sorted(logs)}) do not "
                f"include `monitor` ({self.monitor}).",
                category=RuntimeWarning,
            )
            return False
        return super()._validate_condition_metric(logs)
