"""Helpers for tests that start several processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["free_port", "torchrun"]

TESTS = str(Path(__file__).resolve().parent)


def free_port() -> int:
    """A TCP port that is free now, so concurrent DDP tests never collide on a fixed one."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def torchrun(*args: str, env: dict[str, str] | None = None, timeout: float = 120,
             **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """``torchrun --nproc_per_node=2 --master_port=<free> *args`` with one thread per process."""
    exe = Path(sys.executable).parent / "torchrun"
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    # the children import test helpers (runtime_helpers, test_runtime_data) by name, as pytest does
    full_env["PYTHONPATH"] = os.pathsep.join(p for p in (full_env.get("PYTHONPATH", ""), TESTS) if p)
    return subprocess.run([str(exe), "--nproc_per_node=2", f"--master_port={free_port()}", *args],
                          env=full_env, capture_output=True, text=True, timeout=timeout, **kwargs)
