"""ParamSchedulerStack without a Trainer: state and resume, clock, dry runs, errors and warnings."""

from __future__ import annotations

import copy
import warnings

import pytest
import torch

from lightning_runtime.errors import ConfigError
from lightning_runtime.schedulers import ParamSchedulerStack, build_scheduler

SEED = [
    dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=1000),
    dict(type="PolyLR", eta_min=1e-4, power=0.9, begin=1000, end=160000, by_epoch=False),
]


def layer_decay_optimizer(n_groups: int = 4, kind: str = "adamw") -> torch.optim.Optimizer:
    groups = [
        {"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 6e-4 * 0.65 ** (n_groups - 1 - i),
         "weight_decay": 0.05, "name": f"layer_{i}_decay"}
        for i in range(n_groups)
    ]
    if kind == "sgd":
        return torch.optim.SGD(groups, lr=0.01, momentum=0.9)
    return torch.optim.AdamW(groups, lr=6e-4, betas=(0.9, 0.999))


def lrs(opt: torch.optim.Optimizer) -> list[float]:
    return [g["lr"] for g in opt.param_groups]


def test_is_an_lr_scheduler_and_iteration_zero_is_applied_at_construction():
    opt = layer_decay_optimizer()
    stack = build_scheduler(opt, SEED)
    assert isinstance(stack, torch.optim.lr_scheduler.LRScheduler)
    assert stack.last_iter == 0
    assert lrs(opt) == pytest.approx([0.1 * g["initial_lr"] for g in opt.param_groups], rel=1e-12)
    assert stack.get_last_lr() == lrs(opt)
    for _ in range(1000):
        stack.step()
    assert lrs(opt) == pytest.approx([g["initial_lr"] for g in opt.param_groups], rel=1e-12)


def test_resume_is_exact():
    cfg = SEED + [dict(type="CosineAnnealingMomentum", eta_min=0.85, by_epoch=False, begin=0, end=5000)]
    opt_a = layer_decay_optimizer()
    full = build_scheduler(opt_a, cfg)
    ref = []
    for _ in range(3000):
        full.step()
        ref.append((lrs(opt_a), [g["betas"] for g in opt_a.param_groups]))

    opt_b = layer_decay_optimizer()
    first = build_scheduler(opt_b, cfg)
    for _ in range(1234):
        first.step()
    state = copy.deepcopy(first.state_dict())
    opt_state = copy.deepcopy(opt_b.state_dict())

    opt_c = layer_decay_optimizer()
    resumed = build_scheduler(opt_c, cfg)
    opt_c.load_state_dict(opt_state)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        resumed.load_state_dict(state)
    assert resumed.last_iter == 1234
    got = []
    for _ in range(3000 - 1234):
        resumed.step()
        got.append((lrs(opt_c), [g["betas"] for g in opt_c.param_groups]))
    assert got == ref[1234:]  # bit for bit


def test_resume_with_a_changed_config_follows_the_new_config_and_warns_once():
    opt = layer_decay_optimizer()
    old = build_scheduler(opt, SEED)
    old.advance_to(5000)
    state = old.state_dict()
    new_cfg = [dict(SEED[0]), dict(SEED[1], end=80000)]
    opt2 = layer_decay_optimizer()
    new = build_scheduler(opt2, new_cfg)
    with pytest.warns(UserWarning, match="differs from the one in the checkpoint") as rec:
        new.load_state_dict(state)
    assert len([w for w in rec if "differs" in str(w.message)]) == 1
    assert new.last_iter == 5000
    reference = build_scheduler(layer_decay_optimizer(), new_cfg)
    assert lrs(opt2) == reference.value_at(5000)["lr"]
    assert lrs(opt2) != old.value_at(5000)["lr"]
    new.step()
    assert lrs(opt2) == reference.value_at(5001)["lr"]


def test_clock_makes_step_idempotent():
    opt = layer_decay_optimizer()
    stack = build_scheduler(opt, SEED)
    clock = {"n": 0}
    stack.attach_clock(lambda: clock["n"])
    stack.step()
    stack.step()
    assert stack.last_iter == 0
    clock["n"] = 7
    stack.step()
    before = lrs(opt)
    stack.step()  # Lightning's extra step after the optimizer step
    assert stack.last_iter == 7 and lrs(opt) == before == stack.value_at(7)["lr"]
    stack.attach_clock(None)
    stack.step()
    assert stack.last_iter == 8


@pytest.mark.filterwarnings("ignore:param_scheduler")
def test_dry_run_curve_does_not_touch_the_optimizer():
    # (its speed is measured in benchmarks/bench_scheduler.py, not asserted here)
    opt = layer_decay_optimizer(30)
    stack = build_scheduler(opt, SEED)
    snapshot = copy.deepcopy(opt.param_groups[3])
    curve = stack.curve(160000)
    assert curve["lr"].shape == (160000, 30)
    assert {k: v for k, v in opt.param_groups[3].items() if k != "params"} == {
        k: v for k, v in snapshot.items() if k != "params"
    }
    assert stack.last_iter == 0
    for i in (0, 999, 1000, 4096, 50000, 159999):
        assert list(curve["lr"][i]) == stack.value_at(i)["lr"]
    stack.advance_to(50000)
    assert lrs(opt) == list(curve["lr"][50000])
    stack.advance_to(10)  # going back replays the config
    assert lrs(opt) == list(curve["lr"][10])


def test_adam_betas_second_coefficient_is_kept():
    opt = layer_decay_optimizer(2)
    stack = build_scheduler(opt, [dict(type="LinearMomentum", start_factor=0.5, by_epoch=False, end=10)])
    assert [g["betas"] for g in opt.param_groups] == [(0.45, 0.999)] * 2
    stack.advance_to(9)
    assert opt.param_groups[0]["betas"] == pytest.approx((0.9, 0.999))


# ---------------------------------------------------------------- errors: path-aware, before training
def _error(cfg, match, path=None, **kw):
    with pytest.raises(ConfigError, match=match) as info:
        build_scheduler(layer_decay_optimizer(2, kw.pop("kind", "adamw")), cfg, **kw)
    if path is not None:
        assert info.value.path == path
    return info.value


def test_unknown_type_suggests_names():
    err = _error([SEED[0], dict(type="PolyLr", by_epoch=False)], "unknown param_scheduler type", "param_scheduler[1].type")
    assert "PolyLR" in err.candidates


def test_bad_argument_and_bad_window():
    err = _error([SEED[0], dict(type="PolyLR", ends=10, by_epoch=False)], "no argument 'ends'", "param_scheduler[1].ends")
    assert "end" in err.candidates
    _error([SEED[0], dict(type="PolyLR", begin=1000, end=1000, by_epoch=False)], "larger than begin",
           "param_scheduler[1].end")
    _error(dict(type="LinearLR", start_factor=1.5, by_epoch=False), "start_factor", "param_scheduler.start_factor")
    _error([dict(type="StepLR", step_size=0, by_epoch=False)], ">= 1", "param_scheduler[0].step_size")
    _error([dict(type="CosineRestartLR", periods=[5, 5], restart_weights=[1], eta_min=0, by_epoch=False)],
           "one restart weight per period|has 1 entries", "param_scheduler[0].restart_weights")
    _error([dict(type="CosineAnnealingLR", eta_min=0, eta_min_ratio=0.1, by_epoch=False)], "exactly one",
           "param_scheduler[0].eta_min")
    _error([dict(type="OneCycleLR", eta_max=0.1, total_steps=10, by_epoch=False, end=100)], "total_steps",
           "param_scheduler[0].total_steps")


def test_epoch_based_entries_need_the_epoch_length():
    _error([dict(type="MultiStepLR", milestones=[8, 11], end=12)], "epoch length", "param_scheduler[0].by_epoch")
    _error([dict(type="LinearLR", end=2, convert_to_iter_based=True)], "epoch length",
           "param_scheduler[0].convert_to_iter_based")
    _error([dict(type="LinearLR", end=2, by_epoch=False, convert_to_iter_based=True)], "by_epoch=False",
           "param_scheduler[0].convert_to_iter_based", epoch_length=10)


def test_param_names_checked_against_the_optimizer():
    err = _error([dict(type="PolyParamScheduler", param_name="weight_decy", by_epoch=False, end=10)],
                 "no 'weight_decy'", "param_scheduler[0].param_name")
    assert "weight_decay" in err.candidates
    opt = torch.optim.Adagrad([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ConfigError, match="momentum or betas") as info:
        build_scheduler(opt, [dict(type="PolyMomentum", by_epoch=False, end=10)])
    assert info.value.path == "param_scheduler[0].type"


def test_missing_end_is_filled_like_mmengine_runner_with_a_warning():
    opt = layer_decay_optimizer(1, "sgd")
    with pytest.warns(UserWarning, match="The `end` of PolyLR is not set"):
        stack = build_scheduler(opt, [dict(type="PolyLR", by_epoch=False, power=1.0)], max_iters=100)
    assert stack.schedulers[0].end == 100
    with pytest.warns(UserWarning, match="The `end` of CosineAnnealingLR is not set"):
        stack = build_scheduler(opt, [dict(type="CosineAnnealingLR")], max_epochs=12, max_iters=5,
                                epoch_length=10)
    assert stack.schedulers[0].end == 12
    with pytest.warns(UserWarning, match="The `end` of LinearLR is not set"):
        stack = build_scheduler(opt, [dict(type="LinearLR", convert_to_iter_based=True)], max_epochs=3,
                                epoch_length=10)
    assert stack.schedulers[0].end == 30


def test_missing_plateau_metric_is_a_clear_error():
    opt = layer_decay_optimizer(1, "sgd")
    stack = build_scheduler(opt, [dict(type="ReduceOnPlateauLR", monitor="mIoU", rule="greater")], epoch_length=5)
    assert stack.monitored_metrics == ["mIoU"]
    stack.advance_to(5)
    with pytest.raises(ConfigError, match="'mIoU' was not logged") as info:
        stack.step_metrics({"miou": 0.5, "loss": 1.0})
    assert info.value.path == "param_scheduler[0].monitor" and "miou" in info.value.candidates


# ---------------------------------------------------------------- where MMEngine crashes or misleads
def test_linear_warmup_from_zero_works_where_mmengine_divides_by_zero():
    from mmengine.optim.scheduler import LinearLR as MMLinearLR

    cfg = [dict(type="LinearLR", start_factor=0.0, by_epoch=False, begin=0, end=11)]
    opt = layer_decay_optimizer(2, "sgd")
    mm = MMLinearLR(layer_decay_optimizer(2, "sgd"), start_factor=0.0, by_epoch=False, begin=0, end=11)
    with pytest.raises(ZeroDivisionError):
        mm.step()
    stack = build_scheduler(opt, cfg)
    base = [g["initial_lr"] for g in opt.param_groups]
    for i in range(15):
        assert lrs(opt) == pytest.approx([b * min(i, 10) / 10 for b in base], rel=1e-12, abs=0)
        stack.step()


def test_constant_zero_factor_is_restored_at_end():
    opt = layer_decay_optimizer(2, "sgd")
    stack = build_scheduler(opt, [dict(type="ConstantLR", factor=0.0, by_epoch=False, begin=2, end=6)])
    seen = []
    for _ in range(8):
        seen.append(opt.param_groups[1]["lr"])
        stack.step()
    base = opt.param_groups[1]["initial_lr"]
    assert seen == [base, base, 0.0, 0.0, 0.0, base, base, base]


def test_reduce_on_plateau_converted_to_iterations():
    opt = layer_decay_optimizer(1, "sgd")
    stack = build_scheduler(
        opt, [dict(type="ReduceOnPlateauLR", monitor="loss", patience=0, factor=0.5, begin=1, end=3,
                   convert_to_iter_based=True)], epoch_length=10)
    assert stack.schedulers[0].begin == 10 and not stack.schedulers[0].by_epoch
    for it, loss in [(5, 1.0), (10, 1.0), (15, 1.0), (20, 1.0), (30, 1.0)]:
        stack.advance_to(it)
        stack.step_metrics({"loss": loss})
    # fed at 10 (best), 15 (bad -> halve), 20 (bad -> halve); 5 and 30 are outside [10, 30)
    assert lrs(opt) == [6e-4 * 0.25]


def test_eta_min_above_a_layer_decayed_base_lr_warns():
    opt = layer_decay_optimizer(4)
    with pytest.warns(UserWarning, match=r"eta_min=0.0002 is larger than the base lr of layer_0_decay;.*eta_min_ratio"):
        build_scheduler(opt, [dict(type="PolyLR", eta_min=2e-4, by_epoch=False, end=100)])


def test_window_after_training_and_partial_overlap_warn():
    opt = layer_decay_optimizer(1, "sgd")
    with pytest.warns(UserWarning, match=r"param_scheduler\[1\].*starts at iteration 2000 but training ends at iteration 1000"):
        build_scheduler(opt, [SEED[0], dict(SEED[1], begin=2000)], max_iters=1000)
    with pytest.warns(UserWarning, match=r"param_scheduler\[1\].*starts inside param_scheduler\[0\]"):
        build_scheduler(opt, [SEED[0], dict(SEED[1], begin=900)], max_iters=160000)


def test_common_schedules_build_silently():
    opt = layer_decay_optimizer(3, "sgd")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build_scheduler(opt, SEED, max_iters=160000)
        build_scheduler(opt, [dict(type="PolyLR", eta_min=0, power=1.0, begin=0, end=40000, by_epoch=False),
                              dict(type="LinearLR", start_factor=1e-6, begin=0, end=1500, by_epoch=False)],
                        max_iters=40000)
        stack = build_scheduler(opt, [], max_iters=10)
    assert isinstance(stack, ParamSchedulerStack) and stack.schedulers == []


def test_every_mmengine_name_is_registered_plus_polylrratio():
    import mmengine.optim  # noqa: F401
    from mmengine.registry import PARAM_SCHEDULERS as MM

    from lightning_runtime.registry import PARAM_SCHEDULERS

    assert set(PARAM_SCHEDULERS.module_dict) == set(MM.module_dict) | {"PolyLRRatio"}
    assert PARAM_SCHEDULERS.get("mmseg.PolyLRRatio") is PARAM_SCHEDULERS.get("PolyLRRatio")


def test_user_rule_by_registry_and_by_dotted_path(isolated_registries):
    from lightning_runtime.registry import PARAM_SCHEDULERS
    from lightning_runtime.schedulers import ParamScheduler, scale

    @PARAM_SCHEDULERS.register_module(force=True)
    class HalvingLR(ParamScheduler):
        def __init__(self, every: int = 10, **kwargs):
            self.every = every
            super().__init__("lr", **kwargs)

        def get_value(self, step, cur):
            return scale(cur, 0.5) if step and step % self.every == 0 else None

    opt = layer_decay_optimizer(2, "sgd")
    stack = build_scheduler(opt, [dict(type="HalvingLR", every=3, by_epoch=False, end=100)])
    stack.advance_to(7)
    assert lrs(opt) == [g["initial_lr"] * 0.25 for g in opt.param_groups]
    stack = build_scheduler(layer_decay_optimizer(1, "sgd"),
                            dict(type="lightning_runtime.schedulers.PolyLR", by_epoch=False, end=10))
    assert stack.describe() == ["param_scheduler: PolyLR(lr, 0-10 iters)"]
    with pytest.raises(ConfigError, match="not a lightning_runtime scheduler"):
        build_scheduler(opt, [dict(type="torch.optim.lr_scheduler.StepLR", step_size=3)])


def test_a_string_param_scheduler_says_what_to_write():
    err = _error("poly", "expected a dict or a list of dicts, got str", "param_scheduler")
    assert err.fix and "param_scheduler=[dict(type='PolyLR'" in err.fix


def test_every_config_error_in_optim_and_schedulers_has_a_fix():
    """Each ConfigError raised in optim/ and schedulers/ tells the user what to write (fix=...)."""
    import ast
    from pathlib import Path

    import lightning_runtime

    root = Path(lightning_runtime.__file__).parent
    missing = []
    for path in sorted([*root.glob("optim/*.py"), *root.glob("schedulers/*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "ConfigError":
                if "fix" not in {k.arg for k in node.keywords}:
                    missing.append(f"{path.parent.name}/{path.name}:{node.lineno}")
    assert not missing, missing


def test_window_ending_after_training_warns_with_the_numbers():
    """The seed's note: max_iters=80000 with PolyLR end=160000 stops at lr 5.4e-3, not at eta_min."""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.01, momentum=0.9)
    with pytest.warns(UserWarning) as record:
        build_scheduler(opt, SEED, max_iters=80000)
    texts = [str(w.message) for w in record if "never reaches its final value" in str(w.message)]
    assert len(texts) == 1
    assert texts[0].startswith("param_scheduler[1].end: ")
    assert "ends at iteration 160000 but training ends at iteration 80000" in texts[0]
    assert "lr of the first param group is 0.005435 at the last trained iteration 79999" in texts[0]
    assert "Set end=80000 or raise max_iters" in texts[0] and "modified simultaneously" in texts[0]
    # epoch-based: both numbers in epochs, max_epochs named
    with pytest.warns(UserWarning, match=r"param_scheduler\[0\]\.end: .*ends at epoch 100 but training ends at epoch 50.*"
                                         r"Set end=50 or raise max_epochs"):
        build_scheduler(opt, [dict(type="CosineAnnealingLR", T_max=100, eta_min=0, begin=0, end=100)],
                        max_epochs=50, epoch_length=10)
    # silent for end == total, end=INF and when the run length is unknown
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build_scheduler(opt, SEED, max_iters=160000)
        build_scheduler(opt, [SEED[0], dict(type="PolyLR", eta_min=1e-4, begin=1000, by_epoch=False, end=float("inf"))],
                        max_iters=8000)
        build_scheduler(opt, SEED)
