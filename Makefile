# The README's two commands: `make demo` and `make test`. Both set up .venv on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?= -n 2

.PHONY: setup test test-fast demo bench clean

setup:
	@bash scripts/setup.sh

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

# The inner loop: tests/ without the tests marked slow (subprocess CLI, DDP, fuzz, long fits) or the notebooks.
test-fast: setup
	$(PY) -m pytest tests -m "not slow" $(PYTEST_ARGS)

# The demo needs only the package and its plot extra (matplotlib), not the test references.
demo:
	@EXTRAS=plot bash scripts/setup.sh
	$(PY) -m lightning_runtime.demo

bench: setup
	$(PY) benchmarks/run_all.py

# CI runs this before the tests: mypy on src/lightning_runtime ([tool.mypy] in pyproject.toml),
# then every ```python block of README.md and docs/*.md (scripts/check_readme_types.py).
.PHONY: typecheck
typecheck: setup
	$(PY) -m mypy
	$(PY) scripts/check_readme_types.py

clean:
	rm -rf work_dirs .pytest_cache
