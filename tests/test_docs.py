"""The docs cannot drift from the code: every name the code accepts is documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from lightning_runtime.config import LEGACY_KEYS
from lightning_runtime.config._legacy import MISPLACED_HOOK_CFGS
from lightning_runtime.registry import (
    HOOKS,
    METRICS,
    OPTIM_WRAPPER_CONSTRUCTORS,
    PARAM_SCHEDULERS,
    VISBACKENDS,
)
from lightning_runtime.runtime._loops import _EPOCH_KEYS, _ITER_KEYS
from lightning_runtime.runtime._runtime import TRANSLATION_TABLE

ROOT = Path(__file__).parents[1]
DOCS = ROOT / "docs"


def _text(*names: str) -> str:
    return "\n".join((DOCS / n).read_text() for n in names)


def _builtin(registry) -> list[str]:
    return sorted(k for k, v in registry.module_dict.items()
                  if v.__module__.startswith("lightning_runtime") and ".demo." not in v.__module__)


@pytest.mark.parametrize("registry,pages", [
    (HOOKS, ("hooks.md", "checkpoints.md", "evaluation.md")),
    (PARAM_SCHEDULERS, ("schedulers.md",)),
    (VISBACKENDS, ("runtime.md",)),
    (METRICS, ("evaluation.md",)),
    (OPTIM_WRAPPER_CONSTRUCTORS, ("optim.md",)),
], ids=["hooks", "schedulers", "vis_backends", "metrics", "constructors"])
def test_every_registered_name_is_documented(registry, pages) -> None:
    text = _text(*pages)
    missing = [n for n in _builtin(registry) if f"`{n}`" not in text and n not in text]
    assert not missing, f"document {missing} in docs/{pages[0]}"


def _keys_a_run_reads(tmp_path: Path) -> set[str]:
    """The top-level config keys a Runtime reads while it builds a Trainer and fits two iterations."""
    from runtime_helpers import QUIET, Boring, loader, make_cfg

    from lightning_runtime.config import load_config
    from lightning_runtime.runtime import Runtime

    base = load_config(make_cfg(tmp_path, train_cfg=dict(by_epoch=False, max_iters=2, val_interval=1), val_cfg=dict(),
                                optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
                                param_scheduler=[dict(type="LinearLR", by_epoch=False, begin=0, end=2)]))
    read: set[str] = set()

    class Recording(type(base)):  # the loaded config's own class: Runtime keeps it as it is
        def get(self, key, *default):
            if self is cfg:
                read.add(key)
            return super().get(key, *default)

        def __getitem__(self, key):
            if self is cfg:
                read.add(key)
            return super().__getitem__(key)

        def __contains__(self, key):
            if self is cfg:
                read.add(key)
            return super().__contains__(key)

    cfg = Recording(base)
    rt = Runtime(cfg)
    assert rt.cfg is cfg
    rt.fit(Boring(rt), loader(2), loader(1), **QUIET)
    return read


def test_every_config_key_a_run_reads_is_in_the_translation_table(tmp_path: Path) -> None:
    """TRANSLATION_TABLE (the code's table) lists every top-level key the Runtime really reads."""
    read = _keys_a_run_reads(tmp_path)
    assert {"train_cfg", "optim_wrapper", "param_scheduler", "default_hooks"} <= read  # the probe works
    legacy = set(LEGACY_KEYS) | set(MISPLACED_HOOK_CFGS)  # read only to say where they belong now
    missing = sorted(read - set(TRANSLATION_TABLE) - legacy)
    assert not missing, f"add {missing} to TRANSLATION_TABLE in lightning_runtime/runtime/_runtime.py"


def test_translation_table_matches_docs() -> None:
    """Every key of the code's table is a row of docs/runtime.md's table, its module exists, and the
    loop keys (``max_iters``, ``val_begin``, ...) are documented."""
    text = _text("runtime.md")
    rows = [line.split("|")[1] for line in text.splitlines() if line.startswith("| `")]
    assert rows, "docs/runtime.md has no translation table"
    first_column = "\n".join(rows)
    missing = sorted(k for k in TRANSLATION_TABLE if f"`{k}" not in first_column)
    assert not missing, f"document {missing} in the table of docs/runtime.md"
    package = ROOT / "src" / "lightning_runtime"
    for key, where in TRANSLATION_TABLE.items():
        for name in where.split(", "):
            assert (package / name).is_dir() or (package / f"{name}.py").is_file(), (key, where)
    missing = sorted(k for k in (*_ITER_KEYS, *_EPOCH_KEYS) if f"`{k}" not in text and k not in text)
    assert not missing, f"document {missing} in docs/runtime.md"


def test_every_legacy_key_is_documented_with_its_replacement() -> None:
    text = _text("config.md", "runtime.md") + (ROOT / "README.md").read_text()
    missing = [k for k in LEGACY_KEYS if k not in text]
    assert not missing, f"document {missing}"


def test_optim_md_grad_clip_form_loads_over_an_mmseg_base(tmp_path: Path) -> None:
    """docs/optim.md's gradient-clip form works over MMSeg's schedules (which set clip_grad=None)."""
    from lightning_runtime.config import load_config
    from lightning_runtime.optim import parse_optim_wrapper

    form = next(line.strip() for line in _text("optim.md").splitlines()
                if line.strip().startswith("optim_wrapper = dict(clip_grad="))
    cfg = tmp_path / "clip.py"
    cfg.write_text(f"_base_ = ['mmseg::_base_/schedules/schedule_20k.py']\n{form}\n")
    wrapper = load_config(cfg)["optim_wrapper"]
    assert wrapper["optimizer"]["type"] == "SGD"  # the base's optimizer kept
    assert parse_optim_wrapper(wrapper).clip_grad == {"max_norm": 1, "norm_type": 2}
