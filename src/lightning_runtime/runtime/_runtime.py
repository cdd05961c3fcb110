"""Runtime: the one place where an MMEngine runtime config becomes a Lightning Trainer.

Read this table top to bottom to know what every top-level key does (details: ``docs/runtime.md``).

=====================================  =======================================================  ======================
Config key (MMEngine meaning)          Lightning                                                Where
=====================================  =======================================================  ======================
``train_cfg``                          ``max_steps``/``max_epochs`` + :class:`LoopControl`      ``runtime/_loops``
                                       (validation at MMEngine's iterations, stop at max_iters)
train data (iteration loop)            one epoch of ``max_iters`` batches over chained passes,  ``runtime/_data``
                                       seeded per-pass permutation, exact mid-pass resume
``val_cfg`` / ``test_cfg``             validation on/off (``limit_val_batches=0`` when None)    ``runtime/_loops``
``optim_wrapper`` (optimizer part)     :meth:`Runtime.configure_optimizers`                     ``optim``
``optim_wrapper`` (AMP/clip/accum)     ``precision``/MixedPrecision plugin, clipping,           ``runtime/_precision``
                                       ``accumulate_grad_batches``
``param_scheduler``                    one ``ParamSchedulerStack`` (``interval='step'``)        ``schedulers``
``auto_scale_lr``                      lr x (batch size x world size / base_batch_size)          here
``default_hooks`` / ``custom_hooks``   callbacks, MMEngine priority order                       ``hooks``
``launcher`` / ``env_cfg``             strategy, cluster environment, ``benchmark``             ``runtime/_env``
``randomness``                         ``seed_everything(seed [+ rank])``, ``deterministic``    ``runtime/_env``
``model_wrapper_cfg`` / ``sync_bn``    ``DDPStrategy(...)`` / ``sync_batchnorm``                 ``runtime/_env``
``compile``                            ``torch.compile(module, **compile)`` in :meth:`fit`      here
``work_dir``                           ``default_root_dir``; logs in ``work_dir/<timestamp>/``   here
``visualizer.vis_backends``            loggers under ``work_dir/<timestamp>/vis_data``          ``loggers``
``log_level`` / ``log_processor``      text log level / :class:`RunContext` for LoggerHook      here
``load_from`` / ``resume``             weights before fit / ``ckpt_path=``                      ``resume``, ``weights``
``default_scope``, ``custom_imports``  accepted / modules imported by name                      here
model and data keys                    untouched: the user's module and dataloaders use them    -
=====================================  =======================================================  ======================

Example:
    >>> rt = Runtime(dict(train_cfg=dict(type='IterBasedTrainLoop', max_iters=8, val_interval=4),
    ...                   work_dir='/tmp/lr_doctest'))
    >>> kw = rt.trainer_kwargs()
    >>> kw['max_steps'], kw['num_sanity_val_steps'], kw['default_root_dir']
    (8, 0, '/tmp/lr_doctest')
"""

from __future__ import annotations

import inspect
import logging
import os
import re
import time
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypedDict

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.utilities.types import OptimizerConfig, OptimizerLRSchedulerConfig

from lightning_runtime.runtime import _lightning_compat as compat
from lightning_runtime.runtime._context import RunContext
from lightning_runtime.errors import ConfigError, check_int, check_keys, check_mapping, did_you_mean, locate_error
from lightning_runtime.evaluation._build import check_evaluator
from lightning_runtime.config._legacy import check_legacy_keys
from lightning_runtime.runtime._data import TrainDataControl, has_mmengine_sampler
from lightning_runtime.runtime._env import apply_randomness, plan_env
from lightning_runtime.runtime._loops import LoopControl, check_eval_cfg, loop_trainer_kwargs, parse_train_cfg
from lightning_runtime.runtime._overlaps import check_overlaps
from lightning_runtime.runtime._precision import plan_precision
from lightning_runtime.runtime._config_dump import ConfigDump, config_dump_path
from lightning_runtime.runtime._run_log import RunLogFile
from lightning_runtime.checkpoint._lock import work_dir_lock
from lightning_runtime.checkpoint._resume import check_checkpoint_path, check_optimizer_state, prepare_checkpoints

__all__ = ["Runtime"]


class _ScheduleBounds(TypedDict):
    """``build_scheduler``'s ``max_iters`` / ``max_epochs`` arguments (see ``Runtime._schedule_bounds``)."""

    max_iters: int | None
    max_epochs: int | None

#: The top-level config keys that :class:`Runtime` reads, each with the module that translates it: the
#: table above as data (``tests/test_docs.py`` checks it against ``docs/runtime.md`` and against the keys
#: a real run reads). Legacy 0.x keys are ``lightning_runtime.config.LEGACY_KEYS``.
TRANSLATION_TABLE: dict[str, str] = {
    "train_cfg": "runtime/_loops",
    "val_cfg": "runtime/_loops",
    "test_cfg": "runtime/_loops",
    "val_dataloader": "runtime/_loops",
    "val_evaluator": "evaluation",
    "test_evaluator": "evaluation",
    "optim_wrapper": "optim, runtime/_precision",
    "param_scheduler": "schedulers",
    "auto_scale_lr": "runtime/_runtime",
    "default_hooks": "hooks",
    "custom_hooks": "hooks",
    "launcher": "runtime/_env",
    "env_cfg": "runtime/_env",
    "randomness": "runtime/_env",
    "model_wrapper_cfg": "runtime/_env",
    "sync_bn": "runtime/_env",
    "compile": "runtime/_runtime",
    "work_dir": "runtime/_runtime",
    "visualizer": "runtime/_loggers",
    "log_level": "runtime/_runtime",
    "log_processor": "runtime/_runtime",
    "load_from": "checkpoint",
    "resume": "checkpoint",
    "default_scope": "registry",
    "custom_imports": "registry",
    "trainer": "runtime/_runtime",
}

log = logging.getLogger("lightning_runtime")

_LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG", "NOTSET")


def _as_config(cfg: Any) -> Any:
    if isinstance(cfg, (str, os.PathLike)):
        from lightning_runtime.config._loader import load_config

        return load_config(cfg)
    if isinstance(cfg, Mapping):
        if hasattr(cfg, "filename"):
            return cfg
        from lightning_runtime.config._loader import load_config

        return load_config(dict(cfg))
    raise ConfigError(f"expected a config (dict or file path), got {type(cfg).__name__}",
                      fix="pass load_config('my_config.py'), a dict, or a config file path")


class _OwnOptimizerCheck(Callback):
    """Say once when a module's own ``configure_optimizers`` wins over ``optim_wrapper``/``param_scheduler``.

    Lightning has called ``configure_optimizers`` by ``on_fit_start``: if the module overrides it
    and never called :meth:`Runtime.configure_optimizers`, the config's optimizer settings
    (``paramwise_cfg``, ``custom_keys``, layer decay) and schedule are not applied.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        from lightning.pytorch.utilities import rank_zero_warn
        from lightning.pytorch.utilities.model_helpers import is_overridden

        if self.runtime._optimizers_built or not is_overridden("configure_optimizers", pl_module):
            return
        ignored = ["optim_wrapper"] + (["param_scheduler"] if self.runtime.cfg.get("param_scheduler") else [])
        rank_zero_warn(
            f"{type(pl_module).__name__}.configure_optimizers does not call rt.configure_optimizers(self): its own "
            f"optimizer is used and the config's {' and '.join(ignored)} (paramwise_cfg, custom_keys, layer decay, "
            "the schedule) are not applied. Return rt.configure_optimizers(self) from it to apply them, or remove "
            f"{' and '.join(ignored)} from the config")


def _epoch_length_of(trainer: Any) -> int | None:
    """Training batches per epoch (``len(train_dataloader)``: one pass, per rank), or ``None`` if unknown.

    Called from ``configure_optimizers``, before Lightning has set up the training data: asks the
    fit loop to set it up now (Lightning does not repeat it afterwards).
    """
    if trainer is None:
        return None
    try:
        if trainer.state.fn != "fit":
            return None
        trainer.fit_loop.setup_data()
        n = trainer.num_training_batches
        loader = compat.train_combined_loader(trainer)
        if callable(getattr(loader, "pass_length", None)):
            # runtime/_data's wrapper: Lightning's epoch is max_iters long, MMEngine's epoch_length
            # is one pass of the train dataloader (len(runner.train_dataloader))
            n = loader.pass_length()
    except Exception as exc:  # a datamodule that cannot be set up yet: leave it unknown
        log.debug("epoch length unknown: %s", exc)
        return None
    if n is None or n == float("inf"):
        return None
    return int(n)


def _auto_scale_ratio(auto_scale_lr: Mapping[str, Any] | None, trainer: Any) -> float | None:
    """MMEngine's ``Runner.scale_lr``: ``world_size * batch_size / base_batch_size`` when enabled."""
    if not auto_scale_lr or not auto_scale_lr.get("enable", False):
        return None
    if trainer is None:
        raise ConfigError(
            "auto_scale_lr needs the real batch size, known only inside a Trainer",
            path="auto_scale_lr",
            fix="call rt.configure_optimizers(self) from LightningModule.configure_optimizers",
        )
    trainer.fit_loop.setup_data()
    loader = trainer.train_dataloader
    batch_size = getattr(loader, "batch_size", None)
    if batch_size is None:
        loaders = getattr(loader, "flattened", None) or (list(loader.values()) if isinstance(loader, Mapping) else [])
        batch_size = getattr(loaders[0], "batch_size", None) if loaders else None
    if batch_size is None:
        raise ConfigError("cannot read the training batch size for auto_scale_lr", path="auto_scale_lr",
                          fix="use a torch DataLoader with batch_size set, or disable auto_scale_lr")
    ratio = float(trainer.world_size * batch_size) / float(auto_scale_lr["base_batch_size"])
    log.info("LR is set based on batch size of %s and the current batch size is %s. Scaling the original LR by %s.",
             auto_scale_lr["base_batch_size"], trainer.world_size * batch_size, ratio)
    return ratio


_LOG_PROCESSOR_KEYS = ("type", "window_size", "by_epoch", "custom_cfg", "num_digits", "log_with_hierarchy",
                       "mean_pattern")


def _check_log_processor(value: Any) -> dict[str, Any]:
    """``log_processor`` as a plain dict, every argument checked (the LoggerHook builds it later)."""
    path = "log_processor"
    if value is None:
        return {}
    log_processor = dict(check_mapping(value, path, example="dict(by_epoch=False, window_size=50)"))
    check_keys(log_processor, _LOG_PROCESSOR_KEYS, path)
    if "type" in log_processor and str(log_processor["type"]).rpartition(".")[2] != "LogProcessor":
        raise ConfigError(f"unknown log processor {log_processor['type']!r}", path=f"{path}.type",
                          fix="use type='LogProcessor' (custom log processors are not supported) or remove type")
    for key in ("by_epoch", "log_with_hierarchy"):
        if key in log_processor and not isinstance(log_processor[key], bool):
            raise ConfigError(f"must be True or False, got {log_processor[key]!r}", path=f"{path}.{key}",
                              fix=f"write {key}=True or {key}=False")
    if "window_size" in log_processor:
        check_int(log_processor["window_size"], f"{path}.window_size", minimum=1)
        log_processor["window_size"] = int(log_processor["window_size"])
    if "num_digits" in log_processor:
        digits = check_int(log_processor["num_digits"], f"{path}.num_digits", minimum=0)
        if digits > 20:
            raise ConfigError(f"must be at most 20, got {digits}", path=f"{path}.num_digits",
                              fix="use num_digits=4 (MMEngine's default)")
        log_processor["num_digits"] = digits
    if "mean_pattern" in log_processor:
        pattern = log_processor["mean_pattern"]
        if not isinstance(pattern, str):
            raise ConfigError(f"must be a regular expression (a string), got {pattern!r}", path=f"{path}.mean_pattern",
                              fix=r"write mean_pattern=r'.*(loss|time|data_time|grad_norm).*' or remove it")
        try:
            re.compile(pattern)
        except (re.error, RecursionError, OverflowError) as exc:
            raise ConfigError(f"is not a valid regular expression: {exc}", path=f"{path}.mean_pattern",
                              fix="correct the pattern (Python re syntax)") from None
    custom = log_processor.get("custom_cfg")
    if custom is not None and not isinstance(custom, (list, tuple)):
        raise ConfigError(f"must be a list of dicts, got {type(custom).__name__}", path=f"{path}.custom_cfg",
                          fix="write custom_cfg=[dict(data_src='loss', window_size='global', method_name='mean')]")
    from lightning_runtime.runtime._log_processor import LogProcessor

    LogProcessor(**{k: v for k, v in log_processor.items() if k != "type"})  # its own checks of custom_cfg
    return log_processor


def _check_work_dir(value: Any) -> Path:
    """``work_dir`` as a Path that can be created (or exists as a directory) and written.

    Checked without creating anything: the closest existing ancestor must be a writable directory.
    """
    example = "work_dir='./work_dirs/my_run'"
    if isinstance(value, bytes) or not isinstance(value, (str, os.PathLike)):
        raise ConfigError(f"must be a directory path (a string), got {type(value).__name__} {value!r}",
                          path="work_dir", fix=f"write {example}")
    text = os.fspath(value)
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"must be a directory path, got {text!r}", path="work_dir", fix=f"write {example}")
    if "\x00" in text:
        raise ConfigError("holds a NUL character, which no file system accepts", path="work_dir",
                          fix=f"remove the \\x00 from the path, e.g. {example}")
    work_dir = Path(text)
    probe = work_dir
    try:
        while not probe.exists():
            if probe.parent == probe:
                break
            probe = probe.parent
        is_dir = probe.is_dir()
    except OSError as exc:  # a name too long, a loop of links, ...
        raise ConfigError(f"cannot be used as a directory: {exc.strerror or exc}", path="work_dir",
                          fix=f"choose another directory, e.g. {example}") from None
    if probe == work_dir and not is_dir:
        raise ConfigError(f"{text!r} exists and is not a directory", path="work_dir",
                          fix="choose a directory path (this one is a file), or move the file away")
    if not is_dir:
        raise ConfigError(f"cannot create {text!r}: {str(probe)!r} is a file, not a directory", path="work_dir",
                          fix="choose a path whose parents are directories")
    if not os.access(probe, os.W_OK | os.X_OK):
        what = "is not writable" if probe == work_dir else f"cannot be created: {str(probe)!r} is not writable"
        raise ConfigError(f"{text!r} {what} by this user", path="work_dir",
                          fix="choose a directory you can write to (--work_dir=DIR), or fix its permissions")
    return work_dir


def _trainer_arguments() -> list[str]:
    params = inspect.signature(pl.Trainer.__init__).parameters.values()
    return [p.name for p in params if p.name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def check_trainer_kwargs(kwargs: Mapping[str, Any], path: str = "trainer") -> None:
    """Raise a did-you-mean :class:`ConfigError` for a key that ``L.Trainer`` does not take."""
    accepted = _trainer_arguments()
    for key in kwargs:
        if key not in accepted:
            raise ConfigError(
                f"L.Trainer has no argument {key!r}",
                path=f"{path}.{key}",
                candidates=did_you_mean(str(key), accepted),
                fix=f"remove {key!r} or correct its spelling (see lightning.pytorch.Trainer's arguments)",
            )


def _check_epoch_entries_in_iter_loop(sched_cfg: Any, loop: Any) -> None:
    """An epoch-counted scheduler under ``IterBasedTrainLoop`` is a mistake: refuse it.

    MMEngine's iteration loop runs one endless epoch, so such an entry never steps there (the lr
    silently stays at its start value). Rather than reproduce that or guess, say how to fix it.
    """
    if loop is None or loop.by_epoch or not isinstance(sched_cfg, (Mapping, list, tuple)):
        return  # (not a list: build_scheduler says what is wrong)
    entries = [sched_cfg] if isinstance(sched_cfg, Mapping) else list(sched_cfg)
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or "ReduceOnPlateau" in str(entry.get("type", "")):
            continue
        if entry.get("by_epoch", True) and not entry.get("convert_to_iter_based", False):
            given = "by_epoch=True" if "by_epoch" in entry else "no by_epoch (MMEngine's default is True)"
            raise ConfigError(
                f"{entry.get('type')} counts epochs ({given}) but train_cfg is an IterBasedTrainLoop, "
                "whose single endless epoch never ends: MMEngine never steps this scheduler",
                path=f"param_scheduler[{i}].by_epoch" if not isinstance(sched_cfg, Mapping) else "param_scheduler.by_epoch",
                fix="add by_epoch=False and give begin/end in iterations (as MMSeg's schedules do), "
                "or use an EpochBasedTrainLoop",
            )


class Runtime:
    """Translate an MMEngine runtime config into Lightning Trainer arguments, callbacks and optimizers.

    Args:
        cfg: A loaded config (``load_config``), a plain dict, or a config file path.

    Attributes:
        cfg: The config.
        ctx: The :class:`~lightning_runtime.runtime._context.RunContext` shared with the callbacks.
        seed: The seed this process used (``None`` without ``randomness``).
    """

    def __init__(self, cfg: Any) -> None:
        self.cfg = _as_config(cfg)
        self._optimizers_built = False  # set by configure_optimizers; read by _OwnOptimizerCheck
        try:
            self._translate(self.cfg)
        except ConfigError as err:
            raise locate_error(err, self.cfg) from None

    def _translate(self, cfg: Any) -> None:
        check_legacy_keys(cfg)
        custom_imports = cfg.get("custom_imports")
        if custom_imports:
            from lightning_runtime.registry import import_modules

            check_keys(custom_imports, ("imports", "allow_failed_imports"), "custom_imports")
            import_modules(custom_imports.get("imports"), custom_imports.get("allow_failed_imports", False))
        # train_cfg / val_cfg / test_cfg
        self.train_loop = parse_train_cfg(cfg.get("train_cfg"))
        self.val_fp16 = check_eval_cfg("val_cfg", cfg.get("val_cfg"))
        self.test_fp16 = check_eval_cfg("test_cfg", cfg.get("test_cfg"))
        for key in ("val_evaluator", "test_evaluator"):  # types checked now; the module builds them
            check_evaluator(cfg.get(key), path=key)
        from lightning_runtime.callbacks.checkpoint import check_checkpoint_hook_cfg

        check_checkpoint_hook_cfg(cfg)  # filename_tmpl now, not at the first save
        self.validate_enabled = cfg.get("val_cfg") is not None and not ("val_dataloader" in cfg and cfg["val_dataloader"] is None)
        # launcher / env_cfg / randomness / model_wrapper_cfg / sync_bn (seeding happens now, as
        # MMEngine seeds in Runner.__init__ before the model is built)
        self._env_kwargs = plan_env(cfg)
        self.launcher = cfg.get("launcher", "none") or "none"
        self.seed = apply_randomness(cfg.get("randomness"), self.launcher)
        # optim_wrapper (training-loop half)
        accelerator = "cuda" if self._env_kwargs.get("accelerator") == "gpu" else "cpu"
        from lightning_runtime.optim import parse_optim_wrapper

        wrapper_cfg = cfg.get("optim_wrapper")
        spec = parse_optim_wrapper(wrapper_cfg) if wrapper_cfg is not None else None  # validated once, here
        self.precision = plan_precision(spec, accelerator=accelerator)
        # small sections
        auto = cfg.get("auto_scale_lr")
        if auto is not None:
            check_keys(auto, ("base_batch_size", "enable"), "auto_scale_lr",
                       example="dict(enable=False, base_batch_size=16)")
            if auto.get("enable") and "base_batch_size" not in auto:
                raise ConfigError("missing 'base_batch_size'", path="auto_scale_lr", fix="add base_batch_size=...")
            if "base_batch_size" in auto:
                check_int(auto["base_batch_size"], "auto_scale_lr.base_batch_size", minimum=1)
        log_level = str(cfg.get("log_level", "INFO")).upper()
        if log_level not in _LOG_LEVELS:
            raise ConfigError(f"unknown log_level {cfg.get('log_level')!r}", path="log_level",
                              expected=", ".join(_LOG_LEVELS), candidates=did_you_mean(log_level, _LOG_LEVELS),
                              fix="use one of the levels above, e.g. log_level='INFO'")
        self.log_level = log_level
        log_processor = _check_log_processor(cfg.get("log_processor"))
        if cfg.get("default_hooks") is not None:
            check_mapping(cfg["default_hooks"], "default_hooks", example="dict(logger=dict(type='LoggerHook', interval=50))")
        trainer_section = cfg.get("trainer")
        if trainer_section is not None:
            check_trainer_kwargs(check_mapping(trainer_section, "trainer", example="dict(max_epochs=1)"))
        # work_dir: MMEngine tools default to ./work_dirs/<config stem>
        work_dir = cfg.get("work_dir")
        if work_dir is None:
            filename = getattr(cfg, "filename", None)
            stem = Path(filename).stem if filename else "run"
            work_dir = os.path.join("work_dirs", stem)
        timestamp = time.strftime("%Y%m%d_%H%M%S", time.localtime())
        self.ctx = RunContext(
            cfg=cfg,
            work_dir=_check_work_dir(work_dir),
            timestamp=timestamp,
            train_loop=self.train_loop,
            log_processor=log_processor,
            accumulative_counts=self.precision.accumulative_counts,
            seed=self.seed,
            launcher=self.launcher,
            log_level=log_level,
        )
        self.ctx.run_log_file = str(self.ctx.log_dir / f"{timestamp}.log")
        self._loop_control = (LoopControl(self.train_loop, accumulative_counts=self.precision.accumulative_counts,
                                          ctx=self.ctx)
                              if self.train_loop is not None else None)
        # The train data read as MMEngine's loops read it (runtime/_data): chained passes for an
        # iteration loop, per-pass seeded permutations, exact mid-pass resume. MMEngine seeds its
        # sampler with randomness.seed (a synchronized random seed when diff_rank_seed or no seed).
        randomness = cfg.get("randomness") or {}  # checked by plan_env
        sampler_seed = None if randomness.get("diff_rank_seed") else randomness.get("seed")
        self._data_control = TrainDataControl(self.train_loop, seed=sampler_seed) if self.train_loop is not None else None
        self._check_optim_and_schedulers()

    def _check_optim_and_schedulers(self) -> None:
        """Build the optimizer and the scheduler stack once on a stand-in parameter.

        Every type, argument and window of ``optim_wrapper.optimizer`` and ``param_scheduler`` is
        thereby checked when the Runtime is created, so a typo stops the run before the Trainer
        exists and before anything is written to ``work_dir``. (``paramwise_cfg`` needs the real
        model and is checked in :meth:`configure_optimizers`.)
        """
        wrapper = self.cfg.get("optim_wrapper")
        if wrapper is None:
            return
        import warnings

        from lightning_runtime.optim import build_stand_in_optimizer
        from lightning_runtime.schedulers import build_scheduler

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the real build warns, once
            optimizer = build_stand_in_optimizer(wrapper)
            sched_cfg = self.cfg.get("param_scheduler")
            not_a_list = sched_cfg is not None and not isinstance(sched_cfg, (Mapping, list, tuple))
            if (sched_cfg or not_a_list) and not self._scheduler_hook_removed():
                _check_epoch_entries_in_iter_loop(sched_cfg, self.train_loop)
                # epoch_length is unknown until the dataloader exists; 1 stands in for the check
                build_scheduler(optimizer, sched_cfg, epoch_length=1, **self._schedule_bounds(1))

    def _schedule_bounds(self, epoch_length: int | None) -> _ScheduleBounds:
        """``max_iters``/``max_epochs`` for ``build_scheduler``: what MMEngine's Runner fills a missing
        ``end`` with (an epoch loop's ``max_iters`` is ``max_epochs x epoch_length``)."""
        loop = self.train_loop
        max_iters = loop.max_iters if loop and not loop.by_epoch else None
        max_epochs = loop.max_epochs if loop and loop.by_epoch else None
        if max_iters is None and max_epochs is not None and epoch_length:
            max_iters = max_epochs * epoch_length
        return {"max_iters": max_iters, "max_epochs": max_epochs}

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], overrides: Mapping[str, Any] | None = None) -> Runtime:
        """Load ``path`` (``.py``/``.yaml``/``.json``) with dotted ``overrides`` and build a Runtime."""
        from lightning_runtime.config._loader import load_config

        return cls(load_config(path, overrides))

    # ------------------------------------------------------------------ the Trainer
    def trainer_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``L.Trainer`` (callbacks excluded: see :meth:`callbacks`)."""
        kwargs: dict[str, Any] = {}
        kwargs.update(loop_trainer_kwargs(self.train_loop, validate=self.validate_enabled,
                                          accumulative_counts=self.precision.accumulative_counts))
        kwargs.update(self.precision.trainer_kwargs)
        kwargs.update(self._env_kwargs)
        kwargs["default_root_dir"] = str(self.ctx.work_dir)
        # Checkpoints are the CheckpointHook's (default_hooks.checkpoint); removing that hook
        # means no checkpoints, as in MMEngine, so Lightning's implicit ModelCheckpoint is off.
        kwargs["enable_checkpointing"] = False
        # Scalars logged with self.log reach the loggers at the LoggerHook's interval.
        kwargs["log_every_n_steps"] = self._logger_interval()
        from lightning_runtime.runtime._loggers import build_loggers

        kwargs["logger"] = build_loggers(self.cfg.get("visualizer"), self.ctx.log_dir)
        plugins = list(self.precision.plugins)
        from lightning_runtime.checkpoint._io import AtomicCheckpointIO

        plugins.append(AtomicCheckpointIO())
        if plugins:
            kwargs["plugins"] = plugins
        return kwargs

    def _logger_interval(self) -> int:
        hooks = self.cfg.get("default_hooks") or {}
        logger = hooks.get("logger") if isinstance(hooks, Mapping) else None
        # (a logger entry of the wrong kind is reported by the hook builder, with its path)
        interval = logger.get("interval", 10) if isinstance(logger, Mapping) else 10
        return interval if isinstance(interval, int) and interval > 0 else 10

    def callbacks(self) -> list[Callback]:
        """The hook callbacks (``default_hooks`` + ``custom_hooks``, by priority) and the runtime's own."""
        from lightning_runtime.hooks import build_callbacks

        # The run log comes first so that its buffer sees every callback's setup messages.
        run_log = RunLogFile(self.ctx.run_log_file or "", self.log_level)
        out: list[Callback] = [run_log, ConfigDump(self.cfg, config_dump_path(self.cfg, self.ctx.work_dir,
                                                                             self.ctx.timestamp))]
        with run_log.capture():  # the hook-order table goes into the run's .log too, as MMEngine's
            out.extend(build_callbacks(self.ctx))
        if self._loop_control is not None:
            out.append(self._loop_control)
        if self._data_control is not None:
            out.append(self._data_control)
        out.extend(self.precision.callbacks)
        if self.cfg.get("optim_wrapper") is not None:
            out.append(_OwnOptimizerCheck(self))
        return out

    def build_trainer(self, **overrides: Any) -> pl.Trainer:
        """``L.Trainer(**trainer_kwargs(), callbacks=callbacks(), **overrides)``; ``callbacks=`` adds."""
        from lightning_runtime.hooks._dispatch import NoOpProfiler, dispatch_hooks

        check_trainer_kwargs(overrides)
        kwargs = self.trainer_kwargs()
        check_overlaps(kwargs, {k: v for k, v in overrides.items() if k != "callbacks"})
        # consecutive hook callbacks are called through one dispatcher (hooks/_dispatch: less per-iteration
        # overhead in Lightning's callback dispatch; the same hook points, in the same order)
        kwargs["callbacks"] = dispatch_hooks(self.callbacks()) + list(overrides.pop("callbacks", None) or [])
        kwargs["profiler"] = NoOpProfiler()  # Lightning's default (records nothing), cheaper; a given profiler wins
        kwargs.update(overrides)
        try:
            return pl.Trainer(**kwargs)
        except ConfigError:
            raise
        except (TypeError, ValueError, MisconfigurationException) as exc:  # a value of the wrong kind
            given = ", ".join(sorted(overrides)) or "none"
            raise ConfigError(
                f"L.Trainer refused its arguments: {exc}", path="trainer",
                expected=f"values of the types lightning.pytorch.Trainer documents (trainer: keys given: {given})",
                fix="correct the trainer: value the message names (e.g. default_root_dir='work_dirs/x', "
                "devices=1); MMEngine sections (work_dir, train_cfg, ...) set the rest",
            ) from None

    # ------------------------------------------------------------------ optimizers
    def _scheduler_hook_removed(self) -> bool:
        hooks = self.cfg.get("default_hooks") or {}
        return isinstance(hooks, Mapping) and "param_scheduler" in hooks and hooks["param_scheduler"] is None

    def configure_optimizers(self, module: pl.LightningModule) -> OptimizerConfig | OptimizerLRSchedulerConfig:
        """Build the optimizer (``optim_wrapper``) and scheduler stack (``param_scheduler``).

        Returns Lightning's dict form: ``{'optimizer': opt}`` or ``{'optimizer': opt,
        'lr_scheduler': {'scheduler': stack, 'interval': 'step', 'frequency': 1}}``.
        """
        from lightning_runtime.optim import build_optimizer
        from lightning_runtime.optim._builder import check_optimizer_contract

        if self.cfg.get("optim_wrapper") is None:
            raise ConfigError("missing optim_wrapper", path="optim_wrapper",
                              fix="add optim_wrapper=dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01))")
        optimizer = build_optimizer(module, self.cfg["optim_wrapper"])
        self._optimizers_built = True
        # what the schedule, the log lines and Lightning's step need (a bare build_optimizer does not)
        check_optimizer_contract(optimizer, path="optim_wrapper.optimizer")
        summary = self.ctx.resume_checkpoint
        if summary:  # the resume file's optimizer state fits this optimizer, before Lightning loads it
            check_optimizer_state(summary["optimizer_states"], [optimizer], summary["path"], key=summary["key"])
            self.ctx.resume_optimizer_checked = True
        trainer = compat.attached_trainer(module)
        ratio = _auto_scale_ratio(self.cfg.get("auto_scale_lr"), trainer)
        if ratio is not None:
            for group in optimizer.param_groups:
                group["lr"] = group["lr"] * ratio
            self.ctx.auto_scale_lr_ratio = ratio
        sched_cfg = self.cfg.get("param_scheduler")
        if not sched_cfg or self._scheduler_hook_removed():
            return {"optimizer": optimizer}
        from lightning_runtime.schedulers import build_scheduler

        epoch_length = _epoch_length_of(trainer)
        stack = build_scheduler(optimizer, sched_cfg, epoch_length=epoch_length,
                                **self._schedule_bounds(epoch_length))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": stack, "interval": "step", "frequency": 1}}

    # ------------------------------------------------------------------ running
    def attach(self, module: pl.LightningModule) -> pl.LightningModule:
        """Give ``module`` this runtime's optimizers, if it does not build its own.

        * A module that does not override ``configure_optimizers`` gets one that returns
          ``self.configure_optimizers(module)`` (bound to the instance; the class is untouched).
        * A module with an attribute ``runtime`` set to ``None`` gets ``module.runtime = self``
          (the demo's ``SegModule`` reads it in its own ``configure_optimizers``).

        :meth:`fit`, :meth:`validate` and :meth:`test` call this; call it yourself when you drive
        ``trainer.fit`` by hand.
        """
        from lightning.pytorch.utilities.model_helpers import is_overridden

        if not is_overridden("configure_optimizers", module):
            runtime = self

            def configure_optimizers(self_module: pl.LightningModule) -> OptimizerConfig | OptimizerLRSchedulerConfig:
                return runtime.configure_optimizers(self_module)

            module.configure_optimizers = types.MethodType(configure_optimizers, module)  # type: ignore[method-assign]
        if hasattr(module, "runtime") and getattr(module, "runtime") is None:
            setattr(module, "runtime", self)  # an attribute of the user's class, not of LightningModule
        return module

    def _check_param_groups(self, module: pl.LightningModule) -> None:
        """Build the optimizer on the real model once, before the Trainer exists.

        ``paramwise_cfg`` and ``constructor`` need the model's parameter names, which the up-front
        check of ``__init__`` does not have; building here makes a mistake there stop the run
        before anything is written to ``work_dir``. A module with its own
        ``configure_optimizers`` is checked too (it calls :meth:`configure_optimizers` inside
        ``trainer.fit``, after the loggers created their directories), whenever ``optim_wrapper``
        has a ``paramwise_cfg`` or ``constructor``: the only parts the stand-in check of
        ``__init__`` leaves out. Warnings are left to the real build (once).
        """
        from lightning.pytorch.utilities.model_helpers import is_overridden

        wrapper = self.cfg.get("optim_wrapper")
        if wrapper is None:
            return
        if is_overridden("configure_optimizers", module) and not (
            isinstance(wrapper, Mapping) and ("paramwise_cfg" in wrapper or "constructor" in wrapper)
        ):
            return
        import warnings

        from lightning_runtime.optim import build_optimizer

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            build_optimizer(module, wrapper)

    def _prepare(self, module: pl.LightningModule, dataloaders: list[Any]) -> tuple[Any, dict[str, Any]]:
        self._check_param_groups(module)  # before attach(), which installs configure_optimizers
        self.attach(module)
        overrides: dict[str, Any] = {}
        if any(has_mmengine_sampler(dl) for dl in dataloaders if dl is not None):
            overrides["use_distributed_sampler"] = False
        compile_cfg = self.cfg.get("compile")
        if compile_cfg:
            kwargs = dict(compile_cfg) if isinstance(compile_cfg, Mapping) else {}
            return torch.compile(module, **kwargs), overrides  # an OptimizedModule: Lightning unwraps it
        return module, overrides

    def fit(
        self,
        module: pl.LightningModule,
        train_dataloaders: Any = None,
        val_dataloaders: Any = None,
        datamodule: Any = None,
        **trainer_overrides: Any,
    ) -> pl.Trainer:
        """Train as MMEngine's ``runner.train()``: ``load_from`` weights, then resume per ``resume``.

        ``resume=True`` with no checkpoint in ``work_dir`` yet starts fresh (as MMEngine).
        Returns the Trainer.
        """
        # resume/load_from resolved, load_from applied, the resume file read and checked: before
        # anything is written (checkpoint/_resume.prepare_checkpoints)
        resume_from, load_from, summary = prepare_checkpoints(self.cfg, self.ctx.work_dir, module)
        self.ctx.resume_from, self.ctx.load_from, self.ctx.resume_checkpoint = resume_from, load_from, summary
        self.ctx.resume_optimizer_checked = False
        module, overrides = self._prepare(module, [train_dataloaders, val_dataloaders])
        overrides.update(trainer_overrides)
        if self._data_control is not None:
            # use_distributed_sampler=False given by the caller: no sharding of the train sampler either
            self._data_control.shard = False if trainer_overrides.get("use_distributed_sampler") is False else None
        trainer = self.build_trainer(**overrides)
        with work_dir_lock(self.ctx.work_dir):  # one training run per work_dir
            trainer.fit(module, train_dataloaders=train_dataloaders, val_dataloaders=val_dataloaders,
                        datamodule=datamodule, ckpt_path=resume_from)
        return trainer

    def validate(self, module: pl.LightningModule, dataloaders: Any = None, datamodule: Any = None,
                 ckpt_path: str | None = None, **trainer_overrides: Any) -> list[Mapping[str, float]]:
        """Run the validation loop once (``runner.val()``); returns Lightning's metric dicts."""
        if ckpt_path not in (None, "best", "last", "hpc", "registry"):
            check_checkpoint_path(ckpt_path, module, "ckpt_path")
        module, overrides = self._prepare(module, [dataloaders])
        trainer = self.build_trainer(**{**overrides, **trainer_overrides})
        return trainer.validate(module, dataloaders=dataloaders, datamodule=datamodule, ckpt_path=ckpt_path)

    def test(self, module: pl.LightningModule, dataloaders: Any = None, datamodule: Any = None,
             ckpt_path: str | None = None, **trainer_overrides: Any) -> list[Mapping[str, float]]:
        """Run the test loop once (``runner.test()``); returns Lightning's metric dicts."""
        if ckpt_path not in (None, "best", "last", "hpc", "registry"):
            check_checkpoint_path(ckpt_path, module, "ckpt_path")
        module, overrides = self._prepare(module, [dataloaders])
        trainer = self.build_trainer(**{**overrides, **trainer_overrides})
        return trainer.test(module, dataloaders=dataloaders, datamodule=datamodule, ckpt_path=ckpt_path)
