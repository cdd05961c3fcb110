"""MMEngine-style config files as data: ``.py`` read with ``ast`` (never run), YAML/JSON, ``_base_``.

:func:`load_config` reads a config file (or a dict) the way ``mmengine.Config.fromfile`` does
(``_base_`` merge with ``_delete_``, ``{{_base_.x}}`` and ``{{fileDirname}}`` substitution,
dotted overrides) into a :class:`Config`: plain data with attribute access and ``file:line`` of every
value. Every path is bounded in time and memory (:class:`Limits`); MMCV 0.x keys are refused with
their 1.x form (:func:`check_legacy_keys`). No Lightning imports here.

Example:
    >>> from lightning_runtime.config import load_config
    >>> cfg = load_config(dict(train_cfg=dict(type='IterBasedTrainLoop', max_iters=100)))
    >>> cfg.train_cfg.max_iters
    100
"""

from lightning_runtime.config._format import format_config
from lightning_runtime.config._legacy import LEGACY_KEYS, check_legacy_keys
from lightning_runtime.config._loader import Config, ConfigDict, load_config, merge_configs
from lightning_runtime.config._limits import Limits

__all__ = ["load_config", "Config", "ConfigDict", "merge_configs", "Limits", "format_config",
           "check_legacy_keys", "LEGACY_KEYS"]
