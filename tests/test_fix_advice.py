"""Every fix line about an inherited value is one that works: each test follows it and the config then loads.

Three shapes of inheritance get three different pieces of advice (``errors.locate_error``): a dict
merged into an inherited dict (``_delete_=True`` in that dict, named with its file), an entry of
an inherited list (lists are replaced whole: redefine the list), a value only the base sets (set it
in your config). A value in the user's own file gets no inheritance note at all. A ``model:``
class spec merged over an MMSeg ``model=dict(type='EncoderDecoder')`` is told to replace it.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from lightning_runtime import Runtime, load_config
from lightning_runtime.cli._main import load_merged, split_lightning_sections
from lightning_runtime.errors import ConfigError

SCHEDULE = Path(__file__).resolve().parents[1] / "configs" / "_base_" / "schedules" / "schedule_160k.py"


def _write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


def _error(cfg_file: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        Runtime(load_config(cfg_file))
    return info.value


def test_a_dict_merged_into_an_inherited_one_is_told_to_delete_and_then_loads(tmp_path: Path) -> None:
    """AdamW written over the base's SGD keeps SGD's momentum: _delete_=True in optim_wrapper.optimizer."""
    child = _write(tmp_path / "adamw.py", f"""\
        _base_ = [{str(SCHEDULE)!r}]
        optim_wrapper = dict(optimizer=dict(type='AdamW', lr=6e-5, weight_decay=0.01))
        """)
    err = _error(child)
    assert err.path == "optim_wrapper.optimizer.momentum" and err.file == str(SCHEDULE)
    assert "merged into optim_wrapper.optimizer of adamw.py; add _delete_=True to optim_wrapper.optimizer" in err.fix
    _write(child, f"""\
        _base_ = [{str(SCHEDULE)!r}]
        optim_wrapper = dict(optimizer=dict(_delete_=True, type='AdamW', lr=6e-5, weight_decay=0.01))
        """)
    assert Runtime(load_config(child)).cfg.optim_wrapper.optimizer == dict(type="AdamW", lr=6e-5, weight_decay=0.01)


def test_an_entry_of_an_inherited_list_is_told_to_redefine_the_list_and_then_loads(tmp_path: Path) -> None:
    base = _write(tmp_path / "base_bad.py", """\
        optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01))
        train_cfg = dict(type='IterBasedTrainLoop', max_iters=100)
        param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=-0.9, begin=0, end=100, by_epoch=False)]
        """)
    child = _write(tmp_path / "child.py", f"_base_ = [{str(base)!r}]\n")
    err = _error(child)
    assert err.path == "param_scheduler[0].power"
    assert "lists are replaced whole, so write param_scheduler = [...] in your config" in err.fix
    assert "_delete_" not in err.fix
    _write(child, f"""\
        _base_ = [{str(base)!r}]
        param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=100, by_epoch=False)]
        """)
    Runtime(load_config(child))


def test_a_value_only_the_base_sets_is_told_to_set_it_and_then_loads(tmp_path: Path) -> None:
    base = _write(tmp_path / "base_bad.py", """\
        optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01))
        train_cfg = dict(type='IterBasedTrainLoop', max_iters=100, val_interval=0.5)
        """)
    child = _write(tmp_path / "child.py", f"_base_ = [{str(base)!r}]\n")
    err = _error(child)
    assert err.path == "train_cfg.val_interval"
    assert err.fix.endswith("set train_cfg.val_interval in your config to override it")
    _write(child, f"_base_ = [{str(base)!r}]\ntrain_cfg = dict(val_interval=50)\n")
    assert Runtime(load_config(child)).train_loop.val_interval == 50


def test_a_value_in_the_users_own_file_gets_no_inheritance_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # a relative --config path, as typed
    _write(tmp_path / "own.py", f"""\
        _base_ = [{str(SCHEDULE)!r}]
        param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=-1.0, begin=0, end=160000, by_epoch=False)]
        """)
    err = _error(Path("own.py"))
    assert "inherited" not in err.fix and "_delete_" not in err.fix


def test_a_model_class_spec_over_an_mmseg_model_is_told_to_replace_it_and_then_loads(tmp_path: Path) -> None:
    mmseg = _write(tmp_path / "mmseg_like.py", """\
        model = dict(type='EncoderDecoder', backbone=dict(type='MixVisionTransformer'), pretrained=None)
        """)
    mine = tmp_path / "mine.yaml"
    mine.write_text("model:\n  class_path: lightning.pytorch.demos.boring_classes.BoringModel\n  init_args: {}\n")
    with pytest.raises(ConfigError) as info:
        split_lightning_sections(load_merged([str(mmseg), str(mine)], []))
    assert info.value.path == "model" and "_delete_: true, class_path" in info.value.fix
    assert "under init_args" not in info.value.fix
    mine.write_text("model:\n  _delete_: true\n  class_path: lightning.pytorch.demos.boring_classes.BoringModel\n"
                    "  init_args: {}\n")
    sections, _ = split_lightning_sections(load_merged([str(mmseg), str(mine)], []))
    assert sections["model"] == {"class_path": "lightning.pytorch.demos.boring_classes.BoringModel", "init_args": {}}


def test_fit_on_an_mmseg_model_says_it_is_not_built_here_and_how_to_give_one(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from lightning_runtime.cli import main

    cfg = _write(tmp_path / "seg.py", f"""\
        _base_ = [{str(SCHEDULE)!r}]
        model = dict(type='EncoderDecoder', backbone=dict(type='MixVisionTransformer'))
        """)
    assert main(["fit", "--config", str(cfg), f"--work_dir={tmp_path / 'wd'}"]) == 2
    err = capsys.readouterr().err
    assert "model.type: model = dict(type='EncoderDecoder', ...) is an OpenMMLab model" in err
    assert "--model.class_path=my_pkg.MyModule" in err and not (tmp_path / "wd").exists()


def test_a_module_without_the_visualization_protocol_stops_with_one_message(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """SegVisualizationHook(draw=True) beside a module whose validation_step returns None: exit 2, one message."""
    from lightning_runtime.cli import main

    monkeypatch.syspath_prepend(str(Path(__file__).parent / "cli_assets"))
    cfg = _write(tmp_path / "vis.py", f"""\
        _base_ = [{str(Path(__file__).parent / 'cli_assets' / 'base.py')!r}]
        train_cfg = dict(max_iters=8, val_interval=4)
        default_hooks = dict(visualization=dict(_delete_=True, type='SegVisualizationHook', draw=True, interval=1))
        """)
    assert main(["fit", "--config", str(cfg), f"--work_dir={tmp_path / 'wd'}"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("lightning-runtime: config error") == 1
    assert "default_hooks.visualization: SegVisualizationHook(draw=True) got val step outputs of type NoneType" in err
    assert "default_hooks.visualization.draw=False" in err
