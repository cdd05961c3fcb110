"""``visualizer.vis_backends`` -> Lightning loggers, under MMEngine's ``work_dir/<timestamp>/vis_data``.

=========================  =================================  ==========================
MMEngine backend           Lightning logger                   optional dependency
=========================  =================================  ==========================
``LocalVisBackend``        ``CSVLogger`` (``vis_data/metrics.csv``)  none
``TensorboardVisBackend``  ``TensorBoardLogger`` (``vis_data/``)     ``tensorboard``
``WandbVisBackend``        ``WandbLogger``                    ``wandb``
``MLflowVisBackend``       ``MLFlowLogger``                   ``mlflow``
=========================  =================================  ==========================

Each backend class here is registered in ``registry.VISBACKENDS`` under MMEngine's name; calling it
with MMEngine's arguments returns the Lightning logger. Every MMEngine argument is either passed
on (``*_logger_kwargs`` say how) or, with no Lightning equivalent and a value other than MMEngine's
default, warned about once (rank zero) by name with what to do instead. Without a ``visualizer`` the runtime uses
``LocalVisBackend``, as MMEngine's Runner does.

Example:
    >>> from lightning_runtime.registry import VISBACKENDS
    >>> logger = VISBACKENDS.build(dict(type='LocalVisBackend'), dict(save_dir='/tmp/wd/ts/vis_data'))
    >>> type(logger).__name__
    'CSVLogger'
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import Logger

from lightning_runtime.errors import ConfigError, check_keys
from lightning_runtime.registry import VISBACKENDS

__all__ = [
    "LocalVisBackend",
    "TensorboardVisBackend",
    "WandbVisBackend",
    "MLflowVisBackend",
    "build_loggers",
    "local_logger_kwargs",
    "wandb_logger_kwargs",
    "mlflow_logger_kwargs",
]


def _require(package: str, backend: str) -> None:
    if importlib.util.find_spec(package) is None:
        raise ConfigError(
            f"{backend} needs the '{package}' package, which is not installed",
            path="visualizer.vis_backends",
            fix=f"pip install {package}  (or remove {backend} from visualizer.vis_backends)",
        )


def _warn_unmapped(backend: str, notes: Sequence[str]) -> None:
    """Warn (rank zero; Python shows each message once) about every argument with no Lightning equivalent."""
    if not notes:
        return
    from lightning.pytorch.utilities import rank_zero_warn

    for note in notes:
        rank_zero_warn(f"visualizer.vis_backends: {backend}({note}")


def local_logger_kwargs(save_dir: str, img_save_dir: str = "vis_image", config_save_file: str = "config.py",
                        scalar_save_file: str = "scalars.json") -> tuple[dict[str, Any], list[str]]:
    """``LocalVisBackend``'s arguments as ``CSVLogger`` arguments, and a note for each one not applied.

    Scalars go to ``vis_data/metrics.csv`` (CSVLogger) and ``vis_data/scalars.json`` (LoggerHook),
    images to ``vis_data/vis_image`` (SegVisualizationHook): other file names are not applied.
    """
    notes = []
    if img_save_dir != "vis_image":
        notes.append(f"img_save_dir={img_save_dir!r}) is not applied: SegVisualizationHook saves images to "
                     "vis_data/vis_image; remove img_save_dir")
    if config_save_file != "config.py":
        notes.append(f"config_save_file={config_save_file!r}) is not applied: the config is not copied to "
                     "vis_data; remove config_save_file")
    if scalar_save_file != "scalars.json":
        notes.append(f"scalar_save_file={scalar_save_file!r}) is not applied: scalars go to vis_data/scalars.json "
                     "(LoggerHook) and vis_data/metrics.csv (CSVLogger); remove scalar_save_file")
    return {"save_dir": str(Path(save_dir).parent), "name": Path(save_dir).name, "version": ""}, notes


def wandb_logger_kwargs(save_dir: str, init_kwargs: Mapping[str, Any] | None = None, define_metric_cfg: Any = None,
                        commit: bool | None = True, log_code_name: str | None = None,
                        watch_kwargs: Mapping[str, Any] | None = None) -> tuple[dict[str, Any], list[str]]:
    """``WandbVisBackend``'s arguments as ``WandbLogger`` arguments, and a note for each one not applied.

    ``init_kwargs`` go to ``wandb.init`` (``WandbLogger``'s own keyword arguments); the others have
    no ``WandbLogger`` argument: ``define_metric_cfg``, ``log_code_name``, ``watch_kwargs`` and a
    ``commit`` other than True (WandbLogger commits every logged step) get a note saying what to do.
    """
    notes = []
    if define_metric_cfg is not None:
        notes.append("define_metric_cfg=...) is not applied (WandbLogger has no such argument): call "
                     "self.logger.experiment.define_metric(name, summary=...) in your LightningModule's on_fit_start")
    if commit is not True:
        notes.append(f"commit={commit!r}) is not applied: WandbLogger commits every logged step")
    if log_code_name is not None:
        notes.append(f"log_code_name={log_code_name!r}) is not applied (WandbLogger does not upload code): pass "
                     "init_kwargs=dict(save_code=True), or call self.logger.experiment.log_code(name=...) yourself")
    if watch_kwargs:
        notes.append("watch_kwargs=...) is not applied (MMEngine uses it only when add_graph is called): call "
                     "self.logger.watch(self, **watch_kwargs) in your LightningModule's on_fit_start")
    return {"save_dir": save_dir, **dict(init_kwargs or {})}, notes


_MLFLOW_ARTIFACT_SUFFIX = (".json", ".log", ".py", "yaml")


def mlflow_logger_kwargs(save_dir: str, exp_name: str | None = None, run_name: str | None = None,
                         tags: Mapping[str, Any] | None = None, params: Mapping[str, Any] | None = None,
                         tracking_uri: str | None = None, artifact_suffix: Sequence[str] | str = _MLFLOW_ARTIFACT_SUFFIX,
                         tracked_config_keys: Any = None, artifact_location: str | None = None,
                         ) -> tuple[dict[str, Any], list[str]]:
    """``MLflowVisBackend``'s arguments as ``MLFlowLogger`` arguments, and a note for each one not applied.

    ``exp_name`` -> ``experiment_name``; ``run_name``, ``tags``, ``tracking_uri``,
    ``artifact_location`` keep their names. ``params`` (logged at start by MMEngine),
    ``artifact_suffix`` (files of work_dir uploaded at the end) and ``tracked_config_keys`` (the
    config logged as params) have no ``MLFlowLogger`` argument: each gets a note saying what to do.
    """
    kwargs: dict[str, Any] = {"experiment_name": exp_name or "lightning_logs", "run_name": run_name,
                              "tags": dict(tags) if tags else None, "save_dir": save_dir}
    if tracking_uri:
        kwargs["tracking_uri"] = tracking_uri
    if artifact_location:
        kwargs["artifact_location"] = artifact_location
    notes = []
    if params:
        notes.append("params=...) is not applied (MLFlowLogger has no such argument): log them with "
                     "self.save_hyperparameters(...) in your LightningModule, or self.logger.log_hyperparams(params)")
    suffix = (artifact_suffix,) if isinstance(artifact_suffix, str) else tuple(artifact_suffix or ())
    if suffix != _MLFLOW_ARTIFACT_SUFFIX:
        notes.append(f"artifact_suffix={artifact_suffix!r}) is not applied: work_dir files are not uploaded "
                     "(MLFlowLogger(log_model=True) uploads checkpoints); remove artifact_suffix")
    if tracked_config_keys is not None:
        notes.append("tracked_config_keys=...) is not applied: the config is not logged as MLflow params; log what "
                     "you need with self.logger.log_hyperparams({...})")
    return kwargs, notes


@VISBACKENDS.register_module()
def LocalVisBackend(save_dir: str, img_save_dir: str = "vis_image", config_save_file: str = "config.py",
                    scalar_save_file: str = "scalars.json") -> Logger:
    """MMEngine's local backend: scalars as CSV in ``save_dir`` (``work_dir/<ts>/vis_data``)."""
    from lightning.pytorch.loggers import CSVLogger

    kwargs, notes = local_logger_kwargs(save_dir, img_save_dir, config_save_file, scalar_save_file)
    _warn_unmapped("LocalVisBackend", notes)
    return CSVLogger(**kwargs)


@VISBACKENDS.register_module()
def TensorboardVisBackend(save_dir: str) -> Logger:
    """MMEngine's TensorBoard backend: event files in ``save_dir``."""
    if importlib.util.find_spec("tensorboard") is None and importlib.util.find_spec("tensorboardX") is None:
        _require("tensorboard", "TensorboardVisBackend")
    from lightning.pytorch.loggers import TensorBoardLogger

    return TensorBoardLogger(save_dir=str(Path(save_dir).parent), name=Path(save_dir).name, version="",
                             default_hp_metric=False)


@VISBACKENDS.register_module()
def WandbVisBackend(save_dir: str, init_kwargs: Mapping[str, Any] | None = None, define_metric_cfg: Any = None,
                    commit: bool | None = True, log_code_name: str | None = None,
                    watch_kwargs: Mapping[str, Any] | None = None) -> Logger:
    """MMEngine's W&B backend: ``init_kwargs`` go to ``wandb.init`` through ``WandbLogger`` (:func:`wandb_logger_kwargs`)."""
    _require("wandb", "WandbVisBackend")
    from lightning.pytorch.loggers import WandbLogger

    kwargs, notes = wandb_logger_kwargs(save_dir, init_kwargs, define_metric_cfg, commit, log_code_name, watch_kwargs)
    _warn_unmapped("WandbVisBackend", notes)
    return WandbLogger(**kwargs)


@VISBACKENDS.register_module()
def MLflowVisBackend(save_dir: str, exp_name: str | None = None, run_name: str | None = None,
                     tags: Mapping[str, Any] | None = None, params: Mapping[str, Any] | None = None,
                     tracking_uri: str | None = None, artifact_suffix: Sequence[str] | str = _MLFLOW_ARTIFACT_SUFFIX,
                     tracked_config_keys: Any = None, artifact_location: str | None = None) -> Logger:
    """MMEngine's MLflow backend (``exp_name`` -> ``experiment_name``, :func:`mlflow_logger_kwargs`)."""
    _require("mlflow", "MLflowVisBackend")
    from lightning.pytorch.loggers import MLFlowLogger

    kwargs, notes = mlflow_logger_kwargs(save_dir, exp_name, run_name, tags, params, tracking_uri, artifact_suffix,
                                         tracked_config_keys, artifact_location)
    _warn_unmapped("MLflowVisBackend", notes)
    return MLFlowLogger(**kwargs)


# Arguments of MMEngine's Visualizer and MMSeg's SegLocalVisualizer: drawing options are accepted
# (the SegVisualizationHook draws), loggers come from vis_backends.
_VISUALIZER_KEYS = ("type", "name", "vis_backends", "save_dir", "image", "fig_save_cfg",
                    "fig_show_cfg", "classes", "palette", "dataset_name", "alpha")
#: ``visualizer.type`` is a name only (optionally scoped): nothing resolves or calls it.
_VISUALIZER_TYPE = re.compile(r"(?:[A-Za-z_]\w*\.)?(?:[A-Za-z_]\w*)?Visualizer")


def build_loggers(visualizer: Mapping[str, Any] | None, log_dir: Path) -> list[Logger]:
    """Loggers for ``visualizer.vis_backends``, writing under ``log_dir/vis_data``.

    Args:
        visualizer: The ``visualizer`` section (``None``: one ``LocalVisBackend``, as MMEngine).
        log_dir: ``work_dir/<timestamp>``.
    """
    save_dir = str(Path(log_dir) / "vis_data")
    if visualizer is None:
        backends: Sequence[Any] = [dict(type="LocalVisBackend")]
    elif not isinstance(visualizer, Mapping):
        raise ConfigError(f"expected a dict, got {type(visualizer).__name__}", path="visualizer", fix="write visualizer = dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend')])")
    else:
        check_keys(visualizer, _VISUALIZER_KEYS, "visualizer")
        vtype = visualizer.get("type", "Visualizer")
        if not (isinstance(vtype, str) and _VISUALIZER_TYPE.fullmatch(vtype)):
            raise ConfigError(
                f"type {vtype!r} is not a visualizer class name", path="visualizer.type",
                expected="a name such as 'Visualizer', 'SegLocalVisualizer' or 'mmdet.DetLocalVisualizer' "
                "(never imported: its vis_backends become loggers, its drawing options go to the hook)",
                fix="write visualizer = dict(type='SegLocalVisualizer', vis_backends=[dict(type='LocalVisBackend')])",
            )
        backends = visualizer.get("vis_backends") or []
    if not isinstance(backends, (list, tuple)):
        backends = [backends]
    loggers = []
    for i, backend in enumerate(backends):
        path = f"visualizer.vis_backends[{i}]"
        if isinstance(backend, Mapping) and "save_dir" in backend:
            loggers.append(VISBACKENDS.build(backend, path=path))
        else:
            loggers.append(VISBACKENDS.build(backend, {"save_dir": save_dir}, path=path))
    return loggers
