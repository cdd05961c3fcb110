"""The registered names: ``*LR``, ``*Momentum`` and ``*ParamScheduler`` of every rule, as in MMEngine 0.10.

``FooLR`` is ``FooParamScheduler`` with ``param_name='lr'``; ``FooMomentum`` drives ``'momentum'``
(``betas[0]`` for Adam-family optimizers). MMSegmentation's ``PolyLRRatio`` is registered too.
Importing this module fills :data:`lightning_runtime.registry.PARAM_SCHEDULERS`.
"""

from __future__ import annotations

import inspect
from typing import Any

from ..registry import PARAM_SCHEDULERS
from .base import ParamScheduler
from .plateau import ReduceOnPlateauParamScheduler
from .zoo import (
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

__all__ = ["GENERIC", "fixed_param_variant"]

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


def fixed_param_variant(base: type[ParamScheduler], name: str, param_name: str) -> type[ParamScheduler]:
    """A subclass of ``base`` with ``param_name`` fixed, whose signature omits ``param_name``.

    Example:
        >>> LR = fixed_param_variant(PolyParamScheduler, "MyPolyLR", "lr")
        >>> LR(power=0.9, end=100).param_name
        'lr'
    """

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        base.__init__(self, param_name, *args, **kwargs)

    sig = inspect.signature(base)
    params = [p for p in sig.parameters.values() if p.name != "param_name"]
    what = "momentum (betas[0] for Adam-family optimizers)" if param_name == "momentum" else param_name
    cls = type(
        name,
        (base,),
        {
            "__init__": __init__,
            "__doc__": f"{base.__name__} scheduling {what}.\n\n{base.__doc__ or ''}",
            "__module__": __name__,
            "momentum_via_betas": param_name == "momentum",
        },
    )
    cls.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
    return cls


_EXPORTS: dict[str, type[ParamScheduler]] = {}
for _stem, _generic in GENERIC.items():
    _EXPORTS[f"{_stem}ParamScheduler"] = _generic
    _EXPORTS[f"{_stem}LR"] = fixed_param_variant(_generic, f"{_stem}LR", "lr")
    if _stem != "OneCycle":  # MMEngine has no OneCycleMomentum
        _EXPORTS[f"{_stem}Momentum"] = fixed_param_variant(_generic, f"{_stem}Momentum", "momentum")
_EXPORTS["PolyLRRatio"] = fixed_param_variant(PolyRatioParamScheduler, "PolyLRRatio", "lr")

for _name, _cls in _EXPORTS.items():
    PARAM_SCHEDULERS.register_module(name=_name, module=_cls, force=True)
    globals()[_name] = _cls
    __all__.append(_name)
