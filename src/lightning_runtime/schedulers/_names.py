"""The registered names: ``*LR``, ``*Momentum`` and ``*ParamScheduler`` of every rule, as in MMEngine 0.10.

``FooLR`` is ``FooParamScheduler`` with ``param_name='lr'``; ``FooMomentum`` drives ``'momentum'``
(``betas[0]`` for Adam-family optimizers). MMSegmentation's ``PolyLRRatio`` is registered too. The
variants are written out, as in MMEngine's ``lr_scheduler.py``, so that type checkers and
``inspect.signature`` see their arguments. Importing this module fills
:data:`lightning_runtime.registry.PARAM_SCHEDULERS`.

Example:
    >>> from lightning_runtime.schedulers import PolyLR
    >>> PolyLR(power=0.9, end=100).param_name
    'lr'
"""

from __future__ import annotations

from collections.abc import Sequence

from lightning_runtime.registry import PARAM_SCHEDULERS
from lightning_runtime.schedulers._base import INF, ParamScheduler
from lightning_runtime.schedulers._plateau import ReduceOnPlateauParamScheduler
from lightning_runtime.schedulers._zoo import (
    ConstantParamScheduler,
    CosineAnnealingParamScheduler,
    CosineRestartParamScheduler,
    ExponentialParamScheduler,
    LinearParamScheduler,
    MultiStepParamScheduler,
    OneCycleParamScheduler,
    PolyParamScheduler,
    PolyRatioParamScheduler,
    StepParamScheduler,
)

__all__ = [
    "GENERIC",
    "ConstantLR",
    "ConstantMomentum",
    "LinearLR",
    "LinearMomentum",
    "StepLR",
    "StepMomentum",
    "MultiStepLR",
    "MultiStepMomentum",
    "ExponentialLR",
    "ExponentialMomentum",
    "PolyLR",
    "PolyMomentum",
    "CosineAnnealingLR",
    "CosineAnnealingMomentum",
    "CosineRestartLR",
    "CosineRestartMomentum",
    "OneCycleLR",
    "ReduceOnPlateauLR",
    "ReduceOnPlateauMomentum",
    "PolyLRRatio",
]

#: Stem -> generic rule, in MMEngine's naming (``'Poly'`` -> ``PolyParamScheduler``).
GENERIC: dict[str, type[ParamScheduler]] = {
    "Constant": ConstantParamScheduler,
    "Linear": LinearParamScheduler,
    "Step": StepParamScheduler,
    "MultiStep": MultiStepParamScheduler,
    "Exponential": ExponentialParamScheduler,
    "Poly": PolyParamScheduler,
    "CosineAnnealing": CosineAnnealingParamScheduler,
    "CosineRestart": CosineRestartParamScheduler,
    "OneCycle": OneCycleParamScheduler,
    "ReduceOnPlateau": ReduceOnPlateauParamScheduler,
}


class ConstantLR(ConstantParamScheduler):
    """ConstantParamScheduler scheduling the learning rate."""

    def __init__(
        self,
        factor: float = 1.0 / 3,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        super().__init__(
            "lr", factor=factor, begin=begin, end=end, last_step=last_step, by_epoch=by_epoch, verbose=verbose
        )


class ConstantMomentum(ConstantParamScheduler):
    """ConstantParamScheduler scheduling momentum (``betas[0]`` for Adam-family optimizers)."""

    momentum_via_betas = True

    def __init__(
        self,
        factor: float = 1.0 / 3,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        super().__init__(
            "momentum",
            factor=factor,
            begin=begin,
            end=end,
            last_step=last_step,
            by_epoch=by_epoch,
            verbose=verbose,
        )


class LinearLR(LinearParamScheduler):
    """LinearParamScheduler scheduling the learning rate."""

    def __init__(
        self,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        super().__init__(
            "lr",
            start_factor=start_factor,
            end_factor=end_factor,
            begin=begin,
            end=end,
            last_step=last_step,
            by_epoch=by_epoch,
            verbose=verbose,
        )


class LinearMomentum(LinearParamScheduler):
    """LinearParamScheduler scheduling momentum (``betas[0]`` for Adam-family optimizers)."""

    momentum_via_betas = True

    def __init__(
        self,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        super().__init__(
            "momentum",
            start_factor=start_factor,
            end_factor=end_factor,
            begin=begin,
            end=end,
            last_step=last_step,
            by_epoch=by_epoch,
            verbose=verbose,
        )


class StepLR(StepParamScheduler):
    """StepParamScheduler scheduling the learning rate."""

    def __init__(
        self,
        step_size: int,
        gamma: float = 0.1,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        super().__init__(
            "lr",
            step_size=step_size,
            gamma=gamma,
            begin=begin,
            end=end,
            last_step=last_step,
            by_epoch=by_epoch,
            verbose=verbose,
        )


class StepMomentum(StepParamScheduler):
    """StepParamScheduler scheduling momentum (``betas[0]`` for Adam-family optimizers)."""

    momentum_via_betas = True

    def __init__(
        self,
        step_size: int,
        gamma: float = 0.1,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        super().__init__(
            "momentum",
            step_size=step_size,
            gamma=gamma,
            begin=begin,
            end=end,
            last_step=last_step,
            by_epoch=by_epoch,
            verbose=verbose,
        )


class MultiStepLR(MultiStepParamScheduler):
    """MultiStepParamScheduler scheduling the learning rate."""

    def __init__(
        self,
        milestones: Sequence[int],
        gamma: float = 0.1,
        last_step: int = -1,
        begin: int = 0,
        end: int = INF,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        super().__init__(
            "lr",
            milestones=milestones,
            gamma=gamma,
            last_step=last_step,
            begin=begin,
            end=end,
            by_epoch=by_epoch,
            verbose=verbose,
        )


class MultiStepMomentum(MultiStepParamScheduler):
    """MultiStepParamScheduler scheduling momentum (``betas[0]`` for Adam-family optimizers)."""

    momentum_via_betas = True

    def __init__(
        self,
        milestones: Sequence[int],
        gamma: float = 0.1,
        last_step: int = -1,
        begin: int = 0,
        end: int = INF,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        super().__init__(
            "momentum",
            milestones=milestones,
            gamma=gamma,
            last_step=last_step,
            begin=begin,
            end=end,
            by_epoch=by_epoch,
            verbose=verbose,
        )


class ExponentialLR(ExponentialParamScheduler):
    """ExponentialParamScheduler scheduling the learning rate."""

    def __init__(
        self,
        gamma: float,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        super().__init__(
            "lr", gamma=gamma, begin=begin, end=end, last_step=last_step, by_epoch=by_epoch, verbose=verbose
        )


class ExponentialMomentum(ExponentialParamScheduler):
    """ExponentialParamScheduler scheduling momentum (``betas[0]`` for Adam-family optimizers)."""

    momentum_via_betas = True

    def __init__(
        self,
        gamma: float,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        super().__init__(
            "momentum",
            gamma=gamma,
            begin=begin,
            end=end,
            last_step=last_step,
            by_epoch=by_epoch,
            verbose=verbose,
        )


class PolyLR(PolyParamScheduler):
    """PolyParamScheduler scheduling the learning rate."""

    def __init__(
        self,
        eta_min: float = 0,
        power: float = 1.0,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        super().__init__(
            "lr",
            eta_min=eta_min,
            power=power,
            begin=begin,
            end=end,
            last_step=last_step,
            by_epoch=by_epoch,
            verbose=verbose,
        )


class PolyMomentum(PolyParamScheduler):
    """PolyParamScheduler scheduling momentum (``betas[0]`` for Adam-family optimizers)."""

    momentum_via_betas = True

    def __init__(
        self,
        eta_min: float = 0,
        power: float = 1.0,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        super().__init__(
            "momentum",
            eta_min=eta_min,
            power=power,
            begin=begin,
            end=end,
            last_step=last_step,
            by_epoch=by_epoch,
            verbose=verbose,
        )


class CosineAnnealingLR(CosineAnnealingParamScheduler):
    """CosineAnnealingParamScheduler scheduling the learning rate."""

    def __init__(
        self,
        T_max: int | None = None,
        eta_min: float | None = None,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
        eta_min_ratio: float | None = None,
    ) -> None:
        super().__init__(
            "lr",
            T_max=T_max,
            eta_min=eta_min,
            begin=begin,
            end=end,
            last_step=last_step,
            by_epoch=by_epoch,
            verbose=verbose,
            eta_min_ratio=eta_min_ratio,
        )


class CosineAnnealingMomentum(CosineAnnealingParamScheduler):
    """CosineAnnealingParamScheduler scheduling momentum (``betas[0]`` for Adam-family optimizers)."""

    momentum_via_betas = True

    def __init__(
        self,
        T_max: int | None = None,
        eta_min: float | None = None,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
        eta_min_ratio: float | None = None,
    ) -> None:
        super().__init__(
            "momentum",
            T_max=T_max,
            eta_min=eta_min,
            begin=begin,
            end=end,
            last_step=last_step,
            by_epoch=by_epoch,
            verbose=verbose,
            eta_min_ratio=eta_min_ratio,
        )


class CosineRestartLR(CosineRestartParamScheduler):
    """CosineRestartParamScheduler scheduling the learning rate."""

    def __init__(
        self,
        periods: Sequence[int],
        restart_weights: Sequence[float] = (1,),
        eta_min: float | None = None,
        eta_min_ratio: float | None = None,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        super().__init__(
            "lr",
            periods=periods,
            restart_weights=restart_weights,
            eta_min=eta_min,
            eta_min_ratio=eta_min_ratio,
            begin=begin,
            end=end,
            last_step=last_step,
            by_epoch=by_epoch,
            verbose=verbose,
        )


class CosineRestartMomentum(CosineRestartParamScheduler):
    """CosineRestartParamScheduler scheduling momentum (``betas[0]`` for Adam-family optimizers)."""

    momentum_via_betas = True

    def __init__(
        self,
        periods: Sequence[int],
        restart_weights: Sequence[float] = (1,),
        eta_min: float | None = None,
        eta_min_ratio: float | None = None,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        super().__init__(
            "momentum",
            periods=periods,
            restart_weights=restart_weights,
            eta_min=eta_min,
            eta_min_ratio=eta_min_ratio,
            begin=begin,
            end=end,
            last_step=last_step,
            by_epoch=by_epoch,
            verbose=verbose,
        )


class OneCycleLR(OneCycleParamScheduler):
    """OneCycleParamScheduler scheduling the learning rate."""

    def __init__(
        self,
        eta_max: float | Sequence[float] = 0,
        total_steps: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        div_factor: float = 25.0,
        final_div_factor: float = 10000.0,
        three_phase: bool = False,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        super().__init__(
            "lr",
            eta_max=eta_max,
            total_steps=total_steps,
            pct_start=pct_start,
            anneal_strategy=anneal_strategy,
            div_factor=div_factor,
            final_div_factor=final_div_factor,
            three_phase=three_phase,
            begin=begin,
            end=end,
            last_step=last_step,
            by_epoch=by_epoch,
            verbose=verbose,
        )


class ReduceOnPlateauLR(ReduceOnPlateauParamScheduler):
    """ReduceOnPlateauParamScheduler scheduling the learning rate."""

    def __init__(
        self,
        monitor: str = "loss",
        rule: str = "less",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 0.0001,
        threshold_rule: str = "rel",
        cooldown: int = 0,
        min_value: float | Sequence[float] = 0.0,
        eps: float = 1e-08,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        super().__init__(
            "lr",
            monitor=monitor,
            rule=rule,
            factor=factor,
            patience=patience,
            threshold=threshold,
            threshold_rule=threshold_rule,
            cooldown=cooldown,
            min_value=min_value,
            eps=eps,
            begin=begin,
            end=end,
            last_step=last_step,
            by_epoch=by_epoch,
            verbose=verbose,
        )


class ReduceOnPlateauMomentum(ReduceOnPlateauParamScheduler):
    """ReduceOnPlateauParamScheduler scheduling momentum (``betas[0]`` for Adam-family optimizers)."""

    momentum_via_betas = True

    def __init__(
        self,
        monitor: str = "loss",
        rule: str = "less",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 0.0001,
        threshold_rule: str = "rel",
        cooldown: int = 0,
        min_value: float | Sequence[float] = 0.0,
        eps: float = 1e-08,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        super().__init__(
            "momentum",
            monitor=monitor,
            rule=rule,
            factor=factor,
            patience=patience,
            threshold=threshold,
            threshold_rule=threshold_rule,
            cooldown=cooldown,
            min_value=min_value,
            eps=eps,
            begin=begin,
            end=end,
            last_step=last_step,
            by_epoch=by_epoch,
            verbose=verbose,
        )


class PolyLRRatio(PolyRatioParamScheduler):
    """PolyRatioParamScheduler scheduling the learning rate."""

    def __init__(
        self,
        eta_min_ratio: float | None = None,
        eta_min: float = 0,
        power: float = 1.0,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        super().__init__(
            "lr",
            eta_min_ratio=eta_min_ratio,
            eta_min=eta_min,
            power=power,
            begin=begin,
            end=end,
            last_step=last_step,
            by_epoch=by_epoch,
            verbose=verbose,
        )


for _cls in (
    *GENERIC.values(),
    ConstantLR,
    ConstantMomentum,
    LinearLR,
    LinearMomentum,
    StepLR,
    StepMomentum,
    MultiStepLR,
    MultiStepMomentum,
    ExponentialLR,
    ExponentialMomentum,
    PolyLR,
    PolyMomentum,
    CosineAnnealingLR,
    CosineAnnealingMomentum,
    CosineRestartLR,
    CosineRestartMomentum,
    OneCycleLR,
    ReduceOnPlateauLR,
    ReduceOnPlateauMomentum,
    PolyLRRatio,
):
    PARAM_SCHEDULERS.register_module(module=_cls, force=True)
del _cls
