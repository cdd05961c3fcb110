"""The Lightning side of ``test_runner_parity``: one scenario through ``Runtime.fit``.

Usage: ``python runner_parity_lit.py SCENARIO WORK_DIR OUT_JSON``. The seed's ``NewHook`` is the
demo's (verbatim but for its imports), brought in by ``custom_imports`` as a user would.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch

import runner_parity_common as common  # the script's folder is on sys.path
from lightning_runtime import Runtime
from lightning_runtime.hooks import Hook
from lightning_runtime.registry import HOOKS
from lightning_runtime.utils import is_model_wrapper

SINK: list = []
HOOKS.register_module(module=common.make_record_hook(Hook, is_model_wrapper, SINK), force=True)
HOOKS.register_module(module=common.make_stop_hook(Hook), force=True)


class TinySeg(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        common.build_layers(self)
        self._val: list[tuple[float, int]] = []

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        return common.loss_of(self, x, y)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        self._val.append((float(((common.predict(self, x) - y) ** 2).sum()), y.numel()))

    def on_validation_epoch_end(self) -> None:
        if self._val:
            self.log("mse", sum(v[0] for v in self._val) / sum(v[1] for v in self._val))
        self._val = []


def main(name: str, work_dir: str, out: str) -> None:
    cfg = common.scenario(name)
    cfg.update(work_dir=work_dir,
               custom_imports=dict(imports=["lightning_runtime.demo.hooks"], allow_failed_imports=False))
    model = TinySeg()
    common.initial_weights(model)
    train, val = common.loaders()
    rt = Runtime(cfg)
    rt.fit(model, train_dataloaders=train, val_dataloaders=val,
           enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0)
    Path(out).write_text(json.dumps(common.collect(Path(work_dir), model, SINK)))


if __name__ == "__main__":
    main(*sys.argv[1:4])
