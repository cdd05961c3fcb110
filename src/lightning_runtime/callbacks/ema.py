"""``EMAHook`` -> Lightning's ``EMAWeightAveraging``, with MMEngine's arguments.

Mapping (MMEngine ``EMAHook`` + ``ExponentialMovingAverage`` -> Lightning):

* ``momentum`` m -> ``decay = 1 - m`` (MMEngine: ``ema = ema.lerp(p, m)``; Lightning:
  ``ema = decay * ema + (1 - decay) * p``: the same update).
* ``interval`` n: as MMEngine, the first update after the start copies the weights and then every
  n-th update averages (counted from the start).
* ``begin_iter`` / ``begin_epoch``: averaging starts when ``iter + 1 >= begin_iter`` (or
  ``epoch + 1 >= begin_epoch``); before that the average is kept equal to the current weights,
  as MMEngine does, so validation before the start sees the current weights.
* ``update_buffers`` -> ``use_buffers``.
* Validation/test run with the averaged weights and checkpoints hold them (Lightning swaps them
  in; ``EMAWeightAveraging`` also copies them into the model when training ends, whereas MMEngine
  keeps the raw weights in the model and the EMA ones in the checkpoint's ``state_dict``).

Divergences: updates happen once per *optimizer step* (Lightning); MMEngine updates after every
iteration, so under gradient accumulation MMEngine averages the same weights k times. Only
``ema_type='ExponentialMovingAverage'`` maps; ``strict_load`` has no effect (Lightning restores the
average strictly).
"""

from __future__ import annotations

from typing import Any, Optional

import torch
from lightning.pytorch.callbacks import EMAWeightAveraging

from lightning_runtime.errors import ConfigError
from lightning_runtime.runtime._progress import train_iter
from lightning_runtime.registry import HOOKS

__all__ = ["EMAHook"]


@HOOKS.register_module()
class EMAHook(EMAWeightAveraging):
    """Exponential moving average of the weights, configured as MMEngine's ``EMAHook``.

    Args:
        ema_type: Must be ``'ExponentialMovingAverage'``.
        strict_load: Accepted for compatibility; no effect.
        begin_iter: First iteration (``iter + 1 >= begin_iter``) that averages.
        begin_epoch: First epoch (``epoch + 1 >= begin_epoch``) that averages.
        momentum: MMEngine's EMA momentum (weight of the new value), in (0, 1).
        interval: Average every this many updates.
        update_buffers: Average buffers too.
        device: Where the averaged copy lives (default: the model's device).

    Example:
        >>> hook = EMAHook(momentum=0.001)
        >>> round(hook.decay, 6), hook.priority
        (0.999, 'NORMAL')
    """

    priority = "NORMAL"

    def __init__(
        self,
        ema_type: str = "ExponentialMovingAverage",
        strict_load: bool = False,
        begin_iter: int = 0,
        begin_epoch: int = 0,
        momentum: float = 0.0002,
        interval: int = 1,
        update_buffers: bool = False,
        device: Optional[str] = None,
    ) -> None:
        name = str(ema_type).rpartition(".")[2]
        if name != "ExponentialMovingAverage":
            fix = (
                "use lightning.pytorch.callbacks.StochasticWeightAveraging"
                if name == "StochasticWeightAverage"
                else "use ema_type='ExponentialMovingAverage'"
            )
            raise ConfigError(f"ema_type {ema_type!r} is not supported", path="ema_type", fix=fix)
        if begin_iter and begin_epoch:
            raise ConfigError("set begin_iter or begin_epoch, not both", path="begin_iter", fix="remove one of begin_iter and begin_epoch")
        if begin_iter < 0 or begin_epoch < 0:
            raise ConfigError("begin_iter and begin_epoch must be >= 0", path="begin_iter", fix="set begin_iter / begin_epoch to 0 or more")
        if not 0.0 < momentum < 1.0:
            raise ConfigError(f"momentum must be in (0, 1), got {momentum}", path="momentum",
                              fix="MMEngine's momentum is the weight of the new value, e.g. 0.0002")
        if not isinstance(interval, int) or interval < 1:
            raise ConfigError(f"interval must be a positive int, got {interval!r}", path="interval",
                              fix="update the EMA every N iterations with a whole number N >= 1 (default 1)")
        super().__init__(device=device, use_buffers=update_buffers, decay=1.0 - momentum, update_every_n_steps=1)
        self.decay = 1.0 - momentum
        self.momentum = momentum
        self.interval = interval
        self.begin_iter = begin_iter
        self.begin_epoch = begin_epoch
        self.strict_load = strict_load
        self._ema_steps = 0
        self._trainer: Any = None

    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        self._trainer = trainer
        super().setup(trainer, pl_module, stage)

    def _started(self, trainer: Any) -> bool:
        if self.begin_epoch > 0:
            return int(trainer.current_epoch) + 1 >= self.begin_epoch
        return train_iter(trainer) + 1 >= self.begin_iter

    def should_update(self, step_idx: Optional[int] = None, epoch_idx: Optional[int] = None) -> bool:
        """MMEngine's rule: first update copies, then every ``interval``-th averages."""
        if step_idx is None:
            return False
        do = self._ema_steps == 0 or self._ema_steps % self.interval == 0
        self._ema_steps += 1
        return do

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        if self._average_model is not None and not self._started(trainer):
            with torch.no_grad():
                for p_avg, p in zip(self._average_model.module.parameters(), pl_module.parameters()):
                    p_avg.copy_(p.detach().to(p_avg.device))
            return
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["ema_steps"] = self._ema_steps
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._ema_steps = int(state_dict.pop("ema_steps", 0))
        super().load_state_dict(state_dict)
