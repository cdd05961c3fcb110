"""The reference side of ``test_runner_parity``: one scenario through MMEngine 0.10.7's ``Runner``.

Usage: ``python runner_parity_ref.py SCENARIO WORK_DIR OUT_JSON``. Facts of the reference side
(see DESIGN.md): ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` (MMEngine loads its checkpoints with
``weights_only=False``); ``time.sleep`` patched out (``IterBasedTrainLoop`` sleeps 2 s per pass);
the seed's ``NewHook`` with ``model`` bound in both branches (verbatim it raises
UnboundLocalError on a single-process Runner).
"""

from __future__ import annotations

import os

os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

time.sleep = lambda seconds: None  # IterBasedTrainLoop's 2 s pause at each pass over the data

import torch  # noqa: E402
from mmengine.evaluator import BaseMetric  # noqa: E402
from mmengine.hooks import Hook  # noqa: E402
from mmengine.model import BaseModel, is_model_wrapper  # noqa: E402
from mmengine.registry import HOOKS, METRICS  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import runner_parity_common as common  # noqa: E402  (the script's folder is on sys.path)

SINK: list = []
HOOKS.register_module(module=common.make_record_hook(Hook, is_model_wrapper, SINK), force=True)
HOOKS.register_module(module=common.make_stop_hook(Hook), force=True)


@HOOKS.register_module(force=True)
class NewHook(Hook):
    """The seed tutorial's NewHook, ``model`` bound in both branches."""

    def __init__(self, a: int, b: int) -> None:
        self.a = a
        self.b = b

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        cur_iter = runner.iter
        if is_model_wrapper(runner.model):
            model = runner.model.module
        else:
            model = runner.model
        model.hyper_parameter = self.a * cur_iter + self.b


@METRICS.register_module(force=True)
class MSEMetric(BaseMetric):
    """Mean squared error over the validation set (``mse``)."""

    def process(self, data_batch, data_samples) -> None:
        self.results.extend(data_samples)

    def compute_metrics(self, results) -> dict:
        return dict(mse=sum(r[0] for r in results) / sum(r[1] for r in results))


class TinySeg(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        common.build_layers(self)

    def forward(self, x, y=None, mode="tensor"):
        if mode == "loss":
            return dict(loss=common.loss_of(self, x, y))
        out = common.predict(self, x)
        if mode == "predict":
            return [(float(((out - y) ** 2).sum()), y.numel())]
        return out


def main(name: str, work_dir: str, out: str) -> None:
    cfg = common.scenario(name)
    model = TinySeg()
    common.initial_weights(model)
    train, val = common.loaders()
    runner = Runner(
        model=model, work_dir=work_dir, train_dataloader=train, val_dataloader=val,
        val_evaluator=dict(type="MSEMetric"), default_scope="mmengine", launcher="none",
        env_cfg=dict(cudnn_benchmark=False, dist_cfg=dict(backend="gloo")),
        **cfg,
    )
    runner.train()
    Path(out).write_text(json.dumps(common.collect(Path(work_dir), model, SINK)))


if __name__ == "__main__":
    main(*sys.argv[1:4])
