"""The run's text log (``work_dir/<ts>/<ts>.log``): complete, opened only once a loop starts."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

import pytest

from runtime_helpers import QUIET, Boring, loader

from lightning_runtime.errors import ConfigError
from lightning_runtime.runtime import Runtime


def _cfg(tmp_path: Path) -> dict:
    return dict(
        work_dir=str(tmp_path / "wd"),
        train_cfg=dict(type="IterBasedTrainLoop", max_iters=4, val_interval=4),
        val_cfg=dict(type="ValLoop"),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
        log_processor=dict(by_epoch=False),
        default_hooks=dict(logger=dict(type="LoggerHook", interval=2),
                           checkpoint=dict(type="CheckpointHook", interval=4, by_epoch=False)),
    )


def test_log_holds_setup_and_training_lines_and_levels_are_restored(tmp_path: Path) -> None:
    lightning_logger = logging.getLogger("lightning.pytorch")
    before = lightning_logger.level
    lightning_logger.setLevel(logging.WARNING)
    try:
        rt = Runtime(_cfg(tmp_path))
        rt.fit(Boring(rt), train_dataloaders=loader(8), val_dataloaders=loader(2),
               **{k: v for k, v in QUIET.items() if k != "enable_checkpointing"})
        log = (rt.ctx.log_dir / f"{rt.ctx.timestamp}.log").read_text()
        # a message from CheckpointHook.setup (before the file existed, buffered) and the train lines
        assert "Checkpoints will be saved to" in log
        assert "Iter(train) [2/4]" in log and "Iter(train) [4/4]" in log
        assert log.count("Iter(train) [2/4]") == 1  # one handler, no duplicated lines
        assert lightning_logger.level == logging.WARNING
    finally:
        lightning_logger.setLevel(before)


class BadOptimizers(Boring):
    def configure_optimizers(self):  # a problem only found while the Trainer sets up
        raise ConfigError("bad paramwise_cfg for this model", path="optim_wrapper.paramwise_cfg")


def test_config_error_during_setup_leaves_no_log_file(tmp_path: Path) -> None:
    rt = Runtime(_cfg(tmp_path))
    with pytest.raises(ConfigError):
        rt.fit(BadOptimizers(rt), train_dataloaders=loader(8), val_dataloaders=loader(2),
               **{k: v for k, v in QUIET.items() if k != "enable_checkpointing"})
    assert not (rt.ctx.log_dir / f"{rt.ctx.timestamp}.log").exists()
    assert not (rt.ctx.work_dir / f"{rt.ctx.timestamp}.py").exists()  # nor the config dump
    assert not any(isinstance(h, logging.handlers.MemoryHandler)
                   for h in logging.getLogger("lightning_runtime").handlers)


def test_every_run_dumps_its_config_into_work_dir_as_mmengine(tmp_path: Path) -> None:
    """MMEngine's ``Runner.dump_config``: ``work_dir/<ts>.py`` for a dict config, the file's own name
    otherwise; loads back equal, and a second (resumed) run writes its own."""
    from lightning_runtime import load_config

    cfg = _cfg(tmp_path)
    rt = Runtime(cfg)
    rt.fit(Boring(rt), train_dataloaders=loader(8), val_dataloaders=loader(2),
           **{k: v for k, v in QUIET.items() if k != "enable_checkpointing"})
    dumped = rt.ctx.work_dir / f"{rt.ctx.timestamp}.py"
    assert load_config(dumped).to_dict() == load_config(cfg).to_dict()

    path = tmp_path / "my_config.py"
    load_config(dict(cfg, work_dir=str(tmp_path / "wd2"))).dump(path)
    rt = Runtime.from_file(path)
    rt.validate(Boring(rt), dataloaders=loader(2), **{k: v for k, v in QUIET.items() if k != "enable_checkpointing"})
    assert (tmp_path / "wd2" / "my_config.py").read_text() == path.read_text()
