"""Lightning callbacks that stand in for MMEngine's hooks.

Importing this package registers every callback in ``lightning_runtime.registry.HOOKS`` under its
MMEngine hook name (``'CheckpointHook'``, ``'LoggerHook'``, ...).
"""

from __future__ import annotations

import importlib

__all__: list[str] = []

# One module per hook. Modules still being written are skipped; each module lists its public
# names in its own __all__, which is re-exported here.
_MODULES = (
    "runtime_info",
    "timer",
    "logger",
    "param_scheduler",
    "checkpoint",
    "sampler_seed",
    "visualization",
    "ema",
    "early_stopping",
    "empty_cache",
    "sync_buffers",
    "check_invalid_loss",
)

for _name in _MODULES:
    _full = f"{__name__}.{_name}"
    try:
        _mod = importlib.import_module(_full)
    except ModuleNotFoundError as _exc:
        if _exc.name != _full:
            raise
        continue
    for _public in getattr(_mod, "__all__", ()):
        globals()[_public] = getattr(_mod, _public)
        __all__.append(_public)
