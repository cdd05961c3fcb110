"""``python -m lightning_runtime`` runs the ``lightning-runtime`` command."""

import sys

from .cli import main

sys.exit(main())
