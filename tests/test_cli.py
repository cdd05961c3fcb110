"""The ``lightning-runtime`` command: subprocess runs for what a user types, in-process for details."""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from lightning_runtime.cli._main import load_merged, main, split_lightning_sections
from lightning_runtime.cli._args import parse_invocation
from lightning_runtime.errors import ConfigError

ASSETS = Path(__file__).parent / "cli_assets"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ASSETS), env.get("PYTHONPATH", "")])
    env["PYTHONWARNINGS"] = "ignore"
    return env


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lightning_runtime", *args], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=300)


@pytest.fixture()
def on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ASSETS))


def test_parse_invocation_splits_configs_overrides_and_flags() -> None:
    inv = parse_invocation(["fit", "--config", "a.py", "-c", "b.yaml", "--param_scheduler.1.end=2000",
                            "--optim_wrapper.optimizer.lr", "0.02", "--print_config", "--plot", "x.png"])
    assert inv.subcommand == "fit"
    assert inv.configs == ["a.py", "b.yaml"]
    assert inv.overrides == ["param_scheduler.1.end=2000", "optim_wrapper.optimizer.lr=0.02"]
    assert inv.print_config and inv.plot == "x.png"


def test_unknown_subcommand_suggests_the_closest() -> None:
    with pytest.raises(ConfigError) as info:
        parse_invocation(["fitt", "--config", "a.py"])
    assert info.value.candidates[0] == "fit"


def test_two_configs_merge_in_order_then_overrides_win() -> None:
    cfg = load_merged([str(ASSETS / "base.py"), str(ASSETS / "short.yaml")],
                      ["param_scheduler.1.end=12", "optim_wrapper.optimizer.lr=0.02"])
    # dicts merged key by key (type and val_interval from the second file, type kept from the first)
    assert cfg.train_cfg.to_dict() == {"type": "IterBasedTrainLoop", "max_iters": 16, "val_interval": 8}
    # lists replaced whole, then the indexed override applied
    assert [s["end"] for s in cfg.param_scheduler] == [4, 12]
    assert cfg.param_scheduler[0]["start_factor"] == 0.5
    assert cfg.optim_wrapper.optimizer.lr == 0.02
    assert cfg.optim_wrapper.optimizer.weight_decay == 0.05
    assert cfg.default_hooks.checkpoint.to_dict() == {"type": "CheckpointHook", "by_epoch": False, "interval": 8}


def test_lightning_sections_are_split_off() -> None:
    cfg = load_merged([str(ASSETS / "base.py")], ["trainer.enable_progress_bar=False"])
    sections, trainer = split_lightning_sections(cfg)
    assert sections["model"] == {"class_path": "tiny_mod.TinyModule", "init_args": {"width": 8}}
    assert sections["data"] == {"class_path": "tiny_mod.TinyData", "init_args": {}}
    assert trainer == {"enable_progress_bar": False}


def test_mmseg_style_model_section_stays_in_the_config() -> None:
    sections, _ = split_lightning_sections({"model": {"type": "EncoderDecoder", "backbone": {}}})
    assert "model" not in sections


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "explain" in capsys.readouterr().out


def test_print_config_shows_merged_values(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["fit", "--config", str(ASSETS / "base.py"), "--config", str(ASSETS / "short.yaml"),
                 "--train_cfg.max_iters=24", "--print_config"])
    out = capsys.readouterr().out
    assert code == 0
    assert "max_iters=24" in out.replace(" ", "") or "max_iters: 24" in out


def test_explain_text_and_png(tmp_path: Path, on_path: None, capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "lr.png"
    code = main(["explain", "--config", str(ASSETS / "base.py"), "--plot", str(png),
                 f"--work_dir={tmp_path / 'wd'}"])
    out = capsys.readouterr().out
    assert code == 0
    assert "max_steps: 40" in out
    # callbacks in MMEngine's priority order
    order = re.findall(r"^\s+\d+\. (\w+)\s+\((?!runtime)", out, flags=re.M)
    assert order[:6] == ["RuntimeInfoHook", "IterTimerHook", "DistSamplerSeedHook", "LoggerHook",
                         "ParamSchedulerHook", "CheckpointHook"]
    # param groups: the norm parameters lose weight decay, the rest keep 0.05
    assert "'norm'" in out and "backbone.norm.weight" in out
    # lr at the warmup boundary and at the end
    lr_part = out.split("Learning rate over")[1]
    table = {m[0]: m[1:] for m in (line.split() for line in lr_part.splitlines()) if m and m[0].isdigit()}
    assert float(table["0"][0]) == pytest.approx(0.001)
    assert float(table["10"][0]) == pytest.approx(0.01)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (800, 450)
    assert not (tmp_path / "wd").exists()  # explain writes nothing to work_dir


@pytest.mark.slow
def test_fit_subprocess_on_merged_py_and_yaml(tmp_path: Path) -> None:
    wd = tmp_path / "wd"
    proc = _cli("fit", "--config", str(ASSETS / "base.py"), "--config", str(ASSETS / "short.yaml"),
                f"--work_dir={wd}", "--trainer.enable_progress_bar=False", "--trainer.enable_model_summary=False",
                cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    files = sorted(p.name for p in wd.iterdir())
    assert {"iter_8.pth", "iter_16.pth", "last_checkpoint", "base.py"} <= set(files)
    assert Path((wd / "last_checkpoint").read_text().strip()).name == "iter_16.pth"
    (run_dir,) = [p for p in wd.iterdir() if p.is_dir()]
    log = (run_dir / f"{run_dir.name}.log").read_text()
    # interval=10, plus MMEngine's end-of-epoch line at iteration 8 (8 batches per epoch)
    train_lines = [l.split(" - INFO - ")[1][:20] for l in log.splitlines() if "Iter(train)" in l]
    assert train_lines == ["Iter(train) [ 8/16] ", "Iter(train) [10/16] "]
    # the lr logged at iteration 16 is the PolyLR value MMEngine gives at iteration 15
    lines = [json.loads(l) for l in (run_dir / "vis_data" / "scalars.json").read_text().splitlines()]
    lr_at = {rec["step"]: rec["lr"] for rec in lines if "lr" in rec}
    from mmengine.optim.scheduler import LinearLR, PolyLR
    import torch

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.01)
    scheds = [LinearLR(opt, start_factor=0.5, by_epoch=False, begin=0, end=4),
              PolyLR(opt, eta_min=1e-4, power=0.9, begin=4, end=16, by_epoch=False)]
    expected = {}
    for it in range(16):
        expected[it + 1] = opt.param_groups[0]["lr"]
        for s in scheds:
            s.step()
    assert sorted(lr_at) == [8, 10]
    for step, lr in lr_at.items():
        assert lr == pytest.approx(expected[step], rel=1e-6), step


@pytest.mark.slow
def test_bad_config_exits_2_with_one_message_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("_base_ = ['" + str(ASSETS / "base.py") + "']\n"
                   "param_scheduler = [dict(type='PolyLRR', begin=0, end=40, by_epoch=False)]\n"
                   f"work_dir = '{tmp_path / 'wd'}'\n")
    proc = _cli("fit", "--config", str(bad), cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "param_scheduler[0].type" in proc.stderr and "PolyLR" in proc.stderr
    assert not (tmp_path / "wd").exists()


def test_unknown_override_key_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], on_path: None) -> None:
    code = main(["fit", "--config", str(ASSETS / "base.py"), "--train_cfg.max_iter=10", f"--work_dir={tmp_path}/wd"])
    err = capsys.readouterr().err
    assert code == 2
    assert "train_cfg.max_iter" in err and "max_iters" in err
    assert not (tmp_path / "wd").exists()


def test_error_in_inherited_value_points_at_the_base_file_and_delete(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    base = Path(__file__).parents[1] / "configs" / "_base_" / "schedules" / "schedule_160k.py"
    cfg = tmp_path / "adamw.py"
    # The classic mistake: AdamW merged into the schedule's SGD dict keeps SGD's momentum.
    cfg.write_text(f"_base_ = ['{base}']\n"
                   "optim_wrapper = dict(optimizer=dict(type='AdamW', lr=6e-5, weight_decay=0.01))\n")
    assert main(["explain", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    first = err.splitlines()[1]
    assert first.startswith(f"{base}:") and first.endswith("optim_wrapper.optimizer.momentum: AdamW has no argument 'momentum'")
    assert "_delete_=True" in err


@pytest.mark.slow
def test_fit_the_demo_yaml_for_a_few_iterations(tmp_path: Path) -> None:
    root = Path(__file__).parents[1]
    wd = tmp_path / "wd"
    proc = _cli("fit", "--config", str(root / "configs" / "demo" / "seg_vit_shapes.yaml"),
                "--train_cfg.max_iters=8", "--train_cfg.val_interval=4", "--param_scheduler.0.end=2",
                "--param_scheduler.1.begin=2", "--param_scheduler.1.end=8",
                "--default_hooks.checkpoint.interval=4", f"--work_dir={wd}",
                "--trainer.enable_progress_bar=False", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    names = {p.name for p in wd.iterdir() if p.is_file()}
    assert {"iter_4.pth", "iter_8.pth", "last_checkpoint", "seg_vit_shapes.yaml"} <= names
    assert len([n for n in names if n.startswith("best_mIoU_iter_")]) == 1
    (run_dir,) = [p for p in wd.iterdir() if p.is_dir()]
    log = (run_dir / f"{run_dir.name}.log").read_text()
    assert log.count("Iter(val) [16/16]") == 2 and "mIoU:" in log  # validations at 4 and 8
    assert list((run_dir / "vis_data" / "vis_image").glob("*.png"))  # SegVisualizationHook(draw=True)


def test_fit_ckpt_path_resumes_as_mmengine_resume(tmp_path: Path, on_path: None,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """``fit --ckpt_path=X`` (LightningCLI's flag) resumes from X, like ``resume='X'``; both differing is refused."""
    cfg = ["--config", str(ASSETS / "base.py"), "--config", str(ASSETS / "short.yaml")]
    first, second = tmp_path / "first", tmp_path / "second"
    assert main(["fit", *cfg, "--train_cfg.max_iters=8", f"--work_dir={first}"]) == 0
    assert (first / "iter_8.pth").is_file()
    assert main(["fit", *cfg, f"--ckpt_path={first / 'iter_8.pth'}", f"--work_dir={second}"]) == 0
    capsys.readouterr()
    # resumed at iteration 8 (checkpoint interval 8): a fresh run would have saved iter_8.pth too
    assert sorted(p.name for p in second.glob("iter_*.pth")) == ["iter_16.pth"]
    code = main(["fit", *cfg, f"--ckpt_path={first / 'iter_8.pth'}", f"--resume={second / 'iter_16.pth'}",
                 f"--work_dir={tmp_path / 'third'}"])
    err = capsys.readouterr().err
    assert code == 2 and "ckpt_path" in err and "both name the checkpoint" in err
    assert not (tmp_path / "third").exists()


def test_trainer_max_steps_beside_max_iters_exits_2(tmp_path: Path, on_path: None,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["fit", "--config", str(ASSETS / "base.py"), "--trainer.max_steps=3", f"--work_dir={tmp_path}/wd"])
    err = capsys.readouterr().err
    assert code == 2 and "trainer.max_steps: max_steps=3 contradicts train_cfg.max_iters" in err
    assert "--train_cfg.max_iters=N" in err and not (tmp_path / "wd").exists()


def test_lightningcli_yaml_trainer_section_beside_mmengine_sections(tmp_path: Path, on_path: None,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A LightningCLI ``trainer:`` (callbacks, logger, precision, max_steps) beside MMEngine sections.

    The callbacks run, the logger writes, and each overlap is announced (logger, precision) or
    refused (max_steps against train_cfg.max_iters), as docs/runtime.md says.
    """
    import warnings

    yaml = tmp_path / "lightning.yaml"
    yaml.write_text(f"""\
trainer:
  callbacks:
    - class_path: lightning.pytorch.callbacks.LearningRateMonitor
      init_args: {{logging_interval: step}}
  logger:
    class_path: lightning.pytorch.loggers.CSVLogger
    init_args: {{save_dir: {tmp_path / 'csv'}, name: mine}}
  precision: bf16-mixed
  enable_progress_bar: false
""")
    cfg = ["--config", str(ASSETS / "base.py"), "--config", str(yaml), "--train_cfg.max_iters=10",
           "--train_cfg.val_interval=5", "--default_hooks.checkpoint.interval=5"]
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        assert main(["fit", *cfg, f"--work_dir={tmp_path / 'wd'}"]) == 0
    said = [str(w.message) for w in record]
    assert any("trainer.logger=" in m and "replaces what visualizer.vis_backends set" in m for m in said), said
    assert any("trainer.precision='bf16-mixed' replaces what optim_wrapper set" in m for m in said), said
    (metrics,) = (tmp_path / "csv" / "mine").glob("version_*/metrics.csv")
    header = metrics.read_text().splitlines()[0].split(",")
    assert any(h.startswith("lr-AdamW") for h in header), header  # LearningRateMonitor ran, the logger wrote
    # train_cfg/default_hooks still rule the run
    assert sorted(p.name for p in (tmp_path / "wd").glob("iter_*.pth")) == ["iter_10.pth", "iter_5.pth"]
    capsys.readouterr()
    code = main(["fit", *cfg, "--trainer.max_steps=3", f"--work_dir={tmp_path / 'wd2'}"])
    assert code == 2 and "trainer.max_steps: max_steps=3 contradicts train_cfg.max_iters" in capsys.readouterr().err
