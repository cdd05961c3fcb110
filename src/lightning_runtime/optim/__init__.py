"""Optimizers from MMEngine ``optim_wrapper`` configs (no Lightning imports).

``build_optimizer(model, cfg)`` returns a torch optimizer with MMEngine's per-parameter lr /
weight decay (``paramwise_cfg``, layer decay) in merged, named param groups;
``parse_optim_wrapper(cfg)`` returns what the Trainer must do (AMP, clipping, accumulation).
Importing this package registers the ``torch.optim`` optimizers in ``OPTIMIZERS`` (and, lazily, those
of ``dadaptation``, ``lion_pytorch``, ``bitsandbytes`` and ``transformers``, as MMEngine does), the
constructors in ``OPTIM_WRAPPER_CONSTRUCTORS`` and ``OptimWrapper``/``AmpOptimWrapper`` in
``OPTIM_WRAPPERS``.
"""

from __future__ import annotations

from lightning_runtime.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS, OPTIMIZERS
from lightning_runtime.optim._builder import build_optimizer, build_stand_in_optimizer, optimization_root, register_torch_optimizers
from lightning_runtime.optim._constructor import DefaultOptimWrapperConstructor
from lightning_runtime.optim._layer_decay import LayerDecayOptimizerConstructor, LearningRateDecayOptimizerConstructor
from lightning_runtime.optim._spec import OptimWrapperSpec, parse_optim_wrapper
from lightning_runtime.optim._third_party import register_third_party_optimizers
from lightning_runtime.optim._wrappers import AmpOptimWrapper, OptimWrapper

__all__ = [
    "build_optimizer",
    "build_stand_in_optimizer",
    "optimization_root",
    "parse_optim_wrapper",
    "OptimWrapperSpec",
    "DefaultOptimWrapperConstructor",
    "LearningRateDecayOptimizerConstructor",
    "LayerDecayOptimizerConstructor",
    "OptimWrapper",
    "AmpOptimWrapper",
]

TORCH_OPTIMIZERS = register_torch_optimizers()
register_third_party_optimizers(OPTIMIZERS)  # dadaptation, lion_pytorch, bitsandbytes, transformers: on first use
for _constructor in (DefaultOptimWrapperConstructor, LearningRateDecayOptimizerConstructor, LayerDecayOptimizerConstructor):
    OPTIM_WRAPPER_CONSTRUCTORS.register_module(module=_constructor, force=True)
for _wrapper in (OptimWrapper, AmpOptimWrapper):
    OPTIM_WRAPPERS.register_module(module=_wrapper, force=True)
del _constructor, _wrapper
