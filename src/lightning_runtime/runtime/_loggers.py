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
with MMEngine's arguments returns the Lightning logger. Without a ``visualizer`` the runtime uses
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
]


def _require(package: str, backend: str) -> None:
    if importlib.util.find_spec(package) is None:
        raise ConfigError(
            f"{backend} needs the '{package}' package, which is not installed",
            path="visualizer.vis_backends",
            fix=f"pip install {package}  (or remove {backend} from visualizer.vis_backends)",
        )


@VISBACKENDS.register_module()
def LocalVisBackend(save_dir: str, img_save_dir: str = "vis_image", config_save_file: str = "config.py",
                    scalar_save_file: str = "scalars.json") -> Logger:
    """MMEngine's local backend: scalars as CSV in ``save_dir`` (``work_dir/<ts>/vis_data``)."""
    from lightning.pytorch.loggers import CSVLogger

    return CSVLogger(save_dir=str(Path(save_dir).parent), name=Path(save_dir).name, version="")


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
    """MMEngine's W&B backend: ``init_kwargs`` go to ``wandb.init`` through ``WandbLogger``."""
    _require("wandb", "WandbVisBackend")
    from lightning.pytorch.loggers import WandbLogger

    return WandbLogger(save_dir=save_dir, **dict(init_kwargs or {}))


@VISBACKENDS.register_module()
def MLflowVisBackend(save_dir: str, exp_name: str | None = None, run_name: str | None = None,
                     tags: Mapping[str, Any] | None = None, params: Mapping[str, Any] | None = None,
                     tracking_uri: str | None = None, artifact_suffix: Sequence[str] = (".json", ".log", ".py", "yaml"),
                     tracked_config_keys: Any = None, artifact_location: str | None = None) -> Logger:
    """MMEngine's MLflow backend (``exp_name`` -> ``experiment_name``)."""
    _require("mlflow", "MLflowVisBackend")
    from lightning.pytorch.loggers import MLFlowLogger

    kwargs: dict[str, Any] = {"experiment_name": exp_name or "lightning_logs", "run_name": run_name,
                              "tags": dict(tags) if tags else None, "save_dir": save_dir}
    if tracking_uri:
        kwargs["tracking_uri"] = tracking_uri
    if artifact_location:
        kwargs["artifact_location"] = artifact_location
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
