"""``ParamSchedulerStack``: the whole ``param_scheduler`` list as one torch ``LRScheduler``.

Stepped once after each training iteration: the values of iteration ``i`` are in the optimizer
after ``i`` calls of :meth:`~ParamSchedulerStack.step` (iteration 0's right after construction).
With a clock attached (:meth:`~ParamSchedulerStack.attach_clock`, done by the
``ParamSchedulerHook`` callback), ``step()`` means "advance to ``clock()``" and is idempotent, so
the extra ``step()`` Lightning makes after optimizer steps changes nothing.

Example:
    >>> import torch
    >>> from lightning_runtime.schedulers import build_scheduler
    >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.01)
    >>> sched = build_scheduler(opt, [
    ...     dict(type='LinearLR', start_factor=0.1, begin=0, end=1000, by_epoch=False),
    ...     dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=1000, end=160000, by_epoch=False)])
    >>> round(sched.value_at(500)['lr'][0], 8), round(sched.value_at(159999)['lr'][0], 8)
    (0.0055045, 0.0001)
"""

from __future__ import annotations

import copy
import json
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from lightning_runtime.errors import ConfigError, did_you_mean
from lightning_runtime.schedulers._base import ParamScheduler
from lightning_runtime.schedulers._core import SchedulerCore, Slot

__all__ = ["ParamSchedulerStack"]

_SNAPSHOT_EVERY = 4096
_FORMAT = "lightning_runtime.ParamSchedulerStack/1"


def _group_name(group: Mapping[str, Any], index: int) -> str:
    return str(group.get("name", f"group {index}"))


class ParamSchedulerStack(LRScheduler):
    """All schedulers of a config composed as MMEngine composes them (see ``docs/schedulers.md``).

    Built by :func:`~lightning_runtime.schedulers.build_scheduler`; constructing it directly takes
    the built rules.

    Args:
        optimizer: The optimizer whose param groups it drives.
        schedulers: ``(rule, config path)`` pairs in config order.
        epoch_length: Iterations per epoch; required when a rule is epoch-based.
        signature: Identifies the config; a checkpoint from another config is not restored blindly.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        schedulers: Sequence[tuple[ParamScheduler, str]],
        *,
        epoch_length: int | None = None,
        signature: str = "",
    ) -> None:
        # LRScheduler.__init__ is not called: it would wrap optimizer.step and step once itself.
        self.optimizer = optimizer
        self.epoch_length = epoch_length
        self._clock: Callable[[], int] | None = None
        self._betas: set[str] = set()
        #: The same schedule over MMEngine's ``base_param_settings`` (see ``build_scheduler``).
        self.base_stack: ParamSchedulerStack | None = None
        groups = optimizer.param_groups
        cur: dict[str, list[float]] = {}
        initial: dict[str, list[float]] = {}
        slots: list[Slot] = []
        for sched, path in schedulers:
            param = self._resolve_param(sched, path)
            if param not in cur:
                cur[param] = self._read(param)
            if param not in initial:
                initial[param] = [float(g.setdefault(f"initial_{param}", v)) for g, v in zip(groups, cur[param])]
            try:
                new_initial = sched.setup(list(initial[param]))
            except ConfigError as err:
                raise err.with_location(path=path)
            if new_initial is not None:
                initial[param] = [float(v) for v in new_initial]
                for g, v in zip(groups, initial[param]):
                    g[f"initial_{param}"] = v
            slots.append(Slot(sched, param, path))
        core = SchedulerCore(slots, cur, epoch_length)
        for slot in slots:  # MMEngine's constructors each take step 0, in list order
            core.first_step(slot)
        self._core = core
        self._initial = initial
        self._signature = json.dumps(
            {"cfg": signature, "groups": len(groups), "initial": initial},
            sort_keys=True,
        )
        self._snapshots: dict[int, SchedulerCore] = {0: copy.deepcopy(core)}
        self.base_lrs = list(initial["lr"]) if "lr" in initial else [g["lr"] for g in groups]
        self._step_count = 1
        self.verbose = False
        self._write(set(cur))
        self._warn_eta_min()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_clock"] = None  # a Trainer-bound callable; re-attached by ParamSchedulerHook
        return state

    # ------------------------------------------------------------------ setup helpers
    def _resolve_param(self, sched: ParamScheduler, path: str) -> str:
        groups = self.optimizer.param_groups
        defaults = self.optimizer.defaults
        param = sched.param_name
        opt_name = type(self.optimizer).__name__
        if sched.momentum_via_betas:
            if "momentum" in defaults:
                return "momentum"
            if "betas" in defaults:
                self._betas.add("momentum")
                return "momentum"
            raise ConfigError(
                f"{type(sched).__name__} needs an optimizer with momentum or betas; {opt_name} has neither",
                path=f"{path}.type",
                fix="remove this momentum scheduler or use an optimizer with momentum (SGD) or betas (AdamW)",
            )
        missing = [i for i, g in enumerate(groups) if param not in g]
        if missing:
            raise ConfigError(
                f"{opt_name} param group {missing[0]} has no {param!r} to schedule",
                path=f"{path}.param_name",
                candidates=did_you_mean(param, [k for k in groups[missing[0]] if k != "params"]),
                fix="name a hyper-parameter of the optimizer's param groups, e.g. 'lr' or 'weight_decay'",
            )
        bad = [g[param] for g in groups if isinstance(g[param], bool) or not isinstance(g[param], (int, float))]
        if bad:
            raise ConfigError(f"{param!r} is {bad[0]!r}, not a number", path=f"{path}.param_name",
                              fix="schedule a numeric hyper-parameter such as 'lr', 'momentum' or 'weight_decay'")
        return param

    def _read(self, param: str) -> list[float]:
        groups = self.optimizer.param_groups
        if param in self._betas:
            return [float(g["betas"][0]) for g in groups]
        return [float(g[param]) for g in groups]

    def _write(self, params: Iterable[str]) -> None:
        groups = self.optimizer.param_groups
        cur = self._core.cur
        betas = self._betas
        for param in params:
            values = cur[param]
            if betas and param in betas:
                for g, v in zip(groups, values):  # MMEngine keeps both, equal
                    g["betas"] = (v, g["betas"][1])
                    g["momentum"] = v
            else:
                for g, v in zip(groups, values):
                    g[param] = v
        self.last_epoch = self._core.last_iter

    def _warn_eta_min(self) -> None:
        groups = self.optimizer.param_groups
        for slot in self._core.slots:
            floor = slot.sched.min_value_hint()
            if not floor:
                continue
            base = slot.sched.base_values
            low = [_group_name(groups[i], i) for i in range(len(base)) if base[i] < floor]
            if low:
                shown = ", ".join(low[:5]) + (f" and {len(low) - 5} more" if len(low) > 5 else "")
                warnings.warn(
                    f"{slot.path}: eta_min={floor} is larger than the base {slot.param} of {shown}; "
                    f"{slot.param} will rise towards eta_min instead of falling. Use eta_min_ratio "
                    "(a fraction of each group's base value) with layer decay, or lower eta_min.",
                    UserWarning,
                    stacklevel=3,
                )

    # ------------------------------------------------------------------ stepping
    @property
    def last_iter(self) -> int:
        """Iterations stepped so far: the optimizer holds the values of iteration ``last_iter``."""
        return self._core.last_iter

    @property
    def schedulers(self) -> list[ParamScheduler]:
        """The rules, in config order."""
        return [s.sched for s in self._core.slots]

    @property
    def monitored_metrics(self) -> list[str]:
        """Validation metrics the ``ReduceOnPlateau*`` rules read (empty when there are none)."""
        return [s.sched.monitor for s in self._core.plateau_slots]  # type: ignore[attr-defined]

    def attach_clock(self, clock: Callable[[], int] | None) -> None:
        """Make ``step()`` advance to ``clock()`` (training iterations done) instead of by one."""
        self._clock = clock

    def step(self, epoch: int | None = None) -> None:
        """Advance one iteration, or to ``clock()`` when a clock is attached (idempotent then)."""
        if epoch is not None:
            self.advance_to(int(epoch))
            return
        core = self._core
        last = core.last_iter
        clock = self._clock
        target = last + 1 if clock is None else clock()
        if target <= last:
            return
        if target == last + 1 and not core.epoch_slots:  # the hot path: one iteration
            changed = core.step_one()
            if changed:
                self._write(changed)
            else:
                self.last_epoch = target
            if self.base_stack is not None:
                self.base_stack.advance_to(target)
        else:
            self.advance_to(target)

    def advance_to(self, iteration: int) -> None:
        """Put the values of ``iteration`` into the optimizer (going back replays the config)."""
        if iteration < self._core.last_iter:
            if self._core.plateau_slots:
                warnings.warn("going back in time drops ReduceOnPlateau reductions", UserWarning, stacklevel=2)
            self._core = self._replay(iteration)
            self._write(self._core.cur)
        else:
            changed = self._core.advance(iteration)
            if changed:
                self._write(changed)
            else:
                self.last_epoch = self._core.last_iter
        if self.base_stack is not None:
            with warnings.catch_warnings():  # the main stack has said it
                warnings.simplefilter("ignore")
                self.base_stack.advance_to(iteration)

    def step_metrics(self, metrics: Mapping[str, Any]) -> None:
        """Feed validation results to the ``ReduceOnPlateau*`` rules (MMEngine's ``after_val_epoch``).

        Args:
            metrics: Metric name -> value (``trainer.callback_metrics``, an evaluator's results).

        Raises:
            TypeError: When ``metrics`` is not a mapping.
            ConfigError: When a monitored metric is missing (names the closest logged ones).
        """
        if not isinstance(metrics, Mapping):
            raise TypeError(f"metrics must be a mapping of metric name to value, e.g. {{'loss': 0.3}}; "
                            f"got {type(metrics).__name__} {metrics!r}"[:300])
        for slot in self._core.plateau_slots:
            name = slot.sched.monitor  # type: ignore[attr-defined]
            if name not in metrics:
                raise ConfigError(
                    f"metric {name!r} was not logged by validation; logged: {sorted(metrics) or 'nothing'}",
                    path=f"{slot.path}.monitor",
                    candidates=did_you_mean(name, list(metrics)),
                    fix="set monitor to a metric your validation logs (self.log(...) or val_evaluator)",
                )
        changed = self._core.feed_metrics(metrics)
        if changed:
            self._write(changed)
        if self.base_stack is not None:
            self.base_stack.step_metrics(metrics)

    def get_last_lr(self) -> list[float | torch.Tensor]:  # LRScheduler's type; floats here
        """The learning rate of every group now (what the optimizer will use)."""
        return [g["lr"] for g in self.optimizer.param_groups]

    def get_lr(self) -> list[float | torch.Tensor]:  # LRScheduler's type; floats here
        """The current learning rate of every group."""
        return [g["lr"] for g in self.optimizer.param_groups]

    # ------------------------------------------------------------------ dry runs
    def _replay(self, iteration: int) -> SchedulerCore:
        start = max(k for k in self._snapshots if k <= iteration)
        core = copy.deepcopy(self._snapshots[start])
        while core.last_iter < iteration:
            stop = min(iteration, (core.last_iter // _SNAPSHOT_EVERY + 1) * _SNAPSHOT_EVERY)
            core.advance(stop)
            if stop % _SNAPSHOT_EVERY == 0 and stop not in self._snapshots:
                self._snapshots[stop] = copy.deepcopy(core)
        return core

    def value_at(self, iteration: int) -> dict[str, list[float]]:
        """Values of every scheduled key (``'lr'``, ``'momentum'``, ...) per group at ``iteration``.

        A dry run from the config: the optimizer is not touched and ``ReduceOnPlateau`` reductions
        (which depend on metrics) are not included.
        """
        if iteration < 0:
            raise ValueError(f"iteration must be >= 0, got {iteration}")
        core = self._replay(int(iteration))
        return {k: list(v) for k, v in core.cur.items()}

    def curve(self, iterations: int | Sequence[int], params: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """Values over many iterations in one dry run: ``{key: array[len(iterations), n_groups]}``.

        Args:
            iterations: A count ``n`` (iterations ``0..n-1``) or increasing iteration indices.
            params: Keys to record (default: every scheduled key).
        """
        if isinstance(iterations, (int, np.integer)):
            its = list(range(int(iterations)))
        else:
            its = [int(i) for i in iterations]
        if any(b < a for a, b in zip(its, its[1:])):
            raise ValueError("iterations must be increasing")
        keys = list(self._core.cur) if params is None else list(params)
        unknown = [k for k in keys if k not in self._core.cur]
        if unknown:
            raise KeyError(f"{unknown[0]!r} is not scheduled; scheduled keys: {list(self._core.cur)}")
        n_groups = len(self.optimizer.param_groups)
        if not its:
            return {k: np.empty((0, n_groups)) for k in keys}
        core = self._replay(its[0])
        # Dry-run mode: values as ndarrays over groups (same IEEE operations, bit-identical values).
        cur: dict[str, Any] = core.cur
        for k in list(cur):
            cur[k] = np.array(cur[k], dtype=float)
        out = {k: np.empty((len(its), n_groups)) for k in keys}
        step_one = None if core.epoch_slots else core.step_one
        for row, it in enumerate(its):
            if step_one is None:
                core.advance(it)
            else:
                while core.last_iter < it:
                    step_one()
            for k in keys:
                out[k][row] = cur[k]
        return out

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """Counters, current values and rule state; restoring it continues bit-for-bit."""
        state = self._core.state_dict()
        state.update(format=_FORMAT, signature=self._signature, initial={k: list(v) for k, v in self._initial.items()})
        return state

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore a checkpoint's state, or follow this (changed) config from its iteration.

        When the checkpoint was written with a different ``param_scheduler`` (or other base values,
        param groups or epoch length), the saved values are not reused: the current config is
        replayed to the saved iteration and one warning says so (MMEngine silently keeps the old
        schedule, mmengine#1565).
        """
        if state_dict.get("format") != _FORMAT:
            raise ValueError("not a ParamSchedulerStack state (was the checkpoint written by another scheduler?)")
        iteration = int(state_dict["last_iter"])
        if state_dict.get("signature") == self._signature:
            self._core.load_state_dict(state_dict)
        else:
            warnings.warn(
                f"param_scheduler differs from the one in the checkpoint (schedule, base values, param "
                f"groups or epoch length); following the current config from iteration {iteration} "
                "instead of the checkpoint's schedule.",
                UserWarning,
                stacklevel=2,
            )
            self._core = self._replay(iteration)
        self._write(self._core.cur)
        if self.base_stack is not None:
            self.base_stack.advance_to(iteration)

    def describe(self) -> list[str]:
        """One line per rule: ``param_scheduler[1]: PolyLR(lr, 1000-160000 iters)``."""
        return [f"{s.path}: {s.sched.describe()}" for s in self._core.slots]
