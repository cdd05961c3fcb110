# Copyright (c) OpenMMLab. All rights reserved.
"""The seed tutorial's ``NewHook`` ("Step 1: Create a new hook"), unchanged but for its imports.

The tutorial's imports and what they became::

    from mmengine.hooks import Hook            ->  from lightning_runtime.hooks import Hook
    from mmengine.model import is_model_wrapper ->  from lightning_runtime.utils import is_model_wrapper
    from mmseg.registry import HOOKS           ->  from lightning_runtime.registry import HOOKS
    from mmseg.utils import get_model          ->  (dropped: the tutorial never calls it)

Importing this module registers ``NewHook`` in ``HOOKS`` ("Step 2"); the demo configs do that with
``custom_imports = dict(imports=['lightning_runtime.demo.hooks'], allow_failed_imports=False)`` and
use it as ``custom_hooks = [dict(type='NewHook', a=..., b=..., priority='ABOVE_NORMAL')]`` ("Step 3").
The body binds ``model`` only when ``is_model_wrapper(runner.model)``: in lightning_runtime
``runner.model`` is always a wrapper whose ``.module`` is the LightningModule, so after iteration
``i`` starts, ``module.hyper_parameter == a * i + b``.
"""
from typing import Optional, Sequence

from lightning_runtime.hooks import Hook
from lightning_runtime.utils import is_model_wrapper

from lightning_runtime.registry import HOOKS

__all__ = ["NewHook"]


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
