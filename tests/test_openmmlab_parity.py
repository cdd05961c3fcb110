"""Real MMSegmentation 1.2.2 models side by side: MMEngine 0.10.7's ``Runner`` and ``lightning-runtime fit``.

Each run takes an installed MMSeg config (:data:`openmmlab_parity_common.CONFIGS`) and changes it
only by dotted overrides (:func:`openmmlab_parity_common.overrides`), applied with
``Config.merge_from_dict`` on the reference side and as ``--KEY=VALUE`` options of the command line
here. The data is a generated dataset in ADE20K's layout (16 training and 4 validation 64x48 images,
:func:`lightning_runtime.demo.ade20k.write_ade20k_like`); both sides train 6 iterations of batch 2
on 32x32 crops, validate and save a checkpoint every 3 and log every 2, from
``randomness=dict(seed=0, deterministic=True)``, with ``optim_wrapper.optimizer.foreach=False``: the
for-loop kernel torch gives MMEngine's optimizer on CPU. Left unset, the merged param groups here get
torch's fused kernel (``choose_implementation``), whose rounding differs from the first step on
(SegFormer: 86 of 177 parameters differ in their last bits after step 1, the loss first differs at
iteration 5 by 3e-6 relative): the same optimizer implementation is what makes the comparison bitwise.

* ``segformer``: ``segformer_mit-b0_8xb2-160k_ade20k-512x512.py``; no ImageNet checkpoint.
* ``pspnet`` / ``deeplabv3plus``: the R18 configs exist only for Cityscapes
  (``*_r18-d8_4xb2-80k_cityscapes-512x1024.py``), so the overrides point their three dataloaders at
  ``ADE20KDataset`` and the ADE20K folders and set ``num_classes=150`` in both heads; no ImageNet
  checkpoint (``model.pretrained=None``).
* ``mae``: ``mae-base_upernet_8xb2-amp-160k_ade20k-512x512.py`` with its
  ``LayerDecayOptimizerConstructor`` (``layer_decay_rate=0.65``). MAE-base (768 wide, 12 layers,
  16x16 patches of 512x512) is made 4 layers of width 32 with 2 heads, 8x8 patches of 32x32
  inputs (neck, heads and ``paramwise_cfg.num_layers=4`` to match), so a step takes milliseconds
  on CPU, and its lr raised from 1e-4 to 3e-3 (so 6 steps learn something: mIoU 0.0 otherwise). Nothing to
  remove for AMP: the config's ``optim_wrapper`` is a plain ``OptimWrapper``
  (its ``fp16`` key is MMSeg 0.x's; MMSeg 1.x's ``tools/train.py --amp`` is what would switch it on).
* ``segformer_ddp``: ``segformer`` on two ranks (gloo): ``launcher=pytorch`` under
  ``torch.distributed.run`` on both sides, ``env_cfg.dist_cfg.backend=gloo`` and the decode head's
  ``SyncBN`` made ``BN`` (torch's SyncBatchNorm runs on CUDA only).

Compared, per run (and per rank), all of it bitwise (floats with ``==``): the images of every batch;
torch's, NumPy's and ``random``'s global RNG states and a digest of all weights before and after every
iteration; at ``before_train_iter`` / ``after_train_iter`` of a
NORMAL and a VERY_LOW hook the lr and weight decay of every parameter by name (relative to the
``BaseModel``); every ``after_train_iter`` output (``loss``, ``decode.loss_ce``, ``decode.acc_seg``,
``aux.loss_ce``, ``aux.acc_seg``); the hook points; ``aAcc`` / ``mIoU`` / ``mAcc`` of MMSeg's
``IoUMetric`` at each validation; the final weights; the checkpoint files and ``last_checkpoint``;
the log lines but their timing fields; ``vis_data/scalars.json``; the run's files and experiment name.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mmengine.runner")

import openmmlab_parity_common as common  # noqa: E402
from ddp_utils import free_port  # noqa: E402

from lightning_runtime import load_config  # noqa: E402
from lightning_runtime.demo.ade20k import write_ade20k_like  # noqa: E402

HERE = Path(__file__).parent
RUNS = (*common.CONFIGS, *common.DDP_RUNS)
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", RUNS)
def test_overrides_give_the_same_config(name: str) -> None:
    """``Config.merge_from_dict`` of the overrides (MMEngine) and their ``--KEY=VALUE`` text here: one config."""
    from mmengine.config import Config

    if importlib.util.find_spec("mmseg") is None:
        pytest.skip("mmsegmentation is not installed")
    values = common.overrides(name, "/data/ade", "/work_dirs/run")
    ref = Config.fromfile(str(common.config_path(name)))
    ref.merge_from_dict(values)
    ours = load_config(common.config_path(name), [f"{k}={common.cli_value(v)}" for k, v in values.items()])
    assert ours.to_dict() == ref.to_dict()
    assert ours.filename == ref.filename


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("mmseg.models")  # needs mmcv's compiled ops (the openmmlab extra)
    return write_ade20k_like(tmp_path_factory.mktemp("ade"), n_train=common.N_TRAIN, n_val=common.N_VAL,
                             size=common.IMAGE_SIZE, seed=0)


def _run_both(name: str, tmp_path: Path, data_root: Path) -> tuple[dict[str, Any], ...]:
    """Both sides at once, each in its own process(es): ``(MMEngine's records, ours[, rank 1 of each])``."""
    procs = {}
    for side in ("ref", "lit"):
        script = [str(HERE / f"openmmlab_parity_{side}.py"), name, str(tmp_path / side / "work"),
                  str(tmp_path / f"{side}.json"), str(data_root)]
        if side == "ref" and name in common.DDP_RUNS:
            launch = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={free_port()}"]
        else:
            launch = [sys.executable]
        procs[side] = subprocess.Popen([*launch, *script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                       env=common.child_env(), cwd=tmp_path)
    for side, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"{side} exited {proc.returncode}:\n{stdout[-3000:]}\n{stderr[-6000:]}"
    outs = [tmp_path / "ref.json", tmp_path / "lit.json"]
    if name in common.DDP_RUNS:
        outs += [tmp_path / "ref.json.rank1", tmp_path / "lit.json.rank1"]
    return tuple(json.loads(path.read_text()) for path in outs)


@pytest.fixture(scope="module", params=RUNS)
def runs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> tuple:
    return _run_both(request.param, tmp_path_factory.mktemp(request.param), data_root)


#: Differences found and not yet fixed: ``(test, run) -> what differs``; each is a strict xfail.
_DDP_RESEED = (
    "two ranks: Lightning's DDPStrategy.setup_environment calls reset_seed() (seed_everything again) after "
    "the model is built and initialised, so torch's global RNG state at the first iteration is manual_seed(0)'s "
    "here and MMEngine's single-process one there: other dropout/drop_path masks, loss at iter 0 on rank 0 "
    "4.58940315 in MMEngine, 4.60200167 here (batches, initial weights, numpy/random states, lr equal)"
)
KNOWN_DIFFERENCES = {(test, "segformer_ddp"): _DDP_RESEED for test in (
    "test_random_states", "test_weights_at_every_iteration", "test_losses_and_log_vars", "test_validation_metrics",
    "test_final_weights", "test_log_lines", "test_scalars_json")}

KNOWN_DIFFERENCES[("test_hook_points", "segformer_ddp")] = (
    "two ranks: MMEngine's Runner.save_checkpoint is @master_only, so before_save_checkpoint is called on rank 0 "
    "only; here rank 1's hooks see it too (at iter 3 and 6, both recorders); rank 0 is equal"
)


@pytest.fixture(autouse=True)
def _known_difference(request: pytest.FixtureRequest) -> None:
    callspec = getattr(request.node, "callspec", None)
    reason = KNOWN_DIFFERENCES.get((request.node.originalname, callspec and callspec.params.get("runs")))
    if reason:
        request.applymarker(pytest.mark.xfail(reason=reason, strict=True))


def _assert_equal(a: list, b: list, what: str) -> None:
    """Equal, floats bitwise (``==`` through lists and dicts); the first differing entry otherwise."""
    assert a, f"no {what} recorded"
    for i, (x, y) in enumerate(zip(a, b)):
        assert x == y, f"{what}[{i}]:\n  MMEngine: {x}\n  here:     {y}"
    assert len(a) == len(b), f"{what}: {len(a)} entries in MMEngine, {len(b)} here"


def _train_iters(records: list[dict], point: str = "after_train_iter", tag: str = "normal") -> list[dict]:
    return [r for r in records if r["point"] == point and r["tag"] == tag]


def test_batches(runs: tuple) -> None:
    """The same images in every batch: the sampler's order (and the shards under DDP)."""
    for ref, lit in zip(runs[::2], runs[1::2]):
        _assert_equal([r["batch"] for r in _train_iters(ref["records"])],
                      [r["batch"] for r in _train_iters(lit["records"])], "batch images")


def test_random_states(runs: tuple) -> None:
    """torch's, NumPy's and ``random``'s global states before and after every iteration (every rank).

    What the dropout / drop-path masks (torch) and the transforms (NumPy) draw from: equal states
    with equal batches and weights are what makes the losses bitwise equal."""
    for ref, lit in zip(runs[::2], runs[1::2]):
        for point in ("before_train_iter", "after_train_iter"):
            _assert_equal([(r["iter"], r["rng"]) for r in _train_iters(ref["records"], point)],
                          [(r["iter"], r["rng"]) for r in _train_iters(lit["records"], point)], f"{point} rng")


def test_weights_at_every_iteration(runs: tuple) -> None:
    """A digest of every parameter and buffer before and after every iteration (initial weights first)."""
    for ref, lit in zip(runs[::2], runs[1::2]):
        for point in ("before_train_iter", "after_train_iter"):
            _assert_equal([(r["iter"], r["weights_digest"]) for r in _train_iters(ref["records"], point)],
                          [(r["iter"], r["weights_digest"]) for r in _train_iters(lit["records"], point)],
                          f"{point} weights")


def test_losses_and_log_vars(runs: tuple) -> None:
    """``loss`` and every ``decode.*`` / ``aux.*`` log var of every iteration (every rank)."""
    for ref, lit in zip(runs[::2], runs[1::2]):
        a, b = ([(r["iter"], r["outputs"]) for r in _train_iters(side["records"])] for side in (ref, lit))
        assert {"loss", "decode.loss_ce", "decode.acc_seg"} <= set(a[0][1]), a[0][1]
        _assert_equal(a, b, "after_train_iter outputs")


@pytest.mark.parametrize("point", ["before_train_iter", "after_train_iter"])
@pytest.mark.parametrize("tag", ["normal", "very_low"])
def test_lr_and_weight_decay_of_every_parameter(runs: tuple, point: str, tag: str) -> None:
    ref, lit = runs[:2]
    a, b = ([(r["iter"], r["params"]) for r in _train_iters(side["records"], point, tag)] for side in (ref, lit))
    assert len(a[0][1]) > 50, "too few parameters recorded"
    _assert_equal([(i, {k: (v["lr"], v["weight_decay"]) for k, v in p.items()}) for i, p in a],
                  [(i, {k: (v["lr"], v["weight_decay"]) for k, v in p.items()}) for i, p in b], f"{tag} {point}")


def test_hook_points(runs: tuple) -> None:
    """Every point the two recorders saw, in order, with ``runner.iter`` and ``batch_idx`` (every rank)."""
    for ref, lit in zip(runs[::2], runs[1::2]):
        a, b = ([(r["tag"], r["point"], r["iter"], r.get("batch_idx")) for r in side["records"]] for side in (ref, lit))
        _assert_equal(a, b, "hook points")


def test_validation_metrics(runs: tuple) -> None:
    """MMSeg's IoUMetric (``aAcc``, ``mIoU``, ``mAcc``, in percent) at every validation."""
    ref, lit = runs[:2]
    a, b = ([(r["iter"], r["metrics"]) for r in side["records"] if r["point"] == "after_val_epoch"
             and r["tag"] == "normal"] for side in (ref, lit))
    assert [i for i, _ in a] == [common.VAL_INTERVAL, common.MAX_ITERS]
    assert {"aAcc", "mIoU", "mAcc"} <= set(a[0][1])
    assert a[-1][1]["mIoU"] > 0, "nothing learnt: the comparison would prove little"
    _assert_equal(a, b, "validation metrics")


def test_final_weights(runs: tuple) -> None:
    ref, lit = runs[:2]
    assert ref["weights"].keys() == lit["weights"].keys()
    for key in ref["weights"]:
        assert ref["weights"][key] == lit["weights"][key], key


def test_checkpoint_files(runs: tuple) -> None:
    ref, lit = runs[:2]
    assert ref["checkpoints"] == lit["checkpoints"] == [f"iter_{common.VAL_INTERVAL}.pth", f"iter_{common.MAX_ITERS}.pth"]
    assert ref["last_checkpoint"] == lit["last_checkpoint"] == f"iter_{common.MAX_ITERS}.pth"


def test_run_files_and_experiment_name(runs: tuple) -> None:
    ref, lit = runs[:2]
    assert ref["log_dir_files"] == lit["log_dir_files"]
    assert ref["work_dir_files"] == lit["work_dir_files"] and ref["work_dir_files"]
    assert ref["exp_names"] == lit["exp_names"]


def test_log_lines(runs: tuple) -> None:
    """Every train/val log line's fields but time, data_time, eta and memory (4 significant digits)."""
    ref, lit = runs[:2]
    assert ref["log"], "MMEngine wrote no log lines"
    _assert_equal(ref["log"], lit["log"], "log lines")


def test_scalars_json(runs: tuple) -> None:
    ref, lit = runs[:2]
    assert ref["scalars"], "MMEngine wrote no scalars.json"
    _assert_equal(ref["scalars"], lit["scalars"], "scalars.json")

