"""One Lightning callback that calls a run of the runtime's hook callbacks, in priority order.

Lightning calls every hook point of every callback in ``trainer.callbacks`` (six per training
iteration) through its dispatch and profiler context, whether the callback overrides the point or
not: about 1.6 µs each on a 2-core CPU. :func:`dispatch_hooks` packs each run of consecutive
runtime hook callbacks (``RuntimeInfoHook``, a user's ``NewHook`` wrapped in ``HookCallback``,
``IterTimerHook``, ``DistSamplerSeedHook``, ``LoggerHook``, ``ParamSchedulerHook``, ...) into one
:class:`HookDispatcher`: Lightning dispatches to it once per point, and it calls, in the order
given (the priority order), only the callbacks that override that point.

What is packed is what nothing outside the run can tell apart: callbacks of this package's own
classes without state of their own (``state_dict`` not overridden) and not derived from a Lightning
callback that the Trainer looks for by type (``EarlyStopping``, ``Checkpoint``, weight averaging).
Stateful ones (``CheckpointHook``, ``SegVisualizationHook``), Lightning's and the user's own
callbacks stay in ``trainer.callbacks`` as they are, at their place, so checkpoints hold the same
``callbacks`` entries and Lightning finds the callbacks it looks for. Each callback keeps its
``setup``/``teardown`` and every hook point; it can still be used alone in any Trainer.

:func:`flat_callbacks` lists a Trainer's callbacks with the packed ones in place (the runtime's
hooks find each other through it).

The other half of that dispatch cost is the profiler context Lightning opens around every hook call
(about a hundred per training iteration, callbacks, module and strategy hooks together): with no
profiler asked for, Lightning's ``PassThroughProfiler`` still makes a generator-based context each
time. :class:`NoOpProfiler` is that profiler with one shared, reusable empty context; the Runtime's
Trainer gets it unless a ``profiler`` is given (``trainer: profiler: simple`` works as always).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from lightning.pytorch import Callback
from lightning.pytorch.profilers import PassThroughProfiler

__all__ = ["HookDispatcher", "NoOpProfiler", "dispatch_hooks", "flat_callbacks", "packable"]

#: Every hook point of Lightning's ``Callback`` the dispatcher forwards (state is never packed).
HOOK_POINTS: tuple[str, ...] = tuple(
    name for name in vars(Callback)
    if (name.startswith("on_") or name in ("setup", "teardown")) and callable(vars(Callback)[name])
    and name not in ("on_save_checkpoint", "on_load_checkpoint")
) + ("on_save_checkpoint", "on_load_checkpoint")


def _overrides(cb: Callback, name: str) -> bool:
    return getattr(type(cb), name, None) is not getattr(Callback, name) or name in vars(cb)


def packable(cb: Any) -> bool:
    """Whether ``cb`` can be called through a :class:`HookDispatcher` without anyone noticing.

    True for this package's own callback classes that keep no state in checkpoints and do not
    derive from a Lightning callback other than ``Callback`` itself.
    """
    if not isinstance(cb, Callback) or isinstance(cb, HookDispatcher):
        return False
    cls = type(cb)
    if not cls.__module__.startswith("lightning_runtime."):
        return False
    if _overrides(cb, "state_dict") or _overrides(cb, "load_state_dict"):
        return False
    return all(not base.__module__.startswith(("lightning.", "pytorch_lightning.")) or base is Callback
               for base in cls.__mro__)


class HookDispatcher(Callback):
    """Calls ``callbacks`` in the given order from one Lightning callback (see the module doc).

    Args:
        callbacks: The callbacks, in call order (priority order under the Runtime).

    Example:
        >>> from lightning_runtime.callbacks import IterTimerHook, LoggerHook
        >>> d = HookDispatcher([IterTimerHook(), LoggerHook(interval=5)])
        >>> [type(cb).__name__ for cb in d.callbacks]
        ['IterTimerHook', 'LoggerHook']
    """

    def __init__(self, callbacks: Sequence[Callback]) -> None:
        self.callbacks: list[Callback] = list(callbacks)
        self._calls: dict[str, list[Callable[..., Any]]] = {
            point: [getattr(cb, point) for cb in self.callbacks if _overrides(cb, point)] for point in HOOK_POINTS
        }

    @property
    def state_key(self) -> str:
        # read by Lightning at every hook point (its profiler's label): computed once
        key = self.__dict__.get("_state_key")
        if key is None:
            key = self.__dict__["_state_key"] = self._generate_state_key(
                callbacks=[cb.state_key for cb in self.callbacks])
        return key

    def __repr__(self) -> str:
        return f"HookDispatcher({', '.join(type(cb).__name__ for cb in self.callbacks)})"


def _forward(point: str) -> Callable[..., None]:
    def hook(self: HookDispatcher, *args: Any, **kwargs: Any) -> None:
        for fn in self._calls[point]:
            fn(*args, **kwargs)

    hook.__name__ = hook.__qualname__ = point
    hook.__doc__ = f"Call ``{point}`` of every packed callback that overrides it, in order."
    return hook


for _point in HOOK_POINTS:
    setattr(HookDispatcher, _point, _forward(_point))


def dispatch_hooks(callbacks: Sequence[Callback]) -> list[Callback]:
    """``callbacks`` with each run of two or more consecutive :func:`packable` ones in one :class:`HookDispatcher`."""
    out: list[Callback] = []
    run: list[Callback] = []

    def close() -> None:
        if len(run) > 1:
            out.append(HookDispatcher(run))
        else:
            out.extend(run)
        run.clear()

    for cb in callbacks:
        if packable(cb):
            run.append(cb)
        else:
            close()
            out.append(cb)
    close()
    return out


def flat_callbacks(trainer: Any) -> Iterator[Any]:
    """``trainer.callbacks`` in order, each :class:`HookDispatcher` replaced by the callbacks it calls."""
    for cb in getattr(trainer, "callbacks", None) or []:
        if isinstance(cb, HookDispatcher):
            yield from cb.callbacks
        else:
            yield cb


class NoOpProfiler(PassThroughProfiler):
    """Lightning's ``PassThroughProfiler`` (records nothing) without a new context per profiled call.

    Example:
        >>> with NoOpProfiler().profile("[Callback]x.on_train_batch_start"):
        ...     pass
    """

    _NULL = contextlib.nullcontext()

    def profile(self, action_name: str) -> Any:  # a reusable context, where the base makes a generator per call
        return self._NULL
