#!/usr/bin/env bash
# Create .venv (if absent) and install lightning_runtime into it, editable, with the extras.
#
# torch is installed first, pinned to 2.13.0 (the CPU build), ONLY when the venv cannot
# import torch: a torch that is already there (CUDA build, newer release) is never replaced,
# because every other requirement leaves torch unpinned from above.
#
# EXTRAS (default test,plot) picks the extras: `make demo` asks for plot only (the package and
# matplotlib); the test references (mmengine, and the OpenMMLab codebases whose configs are the
# parity corpus) come only with the test extra.
# Every step prints a line, and pip prints what it downloads (no -q): nothing runs silently.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
    echo "[setup] creating $VENV"
    "$PY" -m venv "$VENV"
fi
VPY="$VENV/bin/python"
pip_install() { "$VPY" -m pip install --disable-pip-version-check --progress-bar on "$@"; }
EXTRAS=${EXTRAS:-test,plot}
has_extra() { case ",$EXTRAS," in *",$1,"*) return 0;; *) return 1;; esac; }
if ! "$VPY" -c "import torch" >/dev/null 2>&1; then
    echo "[setup] no torch in $VENV: installing torch==2.13.0 (CPU build, about 200 MB; the longest step)"
    pip_install "torch==2.13.0"
else
    echo "[setup] keeping torch $("$VPY" -c 'import torch; print(torch.__version__)')"
fi
# The stamp records which extras are installed: a later call asking for more (make demo, then
# make test) installs them; one asking for fewer installs nothing.
stamp="$VENV/.lightning_runtime-installed"
missing=""
for extra in ${EXTRAS//,/ }; do
    grep -qx "$extra" "$stamp" 2>/dev/null || missing="$missing $extra"
done
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ -n "$missing" ]; then
    all=$( (cat "$stamp" 2>/dev/null; echo "${EXTRAS//,/$'\n'}") | grep -v '^$' | sort -u | paste -sd, -)
    echo "[setup] installing lightning_runtime (editable) with extras $all"
    pip_install -e ".[${all}]"
    echo "${all//,/$'\n'}" > "$stamp"
else
    echo "[setup] lightning_runtime already installed with extras $(paste -sd, "$stamp")"
fi
if ! has_extra test; then
    echo "[setup] done (extras: $EXTRAS): $VENV/bin/lightning-runtime (or: source $VENV/bin/activate)"
    exit 0
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
# The other OpenMMLab codebases' shipped configs (their wheels carry .mim/configs) extend that corpus
# (tests/test_config_parity.py). Configs only: --no-deps, their code is never imported.
corpus=""
for req in mmdet==3.3.0 mmpretrain==1.2.0 mmpose==1.3.2 mmaction2==1.2.0 mmocr==1.0.1 \
           mmagic==1.2.0 mmdet3d==1.4.0; do
    if ! "$VPY" -c "import importlib.metadata as m,sys; sys.exit(m.version('${req%%==*}') != '${req#*==}')" \
            2>/dev/null; then
        corpus="$corpus $req"
    fi
done
if [ -n "$corpus" ]; then
    echo "[setup] installing$corpus (--no-deps, test corpus only: about 9 MB of configs)"
    # shellcheck disable=SC2086  # one word per requirement
    pip_install --no-deps $corpus
fi
echo "[setup] done: $VENV/bin/lightning-runtime (or: source $VENV/bin/activate)"
