"""The docs cannot drift from the code: every name the code accepts is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lightning_runtime.config import LEGACY_KEYS
from lightning_runtime.registry import (
    HOOKS,
    METRICS,
    OPTIM_WRAPPER_CONSTRUCTORS,
    PARAM_SCHEDULERS,
    VISBACKENDS,
)
from lightning_runtime.runtime._loops import _EPOCH_KEYS, _ITER_KEYS

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


def test_every_config_key_the_runtime_reads_is_in_the_translation_table() -> None:
    src = "".join(p.read_text() for p in (ROOT / "src" / "lightning_runtime").glob("runtime*.py"))
    keys = set(re.findall(r'cfg\.get\("([a-z_]+)"', src)) | set(re.findall(r'cfg\["([a-z_]+)"\]', src))
    keys |= set(_ITER_KEYS) | set(_EPOCH_KEYS)
    text = _text("runtime.md")
    missing = sorted(k for k in keys if k not in text)
    assert not missing, f"document {missing} in docs/runtime.md"


def test_every_legacy_key_is_documented_with_its_replacement() -> None:
    text = _text("config.md", "runtime.md") + (ROOT / "README.md").read_text()
    missing = [k for k in LEGACY_KEYS if k not in text]
    assert not missing, f"document {missing}"
