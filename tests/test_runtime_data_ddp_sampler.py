"""Two gloo processes, a custom sampler (``WeightedRandomSampler``): the runtime shards it with
Lightning's ``DistributedSamplerWrapper`` (imported through runtime/_lightning_compat), each rank
reading its half of the same weighted draw, pass after pass."""

from __future__ import annotations

import json
import textwrap

import pytest
import torch
from ddp_utils import torchrun
from torch.utils.data import WeightedRandomSampler

N, SEED, MAX_ITERS = 12, 3, 5
WEIGHTS = [0.0] * 4 + [1.0] * 4 + [3.0] * 4  # samples 0-3 are never drawn

SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import torch
    from torch.utils.data import DataLoader, WeightedRandomSampler
    from runtime_helpers import QUIET, make_cfg
    from test_runtime_data import Net, dataset
    from lightning_runtime.runtime import Runtime

    rt = Runtime(make_cfg({wd!r}, launcher='pytorch', env_cfg=dict(dist_cfg=dict(backend='gloo')),
                          randomness=dict(seed=5), train_cfg=dict(by_epoch=False, max_iters={max_iters}, val_interval=100),
                          optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1))))
    sampler = WeightedRandomSampler({weights!r}, num_samples={n}, replacement=True,
                                    generator=torch.Generator().manual_seed({seed}))
    m = Net()
    trainer = rt.fit(m, DataLoader(dataset({n}), batch_size=2, sampler=sampler), **QUIET)
    out = dict(seen=m.seen, n=len(trainer.train_dataloader), sampler=type(trainer.train_dataloader.sampler).__name__)
    with open(os.path.join({wd!r}, f"rank{{trainer.global_rank}}.json"), "w") as f:
        json.dump(out, f)
    """
)


@pytest.mark.slow
def test_custom_sampler_is_sharded_per_rank(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(SCRIPT.format(wd=str(tmp_path), max_iters=MAX_ITERS,
                                    weights=WEIGHTS, n=N, seed=SEED))
    proc = torchrun(str(script))
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0, r1 = (json.loads((tmp_path / f"rank{i}.json").read_text()) for i in (0, 1))
    assert r0["sampler"] == r1["sampler"] == "DistributedSamplerWrapper"
    # 12 draws, 2 ranks: 6 per rank and pass -> 3 batches of 2; 5 iterations = one pass + 2 batches
    assert r0["n"] == r1["n"] == 3
    reference = WeightedRandomSampler(WEIGHTS, num_samples=N, replacement=True,
                                      generator=torch.Generator().manual_seed(SEED))
    draws = [list(reference), list(reference)]  # passes 0 and 1: the sampler drawn once per pass
    for rank, seen in enumerate((r0["seen"], r1["seen"])):
        expected = [draws[0][rank::2][i:i + 2] for i in (0, 2, 4)] + [draws[1][rank::2][i:i + 2] for i in (0, 2)]
        assert seen == expected, f"rank {rank}"
        assert all(i >= 4 for batch in seen for i in batch)  # zero weight: never drawn
