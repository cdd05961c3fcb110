"""Runtime end to end on CPU: work_dir layout, seeds, load_from, resume, lr vs MMEngine, key errors."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import torch
from lightning.pytorch.callbacks import Callback

from runtime_helpers import NO_HOOKS, QUIET, Boring, loader, make_cfg

from lightning_runtime.errors import ConfigError
from lightning_runtime.runtime import Runtime
from lightning_runtime.runtime._env import plan_env

QUIET_LOG = {k: v for k, v in QUIET.items() if k != "logger"}
ITER5 = dict(by_epoch=False, max_iters=5, val_interval=100)


def test_trainer_kwargs_table(tmp_path):
    rt = Runtime(make_cfg(tmp_path, train_cfg=dict(type="IterBasedTrainLoop", max_iters=8, val_interval=4),
                          val_cfg=dict(type="ValLoop"), env_cfg=dict(cudnn_benchmark=True),
                          randomness=dict(seed=3, deterministic=True), default_scope="mmseg",
                          model=dict(type="EncoderDecoder"), crop_size=(512, 512), train_dataloader=dict(batch_size=2)))
    kw = rt.trainer_kwargs()
    assert (kw["max_steps"], kw["max_epochs"], kw["num_sanity_val_steps"]) == (8, -1, 0)
    assert kw["deterministic"] is True and kw["benchmark"] is False
    assert kw["devices"] == 1 and kw["default_root_dir"] == str(tmp_path)
    assert [type(p).__name__ for p in kw["plugins"]] == ["AtomicCheckpointIO"]


def test_work_dir_layout(tmp_path):
    rt = Runtime(make_cfg(tmp_path, train_cfg=ITER5, val_cfg=dict(type="ValLoop"),
                          visualizer=dict(type="SegLocalVisualizer", name="visualizer",
                                          vis_backends=[dict(type="LocalVisBackend"), dict(type="TensorboardVisBackend")])))
    rt.fit(Boring(), loader(5), loader(1), **QUIET_LOG)
    ts = rt.ctx.timestamp
    files = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()}
    assert f"{ts}/{ts}.log" in files
    assert f"{ts}/vis_data/metrics.csv" in files
    assert any(f.startswith(f"{ts}/vis_data/events.out.tfevents") for f in files)


def test_default_work_dir_is_work_dirs_config_stem(tmp_path):
    from lightning_runtime import load_config

    cfg_file = tmp_path / "my_seg_cfg.py"
    cfg_file.write_text("train_cfg = dict(by_epoch=False, max_iters=5)\n")
    rt = Runtime(load_config(str(cfg_file)))
    assert rt.ctx.work_dir == Path("work_dirs/my_seg_cfg")


def test_missing_optional_logger_dependency(monkeypatch):
    import importlib.util

    find_spec = importlib.util.find_spec  # wandb is absent here whether or not it is installed
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else find_spec(name, *a))
    rt = Runtime(dict(work_dir="/tmp/x", visualizer=dict(vis_backends=[dict(type="WandbVisBackend")])))
    with pytest.raises(ConfigError, match="pip install wandb"):
        rt.trainer_kwargs()


@pytest.mark.parametrize("rank,diff,expected", [("0", True, 10), ("1", True, 11), ("1", False, 10)])
def test_seed_per_rank(monkeypatch, rank, diff, expected):
    monkeypatch.setenv("RANK", rank)
    rt = Runtime(dict(work_dir="/tmp/x", launcher="pytorch", env_cfg=dict(dist_cfg=dict(backend="gloo")),
                      randomness=dict(seed=10, diff_rank_seed=diff)))
    assert rt.seed == expected
    first = torch.rand(1)
    torch.manual_seed(expected)
    assert torch.equal(first, torch.rand(1))


def test_runtime_leaves_the_seeded_generator_to_the_model():
    # MMEngine builds the model right after seeding: checking optim_wrapper on a stand-in must not
    # draw from torch's generator, or every model built next would start from other weights.
    Runtime(dict(work_dir="/tmp/x", randomness=dict(seed=3),
                 optim_wrapper=dict(optimizer=dict(type="AdamW", lr=1e-3)),
                 param_scheduler=[dict(type="LinearLR", start_factor=0.1, by_epoch=False, end=5)]))
    first = torch.rand(4)
    torch.manual_seed(3)
    assert torch.equal(first, torch.rand(4))


def test_ddp_strategy_from_launcher_and_model_wrapper_cfg(monkeypatch):
    kw = plan_env(dict(launcher="pytorch", env_cfg=dict(dist_cfg=dict(backend="nccl", timeout=600)),
                       model_wrapper_cfg=dict(find_unused_parameters=True)))
    s = kw["strategy"]
    assert s._ddp_kwargs == {"broadcast_buffers": False, "find_unused_parameters": True}
    assert s._process_group_backend == "gloo"  # nccl without CUDA: gloo
    assert s._timeout.total_seconds() == 600 and "sync_batchnorm" not in kw


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU refusal")
def test_sync_bn_without_cuda_is_refused_before_training():
    # torch's SyncBatchNorm raises mid-setup on CPU modules; here it is a config error up front.
    with pytest.raises(ConfigError, match="needs CUDA") as err:
        plan_env(dict(launcher="pytorch", sync_bn="torch"))
    assert err.value.path == "sync_bn" and "sync_bn=None" in err.value.fix


def test_epoch_scheduler_in_iteration_loop_is_refused():
    with pytest.raises(ConfigError, match="never steps") as err:
        Runtime(dict(work_dir="/tmp/x", train_cfg=dict(type="IterBasedTrainLoop", max_iters=100),
                     optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
                     param_scheduler=[dict(type="LinearLR", by_epoch=False, end=10),
                                      dict(type="PolyLR", begin=10, end=100)]))
    assert err.value.path == "param_scheduler[1].by_epoch" and "by_epoch=False" in err.value.fix


def test_runtime_errors_carry_file_and_line(tmp_path):
    cfg = tmp_path / "cfg.py"
    cfg.write_text("work_dir = '/tmp/x'\ntrain_cfg = dict(type='IterBasedTrainLoop',\n"
                   "                 max_iter=100)\n")
    with pytest.raises(ConfigError) as err:
        Runtime(str(cfg))
    assert (err.value.file, err.value.path) == (str(cfg), "train_cfg.max_iter")
    assert err.value.line in (2, 3)


@pytest.mark.parametrize(
    "cfg,path",
    [
        (dict(env_cfg=dict(cudnn_benchmrk=True)), "env_cfg.cudnn_benchmrk"),
        (dict(env_cfg=dict(dist_cfg=dict(backnd="gloo"))), "env_cfg.dist_cfg.backnd"),
        (dict(launcher="torchrun"), "launcher"),
        (dict(randomness=dict(sed=1)), "randomness.sed"),
        (dict(auto_scale_lr=dict(base_batch_sz=16, enable=True)), "auto_scale_lr.base_batch_sz"),
        (dict(log_processor=dict(window_sise=10)), "log_processor.window_sise"),
        (dict(log_level="LOUD"), "log_level"),
        (dict(sync_bn="mmcv"), "sync_bn"),
    ],
)
def test_unknown_keys_are_errors_with_path(cfg, path):
    with pytest.raises(ConfigError) as err:
        Runtime(dict(work_dir="/tmp/x", **cfg))
    assert err.value.path == path


def test_load_from_mmengine_pth(tmp_path):
    src = Boring()
    pth = tmp_path / "mm.pth"
    torch.save({"meta": {"epoch": 3, "iter": 300}, "state_dict": src.state_dict()}, pth)
    rt = Runtime(make_cfg(tmp_path, train_cfg=dict(by_epoch=False, max_iters=1, val_interval=10),
                          load_from=str(pth), optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.0))))
    dst = Boring(rt)
    rt.fit(dst, loader(1), **QUIET)
    assert torch.equal(dst.layer.weight, src.layer.weight) and rt.ctx.resume_from is None


def test_resume_from_last_checkpoint_continues_at_iteration(tmp_path):
    from lightning.pytorch.callbacks import ModelCheckpoint

    from lightning_runtime.checkpoint._io import write_last_checkpoint

    cfg = make_cfg(tmp_path, train_cfg=dict(by_epoch=False, max_iters=6, val_interval=3), val_cfg=dict(type="ValLoop"),
                   optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)), resume=True)
    # first run: resume=True with no checkpoint yet starts fresh; stop after 4 iterations
    rt = Runtime(cfg)
    ck = ModelCheckpoint(dirpath=tmp_path, filename="iter_{step}", every_n_train_steps=4, save_top_k=-1)
    class StopAt4(Callback):  # an interruption (trainer.max_steps would contradict train_cfg.max_iters)
        def on_train_batch_end(self, trainer: Any, *args: Any) -> None:
            trainer.should_stop = trainer.global_step >= 4

    rt.fit(Boring(rt), loader(4), loader(1), callbacks=[ck, StopAt4()], **{**QUIET, "enable_checkpointing": True})
    assert rt.ctx.resume_from is None
    write_last_checkpoint(tmp_path, tmp_path / "iter_step=4.ckpt")
    # second run resumes at iteration 4: trains 5 and 6, validates at 6 only
    rt2 = Runtime(cfg)
    m = Boring(rt2)
    trainer = rt2.fit(m, loader(4), loader(1), **QUIET)
    assert rt2.ctx.resume_from.endswith("iter_step=4.ckpt")
    assert m.steps == 2 and trainer.global_step == 6 and m.val_iters == [6]


def test_lr_matches_mmengine_schedulers(tmp_path):
    from mmengine.optim.scheduler import LinearLR, PolyLR

    sched = [dict(type="LinearLR", by_epoch=False, start_factor=0.1, begin=0, end=4),
             dict(type="PolyLR", eta_min=1e-4, power=0.9, begin=4, end=12, by_epoch=False)]
    hooks = {k: v for k, v in NO_HOOKS.items() if k != "param_scheduler"}
    rt = Runtime(make_cfg(tmp_path, train_cfg=dict(by_epoch=False, max_iters=12, val_interval=100),
                          optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.01)), param_scheduler=sched,
                          default_hooks=hooks))
    m = Boring(rt)
    rt.fit(m, loader(5), **QUIET)
    opt = torch.optim.SGD(torch.nn.Linear(1, 1).parameters(), lr=0.01)
    ref_s = [LinearLR(opt, start_factor=0.1, begin=0, end=4, by_epoch=False),
             PolyLR(opt, eta_min=1e-4, power=0.9, begin=4, end=12, by_epoch=False)]
    ref = []
    for _ in range(12):
        ref.append(opt.param_groups[0]["lr"])
        opt.step()
        for s in ref_s:
            s.step()
    assert m.lrs == pytest.approx(ref, rel=1e-12, abs=1e-15)


def test_auto_scale_lr(tmp_path):
    rt = Runtime(make_cfg(tmp_path, train_cfg=dict(by_epoch=False, max_iters=1, val_interval=10),
                          optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.01)),
                          auto_scale_lr=dict(base_batch_size=16, enable=True)))
    m = Boring(rt)
    rt.fit(m, loader(2, batch_size=4), **QUIET)
    assert rt.ctx.auto_scale_lr_ratio == 0.25 and m.lrs[0] == pytest.approx(0.0025)


def test_mmengine_sampler_disables_lightning_distributed_sampler():
    from lightning_runtime.runtime._data import has_mmengine_sampler
    from torch.utils.data import DataLoader, DistributedSampler

    ds = list(range(8))
    dl = DataLoader(ds, sampler=DistributedSampler(ds, num_replicas=2, rank=0))
    assert has_mmengine_sampler(dl) and not has_mmengine_sampler(DataLoader(ds))


@pytest.mark.parametrize(("override", "mmengine"), [
    (dict(max_steps=10), "train_cfg.max_iters"),
    (dict(val_check_interval=3), "train_cfg.val_interval"),
    (dict(gradient_clip_val=0.5), "optim_wrapper.clip_grad"),
    (dict(accumulate_grad_batches=4), "optim_wrapper.accumulative_counts"),
    (dict(default_root_dir="elsewhere"), "work_dir"),
])
def test_a_trainer_argument_contradicting_an_mmengine_section_is_refused(tmp_path, override, mmengine):
    """``--trainer.max_steps=10`` beside ``max_iters=40`` would log ``[10/40]`` and save nothing: refused."""
    cfg = make_cfg(tmp_path, train_cfg=dict(by_epoch=False, max_iters=40, val_interval=20),
                   optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1), clip_grad=dict(max_norm=1.0)))
    rt = Runtime(cfg)
    (key,) = override
    with pytest.raises(ConfigError, match=f"contradicts {mmengine}") as info:
        rt.build_trainer(**override)
    assert info.value.path == f"trainer.{key}" and f"remove trainer.{key}" in info.value.fix
    assert not (tmp_path / "work").exists() or not any((tmp_path / "work").iterdir())
    rt.build_trainer(max_steps=40, enable_progress_bar=False)  # the same value is no contradiction


def test_a_trainer_choice_of_machine_or_output_is_applied_with_one_warning(tmp_path):
    from lightning.pytorch.loggers import CSVLogger

    rt = Runtime(make_cfg(tmp_path, train_cfg=dict(by_epoch=False, max_iters=4)))
    logger = CSVLogger(tmp_path / "mine")
    with pytest.warns(UserWarning, match=r"trainer.logger=.* replaces what visualizer.vis_backends set"):
        trainer = rt.build_trainer(logger=logger)
    assert trainer.logger is logger


def test_a_modules_own_optimizer_winning_over_optim_wrapper_is_said_once(tmp_path):
    """A configure_optimizers that never calls rt.configure_optimizers: the config's optimizer is not applied; one warning."""

    class OwnOptimizer(Boring):
        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=0.5)

    cfg = make_cfg(tmp_path, train_cfg=dict(by_epoch=False, max_iters=2),
                   optim_wrapper=dict(optimizer=dict(type="AdamW", lr=1e-3),
                                      paramwise_cfg=dict(custom_keys={"layer": dict(lr_mult=0.1)})),
                   param_scheduler=[dict(type="LinearLR", start_factor=0.5, by_epoch=False, end=2)])
    rt = Runtime(cfg)
    with pytest.warns(UserWarning, match=r"OwnOptimizer.configure_optimizers does not call rt.configure_optimizers"
                                         r"\(self\).*optim_wrapper and param_scheduler") as record:
        trainer = rt.fit(OwnOptimizer(rt), loader(2), **QUIET)
    assert type(trainer.optimizers[0]).__name__ == "SGD"
    assert sum("does not call rt.configure_optimizers" in str(w.message) for w in record) == 1
    rt2 = Runtime(cfg)  # the module that asks the runtime: no warning, AdamW
    import warnings as _w
    with _w.catch_warnings(record=True) as seen:
        _w.simplefilter("always")
        trainer = rt2.fit(Boring(rt2), loader(2), **QUIET)
    assert type(trainer.optimizers[0]).__name__ == "AdamW"
    assert not [w for w in seen if "does not call rt.configure_optimizers" in str(w.message)]
