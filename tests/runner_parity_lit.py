"""The Lightning side of ``test_runner_parity``: one scenario through ``Runtime.fit``, or the command line.

Usage: ``python runner_parity_lit.py SCENARIO WORK_DIR OUT_JSON``. The seed's ``NewHook`` is the
demo's (verbatim but for its imports), brought in by ``custom_imports`` as a user would. A
scenario in :data:`runner_parity_common.CLI_SCENARIOS` is written to ``cli_run.py`` beside
``WORK_DIR`` (its MMEngine sections, ``model``/``data`` class paths to this module, a ``trainer``
section) and run as ``lightning-runtime fit --config cli_run.py`` in a process of its own; the
``WriteRecords`` hook (LOWEST) writes what the recorders saw at ``after_run``.
"""

from __future__ import annotations

import json
import os
import subprocess
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
HOOKS.register_module(module=common.make_crash_hook(Hook), force=True)


class TinySeg(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        common.build_layers(self)
        common.initial_weights(self)
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


class TinyData(pl.LightningDataModule):
    """The scenario's loaders as a datamodule (``data = dict(class_path=...)`` of the CLI scenario)."""

    def train_dataloader(self) -> Any:
        return common.loaders()[0]

    def val_dataloader(self) -> Any:
        return common.loaders()[1]


@HOOKS.register_module(force=True)
class WriteRecords(Hook):
    """At ``after_run``: what the recorders saw, the weights and the files, to ``out`` (the CLI scenario)."""

    priority = "LOWEST"

    def __init__(self, out: str) -> None:
        self.out = out

    def after_run(self, runner: Any) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        Path(self.out).write_text(json.dumps(common.collect(Path(runner.work_dir), model, SINK)))


def main_cli(name: str, work_dir: str, out: str) -> None:
    """``lightning-runtime fit --config cli_run.py``, as a user types it."""
    cfg = common.scenario(name)
    cfg.update(
        work_dir=work_dir,
        custom_imports=dict(imports=["lightning_runtime.demo.hooks", "runner_parity_lit"], allow_failed_imports=False),
        model=dict(class_path="runner_parity_lit.TinySeg"),
        data=dict(class_path="runner_parity_lit.TinyData"),
        trainer=dict(enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0),
    )
    cfg["custom_hooks"] = cfg["custom_hooks"] + [dict(type="WriteRecords", out=out)]
    path = common.write_cli_config(cfg, work_dir)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]))
    command = [str(Path(sys.executable).parent / "lightning-runtime"), "fit", "--config", str(path)]
    proc = subprocess.run(command, env=env, cwd=path.parent, capture_output=True, text=True, timeout=240)
    if proc.returncode != 0 or not Path(out).exists():
        sys.exit(f"{' '.join(command)} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")


def main(name: str, work_dir: str, out: str) -> None:
    if name in common.CLI_SCENARIOS:
        return main_cli(common.CLI_SCENARIOS[name], work_dir, out)
    cfg = common.scenario(name)
    cfg.update(work_dir=work_dir,
               custom_imports=dict(imports=["lightning_runtime.demo.hooks"], allow_failed_imports=False))
    model = TinySeg()
    train, val = common.loaders()
    rt = Runtime(cfg)
    rt.fit(model, train_dataloaders=train, val_dataloaders=val,
           enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0)
    Path(out).write_text(json.dumps(common.collect(Path(work_dir), model, SINK)))


if __name__ == "__main__":
    main(*sys.argv[1:4])
