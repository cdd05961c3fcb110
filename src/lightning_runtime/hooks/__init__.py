"""MMEngine-style hooks on Lightning: the ``Hook`` API, priorities, the runner facade, the adapter.

Example (the seed tutorial's hook, imports changed)::

    from lightning_runtime.hooks import Hook
    from lightning_runtime.utils import is_model_wrapper
    from lightning_runtime.registry import HOOKS

    @HOOKS.register_module()
    class NewHook(Hook):
        def __init__(self, a, b):
            self.a, self.b = a, b
        def before_train_iter(self, runner, batch_idx, data_batch=None):
            if is_model_wrapper(runner.model):
                model = runner.model.module
            model.hyper_parameter = self.a * runner.iter + self.b

    trainer = L.Trainer(callbacks=[HookCallback(NewHook(a=2, b=1))])
"""

from __future__ import annotations

from lightning_runtime.hooks._adapter import CallbackHook, HookCallback, HookDriver, eval_metrics, normalize_outputs
from lightning_runtime.hooks._builder import DEFAULT_HOOKS, build_callbacks, build_hook, hooks_info, sort_by_priority
from lightning_runtime.hooks._facade import LoopView, ModelWrapper, OptimWrapperView, RunnerFacade
from lightning_runtime.hooks._hook import DATA_BATCH, Hook
from lightning_runtime.hooks._message_hub import HistoryBuffer, MessageHub, message_hub_for
from lightning_runtime.hooks._priority import Priority, get_priority, priority_name
from lightning_runtime.runtime._run_log import get_logger

__all__ = [
    "Hook",
    "DATA_BATCH",
    "Priority",
    "get_priority",
    "priority_name",
    "RunnerFacade",
    "ModelWrapper",
    "OptimWrapperView",
    "LoopView",
    "get_logger",
    "HookDriver",
    "HookCallback",
    "CallbackHook",
    "normalize_outputs",
    "eval_metrics",
    "build_callbacks",
    "build_hook",
    "sort_by_priority",
    "hooks_info",
    "DEFAULT_HOOKS",
    "HistoryBuffer",
    "MessageHub",
    "message_hub_for",
]
