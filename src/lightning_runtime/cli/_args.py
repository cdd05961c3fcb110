"""Command-line parsing that happens before LightningCLI sees anything.

jsonargparse replaces untyped ``dict`` values on a second ``--config`` and cannot address list
items (``--param_scheduler.1.end=2000``). So the MMEngine part of the command line is read here,
with MMEngine's own rules:

* ``--config FILE`` (repeatable): ``.py`` (safe loader), ``.yaml``/``.yml``/``.json``; deep-merged in
  order (dicts merge, lists are replaced, ``_delete_=True`` replaces).
* ``--a.b.c=VALUE`` or ``--a.b.c VALUE``: a dotted override, MMEngine ``--cfg-options`` semantics,
  list items by index.

What belongs to Lightning (``model``, ``data``, ``trainer``, ``ckpt_path``, ``seed_everything``) is
split off afterwards and handed to LightningCLI as structured arguments.

Example:
    >>> inv = parse_invocation(["fit", "--config", "a.py", "--optim_wrapper.optimizer.lr=0.02"])
    >>> inv.subcommand, inv.configs, inv.overrides
    ('fit', ['a.py'], ['optim_wrapper.optimizer.lr=0.02'])
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lightning_runtime.errors import ConfigError, did_you_mean

__all__ = ["SUBCOMMANDS", "LIGHTNING_SECTIONS", "Invocation", "parse_invocation", "USAGE"]

SUBCOMMANDS = ("fit", "validate", "test", "predict", "explain")
LIGHTNING_SECTIONS = ("model", "data", "trainer", "ckpt_path", "seed_everything")

USAGE = """\
usage: lightning-runtime {fit,validate,test,predict,explain} --config FILE [--config FILE ...]
                         [--KEY.PATH=VALUE ...] [--print_config] [--plot PNG]
                         [--epoch_length N]
  lightning-runtime export CKPT OUT.pth [--weights-only]
                         write a checkpoint in MMEngine's format (MMEngine's tools, Runner resume)
  lightning-runtime SUBCOMMAND --help   lists that subcommand's arguments (the Trainer's for
                                        fit/validate/test/predict, --ckpt_path, explain's options)

  fit        train (validation at the config's cadence), honouring load_from and resume
  validate   run the validation loop once (load_from / --ckpt_path weights)
  test       run the test loop once
  predict    run prediction
  explain    print what the config turns into: Trainer arguments, callbacks in call order,
             param groups (needs a model), and the learning-rate curve of every group

  --config FILE       MMEngine .py config (read safely, never executed), .yaml/.yml or .json;
                      repeat to deep-merge several, in order (MMEngine's merge rules)
  --KEY.PATH=VALUE    override any value: --optim_wrapper.optimizer.lr=0.02,
                      --param_scheduler.1.end=2000, --train_cfg.max_iters=400
  --print_config      print the resolved config and exit
  --plot PNG          (explain) also draw the learning-rate curves into PNG (needs matplotlib)
  --epoch_length N    (explain) iterations per epoch, for epoch-based loops and schedulers
  --model CLASS_PATH  the LightningModule (--model.init_args.NAME=VALUE for its arguments);
                      explain uses it to show the param groups

The model and data come from LightningCLI-style sections in a config:
  model: {class_path: my_pkg.MyModule, init_args: {...}}   data: {class_path: ..., init_args: {...}}
(in a .py config: model = dict(class_path='my_pkg.MyModule', init_args=dict(...)), or
 model = dict(type='my_pkg.MyModule', ...) for a LightningModule named by dotted path).
Config errors print one message and exit with code 2.
"""


@dataclass
class Invocation:
    """What the command line asked for."""

    subcommand: str | None = None
    configs: list[str] = field(default_factory=list)
    overrides: list[str] = field(default_factory=list)
    print_config: bool = False
    plot: str | None = None
    epoch_length: int | None = None
    help: bool = False
    #: LightningCLI's ``--trainer.strategy.help [CLASS]``: (option without dashes, class or None).
    class_help: tuple[str, str | None] | None = None


def _cli_error(message: str, fix: str, candidates: list[str] | None = None) -> ConfigError:
    return ConfigError(message, path="command line", fix=fix, candidates=candidates)


def _epoch_length(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise _cli_error(f"--epoch_length must be a positive whole number, got {value!r}",
                         fix="give the iterations (batches) per training epoch: --epoch_length 500")
    return n


def parse_invocation(argv: list[str]) -> Invocation:
    """Split ``argv`` into subcommand, config files, overrides and flags.

    Raises:
        ConfigError: an unknown subcommand, a flag without its value, or a stray argument.
    """
    inv = Invocation()
    args = list(argv)
    if not args or args[0] in ("-h", "--help"):
        inv.help = True
        return inv
    sub = args.pop(0)
    if sub not in SUBCOMMANDS:
        raise _cli_error(
            f"unknown subcommand {sub!r}",
            fix=f"use one of: {', '.join(SUBCOMMANDS)}",
            candidates=did_you_mean(sub, SUBCOMMANDS),
        )
    inv.subcommand = sub
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("-h", "--help"):
            inv.help = True
            i += 1
            continue
        if arg == "-c":  # LightningCLI's short form of --config
            arg = "--config"
        if not arg.startswith("--"):
            raise _cli_error(
                f"unexpected argument {arg!r}",
                fix="give options as --config FILE or --key.path=value",
            )
        key, eq, value = arg[2:].partition("=")
        key = key.replace("-", "_") if key in ("print-config", "print_config") else key
        if key == "print_config":
            inv.print_config = True
            i += 1
            continue
        if key.endswith(".help"):
            has_value = not eq and i + 1 < len(args) and not args[i + 1].startswith("-")
            inv.help, inv.class_help = True, (key, value if eq else args[i + 1] if has_value else None)
            i += 2 if has_value else 1
            continue
        if not eq:
            if i + 1 >= len(args) or args[i + 1].startswith("--"):
                raise _cli_error(f"--{key} needs a value", fix=f"write --{key}=VALUE or --{key} VALUE")
            value = args[i + 1]
            i += 2
        else:
            i += 1
        if key in ("config", "c"):
            inv.configs.append(value)
        elif key == "plot":
            inv.plot = value
        elif key == "epoch_length":
            inv.epoch_length = _epoch_length(value)
        elif key in ("model", "data"):  # LightningCLI's --model CLASS_PATH
            inv.overrides.append(f"{key}.class_path={value}")
        elif not key or key.startswith(".") or key.endswith("."):
            raise _cli_error(f"malformed option --{key}", fix="write --key.path=value")
        else:
            inv.overrides.append(f"{key}={value}")
    return inv
