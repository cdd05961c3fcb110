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
    regs = _registries()
    saved = []
    for reg in regs:
        reg.module_dict  # noqa: B018 - imports the registry's locations, so the built-ins are in the copy
        saved.append((reg, dict(reg._module_dict)))
    yield regs
    for reg, table in saved:
        reg._module_dict.clear()
        reg._module_dict.update(table)


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
