"""Stand-ins for the two MMEngine helpers that MMSeg-style constructors import.

A constructor copied from MMSegmentation (``from mmengine.dist import get_dist_info``,
``from mmengine.logging import print_log``) runs here by importing these instead.
"""

from __future__ import annotations

import logging
from typing import Any

from lightning_runtime.utils import dist_info

__all__ = ["get_dist_info", "print_log"]

_logger = logging.getLogger("lightning_runtime.optim")


def get_dist_info() -> tuple[int, int]:
    """``(rank, world_size)`` of the process group, ``(0, 1)`` without one, as MMEngine's (see :func:`~lightning_runtime.utils.dist_info`)."""
    return dist_info()


def print_log(msg: Any, logger: Any = None, level: int = logging.INFO) -> None:
    """Log ``msg`` to the ``lightning_runtime.optim`` logger (``logger`` is accepted and ignored)."""
    _logger.log(level, str(msg))
