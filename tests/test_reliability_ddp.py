"""Two-process DDP on CPU (gloo) through the CLI, then resumed under DDP.

``torchrun --nproc_per_node=2 -m lightning_runtime fit --config tests/cli_assets/ddp_cfg.py``
(``launcher='pytorch'``, the tutorial's ``NewHook`` from ``lightning_runtime.demo.hooks`` in
``custom_hooks``) trains 12 iterations with checkpoints every 4. A recording hook (``tests/cli_assets/ddp_mod.py``) writes, per rank and
outside ``work_dir``, the iteration, lr and sample indices of every iteration, the validation
metrics, the final weights, and every file the process opened for writing under ``work_dir``.

Then ``iter_12.pth`` is removed, ``last_checkpoint`` pointed back at ``iter_8.pth``, and the same
command with ``--resume=True`` must continue at iteration 8 and end where the first run ended.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from ddp_utils import torchrun
import pytest
import torch

HERE = Path(__file__).parent
ASSETS = HERE / "cli_assets"
CONFIG = ASSETS / "ddp_cfg.py"
N_SAMPLES, BATCH, WORLD, MAX_ITERS = 32, 4, 2, 12
PASS_ITERS = N_SAMPLES // (BATCH * WORLD)  # 4 iterations per rank make one pass over the data


def _torchrun(root: Path, records: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    records.mkdir(parents=True, exist_ok=True)
    wd = root / "wd"
    env = {"PYTHONWARNINGS": "ignore", "DDP_RECORD_DIR": str(records), "DDP_WORK_DIR": str(wd),
           "PYTHONPATH": os.pathsep.join([str(ASSETS), os.environ.get("PYTHONPATH", "")])}
    return torchrun("-m", "lightning_runtime", "fit", "--config", str(CONFIG), f"--work_dir={wd}", *extra,
                    cwd=root, env=env, timeout=300)


def _read(records: Path) -> dict[int, dict[str, Any]]:
    """Per rank: {'setup': {...}, 'iters': {iter: rec}, 'val': [...], 'final': {...}, 'writes': [...]}."""
    out: dict[int, dict[str, Any]] = {}
    for rank in range(WORLD):
        got: dict[str, Any] = {"iters": {}, "val": []}
        for line in (records / f"rank{rank}.jsonl").read_text().splitlines():
            rec = json.loads(line)
            if rec["kind"] == "iter":
                assert rec["iter"] not in got["iters"], rec  # each iteration runs once per rank
                got["iters"][rec["iter"]] = rec
            elif rec["kind"] == "val":
                got["val"].append(rec)
            else:
                got[rec["kind"]] = rec
        out[rank] = got
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("ddp_cli")
    wd = root / "wd"
    first = _torchrun(root, root / "rec1")
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-4000:]
    files_first = sorted(str(p.relative_to(wd)) for p in wd.rglob("*"))
    # "killed after iteration 8": the newest checkpoint is iter_8.pth
    (wd / "iter_12.pth").unlink()
    (wd / "last_checkpoint").write_text(str(wd / "iter_8.pth"))
    second = _torchrun(root, root / "rec2", "--resume=True")
    assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-4000:]
    return {"wd": wd, "files_first": files_first, "first": _read(root / "rec1"), "second": _read(root / "rec2"),
            "stdout": first.stdout}


def _mmengine_lrs() -> list[float]:
    """The lr of iterations 0..11 from MMEngine's own schedulers (the reference)."""
    from mmengine.optim.scheduler import LinearLR, PolyLR

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
    scheds = [LinearLR(opt, start_factor=0.25, by_epoch=False, begin=0, end=4),
              PolyLR(opt, eta_min=1e-3, power=1.0, begin=4, end=12, by_epoch=False)]
    lrs = []
    for _ in range(MAX_ITERS):
        lrs.append(opt.param_groups[0]["lr"])
        for s in scheds:
            s.step()
    return lrs


@pytest.mark.slow
def test_two_ranks_train_every_iteration_with_the_tutorial_hook(runs: dict[str, Any]) -> None:
    for rank, got in runs["first"].items():
        assert got["setup"]["world"] == WORLD and got["setup"]["start_iter"] == 0
        assert sorted(got["iters"]) == list(range(MAX_ITERS))
        # NewHook(a=2, b=5) ran before every iteration on every rank: hyper_parameter = a * iter + b
        assert [got["iters"][i]["hyper"] for i in range(MAX_ITERS)] == [2 * i + 5 for i in range(MAX_ITERS)]


@pytest.mark.slow
def test_every_rank_sees_the_same_lr_as_mmengine(runs: dict[str, Any]) -> None:
    r0, r1 = runs["first"][0]["iters"], runs["first"][1]["iters"]
    lr0 = [r0[i]["lr"][0] for i in range(MAX_ITERS)]
    assert lr0 == [r1[i]["lr"][0] for i in range(MAX_ITERS)]  # bit-identical across ranks
    assert lr0 == pytest.approx(_mmengine_lrs(), rel=1e-12)


@pytest.mark.slow
def test_data_is_sharded_once_disjoint_and_complete_per_pass(runs: dict[str, Any]) -> None:
    r0, r1 = runs["first"][0]["iters"], runs["first"][1]["iters"]
    for p in range(MAX_ITERS // PASS_ITERS):
        window = range(p * PASS_ITERS, (p + 1) * PASS_ITERS)
        seen0 = [i for it in window for i in r0[it]["indices"]]
        seen1 = [i for it in window for i in r1[it]["indices"]]
        assert len(seen0) == len(seen1) == N_SAMPLES // WORLD  # each rank: half the set, not a quarter
        assert not set(seen0) & set(seen1)  # disjoint across ranks
        assert sorted(seen0 + seen1) == list(range(N_SAMPLES))  # together: every sample exactly once
    # shuffled per pass (MMEngine's DefaultSampler: seed + pass), not the same order every pass
    assert r0[0]["indices"] != r0[PASS_ITERS]["indices"]


@pytest.mark.slow
def test_metrics_are_reduced_across_ranks(runs: dict[str, Any]) -> None:
    # rank 0 logs 1.0 and rank 1 logs 11.0 with sync_dist=True: every rank sees the mean, 6.0
    for got in runs["first"].values():
        assert [v["iter"] for v in got["val"]] == [4, 8, 12]
        assert [v["metrics"]["rank_value"] for v in got["val"]] == [6.0, 6.0, 6.0]
    mse0 = [v["metrics"]["mse"] for v in runs["first"][0]["val"]]
    assert mse0 == [v["metrics"]["mse"] for v in runs["first"][1]["val"]]
    # and what rank 0 wrote to the scalars file is that reduced value
    run_dir = runs["wd"] / runs["files_first"][0]  # the first run's <timestamp> folder
    scalars = [json.loads(line) for line in (run_dir / "vis_data" / "scalars.json").read_text().splitlines()]
    assert [(s["step"], s["rank_value"]) for s in scalars if "rank_value" in s] == [(4, 6.0), (8, 6.0), (12, 6.0)]


@pytest.mark.slow
def test_gradients_are_synchronised(runs: dict[str, Any]) -> None:
    f0, f1 = runs["first"][0]["final"], runs["first"][1]["final"]
    assert f0["params"] == f1["params"]
    # broadcast_buffers=False (MMEngine's MMDistributedDataParallel default): BatchNorm running
    # statistics stay per rank
    assert f0["buffers"]["bn.running_mean"] != f1["buffers"]["bn.running_mean"]


@pytest.mark.slow
def test_only_rank_zero_writes_logs_and_checkpoints(runs: dict[str, Any]) -> None:
    ts = runs["files_first"][0]
    assert runs["files_first"] == sorted([
        ts, f"{ts}/{ts}.log", f"{ts}/vis_data", f"{ts}/vis_data/{ts}.json", f"{ts}/vis_data/metrics.csv",
        f"{ts}/vis_data/scalars.json", "ddp_cfg.py", "iter_12.pth", "iter_4.pth", "iter_8.pth", "last_checkpoint",
    ])
    for run in ("first", "second"):
        assert runs[run][1]["writes"]["paths"] == []  # rank 1 opened nothing for writing in work_dir
        assert runs[run][0]["writes"]["paths"]  # rank 0 did
    log = (runs["wd"] / ts / f"{ts}.log").read_text()
    assert log.count("Saving checkpoint at 8 iterations") == 1  # one writer, one line
    # the console, too, has rank 0's lines only (MMEngine's logger is silent on other ranks)
    assert runs["stdout"].count("Hooks will be executed in the following order") == 1
    assert [line.split(" - INFO - ")[1][:19] for line in runs["stdout"].splitlines() if "Iter(train)" in line] == [
        "Iter(train) [ 4/12]", "Iter(train) [ 8/12]", "Iter(train) [12/12]"]


@pytest.mark.slow
def test_resume_under_ddp_continues_at_iteration_8_and_ends_identical(runs: dict[str, Any]) -> None:
    for rank in range(WORLD):
        first, second = runs["first"][rank], runs["second"][rank]
        assert second["setup"]["start_iter"] == 8
        assert sorted(second["iters"]) == [8, 9, 10, 11]
        for it in range(8, MAX_ITERS):
            # same lr, same samples (mid-schedule, start of the third pass), same NewHook value
            assert second["iters"][it]["lr"] == first["iters"][it]["lr"]
            assert second["iters"][it]["indices"] == first["iters"][it]["indices"]
            assert second["iters"][it]["hyper"] == first["iters"][it]["hyper"]
        assert [v["iter"] for v in second["val"]] == [12]
        assert second["final"]["params"] == first["final"]["params"]  # bitwise, on both ranks
    assert runs["second"][0]["final"]["buffers"] == runs["first"][0]["final"]["buffers"]
    wd = runs["wd"]
    assert Path((wd / "last_checkpoint").read_text().strip()).name == "iter_12.pth"
    assert sorted(p.name for p in wd.glob("*.pth")) == ["iter_12.pth", "iter_4.pth", "iter_8.pth"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="SyncBatchNorm works on CUDA")
def test_sync_bn_on_cpu_is_a_config_error_before_training() -> None:
    from lightning_runtime.errors import ConfigError
    from lightning_runtime.runtime._env import plan_env

    with pytest.raises(ConfigError) as info:
        plan_env({"launcher": "pytorch", "sync_bn": "torch", "env_cfg": {"dist_cfg": {"backend": "gloo"}}})
    assert info.value.path == "sync_bn" and info.value.fix


def test_before_train_sees_the_resumed_iteration_in_one_process(tmp_path: Path, isolated_registries) -> None:
    """The same resume rule without DDP: runner.iter in before_train is where training continues."""
    from runtime_helpers import QUIET, Boring, loader

    from lightning_runtime.hooks import Hook
    from lightning_runtime.registry import HOOKS
    from lightning_runtime.runtime import Runtime

    seen: list[tuple[str, int]] = []

    @HOOKS.register_module(name="_ResumeIterProbe", force=True)
    class Probe(Hook):
        def before_train(self, runner: Any) -> None:
            seen.append(("before_train", runner.iter))

        def before_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None) -> None:
            seen.append(("iter", runner.iter))

    def run(max_iters: int, resume: bool) -> None:
        cfg = dict(work_dir=str(tmp_path), resume=resume, train_cfg=dict(by_epoch=False, max_iters=max_iters),
                   optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)), custom_hooks=[dict(type="_ResumeIterProbe")],
                   default_hooks=dict(logger=None, checkpoint=dict(type="CheckpointHook", by_epoch=False, interval=3)))
        rt = Runtime(cfg)
        rt.fit(Boring(rt), loader(8), **{k: v for k, v in QUIET.items() if k != "enable_checkpointing"})

    run(3, False)
    seen.clear()
    run(5, True)  # resumes from iter_3.pth, saved at the end of iteration index 2
    assert seen == [("before_train", 3), ("iter", 3), ("iter", 4)]
