"""The package layout holds: every module says what it owns, no import cycle, no Lightning where it must not be.

Read statically (``ast``), so it runs in a fraction of a second and fails the moment a module is
added without a docstring, a cycle appears between modules, or ``config/``, ``registry.py``,
``optim/`` or ``schedulers/`` start importing Lightning (they are tested without a Trainer).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "lightning_runtime"
MODULES = sorted(p for p in SRC.rglob("*.py") if "__pycache__" not in p.parts)
#: Packages and modules that must not import Lightning (at module level or lazily).
LIGHTNING_FREE = ("config", "registry", "optim", "schedulers", "errors")


def _name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, *, top_level_only: bool) -> set[str]:
    """Modules of the package that ``path`` imports (``from a.b import c`` counts ``a.b`` and ``a.b.c``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    out: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.If) and top_level_only:  # `if TYPE_CHECKING:` imports run no code
            continue
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return out


def test_every_module_says_what_it_owns() -> None:
    missing = []
    for path in MODULES:
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        first = (doc or "").strip().splitlines()[0] if doc and doc.strip() else ""
        if len(first) < 20:
            missing.append(str(path.relative_to(SRC)))
    assert not missing, f"modules whose docstring does not open with what they own: {missing}"


def test_no_relative_imports() -> None:
    relative = [str(p.relative_to(SRC)) for p in MODULES
                if any(isinstance(n, ast.ImportFrom) and n.level > 0 for n in ast.walk(ast.parse(p.read_text())))]
    assert not relative


def test_no_import_cycle_at_module_level() -> None:
    """Module-level imports between the package's modules form no cycle (lazy imports in functions may)."""
    names = {_name(p): p for p in MODULES}
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        deps = {d for d in _imports(path, top_level_only=True) if d in names and d != name}
        # importing a.b.c imports the package a.b first
        graph[name] = deps | {".".join(d.split(".")[:k]) for d in deps for k in range(2, d.count(".") + 1)
                              if ".".join(d.split(".")[:k]) in names and ".".join(d.split(".")[:k]) != name}
    # a package importing its own submodules is how packages work; a submodule importing its own
    # package's __init__ back is the cycle we look for
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if node.startswith(dep + "."):  # a submodule's parent package is already importing
                continue
            if state.get(dep) == 1:
                cycles.append(stack[stack.index(dep):] + [dep])
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("area", LIGHTNING_FREE)
def test_config_registry_optim_schedulers_import_no_lightning(area: str) -> None:
    paths = [p for p in MODULES if _name(p) == f"lightning_runtime.{area}"
             or _name(p).startswith(f"lightning_runtime.{area}.")]
    assert paths, area
    bad = {str(p.relative_to(SRC)): sorted(m for m in _imports(p, top_level_only=False)
                                           if m.split(".")[0] in ("lightning", "pytorch_lightning"))
           for p in paths}
    assert not {k: v for k, v in bad.items() if v}


def test_docs_internals_module_map_matches_the_tree() -> None:
    """docs/internals.md's module map is the tree with each module's first docstring line."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("module_map", SRC.parents[1] / "scripts" / "module_map.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    page = mod.PAGE.read_text(encoding="utf-8")
    assert mod.rendered(page) == page, "run: python scripts/module_map.py (docs/internals.md is out of date)"
