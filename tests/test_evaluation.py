"""IoUMetric parity with MMSegmentation 1.2.2's own IoUMetric source, and build_evaluator.

The reference is the installed ``mmseg/evaluation/metrics/iou_metric.py`` itself: ``mmseg`` does
not import (it needs mmcv), so its module source is executed with its imports replaced by tiny
stand-ins for the logging / registry / table pieces. ``intersect_and_union``,
``total_area_to_metrics`` and ``compute_metrics`` run unchanged.
"""

from __future__ import annotations

import ast
import importlib.util
import math
import os
import os.path as osp
import struct
import zlib
from collections import OrderedDict
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import pytest
import torch

from lightning_runtime.errors import ConfigError
from lightning_runtime.evaluation import Evaluator, IoUMetric, build_evaluator
from lightning_runtime.registry import METRICS


# ---------------------------------------------------------------------------------------- reference
class _Table:
    def __init__(self) -> None:
        self.columns: "OrderedDict[str, list]" = OrderedDict()

    def add_column(self, key, val) -> None:
        self.columns[key] = list(val)

    def get_string(self) -> str:
        return repr(self.columns)


class _BaseMetric:
    def __init__(self, collect_device="cpu", prefix=None) -> None:
        self.results: list = []
        self.prefix = prefix


class _Logger:
    @staticmethod
    def get_current_instance():
        return None


class _Registry:
    @staticmethod
    def register_module(*a, **k):
        return lambda cls: cls


@pytest.fixture(scope="module")
def mmseg_iou():
    spec = importlib.util.find_spec("mmseg")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("mmsegmentation sources not installed")
    src_path = Path(list(spec.submodule_search_locations)[0]) / "evaluation" / "metrics" / "iou_metric.py"
    tree = ast.parse(src_path.read_text())
    tree.body = [n for n in tree.body if not isinstance(n, (ast.Import, ast.ImportFrom))]
    tables: list[_Table] = []

    def make_table():
        tables.append(_Table())
        return tables[-1]

    ns = dict(
        osp=osp, OrderedDict=OrderedDict, Dict=Dict, List=List, Optional=Optional, Sequence=Sequence,
        np=np, torch=torch, is_main_process=lambda: True, BaseMetric=_BaseMetric, MMLogger=_Logger,
        print_log=lambda *a, **k: None, mkdir_or_exist=lambda d: os.makedirs(d, exist_ok=True),
        Image=None, PrettyTable=make_table, METRICS=_Registry,
    )
    exec(compile(tree, str(src_path), "exec"), ns)
    return ns["IoUMetric"], tables


def _reference(mmseg_iou, batches, classes, **kwargs):
    ref_cls, tables = mmseg_iou
    ref = ref_cls(**kwargs)
    ref.dataset_meta = {"classes": classes}
    for pred, gt in batches:
        samples = [dict(pred_sem_seg=dict(data=p[None]), gt_sem_seg=dict(data=g[None])) for p, g in zip(pred, gt)]
        ref.process({}, samples)
    metrics = ref.compute_metrics(ref.results)
    return metrics, tables[-1].columns


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def _random_batches(seed, num_classes, n_batches=3, gt_classes=None, pred_classes=None, ignore=255):
    g = torch.Generator().manual_seed(seed)
    out = []
    for b in range(n_batches):
        n, h, w = 1 + b % 3, 7 + b, 9
        gt_hi = gt_classes or num_classes
        gt = torch.randint(0, gt_hi, (n, h, w), generator=g)
        # Predictions agree with the label ~60% of the time.
        noise = torch.randint(0, pred_classes or num_classes, (n, h, w), generator=g)
        keep = torch.rand((n, h, w), generator=g) < 0.6
        pred = torch.where(keep, gt, noise)
        gt[torch.rand((n, h, w), generator=g) < 0.1] = ignore
        out.append((pred, gt))
    return out


CASES = [
    dict(num_classes=2, iou_metrics=["mIoU"]),
    dict(num_classes=5, iou_metrics=["mIoU", "mDice", "mFscore"]),
    dict(num_classes=19, iou_metrics=["mDice"], seed=3),
    dict(num_classes=4, iou_metrics="mFscore", beta=2),
    dict(num_classes=6, iou_metrics=["mIoU", "mFscore"], gt_classes=3),  # classes absent from GT
    dict(num_classes=6, iou_metrics=["mIoU", "mDice", "mFscore"], gt_classes=3, pred_classes=4),  # NaN
    dict(num_classes=6, iou_metrics=["mIoU", "mDice", "mFscore"], gt_classes=3, pred_classes=4, nan_to_num=0),
    dict(num_classes=6, iou_metrics=["mIoU", "mFscore"], gt_classes=2, pred_classes=2, nan_to_num=-1),
    dict(num_classes=3, iou_metrics=["mIoU"], ignore_index=0),
    dict(num_classes=8, iou_metrics=["mIoU", "mDice", "mFscore"], beta=0.5, seed=11),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_iou_metric_matches_mmseg(mmseg_iou, case):
    case = dict(case)
    num_classes = case.pop("num_classes")
    seed = case.pop("seed", 0)
    gen = {k: case.pop(k) for k in ("gt_classes", "pred_classes") if k in case}
    ignore = case.get("ignore_index", 255)
    batches = _random_batches(seed, num_classes, ignore=ignore, **gen)
    names = [f"c{i}" for i in range(num_classes)]
    ref_metrics, ref_cols = _reference(mmseg_iou, batches, names, **case)

    ours = IoUMetric(num_classes=num_classes, class_names=names, **case)
    for pred, gt in batches:
        ours.update(pred, gt)
    got = ours.compute()

    assert list(got) == list(ref_metrics)
    for key, ref_val in ref_metrics.items():
        assert _same(got[key], round(float(ref_val), 2)), (key, got[key], ref_val)
    assert list(ours.per_class) == [k for k in ref_cols if k != "Class"]
    for key, vals in ours.per_class.items():
        assert all(_same(a, round(float(b), 2)) for a, b in zip(vals, ref_cols[key])), key
    assert ours.table.splitlines()[1].split("|")[1].strip() == "Class"
    assert "c1" in ours.table


def test_logits_equal_labels_and_nan_for_absent_class():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 4, 5, 6, generator=g)
    gt = torch.randint(0, 3, (2, 5, 6), generator=g)  # class 3 never in GT
    a, b = IoUMetric(iou_metrics=["mIoU", "mFscore"]), IoUMetric(iou_metrics=["mIoU", "mFscore"], num_classes=4)
    a.update(logits, gt)  # num_classes taken from the logits
    b.update(logits.argmax(1), gt)
    assert a.compute() == b.compute()
    assert a.num_classes == 4
    assert math.isnan(a.per_class["Acc"][3])  # 0/0 recall: absent from GT
    # mAcc skips the NaN class (nanmean), as MMSeg.
    acc = [x for x in a.per_class["Acc"] if not math.isnan(x)]
    assert abs(a.compute()["mAcc"] - sum(acc) / len(acc)) < 0.02


def test_exact_small_example():
    m = IoUMetric(iou_metrics=["mIoU", "mDice", "mFscore"], num_classes=2)
    m.update(torch.tensor([[[0, 1], [1, 1]]]), torch.tensor([[[0, 1], [0, 255]]]))
    # class 0: I=1, pred=1, gt=2, U=2; class 1: I=1, pred=2, gt=1, U=2
    assert m.compute() == {
        "aAcc": 66.67, "mIoU": 50.0, "mAcc": 75.0, "mDice": 66.67,
        "mFscore": 66.67, "mPrecision": 75.0, "mRecall": 75.0,
    }
    m.reset()
    m.update(torch.tensor([[0, 0]]), torch.tensor([[0, 0]]))
    assert m.compute()["mIoU"] == 100.0  # class 1 absent from both: NaN, skipped by nanmean
    assert math.isnan(m.per_class["IoU"][1])


def test_states_sum_across_processes():
    m = IoUMetric(num_classes=3)
    for name in ("area_intersect", "area_union", "area_pred_label", "area_label"):
        assert m._reductions[name] is not None and m._reductions[name].__name__ == "dim_zero_sum"
        assert getattr(m, name).dtype == torch.int64  # exact counts, no float32 drift on big sets


def test_prefix_and_output_dir(tmp_path):
    m = IoUMetric(num_classes=3, prefix="seg", output_dir=str(tmp_path / "masks"))
    pred = torch.tensor([[[0, 1, 2], [2, 1, 0]]])
    m.update(pred, pred.clone(), img_paths=["data/img_0042.jpg"])
    assert m.compute() == {"seg/aAcc": 100.0, "seg/mIoU": 100.0, "seg/mAcc": 100.0}
    png = (tmp_path / "masks" / "img_0042.png").read_bytes()
    width, height, depth, color = struct.unpack(">IIBB", png[16:26])
    assert (width, height, depth, color) == (3, 2, 8, 0)
    idat = png[png.index(b"IDAT") + 4:png.index(b"IEND") - 8]
    rows = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(2, 4)[:, 1:]
    assert rows.tolist() == pred[0].tolist()


def test_format_only(tmp_path):
    m = IoUMetric(num_classes=2, format_only=True, output_dir=str(tmp_path))
    m.update(torch.zeros(2, 3, 3, dtype=torch.long))
    assert m.compute() == {}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["000000.png", "000001.png"]
    with pytest.raises(ConfigError, match="needs output_dir"):
        IoUMetric(format_only=True)


def test_update_errors():
    m = IoUMetric(num_classes=2)
    with pytest.raises(ValueError, match="resize the logits"):
        m.update(torch.zeros(1, 2, 4, 4), torch.zeros(1, 3, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="logits have 3 channels"):
        m.update(torch.zeros(1, 3, 4, 4), torch.zeros(1, 4, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="num_classes"):
        IoUMetric().update(torch.zeros(1, 4, 4, dtype=torch.long), torch.zeros(1, 4, 4, dtype=torch.long))


# ------------------------------------------------------------------------------------ build_evaluator
def test_build_evaluator_forms():
    assert METRICS.get("IoUMetric") is IoUMetric
    ev = build_evaluator(dict(type="IoUMetric", iou_metrics=["mIoU", "mDice", "mFscore"], ignore_index=255),
                         num_classes=3, class_names=["a", "b", "c"])
    assert isinstance(ev, Evaluator) and len(ev) == 1
    assert ev.metrics[0].class_names == ["a", "b", "c"] and ev.metrics[0].metrics == ["mIoU", "mDice", "mFscore"]
    ev = build_evaluator([dict(type="IoUMetric"), dict(type="mmseg.IoUMetric", prefix="b")], num_classes=2)
    pred = torch.tensor([[[0, 1]]])
    ev.update(pred, pred)
    assert ev.compute() == {"aAcc": 100.0, "mIoU": 100.0, "mAcc": 100.0,
                            "b/aAcc": 100.0, "b/mIoU": 100.0, "b/mAcc": 100.0}
    assert len(ev.tables) == 2
    ev = build_evaluator(dict(type="Evaluator", metrics=[dict(type="IoUMetric")]), num_classes=2)
    assert len(ev) == 1
    assert build_evaluator(None) is None


def test_build_evaluator_duplicate_keys():
    ev = build_evaluator([dict(type="IoUMetric"), dict(type="IoUMetric")], num_classes=2)
    ev.update(torch.tensor([[[0, 1]]]), torch.tensor([[[0, 1]]]))
    with pytest.raises(ValueError, match="different prefixes"):
        ev.compute()


@pytest.mark.parametrize(
    "cfg, path, text",
    [
        (dict(type="CitysMetric"), "val_evaluator.type", "use type='IoUMetric'"),
        ([dict(type="IoUMetric"), dict(type="DepthMetric")], "val_evaluator[1].type", "torchmetrics"),
        (dict(type="IouMetric"), "val_evaluator.type", "did you mean: 'IoUMetric'"),
        (dict(type="IoUMetric", reduce_zero_label=True), "val_evaluator.reduce_zero_label", "no argument"),
        (dict(type="IoUMetric", iou_metrics=["mIoU", "mdice"]), "val_evaluator.iou_metrics[1]", "'mDice'"),
        (dict(type="IoUMetric", collect_device="tpu"), "val_evaluator.collect_device", "'cpu' or 'gpu'"),
        ("IoUMetric", "val_evaluator", "metric dict"),
        ([], "val_evaluator", "no metric"),
    ],
)
def test_build_evaluator_errors(cfg, path, text):
    with pytest.raises(ConfigError) as info:
        build_evaluator(cfg, num_classes=3)
    assert info.value.path == path
    assert text in str(info.value)


def test_test_evaluator_path():
    with pytest.raises(ConfigError) as info:
        build_evaluator(dict(type="CitysMetric"), path="test_evaluator")
    assert str(info.value).startswith("test_evaluator.type: CitysMetric is not supported")


def test_any_torchmetrics_metric_by_dotted_path(tmp_path):
    ev = build_evaluator(
        [dict(type="IoUMetric", output_dir=str(tmp_path)),
         dict(type="torchmetrics.classification.MulticlassJaccardIndex", average="macro")],
        num_classes=3, class_names=["a", "b", "c"])
    pred = torch.tensor([[[0, 1, 2], [2, 2, 0]]])
    gt = torch.tensor([[[0, 1, 2], [2, 1, 0]]])
    ev.update(pred, gt, img_paths=["x/frame.png"])  # img_paths reaches IoUMetric only
    out = ev.compute()
    assert out["mIoU"] == 72.22  # (2/2 + 1/2 + 2/3) / 3
    assert float(out["MulticlassJaccardIndex"]) == pytest.approx(0.7222, abs=1e-4)
    assert (tmp_path / "frame.png").exists()


def test_per_class_table_is_logged(caplog):
    m = IoUMetric(iou_metrics=["mIoU", "mDice"], class_names=["background", "circle"])
    m.update(torch.tensor([[[0, 1], [1, 1]]]), torch.tensor([[[0, 1], [0, 255]]]))
    with caplog.at_level("INFO", logger="lightning_runtime.evaluation._build"):
        m.compute()
    messages = [r.getMessage() for r in caplog.records if r.name == "lightning_runtime.evaluation._build"]
    assert messages[0] == "per class results:"
    assert messages[1] == "\n" + m.table
    # PrettyTable's default layout (centred cells; odd padding goes where PrettyTable puts it).
    assert m.table.splitlines() == [
        "+------------+------+-------+-------+",
        "|   Class    | IoU  |  Acc  |  Dice |",
        "+------------+------+-------+-------+",
        "| background | 50.0 |  50.0 | 66.67 |",
        "|   circle   | 50.0 | 100.0 | 66.67 |",
        "+------------+------+-------+-------+",
    ]


@pytest.mark.parametrize("iou_metrics", [["mIoU"], ["mDice"], ["mFscore"], ["mIoU", "mDice", "mFscore"], "mDice"])
@pytest.mark.parametrize("prefix", [None, "val"])
def test_output_keys_are_the_keys_compute_returns(iou_metrics, prefix):
    metric = IoUMetric(iou_metrics=iou_metrics, prefix=prefix, num_classes=3)
    metric.update(torch.tensor([[[0, 1], [2, 1]]]), torch.tensor([[[0, 1], [1, 2]]]))
    assert IoUMetric.output_keys(iou_metrics=iou_metrics, prefix=prefix) == list(metric.compute())


def test_evaluator_output_keys_from_config():
    from lightning_runtime.evaluation._build import evaluator_output_keys

    iou = dict(type="IoUMetric", iou_metrics=["mIoU"], ignore_index=255)
    assert evaluator_output_keys(iou) == {"aAcc", "mIoU", "mAcc"}
    assert evaluator_output_keys([iou, dict(type="IoUMetric", iou_metrics=["mFscore"], prefix="f")]) == {
        "aAcc", "mIoU", "mAcc", "f/aAcc", "f/mFscore", "f/mPrecision", "f/mRecall"}
    assert evaluator_output_keys(dict(type="Evaluator", metrics=[iou])) == {"aAcc", "mIoU", "mAcc"}
    # keys known only once the metric has run: None
    assert evaluator_output_keys([iou, dict(type="torchmetrics.Accuracy", task="binary")]) is None
    assert evaluator_output_keys(IoUMetric(num_classes=2)) is None
    assert evaluator_output_keys(dict(type="NoSuchMetric")) is None
