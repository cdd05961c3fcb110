"""Two-process DDP on CPU (gloo) from a launcher='pytorch' config, launched with torchrun."""

from __future__ import annotations

import json
import textwrap

import pytest

from ddp_utils import torchrun

SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import torch
    from runtime_helpers import QUIET, Boring, loader, make_cfg
    from lightning_runtime.runtime import Runtime

    rt = Runtime(make_cfg({wd!r}, launcher='pytorch', env_cfg=dict(dist_cfg=dict(backend='gloo')),
                          randomness=dict(seed=7, diff_rank_seed=True),
                          train_cfg=dict(by_epoch=False, max_iters=4, val_interval=2), val_cfg=dict(type='ValLoop'),
                          optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1))))
    m = Boring(rt)
    trainer = rt.fit(m, loader(4), loader(2), **QUIET)
    out = dict(rank=trainer.global_rank, world=trainer.world_size, seed=rt.seed, steps=m.steps, val=m.val_iters,
               strategy=type(trainer.strategy).__name__, backend=trainer.strategy._process_group_backend,
               weight=m.layer.weight.detach().flatten().tolist())
    with open(os.path.join({wd!r}, f"rank{{trainer.global_rank}}.json"), "w") as f:
        json.dump(out, f)
    """
)


@pytest.mark.slow
def test_two_process_ddp_cpu(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(SCRIPT.format(wd=str(tmp_path)))
    proc = torchrun(str(script))
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0, r1 = (json.loads((tmp_path / f"rank{i}.json").read_text()) for i in (0, 1))
    assert (r0["world"], r0["strategy"], r0["backend"]) == (2, "DDPStrategy", "gloo")
    assert (r0["seed"], r1["seed"]) == (7, 8)  # diff_rank_seed: seed + rank
    # 4 batches per rank (each rank sees its half of the data); validation at 2 and 4 on both ranks
    assert r0["steps"] == r1["steps"] == 4 and r0["val"] == r1["val"] == [2, 4]
    assert r0["weight"] == r1["weight"]  # gradients synchronised
