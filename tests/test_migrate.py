"""Migrating a run between MMEngine's Runner and this package, both ways, against MMEngine 0.10.7.

MMEngine -> here (:data:`migrate_common.MIGRATIONS`): MMEngine's Runner trains until a
``StopHook`` ends the run after a checkpoint (``iter_N.pth`` / ``epoch_N.pth``); its work_dir is
copied; MMEngine's Runner resumes the original (``resume=True``) and ``Runtime.fit`` the copy
(``resume=True``, or the checkpoint's path), each to the end. Compared, after the resume: every
hook point with ``runner.iter`` / ``runner.epoch``, the lr / weight decay / momentum of every
parameter before and after each iteration, the losses, the validation metrics, the final weights,
the checkpoint files and ``last_checkpoint``, the log lines and ``scalars.json`` of the resumed run.

Here -> MMEngine: this package trains until the stop and its checkpoint is exported
(:func:`lightning_runtime.checkpoint.export_mmengine`); ``mmengine.runner.load_checkpoint`` loads it
into the MMEngine model with no missing or unexpected key, and MMEngine's Runner resumes from it
(``load_from=..., resume=True``) with the same numbers as this package continuing its own run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

pytest.importorskip("mmengine.runner")  # full mmengine (the test extra)
pytest.importorskip("cv2")

from migrate_common import FROM_MMENGINE, MIGRATIONS, checkpoint_of  # noqa: E402
from test_runner_parity import _close, _first_difference  # noqa: E402  (the same comparison rules)

HERE = Path(__file__).parent
pytestmark = pytest.mark.slow
# warnings stay on: a resumed run must not warn that it starts anything afresh (test below)
_ENV = dict(os.environ, TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD="1", CUDA_VISIBLE_DEVICES="", OMP_NUM_THREADS="1")


def _start(side: str, name: str, work_dir: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(HERE / "migrate_run.py"), side, name, str(work_dir), str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_ENV, cwd=out.parent)


def _finish(procs: dict[str, tuple[subprocess.Popen, Path]]) -> dict[str, dict[str, Any]]:
    results = {}
    for side, (proc, out) in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"{side} failed:\n{stdout[-3000:]}\n{stderr[-5000:]}"
        results[side] = json.loads(out.read_text())
        results[side]["stderr"] = stderr
    return results


def _copy_work_dir(src: Path, dst: Path) -> None:
    """A copied work_dir, its ``last_checkpoint`` naming the copy (as after ``cp -r`` and a fix-up)."""
    shutil.copytree(src, dst)
    last = dst / "last_checkpoint"
    last.write_text(str(dst / os.path.basename(last.read_text().strip())))


#: Also resumed by a LightningModule holding the network as ``self.model`` (weights ``model.*``).
WRAPPED = "sgd_momentum"
WRAPPED_RUNS: dict[str, dict[str, Any]] = {}


@pytest.fixture(scope="module", params=FROM_MMENGINE)
def migrated(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    """``(MMEngine's resumed run, ours)`` for one migration."""
    name, tmp = request.param, tmp_path_factory.mktemp(request.param)
    ref_dir, lit_dir = tmp / "ref" / "work", tmp / "lit" / "work"
    stop = _finish({"ref": (_start("ref", f"{name}:stop", ref_dir, tmp / "stop.json"), tmp / "stop.json")})["ref"]
    assert (ref_dir / checkpoint_of(name)).is_file()
    kept = tmp / "mmengine_checkpoint.pth"  # the resumed runs prune it (max_keep_ckpts)
    shutil.copyfile(ref_dir / checkpoint_of(name), kept)
    sides = [("ref", ref_dir), ("lit", lit_dir)]
    if name == WRAPPED:
        sides.append(("lit_wrapped", tmp / "lit_wrapped" / "work"))
    for side, work in sides[1:]:
        _copy_work_dir(ref_dir, work)
    runs = _finish({side: (_start(side, f"{name}:resume", d, tmp / f"{side}.json"), tmp / f"{side}.json")
                    for side, d in sides})
    WRAPPED_RUNS.update(runs if name == WRAPPED else {})
    runs["ref"]["mmengine_checkpoint"] = str(kept)
    runs["ref"]["stop_validations"] = [(r["iter"], r["epoch"], r["metrics"]) for r in stop["records"]
                                       if r["point"] == "after_val_epoch" and r["tag"] == "normal"]
    return runs["ref"], runs["lit"]


def _iterations(run: dict, point: str, tag: str = "normal") -> list[dict]:
    return [{k: r.get(k) for k in ("iter", "epoch", "params", "loss")} for r in run["records"]
            if r["point"] == point and r["tag"] == tag]


@pytest.mark.parametrize("point", ["before_train_iter", "after_train_iter"])
def test_param_values_and_losses_after_resume(migrated: tuple[dict, dict], point: str) -> None:
    ref, lit = migrated
    a, b = _iterations(ref, point), _iterations(lit, point)
    assert a, "MMEngine trained no iteration after the resume"
    assert _close(a, b), _first_difference(a, b, point)
    for warning in ("not what this config's param_scheduler gives", "starts fresh", "schedules restart"):
        assert warning not in lit["stderr"]


def test_final_weights(migrated: tuple[dict, dict], request: pytest.FixtureRequest) -> None:
    """Bitwise equal; with accumulation + clipping to 1e-5 (``test_runner_parity``'s tolerance for the
    uninterrupted run: the clipped, accumulated update is not computed in MMEngine's operation order)."""
    ref, lit = migrated
    name = request.node.callspec.params["migrated"]
    assert ref["weights"].keys() == lit["weights"].keys()
    for key in ref["weights"]:
        if MIGRATIONS[name][3].get("not_bitwise"):
            assert _close(ref["weights"][key], lit["weights"][key], rel=1e-5), key
        else:
            assert ref["weights"][key] == lit["weights"][key], key


def test_validation_metrics(migrated: tuple[dict, dict]) -> None:
    ref, lit = migrated
    a = [(r["iter"], r["metrics"]) for r in ref["records"] if r["point"] == "after_val_epoch" and r["tag"] == "normal"]
    b = [(r["iter"], r["metrics"]) for r in lit["records"] if r["point"] == "after_val_epoch" and r["tag"] == "normal"]
    assert a and _close(a, b), _first_difference(a, b, "after_val_epoch")


def test_log_lines_and_scalars(migrated: tuple[dict, dict]) -> None:
    ref, lit = migrated
    assert ref["log"], "MMEngine wrote no log lines"
    assert ref["log"] == lit["log"], _first_difference(ref["log"], lit["log"], "log lines")
    assert _close(ref["scalars"], lit["scalars"], rel=1e-5), _first_difference(ref["scalars"], lit["scalars"], "scalars")


def test_mmengine_file_read_with_the_allow_list(migrated: tuple[dict, dict]) -> None:
    """MMEngine's own file, read with ``weights_only=True`` + the allow-list: the same data MMEngine unpickles."""
    from mmengine.logging import HistoryBuffer

    from lightning_runtime.checkpoint._io import safe_load
    from lightning_runtime.checkpoint._mmengine_pickle import HistoryBufferState

    path = migrated[0]["mmengine_checkpoint"]
    ours = safe_load(path)
    theirs = torch.load(path, weights_only=False)  # MMEngine's own way (trusted: written by this test)
    assert ours["meta"] == theirs["meta"] and ours["message_hub"]["runtime_info"] == theirs["message_hub"]["runtime_info"]
    scalars = theirs["message_hub"]["log_scalars"]
    assert scalars and all(isinstance(v, HistoryBuffer) for v in scalars.values())
    for key, buf in scalars.items():
        mine = ours["message_hub"]["log_scalars"][key]
        assert isinstance(mine, HistoryBufferState)
        assert mine.values() == buf._log_history.tolist() and mine.counts() == buf._count_history.tolist(), key
    assert all(torch.equal(ours["state_dict"][k], v) for k, v in theirs["state_dict"].items())


def test_validate_from_the_mmengine_file(migrated: tuple[dict, dict], tmp_path: Path) -> None:
    """``Runtime.validate(ckpt_path=<MMEngine's file>)``: the metric MMEngine's validation gave those weights."""
    import runner_parity_common as common
    from lightning_runtime import Runtime
    from lightning_runtime.checkpoint._io import safe_load

    ref = migrated[0]
    meta = safe_load(ref["mmengine_checkpoint"])["meta"]
    done = [m for i, e, m in ref["stop_validations"] if (i, e) == (meta["iter"], meta["epoch"])]
    if not done:
        pytest.skip(f"MMEngine's run did not validate at iteration {meta['iter']}")
    sys.path.insert(0, str(HERE))
    from runner_parity_lit import TinySeg

    cfg = dict(common.scenario("seed_runtime"), work_dir=str(tmp_path), custom_hooks=[])
    metrics = Runtime(cfg).validate(TinySeg(), dataloaders=common.loaders()[1], ckpt_path=ref["mmengine_checkpoint"],
                                    enable_progress_bar=False, enable_model_summary=False)
    assert _close(metrics[0]["mse"], done[0]["mse"]), (metrics, done)


def _unprefixed(value: Any) -> Any:
    """Records and weights of the wrapped module with the ``model.`` prefix taken off the parameter names."""
    if isinstance(value, dict):
        return {(k[len("model."):] if isinstance(k, str) and k.startswith("model.") else k): _unprefixed(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_unprefixed(v) for v in value]
    return value


@pytest.mark.parametrize("migrated", [WRAPPED], indirect=True)
def test_network_held_as_an_attribute(migrated: tuple[dict, dict]) -> None:
    """``self.model = network``: MMEngine's weights and optimizer state go to ``model.*``; same numbers."""
    ref, wrapped = migrated[0], WRAPPED_RUNS["lit_wrapped"]
    assert all(k.startswith("model.") for k in wrapped["weights"])
    for point in ("before_train_iter", "after_train_iter"):
        a, b = _iterations(ref, point), _unprefixed(_iterations(wrapped, point))
        assert a and _close(a, b), _first_difference(a, b, point)
    assert ref["weights"] == _unprefixed(wrapped["weights"])
    assert ref["log"] == wrapped["log"], _first_difference(ref["log"], wrapped["log"], "log lines")


def test_checkpoint_files(migrated: tuple[dict, dict]) -> None:
    ref, lit = migrated
    assert ref["checkpoints"] == lit["checkpoints"]
    assert ref["last_checkpoint"] == lit["last_checkpoint"]


# ------------------------------------------------------------------------------ here -> MMEngine
#: Exported and resumed by MMEngine's Runner; ``format_mmengine`` (MMSeg layer decay):
#: CheckpointHook(format='mmengine') wrote MMEngine's format itself.
EXPORTS = ("epoch_loop", "format_mmengine", "sgd_momentum")


@pytest.fixture(scope="module", params=EXPORTS)
def exported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """This package's first phase, its checkpoint exported, then MMEngine resuming the export and this
    package resuming its own checkpoint, side by side."""
    from lightning_runtime.checkpoint import export_mmengine
    from lightning_runtime.checkpoint._io import safe_load

    name, tmp = request.param, tmp_path_factory.mktemp(f"export_{request.param}")
    lit_dir, ref_dir = tmp / "lit" / "work", tmp / "ref" / "work"
    _finish({"lit": (_start("lit", f"{name}:export", lit_dir, tmp / "stop.json"), tmp / "stop.json")})
    source = lit_dir / checkpoint_of(name)
    full = ref_dir / "exported" / checkpoint_of(name)
    weights = tmp / "weights_only.pth"
    if "format" in MIGRATIONS[name][3]:  # written in MMEngine's format by the CheckpointHook itself
        full.parent.mkdir(parents=True)
        shutil.copyfile(source, full)
        shutil.copyfile(source, weights)
    else:
        export_mmengine(source, full)
        export_mmengine(source, weights, weights_only=True)
    ours = safe_load(source)  # before the resumed run prunes it (max_keep_ckpts)
    runs = _finish({"ref": (_start("ref", f"{name}:from_export", ref_dir, tmp / "ref.json"), tmp / "ref.json"),
                    "lit": (_start("lit", f"{name}:resume", lit_dir, tmp / "lit.json"), tmp / "lit.json")})
    return dict(name=name, ours=ours, full=full, weights=weights, ref=runs["ref"], lit=runs["lit"])


@pytest.mark.parametrize("kind", ["weights", "full"])
def test_export_loads_into_the_mmengine_model(exported: dict[str, Any], kind: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """``mmengine.runner.load_checkpoint(strict=True)``: no missing or unexpected key, the same tensors."""
    from mmengine.runner import load_checkpoint
    from torch import nn

    import runner_parity_common as common

    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")  # MMEngine 0.10.7 under torch >= 2.6
    model = nn.Module()
    common.build_layers(model)
    checkpoint = load_checkpoint(model, str(exported[kind]), map_location="cpu", strict=True)
    ours = exported["ours"]
    assert list(checkpoint["state_dict"]) == list(model.state_dict()) == list(ours["state_dict"])
    for key, value in model.state_dict().items():
        assert torch.equal(value, ours["state_dict"][key]), key
    assert (checkpoint["meta"]["epoch"], checkpoint["meta"]["iter"]) == (ours["meta"]["epoch"], ours["meta"]["iter"])


def test_mmengine_resumes_the_export(exported: dict[str, Any]) -> None:
    """MMEngine's Runner continues the exported run with this package's numbers (its own resume)."""
    ref, lit = exported["ref"], exported["lit"]
    for point in ("before_train_iter", "after_train_iter"):
        a, b = _iterations(ref, point), _iterations(lit, point)
        assert a and _close(a, b), _first_difference(a, b, point)
    assert ref["weights"] == lit["weights"]
    assert ref["log"] and ref["log"] == lit["log"], _first_difference(ref["log"], lit["log"], "log lines")
    assert _close(ref["scalars"], lit["scalars"], rel=1e-5), _first_difference(ref["scalars"], lit["scalars"], "scalars")
    # the same files written after the resume (MMEngine's resumed-from file is in exported/, not work_dir)
    assert ref["checkpoints"] == [c for c in lit["checkpoints"] if c != checkpoint_of(exported["name"])]
    assert ref["last_checkpoint"] == lit["last_checkpoint"]
