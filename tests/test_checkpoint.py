"""CheckpointHook with a real CPU Trainer: file names, retention, best files, last_checkpoint."""

from __future__ import annotations

import os
from pathlib import Path

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from boring import BoringNet
from lightning_runtime.callbacks.checkpoint import CheckpointHook
from lightning_runtime.checkpoint._io import AtomicCheckpointIO, safe_load
from lightning_runtime.errors import ConfigError
from lightning_runtime.registry import HOOKS


class Net(BoringNet):
    """Tiny regression model; validation logs a scripted metric sequence."""

    def __init__(self, scores: list[float] | None = None, metric: str = "mIoU") -> None:
        super().__init__(out_features=2)
        self.scores = list(scores or [])
        self.metric = metric
        self.n_val = 0

    def validation_step(self, batch, batch_idx):
        pass

    def on_validation_epoch_end(self):
        if self.trainer.sanity_checking:
            return
        score = self.scores[self.n_val] if self.n_val < len(self.scores) else 0.0
        self.n_val += 1
        self.log(self.metric, score)

    def configure_optimizers(self):
        opt = torch.optim.AdamW(self.parameters(), lr=0.01)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 / (1 + s))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def loader(n: int = 20, bs: int = 2) -> DataLoader:
    g = torch.Generator().manual_seed(0)
    ds = TensorDataset(torch.randn(n, 4, generator=g), torch.randn(n, 2, generator=g))
    return DataLoader(ds, batch_size=bs)


def fit(
    tmp_path: Path, hook: CheckpointHook, model: Net | None = None, ckpt_path: str | None = None, **kw
) -> tuple[L.Trainer, Net]:
    model = model or Net()
    args = dict(
        default_root_dir=str(tmp_path),
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        callbacks=[hook],
        plugins=[AtomicCheckpointIO()],
        limit_val_batches=1,
    )
    args.update(kw)
    trainer = L.Trainer(**args)
    val = loader(4) if kw.get("limit_val_batches", 1) else None
    trainer.fit(model, loader(), val, ckpt_path=ckpt_path)
    return trainer, model


def files(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir() if p.is_file())


def test_registered_with_mmengine_priority():
    assert HOOKS.get("CheckpointHook") is CheckpointHook
    assert CheckpointHook.priority == "VERY_LOW"
    hook = HOOKS.build(dict(type="CheckpointHook", interval=2000, by_epoch=False, max_keep_ckpts=3))
    assert hook.filename_tmpl == "iter_{}.pth"


def test_iter_based_names_retention_and_last_checkpoint(tmp_path):
    hook = CheckpointHook(interval=3, by_epoch=False, max_keep_ckpts=2)
    # 25 iterations over 10-batch epochs: saves at 3,6,...,24 and the last (25); keeps 2.
    fit(tmp_path, hook, max_steps=25, limit_val_batches=0)
    assert files(tmp_path) == ["iter_24.pth", "iter_25.pth", "last_checkpoint"]
    assert (tmp_path / "last_checkpoint").read_text() == str(tmp_path / "iter_25.pth")
    ckpt = safe_load(tmp_path / "iter_24.pth")
    assert ckpt["meta"]["iter"] == 24 and ckpt["meta"]["epoch"] == 2
    assert ckpt["callbacks"]["CheckpointHook"]["keep_ckpt_ids"] == [21, 24]
    assert "optimizer_states" in ckpt and "lr_schedulers" in ckpt


def test_interval_counts_iterations_under_accumulation(tmp_path):
    hook = CheckpointHook(interval=4, by_epoch=False, save_last=False)
    # max_steps counts optimizer steps: 6 steps x 2 = 12 iterations; saves at iters 4, 8, 12.
    trainer, _ = fit(tmp_path, hook, max_steps=6, accumulate_grad_batches=2, limit_val_batches=0)
    assert trainer.global_step == 6
    assert files(tmp_path) == ["iter_12.pth", "iter_4.pth", "iter_8.pth", "last_checkpoint"]
    assert safe_load(tmp_path / "iter_8.pth")["global_step"] == 4


def test_epoch_based_save_begin_and_last(tmp_path):
    hook = CheckpointHook(interval=2, save_begin=1, max_keep_ckpts=-1)
    fit(tmp_path, hook, max_epochs=4, limit_val_batches=0)
    # (epoch + 1 - 1) % 2 == 0 -> epochs 1 and 3; save_last adds 4.
    assert files(tmp_path) == ["epoch_1.pth", "epoch_3.pth", "epoch_4.pth", "last_checkpoint"]
    assert safe_load(tmp_path / "epoch_3.pth")["meta"] == {**safe_load(tmp_path / "epoch_3.pth")["meta"], "epoch": 3, "iter": 30}


def test_best_file_moves_when_metric_improves(tmp_path):
    hook = CheckpointHook(interval=100, by_epoch=False, save_best="mIoU", save_last=False)
    model = Net(scores=[0.5, 0.7, 0.6, 0.9, 0.1])
    fit(tmp_path, hook, model, max_steps=25, val_check_interval=5, check_val_every_n_epoch=None)
    # validations at iterations 5, 10, 15, 20, 25; best improves at 5, 10, 20.
    assert files(tmp_path) == ["best_mIoU_iter_20.pth"]
    assert hook.best_score == {"mIoU": pytest.approx(0.9)}
    best = safe_load(tmp_path / "best_mIoU_iter_20.pth")
    assert "optimizer_states" not in best and "lr_schedulers" not in best
    assert best["meta"]["iter"] == 20


def test_best_resaves_latest_regular_checkpoint_like_mmengine(tmp_path):
    # MMEngine re-saves a regular checkpoint at the current step after a new best, once a regular
    # checkpoint exists, so that the saved best-state is current.
    hook = CheckpointHook(interval=10, by_epoch=False, save_best="loss", save_last=False)
    lines: list[str] = []
    hook._info = lines.append  # type: ignore[method-assign]
    model = Net(scores=[3.0, 2.0, 2.5, 1.0], metric="val/loss")
    fit(tmp_path, hook, model, max_steps=20, val_check_interval=5, check_val_every_n_epoch=None)
    assert hook.rules == {"loss": "less"}
    # the re-save after the new best at 20 is silent, as in MMEngine: one line per regular save
    assert [m for m in lines if m.startswith("Saving checkpoint")] == [
        "Saving checkpoint at 10 iterations", "Saving checkpoint at 20 iterations"]
    assert files(tmp_path) == ["best_loss_iter_20.pth", "iter_10.pth", "iter_20.pth", "last_checkpoint"]
    # saved relative to the checkpoint directory (issue 13); the hook itself keeps the full path
    assert safe_load(tmp_path / "iter_20.pth")["callbacks"]["CheckpointHook"]["best_ckpt"] == {
        "loss": "best_loss_iter_20.pth"
    }
    assert hook.best_ckpt == {"loss": str(tmp_path / "best_loss_iter_20.pth")}


def test_several_best_metrics_and_epoch_names(tmp_path):
    hook = CheckpointHook(interval=-1, save_best=["mIoU", "mAcc"], rule="greater", save_last=False)

    class Two(Net):
        def on_validation_epoch_end(self):
            self.n_val += 1
            self.log("mIoU", [0.1, 0.3, 0.2][self.n_val - 1])
            self.log("mAcc", [0.5, 0.4, 0.6][self.n_val - 1])

    fit(tmp_path, hook, Two(), max_epochs=3)
    assert files(tmp_path) == ["best_mAcc_epoch_3.pth", "best_mIoU_epoch_2.pth"]


def test_save_best_metric_never_logged_is_a_clear_error(tmp_path):
    hook = CheckpointHook(interval=-1, save_best="mDice")
    with pytest.raises(ConfigError, match=r"save_best metric 'mDice' was not logged.*mIoU"):
        fit(tmp_path, hook, Net(scores=[0.1]), max_epochs=1)


def test_save_best_without_validation_step_fails_up_front(tmp_path):
    class NoVal(Net):
        validation_step = L.LightningModule.validation_step

    with pytest.raises(ConfigError, match="no validation_step"):
        fit(tmp_path, CheckpointHook(save_best="mIoU"), NoVal(), max_epochs=1, limit_val_batches=0)
    assert not any(tmp_path.glob("*.pth"))


def test_save_optimizer_false_drops_parts_and_still_resumes(tmp_path):
    hook = CheckpointHook(interval=5, by_epoch=False, save_optimizer=False, save_param_scheduler=False)
    fit(tmp_path, hook, max_steps=5, limit_val_batches=0)
    ckpt = safe_load(tmp_path / "iter_5.pth")
    assert "optimizer_states" not in ckpt and "lr_schedulers" not in ckpt
    hook2 = CheckpointHook(interval=5, by_epoch=False)
    with pytest.warns(UserWarning, match="optimizer starts fresh"):
        trainer, _ = fit(tmp_path, hook2, max_steps=10, limit_val_batches=0, ckpt_path=str(tmp_path / "iter_5.pth"))
    assert trainer.global_step == 10
    assert (tmp_path / "iter_10.pth").exists()


@pytest.mark.parametrize(
    "kwargs, path",
    [
        (dict(max_keep_ckpts=0), "max_keep_ckpts"),
        (dict(interval=0), "interval"),
        (dict(save_begin=-1), "save_begin"),
        (dict(save_best="foo"), "rule"),
        (dict(save_best=["mIoU", "mIoU"]), "save_best"),
        (dict(save_best=["auto", "mIoU"]), "save_best"),
        (dict(save_best=["a", "b", "c"], rule=["greater", "less"]), "rule"),
        (dict(save_best="mIoU", rule="bigger"), "rule"),
        (dict(filename_tmpl="ckpt.pth"), "filename_tmpl"),
        (dict(backend_args=dict(backend="petrel")), "backend_args.backend"),
        (dict(file_client_args=dict(backend="memcached")), "file_client_args.backend"),
        (dict(out_dir="s3://bucket/x"), "out_dir"),
    ],
)
def test_bad_arguments_are_config_errors(kwargs, path):
    with pytest.raises(ConfigError) as err:
        HOOKS.build(dict(type="CheckpointHook", **kwargs), path="default_hooks.checkpoint")
    assert err.value.path == f"default_hooks.checkpoint.{path}"


def test_unknown_argument_names_closest():
    with pytest.raises(ConfigError, match="max_keep_ckpts"):
        HOOKS.build(dict(type="CheckpointHook", max_keep_ckpt=3), path="default_hooks.checkpoint")


def test_rule_inference_matches_mmengine():
    hook = CheckpointHook(save_best=["mIoU", "val_loss", "aAcc", "top1_acc"])
    assert hook.rules == {"mIoU": "greater", "val_loss": "less", "aAcc": "greater", "top1_acc": "greater"}
    hook = CheckpointHook(save_best=["FID", "IS"], rule=["less", "greater"])
    assert hook.rules == {"FID": "less", "IS": "greater"}
    assert CheckpointHook(save_best="score", greater_keys=["score"]).rules == {"score": "greater"}


def test_out_dir_joins_work_dir_basename(tmp_path):
    work = tmp_path / "work" / "exp1"
    hook = CheckpointHook(interval=5, by_epoch=False, out_dir=str(tmp_path / "out"))
    fit(work, hook, max_steps=5, limit_val_batches=0)
    assert (tmp_path / "out" / "exp1" / "iter_5.pth").is_file()
    assert (work / "last_checkpoint").read_text() == str(tmp_path / "out" / "exp1" / "iter_5.pth")


def test_published_keys(tmp_path):
    hook = CheckpointHook(interval=5, by_epoch=False, published_keys=["meta", "state_dict"])
    fit(tmp_path, hook, max_steps=5, limit_val_batches=0)
    published = [p for p in tmp_path.iterdir() if p.name.startswith("iter_5-")]
    assert len(published) == 1 and published[0].suffix == ".pth"
    assert sorted(safe_load(published[0])) == ["meta", "state_dict"]


def test_retention_survives_resume(tmp_path):
    fit(tmp_path, CheckpointHook(interval=2, by_epoch=False, max_keep_ckpts=2), max_steps=6, limit_val_batches=0)
    assert files(tmp_path) == ["iter_4.pth", "iter_6.pth", "last_checkpoint"]
    hook = CheckpointHook(interval=2, by_epoch=False, max_keep_ckpts=2)
    fit(tmp_path, hook, max_steps=10, limit_val_batches=0, ckpt_path=str(tmp_path / "iter_6.pth"))
    # The resumed run knows 4 and 6 were kept: saving 8 deletes 4, saving 10 deletes 6.
    assert files(tmp_path) == ["iter_10.pth", "iter_8.pth", "last_checkpoint"]


def test_save_best_with_validation_off_fails_up_front(tmp_path):
    with pytest.raises(ConfigError, match="validation is off") as err:
        fit(tmp_path, CheckpointHook(save_best="mIoU"), max_epochs=1, limit_val_batches=0)
    assert err.value.path == "default_hooks.checkpoint.save_best"
    assert not any(tmp_path.glob("*.pth"))


def test_save_best_not_returned_by_the_iou_metric_warns_before_training(tmp_path):
    from lightning_runtime.runtime import RunContext

    hook = CheckpointHook(interval=-1, save_best="mDice")
    hook.bind_context(RunContext(
        cfg={"val_evaluator": dict(type="IoUMetric", iou_metrics=["mIoU"])}, work_dir=tmp_path, timestamp="t",
    ))
    with pytest.warns(UserWarning, match=r"\['mDice'\] is not among the val_evaluator's metrics \['aAcc', 'mAcc', 'mIoU'\]"):
        with pytest.raises(ConfigError, match="'mDice' was not logged"):
            fit(tmp_path, hook, Net(scores=[0.1]), max_epochs=1)


def test_save_best_auto_uses_the_first_validation_metric(tmp_path):
    class Two(Net):
        def on_validation_epoch_end(self):
            self.n_val += 1
            self.log("aAcc", [0.5, 0.9][self.n_val - 1])
            self.log("mIoU", [0.4, 0.3][self.n_val - 1])

    hook = CheckpointHook(interval=-1, save_best="auto", save_last=False)
    fit(tmp_path, hook, Two(), max_epochs=2)
    assert files(tmp_path) == ["best_aAcc_epoch_2.pth"]


def test_warns_when_lightning_adds_its_own_model_checkpoint(tmp_path):
    with pytest.warns(UserWarning, match="enable_checkpointing=False"):
        fit(tmp_path, CheckpointHook(interval=-1, save_last=False), max_steps=1, limit_val_batches=0,
            enable_checkpointing=True)
