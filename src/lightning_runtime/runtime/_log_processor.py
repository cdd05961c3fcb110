"""MMEngine's log lines, exactly as ``mmengine/runner/log_processor.py`` formats them.

Pure formatting over a duck-typed ``runner`` (the hook facade, or any object with
``message_hub``, ``iter``, ``epoch``, ``max_iters``, ``max_epochs``, ``_train_loop`` and
``train_loop``/``val_loop``/``test_loop`` with a sized ``dataloader``). No Lightning here.

Lines look like::

    Iter(train) [  50/80000]  lr: 1.0000e-02  eta: 1 day, 0:42:13  time: 1.1100  data_time: 0.0120  memory: 3101  loss: 2.3421
    Epoch(train)  [1][ 50/500]  lr: 1.0000e-02  eta: ...
    Iter(val) [ 50/500]  eta: 0:00:30  time: 0.0600  data_time: 0.0010
    Iter(val) [500/500]    aAcc: 91.2000  mIoU: 64.1000  data_time: 0.0010  time: 0.0600

Example:
    >>> proc = LogProcessor(window_size=10, by_epoch=False)
    >>> proc.window_size, proc.num_digits
    (10, 4)
"""

from __future__ import annotations

import copy
import datetime
import re
from collections import OrderedDict
from itertools import chain
from typing import Any, Optional

import torch

from lightning_runtime.errors import ConfigError

__all__ = ["LogProcessor", "max_cuda_memory_mb"]


def max_cuda_memory_mb(device: Any = None) -> int:
    """Peak CUDA memory in MB since the last call (resets the peak), as MMEngine reports it."""
    mem = torch.cuda.max_memory_allocated(device=device)
    torch.cuda.reset_peak_memory_stats(device)
    return int(mem) // (1024 * 1024)


class LogProcessor:
    """MMEngine's ``LogProcessor`` (``log_processor`` in a config).

    Args:
        window_size: Iterations averaged for keys matching ``mean_pattern``.
        by_epoch: ``Epoch(train) [e][i/n]`` lines (True) or ``Iter(train) [i/N]`` lines.
        custom_cfg: ``[dict(data_src='loss', window_size='global', method_name='mean',
            log_name='loss_avg'), ...]``: extra statistics, as MMEngine.
        num_digits: Digits after the point.
        log_with_hierarchy: Keep the ``train/`` prefixes in the returned tag.
        mean_pattern: Keys averaged over the window (others show their latest value).
    """

    def __init__(
        self,
        window_size: int = 10,
        by_epoch: bool = True,
        custom_cfg: Optional[list] = None,
        num_digits: int = 4,
        log_with_hierarchy: bool = False,
        mean_pattern: str = r".*(loss|time|data_time|grad_norm).*",
    ) -> None:
        if not isinstance(window_size, int) or window_size <= 0:
            raise ConfigError(f"window_size must be a positive int, got {window_size!r}", path="log_processor.window_size", fix="set log_processor.window_size to a whole number >= 1, e.g. 10")
        self.window_size = window_size
        self.by_epoch = by_epoch
        self.custom_cfg = list(custom_cfg) if custom_cfg else []
        self.num_digits = num_digits
        self.log_with_hierarchy = log_with_hierarchy
        self.mean_pattern = re.compile(mean_pattern)
        self._check_custom_cfg()

    # ------------------------------------------------------------------ checks
    def _check_custom_cfg(self) -> None:
        seen = set()
        for i, item in enumerate(self.custom_cfg):
            path = f"log_processor.custom_cfg[{i}]"
            if not isinstance(item, dict) or "data_src" not in item:
                raise ConfigError("each entry needs 'data_src'", path=path, fix="e.g. dict(data_src='loss', window_size='global', method_name='mean')")
            name = item.get("log_name", item["data_src"])
            if name in seen:
                raise ConfigError(f"duplicate log_name {name!r}", path=path, fix="give each entry its own log_name")
            seen.add(name)
            if not self.by_epoch and item.get("window_size") == "epoch":
                raise ConfigError("window_size='epoch' needs log_processor.by_epoch=True", path=f"{path}.window_size", fix="set log_processor.by_epoch=True, or use window_size='global' or a number")
            method = item.get("method_name", "mean")
            if method not in ("mean", "max", "min", "current"):
                raise ConfigError(f"unknown method_name {method!r}", path=f"{path}.method_name", expected="mean, max, min or current", fix="use method_name='mean', 'max', 'min' or 'current'")

    # ------------------------------------------------------------------ lines
    def get_log_after_iter(self, runner: Any, batch_idx: int, mode: str) -> tuple[dict, str]:
        """The tag (scalars) and the line logged after a train/val/test iteration."""
        parsed_cfg = self._parse_windows_size(runner, batch_idx, self.custom_cfg)
        log_tag = self._collect_scalars(parsed_cfg, runner, mode)
        tag = copy.deepcopy(log_tag) if not self.log_with_hierarchy else self._collect_scalars(parsed_cfg, runner, mode, True)
        lr_parts = []
        for key, value in tag.items():
            if key.endswith("lr"):
                key = self._remove_prefix(key, f"{mode}/")
                log_tag.pop(key)
                lr_parts.append(f"{key}: {value:.{self.num_digits}e}")
        lr_str = " ".join(lr_parts)
        has_train_loop = runner._train_loop is not None
        if self.by_epoch:
            dataloader_len = self._get_dataloader_size(runner, mode)
            cur_iter = self._get_iter(runner, batch_idx)
            cur_iter_str = str(cur_iter).rjust(len(str(dataloader_len)))
            if mode in ("train", "val"):
                cur_epoch = self._get_epoch(runner, mode)
                if has_train_loop:
                    cur_epoch_str = f"[{cur_epoch}]".rjust(len(str(runner.max_epochs)) + 3, " ")
                else:
                    cur_epoch_str = f"[{cur_epoch}]"
                tag["epoch"] = cur_epoch
                log_str = f"Epoch({mode}){cur_epoch_str}[{cur_iter_str}/{dataloader_len}]  "
            else:
                log_str = f"Epoch({mode}) [{cur_iter_str}/{dataloader_len}]  "
        elif mode == "train":
            cur_iter_str = str(self._get_iter(runner, batch_idx)).rjust(len(str(runner.max_iters)))
            log_str = f"Iter({mode}) [{cur_iter_str}/{runner.max_iters}]  "
        else:
            dataloader_len = self._get_dataloader_size(runner, mode)
            cur_iter_str = str(batch_idx + 1).rjust(len(str(dataloader_len)))
            log_str = f"Iter({mode}) [{cur_iter_str}/{dataloader_len}]  "
        tag["iter"] = runner.iter + 1 if has_train_loop else 0
        log_str += f"{lr_str}  "
        if all(k in log_tag for k in ("time", "data_time")) and "eta" in runner.message_hub.runtime_info:
            eta = runner.message_hub.get_info("eta")
            log_str += f"eta: {datetime.timedelta(seconds=int(eta))}  "
            log_str += f"time: {log_tag['time']:.{self.num_digits}f}  data_time: {log_tag['data_time']:.{self.num_digits}f}  "
            log_tag.pop("time")
            log_tag.pop("data_time")
        if torch.cuda.is_available():
            mem = max_cuda_memory_mb()
            log_str += f"memory: {mem}  "
            tag["memory"] = mem
        if mode in ("train", "val"):
            items = []
            for name, val in log_tag.items():
                if mode == "val" and not name.startswith("val/loss"):
                    continue
                if isinstance(val, float):
                    val = f"{val:.{self.num_digits}f}"
                items.append(f"{name}: {val}")
            log_str += "  ".join(items)
        return tag, log_str

    def get_log_after_epoch(self, runner: Any, batch_idx: int, mode: str, with_non_scalar: bool = False) -> tuple[dict, str]:
        """The tag and the metrics line logged after a validation/test epoch."""
        if mode not in ("val", "test"):
            raise ValueError(f"get_log_after_epoch takes 'val' or 'test', got {mode!r}")
        dataloader_len = self._get_dataloader_size(runner, mode)
        if self.by_epoch:
            if mode == "val":
                log_str = f"Epoch({mode}) [{self._get_epoch(runner, mode)}][{dataloader_len}/{dataloader_len}]  "
            else:
                log_str = f"Epoch({mode}) [{dataloader_len}/{dataloader_len}]  "
        else:
            log_str = f"Iter({mode}) [{dataloader_len}/{dataloader_len}]  "
        custom_cfg = copy.deepcopy(self.custom_cfg)
        custom_keys = [self._remove_prefix(c["data_src"], f"{mode}/") for c in custom_cfg]
        if "time" not in custom_keys:
            custom_cfg.append(dict(data_src="time", window_size="epoch", method_name="mean"))
        if "data_time" not in custom_keys:
            custom_cfg.append(dict(data_src="data_time", window_size="epoch", method_name="mean"))
        parsed_cfg = self._parse_windows_size(runner, batch_idx, custom_cfg)
        ori_tag = self._collect_scalars(parsed_cfg, runner, mode, self.log_with_hierarchy)
        non_scalar_tag = self._collect_non_scalars(runner, mode)
        tag: "OrderedDict[str, Any]" = OrderedDict()
        time_tag: "OrderedDict[str, Any]" = OrderedDict()
        for key, value in ori_tag.items():
            if key in (f"{mode}/time", f"{mode}/data_time", "time", "data_time"):
                time_tag[key] = value
            else:
                tag[key] = value
        items = []
        log_str += "  "
        for name, val in chain(tag.items(), non_scalar_tag.items(), time_tag.items()):
            if isinstance(val, float):
                val = f"{val:.{self.num_digits}f}"
            if isinstance(val, torch.Tensor) or type(val).__name__ == "ndarray":
                val = f"\n{val}\n"
            items.append(f"{name}: {val}")
        log_str += "  ".join(items)
        if with_non_scalar:
            tag.update(non_scalar_tag)
        tag.update(time_tag)
        return tag, log_str

    # ------------------------------------------------------------------ helpers
    def _collect_scalars(self, custom_cfg: list, runner: Any, mode: str, reserve_prefix: bool = False) -> "OrderedDict[str, Any]":
        tag: "OrderedDict[str, Any]" = OrderedDict()
        mode_scalars: "OrderedDict[str, Any]" = OrderedDict()
        for prefix_key, buffer in runner.message_hub.log_scalars.items():
            if prefix_key.startswith(mode):
                key = prefix_key if reserve_prefix else self._remove_prefix(prefix_key, f"{mode}/")
                mode_scalars[key] = buffer
        for key, buffer in mode_scalars.items():
            if re.search(self.mean_pattern, key) is not None:
                tag[key] = buffer.mean(self.window_size)
            else:
                tag[key] = buffer.current()
        for log_cfg in copy.deepcopy(custom_cfg):
            data_src = log_cfg.pop("data_src")
            log_name = log_cfg.pop("log_name", data_src)
            if reserve_prefix:
                data_src, log_name = f"{mode}/{data_src}", f"{mode}/{log_name}"
            if data_src in mode_scalars:
                method = log_cfg.pop("method_name", "mean")
                tag[log_name] = mode_scalars[data_src].statistics(method, **log_cfg)
        return tag

    def _collect_non_scalars(self, runner: Any, mode: str) -> "OrderedDict[str, Any]":
        out: "OrderedDict[str, Any]" = OrderedDict()
        for prefix_key, value in runner.message_hub.runtime_info.items():
            if prefix_key.startswith(mode):
                key = prefix_key if self.log_with_hierarchy else self._remove_prefix(prefix_key, f"{mode}/")
                out[key] = value
        return out

    @staticmethod
    def _remove_prefix(string: str, prefix: str) -> str:
        return string[len(prefix):] if string.startswith(prefix) else string

    def _parse_windows_size(self, runner: Any, batch_idx: int, custom_cfg: list) -> list:
        parsed = copy.deepcopy(custom_cfg)
        for log_cfg in parsed:
            window = log_cfg.get("window_size")
            if window is None or isinstance(window, int):
                continue
            if window == "epoch":
                log_cfg["window_size"] = batch_idx + 1
            elif window == "global":
                log_cfg["window_size"] = runner.iter + 1
            else:
                raise ConfigError(f"window_size must be an int, 'epoch' or 'global', got {window!r}", path="log_processor.custom_cfg", fix="write window_size as a whole number, 'epoch' or 'global'")
        return parsed

    def _get_iter(self, runner: Any, batch_idx: int) -> int:
        return batch_idx + 1 if self.by_epoch else runner.iter + 1

    def _get_epoch(self, runner: Any, mode: str) -> int:
        if mode == "train":
            return runner.epoch + 1
        if mode == "val":
            return runner.epoch if runner._train_loop is not None else 0
        raise ValueError(f"runner mode should be 'train' or 'val', got {mode!r}")

    @staticmethod
    def _get_dataloader_size(runner: Any, mode: str) -> int:
        loop = {"train": runner.train_loop, "val": runner.val_loop, "test": runner.test_loop}[mode]
        return len(loop.dataloader)
