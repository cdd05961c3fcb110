"""Two gloo processes: a plain shuffled train loader is sharded once (MMEngine's DefaultSampler),
passes chained as in MMEngine's IterBasedTrainLoop, ranks agree on the per-pass permutation."""

from __future__ import annotations

import json
import textwrap

import pytest
import torch
from ddp_utils import torchrun

SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import torch
    from torch.utils.data import DataLoader
    from runtime_helpers import QUIET, make_cfg
    from test_runtime_data import Net, dataset
    from lightning_runtime.runtime import Runtime

    rt = Runtime(make_cfg({wd!r}, launcher='pytorch', env_cfg=dict(dist_cfg=dict(backend='gloo')),
                          randomness=dict(seed=5), train_cfg=dict(by_epoch=False, max_iters=7, val_interval=100),
                          optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1), accumulative_counts=3)))
    m = Net()
    trainer = rt.fit(m, DataLoader(dataset(), batch_size=2, shuffle=True), **QUIET)
    out = dict(rank=trainer.global_rank, seen=m.seen, steps=m.step_iters, n=len(trainer.train_dataloader))
    with open(os.path.join({wd!r}, f"rank{{trainer.global_rank}}.json"), "w") as f:
        json.dump(out, f)
    """
)


@pytest.mark.slow
def test_shuffled_loader_sharded_once_across_passes(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(SCRIPT.format(wd=str(tmp_path)))
    proc = torchrun(str(script))
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0, r1 = (json.loads((tmp_path / f"rank{i}.json").read_text()) for i in (0, 1))
    # 10 samples, 2 ranks: 5 per rank per pass -> batches of 2, 2, 1: 3 batches per pass and rank
    assert r0["n"] == r1["n"] == 3
    assert r0["steps"] == r1["steps"] == [3, 6, 7]  # windows across passes, last partial window at max_iters
    for p in range(2):  # passes 0 and 1 complete (7 iterations = 3 + 3 + 1)
        perm = torch.randperm(10, generator=torch.Generator().manual_seed(5 + p)).tolist()
        mine = [sum(r["seen"][3 * p: 3 * p + 3], []) for r in (r0, r1)]
        assert mine == [perm[0::2], perm[1::2]]  # DefaultSampler: indices[rank::world_size], no double sharding
    assert r0["seen"][6] == [torch.randperm(10, generator=torch.Generator().manual_seed(7)).tolist()[i] for i in (0, 2)]
