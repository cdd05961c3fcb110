"""Shared by ``openmmlab_parity_ref.py`` (MMEngine's Runner) and ``openmmlab_parity_lit.py`` (the CLI).

Real MMSegmentation 1.2.2 configs from the installed package, each changed only by dotted
overrides (:func:`overrides`), trained on a dataset in ADE20K's layout written by
:func:`lightning_runtime.demo.ade20k.write_ade20k_like`. Both sides add the same second config
file (:func:`write_instrument_config`): ``custom_hooks`` with two recording hooks and one that
writes ``records.json`` at ``after_run``. The recorders are
:func:`runner_parity_common.make_record_hook`'s, with every parameter named relative to the
codebase's ``BaseModel`` (so ``backbone.layers.0...`` on both sides, whatever wraps it) and every
``after_train_iter`` output (``loss``, ``decode.loss_ce``, ``decode.acc_seg``, ``aux.loss_ce``, ...).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from torch import nn

import runner_parity_common as runner_common

#: The dataset every run trains on (written once per test session).
N_TRAIN, N_VAL, IMAGE_SIZE = 16, 4, (64, 48)
#: ``(height, width)`` of the training crops and of ``data_preprocessor.size``.
CROP = (32, 32)
MAX_ITERS, VAL_INTERVAL = 6, 3

#: name -> the config, relative to the installed package's ``.mim/configs``.
CONFIGS = {
    "segformer": "segformer/segformer_mit-b0_8xb2-160k_ade20k-512x512.py",
    "pspnet": "pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py",
    "deeplabv3plus": "deeplabv3plus/deeplabv3plus_r18-d8_4xb2-80k_cityscapes-512x1024.py",
    "mae": "mae/mae-base_upernet_8xb2-amp-160k_ade20k-512x512.py",
}
#: Two-rank (gloo) runs: name -> the single-process run whose config it takes.
DDP_RUNS = {"segformer_ddp": "segformer"}


def config_path(name: str) -> Path:
    """The installed config file of run ``name`` (``mmseg`` is found without importing it)."""
    import importlib.util

    spec = importlib.util.find_spec("mmseg")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("mmseg is not installed")
    package = Path(list(spec.submodule_search_locations)[0])
    return package / ".mim" / "configs" / CONFIGS[DDP_RUNS.get(name, name)]


def _loaders(data_root: str, cityscapes_layout: bool) -> dict[str, Any]:
    """The dataloader overrides: the generated data, 2 per batch, no workers, small images."""
    out: dict[str, Any] = {}
    for split, folder in (("train", "training"), ("val", "validation"), ("test", "validation")):
        key = f"{split}_dataloader"
        out[f"{key}.dataset.data_root"] = data_root
        out[f"{key}.num_workers"] = 0
        out[f"{key}.persistent_workers"] = False
        if cityscapes_layout:  # a Cityscapes config pointed at ADE20K's dataset class and folders
            out[f"{key}.dataset.type"] = "ADE20KDataset"
            out[f"{key}.dataset.data_prefix.img_path"] = f"images/{folder}"
            out[f"{key}.dataset.data_prefix.seg_map_path"] = f"annotations/{folder}"
        if split == "train":
            out[f"{key}.batch_size"] = 2
            out[f"{key}.dataset.pipeline.2.scale"] = (64, 32)  # RandomResize (2048, 512|1024)
            out[f"{key}.dataset.pipeline.3.crop_size"] = CROP  # RandomCrop
        else:
            out[f"{key}.dataset.pipeline.1.scale"] = (64, 32)  # Resize: 64x48 images -> 43x32
    return out


def overrides(name: str, data_root: str, work_dir: str) -> dict[str, Any]:
    """The dotted overrides of run ``name``: ``{'train_cfg.max_iters': 6, ...}``, in order.

    Common to all: the data (:func:`_loaders`), ``data_preprocessor.size``, 6 iterations with
    validation and a checkpoint every 3 and a log line every 2, the warmup/poly windows scaled to
    6 iterations, no pretrained weights, ``randomness=dict(seed=0, deterministic=True)``.
    """
    base = DDP_RUNS.get(name, name)
    out: dict[str, Any] = {"work_dir": work_dir}
    out.update(_loaders(data_root, cityscapes_layout=base in ("pspnet", "deeplabv3plus")))
    out.update({
        "model.data_preprocessor.size": CROP,
        "train_cfg.max_iters": MAX_ITERS,
        "train_cfg.val_interval": VAL_INTERVAL,
        "default_hooks.checkpoint.interval": VAL_INTERVAL,
        "default_hooks.logger.interval": 2,
        "randomness.seed": 0,
        "randomness.deterministic": True,
        # MMEngine's optimizer as torch builds it on CPU (the for-loop kernel); left unset, the
        # merged groups here get torch's fused kernel, equal up to rounding (test_openmmlab_parity)
        "optim_wrapper.optimizer.foreach": False,
    })
    if base in ("segformer", "mae"):  # LinearLR warmup (1500 iters), then PolyLR to 160k
        out.update({"param_scheduler.0.end": 2, "param_scheduler.1.begin": 2, "param_scheduler.1.end": MAX_ITERS})
    else:  # one PolyLR to 80k
        out["param_scheduler.0.end"] = MAX_ITERS
    if base == "segformer":
        out["model.backbone.init_cfg"] = None  # the MiT-B0 ImageNet checkpoint (a URL)
    if base in ("pspnet", "deeplabv3plus"):
        out.update({
            "model.pretrained": None,  # open-mmlab://resnet18_v1c
            "model.decode_head.num_classes": 150,
            "model.auxiliary_head.num_classes": 150,
        })
    if base == "mae":
        # MAE-base (768 wide, 12 layers, 512x512) takes seconds a step on CPU: 4 layers of 32, 8x8
        # patches of 32x32 crops; the layer-decay constructor told about the 4 layers.
        out.update({
            "model.pretrained": None,  # ./pretrain/mae_pretrain_vit_base_mmcls.pth
            "model.backbone.img_size": CROP,
            "model.backbone.patch_size": 8,
            "model.backbone.embed_dims": 32,
            "model.backbone.num_layers": 4,
            "model.backbone.num_heads": 2,
            "model.backbone.mlp_ratio": 2,
            "model.backbone.out_indices": [0, 1, 2, 3],
            "model.neck.embed_dim": 32,
            "model.decode_head.in_channels": [32, 32, 32, 32],
            "model.decode_head.channels": 32,
            "model.auxiliary_head.in_channels": 32,
            "model.auxiliary_head.channels": 32,
            "model.test_cfg.crop_size": CROP,
            "model.test_cfg.stride": (21, 21),
            "optim_wrapper.paramwise_cfg.num_layers": 4,
            "optim_wrapper.optimizer.lr": 0.003,  # 1e-4 learns nothing in 6 steps (mIoU 0.0 on both sides)
        })
    if name in DDP_RUNS:
        out.update({
            "launcher": "pytorch",
            "env_cfg.dist_cfg.backend": "gloo",
            "model.decode_head.norm_cfg.type": "BN",  # torch's SyncBatchNorm needs CUDA
        })
    return out


def cli_value(value: Any) -> str:
    """``value`` as the text of a ``--key=value`` option (MMEngine's ``DictAction`` syntax)."""
    if isinstance(value, tuple):
        return "(" + ",".join(cli_value(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, list):
        return "[" + ",".join(cli_value(v) for v in value) + "]"
    if isinstance(value, str) and (not value or any(c in value for c in " ,()[]'\"") or value in ("None", "True", "False")):
        raise ValueError(f"{value!r} cannot be written as an override value")
    return str(value)


def write_instrument_config(name: str, out: str, folder: Path) -> Path:
    """The second config file of both sides: the recording hooks (and their module for ours).

    Named as the real config, so both sides give the run the same experiment name and dumped
    config file name. ``custom_imports`` is what brings the hooks to the command line; MMEngine's
    Runner ignores it (only ``Config.fromfile`` imports it), and the reference script registers
    its own hooks before it builds the Runner.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / config_path(name).name
    hooks = [dict(type="RecordHook", tag="normal", priority="NORMAL"),
             dict(type="RecordHook", tag="very_low", priority="VERY_LOW"),
             dict(type="WriteRecords", out=out, priority="LOWEST")]
    text = (f"custom_imports = {dict(imports=['openmmlab_parity_lit'], allow_failed_imports=False)!r}\n"
            f"custom_hooks = {hooks!r}\n")
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(text)
    os.replace(partial, path)  # two ranks may write it at once
    return path


# ---------------------------------------------------------------------- recording
def base_model(model: nn.Module) -> nn.Module:
    """The outermost MMEngine ``BaseModel`` in ``model`` (itself, the DDP wrapper's or the adapter's)."""
    from mmengine.model import BaseModel

    for module in model.modules():
        if isinstance(module, BaseModel):
            return module
    raise TypeError(f"no mmengine BaseModel in {type(model).__name__}")


def rng_digest() -> dict[str, str]:
    """Digests of the global random states the runs draw from: torch's, NumPy's (the transforms) and ``random``'s."""
    import hashlib
    import pickle
    import random

    import numpy as np
    import torch

    def digest(data: bytes) -> str:
        return hashlib.sha1(data).hexdigest()[:12]

    return dict(torch=digest(torch.get_rng_state().numpy().tobytes()),
                numpy=digest(pickle.dumps(np.random.get_state())), random=digest(pickle.dumps(random.getstate())))


def weights_digest(model: nn.Module) -> str:
    """A digest of every parameter and buffer's bytes (equal digests: bitwise equal weights)."""
    import hashlib

    import torch

    h = hashlib.sha1()
    for name, value in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(value.detach().cpu().contiguous().view(-1).view(dtype=torch.uint8).numpy().tobytes())
    return h.hexdigest()[:12]


def _floats(values: Any) -> dict[str, float]:
    return {k: float(v) for k, v in dict(values or {}).items()}


def make_hooks(hook_base: type, registry: Any) -> list:
    """Register ``RecordHook`` and ``WriteRecords`` (made for ``hook_base``) in ``registry``; returns the sink."""
    sink: list = []
    recorder = runner_common.make_record_hook(hook_base, lambda model: False, sink)

    def _params(runner: Any) -> dict[str, dict[str, Any]]:
        return runner_common._group_values(runner, base_model(runner.model))

    def before_train_iter(self: Any, runner: Any, batch_idx: int, data_batch: Any = None) -> None:
        recorder.before_train_iter(self, runner, batch_idx=batch_idx, data_batch=data_batch)
        sink[-1]["params"] = _params(runner)
        sink[-1]["rng"] = rng_digest()
        sink[-1]["weights_digest"] = weights_digest(base_model(runner.model))

    def after_train_iter(self: Any, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None) -> None:
        recorder.after_train_iter(self, runner, batch_idx=batch_idx, data_batch=data_batch, outputs=outputs)
        sink[-1]["params"] = _params(runner)
        sink[-1]["outputs"] = _floats(outputs)
        sink[-1]["rng"] = rng_digest()
        sink[-1]["weights_digest"] = weights_digest(base_model(runner.model))
        samples = data_batch.get("data_samples", []) if isinstance(data_batch, dict) else []
        sink[-1]["batch"] = [os.path.basename(str(getattr(s, "img_path", ""))) for s in samples]

    record_hook = type("RecordHook", (recorder,), dict(before_train_iter=before_train_iter,
                                                       after_train_iter=after_train_iter))

    def __init__(self: Any, out: str) -> None:
        self.out = out

    def after_run(self: Any, runner: Any) -> None:
        import json

        import torch.distributed as dist

        rank = dist.get_rank() if dist.is_available() and dist.is_initialized() else 0
        result = runner_common.collect(Path(runner.work_dir), base_model(runner.model), sink)
        Path(self.out if rank == 0 else f"{self.out}.rank{rank}").write_text(json.dumps(result))

    write_records = type("WriteRecords", (hook_base,), dict(__init__=__init__, after_run=after_run))
    registry.register_module(module=record_hook, force=True)
    registry.register_module(module=write_records, force=True)
    return sink


def child_env() -> dict[str, str]:
    """The environment of both sides' processes: this folder importable, one thread, no CUDA."""
    here = str(Path(__file__).resolve().parent)
    return dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH", "")) if p),
                TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD="1", PYTHONWARNINGS="ignore", CUDA_VISIBLE_DEVICES="",
                OMP_NUM_THREADS="1")
