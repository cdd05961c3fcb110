"""MMEngine's optimizer-builder tests, translated to this package's API.

Source: open-mmlab/mmengine, ``tests/test_optim/test_optimizer/test_optimizer.py`` at tag v0.10.7
(commit 390ba2fb). Every expected value (lr, momentum and weight decay of each parameter) is
MMEngine's, unchanged. Translated: ``build_optim_wrapper(model, cfg)`` is ``build_optimizer(model,
cfg)`` and a constructor returns the torch optimizer itself (``optim_wrapper.optimizer`` there);
``build_from_cfg(cfg, OPTIMIZERS)`` is ``OPTIMIZERS.build(cfg)``; MMEngine's ``KeyError`` /
``TypeError`` / ``ValueError`` / ``AssertionError`` for a bad config is ``ConfigError`` (a
``ValueError`` naming the config path); its logged warning for ``bypass_duplicate`` is a
``UserWarning`` with the same text.

Not translated as written, and why (docs/optim.md):

* **One param group per parameter.** MMEngine gives every parameter its own group once
  ``paramwise_cfg`` is set and checks ``param_groups[i]`` against the i-th parameter. This package
  merges parameters with equal hyperparameters into one named group (on purpose: fewer groups,
  faster steps). The values are checked per parameter instead (the group holding it), and the
  group-count assertions are a strict xfail (``test_one_group_per_parameter``).
* ``DefaultScope.overwrite_default_scope`` with a child registry: there is one registry per kind
  here; the custom optimizer is registered in ``OPTIMIZERS`` (restored after the test).
* ``test_default_optimizer_constructor_bypass_duplicate`` expects a logged warning after freezing
  the shared conv: in MMEngine it is the one for the frozen parameter (``... is skipped since its
  requires_grad=False``). Frozen parameters are left out without a warning here: a strict xfail.
* ``dcn`` parameters need mmcv-full with CUDA (MMEngine skips them too without it).
* ``TestZeroOptimizer`` (``ZeroRedundancyOptimizer`` over gloo processes): not registered here;
  sharding is Lightning's strategies' job (``strategy='fsdp'`` / DeepSpeed), so there is nothing
  of this package to test.
* The ``dadaptation`` / ``lion_pytorch`` / ``bitsandbytes`` / ``transformers`` tests are skipped
  when the package is absent, as in MMEngine; a stand-in package (a real ``torch.optim.Optimizer``
  subclass in a module on ``sys.path``) checks the lazy registration without them.
"""

from __future__ import annotations

import importlib.util
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn as nn

from lightning_runtime.errors import ConfigError
from lightning_runtime.optim import TORCH_OPTIMIZERS, DefaultOptimWrapperConstructor, build_optimizer
from lightning_runtime.optim._third_party import DADAPTATION_OPTIMIZERS, LION_OPTIMIZERS, TRANSFORMERS_OPTIMIZERS
from lightning_runtime.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIMIZERS

BASE_LR = 0.01
MOMENTUM = 0.0001
BASE_WD = 0.9
PARAMWISE = dict(bias_lr_mult=2, bias_decay_mult=0.5, norm_decay_mult=0, dwconv_decay_mult=0.1,
                 dcn_offset_lr_mult=0.1, flat_decay_mult=0.3)
PARAM_NAMES = ["param1", "conv1.weight", "conv2.weight", "conv2.bias", "bn.weight", "bn.bias", "sub.param1",
               "sub.conv1.weight", "sub.conv1.bias", "sub.gn.weight", "sub.gn.bias"]


def _installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


class SubModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(2, 2, kernel_size=1, groups=2)
        self.gn = nn.GroupNorm(2, 2)
        self.param1 = nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class ExampleModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.param1 = nn.Parameter(torch.ones(1))
        self.conv1 = nn.Conv2d(3, 4, kernel_size=1, bias=False)
        self.conv2 = nn.Conv2d(4, 2, kernel_size=1)
        self.bn = nn.BatchNorm2d(2)
        self.sub = SubModel()


class ExampleDuplicateModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.param1 = nn.Parameter(torch.ones(1))
        self.conv1 = nn.Sequential(nn.Conv2d(3, 4, kernel_size=1, bias=False))
        self.conv2 = nn.Sequential(nn.Conv2d(4, 2, kernel_size=1))
        self.bn = nn.BatchNorm2d(2)
        self.sub = SubModel()
        self.conv3 = nn.Sequential(nn.Conv2d(3, 4, kernel_size=1, bias=False))
        self.conv3[0] = self.conv1[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class PseudoDataParallel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.module = ExampleModel()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def _sgd_cfg(**optimizer: Any) -> dict[str, Any]:
    return dict(type="OptimWrapper", optimizer=dict(type="SGD", lr=BASE_LR, weight_decay=BASE_WD, momentum=MOMENTUM,
                                                    **optimizer))


def _group_of(optimizer: torch.optim.Optimizer, param: torch.Tensor) -> dict[str, Any]:
    """The param group holding ``param`` (exactly one)."""
    groups = [g for g in optimizer.param_groups if any(p is param for p in g["params"])]
    assert len(groups) == 1, f"a parameter is in {len(groups)} groups"
    return groups[0]


def _check_default_optimizer(optimizer: torch.optim.Optimizer, model: nn.Module, prefix: str = "") -> None:
    assert isinstance(optimizer, torch.optim.SGD)
    assert optimizer.defaults["lr"] == BASE_LR
    assert optimizer.defaults["momentum"] == MOMENTUM
    assert optimizer.defaults["weight_decay"] == BASE_WD
    params = optimizer.param_groups[0]["params"]
    param_dict = dict(model.named_parameters())
    assert len(params) == len(PARAM_NAMES)
    for i, name in enumerate(PARAM_NAMES):
        assert torch.equal(params[i], param_dict[prefix + name])


def _check_sgd_optimizer(optimizer: torch.optim.Optimizer, model: nn.Module, prefix: str = "", bias_lr_mult: float = 1,
                         bias_decay_mult: float = 1, norm_decay_mult: float = 1, dwconv_decay_mult: float = 1,
                         dcn_offset_lr_mult: float = 1, flat_decay_mult: float = 1,
                         bypass_duplicate: bool = False) -> None:
    """MMEngine's ``_check_sgd_optimizer``, reading each parameter's group instead of ``param_groups[i]``."""
    assert isinstance(optimizer, torch.optim.SGD)
    assert optimizer.defaults["lr"] == BASE_LR
    assert optimizer.defaults["momentum"] == MOMENTUM
    assert optimizer.defaults["weight_decay"] == BASE_WD
    model_parameters = list(model.parameters())
    assert sum(len(g["params"]) for g in optimizer.param_groups) == len(model_parameters)
    # (lr, weight decay) of model_parameters[i], in MMEngine's order (param_groups[i] there)
    expected = [
        ("param1", BASE_LR, BASE_WD * flat_decay_mult),
        ("conv1.weight", BASE_LR, BASE_WD),
        ("conv2.weight", BASE_LR, BASE_WD),
        ("conv2.bias", BASE_LR * bias_lr_mult, BASE_WD * bias_decay_mult),
        ("bn.weight", BASE_LR, BASE_WD * norm_decay_mult),
        ("bn.bias", BASE_LR, BASE_WD * norm_decay_mult),
        ("sub.param1", BASE_LR, BASE_WD * flat_decay_mult),
        ("sub.conv1.weight", BASE_LR, BASE_WD * dwconv_decay_mult),
        ("sub.conv1.bias", BASE_LR * bias_lr_mult, BASE_WD * bias_decay_mult),
        ("sub.gn.weight", BASE_LR, BASE_WD * norm_decay_mult),
        ("sub.gn.bias", BASE_LR, BASE_WD * norm_decay_mult),
    ]
    for param, (name, lr, wd) in zip(model_parameters, expected):
        group = _group_of(optimizer, param)
        assert group["momentum"] == MOMENTUM, name
        assert group["lr"] == lr, name
        assert group["weight_decay"] == wd, name


@pytest.fixture
def model() -> ExampleModel:
    return ExampleModel()


def test_torch_optimizers() -> None:
    torch_optimizers = ["ASGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "LBFGS", "Optimizer", "RMSprop",
                        "Rprop", "SGD", "SparseAdam"]
    assert set(torch_optimizers).issubset(set(TORCH_OPTIMIZERS))
    for name in torch_optimizers:
        assert OPTIMIZERS.get(name) is getattr(torch.optim, name)


@pytest.mark.skipif(not _installed("dadaptation"), reason="dadaptation is not installed")
def test_dadaptation_optimizers() -> None:
    import dadaptation

    for name in ["DAdaptAdaGrad", "DAdaptAdam", "DAdaptSGD"]:
        assert OPTIMIZERS.get(name) is getattr(dadaptation, name)


@pytest.mark.skipif(not _installed("lion_pytorch"), reason="lion-pytorch is not installed")
def test_lion_optimizers() -> None:
    from lion_pytorch import Lion

    assert OPTIMIZERS.get("Lion") is Lion


@pytest.mark.skipif(not _installed("bitsandbytes"), reason="bitsandbytes is not installed")
def test_bitsandbytes_optimizers() -> None:
    for name in ["AdamW8bit", "Adam8bit", "Adagrad8bit", "PagedAdam8bit", "PagedAdamW8bit", "LAMB8bit", "LARS8bit",
                 "RMSprop8bit", "Lion8bit", "PagedLion8bit", "SGD8bit"]:
        assert name in OPTIMIZERS


@pytest.mark.skipif(not _installed("transformers"), reason="transformers is not installed")
def test_transformers_optimizers() -> None:
    from transformers import Adafactor

    assert OPTIMIZERS.get("Adafactor") is Adafactor


def test_build_optimizer(model: ExampleModel) -> None:
    _check_default_optimizer(build_optimizer(model, _sgd_cfg()), model)
    cfg: dict[str, Any] = {k: v for k, v in _sgd_cfg().items() if k != "type"}
    _check_default_optimizer(build_optimizer(model, cfg), model)
    with pytest.raises(ConfigError, match="INVALID_CONSTRUCTOR"):
        cfg["constructor"] = "INVALID_CONSTRUCTOR"
        build_optimizer(model, cfg)
    # MMEngine's test leaves constructor='INVALID_CONSTRUCTOR' in the dict here, so its KeyError comes
    # from the constructor again (MMEngine ignores unknown paramwise_cfg keys); with the default
    # constructor, the unknown key itself is the error here.
    with pytest.raises(ConfigError, match="invalid_mult"):
        cfg["constructor"] = "DefaultOptimWrapperConstructor"
        cfg["paramwise_cfg"] = dict(invalid_mult=1)
        build_optimizer(model, cfg)
    for key in ("optimizer", "constructor", "paramwise_cfg"):
        cfg.pop(key)
    with pytest.raises(ConfigError, match="optimizer"):
        build_optimizer(model, cfg)


def test_build_default_optimizer_constructor(model: ExampleModel) -> None:
    ctor = OPTIM_WRAPPER_CONSTRUCTORS.build(dict(type="DefaultOptimWrapperConstructor", optim_wrapper_cfg=_sgd_cfg(),
                                                 paramwise_cfg=PARAMWISE))
    _check_sgd_optimizer(ctor(model), model, **PARAMWISE)


def _my_optimizer_constructor() -> type[DefaultOptimWrapperConstructor]:
    class MyOptimizerConstructor(DefaultOptimWrapperConstructor):
        def __call__(self, model: nn.Module) -> torch.optim.Optimizer:  # type: ignore[override]
            if hasattr(model, "module"):
                model = model.module  # type: ignore[assignment]
            conv1_lr_mult = self.paramwise_cfg.get("conv1_lr_mult", 1.0)
            params = []
            for name, param in model.named_parameters():
                param_group: dict[str, Any] = {"params": [param]}
                if name.startswith("conv1") and param.requires_grad:
                    param_group["lr"] = self.base_lr * conv1_lr_mult
                params.append(param_group)
            self.optimizer_cfg["params"] = params
            return OPTIMIZERS.build(self.optimizer_cfg)

    return MyOptimizerConstructor


def _check_custom_optimizer(optimizer: torch.optim.Optimizer, model: nn.Module, conv1_lr_mult: float) -> None:
    param_groups = optimizer.param_groups
    assert isinstance(optimizer, torch.optim.SGD)
    assert optimizer.defaults["lr"] == BASE_LR
    assert optimizer.defaults["momentum"] == MOMENTUM
    assert optimizer.defaults["weight_decay"] == BASE_WD
    for i, param in enumerate(model.parameters()):
        assert torch.equal(param_groups[i]["params"][0], param)
        assert param_groups[i]["momentum"] == MOMENTUM
    assert param_groups[1]["lr"] == BASE_LR * conv1_lr_mult
    assert param_groups[1]["weight_decay"] == BASE_WD


def test_build_custom_optimizer_constructor(model: ExampleModel, isolated_registries: list) -> None:
    cls = OPTIM_WRAPPER_CONSTRUCTORS.register_module()(_my_optimizer_constructor())
    paramwise_cfg = dict(conv1_lr_mult=5)
    ctor = OPTIM_WRAPPER_CONSTRUCTORS.build(dict(type="MyOptimizerConstructor", optim_wrapper_cfg=_sgd_cfg(),
                                                 paramwise_cfg=paramwise_cfg))
    assert isinstance(ctor, cls)
    _check_custom_optimizer(ctor(model), model, paramwise_cfg["conv1_lr_mult"])


def test_build_custom_optimizer_constructor_from_config(model: ExampleModel, isolated_registries: list) -> None:
    """The same constructor named in an ``optim_wrapper`` config: its own key is not an 'unknown key'."""
    OPTIM_WRAPPER_CONSTRUCTORS.register_module()(_my_optimizer_constructor())
    cfg = dict(_sgd_cfg(), constructor="MyOptimizerConstructor", paramwise_cfg=dict(conv1_lr_mult=5))
    _check_custom_optimizer(build_optimizer(model, cfg), model, 5)


def test_builtin_constructors_still_catch_typos(model: ExampleModel) -> None:
    with pytest.raises(ConfigError, match="conv1_lr_mult"):
        build_optimizer(model, dict(_sgd_cfg(), paramwise_cfg=dict(conv1_lr_mult=5)))
    with pytest.raises(ConfigError, match="decay_rat"):
        build_optimizer(model, dict(_sgd_cfg(), constructor="LearningRateDecayOptimizerConstructor",
                                    paramwise_cfg=dict(num_layers=2, decay_rat=0.9)))


def test_default_optimizer_constructor(model: ExampleModel, isolated_registries: list) -> None:
    with pytest.raises(ConfigError):
        DefaultOptimWrapperConstructor([])(model)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        DefaultOptimWrapperConstructor(dict(type="OptimWrapper", optimizer=dict(lr=0.0001, weight_decay=None)),
                                       ["error"])(model)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        DefaultOptimWrapperConstructor(dict(type="OptimWrapper", optimizer=dict(lr=0.0001, weight_decay=None)),
                                       dict(bias_decay_mult=1, norm_decay_mult=1))(model)
    _check_default_optimizer(DefaultOptimWrapperConstructor(_sgd_cfg())(model), model)

    class CustomOptimizer(torch.optim.SGD):
        def __init__(self, model_params: Any, *args: Any, **kwargs: Any) -> None:
            super().__init__(params=model_params, *args, **kwargs)  # noqa: B026 - MMEngine's test, as written

    OPTIMIZERS.register_module()(CustomOptimizer)
    optimizer = DefaultOptimWrapperConstructor(dict(optimizer=dict(type="CustomOptimizer", lr=0.1)))(model)
    assert type(optimizer) is CustomOptimizer
    assert optimizer.defaults["lr"] == 0.1


def test_default_optimizer_constructor_with_model_wrapper() -> None:
    model = PseudoDataParallel()
    _check_default_optimizer(DefaultOptimWrapperConstructor(_sgd_cfg())(model), model, prefix="module.")
    model = PseudoDataParallel()
    optimizer = DefaultOptimWrapperConstructor(_sgd_cfg(), PARAMWISE)(model)
    _check_sgd_optimizer(optimizer, model, prefix="module.", **PARAMWISE)
    # DataParallel (MMEngine runs these two only with CUDA; without it DataParallel just holds the module)
    model = torch.nn.DataParallel(ExampleModel())
    _check_default_optimizer(DefaultOptimWrapperConstructor(_sgd_cfg())(model), model, prefix="module.")
    model = torch.nn.DataParallel(ExampleModel())
    optimizer = DefaultOptimWrapperConstructor(_sgd_cfg(), PARAMWISE)(model)
    _check_sgd_optimizer(optimizer, model, prefix="module.", **PARAMWISE)


def test_default_optimizer_constructor_with_empty_paramwise_cfg(model: ExampleModel) -> None:
    _check_default_optimizer(DefaultOptimWrapperConstructor(_sgd_cfg(), dict())(model), model)
    frozen = ExampleModel()
    for param in frozen.parameters():
        param.requires_grad = False
    _check_default_optimizer(DefaultOptimWrapperConstructor(_sgd_cfg(), dict())(frozen), frozen)


def test_default_optimizer_constructor_with_paramwise_cfg(model: ExampleModel) -> None:
    _check_sgd_optimizer(DefaultOptimWrapperConstructor(_sgd_cfg(), PARAMWISE)(model), model, **PARAMWISE)


def test_default_optimizer_constructor_no_grad(model: ExampleModel) -> None:
    paramwise_cfg = dict(bias_lr_mult=2, bias_decay_mult=0.5, norm_decay_mult=0, dwconv_decay_mult=0.1,
                         dcn_offset_lr_mult=0.1)
    model.conv1.requires_grad_(False)
    optimizer = DefaultOptimWrapperConstructor(_sgd_cfg(), paramwise_cfg)(model)
    all_params = [id(p) for pg in optimizer.param_groups for p in pg["params"]]
    assert id(model.conv1.weight) not in all_params
    assert id(model.conv2.weight) in all_params


def test_default_optimizer_constructor_bypass_duplicate() -> None:
    model = ExampleDuplicateModel()
    with pytest.raises(ConfigError, match="more than one param group"):
        DefaultOptimWrapperConstructor(_sgd_cfg(), dict(bias_lr_mult=2, bias_decay_mult=0.5, norm_decay_mult=0,
                                                        dwconv_decay_mult=0.1))(model)
    paramwise_cfg = dict(PARAMWISE, bypass_duplicate=True)
    ctor = DefaultOptimWrapperConstructor(_sgd_cfg(), paramwise_cfg)
    with pytest.warns(UserWarning, match=r"conv3\.0 is duplicate"):
        ctor(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        optimizer = ctor(model)
    model_parameters = list(model.parameters())
    assert sum(len(g["params"]) for g in optimizer.param_groups) == len(model_parameters) == 11
    _check_sgd_optimizer(optimizer, model, **paramwise_cfg)
    # when the params in shared modules do not require grad
    model.conv1[0].requires_grad_(False)
    optimizer = ctor(model)
    assert sum(len(g["params"]) for g in optimizer.param_groups) == len(list(model.parameters())) - 1 == 10


@pytest.mark.xfail(strict=True, reason="a parameter with requires_grad=False is left out without a warning here "
                   "(MMEngine logs one per parameter when paramwise_cfg is set): docs/optim.md")
def test_default_optimizer_constructor_bypass_duplicate_frozen_is_logged() -> None:
    model = ExampleDuplicateModel()
    model.conv1[0].requires_grad_(False)
    with pytest.warns(UserWarning, match="requires_grad=False"):
        DefaultOptimWrapperConstructor(_sgd_cfg(), dict(PARAMWISE, bypass_duplicate=True))(model)


@pytest.mark.xfail(strict=True, reason="parameters with equal hyperparameters share one named param group here "
                   "(MMEngine: one group per parameter once paramwise_cfg is set): docs/optim.md")
def test_one_group_per_parameter(model: ExampleModel) -> None:
    optimizer = DefaultOptimWrapperConstructor(_sgd_cfg(), PARAMWISE)(model)
    assert len(optimizer.param_groups) == len(list(model.parameters()))


def _check_custom_keys(optimizer: torch.optim.Optimizer, model: nn.Module,
                       groups: list[tuple[list[str], dict[str, float]]]) -> None:
    assert sum(len(g["params"]) for g in optimizer.param_groups) == 11
    for name, param in model.named_parameters():
        group = _group_of(optimizer, param)
        for names, settings in groups:
            if name in names:
                for setting, value in settings.items():
                    assert group[setting] == value, f"{name} {setting}"


def test_default_optimizer_constructor_custom_key(model: ExampleModel) -> None:
    paramwise_cfg = dict(custom_keys={"param1": dict(lr_mult=10), "sub": dict(lr_mult=0.1, decay_mult=0),
                                      "sub.gn": dict(lr_mult=0.01), "non_exist_key": dict(lr_mult=0.0)},
                         norm_decay_mult=0.5)
    with pytest.raises(ConfigError):
        DefaultOptimWrapperConstructor(_sgd_cfg(), dict(custom_keys=[0.1, 0.0001]))(model)
    with pytest.raises(ConfigError):
        DefaultOptimWrapperConstructor(dict(type="OptimWrapper", optimizer=dict(type="SGD", lr=0.01)),
                                       dict(custom_keys={".backbone": dict(decay_mult=0.5)}))(model)
    with pytest.warns(UserWarning, match="non_exist_key"):
        optimizer = DefaultOptimWrapperConstructor(_sgd_cfg(), paramwise_cfg)(model)
    assert isinstance(optimizer, torch.optim.SGD)
    assert optimizer.defaults["lr"] == BASE_LR
    assert optimizer.defaults["momentum"] == MOMENTUM
    assert optimizer.defaults["weight_decay"] == BASE_WD
    _check_custom_keys(optimizer, model, [
        (["param1", "sub.param1"], {"lr": BASE_LR * 10, "momentum": MOMENTUM, "weight_decay": BASE_WD}),
        (["sub.gn.weight", "sub.gn.bias"], {"lr": BASE_LR * 0.01, "momentum": MOMENTUM, "weight_decay": BASE_WD}),
        (["sub.conv1.weight", "sub.conv1.bias"], {"lr": BASE_LR * 0.1, "momentum": MOMENTUM, "weight_decay": 0}),
        (["bn.weight", "bn.bias"], {"lr": BASE_LR, "momentum": MOMENTUM, "weight_decay": BASE_WD * 0.5}),
        (["conv1.weight", "conv2.weight", "conv2.bias"], {"lr": BASE_LR, "momentum": MOMENTUM, "weight_decay": BASE_WD}),
    ])
    # ExampleModel 2: no weight decay in the optimizer
    optimizer = DefaultOptimWrapperConstructor(
        dict(type="OptimWrapper", optimizer=dict(type="SGD", lr=BASE_LR, momentum=MOMENTUM)),
        dict(custom_keys={"param1": dict(lr_mult=10)}))(model)
    assert optimizer.defaults["lr"] == BASE_LR
    assert optimizer.defaults["momentum"] == MOMENTUM
    assert optimizer.defaults["weight_decay"] == 0
    _check_custom_keys(optimizer, model, [
        (["param1", "sub.param1"], {"lr": BASE_LR * 10, "momentum": MOMENTUM, "weight_decay": 0}),
        (["sub.conv1.weight", "sub.conv1.bias", "sub.gn.weight", "sub.gn.bias", "conv1.weight", "conv2.weight",
          "conv2.bias", "bn.weight", "bn.bias"], {"lr": BASE_LR, "momentum": MOMENTUM, "weight_decay": 0}),
    ])


# ---------------------------------------------------------------- lazily registered optional packages
_STAND_IN = '''
import torch


class {name}(torch.optim.SGD):
    """A real SGD under the optional package's optimizer name."""
'''


@pytest.fixture
def stand_in_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Importable stand-ins for dadaptation, lion_pytorch, transformers and bitsandbytes (real SGD subclasses)."""
    files = {
        "dadaptation/__init__.py": "".join(textwrap.dedent(_STAND_IN).format(name=n) for n in DADAPTATION_OPTIMIZERS),
        "lion_pytorch/__init__.py": textwrap.dedent(_STAND_IN).format(name="Lion"),
        "transformers/__init__.py": textwrap.dedent(_STAND_IN).format(name="Adafactor"),
        "bitsandbytes/__init__.py": "from bitsandbytes import optim\n",
        "bitsandbytes/optim.py": "".join(textwrap.dedent(_STAND_IN).format(name=n)
                                         for n in ("Adam", "Lion", "AdamW8bit", "PagedLion8bit")),
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("dadaptation", "lion_pytorch", "transformers", "bitsandbytes", "bitsandbytes.optim"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setattr(OPTIMIZERS, "_lazy", list(OPTIMIZERS._lazy))
    return tmp_path


@pytest.mark.skipif(any(_installed(p) for p in ("dadaptation", "lion_pytorch", "transformers", "bitsandbytes")),
                    reason="a real optional package is installed: the stand-ins would not be the ones found")
def test_optional_optimizers_registered_lazily_by_mmengine_names(
    model: ExampleModel, isolated_registries: list, stand_in_packages: Path
) -> None:  # registries saved before the stand-ins are importable: none of theirs is kept
    assert "dadaptation" not in sys.modules  # nothing imported before a config names one
    for name in (*DADAPTATION_OPTIMIZERS, *LION_OPTIMIZERS, *TRANSFORMERS_OPTIMIZERS):
        optimizer = build_optimizer(model, dict(optimizer=dict(type=name, lr=0.5)))
        assert type(optimizer).__name__ == name and type(optimizer).__module__ != "torch.optim.sgd"
        assert optimizer.param_groups[0]["lr"] == 0.5
    assert "bitsandbytes" not in sys.modules  # each package only when one of its names is used
    assert OPTIMIZERS.get("AdamW8bit").__module__ == "bitsandbytes.optim"
    # MMEngine's bnb_ prefix for names taken already: torch's Adam, lion_pytorch's Lion
    assert OPTIMIZERS.get("bnb_Adam").__module__ == "bitsandbytes.optim"
    assert OPTIMIZERS.get("bnb_Lion").__module__ == "bitsandbytes.optim"
    assert OPTIMIZERS.get("Lion").__module__ == "lion_pytorch"
    assert OPTIMIZERS.get("Adam") is torch.optim.Adam


def test_optional_optimizers_absent_cost_nothing() -> None:
    """Without the packages, their names are unknown types with the usual message, and nothing is imported."""
    if _installed("lion_pytorch"):
        pytest.skip("lion-pytorch is installed")
    with pytest.raises(ConfigError, match="unknown optimizer type 'Lion'"):
        build_optimizer(ExampleModel(), dict(optimizer=dict(type="Lion", lr=0.1)))
    assert "lion_pytorch" not in sys.modules
