"""lightning_runtime: MMEngine-style runtime configs on PyTorch Lightning.

Public API (stable)::

    from lightning_runtime import load_config, Runtime
    cfg = load_config("configs/demo/seg_vit_shapes.py")
    rt = Runtime(cfg)
    trainer = rt.fit(module, train_dataloaders=..., val_dataloaders=...)

``Runtime`` (which imports Lightning) is loaded on first use, so ``import lightning_runtime`` and
``load_config`` stay cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lightning_runtime.errors import ConfigError

__all__ = ["load_config", "Runtime", "ConfigError", "__version__"]
__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover
    from lightning_runtime.config import load_config
    from lightning_runtime.runtime import Runtime


def __getattr__(name: str) -> Any:
    if name == "load_config":
        from lightning_runtime.config import load_config

        return load_config
    if name == "Runtime":
        from lightning_runtime.runtime import Runtime

        return Runtime
    raise AttributeError(f"module 'lightning_runtime' has no attribute {name!r}")
