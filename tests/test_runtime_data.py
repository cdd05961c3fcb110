"""The train data as MMEngine's loops read it (runtime/_data): chained passes, accumulation windows
across passes, per-pass permutations, exact mid-pass resume. Real CPU Trainer runs."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
import torch
from lightning.pytorch.callbacks import Callback
from torch.utils.data import DataLoader, DistributedSampler, SequentialSampler, TensorDataset

from runtime_helpers import NO_HOOKS, QUIET, make_cfg

import lightning.pytorch as pl

from lightning_runtime.runtime._progress import train_iter
from lightning_runtime.runtime import Runtime
from lightning_runtime.runtime._data import PassLoader, PassSampler

MAX_ITERS, K, N, BS = 14, 3, 10, 2  # 5 batches per pass, accumulation windows of 3


def dataset(n: int = N) -> TensorDataset:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 4, generator=g)
    return TensorDataset(x, x.sum(1, keepdim=True) + 0.1 * torch.randn(n, 1, generator=g), torch.arange(n))


class Net(pl.LightningModule):
    """Linear(4, 1) (+ dropout when asked); records sample indices, the iterations that stepped."""

    def __init__(self, dropout: float = 0.0) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.layer = torch.nn.Linear(4, 1)
        self.drop = torch.nn.Dropout(dropout)
        self.seen: list[list[int]] = []
        self.step_iters: list[int] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(self.drop(x))

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y, idx = batch
        self.seen.append(idx.tolist())
        return torch.nn.functional.mse_loss(self(x), y)

    def optimizer_step(self, *args: Any, **kwargs: Any) -> None:
        self.step_iters.append(train_iter(self.trainer) + 1)
        super().optimizer_step(*args, **kwargs)


def cfg(tmp_path: Path, **kw: Any) -> dict:
    return make_cfg(tmp_path, train_cfg=dict(type="IterBasedTrainLoop", max_iters=MAX_ITERS, val_interval=100),
                    optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1), accumulative_counts=K), **kw)


# ---------------------------------------------------------------------------- the MMEngine reference
class _InfiniteDataloaderIterator:
    """mmengine/runner/loops.py, transcribed (print_log and sleep left out)."""

    def __init__(self, dataloader: DataLoader) -> None:
        self._dataloader = dataloader
        self._iterator = iter(self._dataloader)
        self._epoch = 0

    def __iter__(self):
        return self

    def __next__(self):
        try:
            data = next(self._iterator)
        except StopIteration:
            self._epoch += 1
            if hasattr(self._dataloader, "sampler") and hasattr(self._dataloader.sampler, "set_epoch"):
                self._dataloader.sampler.set_epoch(self._epoch)
            elif hasattr(self._dataloader, "batch_sampler") and hasattr(self._dataloader.batch_sampler.sampler, "set_epoch"):
                self._dataloader.batch_sampler.sampler.set_epoch(self._epoch)
            self._iterator = iter(self._dataloader)
            data = next(self._iterator)
        return data


def mmengine_run(loader: DataLoader) -> tuple[torch.nn.Module, list[int], list[list[int]]]:
    """IterBasedTrainLoop.run_iter with mmengine's own OptimWrapper (update_params: scale_loss,
    backward, should_update -> step + zero_grad), initialized as the loop does."""
    from mmengine.optim import OptimWrapper

    model = Net()
    steps: list[int] = []

    class Recording(OptimWrapper):
        def step(self, **kwargs: Any) -> None:
            steps.append(self._inner_count)
            super().step(**kwargs)

    wrapper = Recording(torch.optim.SGD(model.parameters(), lr=0.1), accumulative_counts=K)
    wrapper.initialize_count_status(model, 0, MAX_ITERS)
    it = _InfiniteDataloaderIterator(loader)
    for _ in range(MAX_ITERS):
        x, y, idx = next(it)
        model.seen.append(idx.tolist())
        wrapper.update_params(torch.nn.functional.mse_loss(model(x), y))
    return model, steps, model.seen


def test_accumulation_across_passes_matches_mmengine_optim_wrapper(tmp_path):
    ref, ref_steps, ref_seen = mmengine_run(DataLoader(dataset(), batch_size=BS))
    assert ref_steps == [3, 6, 9, 12, 14]  # windows cross passes; last partial window (2) steps at max_iters

    m = Net()
    rt = Runtime(cfg(tmp_path))
    trainer = rt.fit(m, DataLoader(dataset(), batch_size=BS), **QUIET)
    assert m.step_iters == ref_steps and trainer.global_step == 5
    assert m.seen == ref_seen == [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]] * 2 + [[0, 1], [2, 3], [4, 5], [6, 7]]
    for a, b in zip(m.parameters(), ref.parameters()):
        assert torch.equal(a, b)  # bitwise: same losses / factor (the last window divides by 2), same sums
    # Lightning saw one epoch; runner.epoch stays 0 as in MMEngine; runner.train_dataloader is the user's loader
    assert trainer.current_epoch == 1 and trainer.fit_loop.epoch_progress.current.processed == 1
    assert len(trainer.train_dataloader) == 5 and trainer.train_dataloader.batch_size == BS


def test_loss_factor_of_the_last_window_matters(tmp_path):
    """Without MMEngine's last-window factor (loss / 2) the final weights would differ."""
    ref, _, _ = mmengine_run(DataLoader(dataset(), batch_size=BS))
    m = Net()
    rt = Runtime(cfg(tmp_path))
    trainer = rt.build_trainer(**QUIET)
    rt._loop_control.accumulative_counts = 1  # disables only the last-window factor (accumulation stays 3)
    trainer.fit(rt.attach(m), DataLoader(dataset(), batch_size=BS))
    assert m.step_iters == [3, 6, 9, 12, 14]
    assert not torch.equal(m.layer.weight, ref.layer.weight)


class EpochSampler(SequentialSampler):
    def __init__(self, data: Any) -> None:
        super().__init__(data)
        self.epochs: list[int] = []

    def set_epoch(self, epoch: int) -> None:
        self.epochs.append(epoch)


def test_set_epoch_once_per_new_pass_as_mmengine(tmp_path):
    ds = dataset()
    ref_sampler = EpochSampler(ds)
    it = _InfiniteDataloaderIterator(DataLoader(ds, batch_size=BS, sampler=ref_sampler))
    for _ in range(MAX_ITERS):
        next(it)
    sampler = EpochSampler(ds)
    Runtime(cfg(tmp_path)).fit(Net(), DataLoader(ds, batch_size=BS, sampler=sampler), **QUIET)
    assert sampler.epochs == ref_sampler.epochs == [1, 2]
    # with MMEngine's DistSamplerSeedHook, set_epoch(0) before the first pass too
    sampler = EpochSampler(ds)
    hooks = dict(NO_HOOKS, sampler_seed=dict(type="DistSamplerSeedHook"))
    Runtime(cfg(tmp_path, default_hooks=hooks)).fit(Net(), DataLoader(ds, batch_size=BS, sampler=sampler), **QUIET)
    assert sampler.epochs == [0, 1, 2]


def test_shuffled_passes_are_defaultsampler_permutations(tmp_path):
    m = Net()
    Runtime(cfg(tmp_path, randomness=dict(seed=5))).fit(m, DataLoader(dataset(), batch_size=BS, shuffle=True), **QUIET)
    flat = [i for b in m.seen for i in b]
    for p in range(3):  # pass p: randperm(10) seeded with seed + p (mmengine DefaultSampler)
        g = torch.Generator().manual_seed(5 + p)
        assert flat[10 * p: 10 * p + 10] == torch.randperm(N, generator=g).tolist()[: len(flat[10 * p: 10 * p + 10])]
    assert len(flat) == 28


# ---------------------------------------------------------------------------- exact resume
class Crash(Callback):
    def __init__(self, at: int) -> None:
        self.at = at

    def on_train_batch_start(self, trainer: pl.Trainer, *args: Any) -> None:
        if train_iter(trainer) == self.at:
            raise RuntimeError(f"simulated crash before iteration {self.at + 1}")


def _resume_cfg(tmp_path: Path, **kw: Any) -> dict:
    hooks = dict(NO_HOOKS, checkpoint=dict(type="CheckpointHook", interval=7, by_epoch=False),
                 param_scheduler=dict(type="ParamSchedulerHook"))
    return cfg(tmp_path, default_hooks=hooks, randomness=dict(seed=3),
               param_scheduler=[dict(type="LinearLR", start_factor=0.2, by_epoch=False, begin=0, end=9)], **kw)


def _shuffled() -> DataLoader:
    return DataLoader(dataset(), batch_size=BS, shuffle=True)  # a plain shuffled DataLoader


def test_interrupted_mid_pass_mid_window_resumes_bitwise(tmp_path):
    full = Net(dropout=0.2)
    Runtime(_resume_cfg(tmp_path / "full")).fit(full, _shuffled(), **QUIET)

    first = Net(dropout=0.2)
    with pytest.raises(RuntimeError, match="simulated crash"):
        Runtime(_resume_cfg(tmp_path / "cut")).fit(first, _shuffled(), callbacks=[Crash(9)], **QUIET)
    assert (tmp_path / "cut" / "iter_7.pth").is_file()  # iteration 7: pass 1 batch 2, window [7, 8, 9] open
    resumed = Net(dropout=0.2)
    trainer = Runtime(_resume_cfg(tmp_path / "cut", resume=True)).fit(resumed, _shuffled(), **QUIET)
    assert train_iter(trainer) == MAX_ITERS
    assert first.seen[:7] + resumed.seen == full.seen  # the same batches, none repeated or skipped
    assert resumed.step_iters == [9, 12, 14] and full.step_iters == [3, 6, 9, 12, 14]
    for a, b in zip(resumed.state_dict().values(), full.state_dict().values()):
        assert torch.equal(a, b)


def test_loader_state_in_checkpoint(tmp_path):
    with pytest.raises(RuntimeError):
        Runtime(_resume_cfg(tmp_path)).fit(Net(), _shuffled(), callbacks=[Crash(8)], **QUIET)
    ckpt = torch.load(tmp_path / "iter_7.pth", weights_only=True)
    assert ckpt["loops"]["fit_loop"]["state_dict"]["combined_loader"] == [
        dict(version=1, **{"pass": 1}, offset=2, consumed=7, seed=3)]


# ---------------------------------------------------------------------------- epoch-based loops
def _epoch_cfg(tmp_path: Path, **kw: Any) -> dict:
    hooks = dict(NO_HOOKS, checkpoint=dict(type="CheckpointHook", interval=4, by_epoch=False))
    return make_cfg(tmp_path, train_cfg=dict(type="EpochBasedTrainLoop", max_epochs=3),
                    optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)), default_hooks=hooks,
                    randomness=dict(seed=11), **kw)


def test_epoch_loop_mid_epoch_resume_bitwise(tmp_path):
    full = Net(dropout=0.2)
    Runtime(_epoch_cfg(tmp_path / "full")).fit(full, _shuffled(), **QUIET)
    flat = [i for b in full.seen for i in b]
    for e in range(3):
        assert flat[10 * e: 10 * e + 10] == torch.randperm(N, generator=torch.Generator().manual_seed(11 + e)).tolist()
    first = Net(dropout=0.2)
    with pytest.raises(RuntimeError):
        Runtime(_epoch_cfg(tmp_path / "cut")).fit(first, _shuffled(), callbacks=[Crash(10)], **QUIET)
    resumed = Net(dropout=0.2)
    Runtime(_epoch_cfg(tmp_path / "cut", resume=True)).fit(resumed, _shuffled(), **QUIET)
    assert first.seen[:8] + resumed.seen == full.seen  # resumed at iteration 8: epoch 1, batch 3
    for a, b in zip(resumed.state_dict().values(), full.state_dict().values()):
        assert torch.equal(a, b)


# ---------------------------------------------------------------------------- samplers and sharding
@pytest.mark.parametrize("size,world,shuffle", [(10, 2, True), (11, 3, True), (7, 4, False), (5, 1, True)])
def test_pass_sampler_shards_as_distributed_sampler(size, world, shuffle):
    for rank in range(world):
        ours = PassSampler(size, shuffle, seed=4, rank=rank, world_size=world)
        ref = DistributedSampler(range(size), num_replicas=world, rank=rank, shuffle=shuffle, seed=4)
        for epoch in (0, 3):
            ours.set_epoch(epoch)
            ref.set_epoch(epoch)
            assert list(ours) == list(ref) and len(ours) == len(ref)


def test_pass_loader_keeps_rank_aware_sampler_and_skips_indices():
    ds = dataset()
    sampler = DistributedSampler(ds, num_replicas=2, rank=1, shuffle=True, seed=0)
    dl = DataLoader(ds, batch_size=BS, sampler=sampler)
    w = PassLoader(dl, max_iters=7, seed=0)
    assert w.view is dl and len(w) == 7 and w.pass_length() == 3  # not sharded again
    fresh = [b[2].tolist() for b, _ in zip(w, range(7))]
    fetched: list[int] = []

    class Counting(TensorDataset):
        def __getitem__(self, i: int) -> Any:
            fetched.append(i)
            return ds[i]

    w2 = PassLoader(DataLoader(Counting(*ds.tensors), batch_size=BS, sampler=sampler), max_iters=7, seed=0)
    w2.load_state_dict({"pass": 1, "offset": 1, "consumed": 4, "seed": 0})
    rest = [b[2].tolist() for b in itertools.islice(w2, 3)]
    assert rest == fresh[4:7]
    # only the samples of the 3 batches handed out (2 + 1 + 2): the skipped batch is never loaded
    assert sorted(fetched) == sorted(i for b in rest for i in b) and len(fetched) == 5


# ---------------------------------------------------------------------------- epoch loops: global windows
def mmengine_epoch_run(n: int, max_epochs: int, k: int) -> tuple[torch.nn.Module, list[int], list[list[int]]]:
    """EpochBasedTrainLoop with mmengine's own OptimWrapper: Runner.train calls
    ``initialize_count_status(model, 0, max_epochs * len(dataloader))``, then run_epoch per epoch."""
    from mmengine.optim import OptimWrapper

    model = Net()
    steps: list[int] = []

    class Recording(OptimWrapper):
        def step(self, **kwargs: Any) -> None:
            steps.append(self._inner_count)
            super().step(**kwargs)

    loader = DataLoader(dataset(n), batch_size=BS)
    wrapper = Recording(torch.optim.SGD(model.parameters(), lr=0.1), accumulative_counts=k)
    wrapper.initialize_count_status(model, 0, max_epochs * len(loader))
    for _ in range(max_epochs):
        for x, y, idx in loader:
            model.seen.append(idx.tolist())
            wrapper.update_params(torch.nn.functional.mse_loss(model(x), y))
    return model, steps, model.seen


@pytest.mark.parametrize("n,max_epochs,steps", [
    (10, 3, [3, 6, 9, 12, 15]),  # 5 batches per epoch: windows cross both epoch ends
    (8, 3, [3, 6, 9, 12]),       # 4 batches per epoch
    (10, 2, [3, 6, 9, 10]),      # max_iters 10: the last window is 1 iteration, its loss divided by 1
])
def test_epoch_loop_accumulation_windows_cross_epochs_as_mmengine(tmp_path, n, max_epochs, steps):
    ref, ref_steps, ref_seen = mmengine_epoch_run(n, max_epochs, K)
    assert ref_steps == steps
    m = Net()
    rt = Runtime(make_cfg(tmp_path, train_cfg=dict(type="EpochBasedTrainLoop", max_epochs=max_epochs),
                          optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1), accumulative_counts=K)))
    trainer = rt.fit(m, DataLoader(dataset(n), batch_size=BS), **QUIET)
    assert m.step_iters == steps and trainer.global_step == len(steps)
    assert trainer.current_epoch == max_epochs and m.seen == ref_seen
    for a, b in zip(m.parameters(), ref.parameters()):
        assert torch.equal(a, b)  # bitwise: carried-over gradients, last-window factor


class _NoLastWindowFactor(Callback):
    """Puts Lightning's own loss factor (/ k everywhere) back, after LoopControl installed MMEngine's."""

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        optimization = trainer.fit_loop.epoch_loop.automatic_optimization
        optimization.output_result_cls = optimization.output_result_cls.__mro__[1]


def test_epoch_loop_last_window_factor_matters(tmp_path):
    """max_iters 10, k=3: without MMEngine's factor (loss / 1 at iteration 10, not / 3) the weights differ."""
    ref, _, _ = mmengine_epoch_run(10, 2, K)
    m = Net()
    rt = Runtime(make_cfg(tmp_path, train_cfg=dict(type="EpochBasedTrainLoop", max_epochs=2),
                          optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1), accumulative_counts=K)))
    rt.fit(m, DataLoader(dataset(10), batch_size=BS), callbacks=[_NoLastWindowFactor()], **QUIET)
    assert m.step_iters == [3, 6, 9, 10]  # same steps
    assert not torch.equal(m.layer.weight, ref.layer.weight)


def test_epoch_loop_window_open_at_epoch_end_resumes_bitwise(tmp_path):
    """Epoch 1 ends at iteration 5 inside the window [4, 5, 6]: the epoch checkpoint keeps its
    gradients, and the resumed run steps at 6, 9, 12, 15 exactly as the uninterrupted one."""
    def epoch_cfg(path: Path, **kw: Any) -> dict:
        hooks = dict(NO_HOOKS, checkpoint=dict(type="CheckpointHook", interval=1))
        return make_cfg(path, train_cfg=dict(type="EpochBasedTrainLoop", max_epochs=3), default_hooks=hooks,
                        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1), accumulative_counts=K), **kw)

    full = Net()
    Runtime(epoch_cfg(tmp_path / "full")).fit(full, DataLoader(dataset(), batch_size=BS), **QUIET)
    with pytest.raises(RuntimeError):
        Runtime(epoch_cfg(tmp_path / "cut")).fit(Net(), DataLoader(dataset(), batch_size=BS),
                                                 callbacks=[Crash(7)], **QUIET)
    assert "accumulated_grads" in torch.load(tmp_path / "cut" / "epoch_1.pth", weights_only=False)
    resumed = Net()
    Runtime(epoch_cfg(tmp_path / "cut", resume=True)).fit(resumed, DataLoader(dataset(), batch_size=BS), **QUIET)
    assert full.step_iters == [3, 6, 9, 12, 15] and resumed.step_iters == [6, 9, 12, 15]
    for a, b in zip(resumed.parameters(), full.parameters()):
        assert torch.equal(a, b)


class _LoggedLoss(Callback):
    """What the hooks log as `loss` (normalize_outputs) for each iteration."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        self.logged: list[float] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        from lightning_runtime.hooks import normalize_outputs

        self.logged.append(float(normalize_outputs(outputs, trainer, self.ctx)["loss"]))


class _RawLoss(Net):
    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        loss = super().training_step(batch, batch_idx)
        self.raw = getattr(self, "raw", []) + [float(loss)]
        return loss


def test_logged_loss_is_the_undivided_loss_also_in_the_last_partial_window(tmp_path):
    # Lightning hands callbacks loss / divisor; the divisor is k, or the remainder (2) in the last
    # window of 14 iterations at k=3. The hooks must log what training_step computed, as MMEngine.
    rt = Runtime(cfg(tmp_path))
    m, rec = _RawLoss(), _LoggedLoss(rt.ctx)
    rt.fit(m, DataLoader(dataset(), batch_size=BS), callbacks=[rec], **QUIET)
    assert len(rec.logged) == MAX_ITERS
    assert rec.logged == pytest.approx(m.raw, rel=1e-6)
