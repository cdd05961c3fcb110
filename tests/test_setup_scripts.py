"""``make demo`` / ``make test`` set-up (issue 16): read from the Makefile and scripts/setup.sh."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _target(name: str) -> str:
    text = (ROOT / "Makefile").read_text()
    match = re.search(rf"^{name}:.*?(?=^\S|\Z)", text, flags=re.M | re.S)
    assert match, f"no {name} target"
    return match.group(0)


def test_make_demo_installs_only_the_package_and_its_plot_extra() -> None:
    demo = _target("demo")
    assert "EXTRAS=plot bash scripts/setup.sh" in demo
    assert not re.match(r"demo:\s*setup", demo)  # the default set-up would add the test extras
    assert re.match(r"test:\s*setup", _target("test"))
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    assert "EXTRAS=${EXTRAS:-test,plot}" in setup  # make test: the test extras as before
    # mmengine / mmsegmentation (test references) come after the early exit for non-test extras
    exit_at = setup.index("if ! has_extra test; then")
    assert exit_at < setup.index('pip_install --no-deps "mmengine==0.10.7"')
    assert exit_at < setup.index('pip_install --no-deps "mmsegmentation==1.2.2"')


def test_setup_shows_progress() -> None:
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    pip_lines = [line for line in setup.splitlines() if "pip install" in line or "pip uninstall" in line]
    assert pip_lines and not any(re.search(r"\s-q\b", line) for line in pip_lines if "install" in line
                                 and "uninstall" not in line)
    assert "--progress-bar on" in setup
    # every pip step is announced on its own line first
    assert setup.count('echo "[setup]') >= 6
    assert "lightning-runtime" in setup.splitlines()[-1]  # says where the command is


def test_setup_stamp_logic_adds_missing_extras(tmp_path: Path) -> None:
    """The stamp lines of setup.sh, run with pip replaced by echo: plot, then test,plot, then plot."""
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    start = setup.index('stamp="$VENV/.lightning_runtime-installed"')
    end = setup.index("if ! has_extra test; then")
    script = ('set -euo pipefail\nVENV=.\npip_install() { echo "PIP $*"; }\n'
              'has_extra() { case ",$EXTRAS," in *",$1,"*) return 0;; *) return 1;; esac; }\n'
              + setup[start:end])
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "s.sh").write_text(script)
    runs = []
    for extras in ("plot", "test,plot", "plot"):
        proc = subprocess.run(["bash", "s.sh"], cwd=tmp_path, env={"EXTRAS": extras, "PATH": "/usr/bin:/bin"},
                              capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0, proc.stderr
        runs.append(proc.stdout)
    assert "PIP -e .[plot]" in runs[0]
    assert "PIP -e .[plot,test]" in runs[1]
    assert "PIP" not in runs[2] and "already installed with extras plot,test" in runs[2]
