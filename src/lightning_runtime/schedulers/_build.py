"""``build_scheduler``: a ``param_scheduler`` config (dict or list) -> :class:`ParamSchedulerStack`.

Does what MMEngine's ``Runner._build_param_scheduler`` and ``build_scheduler_from_cfg`` do (fill a
missing ``end`` from ``max_epochs``/``max_iters`` by the entry's ``by_epoch``, convert with
``convert_to_iter_based``), checks every argument first (a path-aware :class:`ConfigError`, e.g.
``param_scheduler[1].end``), and warns about windows that cannot be what was meant.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from typing import Any

from torch.optim import Optimizer

from lightning_runtime.errors import ConfigError
from lightning_runtime.registry import PARAM_SCHEDULERS, check_kwargs
from lightning_runtime.schedulers._base import INF, ParamScheduler
from lightning_runtime.schedulers._stack import ParamSchedulerStack

__all__ = ["build_scheduler"]


class _OptimizerExpected(ConfigError, TypeError):
    """``build_scheduler`` was given something other than an optimizer (a ConfigError and a TypeError)."""


def _optimizer(optimizer: Any, path: str) -> Optimizer:
    """The torch optimizer to schedule: ``optimizer`` itself, or the one an ``OptimWrapper`` holds."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    inner = getattr(optimizer, "optimizer", None)
    if isinstance(inner, Optimizer):  # lightning_runtime's or MMEngine's OptimWrapper
        return inner
    shown = repr(optimizer) if len(repr(optimizer)) < 60 else type(optimizer).__name__
    raise _OptimizerExpected(
        f"build_scheduler expects a torch.optim.Optimizer (or an OptimWrapper holding one) as its first "
        f"argument, got {type(optimizer).__name__} {shown}",
        path=path,
        expected="a torch.optim.Optimizer",
        fix="pass the optimizer first: build_scheduler(optimizer, param_scheduler_cfg, ...)",
    )


def _entries(cfg: Any, path: str) -> list[tuple[Any, str]]:
    if cfg is None:
        return []
    if isinstance(cfg, (ParamScheduler, Mapping)):
        if isinstance(cfg, Mapping) and "type" not in cfg and cfg and all(
            isinstance(v, (Mapping, list, tuple)) for v in cfg.values()
        ):
            raise ConfigError(
                "a dict of schedulers per optimizer is not supported (one optimizer per module here)",
                path=path,
                fix="give one list of schedulers",
            )
        return [(cfg, path)]
    if isinstance(cfg, (list, tuple)):
        return [(c, f"{path}[{i}]") for i, c in enumerate(cfg)]
    raise ConfigError(
        f"expected a dict or a list of dicts, got {type(cfg).__name__} {cfg!r}",
        path=path,
        expected="a list of dict(type=...)",
        fix="write param_scheduler=[dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=160000, "
        "by_epoch=False)] (one dict per scheduler)",
    )


def _rule_arguments(rule: ParamScheduler) -> dict[str, Any]:
    """What a built rule was configured with (its attributes but its base values and mutable state).

    Part of the stack's signature, so that a checkpoint of a rule built with other arguments is
    recognised as another config on resume.
    """
    state = set(rule.state_dict())
    return {k: v for k, v in sorted(vars(rule).items()) if k != "base_values" and k not in state}


def _build_one(
    cfg: Any, path: str, *, epoch_length: int | None, max_iters: int | None, max_epochs: int | None
) -> tuple[ParamScheduler, dict[str, Any]]:
    if isinstance(cfg, ParamScheduler):
        if cfg.by_epoch and not epoch_length:
            raise ConfigError(f"{cfg.describe()} is epoch-based but the epoch length is unknown", path=path,
                              fix="pass epoch_length=len(train_dataloader)")
        return cfg, {"type": type(cfg).__name__, "instance": _rule_arguments(cfg)}
    if not isinstance(cfg, Mapping):
        shown = f"{cfg!r}" if len(repr(cfg)) < 60 else type(cfg).__name__
        example = f"dict(type={cfg!r}, ...)" if isinstance(cfg, str) and cfg.isidentifier() else "dict(type='PolyLR', ...)"
        raise ConfigError(f"each scheduler must be a dict with a 'type', got {shown}", path=path,
                          expected="dict(type=..., begin=..., end=..., by_epoch=...)",
                          fix=f"write the entry as {example}")
    args = dict(cfg)
    args.pop("_scope_", None)
    if "type" not in args:
        raise ConfigError("missing 'type' (which scheduler to build)", path=path, fix="add type='PolyLR' or similar")
    type_name = args.pop("type")
    cls = PARAM_SCHEDULERS.resolve(type_name, path=f"{path}.type")
    if not (isinstance(cls, type) and issubclass(cls, ParamScheduler)):
        raise ConfigError(
            f"{type_name!r} is not a lightning_runtime scheduler",
            path=f"{path}.type",
            fix="subclass lightning_runtime.schedulers.ParamScheduler and implement get_value()",
        )
    convert = args.pop("convert_to_iter_based", False)
    by_epoch = args.get("by_epoch", True)
    if "end" not in args:
        default_end = max_epochs if by_epoch else max_iters
        if default_end is not None:
            args["end"] = default_end
            warnings.warn(
                f"{path}: The `end` of {type_name} is not set. Use the max epochs/iters of train loop as default.",
                UserWarning,
                stacklevel=3,
            )
    check_kwargs(cls, args, path=path)
    normalized = {"type": getattr(cls, "__name__", str(type_name)), **args}
    if convert:
        if not by_epoch:
            raise ConfigError(
                "convert_to_iter_based needs an epoch-based entry, but by_epoch=False",
                path=f"{path}.convert_to_iter_based",
                fix="remove convert_to_iter_based (the entry already counts iterations)",
            )
        if not epoch_length:
            raise ConfigError(
                "convert_to_iter_based needs the epoch length (iterations per epoch)",
                path=f"{path}.convert_to_iter_based",
                fix="pass epoch_length=len(train_dataloader) to build_scheduler",
            )
        args = cls.convert_kwargs(args, epoch_length)
        normalized["convert_to_iter_based"] = True
    try:
        sched = cls(**args)
    except ConfigError as err:
        raise err.with_location(path=path)
    except (TypeError, ValueError, AssertionError) as exc:
        raise ConfigError(f"{type_name}: {exc}", path=path,
                          fix=f"check the arguments of {type_name} against its signature") from exc
    if sched.by_epoch and not epoch_length:
        raise ConfigError(
            f"{type_name} is epoch-based (by_epoch=True, the default) but the epoch length is unknown",
            path=f"{path}.by_epoch",
            fix="pass epoch_length=len(train_dataloader), or set by_epoch=False to count iterations",
        )
    return sched, normalized


def _iters_per_unit(sched: ParamScheduler, epoch_length: int | None) -> int:
    """1 for an iteration-based rule, ``epoch_length`` for an epoch-based one."""
    if not sched.by_epoch:
        return 1
    assert epoch_length, "_build_one refuses an epoch-based rule without epoch_length"
    return epoch_length


def _warn_windows(built: list[tuple[ParamScheduler, str]], epoch_length: int | None, total_iters: int | None) -> None:
    def window(s: ParamScheduler) -> tuple[int, float]:
        scale = _iters_per_unit(s, epoch_length)
        end = float("inf") if s.end >= INF else s.end * scale
        return s.begin * scale, end

    for sched, path in built:
        begin, _ = window(sched)
        if total_iters is not None and begin >= total_iters:
            warnings.warn(
                f"{path}: {sched.describe()} starts at iteration {begin} but training ends at "
                f"iteration {total_iters}: it never applies. Check begin (and by_epoch).",
                UserWarning,
                stacklevel=3,
            )
    for j, (b, pb) in enumerate(built):
        for a, pa in built[:j]:
            if a.param_name != b.param_name or a.need_val_args or b.need_val_args:
                continue
            (a0, a1), (b0, b1) = window(a), window(b)
            if a0 < b0 < a1 < b1:
                warnings.warn(
                    f"{pb} ({b.describe()}) starts inside {pa} ({a.describe()}): both apply during "
                    f"iterations {b0}-{a1 - 1:g}. If {pb} should take over where {pa} ends, set its "
                    f"begin to {pa}'s end.",
                    UserWarning,
                    stacklevel=3,
                )


def _warn_unfinished(stack: ParamSchedulerStack, built: list[tuple[ParamScheduler, str]],
                     epoch_length: int | None, total_iters: int | None) -> None:
    """Warn when a window ends after training: the schedule's final value is never reached.

    E.g. the seed's note: ``max_iters=80000`` with ``PolyLR(end=160000)`` stops at lr 5.4e-3, not
    at ``eta_min``. Windows with ``end=INF`` or ``end == total`` are fine.
    """
    if total_iters is None or total_iters < 1:
        return
    for sched, path in built:
        if sched.end >= INF or sched.need_val_args:
            continue
        scale = _iters_per_unit(sched, epoch_length)
        end = sched.end * scale
        begin = sched.begin * scale
        if end <= total_iters or begin >= total_iters:  # the latter has its own warning
            continue
        unit = "epoch" if sched.by_epoch else "iteration"
        total_in_unit = total_iters // scale if sched.by_epoch else total_iters
        values = ""
        try:
            param = sched.param_name
            arr = stack.curve([total_iters - 1, end - 1], params=[param])[param]
            values = (f" ({param} of the first param group is {arr[0][0]:.4g} at the last trained "
                      f"iteration {total_iters - 1}, instead of {arr[1][0]:.4g} at iteration {end - 1})")
        except Exception:  # noqa: BLE001 - the numbers are a courtesy; the warning stands without them
            values = ""
        limit = "max_epochs" if sched.by_epoch else "max_iters"
        warnings.warn(
            f"{path}.end: {sched.describe()} ends at {unit} {sched.end} but training ends at {unit} "
            f"{total_in_unit}: the schedule never reaches its final value{values}. "
            f"Set end={total_in_unit} or raise {limit}; the seed tutorial: 'make sure that the args in "
            "param_scheduler are modified simultaneously'.",
            UserWarning,
            stacklevel=3,
        )


def build_scheduler(
    optimizer: Optimizer,
    param_scheduler_cfg: Any,
    *,
    epoch_length: int | None = None,
    max_iters: int | None = None,
    max_epochs: int | None = None,
    path: str = "param_scheduler",
) -> ParamSchedulerStack:
    """Build the ``param_scheduler`` config as one per-iteration torch ``LRScheduler``.

    Args:
        optimizer: The optimizer (its param groups, with their ``name`` when set), or an
            ``OptimWrapper`` holding it.
        param_scheduler_cfg: ``dict(type=...)`` or a list of them, as in MMEngine configs (built
            rules are accepted too).
        epoch_length: Training iterations per epoch (``len(train_dataloader)``); needed by
            epoch-based entries and ``convert_to_iter_based``.
        max_iters: The train loop's ``max_iters``: default ``end`` of iteration-based entries.
        max_epochs: The train loop's ``max_epochs``: default ``end`` of epoch-based entries.
        path: Config path used in messages.

    Returns:
        A :class:`ParamSchedulerStack`; step it once after every training iteration.

    Raises:
        ConfigError: Unknown type, bad argument, impossible window, missing epoch length; also
            (and a ``TypeError``) when ``optimizer`` is not an optimizer.

    Example:
        >>> import torch
        >>> opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=6e-5)
        >>> s = build_scheduler(opt, [dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
        ...                           dict(type='PolyLR', power=1.0, by_epoch=False, begin=1500, end=160000)])
        >>> opt.param_groups[0]['lr']
        6e-11
    """
    optimizer = _optimizer(optimizer, path)
    bad_length = isinstance(epoch_length, bool) or not isinstance(epoch_length, int) or epoch_length < 1
    if epoch_length is not None and bad_length:
        raise ConfigError(f"epoch_length must be a positive int, got {epoch_length!r}", path=path,
                          fix="pass epoch_length=len(train_dataloader)")
    built: list[tuple[ParamScheduler, str]] = []
    normalized: list[dict[str, Any]] = []
    for cfg, p in _entries(param_scheduler_cfg, path):
        sched, norm = _build_one(cfg, p, epoch_length=epoch_length, max_iters=max_iters, max_epochs=max_epochs)
        built.append((sched, p))
        normalized.append(norm)
    total = max_iters if max_iters is not None else (
        max_epochs * epoch_length if (max_epochs is not None and epoch_length) else None
    )
    _warn_windows(built, epoch_length, total)
    uses_epochs = any(s.by_epoch for s, _ in built) or any(n.get("convert_to_iter_based") for n in normalized)
    signature = json.dumps(
        {"schedulers": normalized, "epoch_length": epoch_length if uses_epochs else None}, sort_keys=True, default=repr
    )
    stack = ParamSchedulerStack(optimizer, built, epoch_length=epoch_length, signature=signature)
    _warn_unfinished(stack, built, epoch_length, total)
    stack.base_stack = _base_stack(optimizer, param_scheduler_cfg, path, epoch_length, max_iters, max_epochs)
    return stack


def _base_stack(
    optimizer: Optimizer, cfg: Any, path: str, epoch_length: int | None, max_iters: int | None, max_epochs: int | None
) -> ParamSchedulerStack | None:
    """The same schedule over MMEngine's ``base_param_settings`` (its ``base_lr``), if the optimizer has them.

    MMEngine's schedulers step that extra "group" (the optimizer's defaults) with the others; a
    rule with one value per param group (``ReduceOnPlateau.min_value`` as a list) leaves it alone.
    """
    from lightning_runtime.optim._wrappers import BASE_PARAM_SETTINGS

    settings = getattr(optimizer, BASE_PARAM_SETTINGS, None)
    if not isinstance(settings, dict):
        return None
    holder = _BaseGroup([settings], optimizer.defaults)
    try:
        with warnings.catch_warnings():  # said once already, by the real stack
            warnings.simplefilter("ignore")
            rules = [(_build_one(c, p, epoch_length=epoch_length, max_iters=max_iters, max_epochs=max_epochs)[0], p)
                     for c, p in _entries(cfg, path)]
            return ParamSchedulerStack(holder, rules, epoch_length=epoch_length)  # type: ignore[arg-type]
    except (ConfigError, ValueError, TypeError):
        return None


class _BaseGroup:
    """What a ParamSchedulerStack reads of an optimizer: ``param_groups`` and ``defaults``."""

    def __init__(self, param_groups: list[dict[str, Any]], defaults: dict[str, Any]) -> None:
        self.param_groups = param_groups
        self.defaults = defaults
