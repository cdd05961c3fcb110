"""The seed's NewHook (imports changed only) under two-process CPU DDP, launched with torchrun."""

from __future__ import annotations

import json
import textwrap

from ddp_utils import torchrun

import pytest
from test_hooks_adapter import SEED_NEW_HOOK

SCRIPT = textwrap.dedent(
    """
    import json, os, sys, warnings
    warnings.filterwarnings("ignore")
    import lightning as L, torch
    from torch.utils.data import DataLoader, TensorDataset
    from lightning_runtime.callbacks import IterTimerHook, LoggerHook, RuntimeInfoHook
    from lightning_runtime.hooks import HookCallback
    from lightning_runtime.runtime import train_iter
    exec({seed!r})

    class Net(L.LightningModule):
        def __init__(self):
            super().__init__(); self.layer = torch.nn.Linear(4, 1); self.seen = []
        def training_step(self, batch, batch_idx):
            self.seen.append((train_iter(self.trainer), self.hyper_parameter))
            x, y = batch
            return torch.nn.functional.mse_loss(self.layer(x), y)
        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    data = TensorDataset(torch.randn(16, 4), torch.randn(16, 1))
    net = Net()
    trainer = L.Trainer(accelerator="cpu", devices=2, strategy="ddp", max_steps=5, logger=False,
                        enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False,
                        default_root_dir={wd!r},
                        callbacks=[RuntimeInfoHook(), IterTimerHook(), HookCallback(NewHook(a=4, b=2)),
                                   LoggerHook(interval=1)])
    trainer.fit(net, DataLoader(data, batch_size=2))
    with open(os.path.join({wd!r}, f"rank{{trainer.global_rank}}.json"), "w") as f:
        json.dump(dict(seen=net.seen, world=trainer.world_size), f)
    """
)


@pytest.mark.slow
def test_new_hook_under_ddp(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(SCRIPT.format(seed=SEED_NEW_HOOK, wd=str(tmp_path)))
    proc = torchrun(str(script))
    assert proc.returncode == 0, proc.stderr[-3000:]
    for rank in (0, 1):
        out = json.loads((tmp_path / f"rank{rank}.json").read_text())
        assert out["world"] == 2
        assert out["seen"] == [[i, 4 * i + 2] for i in range(5)]
    logs = list(tmp_path.glob("*/*.log"))
    assert len(logs) == 1  # rank zero only
    assert logs[0].read_text().count("Iter(train) [") == 5
