"""train_cfg on a real CPU Trainer: validation iterations, stop point, accumulation (MMEngine counts)."""

from __future__ import annotations


import pytest

from runtime_helpers import QUIET, Boring, loader, make_cfg

from lightning_runtime.errors import ConfigError
from lightning_runtime.runtime import Runtime
from lightning_runtime.runtime._loops import parse_train_cfg, should_validate


def _rt(tmp_path, **cfg):
    cfg.setdefault("val_cfg", dict(type="ValLoop"))
    return Runtime(make_cfg(tmp_path, **cfg))


def _mmengine_iters(max_iters, val_interval, val_begin=1, dynamic=None):
    """MMEngine's IterBasedTrainLoop.run, validation part, transcribed (loops.py)."""
    import bisect

    miles, ivs = [0] + [m for m, _ in dynamic or []], [val_interval] + [i for _, i in dynamic or []]
    out, it = [], 0
    while it < max_iters:
        it += 1
        val_interval = ivs[bisect.bisect(miles, it + 1) - 1]
        if it >= val_begin and (it % val_interval == 0 or it == max_iters):
            out.append(it)
    return out


@pytest.mark.parametrize(
    "max_iters,val_interval,val_begin,dynamic,n",
    [(10, 4, 1, None, 3), (11, 3, 5, None, 4), (12, 5, 1, [(6, 2)], 5), (7, 100, 1, None, 7)],
)
def test_iteration_validation_points_match_mmengine(tmp_path, max_iters, val_interval, val_begin, dynamic, n):
    rt = _rt(tmp_path, train_cfg=dict(type="IterBasedTrainLoop", max_iters=max_iters, val_interval=val_interval,
                                      val_begin=val_begin, dynamic_intervals=dynamic))
    m = Boring()
    trainer = rt.fit(m, loader(n), loader(2), **QUIET)  # n batches per epoch: crosses epoch boundaries
    expected = _mmengine_iters(max_iters, val_interval, val_begin, dynamic)
    assert m.val_iters == expected
    assert trainer.global_step == max_iters


def test_validation_examples_pinned():
    spec = parse_train_cfg(dict(type="IterBasedTrainLoop", max_iters=80000, val_interval=8000))
    assert [i for i in range(1, 80001) if should_validate(spec, iters=i)] == list(range(8000, 80001, 8000))
    # MMEngine's dynamic interval switches one iteration early (bisect on iter + 1): kept.
    spec = parse_train_cfg(dict(type="IterBasedTrainLoop", max_iters=12, val_interval=5, dynamic_intervals=[(6, 2)]))
    assert [i for i in range(1, 13) if should_validate(spec, iters=i)] == [6, 8, 10, 12]  # 5 is skipped: interval is already 2 there


def test_epoch_loop_val_begin_and_interval(tmp_path):
    rt = _rt(tmp_path, train_cfg=dict(by_epoch=True, max_epochs=5, val_interval=2, val_begin=3))
    m = Boring()
    rt.fit(m, loader(3), loader(2), **QUIET)
    # epochs 4 and 5 (the last one is always validated), i.e. after 12 and 15 iterations
    assert m.val_iters == [12, 15]
    assert m.steps == 15


def test_no_val_cfg_means_no_validation(tmp_path):
    rt = Runtime(make_cfg(tmp_path, train_cfg=dict(by_epoch=False, max_iters=4, val_interval=1)))
    m = Boring()
    rt.fit(m, loader(3), loader(2), **QUIET)
    assert m.val_iters == [] and m.steps == 4
    rt = _rt(tmp_path, train_cfg=dict(by_epoch=False, max_iters=4, val_interval=1), val_dataloader=None)
    assert rt.trainer_kwargs()["limit_val_batches"] == 0


def test_accumulation_counts_batches_not_steps(tmp_path):
    # max_iters counts batches under accumulation: 8 batches, k=2 -> 4 optimizer steps.
    rt = _rt(tmp_path, train_cfg=dict(by_epoch=False, max_iters=8, val_interval=4),
             optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1), accumulative_counts=2))
    m = Boring()
    trainer = rt.fit(m, loader(4), loader(2), **QUIET)
    assert m.steps == 4 and trainer.global_step == 4
    assert m.val_iters == [4, 8]
    assert rt.trainer_kwargs()["accumulate_grad_batches"] == 2


def test_accumulation_windows_cross_passes_as_mmengine(tmp_path):
    """MMEngine's windows run across dataloader passes: 10 iterations, k=2, 5-batch passes -> 5
    steps, after iterations 2, 4, 6, 8, 10 (Lightning alone would close a window at every pass end:
    6 steps). The runtime hands Lightning one epoch of max_iters batches (runtime/_data), so the
    counts agree; tests/test_runtime_data.py checks weights against mmengine's OptimWrapper."""
    rt = _rt(tmp_path, train_cfg=dict(by_epoch=False, max_iters=10, val_interval=100),
             optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1), accumulative_counts=2))
    m = Boring()
    trainer = rt.fit(m, loader(5), loader(1), **QUIET)
    assert m.steps == 5 and trainer.global_step == 5
    assert m.val_iters == [10]


@pytest.mark.parametrize(
    "cfg,path",
    [
        (dict(type="IterBasedTrainLoop", max_iters=10, val_intervl=2), "train_cfg.val_intervl"),
        (dict(type="IterBasedTrainLop", max_iters=10), "train_cfg.type"),
        (dict(type="EpochBasedTrainLoop", max_iters=10), "train_cfg.max_iters"),
        (dict(by_epoch=False), "train_cfg"),
        (dict(by_epoch=False, max_iters=1.5), "train_cfg.max_iters"),
    ],
)
def test_train_cfg_errors(cfg, path):
    with pytest.raises(ConfigError) as err:
        parse_train_cfg(cfg)
    assert err.value.path == path


def test_did_you_mean_for_loop_keys():
    with pytest.raises(ConfigError, match="val_interval"):
        parse_train_cfg(dict(type="IterBasedTrainLoop", max_iters=10, val_intervl=2))
    with pytest.raises(ConfigError, match="fp16"):
        Runtime(dict(val_cfg=dict(type="ValLoop", fp61=True)))
