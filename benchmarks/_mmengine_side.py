"""The MMEngine 0.10.7 side of the side-by-side benchmarks: its real ``Runner``, set up as the tests do.

Importing this module prepares the process as ``tests/runner_parity_ref.py`` does (see DESIGN.md):
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` (MMEngine loads its checkpoints with ``weights_only=False``)
and ``time.sleep`` patched out (``IterBasedTrainLoop`` sleeps 2 s at each pass over the data, which
would otherwise land inside the timed iterations). Import it only in a child process that runs
MMEngine's side, never in one that times Lightning.
"""

from __future__ import annotations

import os

os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")

import copy  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from typing import Any  # noqa: E402

time.sleep = lambda seconds: None  # IterBasedTrainLoop's 2 s pause at each pass over the data

import torch  # noqa: E402
from mmengine.hooks import Hook  # noqa: E402
from mmengine.model import BaseModel, is_model_wrapper  # noqa: E402
from mmengine.registry import HOOKS  # noqa: E402

__all__ = ["Stamps", "StampHook", "MMModel", "mmengine_config", "build_runner", "NewHook"]

Stamps = list[tuple[float, float]]


@HOOKS.register_module(force=True)
class NewHook(Hook):
    """The seed tutorial's ``NewHook`` (``model`` bound in both branches, as in the parity tests)."""

    def __init__(self, a: int, b: int) -> None:
        self.a = a
        self.b = b

    def before_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        model.hyper_parameter = self.a * runner.iter + self.b


class StampHook(Hook):
    """Records ``(wall, process CPU)`` seconds at every ``before_train_iter``; optionally stops the process.

    Args:
        exit_after: After this many ``after_train_iter`` calls, call ``on_exit`` (then ``os._exit(0)``).
        on_exit: Called before exiting (e.g. to print what was measured).
    """

    priority = "VERY_HIGH"

    def __init__(self, exit_after: int | None = None, on_exit: Callable[[], None] | None = None) -> None:
        self.times: Stamps = []
        self.exit_after = exit_after
        self.on_exit = on_exit
        self.done = 0

    def before_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None) -> None:
        self.times.append((time.perf_counter(), time.process_time()))

    def after_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None) -> None:
        self.done += 1
        if self.exit_after is not None and self.done >= self.exit_after:
            if self.on_exit is not None:
                self.on_exit()
            os._exit(0)


class MMModel(BaseModel):
    """Wraps a module with a ``loss(batch)`` method as an MMEngine ``BaseModel`` (``mode='loss'``)."""

    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net
        self.hyper_parameter: float | None = None  # set by NewHook

    def forward(self, *batch: torch.Tensor, mode: str = "tensor") -> Any:
        if mode == "loss":
            return {"loss": self.net.loss(batch)}
        return self.net(batch[0])


def mmengine_config(runtime_cfg: dict[str, Any]) -> dict[str, Any]:
    """A lightning_runtime config dict as MMEngine ``Runner`` keyword arguments (same values).

    ``custom_imports`` is dropped (``NewHook`` is registered here); ``default_hooks.visualization=None``
    is dropped too (MMEngine's Runner has no such default hook).
    """
    cfg = copy.deepcopy(runtime_cfg)
    cfg.pop("custom_imports", None)
    hooks = cfg.get("default_hooks") or {}
    if hooks.get("visualization", "keep") is None:
        hooks.pop("visualization")
    return cfg


def build_runner(model: torch.nn.Module, loader: Any, runtime_cfg: dict[str, Any], hooks: Sequence[Hook] = ()) -> Any:
    """MMEngine's ``Runner`` for ``runtime_cfg`` (single process, CPU, no validation), with extra ``hooks``."""
    from mmengine.runner import Runner

    cfg = mmengine_config(runtime_cfg)
    cfg["custom_hooks"] = list(cfg.get("custom_hooks") or []) + list(hooks)
    runner = Runner(
        model=model, train_dataloader=loader, default_scope="mmengine", launcher="none",
        env_cfg=dict(cudnn_benchmark=False, dist_cfg=dict(backend="gloo")), **cfg,
    )
    return runner
