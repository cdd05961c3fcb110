"""``explain``: what a config turns into, before anything runs.

:func:`explain` renders, as text: the Trainer arguments, the callbacks in call order with their
priorities, the param-group table (needs the model), which parameters each ``custom_keys`` entry
matched, and the learning-rate curve of every group over the whole run (sparklines plus values at
the schedule's boundaries). :func:`plot_lr` draws the same curves into a PNG with the window
boundaries marked (matplotlib, the ``plot`` extra).

Nothing here trains, touches ``work_dir`` or steps a real optimizer: the curve is a dry run of the
scheduler (``ParamSchedulerStack.curve``).

Example:
    >>> from lightning_runtime import Runtime
    >>> rt = Runtime(dict(train_cfg=dict(type='IterBasedTrainLoop', max_iters=100),
    ...     optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
    ...     param_scheduler=[dict(type='LinearLR', start_factor=0.1, by_epoch=False, end=10)]))
    >>> print(explain(rt))  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn as nn

from lightning_runtime.errors import ConfigError

__all__ = ["explain", "plot_lr", "lr_curves", "LRCurves", "MAX_DRY_RUN", "NO_MODEL_HINT"]

#: What ``explain`` says when it has no model (text and plot).
NO_MODEL_HINT = ("per-group curves (layer decay, custom_keys, lr_mult) need the model: add a model: "
                 "{class_path, init_args} section, or --model.class_path=pkg.Module "
                 "--model.init_args.NAME=VALUE")

_SPARK = "▁▂▃▄▅▆▇█"
_MAX_SAMPLES = 4000
#: The dry run steps every iteration (chained rules compose per step, as in MMEngine): about
#: 400k steps a second, so a longer run (beyond 300 ImageNet epochs at batch 256) is shown up to here.
MAX_DRY_RUN = 4_000_000


class LRCurves:
    """Learning rate per param group over a run, sampled for display.

    Attributes:
        iterations: Sampled iteration indices (always include 0, every window boundary, the last).
        values: ``{group_name: [lr at each sampled iteration]}``.
        boundaries: ``[(iteration, label)]`` where scheduler windows begin or end.
        total: Number of training iterations in the run.
        span: Iterations the dry run covered: ``total``, or :data:`MAX_DRY_RUN` for a longer run.
    """

    def __init__(self, iterations: list[int], values: dict[str, list[float]],
                 boundaries: list[tuple[int, str]], total: int, span: int | None = None) -> None:
        self.iterations = iterations
        self.values = values
        self.boundaries = boundaries
        self.total = total
        self.span = total if span is None else span

    def at(self, iteration: int) -> dict[str, float]:
        """The lr of every group at a sampled ``iteration``."""
        row = self.iterations.index(iteration)
        return {name: vals[row] for name, vals in self.values.items()}


def _total_iters(rt: Any, epoch_length: int | None) -> int | None:
    """Training iterations of the run (``None`` when an epoch loop's length is unknown)."""
    return rt._schedule_bounds(epoch_length)["max_iters"]


def _boundaries(stack: Any, epoch_length: int | None, total: int) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for slot in getattr(stack, "_core").slots:
        sched = slot.sched
        scale = epoch_length if getattr(sched, "by_epoch", False) and epoch_length else 1
        for edge, what in ((getattr(sched, "begin", 0), "begin"), (getattr(sched, "end", None), "end")):
            if edge is None or not math.isfinite(edge):
                continue
            it = int(edge * scale)
            if 0 < it <= total:
                out.append((it, f"{slot.path}.{what}"))
    return sorted(set(out))


def lr_curves(rt: Any, module: nn.Module | None = None, *, epoch_length: int | None = None,
              samples: int = _MAX_SAMPLES) -> LRCurves:
    """Dry-run the schedule and sample every group's lr over the whole run.

    Args:
        rt: The :class:`~lightning_runtime.runtime._runtime.Runtime`.
        module: The model; without it one stand-in group with the config's base lr is shown.
        epoch_length: Iterations per epoch, needed for epoch-based loops and schedulers.
        samples: Roughly how many iterations to sample (boundaries are always included).
    """
    from lightning_runtime.optim import build_optimizer, build_stand_in_optimizer
    from lightning_runtime.schedulers import build_scheduler

    if rt.cfg.get("optim_wrapper") is None:
        raise ConfigError("missing optim_wrapper", path="optim_wrapper",
                          fix="add optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01))")
    total = _total_iters(rt, epoch_length)
    if total is None:
        raise ConfigError("cannot tell how many iterations the run has", path="train_cfg",
                          fix="give train_cfg; for an epoch-based loop also the epoch length "
                              "(lightning-runtime explain --epoch_length N, or epoch_length=N)")
    wrapper = rt.cfg["optim_wrapper"]
    optimizer = build_optimizer(module, wrapper) if module is not None else build_stand_in_optimizer(wrapper)
    names = [g.get("name", f"pg{i}") for i, g in enumerate(optimizer.param_groups)]
    sched_cfg = rt.cfg.get("param_scheduler")
    if not sched_cfg:
        its = [0, max(total - 1, 0)]
        return LRCurves(its, {n: [g["lr"]] * 2 for n, g in zip(names, optimizer.param_groups)}, [], total)
    stack = build_scheduler(optimizer, sched_cfg, epoch_length=epoch_length, **rt._schedule_bounds(epoch_length))
    span = min(total, MAX_DRY_RUN)
    bounds = _boundaries(stack, epoch_length, span)
    stride = max(1, span // samples)
    picks = set(range(0, span, stride)) | {span - 1}
    for it, _ in bounds:
        picks.update(i for i in (it - 1, it) if 0 <= i < span)
    its = sorted(picks)
    curve = stack.curve(its, params=["lr"])["lr"]
    values = {name: [float(v) for v in curve[:, j]] for j, name in enumerate(names)}
    return LRCurves(its, values, bounds, total, span)


def _sparkline(values: Sequence[float], width: int = 48) -> str:
    if not values:
        return ""
    step = max(1, math.ceil(len(values) / width))
    pts = [max(values[i:i + step]) for i in range(0, len(values), step)]
    lo, hi = min(pts), max(pts)
    if hi <= lo:
        return _SPARK[-1] * len(pts)
    return "".join(_SPARK[min(len(_SPARK) - 1, int((v - lo) / (hi - lo) * (len(_SPARK) - 1) + 0.5))] for v in pts)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(_fmt(v) for v in value) + ")"
    return str(value)


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


def _trainer_section(rt: Any) -> list[str]:
    lines = ["Trainer arguments:"]
    for key, value in sorted(rt.trainer_kwargs().items()):
        if key == "logger":
            value = [type(v).__name__ for v in value] if isinstance(value, list) else type(value).__name__
        elif key == "plugins":
            value = [type(v).__name__ for v in value]
        elif hasattr(value, "__class__") and not isinstance(value, (int, float, str, bool, type(None), list, tuple, dict)):
            value = type(value).__name__
        lines.append(f"  {key}: {value}")
    return lines


class _DropHookOrder(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Hooks will be executed in the following order")


def _callback_section(rt: Any) -> list[str]:
    from lightning_runtime.hooks import HookCallback, priority_name

    lines = ["Callbacks (call order):"]
    # Building the callbacks logs MMEngine's "Hooks will be executed in the following order" table;
    # here the numbered list below is that table, so the log line is held back (said once).
    logger = logging.getLogger("lightning_runtime")
    hold = _DropHookOrder()
    logger.addFilter(hold)
    try:
        callbacks = rt.callbacks()
    finally:
        logger.removeFilter(hold)
    for i, cb in enumerate(callbacks, 1):
        name = type(cb.hook).__name__ if isinstance(cb, HookCallback) else type(cb).__name__
        prio = getattr(cb, "priority", None)
        shown = f"{priority_name(prio)}" if prio is not None else "runtime"
        lines.append(f"  {i:2d}. {name:<28} ({shown})")
    return lines


def _group_section(optimizer: torch.optim.Optimizer) -> list[str]:
    keys = [k for k in ("momentum", "betas") if any(k in g for g in optimizer.param_groups)]
    rows = [["group", "lr", "weight_decay", *keys, "params", "examples"]]
    for i, g in enumerate(optimizer.param_groups):
        names = list(g.get("param_names", []))
        count = sum(p.numel() for p in g["params"])
        example = ", ".join(names[:2]) + (f", ... (+{len(names) - 2})" if len(names) > 2 else "")
        rows.append([str(g.get("name", f"pg{i}")), _fmt(g["lr"]), _fmt(g.get("weight_decay", 0.0)),
                     *[_fmt(g.get(k, "-")) for k in keys], f"{count:,}", example])
    return ["Param groups:", *_table(rows)]


def _custom_keys_section(rt: Any, module: nn.Module) -> list[str]:
    paramwise = (rt.cfg.get("optim_wrapper") or {}).get("paramwise_cfg") or {}
    custom = paramwise.get("custom_keys") or {}
    if not custom:
        return []
    lines = ["custom_keys matches:"]
    from lightning_runtime.optim import optimization_root

    names = [n for n, p in optimization_root(module).named_parameters() if p.requires_grad]
    claimed: set[str] = set()
    for key in sorted(custom, key=lambda k: (-len(k), k)):  # MMEngine's order: longest first
        hits = [n for n in names if key in f".{n}" and n not in claimed]
        claimed.update(hits)
        shown = ", ".join(hits[:3]) + (f", ... (+{len(hits) - 3})" if len(hits) > 3 else "")
        lines.append(f"  {key!r:<24} {len(hits):4d} params  {shown or '(matches nothing)'}")
    return lines


_INF = int(1e9)  # schedulers' INF: an open window
_WINDOW_KEYS = ("type", "begin", "end", "by_epoch", "convert_to_iter_based")


def _schedule_section(rt: Any, epoch_length: int | None) -> list[str]:
    """``param_scheduler`` entry by entry: type, the parameter it drives, its window, its arguments.

    The window is the one MMEngine uses (a missing ``end`` filled with the run's length); an
    epoch window also shows its iterations when the epoch length is known.
    """
    raw = rt.cfg.get("param_scheduler")
    if not raw:
        return []
    entries = list(raw) if isinstance(raw, (list, tuple)) else [raw]
    described: dict[str, Any] = {}
    try:
        from lightning_runtime.optim import build_stand_in_optimizer
        from lightning_runtime.schedulers import build_scheduler

        optimizer = build_stand_in_optimizer(rt.cfg["optim_wrapper"])
        stack = build_scheduler(optimizer, raw, epoch_length=epoch_length, **rt._schedule_bounds(epoch_length))
        described = {slot.path: slot.sched for slot in getattr(stack, "_core").slots}
    except ConfigError:
        pass  # e.g. an epoch window without the epoch length: the entries as written
    rows = [["entry", "type", "param", "window", "arguments"]]
    for i, entry in enumerate(entries):
        path = f"param_scheduler[{i}]" if isinstance(raw, (list, tuple)) else "param_scheduler"
        entry = dict(entry) if isinstance(entry, dict) else {"type": entry}
        sched = described.get(path)
        by_epoch = bool(getattr(sched, "by_epoch", entry.get("by_epoch", True)))
        begin = getattr(sched, "begin", entry.get("begin", 0))
        end = getattr(sched, "end", entry.get("end"))
        end_text = "end of training" if end is None or (isinstance(end, float) and not math.isfinite(end)) \
            or (isinstance(end, int) and end >= _INF) else str(end)
        window = f"{'epochs' if by_epoch else 'iters'} {begin}-{end_text}"
        if by_epoch and epoch_length and end is not None and end_text != "end of training":
            window += f" (iters {int(begin) * epoch_length}-{int(end) * epoch_length})"
        if entry.get("convert_to_iter_based") and entry.get("by_epoch", True):
            # converted to iterations when built: show the epochs as written and the iterations
            written = f"epochs {entry.get('begin', 0)}-{entry.get('end', 'end of training')}"
            window = f"{written} ({window}), per iteration" if not by_epoch else f"{window}, per iteration"
        param = getattr(sched, "param_name", None) or "-"
        args = ", ".join(f"{k}={_fmt(v) if not isinstance(v, list) else '[' + _fmt(v)[1:-1] + ']'}"
                         for k, v in entry.items() if k not in _WINDOW_KEYS)
        rows.append([path, str(entry.get("type")), param, window, args or "-"])
    return ["Schedule (param_scheduler):", *_table(rows)]


def _lr_section(curves: LRCurves) -> list[str]:
    if curves.span < curves.total:
        lines = [f"Learning rate over the first {curves.span:,} of {curves.total:,} iterations "
                 "(the dry run steps every iteration and stops there):"]
    else:
        lines = [f"Learning rate over {curves.total:,} iterations:"]
    width = max(len(n) for n in curves.values)
    for name, vals in curves.values.items():
        lines.append(f"  {name:<{width}}  {_sparkline(vals)}  {_fmt(vals[0])} -> {_fmt(vals[-1])}")
    marks = sorted({0, *[it for it, _ in curves.boundaries if it < curves.span], curves.span - 1})
    if len(curves.values) <= 6:
        rows = [["iter", *curves.values]]
        for it in marks:
            if it in curves.iterations:
                rows.append([str(it), *[_fmt(v) for v in curves.at(it).values()]])
        lines += _table(rows)
    for it, label in curves.boundaries:
        lines.append(f"  boundary at iter {it}: {label}")
    return lines


def explain(rt: Any, module: nn.Module | None = None, *, epoch_length: int | None = None) -> str:
    """Describe everything the config turns into (see the module docstring)."""
    sections = [_trainer_section(rt), _callback_section(rt)]
    if rt.cfg.get("optim_wrapper") is not None:
        if module is not None:
            from lightning_runtime.optim import build_optimizer

            sections.append(_group_section(build_optimizer(module, rt.cfg["optim_wrapper"])))
            sections.append(_custom_keys_section(rt, module))
        else:
            sections.append(["Param groups: no model given. The curve below is one stand-in group with the "
                             "config's base lr;", f"  {NO_MODEL_HINT}"])
        sections.append(_schedule_section(rt, epoch_length))
        if rt.train_loop is not None and _total_iters(rt, epoch_length) is not None:
            sections.append(_lr_section(lr_curves(rt, module, epoch_length=epoch_length)))
        elif rt.train_loop is not None:
            sections.append(["Learning rate: the run is epoch-based and its epoch length unknown; give "
                             "--epoch_length N (explain(..., epoch_length=N)) to see the curves."])
    return "\n\n".join("\n".join(s) for s in sections if s)


def _iteration_ticks() -> Any:
    """Tick labels ``0, 20k, 40k, ...``: short enough not to collide on a 160k-iteration axis."""
    from matplotlib.ticker import FuncFormatter

    def label(x: float, _pos: int) -> str:
        if abs(x) >= 1_000_000:
            return f"{x / 1_000_000:g}M"
        return f"{x / 1000:g}k" if abs(x) >= 1000 else f"{x:g}"

    return FuncFormatter(label)


def plot_lr(rt: Any, path: str, module: nn.Module | None = None, *, epoch_length: int | None = None,
            size: tuple[float, float] = (8.0, 4.5), dpi: int = 100) -> str:
    """Draw every group's learning rate over the run into ``path`` (PNG); returns ``path``.

    Window boundaries (warmup end, poly start, ...) are marked with dotted vertical lines.

    Raises:
        ConfigError: matplotlib is not installed (``pip install 'lightning-runtime[plot]'``).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ConfigError("plotting needs matplotlib", path="--plot",
                          fix="pip install 'lightning-runtime[plot]' (or pip install matplotlib)") from exc
    curves = lr_curves(rt, module, epoch_length=epoch_length)
    # constrained layout keeps the legend (outside, to the right) and the labels inside the figure
    fig, ax = plt.subplots(figsize=size, dpi=dpi, layout="constrained")
    for name, vals in curves.values.items():
        ax.plot(curves.iterations, vals, label=name, linewidth=1.2)
    for it, label in curves.boundaries:
        ax.axvline(it, color="grey", linestyle=":", linewidth=0.8)
    ax.set_xlabel("iteration")
    ax.set_ylabel("learning rate")
    ax.xaxis.set_major_formatter(_iteration_ticks())
    ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
    if module is None:
        ax.set_title("learning rate (no model: one stand-in group)\nper-group curves (layer decay, "
                     "custom_keys) need the model: --model.class_path=...", fontsize=9)
    else:
        ax.set_title("learning rate per param group")
    if 1 < len(curves.values) <= 12:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, frameon=False)
    fig.savefig(path)
    plt.close(fig)
    return path
