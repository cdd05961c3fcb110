"""Exact resume: a run interrupted at any moment ends with the weights of an uninterrupted one.

The experiment below is deterministic on CPU: shuffled data (a seeded per-epoch permutation that
can skip the batches already seen, i.e. a resumable loader), dropout (global RNG), AdamW with a
warmup+poly LambdaLR stepped per optimizer step, gradient accumulation 2 over 5-batch epochs (so
checkpoints land mid-epoch and mid-accumulation-window), validation with save_best, and
checkpoints every 3 iterations keeping 2.

Run as a script (``python tests/test_resume.py WORK_DIR [KILL_SPEC]``) it trains in a subprocess,
resuming from ``WORK_DIR`` when a checkpoint exists; the SIGKILL test drives it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import lightning as L
import pytest
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Sampler, TensorDataset

from lightning_runtime.checkpoint import _io as checkpoint_io
from lightning_runtime.callbacks import checkpoint as ckpt_module
from lightning_runtime.callbacks.checkpoint import CheckpointHook
from lightning_runtime.checkpoint._io import AtomicCheckpointIO, atomic_save, read_last_checkpoint, safe_load
from lightning_runtime.runtime._context import LoopSpec, RunContext
from lightning_runtime.errors import ConfigError
from lightning_runtime.runtime import train_iter
from lightning_runtime.checkpoint._resume import find_resume_checkpoint, resolve_load_from, resolve_resume

MAX_ITERS = 25  # 5 epochs of 5 batches
SEED = 7


# ---------------------------------------------------------------------------- the experiment
class EpochPermutation(Sampler[int]):
    """A seeded permutation per epoch that can start part-way (the resumable part)."""

    def __init__(self, n: int, seed: int) -> None:
        self.n, self.seed, self.epoch, self.skip = n, seed, 0, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(self.n, generator=g).tolist()
        skip, self.skip = self.skip, 0
        return iter(order[skip:])

    def __len__(self) -> int:
        return self.n


class ResumableLoader(DataLoader):
    """A DataLoader whose position Lightning saves and restores (``state_dict`` protocol)."""

    def __init__(self, dataset: TensorDataset, batch_size: int, seed: int) -> None:
        self.perm = EpochPermutation(len(dataset), seed)
        super().__init__(dataset, batch_size=batch_size, sampler=self.perm, generator=torch.Generator())
        self.yielded = 0

    def __iter__(self) -> Iterator[Any]:
        self.yielded = self.perm.skip // self.batch_size
        for batch in super().__iter__():
            self.yielded += 1
            yield batch

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.perm.epoch, "yielded": self.yielded}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.perm.epoch = state["epoch"]
        self.perm.skip = state["yielded"] * self.batch_size


class Net(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(6, 16), nn.Dropout(0.2), nn.ReLU(), nn.Linear(16, 2))
        self.n_val = 0

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        return nn.functional.mse_loss(self.net(x), y)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        self.log("loss_val", nn.functional.mse_loss(self.net(x), y), on_epoch=True)

    def configure_optimizers(self) -> Any:
        opt = torch.optim.AdamW(self.parameters(), lr=0.02, weight_decay=0.05)
        total = 15  # optimizer steps

        def warmup_poly(step: int) -> float:
            return (step + 1) / 3 if step < 3 else (1 - step / total) ** 0.9

        sched = torch.optim.lr_scheduler.LambdaLR(opt, warmup_poly)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


class LrLog(L.Callback):
    """Appends ``iteration lr`` before every training iteration (the lr the iteration uses)."""

    def __init__(self, path: Path, delay: float = 0.0) -> None:
        self.path, self.delay = path, delay

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int) -> None:
        lr = trainer.optimizers[0].param_groups[0]["lr"]
        with open(self.path, "a") as f:
            f.write(f"{train_iter(trainer)} {lr!r}\n")
        if self.delay:
            time.sleep(self.delay)


def data() -> tuple[TensorDataset, TensorDataset]:
    g = torch.Generator().manual_seed(0)
    train = TensorDataset(torch.randn(20, 6, generator=g), torch.randn(20, 2, generator=g))
    val = TensorDataset(torch.randn(4, 6, generator=g), torch.randn(4, 2, generator=g))
    return train, val


def run(work_dir: Path, *, resume: bool = True, extra_callbacks: list[L.Callback] | None = None, delay: float = 0.0) -> L.Trainer:
    """Train (or resume) the experiment in ``work_dir``; final weights go to ``final.pt``."""
    threads, det = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        return _run(work_dir, resume=resume, extra_callbacks=extra_callbacks, delay=delay)
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(det)


def _run(work_dir: Path, *, resume: bool, extra_callbacks: list[L.Callback] | None, delay: float) -> L.Trainer:
    L.seed_everything(SEED, verbose=False)
    work_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = resolve_resume(resume, None, work_dir)
    hook = CheckpointHook(interval=3, by_epoch=False, max_keep_ckpts=2, save_best="loss_val")
    hook.bind_context(RunContext(cfg={}, work_dir=work_dir, timestamp="t", train_loop=LoopSpec(by_epoch=False, max_iters=MAX_ITERS)))
    trainer = L.Trainer(
        default_root_dir=str(work_dir),
        max_epochs=5,
        accumulate_grad_batches=2,
        val_check_interval=4,
        check_val_every_n_epoch=None,
        num_sanity_val_steps=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        deterministic=True,
        plugins=[AtomicCheckpointIO()],
        callbacks=[LrLog(work_dir / "lr.txt", delay), hook, *(extra_callbacks or [])],
    )
    train, val = data()
    with open(work_dir / "runs.txt", "a") as f:
        f.write(f"{ckpt_path}\n")
    trainer.fit(
        Net(),
        ResumableLoader(train, 4, SEED),
        DataLoader(val, batch_size=4, generator=torch.Generator()),
        ckpt_path=ckpt_path,
    )
    atomic_save(trainer.lightning_module.state_dict(), work_dir / "final.pt")
    return trainer


def lr_by_iter(work_dir: Path) -> dict[int, str]:
    out: dict[int, str] = {}
    for line in (work_dir / "lr.txt").read_text().splitlines():
        it, lr = line.split()
        out[int(it)] = lr  # a re-run iteration overwrites: it must log the same value anyway
    return out


def assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = safe_load(a / "final.pt"), safe_load(b / "final.pt")
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k


class Crash(L.Callback):
    def __init__(self, at: int) -> None:
        self.at = at

    def on_train_batch_start(self, trainer: L.Trainer, *args: Any) -> None:
        if train_iter(trainer) == self.at:
            raise RuntimeError(f"simulated crash at iteration {self.at}")


# ---------------------------------------------------------------------------- in-process tests
@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ref = tmp_path_factory.mktemp("ref")
    run(ref)
    return ref


def test_reference_run_files(reference: Path):
    names = sorted(p.name for p in reference.iterdir())
    assert "iter_24.pth" in names and "iter_25.pth" in names and "iter_21.pth" not in names
    assert read_last_checkpoint(reference) == str(reference / "iter_25.pth")
    assert len(lr_by_iter(reference)) == MAX_ITERS


def test_resume_mid_epoch_mid_window_is_bitwise_exact(reference: Path, tmp_path: Path):
    # Crash before iteration 20: the latest checkpoint is iter_18 (epoch 3, batch 2, in the middle
    # of an accumulation window), so resume needs loop position, data position, RNG, gradients.
    with pytest.raises(RuntimeError, match="simulated crash"):
        run(tmp_path, extra_callbacks=[Crash(20)])
    assert read_last_checkpoint(tmp_path) == str(tmp_path / "iter_18.pth")
    ckpt = safe_load(tmp_path / "iter_18.pth")
    assert ckpt["meta"]["iter"] == 18 and "accumulated_grads" in ckpt
    run(tmp_path)
    assert (tmp_path / "runs.txt").read_text().splitlines()[-1] == str(tmp_path / "iter_18.pth")
    assert_same_weights(tmp_path, reference)
    assert lr_by_iter(tmp_path) == lr_by_iter(reference)
    # retention and best state carried across the resume: same files as the uninterrupted run
    assert sorted(p.name for p in tmp_path.glob("*.pth")) == sorted(p.name for p in reference.glob("*.pth"))


def test_resume_true_without_checkpoint_starts_fresh(tmp_path: Path):
    assert resolve_resume(True, None, tmp_path) is None
    assert resolve_resume(True, None, tmp_path / "missing") is None


def _save(path: Path, step: int) -> Path:
    atomic_save({"state_dict": {"w": torch.full((64,), float(step))}, "meta": {"iter": step}}, path)
    return path


def test_torn_checkpoint_is_skipped_with_a_warning(tmp_path: Path):
    a = _save(tmp_path / "iter_3.pth", 3)
    b = _save(tmp_path / "iter_6.pth", 6)
    old = b.stat().st_mtime_ns - 10**9
    os.utime(a, ns=(old, old))  # a is a second older than b, whatever the clock's resolution
    checkpoint_io.write_last_checkpoint(tmp_path, b)
    assert find_resume_checkpoint(tmp_path) == str(b)
    data = b.read_bytes()
    b.write_bytes(data[: len(data) // 2])  # a non-atomic writer killed half-way
    with pytest.warns(UserWarning, match=r"iter_6\.pth, which is truncated or corrupt"):
        assert find_resume_checkpoint(tmp_path) == str(a)
    # without last_checkpoint, the newest file is tried first, and skipped by name
    (tmp_path / "last_checkpoint").unlink()
    with pytest.warns(UserWarning, match=r"skipping .*iter_6\.pth: truncated or corrupt"):
        assert find_resume_checkpoint(tmp_path) == str(a)
    # a flipped byte in the middle is caught by the zip CRC too
    c = _save(tmp_path / "iter_9.pth", 9)
    raw = bytearray(c.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    c.write_bytes(bytes(raw))
    with pytest.warns(UserWarning, match="iter_9"):
        assert find_resume_checkpoint(tmp_path) == str(a)
    with pytest.raises(ConfigError, match="truncated or corrupt"):
        resolve_resume(str(b), None, tmp_path)


def test_last_checkpoint_naming_a_missing_file_falls_back(tmp_path: Path):
    a = _save(tmp_path / "iter_3.pth", 3)
    (tmp_path / "last_checkpoint").write_text(str(tmp_path / "iter_99.pth"))
    with pytest.warns(UserWarning, match="does not exist"):
        assert find_resume_checkpoint(tmp_path) == str(a)
    (tmp_path / ".iter_6.pth.tmp-abc").write_bytes(b"partial")  # interrupted atomic write
    (tmp_path / "best_loss_iter_3.pth").write_bytes(b"x")  # best files hold no optimizer
    (tmp_path / "last_checkpoint").unlink()
    assert find_resume_checkpoint(tmp_path) == str(a)


def test_resolve_resume_follows_mmengine(tmp_path: Path):
    a = _save(tmp_path / "pre.pth", 1)
    assert resolve_resume(False, str(a), tmp_path) is None
    assert resolve_load_from(False, str(a)) == str(a)
    assert resolve_resume(True, str(a), tmp_path) == str(a)  # resume=True + load_from: resume from it
    assert resolve_load_from(True, str(a)) is None
    assert resolve_resume(str(a), None, tmp_path) == str(a)
    with pytest.raises(ConfigError, match="does not exist") as err:
        resolve_resume(True, str(tmp_path / "nope.pth"), tmp_path)
    assert err.value.path == "load_from"
    with pytest.raises(ConfigError):
        resolve_resume("yes", None, tmp_path)  # type: ignore[arg-type]


def test_max_keep_ckpts_never_deletes_the_only_valid_checkpoint(tmp_path: Path):
    class FailSecondSave(AtomicCheckpointIO):
        calls = 0

        def save_checkpoint(self, checkpoint: dict, path: Any, storage_options: Any = None) -> None:
            FailSecondSave.calls += 1
            if FailSecondSave.calls == 2:
                raise OSError("disk full")
            super().save_checkpoint(checkpoint, path, storage_options)

    hook = CheckpointHook(interval=2, by_epoch=False, max_keep_ckpts=1)
    trainer = L.Trainer(
        default_root_dir=str(tmp_path), max_steps=10, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, callbacks=[hook], plugins=[FailSecondSave()],
    )
    train, _ = data()
    with pytest.raises(OSError, match="disk full"):
        trainer.fit(Net(), DataLoader(train, batch_size=4))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["iter_2.pth", "last_checkpoint"]
    assert find_resume_checkpoint(tmp_path) == str(tmp_path / "iter_2.pth")


# ---------------------------------------------------------------------------- SIGKILL test
SCRIPT = Path(__file__).resolve()


def _child(work_dir: Path, spec: str = "") -> subprocess.Popen:
    env = dict(os.environ, PYTHONHASHSEED="0", OMP_NUM_THREADS="1")
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), str(work_dir), spec],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )


def _kill_when_iter_reached(proc: subprocess.Popen, work_dir: Path, it: int) -> None:
    log = work_dir / "lr.txt"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if log.exists() and any(int(line.split()[0]) >= it for line in log.read_text().splitlines()[-3:] if line):
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    proc.wait()


@pytest.mark.slow
def test_sigkill_at_five_points_then_resume_is_bitwise_exact(reference: Path, tmp_path: Path):
    kills = [
        ("external", 4),  # SIGKILL from outside once iteration 4 has started
        ("write", 3),  # SIGKILL half-way through writing the 3rd checkpoint file
        ("last", 2),  # SIGKILL after a checkpoint is complete, before last_checkpoint names it
        ("external", 17),
        ("write", 2),
    ]
    for kind, n in kills:
        if kind == "external":
            proc = _child(tmp_path, "slow")
            _kill_when_iter_reached(proc, tmp_path, n)
        else:
            proc = _child(tmp_path, f"{kind}:{n}")
            proc.wait(timeout=60)
        out = proc.stdout.read().decode() if proc.stdout else ""
        assert proc.returncode == -signal.SIGKILL, (kind, n, proc.returncode, out[-2000:])
    run(tmp_path)  # the final resume, in this process (one process start less)
    starts = (tmp_path / "runs.txt").read_text().splitlines()
    assert len(starts) == 6 and starts[0] == "None"
    assert all(s != "None" for s in starts[1:]), starts  # every later run really resumed
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]  # torn temp files cleaned up
    regular = sorted(p.name for p in tmp_path.glob("iter_*.pth"))
    assert regular == sorted(p.name for p in reference.glob("iter_*.pth")) == ["iter_24.pth", "iter_25.pth"]
    assert_same_weights(tmp_path, reference)
    assert lr_by_iter(tmp_path) == lr_by_iter(reference)


def _child_main(work_dir: Path, spec: str) -> None:
    delay = 0.0
    if spec == "slow":
        delay = 0.03
    elif spec.startswith("write:"):
        n_target = int(spec.split(":")[1])
        calls = {"n": 0}
        real = checkpoint_io.atomic_save

        def torn_save(obj: Any, path: Any) -> None:
            calls["n"] += 1
            if calls["n"] < n_target:
                return real(obj, path)
            import io

            buf = io.BytesIO()
            torch.save(obj, buf)

            def half(f: Any) -> None:
                f.write(buf.getvalue()[: len(buf.getvalue()) // 2])
                f.flush()
                os.fsync(f.fileno())
                os.kill(os.getpid(), signal.SIGKILL)

            checkpoint_io.atomic_write_bytes(path, half)

        checkpoint_io.atomic_save = torn_save
    elif spec.startswith("last:"):
        n_target = int(spec.split(":")[1])
        calls = {"n": 0}
        real_last = ckpt_module.write_last_checkpoint

        def killed_last(*args: Any) -> Any:
            calls["n"] += 1
            if calls["n"] >= n_target:
                os.kill(os.getpid(), signal.SIGKILL)
            return real_last(*args)

        ckpt_module.write_last_checkpoint = killed_last
    run(work_dir, delay=delay)


if __name__ == "__main__":
    _child_main(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "")
