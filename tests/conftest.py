"""Shared fixtures for the test suite.

* ``isolated_registries``: every registry in :mod:`lightning_runtime.registry` is restored after the
  test, so a test may register, replace or remove entries (``HOOKS.register_module(..., force=True)``,
  ``HOOKS._module_dict.pop(...)``) without leaking into the next test on the same xdist worker.
* ``boring_module``: the class :class:`boring.BoringNet` (Lightning's ``BoringModel`` as a tiny
  ``Linear(4, 1)`` regression on ``(x, y)`` batches); call it to get a module, subclass it in a test
  module (``from boring import BoringNet``) to record what a test needs.

A run's ``work_dir`` is simply ``tmp_path`` (or a path under it that the test leaves uncreated:
several tests check that a refused config creates nothing).

Helpers that test modules import by name (``runtime_helpers``, ``boring``, ``ddp_utils``,
``fuzz_harness``) live beside this file; ``pythonpath = ["tests"]`` in ``pyproject.toml`` puts them
on ``sys.path``. Notebooks (``--nbmake``) are marked ``slow`` here, so ``make test-fast`` skips them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from boring import BoringNet


def _registries() -> list:
    from lightning_runtime import registry

    return [obj for obj in vars(registry).values() if isinstance(obj, registry.Registry)]


@pytest.fixture
def isolated_registries() -> Iterator[list]:
    """Save every registry's table (built-ins imported first) and put it back after the test."""
    import sys

    regs = _registries()
    saved = []
    for reg in regs:
        reg.module_dict  # noqa: B018 - imports the registry's locations, so the built-ins are in the copy
        saved.append((reg, dict(reg._module_dict)))
    modules_before = set(sys.modules)
    yield regs
    for reg, table in saved:
        dropped = [obj for name, obj in reg._module_dict.items() if table.get(name) is not obj]
        reg._module_dict.clear()
        reg._module_dict.update(table)
        # A module first imported in the test registered what is now dropped: forget it too, so
        # that a later custom_imports of it registers its classes again.
        for obj in dropped:
            module = getattr(obj, "__module__", None) or ""
            parts = module.split(".") if module else []
            for i in range(len(parts)):  # the module and the packages above it that came with it
                name = ".".join(parts[: i + 1])
                if name not in modules_before:
                    sys.modules.pop(name, None)


@pytest.fixture
def demo_hooks(isolated_registries: list) -> None:
    """The demo configs' ``NewHook`` registered afresh by their ``custom_imports`` (registries restored after).

    Another test may have imported ``lightning_runtime.demo.hooks`` inside its own isolated
    registries (so the module is imported but the name gone), and test_hooks_adapter.py registers
    its own copy of the seed's NewHook under the same name.
    """
    import sys

    from lightning_runtime.registry import HOOKS

    HOOKS._module_dict.pop("NewHook", None)
    sys.modules.pop("lightning_runtime.demo.hooks", None)  # custom_imports re-registers it


@pytest.fixture
def boring_module() -> type[BoringNet]:
    """The shared LightningModule double (a class: call it, or pass ``rt=`` / ``lr=``)."""
    return BoringNet


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Notebook items (nbmake) cannot carry a decorator: mark them ``slow`` here."""
    slow = pytest.mark.slow
    for item in items:
        if str(getattr(item, "path", "")).endswith(".ipynb"):
            item.add_marker(slow)
