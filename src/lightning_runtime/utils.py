"""Small shared helpers: model wrappers (``mmengine.model``'s) and the one set of rank helpers.

Rank: :func:`dist_info` / :func:`is_main_process` ask the initialised process group (``(0, 1)``
without one, as ``mmengine.dist``); :func:`env_is_rank_zero` reads the launchers' environment
variables, for code that runs before the Trainer has set up the group.
"""

from __future__ import annotations

import os
from typing import Any

import torch
import torch.nn as nn

__all__ = ["is_model_wrapper", "unwrap_model", "dist_info", "is_main_process", "env_is_rank_zero"]

#: Environment variables in which launchers (torchrun, Lightning, SLURM, MPI, LSF) give a process its rank.
_RANK_VARS = ("RANK", "LOCAL_RANK", "NODE_RANK", "SLURM_PROCID", "PMI_RANK", "OMPI_COMM_WORLD_RANK",
              "JSM_NAMESPACE_RANK")


def dist_info() -> tuple[int, int]:
    """``(rank, world_size)`` of the initialised process group; ``(0, 1)`` without one (``mmengine.dist.get_dist_info``)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def is_main_process() -> bool:
    """True on global rank 0 of the process group, and in a single process."""
    return dist_info()[0] == 0


def env_is_rank_zero() -> bool:
    """True unless a launcher's environment variable gives this process a rank (local, node or global) other than 0."""
    return all(os.environ.get(var) in (None, "", "0") for var in _RANK_VARS)


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
