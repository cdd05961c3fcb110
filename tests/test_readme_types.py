"""scripts/check_readme_types.py: which blocks it takes, its markers, and the line numbers it reports.

mypy itself runs in ``make typecheck`` (CI); here only the extraction, which needs no mypy run.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _script():
    spec = importlib.util.spec_from_file_location("check_readme_types", ROOT / "scripts" / "check_readme_types.py")
    assert spec is not None and spec.loader is not None
    module = sys.modules.get(spec.name) or importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


DOC = """# Title

```bash
make test
```

```python
import os
```

<!-- mypy: skip a signature sketch -->
```python
f(x, ...)
```

<!-- mypy: prelude
import torch
model: torch.nn.Module
-->
```py
print(model)
```

````markdown
```python
not_extracted = True
```
````
"""


def test_blocks_markers_and_line_numbers(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(DOC)
    blocks = _script().extract(doc)
    assert [(b.line, b.code, b.skip_reason) for b in blocks] == [
        (7, ["import os"], None),
        (12, ["f(x, ...)"], "a signature sketch"),
        (20, ["print(model)"], None),
    ]
    prelude = blocks[2]
    assert prelude.prelude == ["import torch", "model: torch.nn.Module"]
    assert prelude.source() == "import torch\nmodel: torch.nn.Module\nprint(model)\n"
    # mypy's line 3 is the block's first line (doc line 21); lines 1-2 are the prelude's (doc lines 17-18)
    assert prelude.doc_line(3) == 21
    assert (prelude.doc_line(1), prelude.doc_line(2)) == (17, 18)
    assert blocks[0].doc_line(1) == 8


def test_skip_needs_a_reason(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("<!-- mypy: skip -->\n```python\nx = 1\n```\n")
    with pytest.raises(SystemExit, match="needs a reason"):
        _script().extract(doc)


def test_readme_has_python_blocks_and_few_skips() -> None:
    blocks = _script().extract(ROOT / "README.md")
    assert len(blocks) >= 2
    assert all(b.skip_reason is None for b in blocks)
    assert any("from lightning_runtime.callbacks import LoggerHook" in "\n".join(b.code) for b in blocks)
