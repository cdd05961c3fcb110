"""Small helpers MMEngine code imports from ``mmengine.model`` / ``mmengine.utils``."""

from __future__ import annotations

from typing import Any

import torch.nn as nn

__all__ = ["is_model_wrapper", "unwrap_model"]


def is_model_wrapper(model: Any) -> bool:
    """True when ``model`` wraps another module in ``.module``, as MMEngine's helper answers.

    Recognised: ``DataParallel``, ``DistributedDataParallel``, FSDP (Lightning's strategies wrap
    in these since Lightning 2.1 dropped ``_LightningModuleWrapperBase``), and the runner facade's
    model (``runner.model`` in hooks; see ``lightning_runtime.hooks``),
    which marks itself with ``_is_model_wrapper = True``.

    Example:
        >>> import torch.nn as nn
        >>> is_model_wrapper(nn.DataParallel(nn.Linear(2, 2)))
        True
        >>> is_model_wrapper(nn.Linear(2, 2))
        False
    """
    if getattr(type(model), "_is_model_wrapper", False):
        return True
    if isinstance(model, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
        return True
    try:
        from torch.distributed.fsdp import FullyShardedDataParallel
    except ImportError:  # pragma: no cover - torch built without distributed
        return False
    return isinstance(model, FullyShardedDataParallel)


def unwrap_model(model: Any) -> Any:
    """Strip wrappers (``.module``) until the innermost module is reached."""
    while is_model_wrapper(model):
        model = model.module
    return model
