"""The ``lightning-runtime`` command (subcommands arrive with the CLI work)."""

from __future__ import annotations

import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``lightning-runtime`` console script."""
    argv = sys.argv[1:] if argv is None else argv
    print("usage: lightning-runtime {fit,validate,test,predict,explain} --config FILE")
    return 0 if not argv or argv[0] in ("-h", "--help") else 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
