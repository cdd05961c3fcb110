"""``launcher``, ``env_cfg``, ``randomness``, ``model_wrapper_cfg``, ``sync_bn``: where and how to run.

============================================  ==============================================================
MMEngine                                      Lightning
============================================  ==============================================================
``launcher='none'``                           one device (``devices=1``), no strategy
``launcher='pytorch'`` (torchrun)             ``DDPStrategy`` + ``TorchElasticEnvironment`` (devices /
                                              num_nodes from ``LOCAL_WORLD_SIZE`` / ``WORLD_SIZE``)
``launcher='slurm'``                          ``DDPStrategy`` + ``SLURMEnvironment``
``launcher='mpi'``                            ``DDPStrategy`` + ``MPIEnvironment`` (needs ``mpi4py``)
``env_cfg.dist_cfg.backend`` / ``timeout``    ``DDPStrategy(process_group_backend=, timeout=)``; ``'nccl'``
                                              without CUDA falls back to ``'gloo'`` (MMEngine would fail)
``env_cfg.cudnn_benchmark``                   ``benchmark=True``
``env_cfg.mp_cfg.mp_start_method``            ``torch.multiprocessing.set_start_method`` (when distributed)
``randomness.seed`` / ``diff_rank_seed``      ``seed_everything(seed + rank)`` before the model is built
``randomness.deterministic``                  ``deterministic=True``
``model_wrapper_cfg`` / ``find_unused_...``   ``DDPStrategy(broadcast_buffers=False, find_unused_parameters=)``
                                              (MMEngine's MMDistributedDataParallel defaults)
``sync_bn='torch'``                           ``sync_batchnorm=True`` (distributed only, as MMEngine)
============================================  ==============================================================
"""

from __future__ import annotations

import datetime
import os
import random
from collections.abc import Mapping
from typing import Any

import torch

from lightning_runtime.errors import ConfigError, check_keys, check_mapping, check_number, did_you_mean

__all__ = ["LAUNCHERS", "env_rank", "plan_env", "seed_for_rank", "apply_randomness", "check_keys"]

LAUNCHERS = ("none", "pytorch", "slurm", "mpi")
_MAX_SEED = 2**32 - 1
_RANK_VARS = {"pytorch": "RANK", "slurm": "SLURM_PROCID", "mpi": "OMPI_COMM_WORLD_RANK"}


def _section(value: Any, path: str, example: str) -> Mapping[str, Any]:
    """A config section that must be a dict or None (``None`` -> ``{}``)."""
    return {} if value is None else check_mapping(value, path, example=example)


def env_rank(launcher: str) -> int:
    """This process's global rank as the launcher tells it (0 when not launched distributed)."""
    var = _RANK_VARS.get(launcher)
    if var is None:
        return int(os.environ.get("RANK", 0))
    return int(os.environ.get(var, os.environ.get("RANK", 0)))


def seed_for_rank(seed: int, rank: int, diff_rank_seed: bool) -> int:
    """MMEngine's ``set_random_seed``: ``seed + rank`` when ``diff_rank_seed``."""
    return seed + rank if diff_rank_seed else seed


def apply_randomness(randomness: Mapping[str, Any] | None, launcher: str) -> int | None:
    """Seed python/numpy/torch as MMEngine's Runner does in ``__init__``; returns the seed used.

    ``seed=None`` draws a random seed (MMEngine draws one and broadcasts rank 0's; before the
    process group exists we cannot broadcast, so each rank draws its own unless ``PL_GLOBAL_SEED``
    is set).
    """
    randomness = dict(_section(randomness, "randomness", "dict(seed=0, deterministic=False)"))
    check_keys(randomness, ("seed", "deterministic", "diff_rank_seed"), "randomness")
    seed = randomness.get("seed")
    if seed is None:
        if not randomness:
            return None
        seed = int(os.environ.get("PL_GLOBAL_SEED", random.randint(0, 2**31 - 1)))
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError(f"must be an integer or None, got {seed!r}", path="randomness.seed",
                          fix="set randomness.seed to a whole number such as 0, or None for a random seed")
    if not 0 <= seed <= _MAX_SEED:
        raise ConfigError(f"must be between 0 and 2**32 - 1 (numpy's range), got {seed}", path="randomness.seed",
                          fix="use a seed between 0 and 4294967295")
    from lightning.fabric.utilities.seed import seed_everything

    final = seed_for_rank(seed, env_rank(launcher), bool(randomness.get("diff_rank_seed", False)))
    if final > _MAX_SEED:
        raise ConfigError(f"seed + rank = {final} is past 2**32 - 1 (numpy's range)", path="randomness.seed",
                          fix="use a smaller seed, or diff_rank_seed=False")
    seed_everything(final, verbose=False)
    if randomness.get("deterministic"):
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    return final


def _devices_nodes(launcher: str) -> tuple[Any, int]:
    if launcher == "pytorch":
        local = int(os.environ.get("LOCAL_WORLD_SIZE", 0) or 0)
        world = int(os.environ.get("WORLD_SIZE", 0) or 0)
        if local and world:
            return local, max(1, world // local)
    if launcher == "slurm":
        tasks = os.environ.get("SLURM_NTASKS_PER_NODE", "").split("(")[0]
        nodes = int(os.environ.get("SLURM_NNODES", 1) or 1)
        if tasks.isdigit():
            return int(tasks), nodes
    if launcher == "mpi":
        local = int(os.environ.get("OMPI_COMM_WORLD_LOCAL_SIZE", 0) or 0)
        world = int(os.environ.get("OMPI_COMM_WORLD_SIZE", 0) or 0)
        if local and world:
            return local, max(1, world // local)
    return "auto", 1


def plan_env(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """Trainer arguments for ``launcher``, ``env_cfg``, ``randomness``, DDP wrapping and ``sync_bn``."""
    launcher = cfg.get("launcher", "none") or "none"
    if not isinstance(launcher, str) or launcher not in LAUNCHERS:
        raise ConfigError(
            f"unknown launcher {launcher!r}", path="launcher", candidates=did_you_mean(str(launcher), LAUNCHERS),
            fix="use launcher='none' (one process) or 'pytorch' (torchrun), 'slurm', 'mpi'",
        )
    env_cfg = dict(_section(cfg.get("env_cfg"), "env_cfg", "dict(cudnn_benchmark=False, dist_cfg=dict(backend='nccl'))"))
    check_keys(env_cfg, ("cudnn_benchmark", "mp_cfg", "dist_cfg", "resource_limit"), "env_cfg")
    mp_cfg = dict(_section(env_cfg.get("mp_cfg"), "env_cfg.mp_cfg", "dict(mp_start_method='fork', opencv_num_threads=0)"))
    check_keys(mp_cfg, ("mp_start_method", "opencv_num_threads"), "env_cfg.mp_cfg")
    start = mp_cfg.get("mp_start_method")
    methods = tuple(torch.multiprocessing.get_all_start_methods())
    if start is not None and start not in methods:
        raise ConfigError(f"unknown start method {start!r}", path="env_cfg.mp_cfg.mp_start_method",
                          candidates=did_you_mean(str(start), methods), expected="one of: " + ", ".join(methods),
                          fix="use one of the start methods above, or remove mp_start_method")
    dist_cfg = dict(_section(env_cfg.get("dist_cfg"), "env_cfg.dist_cfg", "dict(backend='nccl')"))
    check_keys(dist_cfg, ("backend", "timeout", "init_method", "port"), "env_cfg.dist_cfg")
    backend = dist_cfg.get("backend")
    if backend is not None and not isinstance(backend, str):
        raise ConfigError(f"must be a backend name, got {backend!r}", path="env_cfg.dist_cfg.backend",
                          fix="write backend='nccl' (GPU) or backend='gloo' (CPU)")
    if dist_cfg.get("timeout") is not None:
        check_number(dist_cfg["timeout"], "env_cfg.dist_cfg.timeout", low=1, high=10**9)
    wrapper = dict(_section(cfg.get("model_wrapper_cfg"), "model_wrapper_cfg",
                           "dict(type='MMDistributedDataParallel', find_unused_parameters=False)"))
    check_keys(wrapper, ("type", "find_unused_parameters", "broadcast_buffers", "static_graph",
                         "gradient_as_bucket_view", "bucket_cap_mb"), "model_wrapper_cfg")
    for key in ("find_unused_parameters", "broadcast_buffers", "static_graph", "gradient_as_bucket_view"):
        if key in wrapper and not isinstance(wrapper[key], bool):
            raise ConfigError(f"must be True or False, got {wrapper[key]!r}", path=f"model_wrapper_cfg.{key}",
                              fix=f"write {key}=True or {key}=False")
    if "bucket_cap_mb" in wrapper:
        check_number(wrapper["bucket_cap_mb"], "model_wrapper_cfg.bucket_cap_mb", low=0)
    wtype = str(wrapper.pop("type", "MMDistributedDataParallel")).rpartition(".")[2]
    if wtype not in ("MMDistributedDataParallel", "DistributedDataParallel"):
        raise ConfigError(
            f"model wrapper {wtype!r} is not supported",
            path="model_wrapper_cfg.type",
            fix="use MMDistributedDataParallel (DDP); for FSDP pass strategy='fsdp' to build_trainer()",
        )
    sync_bn = cfg.get("sync_bn")
    if sync_bn not in (None, "torch"):
        raise ConfigError(
            f"sync_bn must be 'torch' or None, got {sync_bn!r}", path="sync_bn",
            fix="use sync_bn='torch' ('mmcv' SyncBN needs MMCV)",
        )
    out: dict[str, Any] = {}
    if env_cfg.get("cudnn_benchmark"):
        out["benchmark"] = True
    randomness = _section(cfg.get("randomness"), "randomness", "dict(seed=0, deterministic=False)")
    if randomness.get("deterministic"):
        out["deterministic"] = True
        out["benchmark"] = False
    accelerator = "gpu" if torch.cuda.is_available() else "cpu"
    out["accelerator"] = accelerator
    if launcher == "none":
        out["devices"] = 1
        return out
    from lightning.pytorch.strategies import DDPStrategy

    if backend == "nccl" and accelerator == "cpu":
        backend = "gloo"
    ddp_kwargs: dict[str, Any] = {
        "broadcast_buffers": wrapper.pop("broadcast_buffers", False),
        "find_unused_parameters": wrapper.pop("find_unused_parameters", cfg.get("find_unused_parameters", False)),
        **wrapper,
    }
    if backend:
        ddp_kwargs["process_group_backend"] = backend
    if dist_cfg.get("timeout") is not None:
        ddp_kwargs["timeout"] = datetime.timedelta(seconds=float(dist_cfg["timeout"]))
    if launcher == "slurm":
        from lightning.fabric.plugins.environments import SLURMEnvironment

        ddp_kwargs["cluster_environment"] = SLURMEnvironment(auto_requeue=False)
    elif launcher == "mpi":
        from lightning.fabric.plugins.environments import MPIEnvironment

        try:
            ddp_kwargs["cluster_environment"] = MPIEnvironment()
        except (ImportError, ModuleNotFoundError) as exc:
            raise ConfigError("launcher='mpi' needs mpi4py", path="launcher", fix="pip install mpi4py") from exc
    else:
        from lightning.fabric.plugins.environments import TorchElasticEnvironment

        if TorchElasticEnvironment.detect():
            ddp_kwargs["cluster_environment"] = TorchElasticEnvironment()
    if start and torch.multiprocessing.get_start_method(allow_none=True) != start:
        torch.multiprocessing.set_start_method(start, force=True)
    out["strategy"] = DDPStrategy(**ddp_kwargs)
    out["devices"], out["num_nodes"] = _devices_nodes(launcher)
    if sync_bn == "torch":
        if out.get("accelerator") != "gpu":
            raise ConfigError(
                "sync_bn='torch' needs CUDA: torch's SyncBatchNorm only runs on GPU modules",
                path="sync_bn",
                fix="remove sync_bn (or set sync_bn=None) for CPU runs; each rank then keeps its own "
                "BatchNorm statistics, as MMEngine's DDP does without SyncBN",
            )
        out["sync_batchnorm"] = True
    return out
