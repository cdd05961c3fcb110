"""``CheckpointHook``: MMEngine's checkpoint hook as a Lightning ``Callback``.

Same arguments, same moments, same file names as ``mmengine/hooks/checkpoint_hook.py``:

* ``by_epoch=False``: after training iteration ``i`` (0-based) when ``(i + 1 - save_begin) %
  interval == 0``, or at the last iteration with ``save_last``: ``iter_{i+1}.pth``.
* ``by_epoch=True``: after training epoch ``e`` likewise: ``epoch_{e+1}.pth``.
* after each validation, for every ``save_best`` metric that improved:
  ``best_{metric}_{iter_N|epoch_N}.pth`` (the previous best file is deleted).
* ``work_dir/last_checkpoint`` holds the absolute path of the latest regular checkpoint; it is
  rewritten only once that file is complete (writes are atomic, see ``checkpoint/_io``).

The hook's state in a checkpoint (best files, files still to delete, the last checkpoint) names
files *relative to the checkpoint directory* (plain file names). On resume every name is checked
(:func:`~lightning_runtime.checkpoint._io.confined_path` and the hook's own naming pattern): an
absolute path elsewhere, ``..``, a symlink resolving outside, or a name this hook would never
write is refused with a warning naming the entry, and ignored. A resumed run therefore never
deletes, loads or publishes a file outside its own checkpoint directory, also when the work_dir
was copied from another run (``cp -r run1 run2``).

Iterations are MMEngine's (training batches, also under gradient accumulation), read from
:func:`lightning_runtime.runtime._progress.train_iter`, not Lightning's ``global_step``.

Files are Lightning checkpoints (``Trainer.fit(ckpt_path=...)`` resumes from them exactly:
optimizer, lr schedulers, loop position mid-epoch, callback states, plus RNG states and gradients
accumulated in an unfinished accumulation window) with MMEngine's ``meta`` dict added. They keep
MMEngine's ``.pth`` names because configs, scripts and ``filename_tmpl`` refer to them.
``format='mmengine'`` writes MMEngine's own format instead (``meta``, ``state_dict`` with the
network's keys, ``optimizer``, ``param_schedulers``, ``message_hub``; see
:func:`lightning_runtime.checkpoint.export_mmengine`), for tools that read MMEngine's ``.pth``
files; such a file resumes here as an MMEngine checkpoint does (no RNG states, no gradients of an
unfinished accumulation window).

This is a plain ``Callback``, not a ``ModelCheckpoint`` subclass: ModelCheckpoint counts optimizer
steps, names and prunes files its own way, and Lightning moves every ModelCheckpoint to the end of
the callback list, which would break MMEngine's priority order. Build the Trainer with
``enable_checkpointing=False`` so Lightning does not add its own ModelCheckpoint as well.

Example:
    >>> import lightning as L
    >>> ckpt = CheckpointHook(interval=2000, by_epoch=False, max_keep_ckpts=3, save_best="mIoU")
    >>> trainer = L.Trainer(callbacks=[ckpt], enable_checkpointing=False)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import numbers
import os
import re
import string
import time
from collections import deque
from collections.abc import Mapping
from math import inf
from typing import Any, Callable, Sequence

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning.pytorch.trainer.states import TrainerFn

from lightning_runtime.checkpoint._io import confined_path, publish_checkpoint, remove_stale_temp_files, write_last_checkpoint
from lightning_runtime.callbacks.early_stopping import GREATER_KEYS, LESS_KEYS, infer_rule
from lightning_runtime.errors import ConfigError, did_you_mean
from lightning_runtime.optim._wrappers import BASE_PARAM_SETTINGS
from lightning_runtime.runtime import _lightning_compat as compat
from lightning_runtime.runtime._progress import train_iter
from lightning_runtime.registry import HOOKS
from lightning_runtime.checkpoint._state import ResumeState
from lightning_runtime.evaluation._build import evaluator_output_keys

__all__ = ["CheckpointHook", "check_checkpoint_hook_cfg"]

_EXAMPLE = {"interval": 2000, "max_keep_ckpts": 3, "save_begin": 0}

log = logging.getLogger(__name__)

_LOCAL_BACKENDS = {None, "local", "disk", "LocalBackend", "HardDiskBackend"}
_FORMATS = ("lightning", "mmengine")


def _str_list(value: Any, name: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        if len(set(value)) != len(value):
            raise ConfigError(f"has duplicate entries: {list(value)}", path=name, fix="list each name once")
        return list(value)
    raise ConfigError(f"must be a str, a list of str or None, got {value!r}", path=name, fix="write a metric name such as 'mIoU', a list of names, or None")


def _check_filename_tmpl(tmpl: Any) -> str:
    """``filename_tmpl`` must format with one step number into a plain file name."""
    fix = "e.g. filename_tmpl='iter_{}.pth' (one '{}' for the step; write a literal brace as '{{' or '}}')"
    if not isinstance(tmpl, str):
        raise ConfigError(f"must be a str, got {type(tmpl).__name__} {tmpl!r}", path="filename_tmpl", fix=fix)
    try:
        fields = [f for _, f, spec, conv in string.Formatter().parse(tmpl) if f is not None]
        specs = [(spec, conv) for _, f, spec, conv in string.Formatter().parse(tmpl) if f is not None]
    except ValueError as exc:  # a lone '{' or '}'
        raise ConfigError(f"is not a valid format string ({exc}): {tmpl!r}", path="filename_tmpl", fix=fix) from None
    if fields != [""] or specs != [("", None)]:
        raise ConfigError(
            f"must be a file name with exactly one '{{}}' (replaced by the step) and no other "
            f"'{{...}}' field, got {tmpl!r}",
            path="filename_tmpl",
            fix=fix,
        )
    name = tmpl.format(0)
    if "/" in name or os.sep in name or name.startswith(".") or "\x00" in name:
        raise ConfigError(f"must be a plain file name (no '/', not hidden), got {tmpl!r}", path="filename_tmpl",
                          fix=fix)
    return tmpl


def _check_local(args: dict | None, name: str) -> None:
    if args is None:
        return
    if not isinstance(args, dict):
        raise ConfigError(f"must be a dict or None, got {type(args).__name__}", path=name, fix="write it as dict(key=value, ...) or remove it")
    backend = args.get("backend")
    if backend not in _LOCAL_BACKENDS:
        raise ConfigError(
            f"backend {backend!r} is not supported: checkpoints are written to the local disk only",
            path=f"{name}.backend",
            fix=f"remove {name} (or set backend='local') and copy work_dir to remote storage afterwards",
        )


@HOOKS.register_module()
class CheckpointHook(Callback):
    """Save checkpoints periodically, the best ones and the last one, as MMEngine does.

    Args:
        interval: Save every this many iterations (or epochs with ``by_epoch``); ``-1`` never.
        by_epoch: Count ``interval`` in epochs (True) or training iterations (False).
        save_optimizer: Keep optimizer states in the checkpoint (needed to resume exactly).
        save_param_scheduler: Keep lr-scheduler states in the checkpoint.
        out_dir: Root for the files; they go to ``out_dir/<basename of work_dir>`` (MMEngine's rule).
            Default: the work_dir (the RunContext's, else ``trainer.default_root_dir``).
        max_keep_ckpts: Keep only the newest this many regular checkpoints; ``-1`` keeps all.
            An old file is deleted only after the new one is complete.
        save_last: Also save at the last iteration/epoch regardless of ``interval``.
        save_best: A metric name, several, or ``'auto'`` (the first metric of the validation).
        rule: ``'greater'`` / ``'less'`` (one, or one per metric); inferred from the name when None.
        greater_keys: Names (or substrings) inferred as 'greater' (MMEngine's list by default).
        less_keys: Names (or substrings) inferred as 'less' (``['loss']`` by default).
        file_client_args: Deprecated MMEngine option; only a local backend is accepted.
        filename_tmpl: Name template with one ``{}`` (default ``iter_{}.pth`` / ``epoch_{}.pth``).
        backend_args: Only a local backend is accepted.
        published_keys: After training, write ``<name>-<sha256[:8]>.pth`` copies of the last and
            best checkpoints holding only these keys (e.g. ``['meta', 'state_dict']``).
        save_begin: First iteration/epoch counted by ``interval``.
        format: ``'lightning'`` (default: a Lightning checkpoint that resumes exactly) or
            ``'mmengine'`` (MMEngine's checkpoint format, for its tools and its Runner).
    """

    priority = "VERY_LOW"

    rule_map: dict[str, Callable[[float, float], bool]] = {
        "greater": lambda x, y: x > y,
        "less": lambda x, y: x < y,
    }
    init_value_map = {"greater": -inf, "less": inf}
    _default_greater_keys = list(GREATER_KEYS)
    _default_less_keys = list(LESS_KEYS)

    def __init__(
        self,
        interval: int = -1,
        by_epoch: bool = True,
        save_optimizer: bool = True,
        save_param_scheduler: bool = True,
        out_dir: str | os.PathLike[str] | None = None,
        max_keep_ckpts: int = -1,
        save_last: bool = True,
        save_best: str | Sequence[str] | None = None,
        rule: str | Sequence[str] | None = None,
        greater_keys: str | Sequence[str] | None = None,
        less_keys: str | Sequence[str] | None = None,
        file_client_args: dict | None = None,
        filename_tmpl: str | None = None,
        backend_args: dict | None = None,
        published_keys: str | Sequence[str] | None = None,
        save_begin: int = 0,
        format: str = "lightning",
    ) -> None:
        for name, value in (("interval", interval), ("max_keep_ckpts", max_keep_ckpts), ("save_begin", save_begin)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"must be an int, got {value!r}", path=name,
                                  fix=f"write {name} as a whole number, e.g. {name}={_EXAMPLE[name]}")
        if interval == 0 or interval < -1:
            raise ConfigError(
                f"must be a positive number of {'epochs' if by_epoch else 'iterations'} or -1 (never), "
                f"got {interval}",
                path="interval",
                fix=f"save every N {'epochs' if by_epoch else 'iterations'} with interval=N (N >= 1), "
                "or interval=-1 to save only at the end with save_last",
            )
        if max_keep_ckpts == 0 or max_keep_ckpts < -1:
            raise ConfigError(
                f"must be >= 1 or -1 (keep all), got {max_keep_ckpts}: 0 would keep no checkpoint to resume from",
                path="max_keep_ckpts",
                fix="set max_keep_ckpts=-1 to keep every checkpoint, or a positive count",
            )
        if save_begin < 0:
            raise ConfigError(f"must be >= 0, got {save_begin}", path="save_begin",
                              fix="set save_begin to the first iteration/epoch to count, 0 or more")
        if file_client_args is not None and backend_args is not None:
            raise ConfigError(
                "file_client_args and backend_args cannot be set at the same time",
                path="file_client_args",
                fix="remove file_client_args (deprecated in MMEngine)",
            )
        _check_local(file_client_args, "file_client_args")
        _check_local(backend_args, "backend_args")
        if out_dir is not None and "://" in os.fspath(out_dir):
            raise ConfigError(
                f"{out_dir!r} is a remote URL; checkpoints are written to the local disk only",
                path="out_dir",
                fix="use a local directory and copy it to remote storage afterwards",
            )
        if filename_tmpl is None:
            filename_tmpl = "epoch_{}.pth" if by_epoch else "iter_{}.pth"
        _check_filename_tmpl(filename_tmpl)
        self.interval = interval
        self.by_epoch = by_epoch
        self.save_optimizer = save_optimizer
        self.save_param_scheduler = save_param_scheduler
        self.out_dir_arg = None if out_dir is None else os.fspath(out_dir)
        self.max_keep_ckpts = max_keep_ckpts
        self.save_last = save_last
        self.file_client_args = file_client_args
        self.backend_args = backend_args
        self.filename_tmpl = filename_tmpl
        self.save_begin = save_begin
        if format not in _FORMATS:
            raise ConfigError(f"must be one of {list(_FORMATS)}, got {format!r}", path="format",
                              candidates=did_you_mean(str(format), list(_FORMATS)),
                              fix="format='lightning' (the default: a Lightning checkpoint that resumes exactly) or "
                              "format='mmengine' (MMEngine's .pth, for its tools and its Runner)")
        self.format = format
        self.published_keys = _str_list(published_keys, "published_keys")
        self.greater_keys = _str_list(greater_keys, "greater_keys") or list(self._default_greater_keys)
        self.less_keys = _str_list(less_keys, "less_keys") or list(self._default_less_keys)

        self.save_best = _str_list(save_best, "save_best")
        if self.save_best is not None and "auto" in self.save_best and len(self.save_best) != 1:
            raise ConfigError("'auto' cannot be combined with other metric names", path="save_best", fix="use save_best='auto' alone, or list the metric names without 'auto'")
        rules = _str_list(rule, "rule") if not (isinstance(rule, list) and len(rule) == 0) else None
        if rules is not None and self.save_best is not None and len(rules) not in (1, len(self.save_best)):
            raise ConfigError(
                f"has {len(rules)} entries but save_best has {len(self.save_best)}",
                path="rule",
                fix="give one rule for all metrics or one per save_best metric",
            )
        self._rule_arg: list[str | None] = list(rules) if rules else [None]
        self.rules: dict[str, str] = {}
        if self.save_best is not None and self.save_best != ["auto"]:
            self.rules = self._infer_rules(self._rule_arg, self.save_best)

        # State (saved in every checkpoint, restored on resume).
        self.keep_ckpt_ids: deque[int] = deque()
        self.best_score: dict[str, float] = {}
        self.best_ckpt: dict[str, str] = {}
        self.last_ckpt: str | None = None
        self._pending_delete: list[str] = []

        # Runtime.
        self._ctx: Any = None
        self.out_dir: str | None = None
        self.work_dir: str | None = None
        self._saving: dict[str, Any] | None = None
        self._resume_state = ResumeState()  # RNG, unfinished accumulation, missing optimizer states
        self._resave_step: int | None = None
        self._loaded_state: dict[str, Any] | None = None
        self._cleaned_up = False
        self._warned: set[str] = set()
        prefix, _, suffix = filename_tmpl.format("\x00").partition("\x00")
        self._name_re = re.compile(re.escape(prefix) + r"-?\d+" + re.escape(suffix))
        self._best_re = re.compile("best_.+_" + self._name_re.pattern)

    # ------------------------------------------------------------------ rules
    def _infer_rules(self, rules: list[str | None], keys: list[str]) -> dict[str, str]:
        """MMEngine's ``_init_rule``: explicit rule, exact name, then substring matches."""
        if len(rules) == 1:
            rules = rules * len(keys)
        out = {}
        for rule, key in zip(rules, keys):
            if rule is not None and rule not in self.rule_map:
                raise ConfigError(f"must be 'greater', 'less' or None, got {rule!r}", path="rule",
                                  fix="use rule='greater' (higher is better, e.g. mIoU) or rule='less' "
                                  "(e.g. a loss), or leave it out to infer it from the metric name")
            if rule is None:
                rule = infer_rule(key, self.greater_keys, self.less_keys,
                                  fix=f"set rule='greater' or rule='less' (or add {key!r} to greater_keys/less_keys)")
            out[key] = rule
        return out

    # ------------------------------------------------------------------ wiring
    def bind_context(self, ctx: Any) -> None:
        """Receive the runtime's :class:`~lightning_runtime.runtime._context.RunContext`.

        A ``save_best`` with validation switched off in the config (``val_cfg=None`` or
        ``val_dataloader=None`` written out) is refused here, before the Trainer exists and anything
        is written; other ways of turning validation off are caught in :meth:`setup`.
        """
        self._ctx = ctx
        cfg: Any = getattr(ctx, "cfg", None)
        if self.save_best is not None and hasattr(cfg, "get"):
            if any(key in cfg and cfg[key] is None for key in ("val_cfg", "val_dataloader")):
                raise ConfigError(
                    f"save_best={self.save_best} but validation is off (val_cfg/val_dataloader is None), "
                    "so no metric is ever computed",
                    path="default_hooks.checkpoint.save_best",
                    fix="remove save_best, or configure validation (val_dataloader, val_cfg, val_evaluator)",
                )

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self._is_zero = trainer.is_global_zero
        work_dir = os.fspath(self._ctx.work_dir) if self._ctx is not None else trainer.default_root_dir
        self.work_dir = os.path.abspath(work_dir)
        if self.out_dir_arg is None:
            self.out_dir = self.work_dir
        else:
            self.out_dir = os.path.join(os.path.abspath(self.out_dir_arg), os.path.basename(self.work_dir.rstrip(os.sep)))
        self._cleaned_up = False
        if self._loaded_state is not None:  # load_state_dict came before the directory was known
            self._apply_state(self._loaded_state)
        # Trainer.callbacks / .fast_dev_run: public, but set by Lightning's connectors, not declared on Trainer
        if stage == "fit" and any(isinstance(cb, ModelCheckpoint) for cb in trainer.callbacks):  # type: ignore[attr-defined]
            from lightning.pytorch.utilities import rank_zero_warn

            rank_zero_warn(
                "Lightning's ModelCheckpoint is active next to CheckpointHook and writes its own "
                "files; build the Trainer with enable_checkpointing=False to keep only MMEngine's"
            )
        if stage == "fit" and self.save_best is not None:
            from lightning.pytorch.utilities.model_helpers import is_overridden

            why = None
            if not is_overridden("validation_step", pl_module):
                why = "the model has no validation_step"
            elif trainer.limit_val_batches == 0:
                why = "validation is off (val_cfg/val_dataloader is None, or limit_val_batches=0)"
            if why:
                raise ConfigError(
                    f"save_best={self.save_best} but {why}, so no metric is ever computed",
                    path="default_hooks.checkpoint.save_best",
                    fix="remove save_best, or configure validation (val_dataloader, val_cfg, val_evaluator)",
                )
            self._check_evaluator_keys()

    def _check_evaluator_keys(self) -> None:
        """Warn before training when ``save_best`` names no key the configured ``val_evaluator`` returns."""
        cfg = getattr(self._ctx, "cfg", None)
        evaluators = cfg.get("val_evaluator") if cfg is not None and hasattr(cfg, "get") else None
        if evaluators is None or self.save_best == ["auto"]:
            return
        known = evaluator_output_keys(evaluators)
        if known is None:  # a metric whose keys are known only once it has run
            return
        missing = [k for k in self.save_best or [] if k not in known]
        if missing:
            from lightning.pytorch.utilities import rank_zero_warn

            rank_zero_warn(
                f"default_hooks.checkpoint.save_best: {missing} is not among the val_evaluator's "
                f"metrics {sorted(known)}; unless the model logs it itself, the first validation "
                "will fail"
            )

    def _max_iters(self, trainer: pl.Trainer) -> int | None:
        loop = getattr(self._ctx, "train_loop", None)
        if loop is not None and loop.max_iters:
            return int(loop.max_iters)
        if trainer.max_steps and trainer.max_steps > 0:
            return trainer.max_steps * trainer.accumulate_grad_batches
        if trainer.max_epochs and trainer.max_epochs > 0 and trainer.num_training_batches != inf:
            return int(trainer.max_epochs * trainer.num_training_batches)
        return None

    def _max_epochs(self, trainer: pl.Trainer) -> int | None:
        loop = getattr(self._ctx, "train_loop", None)
        if loop is not None and loop.max_epochs:
            return int(loop.max_epochs)
        return trainer.max_epochs if trainer.max_epochs and trainer.max_epochs > 0 else None

    @staticmethod
    def _every(count: int, n: int, start: int) -> bool:
        dividend = count - start
        return dividend % n == 0 if dividend >= 0 and n > 0 else False

    @staticmethod
    def _active(trainer: pl.Trainer) -> bool:
        fast_dev_run = trainer.fast_dev_run  # type: ignore[attr-defined]  # public, set outside Trainer's class body
        return not trainer.sanity_checking and not fast_dev_run and trainer.state.fn == TrainerFn.FITTING

    # ------------------------------------------------------------------ saving moments
    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int) -> None:
        if self.by_epoch or not self._active(trainer):
            return
        it = train_iter(trainer)  # MMEngine's runner.iter inside after_train_iter
        if self._every(it + 1, self.interval, self.save_begin) or (
            self.save_last and it + 1 == self._max_iters(trainer)
        ):
            self._save_regular(trainer, it + 1, dict(epoch=trainer.current_epoch, iter=it + 1))

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self.by_epoch or not self._active(trainer):
            return
        epoch = trainer.current_epoch
        meta = dict(epoch=epoch + 1, iter=train_iter(trainer))
        if self._every(epoch + 1, self.interval, self.save_begin) or (
            self.save_last and epoch + 1 == self._max_epochs(trainer)
        ):
            self._save_regular(trainer, epoch + 1, meta)
        elif self._resave_step is not None and self.last_ckpt is not None:
            # MMEngine re-saves the latest regular checkpoint after a new best (so that it records
            # the new best); its epoch checkpoint comes before validation, Lightning's after.
            self._save_regular(trainer, self._resave_step, meta, announce=False)
        self._resave_step = None

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.save_best and trainer.sanity_checking and trainer.state.fn == TrainerFn.FITTING:
            self._check_best_metrics(trainer)  # Lightning's sanity check, when asked for: names only
            return
        if not self.save_best or not self._active(trainer):
            return
        metrics = {k: v for k, v in trainer.callback_metrics.items()}
        if self.by_epoch:
            last = trainer.fit_loop.epoch_loop.batch_progress.is_last_batch
            cur_type, cur = "epoch", trainer.current_epoch + (1 if last else 0)
        else:
            cur_type, cur = "iter", train_iter(trainer)
        if self.save_best == ["auto"]:
            key = self._first_val_metric(trainer)
            self.rules = self._infer_rules(self._rule_arg, [key])
        ckpt_filename = self.filename_tmpl.format(cur)
        updated = False
        for key, rule in self.rules.items():
            value = self._lookup(metrics, key)
            score = float(value)
            best = self.best_score.get(key, self.init_value_map[rule])
            if not self.rule_map[rule](score, best):
                continue
            updated = True
            self.best_score[key] = score
            previous = self.best_ckpt.get(key)
            name = f"best_{key}_{ckpt_filename}".replace("/", "_")
            path = os.path.join(self.out_dir or "", name)
            if self._blocked(path):
                continue
            self.best_ckpt[key] = path
            meta = dict(epoch=trainer.current_epoch, iter=train_iter(trainer))
            self._save(trainer, path, meta, full=False)
            if previous and previous != path and trainer.is_global_zero and self._remove(previous):
                self._info(f"The previous best checkpoint {previous} is removed")
            self._info(f"The best checkpoint with {score:0.4f} {key} at {cur} {cur_type} is saved to {name}.")
        if updated and self.last_ckpt is not None:
            if self.by_epoch and trainer.fit_loop.epoch_loop.batch_progress.is_last_batch:
                self._resave_step = cur  # done in on_train_epoch_end, after Lightning's epoch ends
            else:
                self._save_regular(trainer, cur, dict(epoch=trainer.current_epoch, iter=train_iter(trainer)),
                                   announce=False)

    def _check_best_metrics(self, trainer: pl.Trainer) -> None:
        """The ``save_best`` metrics are logged (a ConfigError if not); nothing is saved or remembered.

        Runs at the end of Lightning's sanity check (``trainer.num_sanity_val_steps``, off unless the
        user turns it on), so a missing metric stops the run before its first iteration.
        """
        if self.save_best == ["auto"]:
            self._first_val_metric(trainer)
            return
        metrics = dict(trainer.callback_metrics)
        for key in self.rules:
            self._lookup(metrics, key)

    def _first_val_metric(self, trainer: pl.Trainer) -> str:
        names = compat.val_logged_names(trainer)
        if not names:
            raise ConfigError(
                "save_best='auto' but the validation logged no metric",
                path="default_hooks.checkpoint.save_best",
                fix="log validation metrics with self.log(...) or name the metric in save_best",
            )
        return names[0]

    def _lookup(self, metrics: dict[str, Any], key: str) -> Any:
        for name in (key, f"val/{key}", f"val_{key}", f"val.{key}"):
            if name in metrics:
                return metrics[name]
        raise ConfigError(  # MMEngine: KeyError at the first validation
            f"save_best metric {key!r} was not logged by validation; logged metrics: "
            f"{sorted(metrics) or 'none'}",
            path="default_hooks.checkpoint.save_best",
            fix="use one of the logged names (also found as 'val/<name>'), or log it in validation",
        )

    # ------------------------------------------------------------------ writing
    _is_zero = True

    def _info(self, msg: str) -> None:
        if self._is_zero:
            log.info(msg)

    def _save_regular(self, trainer: pl.Trainer, step: int, meta: dict[str, Any], *, announce: bool = True) -> None:
        """MMEngine's ``_save_checkpoint_with_step``, deleting old files only after the new one.

        ``announce=False``: the re-save after a new best, which MMEngine does without a log line
        (its "Saving checkpoint at N" is printed by the interval hooks, not by the save itself).
        """
        if self._blocked(self._path(step)):
            return
        to_delete: list[str] = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            while len(self.keep_ckpt_ids) >= self.max_keep_ckpts:
                to_delete.append(self._path(self.keep_ckpt_ids.popleft()))
            self.keep_ckpt_ids.append(step)
        path = self._path(step)
        self._pending_delete = [p for p in to_delete if p != path]
        self.last_ckpt = path
        if announce:
            self._info(f"Saving checkpoint at {step} {'epochs' if self.by_epoch else 'iterations'}")
        self._save(trainer, path, meta, full=True)
        if trainer.is_global_zero:
            try:
                write_last_checkpoint(self.work_dir or self.out_dir or ".", path)
            except IsADirectoryError:
                self._warn_once(
                    f"{os.path.join(self.work_dir or '', 'last_checkpoint')} is a directory, so it cannot name "
                    "the latest checkpoint; resume=True will scan the work_dir for the newest complete "
                    "checkpoint instead (remove that directory to restore the pointer file)"
                )
            for old in self._pending_delete:
                self._remove(old)
        self._pending_delete = []

    def _blocked(self, path: str) -> bool:
        """True (after a warning, once) when a directory sits where a checkpoint file is to be written."""
        if not os.path.isdir(path):
            return False
        self._warn_once(
            f"cannot save the checkpoint {path}: a directory of that name is in the way; this checkpoint "
            "is skipped (the directory is left untouched: move it away to save there again)"
        )
        return True

    def _remove(self, path: str) -> bool:
        """Delete a checkpoint file this hook wrote, only if it is a file in the checkpoint directory.

        Returns:
            True when the file was deleted.
        """
        try:
            confined_path(os.path.basename(path), self.out_dir or "")
        except ValueError as exc:
            self._warn_once(f"not deleting {path}: {exc}")
            return False
        if os.path.dirname(os.path.abspath(path)) != os.path.abspath(self.out_dir or "") or not os.path.isfile(path):
            return False
        try:
            os.remove(path)
        except OSError as exc:
            self._warn_once(f"could not delete the old checkpoint {path} ({exc.strerror or exc}); it is left in place")
            return False
        return True

    def _warn_once(self, msg: str) -> None:
        if msg in self._warned or not self._is_zero:
            return
        self._warned.add(msg)
        from lightning.pytorch.utilities import rank_zero_warn

        rank_zero_warn(msg)
    def _path(self, step: int) -> str:
        return os.path.join(self.out_dir or "", self.filename_tmpl.format(step))

    def _save(self, trainer: pl.Trainer, path: str, meta: dict[str, Any], *, full: bool) -> None:
        self._saving = dict(
            meta=meta,
            optimizer=full and self.save_optimizer,
            scheduler=full and self.save_param_scheduler,
        )
        try:
            if self.format == "mmengine":  # the same dict trainer.save_checkpoint writes, converted in memory
                checkpoint = compat.dump_checkpoint(trainer)
                if trainer.is_global_zero:
                    self._save_as_mmengine(trainer, checkpoint, path)
                trainer.strategy.barrier("CheckpointHook._save")
            else:
                trainer.save_checkpoint(path, weights_only=False)
        finally:
            self._saving = None

    def _save_as_mmengine(self, trainer: pl.Trainer, checkpoint: dict[str, Any], path: str) -> None:
        """Write ``checkpoint`` (Lightning's dict) to ``path`` in MMEngine's format, atomically."""
        from lightning_runtime.checkpoint._export import mmengine_from_lightning
        from lightning_runtime.checkpoint._from_mmengine import network_prefix
        from lightning_runtime.checkpoint._mmengine_pickle import save_mmengine
        from lightning_runtime.optim._builder import optimization_root

        module = trainer.lightning_module
        settings = getattr(trainer.optimizers[0], BASE_PARAM_SETTINGS, None) if trainer.optimizers else None
        wrapper = self._ctx.cfg.get("optim_wrapper") if self._ctx is not None else None
        per_parameter = None  # MMEngine's constructors: one group per parameter with paramwise_cfg / a constructor
        if isinstance(wrapper, Mapping):
            per_parameter = bool(wrapper.get("paramwise_cfg")) or wrapper.get("constructor") not in (
                None, "DefaultOptimWrapperConstructor")
        converted = mmengine_from_lightning(checkpoint, prefix=network_prefix(module, optimization_root(module)),
                                            out_dir=self.out_dir or os.path.dirname(path),
                                            base_param_settings=settings, per_parameter=per_parameter)
        save_mmengine(converted, path)

    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]) -> None:
        meta = dict(self._saving["meta"]) if self._saving else dict(epoch=trainer.current_epoch, iter=train_iter(trainer))
        meta["time"] = time.strftime("%Y%m%d_%H%M%S", time.localtime())
        if self._ctx is not None:
            meta["experiment_name"] = getattr(self._ctx, "experiment_name", None)
        dataset = getattr(trainer.train_dataloader, "dataset", None) if trainer.state.fn == TrainerFn.FITTING else None
        if isinstance(getattr(dataset, "metainfo", None), dict):  # MMEngine's dataset_meta
            meta["dataset_meta"] = dataset.metainfo  # type: ignore[union-attr]
        checkpoint["meta"] = meta
        keep_optimizer = self._saving is None or self._saving["optimizer"]
        self._resume_state.add_to(checkpoint, trainer, pl_module, optimizer=keep_optimizer)
        if not keep_optimizer:
            checkpoint.pop("optimizer_states", None)
        if self._saving is not None and not self._saving["scheduler"]:
            checkpoint.pop("lr_schedulers", None)

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """The hook's state; files are named relative to the checkpoint directory (plain names)."""
        return {
            "keep_ckpt_ids": list(self.keep_ckpt_ids),
            "best_score": dict(self.best_score),
            "best_ckpt": {k: os.path.basename(v) for k, v in self.best_ckpt.items()},
            "last_ckpt": None if self.last_ckpt is None else os.path.basename(self.last_ckpt),
            "pending_delete": [os.path.basename(p) for p in self._pending_delete],
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the state saved by :meth:`state_dict`, refusing names outside the checkpoint directory.

        The names are checked once the checkpoint directory is known (in :meth:`setup`, which
        Lightning runs before restoring callback states).
        """
        if not isinstance(state_dict, dict):
            self._warn_once(f"the checkpoint's CheckpointHook state is a {type(state_dict).__name__}, not a "
                            "dict; ignored (retention and best scores start afresh)")
            return
        self._loaded_state = dict(state_dict)
        if self.out_dir is not None:
            self._apply_state(self._loaded_state)

    def _apply_state(self, state: dict[str, Any]) -> None:
        self._loaded_state = None
        refused: list[str] = []

        def name_of(value: Any, entry: str, *, best_key: str | None = None) -> str | None:
            try:
                path = confined_path(value, self.out_dir or "")
            except ValueError as exc:
                refused.append(f"{entry}={value!r} ({exc})")
                return None
            base = os.path.basename(path)
            pattern = self._best_re if best_key is not None else self._name_re
            pattern_ok = pattern.fullmatch(base) is not None
            if not pattern_ok:
                refused.append(f"{entry}={value!r} (not a name this hook writes with "
                               f"filename_tmpl={self.filename_tmpl!r})")
                return None
            return path

        ids = []
        for s in state.get("keep_ckpt_ids") or []:
            if isinstance(s, numbers.Integral) and not isinstance(s, bool):
                ids.append(int(s))
            else:
                refused.append(f"keep_ckpt_ids entry {s!r} (not an int)")
        self.keep_ckpt_ids = deque(ids)
        scores = state.get("best_score") or {}
        self.best_score = {}
        for k, v in (scores.items() if isinstance(scores, dict) else []):
            if isinstance(k, str) and isinstance(v, numbers.Real) and not isinstance(v, bool):
                self.best_score[k] = float(v)
            else:
                refused.append(f"best_score[{k!r}]={v!r} (not a metric name and a number)")
        best = state.get("best_ckpt") or {}
        self.best_ckpt = {}
        for k, v in (best.items() if isinstance(best, dict) else []):
            path = name_of(v, f"best_ckpt[{k!r}]", best_key=str(k))
            if path is not None and isinstance(k, str):
                self.best_ckpt[k] = path
        last = state.get("last_ckpt")
        self.last_ckpt = None if last is None else name_of(last, "last_ckpt")
        pending = state.get("pending_delete") or []
        self._pending_delete = [p for p in (name_of(v, "pending_delete entry") for v in
                                            (pending if isinstance(pending, (list, tuple)) else [pending]))
                                if p is not None]
        if refused:
            self._warn_once(
                "the resumed checkpoint's CheckpointHook state names files outside this run's checkpoint "
                f"directory {self.out_dir} (or not written by this hook); they are ignored, never deleted or "
                "loaded: " + "; ".join(refused)
            )

    def on_load_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]) -> None:
        self._resume_state.take_from(checkpoint)

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # A Runtime checked the optimizer state before the Trainer existed; a plain Lightning run here.
        checked = self._ctx is not None and self._ctx.resume_optimizer_checked
        self._resume_state.complete(trainer, optimizer_checked=checked, warn_once=self._warn_once)

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._resume_state.restore(pl_module)
        self._clean_up(trainer)
        self._info(f"Checkpoints will be saved to {self.out_dir}.")

    def _clean_up(self, trainer: pl.Trainer) -> None:
        """Remove what a killed run left: temp files, old checkpoints it meant to delete."""
        if self._cleaned_up:
            return
        self._cleaned_up = True
        if trainer.is_global_zero:
            for directory in {self.out_dir, self.work_dir}:
                remove_stale_temp_files(directory)
            for old in self._pending_delete:  # killed between a save and its clean-up
                self._remove(old)
            # MMEngine's before_train: fewer kept checkpoints than the resumed run had.
            while self.max_keep_ckpts > 0 and len(self.keep_ckpt_ids) > self.max_keep_ckpts:
                self._remove(self._path(self.keep_ckpt_ids.popleft()))
        self._pending_delete = []

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # A resumed run with nothing left to do never reaches on_train_start: clean up here.
        if trainer.state.fn == TrainerFn.FITTING and not trainer.fast_dev_run:  # type: ignore[attr-defined]  # (see _active)
            self._clean_up(trainer)

    # ------------------------------------------------------------------ publishing
    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.published_keys is None or not trainer.is_global_zero:
            return
        targets = []
        if self.save_last and self.last_ckpt is not None:
            targets.append(self.last_ckpt)
        targets.extend(p for p in self.best_ckpt.values() if p)
        for path in targets:
            if os.path.isfile(path):
                final = publish_checkpoint(path, self.published_keys)
                self._info(f"The checkpoint ({path}) is published to {final}.")


def check_checkpoint_hook_cfg(cfg: Mapping[str, Any]) -> None:
    """Check ``default_hooks.checkpoint.filename_tmpl`` when the Runtime is built.

    A template such as ``'iter_{}_{x}.pth'``, ``'{1}'`` or a lone ``'{'`` would otherwise fail at the
    first save, after ``work_dir`` was written.

    Raises:
        ConfigError: at ``default_hooks.checkpoint.filename_tmpl``.
    """
    hooks = cfg.get("default_hooks") if hasattr(cfg, "get") else None
    ckpt = hooks.get("checkpoint") if isinstance(hooks, Mapping) else None
    if not isinstance(ckpt, Mapping) or ckpt.get("filename_tmpl") is None:
        return
    if str(ckpt.get("type", "CheckpointHook")).rpartition(".")[2] != "CheckpointHook":
        return
    try:
        _check_filename_tmpl(ckpt["filename_tmpl"])
    except ConfigError as err:
        raise err.with_location(path="default_hooks.checkpoint") from None
