"""The resolved config written into ``work_dir`` at the start of every run, as MMEngine's ``Runner.dump_config``.

MMEngine writes ``work_dir/<config file name>`` for a config loaded from a file and
``work_dir/<timestamp>.py`` for a dict config, on every run (a resumed run too). Here the
:class:`~lightning_runtime.runtime._runtime.Runtime` adds :class:`ConfigDump`, which writes the
same file when a loop starts (not before: a config problem found while the Trainer sets up leaves
``work_dir`` untouched), on rank zero, once per run.

Example:
    >>> from pathlib import Path
    >>> from lightning_runtime import load_config
    >>> config_dump_path(load_config(dict(lr=0.1)), Path("work_dirs/x"), "20260101_000000").name
    '20260101_000000.py'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lightning.pytorch.utilities import rank_zero_warn

from lightning_runtime.runtime._run_log import RunStart

__all__ = ["ConfigDump", "config_dump_path"]


def config_dump_path(cfg: Any, work_dir: Path, timestamp: str) -> Path:
    """Where the run's config is written: ``work_dir/<file name>``, or ``work_dir/<timestamp>.py``.

    A ``.json`` config is written as Python (``<stem>.py``): JSON has no tuples.
    """
    filename = getattr(cfg, "filename", None)
    if not filename:
        return work_dir / f"{timestamp}.py"
    name = Path(filename).name
    if not name.endswith((".py", ".yaml", ".yml")):
        name = Path(name).stem + ".py"
    return work_dir / name


class ConfigDump(RunStart):
    """Write ``cfg`` to ``path`` when the first loop of the run starts (rank zero), once.

    Args:
        cfg: The Runtime's loaded config (``Config.dump`` writes ``.py`` / ``.yaml``).
        path: :func:`config_dump_path`.
    """

    def __init__(self, cfg: Any, path: str | Path) -> None:
        self.cfg = cfg
        self.path = Path(path)
        self._written = False

    def on_run_start(self, trainer: Any) -> None:
        if self._written or not trainer.is_global_zero:
            return
        self._written = True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.cfg.dump(self.path)
        except Exception as exc:  # noqa: BLE001 - a record of the run, never a reason to stop it
            rank_zero_warn(f"the config could not be written to {self.path} ({exc}); training goes on")
