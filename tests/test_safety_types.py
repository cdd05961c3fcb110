"""Issue 13, "code through ``type=``": every slot refuses a dangerous callable before calling it.

Each case gives a slot something that would write a file, run a command or exit if it were
called (``torch.save``, ``os.system``, ``subprocess.run``, ``logging.basicConfig``, ``sys.exit``,
``builtins.dict``/``eval``) and asserts a ConfigError naming the slot's config path, with the
victim file unchanged and no sentinel created; through the Python API and through the CLI
(exit 2, no traceback).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn as nn

from lightning_runtime import Runtime
from lightning_runtime.errors import ConfigError
from lightning_runtime.optim import build_optimizer
from lightning_runtime.registry import (
    HOOKS,
    METRICS,
    OPTIM_WRAPPER_CONSTRUCTORS,
    OPTIM_WRAPPERS,
    OPTIMIZERS,
    PARAM_SCHEDULERS,
    VISBACKENDS,
    Registry,
    import_modules,
)
from lightning_runtime.schedulers import build_scheduler

ASSETS = Path(__file__).parent / "cli_assets"
CLI = Path(sys.executable).parent / "lightning-runtime"
PRECIOUS = b"precious data\n"
SGD = dict(type="SGD", lr=0.1)


class Trap:
    """A victim file and a sentinel path; ``untouched()`` checks neither changed."""

    def __init__(self, tmp_path: Path) -> None:
        self.victim = tmp_path / "victim.txt"
        self.victim.write_bytes(PRECIOUS)
        self.sentinel = tmp_path / "SENTINEL"
        self.handlers = list(logging.getLogger().handlers)

    def untouched(self) -> bool:
        return (self.victim.read_bytes() == PRECIOUS and not self.sentinel.exists()
                and logging.getLogger().handlers == self.handlers)

    def danger(self, name: str) -> dict[str, Any]:
        """``dict(type=name, **arguments that would do harm if it were called)``."""
        return {
            "torch.save": dict(type="torch.save", obj=1, f=str(self.victim)),
            "os.system": dict(type="os.system", command=f"touch {self.sentinel}"),
            "subprocess.run": dict(type="subprocess.run", args=f"touch {self.sentinel}", shell=True),
            "logging.basicConfig": dict(type="logging.basicConfig", filename=str(self.victim), filemode="w", force=True),
            "sys.exit": dict(type="sys.exit", status=3),
            "builtins.dict": dict(type="builtins.dict", x=1),
            "builtins.eval": dict(type="builtins.eval", source=f"open({str(self.victim)!r}, 'w')"),
        }[name]


DANGERS = ["torch.save", "os.system", "subprocess.run", "logging.basicConfig", "sys.exit", "builtins.dict",
           "builtins.eval"]


@pytest.fixture()
def trap(tmp_path: Path) -> Trap:
    return Trap(tmp_path)


def _refused(trap: Trap, fn: Any, path: str, *parts: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        fn()
    err = info.value
    assert err.path == path, str(err)
    text = str(err)
    assert "nothing was called" in text or "fix:" in text
    for part in parts:
        assert part in text, text
    assert trap.untouched()
    return err


def _cfg(tmp_path: Path, **cfg: Any) -> dict[str, Any]:
    base: dict[str, Any] = dict(
        work_dir=str(tmp_path / "wd"),
        train_cfg=dict(by_epoch=False, max_iters=4, val_interval=100),
        optim_wrapper=dict(optimizer=dict(SGD)),
        default_hooks=dict(checkpoint=None, logger=None),
    )
    base.update(cfg)
    return base


# ---------------------------------------------------------------------------------- registries
REGISTRIES = [OPTIMIZERS, OPTIM_WRAPPERS, OPTIM_WRAPPER_CONSTRUCTORS, PARAM_SCHEDULERS, HOOKS, METRICS, VISBACKENDS]


@pytest.mark.parametrize("danger", DANGERS)
@pytest.mark.parametrize("registry", REGISTRIES, ids=lambda r: r.name)
def test_registry_build_refuses_dangerous_callables(trap: Trap, registry: Registry, danger: str) -> None:
    err = _refused(trap, lambda: registry.build(trap.danger(danger), path="slot"), "slot.type", repr(danger),
                   "nothing was called")
    assert err.expected == registry.kind.description
    assert danger not in registry  # get() counts it as nothing


def test_registry_accepts_classes_of_its_kind_and_registered_functions() -> None:
    assert OPTIMIZERS.resolve("torch.optim.SGD") is torch.optim.SGD
    assert OPTIMIZERS.resolve(torch.optim.AdamW) is torch.optim.AdamW
    assert HOOKS.resolve("lightning.pytorch.callbacks.LearningRateMonitor").__name__ == "LearningRateMonitor"
    assert METRICS.resolve("torchmetrics.classification.MulticlassAccuracy").__name__ == "MulticlassAccuracy"
    assert VISBACKENDS.resolve("lightning.pytorch.loggers.CSVLogger").__name__ == "CSVLogger"
    assert VISBACKENDS.resolve("lightning_runtime.runtime._loggers.LocalVisBackend").__name__ == "LocalVisBackend"
    assert OPTIM_WRAPPER_CONSTRUCTORS.resolve("mmseg.LearningRateDecayOptimizerConstructor").__name__ == \
        "LearningRateDecayOptimizerConstructor"

    class MMEngineShaped:  # MMEngine's constructor shape without our base class
        def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: dict | None = None) -> None:
            self.cfg = optim_wrapper_cfg

        def __call__(self, model: nn.Module) -> torch.optim.Optimizer:
            return torch.optim.SGD(model.parameters(), lr=0.1)

    assert OPTIM_WRAPPER_CONSTRUCTORS.resolve(MMEngineShaped) is MMEngineShaped
    reg = Registry("gadget")

    @reg.register_module()
    def make_gadget(size: int = 1) -> dict[str, int]:
        return {"size": size}

    assert reg.build(dict(type="make_gadget", size=3)) == {"size": 3}
    # the same function by dotted path is refused unless it is the registered object
    with pytest.raises(ConfigError, match="is the function"):
        reg.build(dict(type="os.path.join"))


def test_function_objects_and_wrong_classes_are_refused_as_objects(trap: Trap) -> None:
    _refused(trap, lambda: HOOKS.build(dict(type=os.system, command=f"touch {trap.sentinel}"), path="h"), "h.type",
             "function")
    _refused(trap, lambda: OPTIMIZERS.build(dict(type=dict), path="o"), "o.type", "builtins.dict",
             "torch.optim.Optimizer")


# ---------------------------------------------------------------------------------- Runtime(cfg)
def _runtime_slot(trap: Trap, slot: str, danger: str) -> tuple[dict[str, Any], str, str]:
    """``(cfg overrides, error path, what to call)`` putting ``danger`` into ``slot``."""
    d = trap.danger(danger)
    table: dict[str, tuple[dict[str, Any], str, str]] = {
        "optimizer": (dict(optim_wrapper=dict(optimizer=d)), "optim_wrapper.optimizer.type", "init"),
        "optim_wrapper.type": (dict(optim_wrapper=dict(type=danger, optimizer=dict(SGD))), "optim_wrapper.type", "init"),
        "constructor": (dict(optim_wrapper=dict(optimizer=dict(SGD), constructor=danger)),
                        "optim_wrapper.constructor", "init"),
        "param_scheduler": (dict(param_scheduler=[dict(d, by_epoch=False)]), "param_scheduler[0].type", "init"),
        "custom_hooks": (dict(custom_hooks=[d]), "custom_hooks[0].type", "callbacks"),
        "default_hooks": (dict(default_hooks=dict(checkpoint=None, logger=d)), "default_hooks.logger.type", "callbacks"),
        "vis_backends": (dict(visualizer=dict(vis_backends=[d])), "visualizer.vis_backends[0].type", "trainer_kwargs"),
    }
    return table[slot]


RUNTIME_CASES = [
    ("optimizer", "torch.save"), ("optimizer", "os.system"), ("optimizer", "builtins.eval"),
    ("optim_wrapper.type", "os.system"), ("optim_wrapper.type", "sys.exit"),
    ("constructor", "os.system"), ("constructor", "builtins.dict"), ("constructor", "torch.save"),
    ("param_scheduler", "subprocess.run"), ("param_scheduler", "torch.save"),
    ("custom_hooks", "os.system"), ("custom_hooks", "subprocess.run"), ("custom_hooks", "builtins.dict"),
    ("default_hooks", "sys.exit"),
    ("vis_backends", "logging.basicConfig"), ("vis_backends", "torch.save"),
]


@pytest.mark.parametrize(("slot", "danger"), RUNTIME_CASES)
def test_runtime_refuses_dangerous_types_in_every_slot(tmp_path: Path, trap: Trap, slot: str, danger: str) -> None:
    overrides, path, call = _runtime_slot(trap, slot, danger)
    cfg = _cfg(tmp_path, **overrides)

    def run() -> None:
        rt = Runtime(cfg)
        if call != "init":
            getattr(rt, call)()

    _refused(trap, run, path, repr(danger))


def test_val_evaluator_refuses_os_system(trap: Trap) -> None:
    from lightning_runtime.evaluation import build_evaluator

    for danger in ("os.system", "subprocess.run", "torch.save"):
        bad = trap.danger(danger)
        _refused(trap, lambda bad=bad: build_evaluator(bad, path="val_evaluator", num_classes=2),
                 "val_evaluator.type", "torchmetrics.Metric")
        _refused(trap, lambda bad=bad: build_evaluator([dict(type="IoUMetric"), bad], path="test_evaluator",
                                                       num_classes=2), "test_evaluator[1].type")


def test_lightning_model_checkpoint_as_a_hook_is_refused_up_front(tmp_path: Path) -> None:
    rt = Runtime(_cfg(tmp_path, custom_hooks=[dict(type="lightning.pytorch.callbacks.ModelCheckpoint",
                                                   every_n_train_steps=2)]))
    with pytest.raises(ConfigError) as info:
        rt.callbacks()
    assert info.value.path == "custom_hooks[0].type"
    assert "default_hooks.checkpoint" in str(info.value) and "enable_checkpointing=True" in str(info.value)


# ---------------------------------------------------------------------------------- optim / schedulers API
@pytest.mark.parametrize("danger", ["torch.save", "os.system", "builtins.dict"])
def test_build_optimizer_and_scheduler_refuse(trap: Trap, danger: str) -> None:
    model = nn.Linear(2, 2)
    _refused(trap, lambda: build_optimizer(model, dict(optimizer=trap.danger(danger))), "optim_wrapper.optimizer.type")
    _refused(trap, lambda: build_optimizer(model, dict(optimizer=dict(SGD), constructor=danger)),
             "optim_wrapper.constructor", "optimizer constructor")
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    _refused(trap, lambda: build_scheduler(opt, [dict(trap.danger(danger), by_epoch=False)]), "param_scheduler[0].type")


LAYER_DECAY = dict(optimizer=dict(type="AdamW", lr=1e-3, weight_decay=0.05),
                   constructor="LearningRateDecayOptimizerConstructor")


@pytest.mark.parametrize("fn", ["os.system", "shutil.rmtree", "torch.save", "builtins.eval", "subprocess.run",
                                "logging.basicConfig", "os.remove", "lightning_runtime.checkpoint._io.write_last_checkpoint",
                                "torch.optim.SGD", "no_such_module_xyz.fn", 5])
def test_layer_id_fn_must_be_the_users_own_function(tmp_path: Path, trap: Trap, fn: Any) -> None:
    cfg = dict(LAYER_DECAY, paramwise_cfg=dict(num_layers=2, decay_rate=0.9, layer_id_fn=fn))
    cwd = os.getcwd()
    os.chdir(tmp_path)  # a layer id function called with a parameter name would act here
    try:
        _refused(trap, lambda: build_optimizer(nn.Linear(2, 2), cfg), "optim_wrapper.paramwise_cfg.layer_id_fn")
    finally:
        os.chdir(cwd)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["victim.txt"]


def test_layer_id_fn_from_a_users_module_still_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "my_layer_ids_mod.py").write_text("def ids(name, num_layers):\n    return 0 if 'weight' in name else 3\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = dict(LAYER_DECAY, paramwise_cfg=dict(num_layers=2, decay_rate=0.5, layer_id_fn="my_layer_ids_mod.ids"))
    opt = build_optimizer(nn.Linear(2, 2), cfg)
    lrs = {n: g["lr"] for g in opt.param_groups for n in g["param_names"]}
    assert lrs["weight"] == pytest.approx(1e-3 * 0.5**3) and lrs["bias"] == pytest.approx(1e-3)
    sys.modules.pop("my_layer_ids_mod", None)


# ---------------------------------------------------------------------------------- custom_imports
@pytest.mark.parametrize(
    ("custom_imports", "path"),
    [
        (dict(imports=True), "custom_imports.imports"),
        (dict(imports=5), "custom_imports.imports"),
        (dict(imports=[".hooks"]), "custom_imports.imports[0]"),
        (dict(imports=[""]), "custom_imports.imports[0]"),
        (dict(imports=[".."]), "custom_imports.imports[0]"),
        (dict(imports=["os", 3]), "custom_imports.imports[1]"),
        (dict(imports=["a..b"]), "custom_imports.imports[0]"),
        (dict(imports=["/tmp/x.py"]), "custom_imports.imports[0]"),
        (dict(imports=["os"], allow_failed_imports="yes"), "custom_imports.allow_failed_imports"),
    ],
)
def test_custom_imports_bad_inputs_are_config_errors(tmp_path: Path, custom_imports: dict, path: str) -> None:
    with pytest.raises(ConfigError) as info:
        import_modules(custom_imports.get("imports"), custom_imports.get("allow_failed_imports", False))
    assert info.value.path == path and info.value.fix
    with pytest.raises(ConfigError) as info:
        Runtime(_cfg(tmp_path, custom_imports=custom_imports))
    assert info.value.path == path
    assert not (tmp_path / "wd").exists()


def test_custom_imports_module_failing_on_import_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "broken_mod_xyz.py").write_text("raise RuntimeError('boom')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError, match="RuntimeError: boom"):
        import_modules(["broken_mod_xyz"])
    with pytest.warns(UserWarning, match="boom"):
        assert import_modules(["broken_mod_xyz"], allow_failed_imports=True) == [None]


# ---------------------------------------------------------------------------------- CLI sections (in process)
@pytest.mark.parametrize(
    ("cfg", "path", "part"),
    [
        (dict(model=dict(class_path="os.system", init_args=dict(command="touch S"))), "model.class_path", "LightningModule"),
        (dict(data=dict(class_path="builtins.dict")), "data.class_path", "LightningDataModule"),
        (dict(model=dict(class_path="tiny_mod.TinyData")), "model.class_path", "LightningModule"),
        (dict(trainer=dict(plugins=["os.system"])), "trainer.plugins[0]", "plugins"),
        (dict(trainer=dict(plugins=[dict(class_path="os.system")])), "trainer.plugins[0].class_path", "plugin"),
        (dict(trainer=dict(callbacks=[dict(class_path="subprocess.run", init_args=dict(args="x"))])),
         "trainer.callbacks[0].class_path", "Callback"),
        (dict(trainer=dict(callbacks=["os.system"])), "trainer.callbacks[0]", "callbacks"),
        (dict(trainer=dict(logger=dict(class_path="logging.basicConfig"))), "trainer.logger.class_path", "Logger"),
        (dict(trainer=dict(logger="os.system")), "trainer.logger", "logger"),
        (dict(trainer=dict(strategy="os.system")), "trainer.strategy", "strategy"),
        (dict(trainer=dict(strategy=dict(class_path="torch.save"))), "trainer.strategy.class_path", "Strategy"),
        (dict(trainer=dict(profiler="os.system")), "trainer.profiler", "simple"),
        (dict(trainer=dict(callbacks=[dict(class_path="lightning.pytorch.callbacks.ModelCheckpoint")])),
         "trainer.callbacks[0].class_path", "enable_checkpointing"),
        (dict(trainer=dict(callbacks=[dict(class_path="lightning.pytorch.callbacks.LearningRateMonitor",
                                           init_args=dict(logging_intervall="step"))])),
         "trainer.callbacks[0].init_args.logging_intervall", "logging_interval"),
    ],
)
def test_cli_sections_refuse_before_anything_is_built(cfg: dict, path: str, part: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from lightning_runtime.cli._main import split_lightning_sections

    monkeypatch.syspath_prepend(str(ASSETS))
    with pytest.raises(ConfigError) as info:
        split_lightning_sections(cfg)
    assert info.value.path == path, str(info.value)
    assert part in str(info.value)


def test_cli_trainer_class_specs_are_built_as_in_lightning_cli() -> None:
    from lightning.pytorch.callbacks import LearningRateMonitor

    from lightning_runtime.cli._main import _build_trainer_objects, split_lightning_sections

    _, trainer = split_lightning_sections(dict(trainer=dict(
        callbacks=[dict(class_path="lightning.pytorch.callbacks.LearningRateMonitor", init_args=dict(logging_interval="step"))],
        strategy="auto", logger=False, max_steps=3)))
    built = _build_trainer_objects(trainer)
    assert isinstance(built["callbacks"][0], LearningRateMonitor) and built["callbacks"][0].logging_interval == "step"
    assert built["strategy"] == "auto" and built["logger"] is False and built["max_steps"] == 3


def test_demo_class_path_and_arch_refuse_functions(trap: Trap) -> None:
    from lightning_runtime.demo.__main__ import instantiate
    from lightning_runtime.demo.module import SegModule

    _refused(trap, lambda: instantiate(dict(class_path="os.system", init_args=dict(command=f"touch {trap.sentinel}")),
                                       "model"), "model.class_path", "LightningModule")
    _refused(trap, lambda: SegModule(arch="os.system", arch_args=dict(command=f"touch {trap.sentinel}")),
             "model.init_args.arch", "not a Python function")
    _refused(trap, lambda: SegModule(arch="torch.save", arch_args=dict(obj=1, f=str(trap.victim))),
             "model.init_args.arch", "installed package")


# ---------------------------------------------------------------------------------- CLI subprocesses
CLI_CASES = [
    # (subcommand, config text after the base, error path, extra args)
    ("explain", "optim_wrapper = dict(optimizer=dict(type='torch.save', obj=1, f=VICTIM))",
     "optim_wrapper.optimizer.type", []),
    ("fit", "visualizer = dict(vis_backends=[dict(type='logging.basicConfig', filename=VICTIM, filemode='w', "
     "force=True)])", "visualizer.vis_backends[0].type", []),
    ("fit", "custom_hooks = [dict(type='subprocess.run', args='touch ' + SENTINEL, shell=True)]",
     "custom_hooks[0].type", []),
    ("explain", "model = dict(_delete_=True, class_path='lightning_runtime.demo.module.SegModule', init_args=dict("
     "arch='tiny_vit', num_classes=2, arch_args=dict(img_size=8, patch_size=4, embed_dims=8, depth=1, num_heads=1, "
     "head_channels=8), val_evaluator=dict(type='os.system', command='touch ' + SENTINEL)))",
     "model.init_args.val_evaluator.type", []),
    ("fit", "optim_wrapper = dict(_delete_=True, optimizer=dict(type='SGD', lr=0.1), constructor='os.system')",
     "optim_wrapper.constructor", []),
    ("explain", "optim_wrapper = dict(type='sys.exit')", "optim_wrapper.type", []),
    ("fit", "x = 1", "trainer.plugins[0]", ["--trainer.plugins=['os.system']"]),
    ("fit", "model = dict(_delete_=True, class_path='os.system', init_args=dict(command='touch ' + SENTINEL))",
     "model.class_path", []),
]


@pytest.mark.slow
@pytest.mark.parametrize(("sub", "text", "path", "extra"), CLI_CASES, ids=[c[2] for c in CLI_CASES])
def test_cli_refuses_with_exit_2_and_no_traceback(tmp_path: Path, trap: Trap, sub: str, text: str, path: str,
                                                   extra: list[str]) -> None:
    cfg = tmp_path / "bad.py"
    cfg.write_text(textwrap.dedent(f"""\
        _base_ = [{str(ASSETS / 'base.py')!r}]
        VICTIM = {str(trap.victim)!r}
        SENTINEL = {str(trap.sentinel)!r}
        work_dir = {str(tmp_path / 'wd')!r}
        """) + text + "\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ASSETS), os.environ.get("PYTHONPATH", "")]),
               PYTHONWARNINGS="ignore")
    proc = subprocess.run([str(CLI), sub, "--config", str(cfg), *extra], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"{path}:" in proc.stderr, proc.stderr
    assert "fix:" in proc.stderr
    assert trap.victim.read_bytes() == PRECIOUS and not trap.sentinel.exists()
    assert not (tmp_path / "wd").exists()
