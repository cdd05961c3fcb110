"""Stand-ins for the two MMEngine helpers that MMSeg-style constructors import.

A constructor copied from MMSegmentation (``from mmengine.dist import get_dist_info``,
``from mmengine.logging import print_log``) runs here by importing these instead.
"""

from __future__ import annotations

import logging
import os
from typing import Any

__all__ = ["get_dist_info", "print_log"]

_logger = logging.getLogger("lightning_runtime.optim")


def get_dist_info() -> tuple[int, int]:
    """``(rank, world_size)`` from torch.distributed when initialised, else the environment."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def print_log(msg: Any, logger: Any = None, level: int = logging.INFO) -> None:
    """Log ``msg`` to the ``lightning_runtime.optim`` logger (``logger`` is accepted and ignored)."""
    _logger.log(level, str(msg))
