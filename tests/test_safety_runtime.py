"""Issue 13, runtime part: every runtime value of the wrong kind is a ConfigError, never a traceback.

Each bad value must stop the run with a :class:`ConfigError` that names its config path and holds a
``fix:`` line, before anything is written to ``work_dir``: through ``Runtime(cfg)`` /
``Runtime.fit`` in-process (the table below), and through the CLI in a subprocess (exit code 2,
one message, no traceback) for a few. The last test scans ``src/`` so that every ``ConfigError``
raised anywhere carries a ``fix=``.
"""

from __future__ import annotations

import ast
import math
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
from runtime_helpers import NO_HOOKS, Boring, loader

from lightning_runtime import Runtime, load_config
from lightning_runtime.errors import ConfigError, check_int, check_keys, check_number, did_you_mean

HERE = Path(__file__).parent
SRC = HERE.parent / "src" / "lightning_runtime"
CORPUS_BASE = HERE / "bad_config_corpus" / "_base_" / "base.py"
ASSETS = HERE / "cli_assets"

OPT = dict(type="OptimWrapper", optimizer=dict(type="SGD", lr=0.1))
TRAIN = dict(type="IterBasedTrainLoop", max_iters=8, val_interval=4)
#: no hooks but the scheduler's (with it removed, param_scheduler is not read, as in MMEngine's hooks)
HOOKS = dict(NO_HOOKS, param_scheduler=dict(type="ParamSchedulerHook"))


def _cfg(work_dir: Any, **extra: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = dict(train_cfg=dict(TRAIN), optim_wrapper=OPT, default_hooks=dict(HOOKS),
                               work_dir=str(work_dir) if isinstance(work_dir, Path) else work_dir)
    cfg.update(extra)
    return cfg


def _fit_error(cfg: dict[str, Any], module: Any = None, overrides: list[str] | None = None) -> ConfigError:
    """The ConfigError that ``Runtime(cfg)`` or ``Runtime.fit`` raises (the test fails if none)."""
    with pytest.raises(ConfigError) as info, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rt = Runtime(load_config(cfg, overrides=overrides))
        rt.fit(module if module is not None else Boring(), train_dataloaders=loader(),
               enable_progress_bar=False, enable_model_summary=False)
    return info.value


def _check(err: ConfigError, path: str) -> None:
    text = str(err)
    assert err.path is not None and err.path.startswith(path), text
    assert f"{path}" in text.splitlines()[0], text
    assert err.fix and "\n  fix: " in text, text


# (id, extra top-level config, expected config path)
CASES: list[tuple[str, dict[str, Any], str]] = [
    ("model_wrapper_cfg=2", dict(model_wrapper_cfg=2), "model_wrapper_cfg"),
    ("model_wrapper_cfg.find_unused=yes", dict(model_wrapper_cfg=dict(find_unused_parameters="yes")),
     "model_wrapper_cfg.find_unused_parameters"),
    ("randomness='seed0'", dict(randomness="seed0"), "randomness"),
    ("randomness.seed=-1", dict(randomness=dict(seed=-1)), "randomness.seed"),
    ("randomness.seed='0'", dict(randomness=dict(seed="0")), "randomness.seed"),
    ("env_cfg.mp_cfg=5", dict(env_cfg=dict(mp_cfg=5)), "env_cfg.mp_cfg"),
    ("env_cfg.mp_cfg.mp_start_method", dict(env_cfg=dict(mp_cfg=dict(mp_start_method="frok"))),
     "env_cfg.mp_cfg.mp_start_method"),
    ("env_cfg.dist_cfg='gloo'", dict(env_cfg=dict(dist_cfg="gloo")), "env_cfg.dist_cfg"),
    ("env_cfg.dist_cfg.timeout=nan", dict(env_cfg=dict(dist_cfg=dict(timeout=float("nan")))),
     "env_cfg.dist_cfg.timeout"),
    ("env_cfg=[]", dict(env_cfg=[1]), "env_cfg"),
    ("launcher=1", dict(launcher=1), "launcher"),
    ("val_begin=inf", dict(train_cfg=dict(TRAIN, val_begin=float("inf"))), "train_cfg.val_begin"),
    ("max_iters=inf", dict(train_cfg=dict(TRAIN, max_iters=math.inf)), "train_cfg.max_iters"),
    ("max_iters=nan", dict(train_cfg=dict(TRAIN, max_iters=math.nan)), "train_cfg.max_iters"),
    ("max_iters='8'", dict(train_cfg=dict(TRAIN, max_iters="8")), "train_cfg.max_iters"),
    ("val_interval=0.5", dict(train_cfg=dict(TRAIN, val_interval=0.5)), "train_cfg.val_interval"),
    ("dynamic_intervals=1.5", dict(train_cfg=dict(TRAIN, dynamic_intervals=1.5)), "train_cfg.dynamic_intervals"),
    ("dynamic_intervals=[3]", dict(train_cfg=dict(TRAIN, dynamic_intervals=[3])), "train_cfg.dynamic_intervals[0]"),
    ("train_cfg=8", dict(train_cfg=8), "train_cfg"),
    ("train_cfg.by_epoch='no'", dict(train_cfg=dict(by_epoch="no", max_iters=8)), "train_cfg.by_epoch"),
    ("val_cfg=1", dict(val_cfg=1), "val_cfg"),
    ("val_cfg.fp16='yes'", dict(val_cfg=dict(fp16="yes")), "val_cfg.fp16"),
    ("log_processor='by_epoch'", dict(log_processor="by_epoch"), "log_processor"),
    ("log_processor.window_size=inf", dict(log_processor=dict(window_size=math.inf)), "log_processor.window_size"),
    ("log_processor.by_epoch='no'", dict(log_processor=dict(by_epoch="no")), "log_processor.by_epoch"),
    ("log_processor.mean_pattern='('", dict(log_processor=dict(mean_pattern="(")), "log_processor.mean_pattern"),
    ("log_processor.mean_pattern=None", dict(log_processor=dict(mean_pattern=None)), "log_processor.mean_pattern"),
    ("log_processor.custom_cfg=1", dict(log_processor=dict(custom_cfg=1)), "log_processor.custom_cfg"),
    ("log_level=5", dict(log_level=5), "log_level"),
    ("auto_scale_lr=16", dict(auto_scale_lr=16), "auto_scale_lr"),
    ("auto_scale_lr.base_batch_size=0", dict(auto_scale_lr=dict(base_batch_size=0)), "auto_scale_lr.base_batch_size"),
    ("default_hooks=3", dict(default_hooks=3), "default_hooks"),
    ("param_scheduler=['PolyLR']", dict(param_scheduler=["PolyLR"]), "param_scheduler[0]"),
    ("param_scheduler=1.5", dict(param_scheduler=1.5), "param_scheduler"),
    ("param_scheduler=[1]", dict(param_scheduler=[dict(type="LinearLR", by_epoch=False, end=2), 1]),
     "param_scheduler[1]"),
    ("optimizer None key", dict(optim_wrapper=dict(optimizer={"type": "SGD", "lr": 0.1, None: 1})),
     "optim_wrapper.optimizer.None"),
    ("EarlyStopping monitor=nan", dict(custom_hooks=[dict(type="EarlyStoppingHook", monitor=float("nan"))]),
     "custom_hooks[0].monitor"),
    ("EarlyStopping monitor=3", dict(custom_hooks=[dict(type="EarlyStoppingHook", monitor=3)]),
     "custom_hooks[0].monitor"),
    ("EarlyStopping monitor=''", dict(custom_hooks=[dict(type="EarlyStoppingHook", monitor="")]),
     "custom_hooks[0].monitor"),
    ("EarlyStopping monitor=['a']", dict(custom_hooks=[dict(type="EarlyStoppingHook", monitor=["mIoU"])]),
     "custom_hooks[0].monitor"),
    ("EarlyStopping patience=inf", dict(custom_hooks=[dict(type="EarlyStoppingHook", monitor="mIoU",
                                                           patience=math.inf)]), "custom_hooks[0].patience"),
    ("EarlyStopping min_delta='x'", dict(custom_hooks=[dict(type="EarlyStoppingHook", monitor="mIoU",
                                                            min_delta="x")]), "custom_hooks[0].min_delta"),
    ("work_dir=5", dict(work_dir=5), "work_dir"),
    ("work_dir NUL", dict(work_dir="runs/a\0b"), "work_dir"),
    ("work_dir=''", dict(work_dir=""), "work_dir"),
    ("trainer unknown kwarg", dict(trainer=dict(max_epoch=1)), "trainer.max_epoch"),
    ("trainer=1", dict(trainer=1), "trainer"),
    ("val_evaluator os.system", dict(val_evaluator=dict(type="os.system", command="true")), "val_evaluator.type"),
    ("test_evaluator subprocess.run", dict(test_evaluator=[dict(type="IoUMetric"),
                                                           dict(type="subprocess.run", args="true")]),
     "test_evaluator[1].type"),
    ("val_evaluator DepthMetric", dict(val_evaluator=dict(type="DepthMetric")), "val_evaluator.type"),
    ("val_evaluator=3", dict(val_evaluator=3), "val_evaluator"),
    ("lr=nan", dict(optim_wrapper=dict(optimizer=dict(type="SGD", lr=math.nan))), "optim_wrapper.optimizer.lr"),
    ("weight_decay=inf", dict(optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1, weight_decay=math.inf))),
     "optim_wrapper.optimizer.weight_decay"),
    ("PolyLR power<0", dict(param_scheduler=[dict(type="PolyLR", power=-1.0, by_epoch=False)]),
     "param_scheduler[0].power"),
]


@pytest.mark.parametrize(("extra", "path"), [pytest.param(e, p, id=i) for i, e, p in CASES])
def test_bad_runtime_value_is_a_config_error(extra: dict[str, Any], path: str, tmp_path: Path) -> None:
    wd = tmp_path / "wd"
    extra = dict(extra)
    err = _fit_error(_cfg(extra.pop("work_dir", wd), **extra))
    _check(err, path)
    assert not wd.exists()


def test_a_trainer_value_of_the_wrong_kind_is_a_config_error(tmp_path: Path) -> None:
    """What L.Trainer itself refuses (TypeError/ValueError/MisconfigurationException) becomes a ConfigError."""
    rt = Runtime(_cfg(tmp_path / "wd"))
    for bad in (dict(num_nodes="two"), dict(accelerator="tpu-ish"), dict(precision="3-bit")):
        with pytest.raises(ConfigError, match="L.Trainer refused its arguments") as info:
            rt.build_trainer(**bad)
        _check(info.value, "trainer")
    assert not (tmp_path / "wd").exists()


def test_did_you_mean_for_an_unknown_trainer_argument(tmp_path: Path) -> None:
    err = _fit_error(_cfg(tmp_path / "wd", trainer=dict(max_epoch=1)))
    assert "max_epochs" in err.candidates
    with pytest.raises(ConfigError, match="L.Trainer has no argument 'max_epoch'") as info:
        Runtime(_cfg(tmp_path / "wd")).build_trainer(max_epoch=1)
    assert info.value.path == "trainer.max_epoch" and "max_epochs" in info.value.candidates
    assert not (tmp_path / "wd").exists()


@pytest.mark.parametrize("key", ["optimizer_config", "lr_config", "momentum_config", "checkpoint_config",
                                 "log_config", "evaluation", "runner", "workflow", "fp16"])
@pytest.mark.parametrize("value", [3, "text", [1, 2], None, 1.5, {"type": "X", "hooks": 3, "grad_clip": 1,
                                                                   None: 1}])
def test_legacy_key_of_any_value_gets_its_fix(key: str, value: Any, tmp_path: Path) -> None:
    """As the only setting (its 1.x section absent), any value is refused with a fix; None is absent."""
    from lightning_runtime.config._legacy import EQUIVALENTS

    cfg = _cfg(tmp_path / "wd", **{key: value})
    for section in EQUIVALENTS[key]:
        cfg.pop(section, None)
    if value is None:
        Runtime(cfg)
        return
    with pytest.raises(ConfigError) as info:
        Runtime(cfg)
    _check(info.value, key)
    assert "MMCV 0.x" in info.value.message


def test_work_dir_that_is_a_file(tmp_path: Path) -> None:
    victim = tmp_path / "afile"
    victim.write_text("keep")
    err = _fit_error(_cfg(victim))
    _check(err, "work_dir")
    assert "is not a directory" in err.message
    err = _fit_error(_cfg(victim / "sub"))
    assert "is a file" in err.message
    assert victim.read_text() == "keep"


def _unwritable_dir(tmp_path: Path) -> Path:
    if os.geteuid() == 0:  # root writes anywhere by mode bits: use a directory the kernel refuses
        proc = Path("/proc/1")
        if proc.is_dir() and not os.access(proc, os.W_OK):
            return proc
        pytest.skip("running as root and no directory here refuses writes")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    return ro


def test_work_dir_in_an_unwritable_directory(tmp_path: Path) -> None:
    parent = _unwritable_dir(tmp_path)
    before = sorted(os.listdir(parent))
    err = _fit_error(_cfg(parent / "run"))
    _check(err, "work_dir")
    assert "not writable" in err.message
    assert sorted(os.listdir(parent)) == before


def test_negative_index_override_counts_from_the_end(tmp_path: Path) -> None:
    scheds = [dict(type="LinearLR", start_factor=0.5, by_epoch=False, begin=0, end=2),
              dict(type="PolyLR", by_epoch=False, begin=2, end=8)]
    cfg = load_config(_cfg(tmp_path, param_scheduler=scheds), overrides=["param_scheduler.-1.end=6"])
    assert [s["end"] for s in cfg["param_scheduler"]] == [2, 6]
    for bad, path in (("param_scheduler.-3.end=1", "param_scheduler[-3]"),
                      ("param_scheduler.2.end=1", "param_scheduler[2]"),
                      ("param_scheduler.last.end=1", "param_scheduler.last")):
        with pytest.raises(ConfigError) as info:
            load_config(_cfg(tmp_path, param_scheduler=scheds), overrides=[bad])
        _check(info.value, path)


@pytest.mark.parametrize(("override", "path"), [("env_cfg.dist_cfg=gloo", "env_cfg.dist_cfg"),
                                                ("train_cfg.max_iters=1e400", "train_cfg.max_iters")])
def test_bad_override(override: str, path: str, tmp_path: Path) -> None:
    err = _fit_error(_cfg(tmp_path / "wd"), overrides=[override])
    _check(err, path)
    assert not (tmp_path / "wd").exists()


class OwnOptimizers(Boring):
    """A module with its own configure_optimizers that asks the runtime (as the demo's SegModule)."""


def test_paramwise_error_with_own_configure_optimizers_stops_before_writing(tmp_path: Path) -> None:
    wd = tmp_path / "wd"
    cfg = _cfg(wd, optim_wrapper=dict(OPT, paramwise_cfg=dict(bias_decay_mul=0.0)),
               default_hooks=dict(HOOKS, logger=dict(type="LoggerHook", interval=1)))
    rt = Runtime(cfg)
    with pytest.raises(ConfigError) as info:
        rt.fit(OwnOptimizers(rt), train_dataloaders=loader(), enable_progress_bar=False)
    _check(info.value, "optim_wrapper.paramwise_cfg.bias_decay_mul")
    assert not wd.exists()


def test_own_configure_optimizers_with_valid_paramwise_still_trains(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, optim_wrapper=dict(type="OptimWrapper", optimizer=dict(type="SGD", lr=0.1, weight_decay=1e-4),
                                             paramwise_cfg=dict(bias_decay_mult=0.0)))
    rt = Runtime(cfg)
    module = OwnOptimizers(rt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rt.fit(module, train_dataloaders=loader(), enable_progress_bar=False, enable_model_summary=False)
    assert module.steps == 8


def test_shared_checks() -> None:
    assert check_int(1e3, "a") == 1000 and check_int(torch.tensor(3).item(), "a") == 3
    for bad in (math.inf, math.nan, 1.5, "1", True, None):
        with pytest.raises(ConfigError, match="must be an integer") as info:
            check_int(bad, "a.b")
        assert info.value.path == "a.b" and info.value.fix
    for bad in (math.nan, "1", False, None):
        with pytest.raises(ConfigError, match="must be a number"):
            check_number(bad, "x")
    with pytest.raises(ConfigError, match="expected a dict"):
        check_keys(3, ("a",), "sec")
    assert did_you_mean(None, ["None", "x"]) == ["None"]  # type: ignore[arg-type]
    assert did_you_mean(3, ["3a"]) == ["3a"]  # type: ignore[arg-type]


# ------------------------------------------------------------------ through the CLI (subprocess)
CLI_CASES = [
    ("model_wrapper_cfg = 2\n", [], "model_wrapper_cfg"),
    ("", ["--env_cfg.dist_cfg=gloo"], "env_cfg.dist_cfg"),
    ("", ["--train_cfg.max_iters=1e400"], "train_cfg.max_iters"),
    ("trainer = dict(max_epoch=1)\n", [], "trainer.max_epoch"),
    ("log_config = 'text'\ndefault_hooks = None\n", [], "log_config"),
]


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[int, str, Path]]:
    """Start every CLI case at once (start-up dominates), then collect them."""
    root = tmp_path_factory.mktemp("safety_runtime_cli")
    shutil.copy(CORPUS_BASE, root / "base.py")
    exe = Path(sys.executable).with_name("lightning-runtime")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "lightning_runtime"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(ASSETS), os.environ.get("PYTHONPATH", "")])}
    procs = []
    for i, (text, args, _) in enumerate(CLI_CASES):
        config = root / f"case{i}.py"
        config.write_text("_base_ = ['base.py']\n" + text)
        wd = root / f"wd{i}"
        procs.append((subprocess.Popen([*command, "fit", "--config", str(config), "--work_dir", str(wd), *args],
                                       cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       text=True), wd))
    out = []
    for proc, wd in procs:
        _, err = proc.communicate(timeout=300)
        out.append((proc.returncode, err, wd))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(CLI_CASES)), ids=[c[2] for c in CLI_CASES])
def test_cli_exit_2_without_traceback(index: int, cli_runs: list[tuple[int, str, Path]]) -> None:
    code, err, wd = cli_runs[index]
    path = CLI_CASES[index][2]
    assert code == 2, err
    assert "Traceback" not in err, err
    assert err.count("lightning-runtime: config error") == 1, err
    message = err.split("lightning-runtime: config error\n", 1)[1]
    assert path in message.splitlines()[0], message
    assert "\n  fix: " in message, message
    assert not wd.exists()


# ------------------------------------------------------------------ every ConfigError has a fix
def _config_error_calls_without_fix() -> list[str]:
    missing = []
    for file in sorted(SRC.rglob("*.py")):
        tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
            if name != "ConfigError":
                continue
            keywords = {kw.arg for kw in node.keywords}
            if "fix" in keywords or None in keywords:  # fix=..., or **kwargs passed through
                continue
            missing.append(f"{file.relative_to(SRC)}:{node.lineno}")
    return missing


def test_every_config_error_in_src_has_a_fix() -> None:
    missing = _config_error_calls_without_fix()
    assert not missing, "ConfigError(...) without fix=: " + ", ".join(missing)


def test_mmseg_scope_base_loads_through_runtime(tmp_path: Path) -> None:
    """``mmseg::`` bases add ``_scope_`` to every typed dict, as MMEngine does; every section accepts it."""
    import importlib.util

    assert importlib.util.find_spec("mmseg") is not None, "make setup installs mmsegmentation==1.2.2 (configs only)"
    cfg_file = tmp_path / "cfg.py"
    cfg_file.write_text("_base_ = ['mmseg::_base_/schedules/schedule_20k.py', 'mmseg::_base_/default_runtime.py']\n"
                        f"work_dir = {str(tmp_path / 'wd')!r}\n")
    cfg = load_config(cfg_file)
    assert cfg.train_cfg._scope_ == "mmseg" and cfg.optim_wrapper._scope_ == "mmseg"
    rt = Runtime(cfg)
    assert rt.train_loop.max_iters == 20000 and rt.train_loop.val_interval == 2000
    opt = rt.configure_optimizers(Boring())["optimizer"]
    assert type(opt).__name__ == "SGD" and opt.param_groups[0]["lr"] == 0.01


def test_explain_of_a_huge_run_stops_its_dry_run() -> None:
    """``max_iters=10**30`` is a valid int; ``explain`` shows the first MAX_DRY_RUN iterations and says so."""
    from lightning_runtime.explain import MAX_DRY_RUN, explain

    rt = Runtime(dict(train_cfg=dict(type="IterBasedTrainLoop", max_iters=10**30), optim_wrapper=OPT,
                      param_scheduler=[dict(type="LinearLR", start_factor=0.5, by_epoch=False, end=10)]))
    text = explain(rt)
    assert f"over the first {MAX_DRY_RUN:,} of {10**30:,} iterations" in text
    assert "boundary at iter 10: param_scheduler[0].end" in text
