"""Logging setup, in one place: the ``lightning_runtime`` logger, its console handler and format, the run's text log.

:func:`get_logger` gives the ``lightning_runtime`` logger with MMEngine's line format on the
console (INFO unless the user chose a level); :func:`open_log_file` / :func:`close_log_file` add
and remove a text-log file handler in that format (``LoggerHook`` without a Runtime). Importing
this module gives the logger a ``NullHandler`` (a library's default) so nothing is printed by
Python's last-resort handler before :func:`get_logger` is called.

The run's text log is ``work_dir/<timestamp>/<timestamp>.log``, as MMEngine's runner keeps it.
:class:`RunLogFile` is a callback the :class:`~lightning_runtime.runtime._runtime.Runtime` adds. From
``setup`` on it buffers every record of the ``lightning_runtime`` and ``lightning.pytorch`` loggers
in memory; the file is created only when the loop actually starts (``on_fit_start``, or the end of
Lightning's sanity check when one runs, ``on_validation_start``, ``on_test_start``,
``on_predict_start``), and the buffer is flushed into it.
A configuration problem found while the Trainer sets up (a ``paramwise_cfg`` key matching a model
it has not seen yet, for instance), or in Lightning's sanity check when one is asked for,
therefore leaves ``work_dir`` untouched. Rank zero only.

Logger levels are lowered to ``log_level`` while the run lasts and restored afterwards, so a
user's ``logging.getLogger('lightning.pytorch').setLevel(logging.WARNING)`` survives a run.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path
from typing import Any

from lightning.pytorch.callbacks import Callback

__all__ = ["RunLogFile", "RunStart", "RUN_LOGGERS", "LOGGER_NAME", "LOG_FORMAT", "LOG_DATEFMT", "get_logger", "log_formatter",
           "open_log_file", "close_log_file"]

LOGGER_NAME = "lightning_runtime"
"""The package's Python logger (MMEngine's ``MMLogger`` role)."""

LOG_FORMAT = "%(asctime)s - %(name)s - %(levelname)s - %(message)s"
LOG_DATEFMT = "%Y/%m/%d %H:%M:%S"

RUN_LOGGERS = (LOGGER_NAME, "lightning.pytorch")

logging.getLogger(LOGGER_NAME).addHandler(logging.NullHandler())


def log_formatter() -> logging.Formatter:
    """MMEngine's log-line format (``2024/01/01 12:00:00 - lightning_runtime - INFO - ...``)."""
    return logging.Formatter(LOG_FORMAT, LOG_DATEFMT)


class _ConsoleHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stdout`` is now (pytest's capture, notebooks, redirections)."""

    @property
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def get_logger() -> logging.Logger:
    """The ``lightning_runtime`` logger, with a console handler if it has none.

    Its level becomes INFO only when unset (``NOTSET``); a level the user chose (e.g.
    ``logging.getLogger('lightning_runtime').setLevel(logging.WARNING)``) is left alone.
    """
    logger = logging.getLogger(LOGGER_NAME)
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)
    if not any(getattr(h, "_lightning_runtime_console", False) for h in logger.handlers):
        handler = _ConsoleHandler()
        handler.setFormatter(log_formatter())
        handler._lightning_runtime_console = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    return logger


def open_log_file(path: str | Path) -> logging.FileHandler:
    """Append the ``lightning_runtime`` logger's records to ``path`` (directories made); undo with :func:`close_log_file`."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, mode="a")
    handler.setFormatter(log_formatter())
    get_logger().addHandler(handler)
    return handler


def close_log_file(handler: logging.Handler) -> None:
    """Detach and close a handler :func:`open_log_file` returned."""
    logging.getLogger(LOGGER_NAME).removeHandler(handler)
    handler.close()


class _Capture(logging.Handler):
    """Appends the records of the run loggers to a list while the ``with`` block runs."""

    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__(logging.DEBUG)
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def __enter__(self) -> "_Capture":
        logging.getLogger(LOGGER_NAME).addHandler(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        logging.getLogger(LOGGER_NAME).removeHandler(self)


class RunStart(Callback):
    """Calls :meth:`on_run_start` when a run's files may first be written (every loop start; idempotence is the subclass's).

    That is ``on_fit_start``, or, when Lightning's sanity check runs, its end (a sanity check that
    fails leaves ``work_dir`` untouched), and ``on_train_start`` / ``on_validation_start`` (not in the
    sanity check) / ``on_test_start`` / ``on_predict_start``.
    """

    def on_run_start(self, trainer: Any) -> None:
        """Write what the run writes first (the text log, the config dump)."""

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        if not trainer.num_sanity_val_steps:  # else after Lightning's sanity check, if it passes
            self.on_run_start(trainer)

    def on_sanity_check_end(self, trainer: Any, pl_module: Any) -> None:
        self.on_run_start(trainer)

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        self.on_run_start(trainer)

    def on_validation_start(self, trainer: Any, pl_module: Any) -> None:
        if not trainer.sanity_checking:
            self.on_run_start(trainer)

    def on_test_start(self, trainer: Any, pl_module: Any) -> None:
        self.on_run_start(trainer)

    def on_predict_start(self, trainer: Any, pl_module: Any) -> None:
        self.on_run_start(trainer)


class RunLogFile(RunStart):
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
        #: Records logged before the Trainer existed that belong in the file (the hook-order
        #: table MMEngine's Runner writes into its log); see :meth:`capture`.
        self.preamble: list[logging.LogRecord] = []

    def capture(self) -> "_Capture":
        """``with run_log.capture(): ...``: keep what the run loggers log inside, for the file."""
        return _Capture(self.preamble)

    # ------------------------------------------------------------------ attach / detach
    def _attach(self) -> None:
        if self._buffer is not None:
            return
        buffer = logging.handlers.MemoryHandler(capacity=100_000, flushLevel=logging.CRITICAL + 1,
                                                flushOnClose=False)
        buffer.setFormatter(log_formatter())
        buffer.setLevel(self.level)
        buffer.buffer.extend(r for r in self.preamble if r.levelno >= self.level)
        for name in RUN_LOGGERS:
            logger = logging.getLogger(name)
            self._saved_levels[name] = logger.level
            if logger.level == logging.NOTSET or logger.level > self.level:
                logger.setLevel(self.level)
            logger.addHandler(buffer)
        self._buffer = buffer

    def _open_file(self) -> None:
        if self._buffer is None or self._file is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(self.path, mode="a")
        handler.setFormatter(log_formatter())
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

    def on_run_start(self, trainer: Any) -> None:
        self._open_file()

    def teardown(self, trainer: Any, pl_module: Any, stage: str) -> None:
        self._detach()

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        self._detach()
