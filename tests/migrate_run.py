"""One phase of a migration scenario (``migrate_common``) on one side.

Usage: ``python migrate_run.py {ref,lit,lit_wrapped} NAME:PHASE WORK_DIR OUT_JSON``: ``ref`` runs
MMEngine 0.10.7's Runner (``runner_parity_ref``), ``lit`` runs ``Runtime.fit`` (``runner_parity_lit``),
each with the migration's config instead of a parity scenario's. ``lit_wrapped`` is ``lit`` with a
LightningModule that holds the network as ``self.model`` (its weights are ``model.backbone...``).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import lightning.pytorch as pl
import torch
from torch import nn

import migrate_common  # the script's folder is on sys.path
import runner_parity_common as common


class _Network(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        common.build_layers(self)


def wrapped_module(base: type) -> type:
    """``base`` (runner_parity_lit's TinySeg) with the network one attribute down, as ``self.model``."""

    class WrappedTinySeg(base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            pl.LightningModule.__init__(self)
            self.model = _Network()
            self._val: list[tuple[float, int]] = []

        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            x, y = batch
            return common.loss_of(self.model, x, y)

        def validation_step(self, batch: Any, batch_idx: int) -> None:
            x, y = batch
            self._val.append((float(((common.predict(self.model, x) - y) ** 2).sum()), y.numel()))

    return WrappedTinySeg


if __name__ == "__main__":
    side, name, work_dir, out = sys.argv[1:5]
    runner = importlib.import_module(f"runner_parity_{side.removesuffix('_wrapped')}")
    if side.endswith("_wrapped"):
        runner.TinySeg = wrapped_module(runner.TinySeg)  # type: ignore[attr-defined]
    parity = common.scenario

    def scenario(n: str) -> dict:
        base, colon, _ = n.partition(":")
        return migrate_common.scenario(n, work_dir) if colon and base in migrate_common.MIGRATIONS else parity(n)

    common.scenario = scenario  # type: ignore[assignment]  # the runner scripts look it up by name
    runner.main(name, work_dir, out)
