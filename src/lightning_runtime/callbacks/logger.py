"""``LoggerHook``: MMEngine's log lines on the console, in a text log, and as scalars.

MMEngine's ``LoggerHook`` (priority ``BELOW_NORMAL``) with MMEngine's arguments. Lines come from
:class:`~lightning_runtime.runtime._log_processor.LogProcessor` (``log_processor`` in the config: window
size, ``by_epoch``, ``custom_cfg``) over the run's message hub, and go (global rank zero only) to:

* the ``lightning_runtime`` Python logger (a console handler is added when it has none);
* ``<log_dir>/<timestamp>.log`` where ``log_dir`` is ``work_dir/<timestamp>`` from the run
  context, or ``trainer.default_root_dir/<timestamp>`` without one;
* the scalars: ``<log_dir>/vis_data/scalars.json`` and ``<log_dir>/vis_data/<timestamp>.json``
  (one JSON object per line, with ``step``, as MMEngine's ``LocalVisBackend``), and
  ``log_metrics`` of every Trainer logger. When the runtime provides a visualizer
  (``ctx.visualizer`` with ``add_scalars``) the scalars go to it instead of the JSON files.

Losses stay detached tensors in the hub; they are turned into numbers only at a logging
interval (no device sync per iteration). ``memory`` appears only when CUDA is available.
``out_dir`` must be a local directory: after the run, files of ``log_dir`` ending with
``out_suffix`` are copied to ``out_dir/<basename of work_dir>/`` and, with ``keep_local=False``,
removed locally. Without a run context, ``by_epoch`` of the log lines follows the Trainer
(``max_steps`` set: iteration lines).
"""

from __future__ import annotations

import json
import logging
import os
import os.path as osp
import shutil
from pathlib import Path
from typing import Any, Optional, Sequence, Union

from lightning_runtime.errors import ConfigError
from lightning_runtime.hooks._adapter import CallbackHook
from lightning_runtime.hooks._dispatch import flat_callbacks
from lightning_runtime.hooks._hook import DATA_BATCH
from lightning_runtime.runtime._log_processor import LogProcessor
from lightning_runtime.runtime._run_log import close_log_file, get_logger, open_log_file
from lightning_runtime.registry import HOOKS
from lightning_runtime.callbacks.runtime_info import RuntimeInfoHook

__all__ = ["LoggerHook"]

def _jsonable(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


@HOOKS.register_module()
class LoggerHook(CallbackHook):
    """Write MMEngine-format log lines and scalars.

    Args:
        interval: Log every this many iterations.
        ignore_last: Skip the last iterations of an epoch that do not fill an interval.
        interval_exp_name: Log ``Exp name: ...`` every this many iterations.
        out_dir: Local directory the logs are copied to after the run.
        out_suffix: Suffixes of the files copied to ``out_dir``.
        keep_local: Keep the local logs after copying them to ``out_dir``.
        file_client_args: Not supported (must be ``None``).
        log_metric_by_epoch: Validation scalars use the epoch (True) or the iteration as step.
        backend_args: Not supported (must be ``None``).
        log_processor: ``log_processor`` settings, for use without the runtime (the runtime passes
            the config's through the run context).

    Example:
        >>> LoggerHook(interval=50, log_metric_by_epoch=False).priority
        'BELOW_NORMAL'
    """

    priority = "BELOW_NORMAL"

    def __init__(
        self,
        interval: int = 10,
        ignore_last: bool = True,
        interval_exp_name: int = 1000,
        out_dir: Optional[Union[str, Path]] = None,
        out_suffix: Union[str, Sequence[str]] = (".json", ".log", ".py", "yaml"),
        keep_local: bool = True,
        file_client_args: Optional[dict] = None,
        log_metric_by_epoch: bool = True,
        backend_args: Optional[dict] = None,
        log_processor: Optional[dict] = None,
    ) -> None:
        super().__init__()
        if not isinstance(interval, int) or isinstance(interval, bool) or interval <= 0:
            raise ConfigError(f"interval must be a positive int, got {interval!r}", path="interval",
                              fix="log every N iterations with a whole number N >= 1, e.g. interval=50")
        if not isinstance(ignore_last, bool):
            raise ConfigError(f"ignore_last must be a bool, got {ignore_last!r}", path="ignore_last", fix="write ignore_last=True or ignore_last=False")
        if not isinstance(interval_exp_name, int) or interval_exp_name <= 0:
            raise ConfigError(f"interval_exp_name must be a positive int, got {interval_exp_name!r}", path="interval_exp_name", fix="set interval_exp_name to a whole number >= 1, e.g. 1000")
        if out_dir is not None and not isinstance(out_dir, (str, Path)):
            raise ConfigError("out_dir must be a str or a Path", path="out_dir", fix="write out_dir='path/to/dir' or remove it")
        if out_dir is not None and "://" in str(out_dir):
            raise ConfigError(
                f"out_dir {str(out_dir)!r} is a remote URI; only local directories are supported",
                path="out_dir",
                fix="use a local (or mounted) directory, or a Lightning logger for remote storage",
            )
        if not isinstance(keep_local, bool):
            raise ConfigError(f"keep_local must be a bool, got {keep_local!r}", path="keep_local", fix="write keep_local=True or keep_local=False")
        for name, value in (("file_client_args", file_client_args), ("backend_args", backend_args)):
            if value is not None:
                raise ConfigError(f"{name} is not supported", path=name, fix=f"remove {name}; out_dir must be local")
        if not (isinstance(out_suffix, str) or all(isinstance(s, str) for s in out_suffix)):
            raise ConfigError("out_suffix must be a str or a list of str", path="out_suffix", fix="write out_suffix='.log' or a list such as ['.json', '.log']")
        self.interval = interval
        self.ignore_last = ignore_last
        self.interval_exp_name = interval_exp_name
        self.out_dir = None if out_dir is None else str(out_dir)
        self.out_suffix = out_suffix
        self.keep_local = keep_local
        self.log_metric_by_epoch = log_metric_by_epoch
        self._log_processor_cfg = dict(log_processor) if log_processor else None
        self.log_processor: Optional[LogProcessor] = None
        self.json_log_path: Optional[str] = None
        self._aux: Optional[RuntimeInfoHook] = None
        self._file_handler: Optional[logging.Handler] = None
        self._is_zero = True
        self._trainer: Any = None

    # ------------------------------------------------------------------ Lightning setup
    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        super().setup(trainer, pl_module, stage)
        self._trainer = trainer
        self._is_zero = bool(trainer.is_global_zero)
        cfg = self._log_processor_cfg
        if cfg is None and self._ctx is not None:
            cfg = dict(self._ctx.log_processor or {})
        if cfg is None:
            cfg = {"by_epoch": self._state.by_epoch}
        cfg = {k: v for k, v in cfg.items() if k != "type"}
        self.log_processor = LogProcessor(**cfg)
        has_info = any(isinstance(cb, RuntimeInfoHook) for cb in flat_callbacks(trainer))
        self._aux = None if has_info else RuntimeInfoHook()
        if self._aux is not None:  # it feeds the hub at every iteration point
            self._skip_iter = frozenset()
        log_file = Path(self.runner.log_dir) / f"{self.runner.timestamp}.log"
        # Under the Runtime, the run log (runtime/_run_log.RunLogFile) already writes this file.
        already = self._ctx is not None and bool(self._ctx.run_log_file)
        if self._is_zero and self._file_handler is None and not already:
            self._file_handler = open_log_file(log_file)

    def teardown(self, trainer: Any, pl_module: Any, stage: str) -> None:
        self._close_file()

    def _close_file(self) -> None:
        if self._file_handler is not None:
            close_log_file(self._file_handler)
            self._file_handler = None

    def _call(self, name: str, **kwargs: Any) -> None:
        if self._aux is not None:  # no RuntimeInfoHook in the Trainer: feed the hub ourselves
            getattr(self._aux, name)(self._runner, **kwargs)
        super()._call(name, **kwargs)

    # ------------------------------------------------------------------ output
    def _info(self, message: str) -> None:
        if self._is_zero:
            get_logger().info(message)

    def _add_scalars(self, tag: dict, step: int, logger_step: int | None = None) -> None:
        """MMEngine's ``scalars.json`` at ``step``; the Trainer's loggers at ``logger_step`` (default ``step``)."""
        if not self._is_zero:
            return
        visualizer = self.runner.visualizer
        if visualizer is not None and hasattr(visualizer, "add_scalars"):
            visualizer.add_scalars(tag, step=step, file_path=self.json_log_path)
        else:
            vis_dir = Path(self.runner.log_dir) / "vis_data"
            vis_dir.mkdir(parents=True, exist_ok=True)
            record = _jsonable({**tag})
            record.setdefault("step", step)
            line = json.dumps(record) + "\n"
            for name in ("scalars.json", self.json_log_path):
                if name:
                    with open(vis_dir / name, "a") as f:
                        f.write(line)
        numbers = {k: float(v) for k, v in tag.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        for logger in self._trainer.loggers if self._trainer is not None else []:
            logger.log_metrics(numbers, step=step if logger_step is None else logger_step)

    # ------------------------------------------------------------------ MMEngine hook points
    def before_run(self, runner: Any) -> None:
        if self.out_dir is not None:
            basename = osp.basename(str(runner.work_dir).rstrip(osp.sep))
            self.out_dir = osp.join(self.out_dir, basename)
            self._info(f"Text logs will be saved to {self.out_dir} after the training process.")
        self.json_log_path = f"{runner.timestamp}.json"

    def after_train_iter(
        self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None, outputs: Optional[dict] = None
    ) -> None:
        assert self.log_processor is not None
        end = self.end_of_epoch(runner.train_dataloader, batch_idx)
        if self.every_n_train_iters(runner, self.interval_exp_name) or end:
            self._info(f"Exp name: {runner.experiment_name}")
        if not (
            self.every_n_inner_iters(batch_idx, self.interval)
            or (end and (not self.ignore_last or len(runner.train_dataloader) <= self.interval))
        ):
            return
        tag, log_str = self.log_processor.get_log_after_iter(runner, batch_idx, "train")
        self._info(log_str)
        # scalars.json counts 1-based iterations (MMEngine); the Trainer's loggers get the step Lightning
        # gives its own self.log values at this batch (optimizer steps before it), so TensorBoard/CSV
        # curves of both line up
        trainer = self._trainer
        logger_step = max(trainer.global_step - 1, 0) if trainer is not None else None
        self._add_scalars(tag, step=runner.iter + 1, logger_step=logger_step)

    def after_val_iter(self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None, outputs: Any = None) -> None:
        if self.every_n_inner_iters(batch_idx, self.interval):
            _, log_str = self.log_processor.get_log_after_iter(runner, batch_idx, "val")  # type: ignore[union-attr]
            self._info(log_str)

    def after_test_iter(self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None, outputs: Any = None) -> None:
        if self.every_n_inner_iters(batch_idx, self.interval):
            _, log_str = self.log_processor.get_log_after_iter(runner, batch_idx, "test")  # type: ignore[union-attr]
            self._info(log_str)

    def after_val_epoch(self, runner: Any, metrics: Optional[dict] = None) -> None:
        tag, log_str = self.log_processor.get_log_after_epoch(runner, len(runner.val_dataloader), "val")  # type: ignore[union-attr]
        self._info(log_str)
        training = runner._train_loop is not None
        if self.log_metric_by_epoch:
            step = runner.epoch if training else 0
        else:
            step = runner.iter if training else 0
        self._add_scalars(tag, step=step)

    def after_test_epoch(self, runner: Any, metrics: Optional[dict] = None) -> None:
        tag, log_str = self.log_processor.get_log_after_epoch(  # type: ignore[union-attr]
            runner, len(runner.test_dataloader), "test", with_non_scalar=True
        )
        self._info(log_str)
        if self._is_zero:
            Path(runner.log_dir).mkdir(parents=True, exist_ok=True)
            with open(osp.join(runner.log_dir, self.json_log_path or "test.json"), "w") as f:
                json.dump(_jsonable(dict(tag)), f)

    def after_run(self, runner: Any) -> None:
        if self.out_dir is None or not self._is_zero:
            return
        log_dir = str(runner.log_dir)
        suffixes = (self.out_suffix,) if isinstance(self.out_suffix, str) else tuple(self.out_suffix)
        copied = []
        for root, _, files in os.walk(log_dir):
            for name in files:
                if not name.endswith(suffixes):
                    continue
                local = osp.join(root, name)
                target = osp.join(self.out_dir, osp.relpath(local, log_dir))
                os.makedirs(osp.dirname(target), exist_ok=True)
                shutil.copyfile(local, target)
                copied.append(local)
                self._info(f"The file {local} has been uploaded to {target}.")
        if not self.keep_local:
            self._close_file()
            for local in copied:
                os.remove(local)
