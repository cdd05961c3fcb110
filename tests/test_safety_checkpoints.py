"""Issue 13, checkpoints: state confined to work_dir, copied work_dirs, hostile files, checks up front.

Every test drives the real Runtime / Trainer on CPU. "Nothing written" means the work_dir's listing
(names, sizes, sha256) is the same before and after, or the work_dir was never created.

Run as a script (``python tests/test_safety_checkpoints.py resume RUN2``) it resumes the copied run
in a subprocess; the tests do that without CAP_DAC_OVERRIDE when they run as root, so that a
read-only original or an unreadable file really is one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch

from runtime_helpers import NO_HOOKS, QUIET, Boring, loader

from lightning_runtime import Runtime
from lightning_runtime.checkpoint._io import atomic_save, safe_load
from lightning_runtime.errors import ConfigError
from lightning_runtime.runtime import train_iter
from lightning_runtime.checkpoint import find_resume_checkpoint, resolve_resume
from lightning_runtime.checkpoint._lock import LOCK_FILE

HERE = Path(__file__).resolve()


# ---------------------------------------------------------------------------- model, config, helpers
class Scored(Boring):
    """Linear(4, width); validation logs an mIoU that grows with the iteration (every one is a best)."""

    def __init__(self, rt: Any = None, width: int = 1) -> None:
        super().__init__(rt)
        self.layer = torch.nn.Linear(4, width)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        return torch.nn.functional.mse_loss(self.layer(x).sum(1, keepdim=True), y)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.log("mIoU", float(train_iter(self.trainer)) / 100.0)


def make_cfg(work: Path, max_iters: int, *, optimizer: str = "AdamW", scheduler: bool = False, **kw: Any) -> dict:
    hooks = dict(NO_HOOKS, checkpoint=dict(type="CheckpointHook", interval=2, by_epoch=False, max_keep_ckpts=2,
                                           save_best="mIoU"))
    cfg: dict[str, Any] = dict(
        work_dir=str(work), default_hooks=hooks, val_cfg=dict(),
        train_cfg=dict(type="IterBasedTrainLoop", max_iters=max_iters, val_interval=4),
        optim_wrapper=dict(optimizer=dict(type=optimizer, lr=0.01)),
    )
    if scheduler:
        hooks["param_scheduler"] = dict(type="ParamSchedulerHook")
        cfg["param_scheduler"] = [dict(type="LinearLR", start_factor=0.5, by_epoch=False, begin=0, end=4)]
    cfg.update(kw)
    return cfg


def train(work: Path, max_iters: int, width: int = 1, **kw: Any) -> Any:
    rt = Runtime(make_cfg(work, max_iters, **kw))
    module = Scored(rt, width)
    return rt.fit(module, loader(8), loader(2), **QUIET)


def snapshot(root: Path) -> dict[str, tuple[int, str] | str]:
    """Every entry under ``root``: files by (size, sha256), directories and links by kind."""
    out: dict[str, tuple[int, str] | str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = f"link -> {os.readlink(p)}"
            elif p.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = (p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest())
    return out


def checkpoints(work: Path) -> list[str]:
    return sorted(p.name for p in work.iterdir() if p.suffix == ".pth")


def unprivileged() -> list[str]:
    """A command prefix that runs without root's permission bypass (nothing when not root)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: file permissions cannot be enforced")
    caps = "-dac_override,-dac_read_search"
    return [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}"]


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONWARNINGS="default", OMP_NUM_THREADS="1")
    return subprocess.run([*unprivileged(), sys.executable, str(HERE), *args], env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def messages(record: Any) -> str:
    return "\n".join(str(w.message) for w in record)


class Evil:
    """A class a hostile checkpoint pickles (never instantiated on load: weights_only refuses it)."""


# ---------------------------------------------------------------------------- data loss: cp -r run1 run2
@pytest.mark.slow
@pytest.mark.parametrize("read_only", [False, True], ids=["writable", "read-only-original"])
def test_resume_in_a_copied_work_dir_never_touches_the_original(tmp_path: Path, read_only: bool) -> None:
    run1, run2 = tmp_path / "run1", tmp_path / "run2"
    train(run1, 8)
    assert checkpoints(run1) == ["best_mIoU_iter_8.pth", "iter_6.pth", "iter_8.pth"]
    state = safe_load(run1 / "iter_8.pth")["callbacks"]["CheckpointHook"]
    assert state["best_ckpt"] == {"mIoU": "best_mIoU_iter_8.pth"} and state["last_ckpt"] == "iter_8.pth"
    shutil.copytree(run1, run2)
    before = snapshot(run1)
    modes = {}
    if read_only:
        for p in [run1, *run1.rglob("*")]:
            modes[p] = p.stat().st_mode
        for p in sorted(modes, key=lambda q: -len(q.parts)):
            p.chmod(stat.S_IMODE(modes[p]) & ~0o222)
    try:
        if read_only:
            result = run_script("resume", str(run2))
            assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
            assert "Traceback" not in result.stderr
        else:
            with warnings.catch_warnings(record=True) as record:
                warnings.simplefilter("always")
                train(run2, 16, resume=True)
            # run1 is named only where run2's copied last_checkpoint pointer to it is refused
            about_run1 = [str(w.message) for w in record if str(run1) in str(w.message)]
            assert len(about_run1) == 1 and "which is outside this run's checkpoint directory" in about_run1[0]
            assert f"using {run2 / 'iter_8.pth'}" in about_run1[0]
    finally:
        for p, mode in modes.items():
            p.chmod(mode)
    assert snapshot(run1) == before  # names, sizes, hashes: the original run is untouched
    # run2's own retention: the 2 newest regular checkpoints, one best file (the copy's old best removed)
    assert checkpoints(run2) == ["best_mIoU_iter_16.pth", "iter_14.pth", "iter_16.pth"]
    assert (run2 / "last_checkpoint").read_text() == str(run2 / "iter_16.pth")
    assert not (run2 / LOCK_FILE).exists()


# ---------------------------------------------------------------------------- hostile hook state
def test_crafted_checkpoint_state_cannot_delete_or_load_files_outside_work_dir(tmp_path: Path) -> None:
    work = tmp_path / "work"
    train(work, 4)
    victims = {name: tmp_path / name for name in ("victim.txt", "victim2.txt", "victim3.pth", "victim4.pth")}
    for p in victims.values():
        p.write_text(f"precious {p.name}")
    before = {p: p.read_bytes() for p in victims.values()}
    (work / "iter_2.pth").unlink()
    (work / "iter_2.pth").symlink_to(victims["victim3.pth"])  # a link in work_dir resolving outside
    ckpt = safe_load(work / "iter_4.pth")
    ckpt["callbacks"]["CheckpointHook"].update(
        best_ckpt={"mIoU": str(victims["victim.txt"]), "loss": "../victim2.txt"},
        best_score={"mIoU": 0.0, "loss": "nan"},
        last_ckpt=str(victims["victim4.pth"]),
        pending_delete=[str(victims["victim.txt"]), "../victim2.txt", "iter_2.pth", "../../etc/hostname",
                        "sub/../../victim2.txt", "last_checkpoint", 7],
        keep_ckpt_ids=[2, "../victim2.txt", 4],
    )
    crafted = work / "crafted.pth"
    torch.save(ckpt, crafted)
    assert isinstance(torch.load(crafted, weights_only=True), dict)  # a file weights_only accepts
    with pytest.warns(UserWarning) as record:
        train(work, 8, resume=str(crafted))
    text = messages(record)
    assert "CheckpointHook state names files outside" in text
    for entry in (str(victims["victim.txt"]), "../victim2.txt", "iter_2.pth", "../../etc/hostname"):
        assert repr(entry) in text, entry
    for p, data in before.items():
        assert p.read_bytes() == data, p  # every victim still there, unchanged
    assert (work / "iter_2.pth").is_symlink()  # the link itself is not deleted either (retention refused it)
    assert "not deleting" in text and "iter_2.pth" in text


def test_last_checkpoint_outside_work_dir_is_refused_and_the_scan_is_used(tmp_path: Path) -> None:
    work, other = tmp_path / "work", tmp_path / "other"
    train(work, 4)
    train(other, 6)
    (work / "last_checkpoint").write_text(str(other / "iter_6.pth"))  # a valid checkpoint elsewhere
    with pytest.warns(UserWarning, match=r"names .*other/iter_6\.pth, which is outside this run's checkpoint"):
        assert find_resume_checkpoint(work) == str(work / "iter_4.pth")
    (work / "last_checkpoint").write_text(str(work / ".." / "other" / "iter_6.pth"))
    with pytest.warns(UserWarning, match="outside"):
        assert find_resume_checkpoint(work) == str(work / "iter_4.pth")


def test_old_absolute_state_inside_work_dir_is_converted(tmp_path: Path) -> None:
    work = tmp_path / "work"
    train(work, 4)
    ckpt = safe_load(work / "iter_4.pth")
    ckpt["callbacks"]["CheckpointHook"].update(best_ckpt={"mIoU": str(work / "best_mIoU_iter_4.pth")},
                                               last_ckpt=str(work / "iter_4.pth"))
    atomic_save(ckpt, work / "iter_4.pth")  # the format written before issue 13
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        train(work, 8, resume=True)
    assert "outside" not in messages(record)
    assert checkpoints(work) == ["best_mIoU_iter_8.pth", "iter_6.pth", "iter_8.pth"]  # old best removed


# ---------------------------------------------------------------------------- checkpoint inputs -> ConfigError
def _evil_file(path: Path) -> Path:
    torch.save({"state_dict": {"layer.weight": torch.zeros(1, 4)}, "payload": Evil()}, path)
    return path


@pytest.mark.parametrize("key", ["load_from", "resume", "resume+load_from"])
def test_pickled_class_is_a_config_error_before_anything_is_written(tmp_path: Path, key: str) -> None:
    evil = _evil_file(tmp_path / "evil.pth")
    work = tmp_path / "work"
    kw = {"load_from": dict(load_from=str(evil)), "resume": dict(resume=str(evil)),
          "resume+load_from": dict(resume=True, load_from=str(evil))}[key]
    with pytest.raises(ConfigError) as err:
        train(work, 4, **kw)
    assert err.value.path == key.split("+")[-1]
    text = str(err.value)
    assert str(evil) in text and f"{__name__}.Evil" in text and "weights_only=False" in text
    assert not work.exists()


def test_ckpt_path_of_validate_and_test_is_checked_first(tmp_path: Path) -> None:
    evil = _evil_file(tmp_path / "evil.pth")
    work = tmp_path / "work"
    rt = Runtime(make_cfg(work, 4))
    for run in (rt.validate, rt.test):
        with pytest.raises(ConfigError, match=r"(?s)Evil.*weights_only=False") as err:
            run(Scored(rt), loader(2), ckpt_path=str(evil), **QUIET)
        assert err.value.path == "ckpt_path"
    assert not work.exists()


@pytest.mark.parametrize(
    "content, words",
    [
        ([torch.zeros(2), torch.ones(2)], "holds a list"),
        (torch.zeros(3), "holds a Tensor"),
        ({"epoch": 3, "note": "hello"}, "not a bare state dict"),
        ({"backbone.conv.weight": torch.zeros(2)}, "none of its 1 keys matches"),
        ({}, "holds no weights"),
        ({"state_dict": [1, 2]}, "'state_dict' is a list"),
    ],
    ids=["list", "tensor", "unrelated-keys", "unrelated-tensors", "empty", "bad-state_dict"],
)
def test_load_from_without_weights_is_a_config_error(tmp_path: Path, content: Any, words: str) -> None:
    path = tmp_path / "w.pth"
    torch.save(content, path)
    work = tmp_path / "work"
    with pytest.raises(ConfigError, match=words) as err:
        train(work, 4, load_from=str(path))
    assert err.value.path == "load_from" and err.value.fix
    assert not work.exists()


def test_last_checkpoint_that_is_a_directory_falls_back_and_training_goes_on(tmp_path: Path) -> None:
    work = tmp_path / "work"
    train(work, 4)
    (work / "last_checkpoint").unlink()
    (work / "last_checkpoint").mkdir()
    with pytest.warns(UserWarning) as record:
        trainer = train(work, 8, resume=True)
    text = messages(record)
    assert "last_checkpoint is a directory" in text
    assert train_iter(trainer) == 8 and checkpoints(work)[-1] == "iter_8.pth"
    assert (work / "last_checkpoint").is_dir()  # left alone; resume keeps scanning


def test_checkpoint_replaced_by_a_directory_is_skipped_and_never_crashes(tmp_path: Path) -> None:
    work = tmp_path / "work"
    train(work, 4)
    (work / "iter_4.pth").unlink()
    (work / "iter_4.pth").mkdir()
    (work / "iter_6.pth").mkdir()  # where the resumed run will want to save
    with pytest.warns(UserWarning) as record:
        trainer = train(work, 8, resume=True)
    text = messages(record)
    assert "iter_4.pth, which is a directory" in text
    assert "a directory of that name is in the way" in text
    assert train_iter(trainer) == 8  # resumed from iter_2.pth, went past iteration 6
    assert (work / "iter_4.pth").is_dir() and (work / "iter_6.pth").is_dir()
    assert (work / "iter_8.pth").is_file()


def test_switching_adamw_to_sgd_is_a_config_error(tmp_path: Path) -> None:
    work = tmp_path / "work"
    train(work, 4)
    before = snapshot(work)
    with pytest.raises(ConfigError) as err:
        train(work, 8, optimizer="SGD", resume=True)
    text = str(err.value)
    assert err.value.path == "resume"
    assert "optimizer type changed" in text and "AdamW" in text and "SGD" in text and "momentum" in text
    assert "type back to 'AdamW'" in err.value.fix and "load_from=" in err.value.fix
    assert snapshot(work) == before


def test_changing_the_model_width_is_a_config_error(tmp_path: Path) -> None:
    work = tmp_path / "work"
    train(work, 4)
    before = snapshot(work)
    with pytest.raises(ConfigError) as err:
        train(work, 8, width=3, resume=True)
    text = str(err.value)
    assert "the model changed" in text and "layer.weight: checkpoint [1, 4], model [3, 4]" in text
    assert "load_from=" in err.value.fix and "resume=False" in err.value.fix
    assert snapshot(work) == before


# ---------------------------------------------------------------------------- smaller items
def test_removing_the_scheduler_on_resume_warns_once(tmp_path: Path) -> None:
    work = tmp_path / "work"
    train(work, 4, scheduler=True)
    with pytest.warns(UserWarning) as record:
        train(work, 8, scheduler=False, resume=True)
    hits = [m for m in messages(record).splitlines() if "learning rate stays at the checkpoint's value" in m]
    assert len(hits) == 1


def test_every_checkpoint_corrupt_says_training_restarts(tmp_path: Path) -> None:
    work = tmp_path / "work"
    train(work, 4)
    for p in work.glob("iter_*.pth"):
        p.write_bytes(p.read_bytes()[:100])
    with pytest.warns(UserWarning, match="no usable checkpoint.*training starts from iteration 0"):
        assert find_resume_checkpoint(work) is None


def test_stale_temp_file_removed_when_nothing_is_left_to_do(tmp_path: Path) -> None:
    work = tmp_path / "work"
    train(work, 4)
    stale = work / ".iter_6.pth.tmp-abc123"
    stale.write_bytes(b"half a checkpoint")
    train(work, 4, resume=True)  # already at max_iters
    assert not stale.exists()


@pytest.mark.slow
def test_unreadable_checkpoint_is_called_permission_denied(tmp_path: Path) -> None:
    work = tmp_path / "work"
    train(work, 4)
    os.chmod(tmp_path, 0o755)
    os.chmod(work / "iter_4.pth", 0)
    try:
        result = run_script("unreadable", str(work))
    finally:
        os.chmod(work / "iter_4.pth", 0o644)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout + result.stderr
    assert "iter_4.pth, which cannot be read (permission denied)" in out
    assert "config error resume: checkpoint file" in out and "cannot be read (permission denied)" in out
    assert "truncated" not in out


def test_bad_filename_tmpl_is_a_config_error_at_construction(tmp_path: Path) -> None:
    work = tmp_path / "work"
    for tmpl in ("iter_{}_{x}.pth", "{1}", "{", "iter_{}}.pth", "iter_{:d}.pth", "iter_{}_{}.pth", "../x_{}.pth"):
        hooks = dict(NO_HOOKS, checkpoint=dict(type="CheckpointHook", by_epoch=False, interval=2, filename_tmpl=tmpl))
        with pytest.raises(ConfigError) as err:
            Runtime(make_cfg(work, 4, default_hooks=hooks))
        assert err.value.path == "default_hooks.checkpoint.filename_tmpl", tmpl
        assert "filename_tmpl='iter_{}.pth'" in err.value.fix
    assert not work.exists()


# ---------------------------------------------------------------------------- the work_dir lock
def test_a_second_run_on_the_same_work_dir_is_refused(tmp_path: Path) -> None:
    work = tmp_path / "work"
    train(work, 2)
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (work / LOCK_FILE).write_text(f'{{"pid": {holder.pid}, "host": "{os.uname().nodename}", "started": "x"}}')
        before = snapshot(work)
        with pytest.raises(ConfigError, match=rf"another run is training in this work_dir.*process {holder.pid}") as err:
            train(work, 4, resume=True)
        assert err.value.path == "work_dir" and "delete" in err.value.fix
        assert snapshot(work) == before
    finally:
        holder.kill()
        holder.wait()
    # the holder is gone: its lock is stale and taken over, with a warning
    with pytest.warns(UserWarning, match=rf"left by process {holder.pid} .* no longer running"):
        train(work, 4, resume=True)
    assert not (work / LOCK_FILE).exists()


@pytest.mark.slow
@pytest.mark.parametrize("sub", ["fit", "validate", "test", "predict"])
def test_cli_exit_code_2_without_traceback(tmp_path: Path, sub: str) -> None:
    evil = _evil_file(tmp_path / "evil.pth")
    cfg = tmp_path / "cfg.py"
    cfg.write_text(
        f"work_dir = {str(tmp_path / 'work')!r}\n"
        "model = dict(class_path='runtime_helpers.Boring')\n"
        + (f"load_from = {str(evil)!r}\n" if sub == "fit" else "")
        + "train_cfg = dict(type='IterBasedTrainLoop', max_iters=2)\n"
        "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE.parent), os.environ.get("PYTHONPATH", "")]),
               PYTHONWARNINGS="ignore")
    args = [sub, "--config", str(cfg)] + ([] if sub == "fit" else [f"--ckpt_path={evil}"])
    result = subprocess.run([sys.executable, "-m", "lightning_runtime", *args], env=env,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and "Evil" in result.stderr and "weights_only=False" in result.stderr
    assert ("load_from:" if sub == "fit" else "ckpt_path:") in result.stderr
    assert not (tmp_path / "work").exists()


# ---------------------------------------------------------------------------- script mode
def _script(argv: list[str]) -> int:
    what, work = argv[0], Path(argv[1])
    warnings.simplefilter("always")
    if what == "resume":
        train(work, 16, resume=True)
        return 0
    if what == "unreadable":  # iter_4.pth is chmod 000 here
        find_resume_checkpoint(work)
        try:
            resolve_resume(str(work / "iter_4.pth"), None, work)
        except ConfigError as err:
            print(f"config error {err}")
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(_script(sys.argv[1:]))
