"""``lightning-runtime fit|validate|test|predict|explain --config FILE``: the command line.

:func:`main` is the console entry point: it loads the config (MMEngine ``.py`` or LightningCLI
YAML), instantiates ``model:``/``data:`` the LightningCLI way, builds the Trainer from the runtime
sections and runs the subcommand; a config error exits with code 2 and one message.
"""

from lightning_runtime.cli._main import main

__all__ = ["main"]
