"""Parity with ``mmengine.Config.fromfile``: every MMSegmentation 1.2.2 config, every config shipped
by seven more OpenMMLab codebases, and our own configs covering every construct the loader supports.

Equality is strict: same keys in the same order, same types (tuple vs list, int vs float vs bool)
and same values, all the way down.
"""

from __future__ import annotations

import ast
import glob
import importlib.metadata
import importlib.util
import os
import re
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import pytest

from lightning_runtime.config import load_config
from lightning_runtime.errors import ConfigError

import mmengine.config as mmengine_config  # noqa: E402 - the reference (a test dependency)

N_CHUNKS = 8


def strict_diff(a: Any, b: Any, path: str = "") -> str | None:
    """First difference between ``a`` and ``b`` (types and key order included), or None."""
    if type(a) is not type(b):
        return f"{path or '<root>'}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, dict):
        if list(a) != list(b):
            return f"{path or '<root>'}: keys {list(a)} != {list(b)}"
        for k in a:
            d = strict_diff(a[k], b[k], f"{path}.{k}" if path else str(k))
            if d:
                return d
        return None
    if isinstance(a, (list, tuple)):
        if len(a) != len(b):
            return f"{path}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = strict_diff(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{path}: {a!r} != {b!r}"


def reference(path: str | Path) -> dict[str, Any]:
    """MMEngine's reading of ``path`` (its temporary files go to RAM when it can: same result,
    several times faster than on a disk-backed /tmp)."""
    saved = tempfile.tempdir
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        tempfile.tempdir = "/dev/shm"
    try:
        return mmengine_config.Config.fromfile(str(path), import_custom_modules=False).to_dict()
    finally:
        tempfile.tempdir = saved


def _corpus(package: str = "mmseg") -> list[str]:
    """Every ``.py`` under the installed ``package``'s ``.mim/configs`` (found without importing it)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return []
    root = os.path.join(list(spec.submodule_search_locations)[0], ".mim", "configs")
    return sorted(glob.glob(os.path.join(root, "**", "*.py"), recursive=True))


CORPUS = _corpus()
CORPUS_ROOT = CORPUS[0].split(os.sep + ".mim" + os.sep)[0] + "/.mim/configs" if CORPUS else ""


def test_corpus_is_complete() -> None:
    assert CORPUS, "mmsegmentation is not installed (scripts/setup.sh installs it --no-deps)"
    assert len(CORPUS) == 769


@pytest.mark.slow
@pytest.mark.parametrize("chunk", range(N_CHUNKS))
def test_mmseg_corpus_parity(chunk: int) -> None:
    """Every mmseg 1.2.2 config (split in chunks so pytest-xdist spreads them) loads exactly."""
    assert CORPUS, "mmsegmentation is not installed (scripts/setup.sh installs it --no-deps)"
    files = CORPUS[chunk::N_CHUNKS]
    failures = []
    for path in files:
        try:
            mine = load_config(path).to_dict()
        except Exception as exc:  # report every failure, not just the first
            failures.append(f"{path}: {type(exc).__name__}: {exc}")
            continue
        diff = strict_diff(mine, reference(path))
        if diff:
            failures.append(f"{path}: {diff}")
    assert not failures, f"{len(failures)}/{len(files)} differ:\n" + "\n".join(failures[:20])


# -- the configs of seven more OpenMMLab codebases -------------------------------------------------
#: import name -> (distribution pinned in scripts/setup.sh, and how its shipped ``.py`` configs end:
#: ``equal`` to Config.fromfile / ``needs_code`` (a file importing a package: one ConfigError at the
#: import, saying so) / ``broken`` (as shipped: a ``_base_`` file or key that does not exist;
#: MMEngine fails too, here a ConfigError). docs/config.md has them. (The 52 MMPose/MMagic configs
#: with top-level ``for`` statements, refused until those were read, are ``equal``.)
CODEBASES: dict[str, tuple[str, dict[str, int]]] = {
    "mmdet": ("mmdet==3.3.0", dict(equal=862, needs_code=3, broken=4)),
    "mmpretrain": ("mmpretrain==1.2.0", dict(equal=839, needs_code=5, broken=2)),
    "mmpose": ("mmpose==1.3.2", dict(equal=463, needs_code=1, broken=0)),
    "mmaction": ("mmaction2==1.2.0", dict(equal=248, needs_code=0, broken=0)),
    "mmocr": ("mmocr==1.0.1", dict(equal=115, needs_code=0, broken=1)),
    "mmagic": ("mmagic==1.2.0", dict(equal=306, needs_code=0, broken=0)),
    "mmdet3d": ("mmdet3d==1.4.0", dict(equal=203, needs_code=0, broken=1)),
}
SETUP_HINT = "scripts/setup.sh installs the codebases' wheels --no-deps (configs only)"


def _imports_code(file: str, line: int) -> bool:
    """The statement at ``file:line`` imports a module other than ``copy``."""
    tree = ast.parse(Path(file).read_text(encoding="utf-8"))
    for stmt in tree.body:
        if stmt.lineno == line and isinstance(stmt, ast.ImportFrom):
            return stmt.module != "copy"
        if stmt.lineno == line and isinstance(stmt, ast.Import):
            return any(alias.name != "copy" for alias in stmt.names)
    return False


def classify(path: str) -> tuple[str, str]:
    """``(outcome, detail)`` of one shipped config: one of the CODEBASES outcomes, or ``other``."""
    try:
        mine: dict[str, Any] | None = load_config(path).to_dict()
        error: ConfigError | None = None
    except ConfigError as exc:
        mine, error = None, exc
    except Exception as exc:  # noqa: BLE001 - any other exception is a bug to report
        return "other", f"{type(exc).__name__}: {exc}"
    if error is not None and "this file needs code execution" in str(error):
        ok = error.file is not None and error.line is not None and _imports_code(error.file, error.line)
        return ("needs_code", "") if ok else ("other", f"needs code, but no import at its line: {error}")
    try:
        ref: dict[str, Any] | None = reference(path)
        ref_error = ""
    except (FileNotFoundError, KeyError, AttributeError) as exc:  # the shipped file is broken
        ref, ref_error = None, f"{type(exc).__name__}: {exc}"
    if ref is None:
        return ("broken", ref_error) if error is not None else ("other", f"loads here; MMEngine: {ref_error}")
    if error is not None:
        return "other", str(error)
    diff = strict_diff(mine, ref)
    return ("equal", "") if diff is None else ("other", diff)


def test_codebases_are_installed() -> None:
    for package, (requirement, counts) in CODEBASES.items():
        dist, version = requirement.split("==")
        assert importlib.metadata.version(dist) == version, f"{requirement}: {SETUP_HINT}"
        assert len(_corpus(package)) == sum(counts.values()), package


@pytest.mark.slow
@pytest.mark.parametrize("package", list(CODEBASES))
def test_codebase_corpus_parity(package: str) -> None:
    """Every shipped ``.py`` config of the codebase ends as pinned in CODEBASES (``other`` never)."""
    files = _corpus(package)
    assert files, f"{package} is not installed: {SETUP_HINT}"
    outcomes: dict[str, list[str]] = {}
    for path in files:
        kind, detail = classify(path)
        outcomes.setdefault(kind, []).append(f"{path}: {detail}")
    others = outcomes.pop("other", [])
    assert not others, f"{len(others)}/{len(files)} differ:\n" + "\n".join(others[:20])
    counts = {kind: len(outcomes.get(kind, [])) for kind in CODEBASES[package][1]}
    assert counts == CODEBASES[package][1], {k: outcomes.get(k, [])[:5] for k in outcomes if k != "equal"}


# The shipped configs that use the data operations read since MMDet/MMPretrain joined the corpus
# (del, import copy, str.format, _base_ joined with +): fast enough for every run.
DATA_OPERATIONS = re.compile(r"^(del |import copy)|\.format\(|^_base_ = \[\s*'[^']*' \+", re.M)


def _data_operation_files() -> list[str]:
    return [path for package in CODEBASES for path in _corpus(package)
            if DATA_OPERATIONS.search(Path(path).read_text(encoding="utf-8"))]


def test_shipped_configs_using_data_operations_match_mmengine() -> None:
    files = _data_operation_files()
    assert len(files) == 14, f"found {len(files)}: {SETUP_HINT}"
    outcomes = [(path, *classify(path)) for path in files]
    assert [o for o in outcomes if o[1] != "equal"] == []


def test_shipped_configs_with_for_statements_match_mmengine() -> None:
    """MMPose's UBody/Cocktail14 configs append datasets in a loop, MMagic's SwinIR/Restormer ones
    edit inherited test pipelines in one (an ``if``/``else`` inside in one file, nested in three):
    the 36 files holding the loops (16 more inherit them; the slow sweep covers those)."""
    files = [path for package in CODEBASES for path in _corpus(package)
             if re.search(r"^for ", Path(path).read_text(encoding="utf-8"), re.M)]
    assert len(files) == 36, f"found {len(files)}: {SETUP_HINT}"
    outcomes = [(path, *classify(path)) for path in files]
    assert [o for o in outcomes if o[1] != "equal"] == []
    ubody = next(p for p in files if p.endswith("rtmpose-m_8xb64-270e_coco-ubody-wholebody-256x192.py"))
    mine = load_config(ubody).to_dict()
    assert mine["scene"] == "VideoConference"  # the last scene: loop variables are keys
    datasets = mine["train_datasets"]  # COCO-WholeBody, then one per UBody scene (15)
    assert len(datasets) == 16 and datasets[6]["ann_file"] == "annotations/Speech/train_annotations.json"
    assert mine["train_dataset"] == datasets[-1]


def test_shipped_configs_that_import_code_are_refused_at_the_import() -> None:
    """MMPretrain's RepLKNet model file imports mmpretrain.models; MMPose's EDPose is a new-style
    (read_base) config; MMDet's odinw/override_category.py is a script: each one ConfigError."""
    cases = {
        ("mmpretrain", "_base_/models/replknet-31B_in1k.py"): (1, "'from mmpretrain.models import "
                                                              "build_classifier' imports code"),
        ("mmpose", "body_2d_keypoint/edpose/coco/edpose_res50_8xb2-50e_coco-800x1333.py"):
            (2, "'from mmengine.config import read_base' starts an MMEngine new-style config"),
        ("mmdet", "glip/odinw/override_category.py"): (2, "'import argparse' imports code"),
    }
    for (package, rel), (line, says) in cases.items():
        path = next((p for p in _corpus(package) if p.endswith("/configs/" + rel)), None)
        assert path, f"{package}: {SETUP_HINT}"
        with pytest.raises(ConfigError) as info:
            load_config(path)
        err = info.value
        assert (err.file, err.line) == (path, line)
        assert str(err).startswith(f"{path}:{line}: {says}"), err
        assert "this file needs code execution" in str(err) and "fix: " in str(err)


# -- our own configs: every construct ---------------------------------------------------------
def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LR_TEST_ROOT", "/data/cityscapes")
    monkeypatch.delenv("LR_TEST_UNSET", raising=False)
    write(tmp_path, "_base_/models/net.py", """
        norm_cfg = dict(type='SyncBN', requires_grad=True)
        model = dict(
            type='EncoderDecoder',
            backbone=dict(type='ResNetV1c', depth=50, out_indices=(0, 1, 2, 3),
                          norm_cfg=norm_cfg, strides=(1, 2, 1, 1)),
            decode_head=dict(type='FCNHead', in_channels=2048, num_classes=19,
                             loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0)),
            auxiliary_head=[dict(type='FCNHead', in_index=2), dict(type='FCNHead', in_index=3)],
        )
        """)
    write(tmp_path, "_base_/datasets/data.py", """
        data_root = '{{$LR_TEST_ROOT:/default/root}}'
        other_root = '{{ $LR_TEST_UNSET:/fallback }}'
        crop_size = (512, 1024)
        train_pipeline = [
            dict(type='LoadImageFromFile'),
            dict(type='RandomResize', scale=(2048, 1024), ratio_range=(0.5, 2.0), keep_ratio=True),
            dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
        ]
        train_dataloader = dict(batch_size=2, dataset=dict(data_root=data_root,
                                pipeline=train_pipeline))
        """)
    write(tmp_path, "_base_/runtime.yaml", """
        default_scope: mmseg
        log_processor:
          by_epoch: false
        vis_backends:
          - type: LocalVisBackend
        env_cfg:
          cudnn_benchmark: true
          dist_cfg: {backend: nccl}
        log_level: INFO
        load_from: null
        """)
    write(tmp_path, "_base_/schedule.py", """
        optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005)
        optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
        param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=40000,
                                by_epoch=False)]
        train_cfg = dict(type='IterBasedTrainLoop', max_iters=40000, val_interval=4000)
        default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False,
                                             interval=4000),
                             logger=dict(type='LoggerHook', interval=50))
        """)
    return tmp_path


CHILD = '''
"""A child config using every construct."""
_base_ = ['../_base_/models/net.py', '../_base_/datasets/data.py',
          '../_base_/runtime.yaml', '../_base_/schedule.py']
work_dir = './work_dirs/{{fileBasenameNoExtension}}'
here = '{{ fileDirname }}/{{fileBasename}}{{fileExtname}}'
crop_size = (769, 769)
num_classes = 150
depths = [2, 2, 6, 2]
lr = 0.01 * 2 / 4
steps = 160000 // 2 - 1000 % 7 + 2 ** 3
neg = -1.5
flag = not False
txt = 'ab' + 'cd' * 2
data_preprocessor = dict(size=crop_size, mean=[123.675, 116.28, 103.53])
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained=None,
    backbone=dict(depth=101, norm_cfg=dict(_delete_=True, type='BN')),
    decode_head=dict(num_classes=num_classes, channels=sum([48, 96, 192, 384])),
    auxiliary_head=dict(_delete_=True, type='FCNHead', num_classes=num_classes),
    new_part=dict(_delete_=True, kept=True),
)
test_pipeline = {{_base_.train_pipeline}}
pipelines = [{{_base_.train_pipeline}}, dict(a=1)]
root_copy = _base_.data_root
first_transform = _base_.train_pipeline[0]
backbone_depth = _base_.model.backbone.depth
custom_keys = {
    'pos_embed': dict(decay_mult=0.),
    'norm': dict(decay_mult=0.),
}
custom_keys.update({
    f'backbone.stages.{stage_id}.blocks.{block_id}.norm': dict(lr_mult=0.1, decay_mult=0.0)
    for stage_id, num_blocks in enumerate(depths)
    for block_id in range(num_blocks)
})
custom_keys.update({
    f'backbone.stages.{i}.downsample.norm': dict(decay_mult=0.0)
    for i in range(len(depths) - 1)
})
scales = [int(512 * r) for r in [0.5, 0.75, 1.0]]
pairs = {k: v for k, v in zip(['a', 'b'], (1, 2))}
evens = [x for x in range(10) if x % 2 == 0]
squares = {x * x for x in (1, 2, 3)}
nested = [[i, j] for i in range(2) for j in range(2)]
maxi = max(depths) + min(3, 4) + abs(-2) + round(2.5) + len('abc')
tag = f'{num_classes:05d}-{lr!r}-{"x"}'
sorted_depths = sorted(depths, reverse=True)
choice = 'big' if num_classes > 100 else 'small'
both = (num_classes > 1) and (lr < 1)
sl = depths[1:3]
slt = crop_size[::-1]
d2 = {**data_preprocessor, 'extra': [1, (2, 3)]}
l2 = [*depths, 9]
empty = dict()
l3 = [1]
l3 += [2]
l3[0] = 5
d3 = dict(a=1)
d3['b'] = (2, )
mean = data_preprocessor['mean'][::-1]
ann: int = 3
a1 = b1 = 'same'
(u1, u2) = (1, [2])
optim_wrapper = dict(optimizer=dict(lr=lr, _delete_=True, type='AdamW', betas=(0.9, 0.999)),
                     paramwise_cfg=dict(custom_keys=custom_keys))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=1500, end=160000, by_epoch=False),
]
default_hooks = dict(checkpoint=dict(interval=8000))
custom_imports = dict(imports=['my_pkg.hooks'], allow_failed_imports=False)
__private = 'dropped'
'''


def test_every_construct_matches_mmengine(tree: Path) -> None:
    child = write(tree, "configs/child.py", CHILD)
    mine = load_config(child).to_dict()
    assert strict_diff(mine, reference(child)) is None
    # spot-check the values a user would look at
    assert mine["model"]["backbone"]["norm_cfg"] == {"type": "BN"}
    assert mine["model"]["new_part"] == {"_delete_": True, "kept": True}  # MMEngine keeps it
    assert mine["model"]["auxiliary_head"] == {"type": "FCNHead", "num_classes": 150}
    assert mine["train_dataloader"]["dataset"]["data_root"] == "/data/cityscapes"
    assert mine["other_root"] == "/fallback"
    assert mine["work_dir"] == "./work_dirs/child"
    assert mine["test_pipeline"][2]["crop_size"] == (512, 1024)
    assert mine["optim_wrapper"]["optimizer"] == {"lr": 0.005, "type": "AdamW",
                                                  "betas": (0.9, 0.999)}
    assert "__private" not in mine
    assert len(mine["optim_wrapper"]["paramwise_cfg"]["custom_keys"]) == 2 + 12 + 3


def test_yaml_child_and_json_match_mmengine(tree: Path) -> None:
    child = write(tree, "configs/child.yaml", """
        _base_: [../_base_/schedule.py, ../_base_/runtime.yaml]
        optim_wrapper:
          optimizer: {lr: 0.02}
        model_root: {{_base_.default_scope}}
        sched: {{_base_.param_scheduler}}
        default_hooks:
          logger: {_delete_: true, type: LoggerHook, interval: 10}
        work_dir: ./work_dirs/{{fileBasenameNoExtension}}
        """)
    assert strict_diff(load_config(child).to_dict(), reference(child)) is None
    js = write(tree, "configs/child.json", """
        {"_base_": "../_base_/schedule.py", "train_cfg": {"max_iters": 80000},
         "param_scheduler": [{"type": "ConstantLR", "factor": 0.5}]}
        """)
    assert strict_diff(load_config(js).to_dict(), reference(js)) is None


def test_repo_base_configs_match_mmseg_and_their_yaml_twins() -> None:
    repo = Path(__file__).resolve().parents[1] / "configs" / "_base_"
    names = ["default_runtime"] + [f"schedules/schedule_{n}k" for n in (20, 40, 80, 160, 320)]
    for name in names:
        py = load_config(repo / f"{name}.py").to_dict()
        assert strict_diff(py, load_config(repo / f"{name}.yaml").to_dict()) is None, name
        assert strict_diff(py, reference(repo / f"{name}.py")) is None, name
        if CORPUS:  # the same numbers as MMSegmentation 1.x's own files
            mmseg = os.path.join(CORPUS_ROOT, "_base_", f"{name}.py")
            assert strict_diff(py, reference(mmseg)) is None, name
    sched = load_config(repo / "schedules/schedule_160k.py")
    assert sched.param_scheduler[0].end == 160000 and sched.train_cfg.val_interval == 16000
    assert sched.default_hooks.checkpoint.interval == 16000
    assert sched.optim_wrapper.optimizer.lr == 0.01



def test_mutating_inherited_values_matches_mmengine(tree: Path) -> None:
    """MMEngine runs the child with the merged bases as ``_base_``: changing them changes the
    result even for keys the child never assigns. The same happens here, without running code."""
    child = write(tree, "configs/mutate.py", """
        _base_ = ['../_base_/models/net.py', '../_base_/datasets/data.py']
        m = _base_.model
        m.update(dict(pretrained='open-mmlab://resnet50_v1c', backbone=dict(depth=18)))
        _base_.train_pipeline.append(dict(type='PackSegInputs'))
        _base_.norm_cfg['requires_grad'] = False
        _base_.model.backbone.style = 'pytorch'
        m.decode_head.loss_decode.loss_weight = 0.4
        mean = [123.675, 116.28, 103.53][::-1]
        model = dict(decode_head=dict(num_classes=2))
        """)
    mine = load_config(child).to_dict()
    assert strict_diff(mine, reference(child)) is None
    assert mine["model"]["backbone"]["depth"] == 18
    assert mine["train_pipeline"][-1] == {"type": "PackSegInputs"}


# -- data operations: del, import copy, str.format, assert ------------------------------------
# Each file starts with ``_base_ = ...``: MMEngine decides between its two readers on the first
# ``_base_`` or import statement, and in a virtualenv it takes ``import copy`` for a package import
# (its stdlib check looks at the interpreter's prefix) and reads such a file as a new-style config.
def test_del_matches_mmengine(tree: Path) -> None:
    child = write(tree, "configs/del.py", """
        _base_ = ['../_base_/models/net.py', '../_base_/datasets/data.py']
        del _base_.model
        model = dict(type='Other', depth=18)
        tmp = dict(scale=(1, 2))
        crop = tmp['scale']
        del tmp
        d = dict(a=1, b=2, c=3)
        seq = [0, 1, 2, 3, 4, 5]
        del d['b'], seq[::2]
        del _base_.train_pipeline[1]
        norm = _base_.norm_cfg
        del norm.requires_grad
        del _base_['other_root']
        a, b = 1, 2
        del a, b
        """)
    mine = load_config(child).to_dict()
    assert strict_diff(mine, reference(child)) is None
    assert mine["model"] == {"type": "Other", "depth": 18}  # the base's model is gone, not merged
    assert "tmp" not in mine and "a" not in mine and "other_root" not in mine
    assert mine["d"] == {"a": 1, "c": 3} and mine["seq"] == [1, 3, 5]
    assert [t["type"] for t in mine["train_pipeline"]] == ["LoadImageFromFile", "RandomCrop"]
    assert mine["norm_cfg"] == {"type": "SyncBN"}


def test_import_copy_matches_mmengine(tree: Path) -> None:
    child = write(tree, "configs/copy.py", """
        _base_ = ['../_base_/models/net.py', '../_base_/datasets/data.py']
        pipeline = [dict(type='LoadImageFromFile'), dict(type='RandomCrop', size=[1, 2])]
        import copy  # noqa: E402
        deep = copy.deepcopy(pipeline)
        deep[1]['size'][0] = 9
        shallow = copy.copy(pipeline)
        shallow[1]['size'][1] = 7
        shallow.append(dict(type='Pack'))
        _base_.train_dataloader.dataset.pipeline = copy.deepcopy(deep)
        model = copy.deepcopy(_base_.model)
        model.backbone.depth = 101
        shared = [dict(a=1)] * 2
        twins = copy.deepcopy(shared)
        twins[0]['a'] = 5
        import copy as cp
        backup = cp.deepcopy(dict(x=(1, [2])))
        """)
    mine = load_config(child).to_dict()
    assert strict_diff(mine, reference(child)) is None
    assert "copy" not in mine and "cp" not in mine  # modules are dropped, as MMEngine does
    assert mine["pipeline"][1]["size"] == [1, 7] and len(mine["pipeline"]) == 2
    assert mine["deep"][1]["size"] == [9, 2]
    assert mine["train_dataloader"]["dataset"]["pipeline"][1]["size"] == [9, 2]
    assert mine["model"]["backbone"]["depth"] == 101
    assert mine["twins"] == [{"a": 5}, {"a": 5}]  # deepcopy keeps the sharing, as Python's does


def test_str_format_matches_mmengine(tree: Path) -> None:
    child = write(tree, "configs/format.py", """
        _base_ = ['../_base_/schedule.py']
        layers = ['backbone.layers.{}'.format(i) for i in range(3)]
        ckpt = dict(train_ckpt_nodes=['backbone.layers.{}'.format(i) for i in range(12)])
        pos = '{1}-{0}-{1}'.format('a', 'b')
        named = '{name}_{lr:.0e}_{it:06d}'.format(name='run', lr=0.01, it=400)
        spec = '[{:>{}}|{:^7.2f}]'.format('x', 4, 3.14159)
        conv = '{!r} {!s} {!a} {{literal}}'.format('q', (1, 2), 'é')
        values = '{} {}'.format(dict(a=1), [1, (2, 3)])
        ints = '{:,} {:x} {:+d} {:%}'.format(1234567, 255, 3, 0.25)
        keys = {'stage{}.block{}'.format(s, b): s * b for s in range(2) for b in range(2)}
        """)
    mine = load_config(child).to_dict()
    assert strict_diff(mine, reference(child)) is None
    assert mine["layers"] == ["backbone.layers.0", "backbone.layers.1", "backbone.layers.2"]
    assert mine["spec"] == "[   x| 3.14  ]" and mine["named"] == "run_1e-02_000400"


def test_assert_matches_mmengine(tree: Path) -> None:
    child = write(tree, "configs/assert.py", """
        _base_ = ['../_base_/schedule.py']
        max_iters = _base_.train_cfg.max_iters
        assert max_iters % 4000 == 0, 'max_iters must be a multiple of val_interval'
        assert _base_.optimizer['type'] in ('SGD', 'AdamW')
        interval = max_iters // 10
        """)
    mine = load_config(child).to_dict()
    assert strict_diff(mine, reference(child)) is None
    assert mine["interval"] == 4000
    failing = write(tree, "configs/assert_fails.py", """
        _base_ = ['../_base_/schedule.py']
        max_iters = 1000
        assert max_iters % 4000 == 0, f'max_iters={max_iters} is not a multiple of 4000'
        """)
    with pytest.raises(AssertionError, match="max_iters=1000 is not a multiple of 4000"):
        reference(failing)
    with pytest.raises(ConfigError) as info:
        load_config(failing)
    assert str(info.value).startswith(
        f"{failing}:3: the config's own check 'assert max_iters % 4000 == 0' failed: "
        "max_iters=1000 is not a multiple of 4000")


def test_base_joined_with_plus_matches_mmengine(tree: Path) -> None:
    child = write(tree, "configs/plus.py", """
        _base_ = [
            '../_base_/' +
            'schedule.py'
        ]
        lr = 0.02
        """)
    mine = load_config(child).to_dict()
    assert strict_diff(mine, reference(child)) is None
    assert mine["train_cfg"]["max_iters"] == 40000


def test_import_copy_without_base_reads_as_mmengine_classic_reader(tmp_path: Path) -> None:
    """Without ``_base_``, MMEngine in a virtualenv reads ``import copy`` as a new-style import
    (and fails at ``copy.deepcopy``); its classic reader, which a system Python picks, agrees here."""
    cfg = write(tmp_path, "plain.py", """
        import copy
        a = dict(x=[1])
        b = copy.deepcopy(a)
        b['x'].append(2)
        """)
    ref = mmengine_config.Config.fromfile(str(cfg), import_custom_modules=False, lazy_import=False)
    mine = load_config(cfg).to_dict()
    assert strict_diff(mine, ref.to_dict()) is None
    assert mine == {"a": {"x": [1]}, "b": {"x": [1, 2]}}


def test_inherited_dicts_as_text_match_mmengine(tree: Path) -> None:
    """Inherited dicts are ConfigDicts (MMEngine's too); their text is a plain dict's."""
    child = write(tree, "configs/text.py", """
        _base_ = ['../_base_/models/net.py']
        a = f'{_base_.model.backbone}'
        b = 'cfg: {}'.format(_base_.norm_cfg)
        c = '{!r}'.format(_base_.model.auxiliary_head)
        d = str(_base_.model.decode_head)
        e = '%s' % (_base_.norm_cfg, )
        """)
    mine = load_config(child).to_dict()
    assert strict_diff(mine, reference(child)) is None
    assert mine["b"] == "cfg: {'type': 'SyncBN', 'requires_grad': True}"


def test_for_statements_match_mmengine(tree: Path) -> None:
    """``for`` over lists, ranges, ``dict.items()`` and ``enumerate``, nested, with ``else``: the
    loop variables and the names first bound in a body stay keys, in the order Python binds them."""
    child = write(tree, "configs/loops.py", """
        _base_ = ['../_base_/models/net.py']
        scenes = ['Speech', 'Fitness', 'Movie']
        datasets = []
        for scene in scenes:
            each = dict(ann_file=f'annotations/{scene}/train.json', pipeline=[])
            datasets.append(each)
        total = 0
        for i in range(4):
            total += i
        decay = dict()
        for name, mult in dict(backbone=0.1, neck=0.5).items():
            decay[name] = dict(lr_mult=mult)
        for j, (k, v) in enumerate([('a', 1), ('b', 2)]):
            pair = f'{j}:{k}={v}'
        grid = []
        for row in range(2):
            for col in 'xy':
                grid.append(f'{row}{col}')
        for unused in []:
            never = 1
        else:
            finished = True
        a, b = 1, 2
        """)
    mine = load_config(child).to_dict()
    assert strict_diff(mine, reference(child)) is None
    assert [d["ann_file"] for d in mine["datasets"]] == [
        "annotations/Speech/train.json", "annotations/Fitness/train.json",
        "annotations/Movie/train.json"]
    assert (mine["scene"], mine["each"]) == ("Movie", mine["datasets"][-1])
    assert (mine["total"], mine["i"]) == (6, 3)
    assert mine["decay"] == {"backbone": {"lr_mult": 0.1}, "neck": {"lr_mult": 0.5}}
    assert (mine["j"], mine["k"], mine["v"], mine["pair"]) == (1, "b", 2, "1:b=2")
    assert mine["grid"] == ["0x", "0y", "1x", "1y"] and (mine["row"], mine["col"]) == (1, "y")
    assert "unused" not in mine and "never" not in mine and mine["finished"] is True
    own = [k for k in mine if k not in ("norm_cfg", "model")]
    assert own == ["scenes", "datasets", "scene", "each", "total", "i", "decay", "name", "mult",
                   "j", "k", "v", "pair", "grid", "row", "col", "finished", "a", "b"]


def test_if_statements_and_edits_in_loops_match_mmengine(tree: Path) -> None:
    """``if``/``elif``/``else`` (in a loop and at the top level), and loops that edit inherited
    values in place (MMagic's pattern), with item and attribute assignment, ``del`` and ``assert``."""
    child = write(tree, "configs/branches.py", """
        _base_ = ['../_base_/models/net.py', '../_base_/datasets/data.py']
        heads = _base_.model.auxiliary_head
        for idx in range(len(heads)):
            head = heads[idx]
            if idx > 0:
                head['loss_weight'] = 0.4
            elif head.in_index == 2:
                head.loss_weight = 1.0
                head['extra'] = dict(tag=f'head{idx}')
            else:
                never = True
        pipeline = _base_.train_dataloader.dataset.pipeline
        for step in pipeline:
            if step['type'] == 'RandomCrop':
                step['crop_size'] = (256, 256)
            assert 'type' in step, 'every step has a type'
        sizes = dict(s=1, m=2, l=3)
        kept = dict()
        for key in list(sizes):
            if sizes[key] % 2:
                kept[key] = sizes[key]
            tmp = key
            del tmp
        if len(kept) == 2:
            mode = 'two'
        else:
            mode = 'other'
        if False:
            skipped = 1
        """)
    mine = load_config(child).to_dict()
    assert strict_diff(mine, reference(child)) is None
    assert mine["heads"][0] == {"type": "FCNHead", "in_index": 2, "loss_weight": 1.0,
                                "extra": {"tag": "head0"}}
    assert mine["heads"][1]["loss_weight"] == 0.4 and "never" not in mine
    assert mine["model"]["auxiliary_head"] == mine["heads"]  # edited in place, as MMEngine does
    assert mine["train_dataloader"]["dataset"]["pipeline"][2]["crop_size"] == (256, 256)
    assert mine["step"] == mine["pipeline"][-1]
    assert mine["kept"] == {"s": 1, "l": 3} and mine["key"] == "l" and "tmp" not in mine
    assert mine["mode"] == "two" and "skipped" not in mine


def test_long_append_loop_matches_mmengine(tmp_path: Path) -> None:
    """A loop of 3 000 appends is linear work here (what a call adds is counted, not the list it
    grows again), so it loads like a comprehension would, equal to MMEngine's result."""
    child = write(tmp_path, "appends.py", """
        datasets = []
        for i in range(3000):
            datasets.append(dict(type='CocoDataset', ann_file=f'part{i}.json', pipeline=[]))
        """)
    mine = load_config(child).to_dict()
    assert strict_diff(mine, reference(child)) is None
    assert len(mine["datasets"]) == 3000 and mine["datasets"][2999]["ann_file"] == "part2999.json"
    assert mine["i"] == 2999
