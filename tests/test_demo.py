"""The demo: configs/demo/*.py through Runtime.fit with SegModule + ShapesDataModule.

* a shortened seg_vit_shapes run (20 iterations): files in work_dir, the learning rate applied at
  chosen iterations against MMEngine's own LinearLR/PolyLR, NewHook's ``hyper_parameter`` at every
  iteration, MMSeg metric keys logged, the best-mIoU checkpoint;
* the ConvNeXt config's stage-wise layer decay on the real module;
* (slow) the demo's stated mIoU on the held-out split, on the demo's own model and data.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch

from lightning_runtime import load_config

ROOT = Path(__file__).resolve().parents[1]
VIT = ROOT / "configs" / "demo" / "seg_vit_shapes.py"
CONVNEXT = ROOT / "configs" / "demo" / "seg_convnext_shapes.py"

# Short run: 20 iterations, warmup 8, validation + checkpoint every 10.
SHORT = {
    "train_cfg.max_iters": 20,
    "train_cfg.val_interval": 10,
    "param_scheduler.0.end": 8,
    "param_scheduler.1.begin": 8,
    "param_scheduler.1.end": 20,
    "default_hooks.checkpoint.interval": 10,
    "default_hooks.logger.interval": 5,
    "default_hooks.visualization.interval": 4,
    "data.init_args.num_train": 160,
    "data.init_args.num_val": 32,
    "data.init_args.batch_size": 8,
}


class Recorder(pl.Callback):
    """lr of every param group and the module's hyper_parameter as iteration i starts."""

    def __init__(self) -> None:
        self.lrs: list[list[float]] = []
        self.hyper: list[float] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.lrs.append([g["lr"] for g in trainer.optimizers[0].param_groups])
        self.hyper.append(pl_module.hyper_parameter)


def mmengine_lrs(base_lr: float, max_iters: int, warmup: int) -> list[float]:
    """MMEngine's LinearLR + PolyLR (the demo's schedule) on a one-parameter optimizer."""
    from mmengine.optim.scheduler import LinearLR, PolyLR

    opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=base_lr)
    scheds = [LinearLR(opt, start_factor=0.1, begin=0, end=warmup, by_epoch=False),
              PolyLR(opt, eta_min=1e-5, power=0.9, begin=warmup, end=max_iters, by_epoch=False)]
    out = []
    for _ in range(max_iters):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        for s in scheds:
            s.step()
    return out


@pytest.mark.slow
def test_short_vit_demo(tmp_path, demo_hooks):
    from lightning_runtime.demo.__main__ import run_demo

    rec = Recorder()
    result = run_demo(VIT, work_dir=tmp_path / "w", overrides=SHORT, callbacks=[rec],
                      enable_progress_bar=False, enable_model_summary=False)
    work = tmp_path / "w"
    # checkpoints: MMEngine's names, max_keep_ckpts=2, best by mIoU
    names = sorted(p.name for p in work.glob("*.pth"))
    assert "iter_10.pth" in names and "iter_20.pth" in names
    assert len([n for n in names if n.startswith("best_mIoU_iter_")]) == 1
    assert Path((work / "last_checkpoint").read_text().strip()).name == "iter_20.pth"
    # text log + scalars in work_dir/<timestamp>/
    logs = list(result.log_dir.glob("*.log"))
    assert len(logs) == 1 and "Iter(train) [20/20]" in logs[0].read_text()
    scalars = [json.loads(line) for line in (result.log_dir / "vis_data" / "scalars.json").read_text().splitlines()]
    assert any("mIoU" in s for s in scalars) and any("decode.loss_ce" in s for s in scalars)
    # visualizations: PNGs written for validation samples; the LR plot of every param group
    assert result.visualizations, f"no PNG under {work}"
    assert result.lr_plot == work / "lr.png" and (work / "lr.png").read_bytes()[:4] == b"\x89PNG"
    # the test phase logs into its own CSV: training/validation's vis_data/metrics.csv is kept
    fit_csv = (result.log_dir / "vis_data" / "metrics.csv").read_text().splitlines()
    test_csv = (result.log_dir / "vis_data" / "test" / "metrics.csv").read_text().splitlines()
    assert "mIoU" in fit_csv[0] and len(fit_csv) > 3, fit_csv[:3]
    assert "mIoU" in test_csv[0] and len(test_csv) >= 2, test_csv
    # MMSeg's metric keys from validation and test (percent)
    for metrics in (result.val_metrics, result.test_metrics):
        assert {"aAcc", "mIoU", "mAcc", "mDice"} <= set(metrics)
        assert 0.0 <= metrics["mIoU"] <= 100.0
    # lr applied at every iteration == MMEngine's LinearLR + PolyLR, for every param group
    expected = mmengine_lrs(0.002, 20, 8)
    assert len(rec.lrs) == 20
    for i in (0, 4, 7, 8, 13, 19):
        assert all(math.isclose(lr, expected[i], rel_tol=1e-9) for lr in rec.lrs[i]), (i, rec.lrs[i], expected[i])
    assert math.isclose(rec.lrs[8][0], 0.002) and rec.lrs[0][0] == pytest.approx(2e-4)
    # the seed's NewHook (a=2, b=1, ABOVE_NORMAL): hyper_parameter = a * iter + b at every iteration
    assert rec.hyper == [2 * i + 1 for i in range(20)]


def test_vit_param_groups_follow_mae_custom_keys(demo_hooks):
    from lightning_runtime import Runtime
    from lightning_runtime.demo.__main__ import build_demo

    cfg = load_config(VIT)
    module, _ = build_demo(cfg)
    module.runtime = Runtime(cfg)
    with pytest.warns(UserWarning, match=r"custom_keys\['norm'\] matches no trainable parameter"):
        opt = module.configure_optimizers()["optimizer"]
    wd = {name: g["weight_decay"] for g in opt.param_groups for name in g["param_names"]}
    assert wd["backbone.pos_embed"] == 0.0 and wd["backbone.cls_token"] == 0.0
    assert wd["backbone.layers.0.ln1.weight"] == 0.0 and wd["backbone.ln1.bias"] == 0.0
    assert wd["backbone.layers.0.attn.attn.in_proj_weight"] == 0.05
    assert wd["decode_head.conv_seg.weight"] == 0.05


def test_convnext_stage_wise_decay(demo_hooks):
    from lightning_runtime import Runtime
    from lightning_runtime.demo.__main__ import build_demo

    cfg = load_config(CONVNEXT, {"train_cfg.max_iters": 600})
    module, dm = build_demo(cfg)
    assert type(module.backbone).__name__ == "ConvNeXt" and dm.image_size == 64
    module.runtime = Runtime(cfg)
    opt = module.configure_optimizers()["optimizer"]
    lr = {name: g["lr"] for g in opt.param_groups for name in g["param_names"]}
    wd = {name: g["weight_decay"] for g in opt.param_groups for name in g["param_names"]}
    base = 0.002 * 0.1  # warmup start_factor applied
    # MMSeg stage_wise, num_layers=4: stage s -> id s+1, heads -> 5; lr * 0.9 ** (5 - id)
    assert lr["decode_head.conv_seg.weight"] == pytest.approx(base)
    assert lr["backbone.stages.3.0.pointwise_conv1.weight"] == pytest.approx(base * 0.9)
    assert lr["backbone.stages.0.0.depthwise_conv.weight"] == pytest.approx(base * 0.9**4)
    assert lr["backbone.downsample_layers.2.1.weight"] == pytest.approx(base * 0.9**5)
    assert wd["backbone.stages.2.1.gamma"] == 0.0 and wd["backbone.stages.2.1.pointwise_conv1.weight"] == 0.05


def test_module_without_runtime_says_what_to_do():
    from lightning_runtime.demo.module import SegModule
    from lightning_runtime.errors import ConfigError

    with pytest.raises(ConfigError, match="module.runtime = Runtime"):
        SegModule(arch="tiny_vit").configure_optimizers()
    with pytest.raises(ConfigError, match="tiny_vit"):
        SegModule(arch="tiny_vt")


@pytest.mark.slow
def test_demo_reaches_stated_miou(tmp_path, demo_hooks):
    """The full demo config, unchanged: its stated mIoU on the held-out val and test splits."""
    from lightning_runtime.demo.__main__ import STATED_MIOU, run_demo

    result = run_demo(VIT, work_dir=tmp_path / "w", enable_progress_bar=False, enable_model_summary=False)
    assert result.val_metrics["mIoU"] >= STATED_MIOU - 1.0
    assert result.test_metrics["mIoU"] >= STATED_MIOU - 1.0


def test_yaml_twin_loads_to_the_same_dict():
    assert load_config(VIT.with_suffix(".yaml")).to_dict() == load_config(VIT).to_dict()


def test_config_error_exits_2_and_writes_nothing(tmp_path, capsys, demo_hooks):
    from lightning_runtime.demo.__main__ import main

    work = tmp_path / "w"
    code = main(["--work-dir", str(work), "--cfg-options", "default_hooks.checkpoint.intervl=5"])
    err = capsys.readouterr().err
    assert code == 2 and "default_hooks.checkpoint.intervl" in err and "'interval'" in err
    assert "Traceback" not in err and not work.exists()
    assert main(["--config", str(tmp_path / "missing.py")]) == 2


def test_module_on_its_own_builds_optimizer_and_scheduler_from_init_args():
    from lightning_runtime.demo.module import SegModule

    module = SegModule(
        arch="tiny_vit",
        optim_wrapper=dict(optimizer=dict(type="AdamW", lr=0.01, weight_decay=0.05),
                           paramwise_cfg=dict(custom_keys={"pos_embed": dict(decay_mult=0.0)})),
        param_scheduler=[dict(type="LinearLR", start_factor=0.5, by_epoch=False, begin=0, end=4)],
        train_cfg=dict(type="IterBasedTrainLoop", max_iters=8))
    out = module.configure_optimizers()
    assert out["lr_scheduler"]["interval"] == "step"
    wd = {n: g["weight_decay"] for g in out["optimizer"].param_groups for n in g["param_names"]}
    assert wd["backbone.pos_embed"] == 0.0 and wd["backbone.cls_token"] == 0.05
    assert out["optimizer"].param_groups[0]["lr"] == pytest.approx(0.005)
