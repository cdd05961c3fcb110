"""A small MMEngine ``MessageHub``: scalar histories and runtime info shared by the callbacks.

One hub per Trainer (:func:`message_hub_for`), so every callback of a run reads what the others
wrote: :class:`~lightning_runtime.callbacks.RuntimeInfoHook` writes ``train/lr`` and the losses,
:class:`~lightning_runtime.callbacks.IterTimerHook` writes ``train/time``, ``train/data_time`` and
the ``eta`` info, :class:`~lightning_runtime.callbacks.LoggerHook` reads them all. Hooks see it as
``runner.message_hub``.

Scalars may be given as tensors: they are stored detached and converted to Python floats only
when a statistic is read (one device sync per read, at the logger's interval, never per iteration).

Example:
    >>> hub = MessageHub()
    >>> for v in (1.0, 2.0, 3.0):
    ...     hub.update_scalar("train/loss", v)
    >>> hub.get_scalar("train/loss").mean(2), hub.get_scalar("train/loss").current()
    (2.5, 3.0)
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from typing import Any, Optional

import torch

__all__ = ["HistoryBuffer", "MessageHub", "message_hub_for"]


class HistoryBuffer:
    """The history of one scalar (MMEngine's ``HistoryBuffer``: ``mean/max/min/current``).

    Args:
        max_length: Oldest values are dropped beyond this many.
    """

    def __init__(self, max_length: int = 1_000_000) -> None:
        self.max_length = max_length
        self._values: list[Any] = []  # floats, or detached tensors not yet read
        self._counts: list[float] = []
        self._pending = False

    def update(self, value: Any, count: int = 1) -> None:
        """Append ``value`` (float, int, 0-d/1-element tensor or numpy scalar)."""
        if isinstance(value, torch.Tensor):
            value = value.detach()
            self._pending = True
        elif hasattr(value, "item"):
            value = float(value.item())
        else:
            value = float(value)
        self._values.append(value)
        self._counts.append(float(count))
        if len(self._values) > self.max_length:
            del self._values[0], self._counts[0]

    def _materialize(self) -> None:
        if not self._pending:
            return
        idx = [i for i, v in enumerate(self._values) if isinstance(v, torch.Tensor)]
        tensors = [self._values[i].reshape(()).float() for i in idx]
        try:  # one transfer for all pending values
            floats = torch.stack(tensors).tolist()
        except RuntimeError:  # mixed devices
            floats = [t.item() for t in tensors]
        for i, f in zip(idx, floats):
            self._values[i] = f
        self._pending = False

    @property
    def data(self) -> tuple[list[float], list[float]]:
        """``(values, counts)`` as Python lists."""
        self._materialize()
        return list(self._values), list(self._counts)

    def __len__(self) -> int:
        return len(self._values)

    def _window(self, window_size: Optional[int]) -> tuple[list[float], list[float]]:
        self._materialize()
        if not self._values:
            raise ValueError("the history is empty: update it first")
        if window_size is None or window_size > len(self._values):
            window_size = len(self._values)
        return self._values[-window_size:], self._counts[-window_size:]

    def mean(self, window_size: Optional[int] = None) -> float:
        """Sum of the last ``window_size`` values over the sum of their counts."""
        vals, counts = self._window(window_size)
        return float(sum(vals) / sum(counts))

    def max(self, window_size: Optional[int] = None) -> float:
        return float(max(self._window(window_size)[0]))

    def min(self, window_size: Optional[int] = None) -> float:
        return float(min(self._window(window_size)[0]))

    def current(self) -> float:
        """The latest value."""
        return float(self._window(1)[0][-1])

    def statistics(self, method_name: str, *args: Any, **kwargs: Any) -> float:
        """Call ``mean``/``max``/``min``/``current`` by name (``log_processor.custom_cfg``)."""
        if method_name not in ("mean", "max", "min", "current"):
            raise KeyError(f"unknown statistic {method_name!r}; use mean, max, min or current")
        return getattr(self, method_name)(*args, **kwargs)


class MessageHub:
    """Scalars (``log_scalars``) and other values (``runtime_info``) of one run."""

    def __init__(self) -> None:
        self._log_scalars: "OrderedDict[str, HistoryBuffer]" = OrderedDict()
        self._runtime_info: "OrderedDict[str, Any]" = OrderedDict()

    @property
    def log_scalars(self) -> "OrderedDict[str, HistoryBuffer]":
        return self._log_scalars

    @property
    def runtime_info(self) -> "OrderedDict[str, Any]":
        return self._runtime_info

    def update_scalar(self, key: str, value: Any, count: int = 1, resumed: bool = True) -> None:
        """Append ``value`` to the history ``key`` (created on first use)."""
        self._log_scalars.setdefault(key, HistoryBuffer()).update(value, count)

    def update_scalars(self, log_dict: dict, resumed: bool = True) -> None:
        """``update_scalar`` for each item; a value may be ``dict(value=..., count=...)``."""
        for key, value in log_dict.items():
            if isinstance(value, dict):
                self.update_scalar(key, value["value"], int(value.get("count", 1)))
            else:
                self.update_scalar(key, value)

    def get_scalar(self, key: str) -> HistoryBuffer:
        """The history of ``key``; ``KeyError`` naming the known keys when absent."""
        if key not in self._log_scalars:
            raise KeyError(f"{key!r} is not a logged scalar; known: {sorted(self._log_scalars)}")
        return self._log_scalars[key]

    def update_info(self, key: str, value: Any, resumed: bool = True) -> None:
        self._runtime_info[key] = value

    def update_info_dict(self, info_dict: dict, resumed: bool = True) -> None:
        for key, value in info_dict.items():
            self.update_info(key, value)

    def get_info(self, key: str, default: Any = None) -> Any:
        return self._runtime_info.get(key, default)

    def pop_info(self, key: str, default: Any = None) -> Any:
        return self._runtime_info.pop(key, default)

    def state_dict(self) -> dict[str, Any]:
        """The scalar histories and the plain-data runtime info, as a checkpoint stores them.

        MMEngine saves its hub in every checkpoint (``checkpoint['message_hub']``) and restores it
        on resume, so the first log lines after a resume average over the same windows. Only
        plain data is kept (a ``weights_only`` load reads it); info that is not is left out.
        """
        scalars = {}
        for key, buf in self._log_scalars.items():
            values, counts = buf.data
            scalars[key] = {"values": values, "counts": counts}
        info = {k: v for k, v in self._runtime_info.items() if _plain(v)}
        return {"log_scalars": scalars, "runtime_info": info}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (MMEngine's ``load_state_dict``: keys replaced)."""
        for key, saved in (state.get("log_scalars") or {}).items():
            buf = HistoryBuffer()
            buf._values = [float(v) for v in saved["values"]]
            buf._counts = [float(c) for c in saved["counts"]]
            self._log_scalars[key] = buf
        for key, value in (state.get("runtime_info") or {}).items():
            self._runtime_info[key] = value


def _plain(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` is plain data (what ``torch.load(weights_only=True)`` reads back)."""
    if depth > 8:
        return False
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, (str, int)) and _plain(v, depth + 1) for k, v in value.items())
    return False


_HUBS: "weakref.WeakKeyDictionary[Any, MessageHub]" = weakref.WeakKeyDictionary()
_DEFAULT = MessageHub()


def message_hub_for(trainer: Any) -> MessageHub:
    """The hub shared by all callbacks of ``trainer`` (created on first use).

    ``None`` (no trainer) returns one process-wide hub.
    """
    if trainer is None:
        return _DEFAULT
    hub = _HUBS.get(trainer)
    if hub is None:
        hub = _HUBS[trainer] = MessageHub()
    return hub
