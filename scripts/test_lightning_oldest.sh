#!/usr/bin/env bash
# The oldest supported Lightning: a fast subset of the suite against the lower bound of pyproject's
# `lightning>=A,<B` (release A.0). `make test` covers the newest (what .venv resolves to); .ci/run
# calls this script after it.
#
# Only Lightning differs: it is installed with --no-deps into a folder inside the venv and put first
# on PYTHONPATH (torchrun children inherit it), so everything else is .venv's, unchanged.
# The subset is what touches Lightning internals (runtime/_lightning_compat.py and its callers):
# loops, training data (1 and 2 ranks), hooks, checkpoints and resume.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY="$VENV/bin/python"
[ -x "$PY" ] || bash scripts/setup.sh
LOWEST=$("$PY" - <<'EOF'
import re, tomllib
deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]
spec = next(d for d in deps if re.match(r"lightning\s*[<>=]", d))
low = re.search(r">=\s*([0-9][0-9.]*)", spec).group(1)
print(low + ".0" * (3 - low.count(".") - 1))
EOF
)
TARGET="$VENV/lightning-$LOWEST"
if ! PYTHONPATH="$TARGET" "$PY" -c "import lightning, sys; sys.exit(lightning.__version__ != '$LOWEST')" 2>/dev/null; then
    echo "[oldest] installing lightning==$LOWEST into $TARGET (--no-deps)"
    rm -rf "$TARGET"
    "$PY" -m pip install --disable-pip-version-check -q --no-deps --target "$TARGET" "lightning==$LOWEST"
fi
export PYTHONPATH="$TARGET${PYTHONPATH:+:$PYTHONPATH}"
"$PY" -c "import lightning; print('[oldest] lightning', lightning.__version__, 'from', lightning.__file__)"
exec "$PY" -m pytest -q -p no:cacheprovider ${PYTEST_ARGS:--n 2} \
    tests/test_lightning_compat.py \
    tests/test_runtime_loops.py \
    tests/test_runtime_data.py \
    tests/test_runtime_data_ddp_sampler.py \
    tests/test_hooks_adapter.py \
    tests/test_checkpoint.py \
    tests/test_resume.py \
    tests/test_callbacks_misc.py
