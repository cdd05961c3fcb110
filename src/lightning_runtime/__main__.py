"""``python -m lightning_runtime`` runs the ``lightning-runtime`` command."""

import sys

from lightning_runtime.cli._main import main

sys.exit(main())
