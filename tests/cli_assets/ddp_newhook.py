# Copyright (c) OpenMMLab. All rights reserved.
# The seed tutorial's NewHook ("Step 1: Create a new hook"), unchanged but for its imports, for the
# DDP CLI test (tests/test_reliability_ddp.py); imported through custom_imports in ddp_cfg.py.
from typing import Optional, Sequence

from lightning_runtime.hooks import Hook
from lightning_runtime.utils import is_model_wrapper

from lightning_runtime.registry import HOOKS


@HOOKS.register_module()
class NewHook(Hook):
    """Docstring for NewHook.
    """

    def __init__(self, a: int, b: int) -> None:
        self.a = a
        self.b = b

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: Optional[Sequence[dict]] = None) -> None:
        cur_iter = runner.iter
        # Get model if the input model is a model wrapper
        if is_model_wrapper(runner.model):
          model = runner.model.module
        model.hyper_parameter = self.a * cur_iter + self.b
