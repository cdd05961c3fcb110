"""load_config / Config: attribute access, to_dict, dump round trips, locate, overrides, merging."""

from __future__ import annotations

import copy
import pickle
import textwrap
from pathlib import Path

import pytest

from lightning_runtime import load_config as public_load_config
from lightning_runtime.config import Config, load_config, merge_configs
from lightning_runtime.config._merge import parse_value
from lightning_runtime.config import ConfigDict
from lightning_runtime.errors import ConfigError

import mmengine.config as mmengine_config  # noqa: E402 - the reference (a test dependency)

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


SCHEDULE = """
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=optimizer,
    clip_grad=None,
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(
        type='PolyLR',
        power=1.0,
        begin=1500,
        end=160000,
        by_epoch=False,
    ),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=160000, val_interval=16000)
crop_size = (512, 512)
"""


@pytest.fixture
def sched(tmp_path: Path) -> Path:
    return write(tmp_path, "schedule.py", SCHEDULE)


def test_config_is_a_dict_with_attribute_access(sched: Path) -> None:
    cfg = load_config(sched)
    assert public_load_config is load_config
    assert isinstance(cfg, dict) and isinstance(cfg, Config)
    assert cfg.filename == str(sched)
    assert cfg.optim_wrapper.optimizer.lr == 0.01
    assert cfg["optim_wrapper"]["optimizer"]["momentum"] == 0.9
    assert cfg.param_scheduler[1].end == 160000  # dicts inside lists too
    assert isinstance(cfg.param_scheduler[0], ConfigDict)
    assert cfg.crop_size == (512, 512) and isinstance(cfg.crop_size, tuple)
    assert not hasattr(cfg, "missing_key")
    with pytest.raises(KeyError):
        cfg["missing_key"]
    cfg.train_cfg.max_iters = 1000
    cfg.new = dict(a=dict(b=1))
    assert cfg.new.a.b == 1 and cfg["train_cfg"]["max_iters"] == 1000


def test_to_dict_is_plain_with_tuples(sched: Path) -> None:
    d = load_config(sched).to_dict()
    assert type(d) is dict and type(d["optim_wrapper"]) is dict
    assert type(d["param_scheduler"]) is list and type(d["param_scheduler"][0]) is dict
    assert d["crop_size"] == (512, 512) and type(d["crop_size"]) is tuple


@pytest.mark.parametrize("ext", [".py", ".yaml", ".yml"])
def test_dump_loads_back_equal(sched: Path, tmp_path: Path, ext: str) -> None:
    cfg = load_config(sched, ["extra=[(1,2),{3}]", "nested.k-ey=1"])
    cfg["weird"] = {"not an identifier": 1.5, 3: None, "x": float("inf")}
    cfg["s"] = {1, 2}
    out = tmp_path / f"dumped{ext}"
    cfg.dump(out)
    back = load_config(out)
    assert back == cfg
    assert back.to_dict()["crop_size"] == (512, 512)
    assert back.to_dict()["extra"] == [(1, 2), "{3}"]


def test_dump_json_writes_lists(sched: Path, tmp_path: Path) -> None:
    cfg = load_config(sched)
    cfg.dump(tmp_path / "c.json")
    back = load_config(tmp_path / "c.json")
    assert back.crop_size == [512, 512] and back.param_scheduler == cfg.param_scheduler


def test_pretty_text_is_readable_python(sched: Path) -> None:
    text = load_config(sched).pretty_text
    assert "optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005)" in text
    assert "crop_size = (512, 512)" in text
    assert "param_scheduler = [\n    dict(type='LinearLR'" in text


def test_locate_innermost_definition(tmp_path: Path, sched: Path) -> None:
    child = write(tmp_path, "child.py", """
        _base_ = './schedule.py'
        optim_wrapper = dict(
            optimizer=dict(lr=0.02),
        )
        param_scheduler = [
            dict(type='LinearLR', end=500),
            dict(type='PolyLR',
                 end=1000),
        ]
        """)
    cfg = load_config(child, overrides=["train_cfg.val_interval=500"])
    assert cfg.locate("optim_wrapper.optimizer.lr") == (str(child), 3)
    assert cfg.locate("optim_wrapper.optimizer.momentum") == (str(sched), 1)  # via `optimizer`
    assert cfg.locate("optim_wrapper.clip_grad") == (str(sched), 5)
    assert cfg.locate("param_scheduler[1].end") == (str(child), 8)
    assert cfg.locate("param_scheduler.1.type") == (str(child), 7)
    assert cfg.locate("param_scheduler[0]") == (str(child), 6)
    assert cfg.locate("train_cfg.max_iters") == (str(sched), 17)
    assert cfg.locate("train_cfg.val_interval") == ("<override train_cfg.val_interval=500>", 0)
    assert cfg.locate("nonexistent.key") is None


def test_locate_yaml(tmp_path: Path) -> None:
    cfg_path = write(tmp_path, "c.yaml", """
        optim_wrapper:
          optimizer:
            lr: 0.1
        param_scheduler:
          - type: LinearLR
            end: 10
          - type: PolyLR
            end: 100
        """)
    cfg = load_config(cfg_path)
    assert cfg.locate("optim_wrapper.optimizer.lr") == (str(cfg_path), 3)
    assert cfg.locate("param_scheduler[1].end") == (str(cfg_path), 8)


@pytest.mark.parametrize(
    "text",
    ["0.02", "2000", "true", "False", "None", "[1,2]", "(1,2)", "1,2,3", "[(1,2),[3,'a']]",
     "'quoted'", "a b", "", "()", "[]", "1e-4", "nan", "[1,(2,[3,4])]", "0x10"],
)
def test_override_values_parse_like_mmengine(text: str) -> None:
    ref = mmengine_config.DictAction._parse_iterable(text)
    mine = parse_value(text)
    assert mine == ref or (mine != mine and ref != ref)  # nan
    assert type(mine) is type(ref)


def test_an_override_with_commas_only_inside_parentheses_is_one_string() -> None:
    """MMEngine's DictAction recurses forever on ``[dict(a='b',c=1)]``; here the item is one string."""
    assert parse_value("[dict(a='b',c=dict(d=1))]") == ["dict(a='b',c=dict(d=1))"]
    assert parse_value("f(a,b)") == "f(a,b)"


def test_overrides_match_merge_from_dict(sched: Path) -> None:
    overrides = ["optim_wrapper.optimizer.lr=0.02", "param_scheduler.1.end=2000",
                 "train_cfg.max_iters=2000", "crop_size=(256,256)", "new.key=[1,2]",
                 "optim_wrapper.clip_grad=None", "flag=true"]
    cfg = load_config(sched, overrides)
    ref = mmengine_config.Config.fromfile(str(sched))
    ref.merge_from_dict({k: mmengine_config.DictAction._parse_iterable(v)
                         for k, v in (o.split("=", 1) for o in overrides)})
    assert cfg.to_dict() == ref.to_dict()
    assert cfg.param_scheduler[1].end == 2000 and cfg.param_scheduler[0].end == 1500
    assert cfg.crop_size == (256, 256) and cfg.flag is True and cfg.optim_wrapper.clip_grad is None


def test_dict_overrides_and_list_of_dicts_by_index(sched: Path) -> None:
    cfg = load_config(sched, {"param_scheduler.0.begin": 10,
                              "optim_wrapper.optimizer": dict(_delete_=True, type="AdamW")})
    assert cfg.param_scheduler[0].begin == 10
    assert cfg.optim_wrapper.optimizer == {"type": "AdamW"}


def test_mapping_source_is_converted_not_shared() -> None:
    src = {"a": {"b": [1, {"c": (2, 3)}]}}
    cfg = load_config(src)
    assert cfg.a.b[1].c == (2, 3) and cfg.filename is None and cfg.locate("a.b") is None
    cfg.a.b.append(4)
    assert src["a"]["b"] == [1, {"c": (2, 3)}]
    again = load_config(cfg, ["a.x=1"])
    assert again.a.x == 1 and "x" not in cfg.a


def test_omegaconf_mapping_source() -> None:
    from omegaconf import OmegaConf

    cfg = load_config(OmegaConf.create({"lr": 0.1, "opt": {"lr": "${lr}"}}))
    assert cfg.opt.lr == 0.1


def test_yaml_features(tmp_path: Path) -> None:
    base = write(tmp_path, "base.yaml", "optimizer: {type: SGD, lr: 1e-2}\nsize: !!python/tuple [1, 2]\n")
    child = write(tmp_path, "child.yaml", """
        _base_: base.yaml
        optimizer:
          lr: 0.02
          momentum: ${optimizer.lr}
        """)
    cfg = load_config(child)
    assert cfg.optimizer == {"type": "SGD", "lr": 0.02, "momentum": 0.02}
    assert load_config(base).size == (1, 2) and load_config(base).optimizer.lr == 0.01


def test_merge_configs_follows_mmengine_rules(tmp_path: Path, sched: Path) -> None:
    other = write(tmp_path, "other.py", """
        optim_wrapper = dict(optimizer=dict(lr=0.1),
                             clip_grad=dict(_delete_=True, max_norm=1.0))
        param_scheduler = [dict(type='ConstantLR', factor=0.5)]
        train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop', max_epochs=3)
        """)
    merged = merge_configs(load_config(sched), load_config(other))
    assert merged.optim_wrapper.optimizer == {"type": "SGD", "lr": 0.1, "momentum": 0.9,
                                              "weight_decay": 0.0005}
    assert merged.optim_wrapper.clip_grad == {"max_norm": 1.0}
    assert merged.param_scheduler == [{"type": "ConstantLR", "factor": 0.5}]
    assert merged.train_cfg == {"type": "EpochBasedTrainLoop", "max_epochs": 3}
    assert merged.locate("optim_wrapper.optimizer.lr") == (str(other), 1)
    with pytest.raises(ConfigError, match="cannot be merged into the inherited None value"):
        merge_configs(load_config(sched), {"optim_wrapper": {"clip_grad": {"max_norm": 1}}})
    assert merged.locate("optim_wrapper.optimizer.momentum") == (str(sched), 1)
    ref = mmengine_config.Config.fromfile(str(sched))
    ref.merge_from_dict(mmengine_config.Config.fromfile(str(other)).to_dict(),
                        allow_list_keys=False)
    assert merged.to_dict() == ref.to_dict()


def test_copy_deepcopy_pickle_keep_filename(sched: Path) -> None:
    cfg = load_config(sched)
    for other in (copy.copy(cfg), copy.deepcopy(cfg), pickle.loads(pickle.dumps(cfg))):
        assert isinstance(other, Config) and other == cfg
        assert other.filename == cfg.filename
        assert other.locate("train_cfg.max_iters") == cfg.locate("train_cfg.max_iters")
    deep = copy.deepcopy(cfg)
    deep.optim_wrapper.optimizer.lr = 1.0
    assert cfg.optim_wrapper.optimizer.lr == 0.01


def test_configdict_update_is_recursive_like_mmengine() -> None:
    d = ConfigDict(model=dict(backbone=dict(depth=50, type="R")))
    d.update(dict(model=dict(backbone=dict(depth=101))))
    assert d.model.backbone == {"depth": 101, "type": "R"}


def test_custom_imports_are_data(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, "c.py", """
        custom_imports = dict(imports=['definitely_not_a_module_xyz'], allow_failed_imports=False)
        """))
    assert cfg.custom_imports.imports == ["definitely_not_a_module_xyz"]


def test_repo_base_configs_load(tmp_path: Path) -> None:
    child = write(tmp_path, "c.py", f"""
        _base_ = ['{REPO}/configs/_base_/default_runtime.py',
                  '{REPO}/configs/_base_/schedules/schedule_40k.py']
        optim_wrapper = dict(optimizer=dict(lr=0.005))
        """)
    cfg = load_config(child)
    assert cfg.train_cfg.max_iters == 40000 and cfg.param_scheduler[0].end == 40000
    assert cfg.optim_wrapper.optimizer.lr == 0.005 and cfg.optim_wrapper.optimizer.momentum == 0.9
    assert cfg.default_hooks.checkpoint.interval == 4000 and cfg.log_processor.by_epoch is False
