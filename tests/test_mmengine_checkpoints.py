"""MMEngine-format checkpoints read safely, without mmengine: the allow-list, its refusals, the conversion.

An MMEngine checkpoint pickles ``HistoryBuffer`` objects (numpy arrays inside, ``getattr`` references
to their statistics methods) and numpy scalars in its message hub. They are read with an allow-list
(``checkpoint/_mmengine_pickle``), never with ``weights_only=False``; anything else is refused with
the class named. These tests run where mmengine is not importable (a subprocess blocks it) and
check the numbers the conversion hands to the resumed run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from lightning_runtime.checkpoint import UnsafeCheckpointError, export_mmengine
from lightning_runtime.checkpoint._from_mmengine import MMEngineResume, is_mmengine_checkpoint, to_lightning
from lightning_runtime.checkpoint._io import safe_load
from lightning_runtime.checkpoint._mmengine_pickle import HistoryBufferState, save_mmengine


def _mmengine_checkpoint(n: int = 6) -> dict[str, Any]:
    """An MMEngine-shaped checkpoint at iteration ``n`` (as ``Runner.save_checkpoint`` writes it)."""
    hub = {
        "log_scalars": OrderedDict(
            [("train/loss", HistoryBufferState.from_values([1.5, 1.25, 1.0], [1, 1, 1])),
             ("train/lr", HistoryBufferState.from_values([0.01, 0.02, 0.03], [1, 1, 1]))]),
        "runtime_info": OrderedDict([("eta", np.float64(12.5)), ("iter", n - 1), ("keep_ckpt_ids", [3, 6]),
                                     ("last_ckpt", f"/elsewhere/run/iter_{n}.pth"), ("best_score", np.float64(0.25)),
                                     ("best_ckpt", "/elsewhere/run/best_mse_iter_3.pth")]),
        "resumed_keys": OrderedDict([("train/loss", True), ("eta", True)]),
    }
    return {"meta": {"epoch": 0, "iter": n, "seed": 1234, "experiment_name": "exp", "mmengine_version": "0.10.7"},
            "state_dict": OrderedDict([("backbone.weight", torch.ones(2, 2)), ("decode_head.bias", torch.zeros(2))]),
            "message_hub": hub}


def test_written_under_mmengine_names_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "iter_6.pth"
    save_mmengine(_mmengine_checkpoint(), path)
    globals_ = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    assert "mmengine.logging.history_buffer.HistoryBuffer" in globals_
    loaded = safe_load(path)  # weights_only=True with the allow-list
    assert is_mmengine_checkpoint(loaded)
    buf = loaded["message_hub"]["log_scalars"]["train/loss"]
    assert isinstance(buf, HistoryBufferState) and buf.values() == [1.5, 1.25, 1.0] and buf.counts() == [1.0, 1.0, 1.0]
    assert float(loaded["message_hub"]["runtime_info"]["eta"]) == 12.5


def test_conversion_numbers() -> None:
    """Weights under the module's prefix, loop position and data position at iteration 6, the hub, the hook state."""
    out = to_lightning(_mmengine_checkpoint(6), MMEngineResume(prefix="model.", accumulative_counts=2, max_iters=12))
    assert list(out["state_dict"]) == ["model.backbone.weight", "model.decode_head.bias"]
    loop = out["loops"]["fit_loop"]
    assert loop["epoch_loop.batch_progress"]["total"] == {"ready": 6, "completed": 5, "started": 6, "processed": 6}
    assert loop["epoch_loop.automatic_optimization.optim_progress"]["optimizer"]["step"]["total"] == {"ready": 3, "completed": 3}
    assert loop["state_dict"]["combined_loader"] == [{"version": 1, "pass": 0, "offset": 6, "consumed": 6}]
    assert out["global_step"] == 3 and out["epoch"] == 0
    assert out["message_hub"]["log_scalars"]["train/loss"] == {"values": [1.5, 1.25, 1.0], "counts": [1.0, 1.0, 1.0]}
    assert out["message_hub"]["runtime_info"]["eta"] == 12.5 and type(out["message_hub"]["runtime_info"]["eta"]) is float
    # file names become plain names in the run's own directory (never the other run's absolute paths)
    assert out["callbacks"]["CheckpointHook"] == {"keep_ckpt_ids": [3, 6], "best_score": {"mse": 0.25},
                                                  "best_ckpt": {"mse": "best_mse_iter_3.pth"},
                                                  "last_ckpt": "iter_6.pth", "pending_delete": []}
    assert out["mmengine_resume"]["seed"] == 1234 and out["mmengine_resume"]["iter"] == 6


def test_conversion_of_several_best_metrics_and_an_epoch_checkpoint() -> None:
    """MMEngine keeps one best score/file per metric under suffixed keys; epoch_N.pth ends a pass."""
    ckpt = _mmengine_checkpoint(8)
    info = ckpt["message_hub"]["runtime_info"]
    for key in ("best_score", "best_ckpt"):
        del info[key]
    info.update(best_score_mIoU=np.float64(0.5), best_ckpt_mIoU="/x/best_mIoU_epoch_1.pth",
                best_score_aAcc=np.float64(0.75), best_ckpt_aAcc="/x/best_aAcc_epoch_2.pth")
    ckpt["meta"].update(epoch=2, iter=8)
    out = to_lightning(ckpt, MMEngineResume(by_epoch=True))
    hook = out["callbacks"]["CheckpointHook"]
    assert hook["best_score"] == {"mIoU": 0.5, "aAcc": 0.75}
    assert hook["best_ckpt"] == {"mIoU": "best_mIoU_epoch_1.pth", "aAcc": "best_aAcc_epoch_2.pth"}
    loop = out["loops"]["fit_loop"]
    assert loop["epoch_progress"]["total"] == {"ready": 2, "completed": 1, "started": 2, "processed": 2}
    assert loop["epoch_loop.batch_progress"]["current"] == {"ready": 4, "completed": 4, "started": 4, "processed": 4}
    assert loop["state_dict"]["combined_loader"] == [{"version": 1, "pass": 1, "offset": 4, "consumed": 8}]
    assert (out["epoch"], out["global_step"]) == (1, 8)


class _Evil:
    def __reduce__(self) -> Any:
        return (os.system, ("echo pwned",))


class _SneakyGetattr:
    """``getattr(HistoryBuffer, '__init__')``: the allowed getattr with a name it must refuse."""

    def __reduce__(self) -> Any:
        return (getattr, (HistoryBufferState, "__init__"))


@pytest.mark.parametrize(("payload", "named"), [(_Evil(), "posix.system"), (_SneakyGetattr(), "builtins.getattr"),
                                                 (np.array([object()], dtype=object), None)])
def test_anything_else_is_refused_with_the_class_named(tmp_path: Path, payload: Any, named: str | None) -> None:
    path = tmp_path / "iter_6.pth"
    ckpt = _mmengine_checkpoint()
    ckpt["message_hub"]["runtime_info"]["extra"] = payload
    save_mmengine(ckpt, path)
    with pytest.raises(UnsafeCheckpointError) as info:
        safe_load(path)
    if named is not None:
        assert info.value.global_name == named and named in str(info.value)
    assert "weights_only=False" in str(info.value)  # the explicit opt-in, named, never taken


_BLOCKED = """
import sys
sys.modules['mmengine'] = None  # 'import mmengine' now fails: the package must not need it
from lightning_runtime.checkpoint._io import safe_load
from lightning_runtime.checkpoint._from_mmengine import MMEngineResume, to_lightning
ckpt = safe_load(sys.argv[1])
out = to_lightning(ckpt, MMEngineResume())
print(out['message_hub']['log_scalars']['train/loss']['values'], 'mmengine' in sys.modules and sys.modules['mmengine'])
"""


@pytest.mark.slow  # a subprocess importing Lightning
def test_read_where_mmengine_cannot_be_imported(tmp_path: Path) -> None:
    path = tmp_path / "iter_6.pth"
    save_mmengine(_mmengine_checkpoint(), path)
    done = subprocess.run([sys.executable, "-c", _BLOCKED, str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["[1.5,", "1.25,", "1.0]", "None"]


def test_export_round_trip_weights_only(tmp_path: Path) -> None:
    """A Lightning checkpoint's weights under ``model.`` come out with MMEngine's own keys."""
    lightning = {"pytorch-lightning_version": "2.6.6", "epoch": 0, "global_step": 4,
                 "state_dict": OrderedDict([("model.backbone.w", torch.ones(2)), ("model.decode_head.b", torch.zeros(1))]),
                 "meta": {"epoch": 0, "iter": 4, "experiment_name": "exp", "time": "20260101_000000"}}
    out = tmp_path / "iter_4.pth"
    export_mmengine(lightning, out, weights_only=True)
    loaded = torch.load(out, weights_only=True)
    assert set(loaded) == {"meta", "state_dict"}
    assert list(loaded["state_dict"]) == ["backbone.w", "decode_head.b"]
    assert loaded["meta"] == {"epoch": 0, "iter": 4, "experiment_name": "exp", "time": "20260101_000000"}


def _lightning_checkpoint() -> dict[str, Any]:
    """What CheckpointHook writes for a module holding the network as ``self.model`` (AdamW, two merged groups)."""
    names = ["backbone.w", "backbone.norm.weight", "decode_head.b"]
    groups = [
        {"lr": 0.5, "weight_decay": 0.0, "betas": (0.9, 0.999), "initial_lr": 1.0, "decay_mult": 0.0,
         "name": "backbone.no_decay", "param_names": ["backbone.norm.weight"], "params": [0]},
        {"lr": 0.5, "weight_decay": 0.01, "betas": (0.9, 0.999), "initial_lr": 1.0, "name": "base",
         "param_names": ["backbone.w", "decode_head.b"], "params": [1, 2]},
    ]
    state = {0: {"step": torch.tensor(4.0), "exp_avg": torch.full((2,), 0.0)},
             1: {"step": torch.tensor(4.0), "exp_avg": torch.full((2,), 1.0)},
             2: {"step": torch.tensor(4.0), "exp_avg": torch.full((1,), 2.0)}}
    signature = '{"cfg": "{\\"epoch_length\\": null, \\"schedulers\\": [{\\"begin\\": 0, \\"by_epoch\\": false, ' \
                '\\"end\\": 8, \\"type\\": \\"LinearLR\\"}]}", "groups": 2, "initial": {}}'
    return {
        "pytorch-lightning_version": "2.6.6", "epoch": 0, "global_step": 4,
        "state_dict": OrderedDict((f"model.{n}", torch.full((1 if n == "decode_head.b" else 2,), float(i)))
                                  for i, n in enumerate(names)),
        "optimizer_states": [{"state": state, "param_groups": groups}],
        "lr_schedulers": [{"format": "lightning_runtime.ParamSchedulerStack/1", "last_iter": 4, "signature": signature}],
        "callbacks": {"CheckpointHook": {"keep_ckpt_ids": [2, 4], "best_score": {}, "best_ckpt": {},
                                         "last_ckpt": "iter_4.pth", "pending_delete": []}},
        "message_hub": {"log_scalars": {"train/loss": {"values": [3.0, 2.0], "counts": [1.0, 1.0]}},
                        "runtime_info": {"seed": 7, "iter": 3}},
        "meta": {"epoch": 0, "iter": 4, "experiment_name": "exp"},
    }


def test_export_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``lightning-runtime export``: MMEngine's layout, one group per parameter in the weights' order."""
    from lightning_runtime.cli import main

    source, out = tmp_path / "iter_4.pth", tmp_path / "mm" / "iter_4.pth"
    torch.save(_lightning_checkpoint(), source)
    assert main(["export", str(source), str(out)]) == 0
    assert "epoch 0, iter 4: state_dict (3 tensors), optimizer (3 param groups), param_schedulers (1), message_hub" \
        in capsys.readouterr().out
    mm = safe_load(out)
    assert list(mm["state_dict"]) == ["backbone.w", "backbone.norm.weight", "decode_head.b"]
    assert mm["meta"] == {"epoch": 0, "iter": 4, "seed": 7, "experiment_name": "exp"}
    optimizer = mm["optimizer"]
    assert [g["params"] for g in optimizer["param_groups"]] == [[0], [1], [2]]
    assert [g["weight_decay"] for g in optimizer["param_groups"]] == [0.01, 0.0, 0.01]
    assert [float(optimizer["state"][i]["exp_avg"][0]) for i in range(3)] == [1.0, 0.0, 2.0]
    assert optimizer["base_param_settings"]["lr"] == 0.5 and "name" not in optimizer["base_param_settings"]
    assert mm["param_schedulers"] == [{"last_step": 4, "_global_step": 4, "base_values": [1.0] * 4,
                                       "_last_value": [0.5] * 4}]
    hub = mm["message_hub"]
    assert hub["log_scalars"]["train/loss"].values() == [3.0, 2.0]
    assert hub["runtime_info"]["keep_ckpt_ids"] == [2, 4]
    assert hub["runtime_info"]["last_ckpt"] == str(tmp_path / "mm" / "iter_4.pth")

    assert main(["export", str(source), str(tmp_path / "w.pth"), "--weights-only"]) == 0
    assert set(torch.load(tmp_path / "w.pth", weights_only=True)) == {"meta", "state_dict"}


def test_export_command_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from lightning_runtime.cli import main

    assert main(["export", str(tmp_path / "missing.pth"), str(tmp_path / "out.pth")]) == 2
    err = capsys.readouterr().err
    assert "checkpoint: checkpoint file" in err and "missing.pth' does not exist" in err and "fix: give a checkpoint" in err
    source = tmp_path / "iter_4.pth"
    torch.save(_lightning_checkpoint(), source)
    assert main(["export", str(source), str(source)]) == 2
    assert "under another name" in capsys.readouterr().err
    with pytest.raises(SystemExit) as done:
        main(["export", str(source)])
    assert done.value.code == 2


@pytest.mark.parametrize("value", ["pth", "MMEngine", None])
def test_checkpoint_format_is_checked(value: Any) -> None:
    """``default_hooks.checkpoint.format``: 'lightning' (default) or 'mmengine'; anything else names the path."""
    from lightning_runtime import Runtime
    from lightning_runtime.errors import ConfigError

    cfg = dict(train_cfg=dict(type="IterBasedTrainLoop", max_iters=4),
               default_hooks=dict(checkpoint=dict(type="CheckpointHook", format=value)))
    with pytest.raises(ConfigError) as info:
        Runtime(cfg).callbacks()
    assert str(info.value).startswith("default_hooks.checkpoint.format: must be one of ['lightning', 'mmengine']")
    assert "format='mmengine'" in str(info.value)


class _Seg(torch.nn.Module):
    def __init__(self, width: int = 2) -> None:
        super().__init__()
        self.backbone = torch.nn.Linear(width, width)
        self.decode_head = torch.nn.Linear(width, 1)


class _Holder(torch.nn.Module):
    """A LightningModule-like holder of the network MMEngine trained (``self.model``)."""

    def __init__(self, width: int = 2) -> None:
        super().__init__()
        self.model = _Seg(width)


_CFG = {"train_cfg": {"type": "IterBasedTrainLoop", "max_iters": 12},
        "optim_wrapper": {"optimizer": {"type": "AdamW", "lr": 0.01}, "accumulative_counts": 2}}


def test_resume_check_for_a_network_held_as_an_attribute(tmp_path: Path) -> None:
    """The ``model.`` prefix is added before the weights are checked and handed to Lightning."""
    from lightning_runtime.checkpoint import AtomicCheckpointIO
    from lightning_runtime.checkpoint._resume import check_checkpoint_path, mmengine_resume_context
    from lightning_runtime.errors import ConfigError

    holder = _Holder()
    assert mmengine_resume_context(_CFG, holder) == MMEngineResume(prefix="model.", accumulative_counts=2, max_iters=12)
    path = tmp_path / "iter_6.pth"
    ckpt = _mmengine_checkpoint(6)
    ckpt["state_dict"] = OrderedDict(holder.model.state_dict())
    save_mmengine(ckpt, path)
    summary = check_checkpoint_path(str(path), holder, "resume", cfg=_CFG)
    assert summary["mmengine"] is True and summary["optimizer_states"] is None
    loaded = AtomicCheckpointIO().load_checkpoint(str(path))  # what Lightning then restores
    assert list(loaded["state_dict"]) == ["model.backbone.weight", "model.backbone.bias", "model.decode_head.weight",
                                          "model.decode_head.bias"]
    assert loaded["global_step"] == 3 and loaded["loops"]["fit_loop"]["epoch_loop.state_dict"] == {"_batches_that_stepped": 2}
    with pytest.raises(ConfigError) as info:
        check_checkpoint_path(str(path), _Holder(width=3), "resume", cfg=_CFG)
    assert "model.backbone.weight: checkpoint [2, 2], model [3, 3]" in str(info.value)


def _mmengine_optimizer(model: torch.nn.Module, lrs: list[float]) -> dict[str, Any]:
    """MMEngine's per-parameter AdamW state for ``model``: parameter i's exp_avg is filled with i."""
    params = list(model.named_parameters())
    return {"state": {i: {"step": torch.tensor(3.0), "exp_avg": torch.full(p.shape, float(i))}
                      for i, (_, p) in enumerate(params)},
            "param_groups": [{"lr": lr, "weight_decay": 0.0 if "bias" in n else 0.01, "betas": (0.9, 0.999),
                              "initial_lr": 0.01, "params": [i]} for i, ((n, _), lr) in enumerate(zip(params, lrs))],
            "base_param_settings": {"params": torch.tensor([0.0]), "lr": 0.005}}


def test_optimizer_state_mapped_by_name_into_merged_groups() -> None:
    from lightning_runtime.checkpoint._from_mmengine import optimizer_state_from_mmengine
    from lightning_runtime.errors import ConfigError

    seg = _Seg()
    named = dict(seg.named_parameters())
    # merged here: the biases (no decay) first, then the weights; MMEngine numbered them in named_parameters() order
    optimizer = torch.optim.AdamW([
        {"params": [named["backbone.bias"], named["decode_head.bias"]], "weight_decay": 0.0, "name": "no_decay",
         "param_names": ["backbone.bias", "decode_head.bias"]},
        {"params": [named["backbone.weight"], named["decode_head.weight"]], "weight_decay": 0.01, "name": "base",
         "param_names": ["backbone.weight", "decode_head.weight"]}], lr=0.01)
    state = optimizer_state_from_mmengine(_mmengine_optimizer(seg, [0.005] * 4), optimizer, seg, "iter_6.pth")
    # named_parameters(): backbone.weight 0, backbone.bias 1, decode_head.weight 2, decode_head.bias 3
    assert [float(state["state"][i]["exp_avg"].flatten()[0]) for i in range(4)] == [1.0, 3.0, 0.0, 2.0]
    assert [g["lr"] for g in state["param_groups"]] == [0.005, 0.005]
    assert [g["params"] for g in state["param_groups"]] == [[0, 1], [2, 3]]
    assert [g["name"] for g in state["param_groups"]] == ["no_decay", "base"]
    optimizer.load_state_dict(state)  # torch takes it as is
    assert torch.equal(optimizer.state[named["decode_head.bias"]]["exp_avg"], torch.full((1,), 3.0))

    with pytest.raises(ConfigError) as info:  # merged here, different in MMEngine: the config changed
        optimizer_state_from_mmengine(_mmengine_optimizer(seg, [0.005, 0.004, 0.005, 0.005]), optimizer, seg, "f.pth")
    assert "param group 'no_decay' had different 'lr'" in str(info.value)
    with pytest.raises(ConfigError) as info:  # another model: the state does not line up
        optimizer_state_from_mmengine(_mmengine_optimizer(_Seg(width=3), [0.005] * 4), optimizer, seg, "f.pth")
    assert "has shape [3, 3], but the parameter it lines up with (backbone.weight) has shape [2, 2]" in str(info.value)


def test_export_one_merged_group_as_mmengine_built_it() -> None:
    """One merged group: one MMEngine group, unless MMEngine built one per parameter (``paramwise_cfg`` set)."""
    from lightning_runtime.checkpoint._export import mmengine_from_lightning

    ckpt = _lightning_checkpoint()
    state = ckpt["optimizer_states"][0]
    state["param_groups"] = [{**state["param_groups"][1], "param_names": ["backbone.w", "backbone.norm.weight",
                                                                          "decode_head.b"], "params": [0, 1, 2]}]
    single = mmengine_from_lightning(ckpt)["optimizer"]
    assert [g["params"] for g in single["param_groups"]] == [[0, 1, 2]] and "base_param_settings" not in single
    split = mmengine_from_lightning(ckpt, per_parameter=True)["optimizer"]
    assert [g["params"] for g in split["param_groups"]] == [[0], [1], [2]]
    assert split["base_param_settings"]["lr"] == 0.5
