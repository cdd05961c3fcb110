"""What the command line shows a LightningCLI user: per-subcommand help, --print_config in the
input's format, and explain with a model, an epoch length and the schedule's entries (issue 16)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lightning_runtime import load_config
from lightning_runtime.cli._main import main

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "configs" / "demo"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def test_fit_help_lists_the_trainer_options_and_ckpt_path(capsys: pytest.CaptureFixture[str]) -> None:
    top = _run(capsys, "--help")
    fit = _run(capsys, "fit", "--help")
    assert fit != top
    assert fit.startswith("usage: lightning-runtime fit")
    for option in ("--trainer.max_steps", "--trainer.precision", "--trainer.callbacks", "--trainer.logger",
                   "--ckpt_path", "--config", "--print_config", "--seed_everything"):
        assert option in fit, option
    # types and defaults come from Trainer.__init__, as in LightningCLI's help
    assert re.search(r"--trainer\.max_epochs MAX_EPOCHS\s+.*?\(type: .*?default: null\)", fit, flags=re.S)
    assert "resume" in fit.split("--ckpt_path PATH", 2)[-1][:200]  # fit's --ckpt_path resumes
    assert "--trainer CONFIG" not in fit  # a trainer: section goes in a --config file here
    # LightningCLI's subclass help: the arguments of one strategy class
    ddp = _run(capsys, "fit", "--trainer.strategy.help=DDPStrategy")
    assert "--trainer.strategy.process_group_backend" in ddp
    test = _run(capsys, "test", "--help")
    assert "--trainer.limit_test_batches" in test and "--ckpt_path" in test
    assert "tested" in test.split("--ckpt_path PATH", 2)[-1][:200]


def test_explain_help_lists_explain_options(capsys: pytest.CaptureFixture[str]) -> None:
    out = _run(capsys, "explain", "--help")
    for option in ("--epoch_length N", "--plot PNG", "--model CLASS_PATH", "--config"):
        assert option in out, option
    assert "--trainer." not in out and "--ckpt_path" not in out


@pytest.mark.parametrize("name", ["seg_vit_shapes.yaml", "seg_vit_shapes.py"])
def test_print_config_is_in_the_input_format_and_loads_back_equal(
        name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = DEMO / name
    out = _run(capsys, "fit", "--config", str(src), "--print_config", "--train_cfg.max_iters=24")
    first, body = out.split("\n", 1)
    assert first == f"# resolved config; fit saves it as {Path('work_dirs/seg_vit_shapes') / name} when training starts"
    if name.endswith(".yaml"):
        assert "train_cfg:\n" in body and "dict(" not in body
    else:
        assert "train_cfg = dict(" in body
    printed = tmp_path / name
    printed.write_text(out)
    expected = load_config(src, overrides=["train_cfg.max_iters=24"]).to_dict()
    assert load_config(printed).to_dict() == expected


LAYER_DECAY = """\
_base_ = [{base!r}]
# an MMSeg-style model, as in real configs: explain needs a LightningModule to see the groups
model = dict(_delete_=True, type='EncoderDecoder', backbone=dict(type='ConvNeXt'))
"""


def test_explain_takes_the_model_from_the_command_line_and_shows_layer_decay_groups(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "ld.py"
    cfg.write_text(LAYER_DECAY.format(base=str(DEMO / "seg_convnext_shapes.py")))
    without = _run(capsys, "explain", "--config", str(cfg))
    assert "no model given" in without and "--model.class_path" in without
    assert "backbone.layer_" not in without
    out = _run(capsys, "explain", "--config", str(cfg), "--model", "lightning_runtime.demo.module.SegModule",
               "--model.init_args.arch=tiny_convnext", "--model.init_args.num_classes=4")
    groups = out.split("Param groups:")[1].split("\n\n")[0]
    lrs = {m[0]: float(m[1]) for m in re.findall(r"^\s+(\S*layer_\d+\.decay)\s+(\S+)", groups, flags=re.M)}
    # stage-wise decay, 4 stages, rate 0.9: stage s gets 0.002 * 0.9 ** (5 - s), the heads the full lr
    assert lrs["layer_5.decay"] == pytest.approx(0.002)
    assert lrs["backbone.layer_4.decay"] == pytest.approx(0.002 * 0.9)
    assert lrs["backbone.layer_0.decay"] == pytest.approx(0.002 * 0.9 ** 5, rel=1e-3)
    # every group has its own curve in the learning-rate section
    curves = out.split("Learning rate over")[1]
    assert "backbone.layer_0.decay" in curves and "layer_5.no_decay" in curves


def test_explain_lists_schedule_entries_and_hook_order_once(capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "--config", str(DEMO / "seg_vit_shapes.py")]) == 0
    out, err = capfd.readouterr()
    table = out.split("Schedule (param_scheduler):")[1].split("\n\n")[0]
    assert re.search(r"param_scheduler\[0\]\s+LinearLR\s+lr\s+iters 0-60\s+start_factor=0.1", table)
    assert re.search(r"param_scheduler\[1\]\s+PolyLR\s+lr\s+iters 60-600\s+eta_min=1e-05, power=0.9", table)
    both = out + err
    assert "Hooks will be executed in the following order" not in both
    assert len(re.findall(r"\bIterTimerHook\b", both)) == 1


EPOCHS = """\
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9))
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=3)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.5, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='MultiStepLR', milestones=[2], gamma=0.1, by_epoch=True),
]
"""


def test_explain_epoch_length_for_epoch_based_configs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "epochs.py"
    cfg.write_text(EPOCHS)
    without = _run(capsys, "explain", "--config", str(cfg))
    assert "--epoch_length N" in without and "Learning rate over" not in without
    out = _run(capsys, "explain", "--config", str(cfg), "--epoch_length", "10")
    assert "Learning rate over 30 iterations" in out
    table = out.split("Schedule (param_scheduler):")[1].split("\n\n")[0]
    assert re.search(r"LinearLR\s+lr\s+epochs 0-1 \(iters 0-10\), per iteration\s+start_factor=0.5", table)
    assert re.search(r"MultiStepLR\s+lr\s+epochs 0-3 \(iters 0-30\)\s+milestones=\[2\], gamma=0.1", table)
    rows = {m[0]: float(m[1]) for m in (line.split() for line in out.split("Learning rate over")[1].splitlines()[1:])
            if len(m) == 2 and m[0].isdigit()}
    assert rows["0"] == pytest.approx(0.05) and rows["29"] == pytest.approx(0.01)
    png = tmp_path / "lr.png"
    assert main(["explain", "--config", str(cfg), "--epoch_length=10", "--plot", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert main(["explain", "--config", str(cfg), "--epoch_length=0"]) == 2
