"""MMCV-0.x runtime keys are refused with the MMEngine 1.x equivalent in the fix."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from lightning_runtime.config import load_config
from lightning_runtime.errors import ConfigError
from lightning_runtime.config import LEGACY_KEYS, check_legacy_keys


def error_of(cfg: dict) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        check_legacy_keys(cfg)
    return info.value


@pytest.mark.parametrize(
    ("cfg", "path", "fix_lines"),
    [
        (dict(optimizer=dict(type="SGD", lr=0.01, momentum=0.9)), "optimizer",
         ["optim_wrapper = dict(",
          "optimizer=dict(type='SGD', lr=0.01, momentum=0.9)"]),
        (dict(optimizer_config=dict(grad_clip=dict(max_norm=35, norm_type=2),
                                    cumulative_iters=4)), "optimizer_config",
         ["clip_grad=dict(max_norm=35, norm_type=2)", "accumulative_counts=4"]),
        (dict(lr_config=dict(policy="poly", power=0.9, min_lr=1e-4, by_epoch=False,
                             warmup="linear", warmup_iters=1500, warmup_ratio=1e-6),
              runner=dict(type="IterBasedRunner", max_iters=160000)), "lr_config",
         ["param_scheduler = [",
          "dict(type='LinearLR', start_factor=1e-06, by_epoch=False, begin=0, end=1500)",
          "type='PolyLR'", "eta_min=0.0001", "power=0.9", "end=160000"]),
        (dict(lr_config=dict(policy="step", step=[8, 11])), "lr_config",
         ["type='MultiStepLR', milestones=[8, 11], gamma=0.1, begin=0, by_epoch=True"]),
        (dict(momentum_config=dict(policy="cyclic")), "momentum_config",
         ["CosineAnnealingMomentum"]),
        (dict(checkpoint_config=dict(by_epoch=False, interval=16000)), "checkpoint_config",
         ["default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, "
          "interval=16000))"]),
        (dict(log_config=dict(interval=50, hooks=[dict(type="TextLoggerHook"),
                                                  dict(type="TensorboardLoggerHook")])),
         "log_config",
         ["default_hooks = dict(logger=dict(type='LoggerHook', interval=50))",
          "dict(type='TensorboardVisBackend')"]),
        (dict(evaluation=dict(interval=16000, metric="mIoU")), "evaluation",
         ["train_cfg = dict(val_interval=16000, ...)", "val_cfg = dict(type='ValLoop')",
          "val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])"]),
        (dict(runner=dict(type="EpochBasedRunner", max_epochs=12)), "runner",
         ["train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=1)"]),
        (dict(runner=dict(type="IterBasedRunner", max_iters=80000)), "runner",
         ["train_cfg = dict(type='IterBasedTrainLoop', max_iters=80000"]),
        (dict(workflow=[("train", 1)]), "workflow",
         ["delete workflow: validation runs from train_cfg.val_interval"]),
        (dict(fp16=dict(loss_scale=512.0)), "fp16",
         ["optim_wrapper = dict(type='AmpOptimWrapper', loss_scale=512.0"]),
    ],
)
def test_each_legacy_key_shows_its_replacement(cfg: dict, path: str,
                                               fix_lines: list[str]) -> None:
    err = error_of(cfg)
    assert err.path == path
    assert "MMCV 0.x" in err.message
    assert err.fix is not None
    for line in fix_lines:
        assert line in err.fix, err.fix


def test_all_ten_keys_are_known() -> None:
    assert set(LEGACY_KEYS) == {"optimizer", "optimizer_config", "lr_config", "momentum_config",
                                "checkpoint_config", "log_config", "evaluation", "runner",
                                "workflow", "fp16"}


def test_other_legacy_keys_are_listed() -> None:
    err = error_of(dict(lr_config=dict(policy="poly"), checkpoint_config={}, workflow=[]))
    assert err.path == "lr_config"
    assert "other 0.x keys here: checkpoint_config, workflow" in str(err)


def test_mmengine_1x_configs_pass_untouched(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[1] / "configs" / "_base_"
    cfg = load_config(repo / "schedules" / "schedule_80k.py")
    assert "optimizer" in cfg and "optim_wrapper" in cfg  # MMSeg 1.x keeps both
    check_legacy_keys(cfg)
    check_legacy_keys(load_config(repo / "default_runtime.py"))
    check_legacy_keys({"model": {"type": "X"}, "crop_size": (512, 512)})


def test_loaded_config_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "old.py"
    path.write_text(textwrap.dedent("""
        model = dict(type='EncoderDecoder')
        optimizer = dict(type='SGD', lr=0.01)
        optimizer_config = dict()
        lr_config = dict(policy='poly', power=0.9, min_lr=1e-4, by_epoch=False)
        """).lstrip(), encoding="utf-8")
    cfg = load_config(path)  # loading itself never complains
    err = error_of(cfg)
    assert (err.file, err.line, err.path) == (str(path), 2, "optimizer")
    assert str(err).startswith(f"{path}:2: optimizer: top-level optimizer without optim_wrapper")
    assert "other 0.x keys here: optimizer_config, lr_config" in str(err)


@pytest.mark.parametrize(("key", "value", "section"), [
    ("runner", dict(type="IterBasedRunner", max_iters=320000), "train_cfg"),   # MMSeg mobilenet_v3
    ("fp16", dict(loss_scale="dynamic"), "optim_wrapper"),                       # MMSeg MAE configs
    ("optimizer_config", dict(grad_clip=None), "optim_wrapper"),
    ("lr_config", dict(policy="poly"), "param_scheduler"),
    ("checkpoint_config", dict(interval=1), "default_hooks"),
    ("evaluation", dict(interval=1), "train_cfg"),
    ("workflow", [("train", 1)], "train_cfg"),
])
def test_a_stray_legacy_key_beside_its_1x_section_warns_and_goes_on(key: str, value: object, section: str) -> None:
    """MMEngine ignores a 0.x key when the 1.x section is there; so does this, with one warning."""
    cfg = {key: value, section: dict(type="X") if section != "param_scheduler" else [dict(type="PolyLR")]}
    with pytest.warns(UserWarning, match=rf"{key} is an MMCV 0.x key; MMEngine 1.x ignores it beside {section}"):
        check_legacy_keys(cfg)


def test_a_legacy_key_set_to_none_is_absent() -> None:
    check_legacy_keys(dict(fp16=None, runner=None, lr_config=None))


@pytest.mark.parametrize(("key", "hook"), [("checkpoint", "checkpoint"), ("logger_hook_cfg", "logger")])
def test_the_tutorials_top_level_hook_dicts_say_where_they_belong(key: str, hook: str) -> None:
    """``checkpoint = dict(interval=1)`` (the seed tutorial's wording) is read by nobody: one warning says where."""
    with pytest.warns(UserWarning, match=rf"top-level {key} = dict\(interval=1\) is not read.*"
                                          rf"default_hooks = dict\({hook}=dict\(interval=1\)\)"):
        check_legacy_keys({key: dict(interval=1)})


def test_a_top_level_checkpoint_url_is_not_a_hook_config(recwarn: pytest.WarningsRecorder) -> None:
    check_legacy_keys({"checkpoint": "https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/mit_b0.pth"})
    assert not [w for w in recwarn if "is not read" in str(w.message)]


def test_a_top_level_helper_dict_used_in_default_hooks_is_fine(recwarn: pytest.WarningsRecorder) -> None:
    """``checkpoint = dict(interval=2)`` then ``default_hooks = dict(checkpoint=checkpoint)``: it was read."""
    ckpt = dict(by_epoch=False, interval=2)
    check_legacy_keys({"checkpoint": ckpt, "default_hooks": {"checkpoint": dict(ckpt, type="CheckpointHook")}})
    assert not [w for w in recwarn if "is not read" in str(w.message)]
