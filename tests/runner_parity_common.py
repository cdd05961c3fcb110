"""Shared by ``runner_parity_ref.py`` (MMEngine's Runner) and ``runner_parity_lit.py`` (Runtime.fit).

The same OpenMMLab-named model (``backbone.pos_embed``, ``backbone.layers.<i>.{fc,norm}``,
``decode_head.conv_seg``), the same data, the same config per scenario, and one recording hook
class made for either ``Hook`` base. Each script writes ``records.json``: what the hooks saw, the
final weights and the files of ``work_dir``; :mod:`test_runner_parity` compares the two.
"""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

#: The hook points a recorder writes down (with runner.iter / runner.epoch / batch_idx).
POINTS = (
    "before_run", "after_load_checkpoint", "before_train", "before_train_epoch", "before_train_iter",
    "after_train_iter", "after_train_epoch", "before_val", "before_val_epoch", "before_val_iter",
    "after_val_iter", "after_val_epoch", "after_val", "before_save_checkpoint", "after_train", "after_run",
)
#: Log-line fields left out of the comparison (wall-clock dependent).
TIMING = {"time", "data_time", "eta", "memory"}


class _Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.norm = nn.LayerNorm(4)


class MAE(nn.Module):
    """The backbone: a plain container, named so MMSeg's layer-decay constructor takes it for a ViT."""


def build_layers(module: nn.Module) -> None:
    """Give ``module`` the OpenMMLab-named layers (both sides call it in ``__init__``)."""
    module.backbone = MAE()
    module.backbone.pos_embed = nn.Parameter(torch.zeros(1, 4))
    module.backbone.layers = nn.ModuleList([_Block(), _Block()])
    module.decode_head = nn.Module()
    module.decode_head.conv_seg = nn.Linear(4, 2)


def predict(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    h = x + module.backbone.pos_embed
    for block in module.backbone.layers:
        h = block.norm(torch.tanh(block.fc(h)))
    return module.decode_head.conv_seg(h)


def loss_of(module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(predict(module, x), y)


def initial_weights(module: nn.Module) -> None:
    """The same starting weights on both sides (seeded, independent of construction order)."""
    g = torch.Generator().manual_seed(123)
    with torch.no_grad():
        for _, p in sorted(module.named_parameters()):
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)


def loaders(batch_size: int = 2) -> tuple[DataLoader, DataLoader]:
    g = torch.Generator().manual_seed(7)
    x, y = torch.randn(8, 4, generator=g), torch.randn(8, 2, generator=g)
    vx, vy = torch.randn(4, 4, generator=g), torch.randn(4, 2, generator=g)
    return (DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=False),
            DataLoader(TensorDataset(vx, vy), batch_size=batch_size, shuffle=False))


# ---------------------------------------------------------------------- scenarios
_SEED_HOOKS = [dict(type="NewHook", a=2, b=1, priority="ABOVE_NORMAL")]
_RECORDERS = [dict(type="RecordHook", tag="normal", priority="NORMAL"),
              dict(type="RecordHook", tag="very_low", priority="VERY_LOW")]


def scenario(name: str) -> dict[str, Any]:
    """The config of one scenario (MMEngine keys; the scripts add work_dir and the objects)."""
    default_hooks = dict(
        timer=dict(type="IterTimerHook"),
        logger=dict(type="LoggerHook", interval=2, log_metric_by_epoch=False),
        param_scheduler=dict(type="ParamSchedulerHook"),
        checkpoint=dict(type="CheckpointHook", by_epoch=False, interval=4, max_keep_ckpts=2),
        sampler_seed=dict(type="DistSamplerSeedHook"),
    )
    if name == "seed_runtime":
        # The seed tutorial's runtime: AdamW + MAE-style custom_keys, LinearLR then PolyLR,
        # NewHook ABOVE_NORMAL, checkpoints by interval with max_keep_ckpts.
        return dict(
            train_cfg=dict(type="IterBasedTrainLoop", max_iters=12, val_interval=4),
            val_cfg=dict(type="ValLoop"),
            optim_wrapper=dict(
                type="OptimWrapper",
                optimizer=dict(type="AdamW", lr=1e-3, betas=(0.9, 0.999), weight_decay=0.01, foreach=False),
                paramwise_cfg=dict(custom_keys={"pos_embed": dict(decay_mult=0.0), "norm": dict(decay_mult=0.0)}),
            ),
            param_scheduler=[
                dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=4),
                dict(type="PolyLR", eta_min=1e-5, power=0.9, by_epoch=False, begin=4, end=12),
            ],
            default_hooks=default_hooks,
            custom_hooks=_SEED_HOOKS + _RECORDERS,
            log_processor=dict(by_epoch=False),
        )
    if name == "accumulation_clipping":
        # + an Adam momentum schedule: group['momentum'] kept equal to betas[0], as MMEngine.
        cfg = scenario("seed_runtime")
        cfg["optim_wrapper"].update(accumulative_counts=2, clip_grad=dict(max_norm=0.5, norm_type=2))
        cfg["param_scheduler"].append(dict(type="LinearMomentum", start_factor=0.5, by_epoch=False, begin=0, end=6))
        return cfg
    if name == "sgd_momentum":
        cfg = scenario("seed_runtime")
        cfg["optim_wrapper"] = dict(
            type="OptimWrapper",
            optimizer=dict(type="SGD", lr=0.05, momentum=0.9, weight_decay=1e-3, foreach=False),
            paramwise_cfg=dict(bias_lr_mult=2.0, bias_decay_mult=0.0, norm_decay_mult=0.0),
        )
        cfg["param_scheduler"] = [
            dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=4),
            dict(type="PolyLR", eta_min=1e-4, power=0.9, by_epoch=False, begin=4, end=12),
            dict(type="LinearMomentum", start_factor=0.5, by_epoch=False, begin=0, end=6),
        ]
        return cfg
    if name == "stop_resume:stop":
        # A hook stops the run after iteration 5 (the last checkpoint is iter_4.pth) ...
        cfg = scenario("seed_runtime")
        cfg["custom_hooks"] = cfg["custom_hooks"] + [dict(type="StopHook", after_iter=5)]
        return cfg
    if name == "stop_resume":
        # ... and the second process resumes from it (resume=True) and finishes; this one is compared.
        return dict(scenario("seed_runtime"), resume=True)
    if name == "crash_resume:crash":
        # The process dies (os._exit) in iteration 7, after iter_4.pth; nothing is flushed or saved ...
        cfg = scenario("seed_runtime")
        cfg["custom_hooks"] = cfg["custom_hooks"] + [dict(type="CrashHook", after_iter=6)]
        return cfg
    if name == "crash_resume":
        # ... and the second process resumes from iter_4.pth (resume=True): the log windows and the
        # message hub come back from the checkpoint, iterations 5-7 are trained again.
        return dict(scenario("seed_runtime"), resume=True)
    if name == "save_best":
        # CheckpointHook save_best on the validation metric, its rule inferred ('mse' in less_keys).
        cfg = scenario("seed_runtime")
        cfg["default_hooks"]["checkpoint"].update(save_best="mse", less_keys=["mse"])
        return cfg
    if name == "val_begin_dynamic":
        # No validation before iteration 5, then every 3 iterations from iteration 6 on.
        cfg = scenario("seed_runtime")
        cfg["train_cfg"] = dict(type="IterBasedTrainLoop", max_iters=12, val_interval=4, val_begin=5,
                                dynamic_intervals=[(6, 3)])
        return cfg
    if name == "layer_decay":
        # MMSeg's LearningRateDecayOptimizerConstructor (layer_wise, the MAE/ViT layer ids).
        cfg = scenario("seed_runtime")
        cfg["optim_wrapper"] = dict(
            type="OptimWrapper",
            optimizer=dict(type="AdamW", lr=1e-3, betas=(0.9, 0.999), weight_decay=0.05, foreach=False),
            constructor="LearningRateDecayOptimizerConstructor",
            paramwise_cfg=dict(num_layers=2, decay_rate=0.65, decay_type="layer_wise"),
        )
        return cfg
    if name == "epoch_loop":
        # An epoch loop: a converted (per-iteration) warmup, then a by-epoch MultiStepLR.
        cfg = scenario("seed_runtime")
        cfg["train_cfg"] = dict(type="EpochBasedTrainLoop", max_epochs=3, val_interval=1)
        cfg["param_scheduler"] = [
            dict(type="LinearLR", start_factor=0.1, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
            dict(type="MultiStepLR", milestones=[1], gamma=0.1, by_epoch=True, begin=1, end=3),
        ]
        cfg["default_hooks"]["logger"] = dict(type="LoggerHook", interval=2)
        cfg["default_hooks"]["checkpoint"] = dict(type="CheckpointHook", interval=1, max_keep_ckpts=2)
        cfg["log_processor"] = dict(by_epoch=True)
        return cfg
    if name == "epoch_stop_resume:stop":
        # An epoch loop asked to stop in iteration 6 (mid-epoch 2): MMEngine finishes that epoch,
        # validates and saves epoch_2.pth, then stops ...
        cfg = scenario("epoch_loop")
        cfg["custom_hooks"] = cfg["custom_hooks"] + [dict(type="StopHook", after_iter=5)]
        return cfg
    if name == "epoch_stop_resume":
        # ... and the second process resumes from epoch_2.pth for the third epoch.
        return dict(scenario("epoch_loop"), resume=True)
    raise KeyError(name)


SCENARIOS = ("seed_runtime", "accumulation_clipping", "sgd_momentum", "stop_resume", "crash_resume", "save_best",
             "val_begin_dynamic", "layer_decay", "epoch_loop", "epoch_stop_resume", "cli")
#: Scenarios run from a config file: ``name -> the scenario whose config the file holds``. Ours is
#: ``lightning-runtime fit --config cli_run.py`` (``model``/``data``/``trainer`` sections added);
#: MMEngine's Runner gets the same MMEngine sections as a ``Config`` of that file name.
CLI_SCENARIOS = {"cli": "seed_runtime"}
#: Scenarios with an EpochBasedTrainLoop (the checkpoint/validation order pinned in test_hook_points).
EPOCH_LOOPS = ("epoch_loop", "epoch_stop_resume")
#: Scenarios run in two processes per side: the first (``<name>:stop``) leaves a checkpoint.
FIRST_PHASE = {"stop_resume": "stop_resume:stop", "crash_resume": "crash_resume:crash",
               "epoch_stop_resume": "epoch_stop_resume:stop"}
#: The exit code of a first phase that crashes (:func:`make_crash_hook`).
CRASH_EXIT_CODE = 3


def write_cli_config(cfg: dict[str, Any], work_dir: str) -> Path:
    """``cli_run.py`` beside ``work_dir``: ``cfg`` as a ``.py`` config file (``key = value`` lines)."""
    path = Path(work_dir).parent / "cli_run.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{key} = {value!r}\n" for key, value in cfg.items()))
    return path


def make_stop_hook(hook_base: type) -> type:
    """``StopHook(after_iter)``: ``runner.train_loop.stop_training = True`` in that iteration's ``after_train_iter``."""

    def __init__(self: Any, after_iter: int) -> None:
        self.after_iter = after_iter

    def after_train_iter(self: Any, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None) -> None:
        if runner.iter == self.after_iter:
            runner.train_loop.stop_training = True

    return type("StopHook", (hook_base,), dict(__init__=__init__, after_train_iter=after_train_iter))


def make_crash_hook(hook_base: type) -> type:
    """``CrashHook(after_iter)``: the process dies in that iteration's ``after_train_iter`` (``os._exit``)."""

    def __init__(self: Any, after_iter: int) -> None:
        self.after_iter = after_iter

    def after_train_iter(self: Any, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None) -> None:
        if runner.iter == self.after_iter:
            os._exit(CRASH_EXIT_CODE)

    return type("CrashHook", (hook_base,), dict(__init__=__init__, after_train_iter=after_train_iter))


# ---------------------------------------------------------------------- recording
def _group_values(runner: Any, model: nn.Module) -> dict[str, dict[str, Any]]:
    names = {id(p): n for n, p in model.named_parameters()}
    out: dict[str, dict[str, Any]] = {}
    for group in runner.optim_wrapper.optimizer.param_groups:
        for p in group["params"]:
            if id(p) in names:
                out[names[id(p)]] = dict(
                    lr=group["lr"], weight_decay=group.get("weight_decay"),
                    momentum=group.get("momentum", "MISSING"),
                    beta0=group["betas"][0] if "betas" in group else None,
                )
    return out


def make_record_hook(hook_base: type, is_model_wrapper: Any, sink: list) -> type:
    """A hook class that appends what it sees at every point to ``sink``."""

    def _model(runner: Any) -> nn.Module:
        return runner.model.module if is_model_wrapper(runner.model) else runner.model

    def _make(point: str) -> Any:
        def method(self: Any, runner: Any, *args: Any, **kwargs: Any) -> None:
            entry: dict[str, Any] = dict(tag=self.tag, point=point, iter=runner.iter, epoch=runner.epoch)
            batch_idx = kwargs.get("batch_idx", args[0] if args and isinstance(args[0], int) else None)
            if batch_idx is not None:
                entry["batch_idx"] = batch_idx
            if point in ("before_train_iter", "after_train_iter"):
                entry["params"] = _group_values(runner, _model(runner))
                entry["get_lr"] = runner.optim_wrapper.get_lr()
                entry["get_momentum"] = runner.optim_wrapper.get_momentum()
                entry["hyper_parameter"] = getattr(_model(runner), "hyper_parameter", None)
            if point == "after_train_iter":
                outputs = kwargs.get("outputs")
                entry["loss"] = float(torch.as_tensor(outputs["loss"]).detach()) if outputs else None
            if point == "after_val_epoch":
                metrics = kwargs.get("metrics") or (args[0] if args else None) or {}
                entry["metrics"] = {k: float(v) for k, v in metrics.items()}
            sink.append(entry)

        method.__name__ = point
        return method

    attrs: dict[str, Any] = {p: _make(p) for p in POINTS}

    def __init__(self: Any, tag: str) -> None:
        self.tag = tag

    attrs["__init__"] = __init__
    return type("RecordHook", (hook_base,), attrs)


# ---------------------------------------------------------------------- results
_LINE = re.compile(r"(Iter|Epoch)\((train|val)\)\s*\[\s*(\d+)\s*(?:/\s*(\d+))?\]\s*(?:\[\s*(\d+)/(\d+)\])?(.*)$")


def parse_log(path: Path) -> list[dict[str, Any]]:
    """Train/val log lines as ``{'mode', 'at', 'fields'}`` (timing fields dropped)."""
    out = []
    for line in path.read_text().splitlines():
        m = _LINE.search(line)
        if not m:
            continue
        fields = dict(re.findall(r"(\S+): (\S+)", m.group(7)))
        for key in TIMING:
            fields.pop(key, None)
        out.append(dict(mode=f"{m.group(1)}({m.group(2)})", at=[int(g) for g in m.groups()[2:6] if g], fields=fields))
    return out


def collect(work_dir: Path, model: nn.Module, sink: list) -> dict[str, Any]:
    """Everything the test compares, from the finished run."""
    runs = sorted(p for p in work_dir.iterdir() if p.is_dir() and re.fullmatch(r"\d{8}_\d{6}", p.name))
    log_dir = runs[-1] if runs else None
    scalars: list[dict[str, Any]] = []
    log: list[dict[str, Any]] = []
    exp_names: list[str] = []
    hook_table = False
    if log_dir is not None:
        sj = log_dir / "vis_data" / "scalars.json"
        if sj.exists():
            for line in sj.read_text().splitlines():
                rec = json.loads(line)
                scalars.append({k: v for k, v in rec.items() if k not in TIMING})
        logs = list(log_dir.glob("*.log"))
        if logs:
            log = parse_log(logs[0])
            exp_names = re.findall(r"Exp name: (\S+)", logs[0].read_text())
            hook_table = "Hooks will be executed in the following order" in logs[0].read_text()
    last = work_dir / "last_checkpoint"
    return dict(
        records=copy.deepcopy(sink),
        weights={k: v.detach().double().flatten().tolist() for k, v in model.state_dict().items()},
        checkpoints=sorted(p.name for p in work_dir.glob("*.pth")),
        last_checkpoint=os.path.basename(last.read_text().strip()) if last.exists() else None,
        log=log,
        scalars=scalars,
        # timestamps written as <ts>: the names MMEngine gives the files and the experiment
        log_dir_files=sorted(p.name.replace(log_dir.name, "<ts>") for p in log_dir.iterdir()) if log_dir else [],
        # the config dump of each run (<ts>.py for a dict config), beside the checkpoints (not the
        # work_dir lock, still held when the CLI scenario collects at after_run)
        work_dir_files=sorted(re.sub(r"\d{8}_\d{6}", "<ts>", p.name) for p in work_dir.iterdir()
                              if p.is_file() and p.suffix != ".pth" and p.name != "last_checkpoint"
                              and not p.name.startswith(".")),
        exp_names=[n.replace(log_dir.name, "<ts>") for n in exp_names] if log_dir else [],
        hook_table_in_log=hook_table,
    )
