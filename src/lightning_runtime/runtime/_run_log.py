"""The run's text log: ``work_dir/<timestamp>/<timestamp>.log``, as MMEngine's runner keeps it.

:class:`RunLogFile` is a callback the :class:`~lightning_runtime.runtime._runtime.Runtime` adds. From
``setup`` on it buffers every record of the ``lightning_runtime`` and ``lightning.pytorch`` loggers
in memory; the file is created only when the loop actually starts (``on_fit_start``,
``on_validation_start``, ``on_test_start``, ``on_predict_start``), and the buffer is flushed into it.
A configuration problem found while the Trainer sets up (a ``paramwise_cfg`` key matching a model
it has not seen yet, for instance) therefore leaves ``work_dir`` untouched. Rank zero only.

Logger levels are lowered to ``log_level`` while the run lasts and restored afterwards, so a
user's ``logging.getLogger('lightning.pytorch').setLevel(logging.WARNING)`` survives a run.
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path
from typing import Any

from lightning.pytorch.callbacks import Callback

__all__ = ["RunLogFile", "RUN_LOGGERS"]

RUN_LOGGERS = ("lightning_runtime", "lightning.pytorch")


class RunLogFile(Callback):
    """Write the run's log records to ``path`` once a loop starts.

    Args:
        path: ``work_dir/<timestamp>/<timestamp>.log``.
        level: ``log_level`` of the config (``'INFO'``, ``'DEBUG'``, ...).
    """

    def __init__(self, path: str | Path, level: str = "INFO") -> None:
        self.path = Path(path)
        self.level = getattr(logging, str(level).upper())
        self._buffer: logging.handlers.MemoryHandler | None = None
        self._file: logging.FileHandler | None = None
        self._saved_levels: dict[str, int] = {}

    # ------------------------------------------------------------------ attach / detach
    def _attach(self) -> None:
        from lightning_runtime.hooks._facade import LOG_DATEFMT, LOG_FORMAT

        if self._buffer is not None:
            return
        buffer = logging.handlers.MemoryHandler(capacity=100_000, flushLevel=logging.CRITICAL + 1,
                                                flushOnClose=False)
        buffer.setFormatter(logging.Formatter(LOG_FORMAT, LOG_DATEFMT))
        buffer.setLevel(self.level)
        for name in RUN_LOGGERS:
            logger = logging.getLogger(name)
            self._saved_levels[name] = logger.level
            if logger.level == logging.NOTSET or logger.level > self.level:
                logger.setLevel(self.level)
            logger.addHandler(buffer)
        self._buffer = buffer

    def _open_file(self) -> None:
        from lightning_runtime.hooks._facade import LOG_DATEFMT, LOG_FORMAT

        if self._buffer is None or self._file is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(self.path, mode="a")
        handler.setFormatter(logging.Formatter(LOG_FORMAT, LOG_DATEFMT))
        handler.setLevel(self.level)
        self._buffer.setTarget(handler)
        self._buffer.flush()
        self._file = handler
        # From now on records go straight to the file.
        for name in RUN_LOGGERS:
            logger = logging.getLogger(name)
            logger.removeHandler(self._buffer)
            logger.addHandler(handler)

    def _detach(self) -> None:
        for name in RUN_LOGGERS:
            logger = logging.getLogger(name)
            for handler in (self._buffer, self._file):
                if handler is not None:
                    logger.removeHandler(handler)
            if name in self._saved_levels:
                logger.setLevel(self._saved_levels[name])
        if self._buffer is not None:
            self._buffer.setTarget(None)  # an unopened buffer is dropped, never written
            self._buffer.close()
        if self._file is not None:
            self._file.close()
        self._buffer = self._file = None
        self._saved_levels = {}

    @property
    def is_open(self) -> bool:
        """Whether the file has been created (a loop started)."""
        return self._file is not None

    # ------------------------------------------------------------------ Lightning hooks
    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        if trainer.is_global_zero:
            self._attach()

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        self._open_file()

    def on_validation_start(self, trainer: Any, pl_module: Any) -> None:
        self._open_file()

    def on_test_start(self, trainer: Any, pl_module: Any) -> None:
        self._open_file()

    def on_predict_start(self, trainer: Any, pl_module: Any) -> None:
        self._open_file()

    def teardown(self, trainer: Any, pl_module: Any, stage: str) -> None:
        self._detach()

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        self._detach()
