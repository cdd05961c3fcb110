"""Optimizers of optional packages, registered by name as MMEngine 0.10.7 registers them.

MMEngine's ``mmengine/optim/optimizer/builder.py`` registers, when the package is installed:

* ``DAdaptAdaGrad``, ``DAdaptAdam``, ``DAdaptSGD`` from ``dadaptation``;
* ``Lion`` from ``lion_pytorch``;
* every ``torch.optim.Optimizer`` subclass in ``bitsandbytes.optim`` under its class name, or
  ``bnb_<name>`` when the name is taken already (``bnb_Adam``, ``bnb_SGD``; ``bnb_Lion`` when
  ``lion_pytorch`` is installed too);
* ``Adafactor`` from ``transformers`` (torch's own ``Adafactor`` is ``TorchAdafactor``).

MMEngine imports these packages when it is imported. Here they are registered lazily
(:meth:`~lightning_runtime.registry.Registry.register_lazy`): nothing is imported until a config
names one of them, and an absent package costs nothing. ``Sophia`` and ``torch_npu`` (MMEngine
registers those too) are not: they are reachable by dotted path.
"""

from __future__ import annotations

import importlib
import inspect

import torch

from lightning_runtime.registry import Registry

__all__ = ["DADAPTATION_OPTIMIZERS", "LION_OPTIMIZERS", "TRANSFORMERS_OPTIMIZERS", "register_third_party_optimizers"]

#: The names MMEngine registers from each package whose names are known before importing it.
DADAPTATION_OPTIMIZERS = ("DAdaptAdaGrad", "DAdaptAdam", "DAdaptSGD")
LION_OPTIMIZERS = ("Lion",)
TRANSFORMERS_OPTIMIZERS = ("Adafactor",)


def _is_optimizer_class(obj: object) -> bool:
    return inspect.isclass(obj) and issubclass(obj, torch.optim.Optimizer)


def _load_dadaptation(registry: Registry) -> None:
    module = importlib.import_module("dadaptation")
    for name in DADAPTATION_OPTIMIZERS:
        cls = getattr(module, name, None)
        if _is_optimizer_class(cls):
            registry.register_module(module=cls, name=name)


def _load_lion(registry: Registry) -> None:
    registry.register_module(module=importlib.import_module("lion_pytorch").Lion, name="Lion")


def _load_transformers(registry: Registry) -> None:
    registry.register_module(module=importlib.import_module("transformers").Adafactor, name="Adafactor")


def _load_bitsandbytes(registry: Registry) -> None:
    bnb_optim = importlib.import_module("bitsandbytes.optim")
    # MMEngine registers lion_pytorch's Lion and transformers' Adafactor first (when installed):
    # a bitsandbytes class of that name becomes bnb_<name> there.
    taken = set(registry.module_dict) | set(registry.lazy_names())
    for name, cls in inspect.getmembers(bnb_optim, _is_optimizer_class):
        registry.register_module(module=cls, name=f"bnb_{name}" if name in taken else name)


def register_third_party_optimizers(registry: Registry) -> None:
    """Register the optional packages' optimizers in ``registry`` lazily (see the module docstring)."""
    registry.register_lazy("dadaptation", _load_dadaptation, DADAPTATION_OPTIMIZERS)
    registry.register_lazy("lion_pytorch", _load_lion, LION_OPTIMIZERS)
    registry.register_lazy("transformers", _load_transformers, TRANSFORMERS_OPTIMIZERS)
    registry.register_lazy("bitsandbytes", _load_bitsandbytes)
