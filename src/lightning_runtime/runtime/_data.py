"""The training data as MMEngine's loops read it: passes, per-pass permutations, exact resume.

MMEngine's ``IterBasedTrainLoop`` reads the train dataloader through an infinite iterator
(``_InfiniteDataloaderIterator``): when a pass ends it calls ``sampler.set_epoch(pass)`` and starts
the next one, while ``runner.epoch`` stays 0. Gradient-accumulation windows therefore run across
passes. Lightning ends an epoch (and an accumulation window) at the end of each pass, so the
runtime hands Lightning *one* epoch of exactly ``max_iters`` batches instead:

* :class:`PassLoader` re-iterates the user's loader pass after pass (``set_epoch`` on each new
  pass, as MMEngine) and is *stateful*: Lightning saves ``state_dict()`` (pass, position in it,
  seed) in every checkpoint, and a resumed run continues at the very next batch by skipping
  sampler indices of the current pass (no batch is loaded and thrown away).
* :class:`PassSampler` replaces a plain ``RandomSampler`` (``shuffle=True``; under DDP a
  ``SequentialSampler`` too) with MMEngine's ``DefaultSampler`` semantics: the permutation of pass ``p`` is ``randperm(n, seed + p)``, so it
  can be reproduced after a restart, and under DDP the indices are sharded per rank exactly as
  ``DefaultSampler(round_up=True)`` (and torch's ``DistributedSampler``) shard them.
* :class:`TrainDataControl` (a callback the Runtime adds) puts the wrapper between Lightning and
  whatever gives the training data (``fit(train_dataloaders=...)``, a datamodule, the module's
  ``train_dataloader()``). For an epoch-based loop the wrapper yields one pass per epoch with the
  same per-pass permutation and exact mid-epoch resume.

``trainer.train_dataloader`` (``runner.train_dataloader`` for hooks) stays the user's loader, or
its copy carrying the :class:`PassSampler` (same dataset, batch size and, per rank, length): the
loader MMEngine would show. Collections of loaders (dict/list/``CombinedLoader``) are left to
Lightning unchanged.

Example:
    >>> import torch
    >>> from torch.utils.data import DataLoader, TensorDataset
    >>> dl = DataLoader(TensorDataset(torch.arange(5.)), batch_size=2)  # 3 batches per pass
    >>> w = PassLoader(dl, max_iters=7, seed=0)
    >>> len(w), [b[0].tolist() for b, _ in zip(w, range(7))]
    (7, [[0.0, 1.0], [2.0, 3.0], [4.0], [0.0, 1.0], [2.0, 3.0], [4.0], [0.0, 1.0]])
"""

from __future__ import annotations

import inspect
import itertools
import logging
import math
import secrets
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities.combined_loader import CombinedLoader
from torch.utils.data import BatchSampler, DataLoader, IterableDataset, RandomSampler, Sampler, SequentialSampler

from lightning_runtime.runtime import _lightning_compat as compat
from lightning_runtime.runtime._context import LoopSpec
from lightning_runtime.utils import dist_info

__all__ = ["PassSampler", "PassLoader", "TrainDataControl"]

log = logging.getLogger("lightning_runtime")

_STATE_VERSION = 1


class PassSampler(Sampler[int]):
    """MMEngine's ``DefaultSampler``: one seeded permutation per pass, sharded per rank.

    Args:
        size: Dataset length.
        shuffle: ``randperm(size)`` seeded with ``seed + epoch`` (else ``0..size-1``).
        seed: The run seed.
        rank: This process's rank.
        world_size: Number of processes; indices are padded by repetition to a multiple of it and
            rank ``r`` takes ``indices[r::world_size]`` (``round_up=True``).

    Example:
        >>> s = PassSampler(5, shuffle=False, seed=0, rank=1, world_size=2)
        >>> list(s), len(s)
        ([1, 3, 0], 3)
    """

    def __init__(self, size: int, shuffle: bool, seed: int, rank: int = 0, world_size: int = 1) -> None:
        self.size, self.shuffle, self.seed = int(size), bool(shuffle), int(seed)
        self.rank, self.world_size = int(rank), int(world_size)
        self.epoch = 0
        self.num_samples = math.ceil(self.size / self.world_size)
        self.total_size = self.num_samples * self.world_size

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[int]:
        if self.shuffle:
            g = torch.Generator()
            g.manual_seed(self.seed + self.epoch)
            indices = torch.randperm(self.size, generator=g).tolist()
        else:
            indices = list(range(self.size))
        if self.size:
            indices = (indices * (self.total_size // self.size + 1))[: self.total_size]
        return iter(indices[self.rank : self.total_size : self.world_size])

    def __len__(self) -> int:
        return self.num_samples


class _Skip:
    """A (batch) sampler without its first ``skip`` items: resuming mid-pass costs no data loading."""

    def __init__(self, sampler: Any, skip: int) -> None:
        self.sampler, self.skip = sampler, skip

    def __iter__(self) -> Iterator[Any]:
        return itertools.islice(iter(self.sampler), self.skip, None)

    def __len__(self) -> int:
        return max(len(self.sampler) - self.skip, 0)


_COPIED = [p for p in inspect.signature(DataLoader.__init__).parameters
           if p not in ("self", "dataset", "batch_size", "shuffle", "sampler", "batch_sampler", "drop_last")]


def _loader_kwargs(dl: DataLoader) -> dict[str, Any]:
    kwargs = {name: getattr(dl, name) for name in _COPIED if hasattr(dl, name)}
    if not dl.num_workers:
        kwargs.pop("prefetch_factor", None)
        kwargs["persistent_workers"] = False
    return kwargs


def _is_plain_map_loader(dl: Any) -> bool:
    return type(dl) is DataLoader and not isinstance(dl.dataset, IterableDataset)


def _is_stateful(obj: Any) -> bool:
    return callable(getattr(obj, "state_dict", None)) and callable(getattr(obj, "load_state_dict", None))


def _rank_aware(sampler: Any) -> bool:
    return sampler is not None and hasattr(sampler, "rank") and (hasattr(sampler, "world_size") or hasattr(sampler, "num_replicas"))


class PassLoader:
    """The user's train loader, read pass after pass like MMEngine, with an exact, resumable position.

    Args:
        loader: The user's iterable (usually a ``DataLoader``).
        max_iters: Iteration-based loop: Lightning sees one epoch of ``max_iters`` batches (the
            passes are chained). ``None``: epoch-based, one pass per Lightning epoch.
        seed: Seed of the per-pass permutation (MMEngine's sampler seed); ``None`` draws one
            (the same on every rank) and keeps it in the checkpoint.
        shard: Under DDP, shard a plain sampler per rank (a sampler with ``rank`` attributes is
            already sharded and is kept).
        epoch_fn: Epoch-based loops: the current epoch (``trainer.current_epoch``).

    Attributes:
        set_epochs: The ``set_epoch`` values this wrapper passed to the sampler, in order.
    """

    def __init__(self, loader: Any, *, max_iters: int | None = None, seed: int | None = None, shard: bool = True,
                 epoch_fn: Callable[[], int] | None = None) -> None:
        self.loader = loader
        self.max_iters = max_iters
        self.seed = seed
        self.shard = shard
        self.epoch_fn = epoch_fn
        self.set_epochs: list[int] = []
        self._pass = 0
        self._offset = 0
        self._consumed = 0
        self._restored = False
        self._inner_state: Any = None
        self._view: Any = None
        self._epoch_targets: list[Any] = []
        self._warned_discard = False

    # ------------------------------------------------------------------ the loader per pass
    def _setup(self) -> None:
        if self._view is not None:
            return
        rank, world = dist_info()
        if self.seed is None:
            seed = [secrets.randbelow(2**31)]
            if world > 1:
                torch.distributed.broadcast_object_list(seed, src=0)
            self.seed = int(seed[0])
        dl = self.loader
        view = dl
        sampler = getattr(dl, "sampler", None)
        if _is_plain_map_loader(dl) and (dl.batch_sampler is None or type(dl.batch_sampler) is BatchSampler):
            shard = world > 1 and self.shard
            shuffled = type(sampler) is RandomSampler and not sampler.replacement and sampler._num_samples is None
            if shuffled or (type(sampler) is SequentialSampler and shard):
                sampler = PassSampler(len(dl.dataset), shuffled, self.seed, rank if shard else 0, world if shard else 1)
                view = DataLoader(dl.dataset, batch_size=dl.batch_size, sampler=sampler, drop_last=dl.drop_last,
                                  **_loader_kwargs(dl))
            elif shard and sampler is not None and type(sampler) is not SequentialSampler and not _rank_aware(sampler):
                sampler = compat.DistributedSamplerWrapper(sampler, num_replicas=world, rank=rank, shuffle=False)
                view = DataLoader(dl.dataset, batch_size=dl.batch_size, sampler=sampler, drop_last=dl.drop_last,
                                  **_loader_kwargs(dl))
        self._view = view
        # MMEngine's lookup: loader.sampler.set_epoch, else loader.batch_sampler.sampler.set_epoch
        target = getattr(view, "sampler", None)
        if not hasattr(target, "set_epoch"):
            target = getattr(getattr(view, "batch_sampler", None), "sampler", None)
        self._epoch_targets = [target] if hasattr(target, "set_epoch") else []
        inner = compat.unforwarded_set_epoch_sampler(sampler)  # DistributedSamplerWrapper: the user's sampler
        if inner is not None:
            self._epoch_targets.append(inner)

    @property
    def view(self) -> Any:
        """The loader hooks see as ``runner.train_dataloader`` (the user's, or its copy with :class:`PassSampler`)."""
        self._setup()
        return self._view

    def pass_length(self) -> int | None:
        """Batches per pass on this rank (``len(train_dataloader)`` in MMEngine), ``None`` if unsized."""
        try:
            return len(self.view)
        except TypeError:
            return None

    def __len__(self) -> int:
        if self.max_iters is not None:
            return self.max_iters
        n = self.pass_length()
        if n is None:
            raise TypeError("the training iterable has no length")
        return n

    def _set_epoch(self, epoch: int) -> None:
        self.set_epochs.append(epoch)
        for target in self._epoch_targets:
            target.set_epoch(epoch)

    def _pass_iterator(self, skip: int) -> Iterator[Any]:
        view = self._view
        if _is_plain_map_loader(view):
            kwargs = _loader_kwargs(view)
            if kwargs.get("generator") is None:
                # Worker seeds per pass from (seed, pass, rank): reproducible after a restart, and
                # the global RNG is not consumed by starting a pass.
                rank, _ = dist_info()
                g = torch.Generator()
                g.manual_seed(hash((self.seed, self._pass, rank)) & (2**63 - 1))
                kwargs["generator"] = g
            if view.batch_sampler is not None:
                bs = _Skip(view.batch_sampler, skip) if skip else view.batch_sampler
                loader = DataLoader(view.dataset, batch_sampler=bs, **kwargs)
            else:
                loader = DataLoader(view.dataset, batch_size=None, sampler=_Skip(view.sampler, skip) if skip else view.sampler,
                                    **kwargs)
            compat.auto_add_worker_init_fn(loader, dist_info()[0])
            return iter(loader)
        if self._inner_state is not None:
            view.load_state_dict(self._inner_state)
            self._inner_state = None
            return iter(view)
        it = iter(view)
        if skip:
            if not self._warned_discard:
                log.warning("resuming %s mid-pass by reading and dropping %d batches (it has no sampler to skip "
                            "indices of, nor state_dict/load_state_dict)", type(view).__name__, skip)
                self._warned_discard = True
            for _ in range(skip):
                next(it, None)
        return it

    def _run_pass(self) -> Iterator[Any]:
        """Yield the rest of the current pass, counting each batch before handing it out."""
        restored, self._restored = self._restored, False
        length = self.pass_length()
        while restored and length and self._offset > length:  # a position counted in batches (MMEngine's iter)
            self._pass, self._offset = self._pass + 1, self._offset - length
        if length is not None and self._offset >= length and self._inner_state is None:
            return  # restored at the very end of a pass: the next one starts
        if self.max_iters is None or self._pass > 0 or restored:
            self._set_epoch(self._pass)
        for batch in self._pass_iterator(self._offset):
            self._offset += 1
            self._consumed += 1
            yield batch

    def __iter__(self) -> Iterator[Any]:
        return self._iterate()

    def _iterate(self) -> Iterator[Any]:
        self._setup()
        if self.max_iters is None:  # one pass per Lightning epoch
            epoch = self.epoch_fn() if self.epoch_fn is not None else self._pass
            if epoch != self._pass:
                self._pass, self._offset, self._restored = epoch, 0, False
            yield from self._run_pass()
            if self.epoch_fn is None:
                self._pass, self._offset = self._pass + 1, 0
            return
        while True:  # passes chained; Lightning ends its epoch after len(self) == max_iters batches
            start = self._offset
            produced = False
            for batch in self._run_pass():
                produced = True
                yield batch
            if not produced and start == 0:
                raise RuntimeError("the training dataloader is empty: an iteration-based loop needs at least one batch")
            self._pass, self._offset = self._pass + 1, 0

    # ------------------------------------------------------------------ Lightning's stateful protocol
    def state_dict(self) -> dict[str, Any]:
        """Position after the last batch handed out: ``pass``, ``offset`` in it, ``consumed``, ``seed``."""
        state: dict[str, Any] = {"version": _STATE_VERSION, "pass": self._pass, "offset": self._offset,
                                 "consumed": self._consumed, "seed": self.seed}
        view = self._view if self._view is not None else self.loader
        if not _is_plain_map_loader(view) and _is_stateful(view):
            state["inner"] = view.state_dict()
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue at the batch after the one recorded (call before iterating)."""
        if self._view is not None and state.get("seed") != self.seed and isinstance(self._view.sampler, PassSampler):
            self._view.sampler.seed = int(state["seed"])
        self.seed = state.get("seed", self.seed)
        self._pass, self._offset = int(state["pass"]), int(state["offset"])
        self._consumed = int(state.get("consumed", 0))
        self._inner_state = state.get("inner")
        self._restored = True


class _PassCombinedLoader(CombinedLoader):
    """Lightning's loader holder around a :class:`PassLoader`; ``iterables`` is the user's view."""

    def __init__(self, wrapper: PassLoader) -> None:
        super().__init__(wrapper, "max_size_cycle")
        self.pass_loader = wrapper

    @property
    def iterables(self) -> Any:  # trainer.train_dataloader / runner.train_dataloader
        return self.pass_loader.view

    def pass_length(self) -> int | None:
        return self.pass_loader.pass_length()


class TrainDataControl(Callback):
    """Feed Lightning the training data as MMEngine's loops read it (see the module docstring).

    Args:
        spec: The training loop.
        seed: Sampler seed (``randomness.seed``; ``None``: drawn once, kept in checkpoints).
        shard: ``None``/``True``: shard plain samplers per rank under DDP; ``False``: never.

    Attributes:
        loaders: The :class:`PassLoader` of each ``fit``, for inspection.
    """

    def __init__(self, spec: LoopSpec, seed: int | None = None, shard: bool | None = None) -> None:
        self.spec = spec
        self.seed = seed
        self.shard = shard
        self.loaders: list[PassLoader] = []

    def _wrap(self, trainer: pl.Trainer) -> Callable[[Any], Any]:
        def wrap(data: Any) -> Any:
            if data is None or isinstance(data, (CombinedLoader, Mapping, list, tuple)):
                if data is not None:
                    log.warning("the training data is a collection (%s): passes%s and resume follow Lightning's "
                                "epochs, not MMEngine's loop", type(data).__name__,
                                "" if self.spec.by_epoch else ", accumulation windows")
                return data
            wrapper = PassLoader(
                data,
                max_iters=None if self.spec.by_epoch else self.spec.max_iters,
                seed=self.seed,
                shard=self.shard is not False,
                epoch_fn=(lambda: int(trainer.current_epoch)) if self.spec.by_epoch else None,
            )
            self.loaders.append(wrapper)
            return _PassCombinedLoader(wrapper)

        return wrap

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage != "fit":
            return
        compat.install_train_data_wrapper(trainer, self._wrap(trainer))

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # Lightning restores a stateful train loader in FitLoop.setup_data only when that runs after
        # the checkpoint's loop state is read; configure_optimizers may have set the data up
        # earlier (epoch_length_of). Loading here is idempotent and precedes the first batch.
        compat.load_train_loader_states(trainer)

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage == "fit":
            compat.remove_train_data_wrapper(trainer)


def has_mmengine_sampler(dataloader: Any) -> bool:
    """True when ``dataloader``'s sampler already shards per rank (MMEngine Default/InfiniteSampler, ...).

    Lightning would otherwise wrap it in a ``DistributedSampler`` and shard twice.
    """
    loaders = dataloader if isinstance(dataloader, (list, tuple)) else [dataloader]
    for dl in loaders:
        sampler = getattr(dl, "sampler", None)
        batch_sampler = getattr(dl, "batch_sampler", None)
        for s in (sampler, getattr(batch_sampler, "sampler", None)):
            if s is None:
                continue
            if hasattr(s, "world_size") and hasattr(s, "rank"):
                return True
            if hasattr(s, "num_replicas") and hasattr(s, "rank"):
                return True
    return False
