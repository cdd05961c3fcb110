"""One phase of a migration scenario (``migrate_common``) on one side.

Usage: ``python migrate_run.py {ref,lit} NAME:PHASE WORK_DIR OUT_JSON``: ``ref`` runs MMEngine
0.10.7's Runner (``runner_parity_ref``), ``lit`` runs ``Runtime.fit`` (``runner_parity_lit``),
each with the migration's config instead of a parity scenario's.
"""

from __future__ import annotations

import importlib
import sys

import migrate_common  # the script's folder is on sys.path
import runner_parity_common as common

if __name__ == "__main__":
    side, name, work_dir, out = sys.argv[1:5]
    runner = importlib.import_module(f"runner_parity_{side}")
    parity = common.scenario

    def scenario(n: str) -> dict:
        base, colon, _ = n.partition(":")
        return migrate_common.scenario(n, work_dir) if colon and base in migrate_common.MIGRATIONS else parity(n)

    common.scenario = scenario  # type: ignore[assignment]  # the runner scripts look it up by name
    runner.main(name, work_dir, out)
