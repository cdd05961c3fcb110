"""MMEngine's param-scheduler zoo as one per-iteration torch ``LRScheduler``.

``build_scheduler(optimizer, cfg, epoch_length=..., max_iters=...)`` turns a ``param_scheduler``
config into a :class:`ParamSchedulerStack` whose values equal MMEngine's at every iteration.
Importing this package registers every MMEngine 0.10 scheduler name (``LinearLR``, ``PolyLR``,
``CosineAnnealingMomentum``, ``StepParamScheduler``, ...) and MMSegmentation's ``PolyLRRatio`` in
:data:`lightning_runtime.registry.PARAM_SCHEDULERS`. No Lightning import here; the callback that
drives the stack in a Trainer is ``lightning_runtime.callbacks.ParamSchedulerHook``.
"""

from __future__ import annotations

from lightning_runtime.schedulers._base import INF, ParamScheduler, Vec, like, scale, toward
from lightning_runtime.schedulers._build import build_scheduler
from lightning_runtime.schedulers._names import (
    ConstantLR,
    ConstantMomentum,
    CosineAnnealingLR,
    CosineAnnealingMomentum,
    CosineRestartLR,
    CosineRestartMomentum,
    ExponentialLR,
    ExponentialMomentum,
    LinearLR,
    LinearMomentum,
    MultiStepLR,
    MultiStepMomentum,
    OneCycleLR,
    PolyLR,
    PolyLRRatio,
    PolyMomentum,
    ReduceOnPlateauLR,
    ReduceOnPlateauMomentum,
    StepLR,
    StepMomentum,
)
from lightning_runtime.schedulers._plateau import ReduceOnPlateauParamScheduler
from lightning_runtime.schedulers._stack import ParamSchedulerStack
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
    "INF",
    "ParamScheduler",
    "ParamSchedulerStack",
    "Vec",
    "like",
    "scale",
    "toward",
    "build_scheduler",
    "PolyRatioParamScheduler",
    "ConstantParamScheduler",
    "LinearParamScheduler",
    "StepParamScheduler",
    "MultiStepParamScheduler",
    "ExponentialParamScheduler",
    "PolyParamScheduler",
    "CosineAnnealingParamScheduler",
    "CosineRestartParamScheduler",
    "OneCycleParamScheduler",
    "ReduceOnPlateauParamScheduler",
    "ConstantLR",
    "ConstantMomentum",
    "CosineAnnealingLR",
    "CosineAnnealingMomentum",
    "CosineRestartLR",
    "CosineRestartMomentum",
    "ExponentialLR",
    "ExponentialMomentum",
    "LinearLR",
    "LinearMomentum",
    "MultiStepLR",
    "MultiStepMomentum",
    "OneCycleLR",
    "PolyLR",
    "PolyLRRatio",
    "PolyMomentum",
    "ReduceOnPlateauLR",
    "ReduceOnPlateauMomentum",
    "StepLR",
    "StepMomentum",
]
