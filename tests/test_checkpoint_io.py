"""Atomic checkpoint writes and weights_only loads."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from boring import regression_loader
from lightning_runtime.checkpoint._io import (
    AtomicCheckpointIO,
    UnsafeCheckpointError,
    atomic_save,
    atomic_write_bytes,
    is_complete_checkpoint,
    read_last_checkpoint,
    safe_load,
    write_last_checkpoint,
)


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "iter_4.pth"
    atomic_save({"w": torch.ones(3)}, target)

    def boom(f):
        f.write(b"PK\x03\x04 partial")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(target, boom)
    assert safe_load(target)["w"].tolist() == [1.0, 1.0, 1.0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["iter_4.pth"]


def test_completeness_check(tmp_path):
    p = tmp_path / "a.pth"
    atomic_save({"w": torch.arange(1000.0)}, p)
    assert is_complete_checkpoint(p)
    data = p.read_bytes()
    for cut in (0, 10, len(data) // 2, len(data) - 1):
        p.write_bytes(data[:cut])
        assert not is_complete_checkpoint(p), cut
    assert not is_complete_checkpoint(tmp_path / "missing.pth")


def test_last_checkpoint_file_is_absolute(tmp_path):
    write_last_checkpoint(tmp_path, tmp_path / "iter_8.pth")
    assert (tmp_path / "last_checkpoint").read_text() == str(tmp_path / "iter_8.pth")
    assert read_last_checkpoint(tmp_path) == str(tmp_path / "iter_8.pth")
    assert read_last_checkpoint(tmp_path / "none") is None


def test_remote_paths_are_refused():
    io = AtomicCheckpointIO()
    with pytest.raises(ValueError, match="local files only"):
        io.save_checkpoint({}, "s3://bucket/iter_1.pth")


class Payload:
    pass


def test_resume_refuses_a_checkpoint_needing_unpickling(tmp_path, boring_module):
    def trainer():
        return L.Trainer(
            default_root_dir=str(tmp_path), max_steps=2, logger=False, enable_checkpointing=False,
            enable_progress_bar=False, enable_model_summary=False, plugins=[AtomicCheckpointIO()],
        )

    loader = regression_loader(4)
    t = trainer()
    t.fit(boring_module(), loader)
    t.save_checkpoint(tmp_path / "ok.ckpt")
    ckpt = safe_load(tmp_path / "ok.ckpt")
    ckpt["payload"] = Payload()
    torch.save(ckpt, tmp_path / "unsafe.ckpt")
    with pytest.raises(UnsafeCheckpointError, match=r"unsafe\.ckpt.*weights_only=False"):
        trainer().fit(boring_module(), loader, ckpt_path=str(tmp_path / "unsafe.ckpt"))
    # explicit opt-in for a trusted file
    t = L.Trainer(
        default_root_dir=str(tmp_path), max_steps=3, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, plugins=[AtomicCheckpointIO(weights_only=False)],
    )
    t.fit(boring_module(), loader, ckpt_path=str(tmp_path / "unsafe.ckpt"))
    assert t.global_step == 3
