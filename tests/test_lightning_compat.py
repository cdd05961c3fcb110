"""runtime/_lightning_compat: the one module that touches private Lightning APIs, and its version range."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import lightning
import pytest
from packaging.version import Version

from lightning_runtime.runtime import _lightning_compat as compat

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "lightning_runtime"
COMPAT = SRC / "runtime" / "_lightning_compat.py"

# Private Lightning attributes the runtime needs; only runtime/_lightning_compat.py may name them.
PRIVATE_ATTRS = {
    "_should_check_val_fx", "_should_accumulate", "_make_zero_grad_fn", "output_result_cls",
    "_data_source", "_load_combined_loader_states", "_combined_loader", "_results",
    "_num_ready_batches_reached", "_accumulated_batches_reached", "_skip_backward",
    "_on_before_zero_grad", "_optimizer_zero_grad", "_trainer", "_sampler",
    "_logger_connector", "_checkpoint_connector", "_data_connector", "_accelerator_connector",
    "_callback_connector", "_signal_connector", "_evaluation_loop", "_active_loop",
}
# Lightning packages that are internal as a whole.
PRIVATE_MODULES = ("lightning.pytorch.loops", "lightning.pytorch.trainer.connectors", "lightning.pytorch.overrides",
                   "pytorch_lightning.loops", "pytorch_lightning.trainer.connectors", "pytorch_lightning.overrides")


def _private_module(name: str) -> bool:
    if not name.split(".")[0] in ("lightning", "pytorch_lightning", "lightning_fabric"):
        return False
    return name.startswith(PRIVATE_MODULES) or any(part.startswith("_") for part in name.split("."))


def private_uses(path: Path) -> list[str]:
    """``file:line what`` for every private Lightning attribute or import in ``path``."""
    found: list[str] = []
    rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        what = None
        if isinstance(node, ast.Attribute) and node.attr in PRIVATE_ATTRS:
            if not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):  # its own fields
                what = f".{node.attr}"
        elif isinstance(node, ast.Attribute) and node.attr == "lightning_runtime_loss_divisor":
            what = ".lightning_runtime_loss_divisor (use the RunContext)"
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ("getattr", "setattr", "hasattr", "delattr") and len(node.args) >= 2
              and isinstance(node.args[1], ast.Constant) and node.args[1].value in PRIVATE_ATTRS):
            what = f"{node.func.id}(..., {node.args[1].value!r})"
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if _private_module(node.module):
                what = f"from {node.module} import ..."
            elif node.module.split(".")[0] in ("lightning", "pytorch_lightning", "lightning_fabric"):
                names = [a.name for a in node.names if a.name.startswith("_")]
                what = f"from {node.module} import {', '.join(names)}" if names else None
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names if _private_module(a.name)]
            what = f"import {', '.join(names)}" if names else None
        if what:
            found.append(f"{rel}:{node.lineno} {what}")
    return found


def test_only_the_compat_module_touches_private_lightning_apis():
    files = [p for p in sorted(SRC.rglob("*.py")) if p != COMPAT]
    assert len(files) > 50
    offenders = [use for p in files for use in private_uses(p)]
    assert offenders == [], "private Lightning APIs outside runtime/_lightning_compat.py:\n" + "\n".join(offenders)


def test_the_scan_finds_what_it_looks_for(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from lightning.pytorch.trainer.connectors.data_connector import _DataLoaderSource\n"
        "from lightning.fabric.utilities.data import _auto_add_worker_init_fn\n"
        "import lightning.pytorch.loops\n"
        "def f(trainer, module):\n"
        "    trainer.fit_loop.epoch_loop._should_check_val_fx = None\n"
        "    getattr(trainer, '_results', None)\n"
        "    trainer.lightning_runtime_loss_divisor = 2\n"
        "    self._trainer = module._trainer\n"
    )
    found = [u.split(" ", 1)[0].rsplit(":", 1)[1] for u in private_uses(sample)]
    assert found == ["1", "2", "3", "5", "6", "7", "8"]


def test_the_compat_module_touches_them():
    # the list above is the compat module's subject: a name nobody uses any more is dropped from both
    assert private_uses(COMPAT)


@pytest.mark.parametrize("version", ["2.6.0", "2.6.6", "2.6.9", "2.6.7.dev3", "2.6.1.post0"])
def test_supported_versions_pass(version):
    compat.check_lightning_version(version)


@pytest.mark.parametrize("version", ["2.5.6", "2.4.0", "2.7.0", "2.7.0rc1", "3.0.0", "1.9.5"])
def test_unsupported_versions_fail_with_the_fix(version):
    with pytest.raises(ImportError) as info:
        compat.check_lightning_version(version)
    msg = str(info.value)
    assert f"lightning {version} is installed" in msg
    assert "lightning>=2.6,<2.7" in msg
    assert "pip install 'lightning>=2.6,<2.7'" in msg


@pytest.mark.slow
def test_import_fails_outside_the_range():
    code = ("import lightning; lightning.__version__ = '2.5.6'\n"
            "try:\n    import lightning_runtime.runtime\nexcept ImportError as e:\n    print('IMPORTERROR', e)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={"PATH": "", "PYTHONPATH": str(SRC.parent)})
    assert "IMPORTERROR lightning_runtime supports lightning>=2.6,<2.7 but lightning 2.5.6 is installed" in proc.stdout, \
        proc.stderr[-2000:]


def test_pyproject_declares_the_tested_range():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    low, high = compat.SUPPORTED_RANGE
    assert f"lightning>={low},<{high}" in deps
    assert Version(low) <= Version(Version(lightning.__version__).base_version) < Version(high)
