"""vis_backends -> Lightning loggers: every MMEngine argument is passed on or warned about by name."""

from __future__ import annotations

import warnings

import pytest

from lightning_runtime.registry import VISBACKENDS
from lightning_runtime.runtime import Runtime
from lightning_runtime.runtime._loggers import local_logger_kwargs, mlflow_logger_kwargs, wandb_logger_kwargs


def test_local_defaults_are_all_applied(tmp_path):
    kwargs, notes = local_logger_kwargs(str(tmp_path / "ts" / "vis_data"))
    assert kwargs == {"save_dir": str(tmp_path / "ts"), "name": "vis_data", "version": ""}
    assert notes == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        logger = VISBACKENDS.build(dict(type="LocalVisBackend", img_save_dir="vis_image",
                                        scalar_save_file="scalars.json"), dict(save_dir=str(tmp_path / "vis_data")))
    assert type(logger).__name__ == "CSVLogger"


@pytest.mark.parametrize("key,value", [("img_save_dir", "images"), ("config_save_file", "cfg.py"),
                                       ("scalar_save_file", "s.json")])
def test_local_file_names_warn_by_name(tmp_path, key, value):
    _, notes = local_logger_kwargs(str(tmp_path), **{key: value})
    assert len(notes) == 1 and notes[0].startswith(f"{key}={value!r}) is not applied")
    with pytest.warns(UserWarning, match=rf"visualizer.vis_backends: LocalVisBackend\({key}='{value}'\) is not applied"):
        VISBACKENDS.build(dict(type="LocalVisBackend", **{key: value}), dict(save_dir=str(tmp_path / "vis_data")))


def test_runtime_warns_for_an_unapplied_backend_argument(tmp_path):
    rt = Runtime(dict(work_dir=str(tmp_path), visualizer=dict(
        type="Visualizer", vis_backends=[dict(type="LocalVisBackend", img_save_dir="imgs")])))
    with pytest.warns(UserWarning, match=r"LocalVisBackend\(img_save_dir='imgs'\) is not applied"):
        rt.trainer_kwargs()


def test_wandb_init_kwargs_go_to_the_logger_and_defaults_say_nothing():
    kwargs, notes = wandb_logger_kwargs("/w/vis_data", init_kwargs=dict(project="seg", name="run1"), commit=True)
    assert kwargs == {"save_dir": "/w/vis_data", "project": "seg", "name": "run1"}
    assert notes == []


@pytest.mark.parametrize("key,value", [("define_metric_cfg", {"mIoU": "max"}), ("commit", False),
                                       ("log_code_name", "code"), ("watch_kwargs", {"log": "all"})])
def test_wandb_arguments_without_equivalent_are_named(key, value):
    kwargs, notes = wandb_logger_kwargs("/w/vis_data", **{key: value})
    assert kwargs == {"save_dir": "/w/vis_data"}
    assert len(notes) == 1 and notes[0].startswith(f"{key}=") and "is not applied" in notes[0]


def test_mlflow_mapping():
    kwargs, notes = mlflow_logger_kwargs("/w/vis_data", exp_name="seg", run_name="r", tags={"a": 1},
                                         tracking_uri="http://x", artifact_location="/a",
                                         artifact_suffix=[".json", ".log", ".py", "yaml"])  # MMEngine's default
    assert kwargs == {"experiment_name": "seg", "run_name": "r", "tags": {"a": 1}, "save_dir": "/w/vis_data",
                      "tracking_uri": "http://x", "artifact_location": "/a"}
    assert notes == []


@pytest.mark.parametrize("key,value", [("params", {"lr": 0.1}), ("artifact_suffix", (".pth",)),
                                       ("artifact_suffix", ".log"), ("tracked_config_keys", ["model"])])
def test_mlflow_arguments_without_equivalent_are_named(key, value):
    _, notes = mlflow_logger_kwargs("/w/vis_data", **{key: value})
    assert len(notes) == 1 and notes[0].startswith(f"{key}=") and "is not applied" in notes[0]
