#!/usr/bin/env bash
# Create .venv (if absent) and install lightning_runtime into it, editable, with the extras.
#
# torch is installed first, pinned to 2.13.0 (the CPU build), ONLY when the venv cannot
# import torch: a torch that is already there (CUDA build, newer release) is never replaced,
# because every other requirement leaves torch unpinned from above.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
    echo "[setup] creating $VENV"
    "$PY" -m venv "$VENV"
fi
VPY="$VENV/bin/python"
pip_install() { "$VPY" -m pip install --disable-pip-version-check -q "$@"; }
if ! "$VPY" -c "import torch" >/dev/null 2>&1; then
    echo "[setup] no torch in $VENV: installing torch==2.13.0 (CPU build)"
    pip_install "torch==2.13.0"
else
    echo "[setup] keeping torch $("$VPY" -c 'import torch; print(torch.__version__)')"
fi
stamp="$VENV/.lightning_runtime-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "[setup] installing lightning_runtime (editable) with extras ${EXTRAS:=test,plot}"
    pip_install -e ".[${EXTRAS}]"
    touch "$stamp"
fi
# The reference for the parity tests: full mmengine 0.10.7 (with its Runner), --no-deps so that it
# neither pulls opencv-python (the test extra has the headless build and mmengine's pure-Python
# requirements) nor touches torch. mmengine-lite shares the import name `mmengine`: removed first.
if ! "$VPY" -c "import importlib.metadata as m,sys; sys.exit(m.version('mmengine') != '0.10.7')" 2>/dev/null; then
    if "$VPY" -m pip show -q mmengine-lite >/dev/null 2>&1; then
        echo "[setup] removing mmengine-lite (full mmengine replaces it)"
        "$VPY" -m pip uninstall --disable-pip-version-check -q -y mmengine-lite
    fi
    echo "[setup] installing mmengine==0.10.7 (--no-deps, test reference only)"
    pip_install --no-deps "mmengine==0.10.7"
fi
# MMSegmentation's configs are the parity corpus; its wheel is pure data + Python, installed
# without dependencies so that nothing it pins can touch torch.
if ! "$VPY" -c "import importlib.util,sys; sys.exit(importlib.util.find_spec('mmseg') is None)" 2>/dev/null; then
    echo "[setup] installing mmsegmentation==1.2.2 (--no-deps, test corpus only)"
    pip_install --no-deps "mmsegmentation==1.2.2"
fi
