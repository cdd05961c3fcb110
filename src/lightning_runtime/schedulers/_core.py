"""The stepping engine of a scheduler stack, free of any optimizer.

:class:`SchedulerCore` holds the current value of every scheduled hyper-parameter for every param
group and advances them iteration by iteration in MMEngine's order:

* after iteration ``t - 1`` ends (MMEngine's ``after_train_iter``), every iteration-based rule whose
  window holds ``t`` steps, in list order;
* when ``t`` is a multiple of ``epoch_length`` (``after_train_epoch``), every epoch-based rule whose
  window holds epoch ``t // epoch_length`` steps, in list order;
* at construction (iteration 0) every rule whose window holds step 0 takes its first step, in
  list order, as MMEngine's scheduler constructors do.

A core is cheap to ``copy.deepcopy``: the stack keeps one for the live run and replays copies for
dry runs (``curve``/``value_at``) and for following a changed config after resume.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lightning_runtime.schedulers._base import ParamScheduler

__all__ = ["Slot", "SchedulerCore"]


@dataclass
class Slot:
    """One config entry in the stack: the rule, the key it writes and where it came from."""

    sched: ParamScheduler
    param: str
    path: str

    @property
    def begin(self) -> int:
        return self.sched.begin

    @property
    def end(self) -> int:
        return self.sched.end


class SchedulerCore:
    """Current values plus the rules that move them (see the module docstring).

    Args:
        slots: The rules, in config order (already set up with their base values).
        cur: Current values per param key, one float per group.
        epoch_length: Iterations per epoch (needed when a rule is epoch-based).
    """

    # (begin, end, get_value, param) per iteration-based rule; set by the first step_one().
    _fast: list[tuple[int, int, Callable[[int, list[float]], list[float] | None], str]]

    def __init__(self, slots: list[Slot], cur: dict[str, list[float]], epoch_length: int | None) -> None:
        self.slots = slots
        self.cur = cur
        self.epoch_length = epoch_length
        self.last_iter = 0
        self.iter_slots = [s for s in slots if not s.sched.by_epoch and not s.sched.need_val_args]
        self.epoch_slots = [s for s in slots if s.sched.by_epoch and not s.sched.need_val_args]
        self.plateau_slots = [s for s in slots if s.sched.need_val_args]

    def first_step(self, slot: Slot) -> bool:
        """Construction step of one rule (global step 0). Returns whether values changed."""
        if slot.sched.need_val_args or not (slot.begin <= 0 < slot.end):
            return False
        value = slot.sched.get_value(0, self.cur[slot.param])
        if value is None:
            return False
        self.cur[slot.param] = value
        return True

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_fast", None)  # bound methods: rebuilt on demand
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def step_one(self) -> list[str] | None:
        """Advance exactly one iteration when no rule is epoch-based (the hot path).

        Returns the keys whose values changed, or ``None``.
        """
        try:
            fast = self._fast
        except AttributeError:
            fast = self._fast = [(s.sched.begin, s.sched.end, s.sched.get_value, s.param) for s in self.iter_slots]
        t = self.last_iter = self.last_iter + 1
        cur = self.cur
        changed = None
        for begin, end, get_value, param in fast:
            if begin <= t < end:
                value = get_value(t - begin, cur[param])
                if value is not None:
                    cur[param] = value
                    if changed is None:
                        changed = [param]
                    elif param not in changed:
                        changed.append(param)
        return changed

    def advance(self, target: int) -> set[str]:
        """Step forward to iteration ``target``; returns the keys whose values changed."""
        if target == self.last_iter + 1 and not self.epoch_slots:
            return set(self.step_one() or ())
        changed: set[str] = set()
        cur = self.cur
        iter_slots, epoch_slots, length = self.iter_slots, self.epoch_slots, self.epoch_length
        for t in range(self.last_iter + 1, target + 1):
            for s in iter_slots:
                sched = s.sched
                if sched.begin <= t < sched.end:
                    value = sched.get_value(t - sched.begin, cur[s.param])
                    if value is not None:
                        cur[s.param] = value
                        changed.add(s.param)
            if epoch_slots and t % length == 0:  # type: ignore[operator]
                epoch = t // length  # type: ignore[operator]
                for s in epoch_slots:
                    sched = s.sched
                    if sched.begin <= epoch < sched.end:
                        value = sched.get_value(epoch - sched.begin, cur[s.param])
                        if value is not None:
                            cur[s.param] = value
                            changed.add(s.param)
        if target > self.last_iter:
            self.last_iter = target
        return changed

    def feed_metrics(self, metrics: Mapping[str, float]) -> set[str]:
        """MMEngine's ``after_val_epoch``: feed every plateau rule whose window holds now."""
        changed: set[str] = set()
        for s in self.plateau_slots:
            sched = s.sched
            now = self.last_iter // self.epoch_length if sched.by_epoch else self.last_iter  # type: ignore[operator]
            if not sched.begin <= now < sched.end:
                continue
            value = sched.update(float(metrics[sched.monitor]), self.cur[s.param])  # type: ignore[attr-defined]
            if value is not None:
                self.cur[s.param] = value
                changed.add(s.param)
        return changed

    def state_dict(self) -> dict[str, Any]:
        return {
            "last_iter": self.last_iter,
            "cur": {k: list(v) for k, v in self.cur.items()},
            "schedulers": [s.sched.state_dict() for s in self.slots],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.last_iter = int(state["last_iter"])
        self.cur = {k: [float(x) for x in v] for k, v in state["cur"].items()}
        for slot, sub in zip(self.slots, state["schedulers"]):
            slot.sched.load_state_dict(sub)
