"""``lightning-runtime {fit,validate,test,predict,explain} --config FILE``, and ``export CKPT OUT.pth``.

The MMEngine part of the command line (config files, dotted overrides) is read by
:mod:`lightning_runtime.cli._args` with MMEngine's merge rules; the resulting config becomes a
:class:`~lightning_runtime.runtime._runtime.Runtime`. The Lightning part (``model:``/``data:`` with
``class_path``/``init_args``) is instantiated by :class:`RuntimeCLI`, a ``LightningCLI`` whose
Trainer comes from the runtime, and with LightningCLI's automatic ``optimizer:`` path switched off
(it calls ``model.parameters()`` and would drop the param groups).

Every config problem prints one message and exits with code 2, without a traceback and before
anything is written to ``work_dir``.

Example (shell)::

    lightning-runtime explain --config configs/demo/seg_vit_shapes.py --plot lr.png
    lightning-runtime fit --config configs/demo/seg_vit_shapes.py --train_cfg.max_iters=200
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lightning_runtime.cli._args import USAGE, Invocation, parse_invocation
from lightning_runtime.errors import ConfigError, did_you_mean, locate_error

__all__ = ["main", "load_merged", "split_lightning_sections", "RuntimeCLI"]


def load_merged(configs: list[str], overrides: list[str]) -> Any:
    """Load each ``--config`` in order, deep-merge them, then apply the dotted overrides."""
    from lightning_runtime.config._loader import load_config, merge_configs

    if not configs:
        raise ConfigError("no config given", path="command line", fix="add --config FILE (.py, .yaml or .json)")
    cfg = load_config(configs[0])
    for extra in configs[1:]:
        cfg = merge_configs(cfg, load_config(extra))
    if len(configs) > 1:  # the first config names the run (work_dir default, dumped file name)
        from lightning_runtime.config._loader import Config

        cfg = Config(dict(cfg), configs[0], cfg._locator, sources=tuple(configs))
    if overrides:
        _command_line_class_paths(cfg, overrides)
        cfg = load_config(cfg, overrides=overrides)
    return cfg


def _command_line_class_paths(cfg: Any, overrides: list[str]) -> None:
    """``--model.class_path=X`` (or ``--model X``) names the section's class as in LightningCLI.

    A different class than the config's replaces the whole section (an MMSeg
    ``model=dict(type='EncoderDecoder', ...)`` included): its ``init_args`` then come from
    ``--model.init_args.NAME=VALUE``. The same class keeps the config's ``init_args``.
    """
    for section in ("model", "data"):
        given = [o.partition("=")[2] for o in overrides if o.partition("=")[0] == f"{section}.class_path"]
        if not given:
            continue
        current = cfg.get(section)
        if isinstance(current, Mapping) and set(current) <= {"class_path", "init_args"} \
                and current.get("class_path") == given[-1]:
            continue
        cfg[section] = {"class_path": given[-1], "init_args": {}}


def _kinds() -> dict[str, Any]:
    """What each class-valued Lightning setting accepts (base classes by dotted name)."""
    from lightning_runtime.registry import Kind

    return {
        "model": Kind("a LightningModule subclass", bases=("lightning.pytorch.core.module.LightningModule",)),
        "data": Kind("a LightningDataModule subclass", bases=("lightning.pytorch.core.datamodule.LightningDataModule",)),
        "callbacks": Kind("a lightning.pytorch Callback subclass", bases=("lightning.pytorch.callbacks.callback.Callback",)),
        "logger": Kind("a lightning.pytorch Logger subclass", bases=("lightning.pytorch.loggers.logger.Logger",)),
        "plugins": Kind(
            "a Lightning plugin class (Precision, CheckpointIO, ClusterEnvironment or LayerSync subclass)",
            bases=("lightning.pytorch.plugins.precision.precision.Precision",
                   "lightning.fabric.plugins.io.checkpoint_io.CheckpointIO",
                   "lightning.fabric.plugins.environments.cluster_environment.ClusterEnvironment",
                   "lightning.pytorch.plugins.layer_sync.LayerSync"),
        ),
        "strategy": Kind("a lightning.pytorch Strategy subclass", bases=("lightning.pytorch.strategies.strategy.Strategy",)),
        "accelerator": Kind("a lightning.pytorch Accelerator subclass",
                            bases=("lightning.pytorch.accelerators.accelerator.Accelerator",)),
        "profiler": Kind("a lightning.pytorch Profiler subclass", bases=("lightning.pytorch.profilers.profiler.Profiler",)),
    }


def _checked_class(class_path: Any, section: str, *, required: bool) -> Any:
    """The class ``class_path`` names, checked against the section's kind; nothing is called.

    ``None`` when it is not importable and not ``required`` (jsonargparse then reports it, or
    resolves a short name among the subclasses it knows).
    """
    from lightning_runtime.registry import Kind, import_object, resolve_class

    key = section.split(".")[-1].split("[")[0]
    kind: Kind = _kinds()[key]
    path = f"{section}.class_path"
    if not isinstance(class_path, str) or not class_path:
        raise ConfigError(f"class_path must be a dotted class name, got {class_path!r}"[:300], path=path,
                          expected=kind.description, fix="write class_path='my_pkg.module.ClassName'")
    if "." not in class_path and not required:
        return None
    if not required and import_object(class_path, path=path) is None:
        return None
    return resolve_class(class_path, kind, path=path, what="class_path")


def _class_spec(value: Any, section: str) -> dict[str, Any] | None:
    """``model``/``data`` in LightningCLI form, or ``dict(type='pkg.Class', ...)`` converted to it.

    Returns ``None`` when the section is not a Lightning class spec (e.g. an MMSeg
    ``model=dict(type='EncoderDecoder', ...)``, which stays in the config for the user's module).
    A dotted ``class_path`` must name a LightningModule (``model``) or LightningDataModule
    (``data``) subclass: anything else (``'os.system'``) is refused before jsonargparse sees it.
    """
    if not isinstance(value, Mapping):
        return None
    if "class_path" in value:
        extra = set(value) - {"class_path", "init_args", "dict_kwargs"}
        if extra and "type" in extra:  # merged into an inherited MMSeg-style model=dict(type=..., ...)
            raise ConfigError(
                f"class_path merged into an inherited {section} dict(type={value['type']!r}, ...) "
                f"(keys {sorted(extra)} came with it)", path=section,
                fix=f"replace the inherited section instead of merging into it: {section}: "
                    "{_delete_: true, class_path: ..., init_args: {...}}")
        if extra:
            raise ConfigError(f"unexpected keys {sorted(extra)} next to class_path", path=section,
                              fix="put constructor arguments under init_args")
        init_args = value.get("init_args") or {}
        if not isinstance(init_args, Mapping):
            raise ConfigError(f"init_args must be a dict, got {type(init_args).__name__}", path=f"{section}.init_args",
                              fix="write init_args=dict(name=value, ...)")
        _checked_class(value["class_path"], section, required=False)
        return {"class_path": value["class_path"], "init_args": dict(init_args)}
    type_ = value.get("type")
    if isinstance(type_, str) and type_.count(".") >= 1:
        from lightning_runtime.registry import import_object

        try:
            obj = import_object(type_)
        except ConfigError:  # a module that fails to import: not a Lightning class spec
            return None
        import lightning.pytorch as pl

        base = pl.LightningModule if section == "model" else pl.LightningDataModule
        if isinstance(obj, type) and issubclass(obj, base):
            init_args = {k: v for k, v in value.items() if k != "type"}
            return {"class_path": type_, "init_args": init_args}
    return None


#: ``trainer:`` settings that take objects; from a config they are ``dict(class_path=..., init_args=...)``.
_TRAINER_OBJECTS = ("callbacks", "logger", "plugins", "strategy", "accelerator", "profiler")
_PROFILER_NAMES = ("simple", "advanced", "pytorch", "xla")


def _trainer_names(key: str) -> tuple[str, ...]:
    """The strings Lightning accepts for ``trainer.<key>`` (names only: Lightning never imports them)."""
    if key == "strategy":
        from lightning.pytorch.strategies import StrategyRegistry

        return ("auto", *StrategyRegistry.available_strategies())
    if key == "accelerator":
        from lightning.pytorch.accelerators import AcceleratorRegistry

        return ("auto", "gpu", *sorted(AcceleratorRegistry.available_accelerators()))
    if key == "profiler":
        return _PROFILER_NAMES
    return ()


def _trainer_items(trainer: Mapping[str, Any]) -> list[tuple[str, str, Any]]:
    """``(key, config path, entry)`` for each object-valued entry of the ``trainer`` section."""
    out: list[tuple[str, str, Any]] = []
    for key in _TRAINER_OBJECTS:
        if key not in trainer or trainer[key] is None:
            continue
        value = trainer[key]
        if key in ("callbacks", "logger", "plugins") and isinstance(value, (list, tuple)):
            out.extend((key, f"trainer.{key}[{i}]", item) for i, item in enumerate(value))
        else:
            out.append((key, f"trainer.{key}", value))
    return out


def _check_trainer_section(trainer: Mapping[str, Any]) -> None:
    """Refuse ``trainer`` entries that would name code: each class is resolved and checked, nothing called.

    ``callbacks``/``logger``/``plugins``/``strategy``/``accelerator``/``profiler`` take, from a
    config, ``dict(class_path='pkg.Class', init_args=dict(...))`` of the right Lightning kind, or
    (``strategy``/``accelerator``/``profiler``) one of Lightning's names; ``logger`` also a bool.
    """
    from lightning_runtime.registry import check_kwargs

    for key, path, item in _trainer_items(trainer):
        if isinstance(item, bool) and key == "logger":
            continue
        if isinstance(item, str):
            names = _trainer_names(key)
            if item in names:
                continue
            expected = f"one of: {', '.join(names)}" if names else None
            raise ConfigError(
                f"{item!r} is not a Lightning {key} name"[:300], path=path,
                candidates=did_you_mean(item, names) if names else [],
                expected=expected or f"dict(class_path=..., init_args=...) naming {_kinds()[key].description}",
                fix=f"write {path} = dict(class_path='lightning.pytorch....ClassName', init_args=dict(...))"
                if not names else "use one of the names above, or dict(class_path=..., init_args=...)",
            )
        if not isinstance(item, Mapping) and _kinds()[key].accepts(type(item)):
            continue  # an object built in Python, passed through
        if not isinstance(item, Mapping) or "class_path" not in item:
            raise ConfigError(
                f"expected dict(class_path=..., init_args=...), got {type(item).__name__} {item!r}"[:300], path=path,
                expected=_kinds()[key].description,
                fix=f"write {path} = dict(class_path='pkg.module.ClassName', init_args=dict(...))",
            )
        extra = set(item) - {"class_path", "init_args"}
        if extra:
            raise ConfigError(f"unexpected keys {sorted(extra)} next to class_path", path=path,
                              fix="put constructor arguments under init_args")
        cls = _checked_class(item["class_path"], path, required=True)
        init_args = item.get("init_args") or {}
        if not isinstance(init_args, Mapping):
            raise ConfigError(f"init_args must be a dict, got {type(init_args).__name__}", path=f"{path}.init_args",
                              fix="write init_args=dict(name=value, ...)")
        check_kwargs(cls, init_args, path=f"{path}.init_args")
        from lightning.pytorch.callbacks import ModelCheckpoint

        if issubclass(cls, ModelCheckpoint) and not trainer.get("enable_checkpointing"):
            raise ConfigError(
                f"Lightning's {cls.__name__} needs trainer.enable_checkpointing=True (the runtime turns it off: "
                "checkpoints are default_hooks.checkpoint's)",
                path=f"{path}.class_path",
                fix="add trainer.enable_checkpointing=True, or configure default_hooks.checkpoint instead",
            )


def _build_trainer_objects(trainer: dict[str, Any]) -> dict[str, Any]:
    """``trainer`` with each ``dict(class_path=..., init_args=...)`` entry instantiated (after checking)."""
    from lightning_runtime.registry import resolve_class

    def build(key: str, path: str, item: Any) -> Any:
        if not (isinstance(item, Mapping) and "class_path" in item):
            return item
        cls = resolve_class(item["class_path"], _kinds()[key], path=f"{path}.class_path", what="class_path")
        args = dict(item.get("init_args") or {})
        try:
            return cls(**args)
        except ConfigError as err:
            raise err.with_location(path=path)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{cls.__name__}(...) failed: {exc}", path=f"{path}.init_args",
                              fix=f"check the arguments of {cls.__name__}") from exc

    out = dict(trainer)
    for key in _TRAINER_OBJECTS:
        value = out.get(key)
        if value is None:
            continue
        if key in ("callbacks", "logger", "plugins") and isinstance(value, (list, tuple)):
            out[key] = [build(key, f"trainer.{key}[{i}]", v) for i, v in enumerate(value)]
        else:
            out[key] = build(key, f"trainer.{key}", value)
    return out


def split_lightning_sections(cfg: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split the config into (LightningCLI sections, trainer overrides).

    ``model``/``data`` become LightningCLI class specs when they are written as such;
    ``trainer`` is a dict of extra ``L.Trainer`` arguments that win over the translated ones.
    Every class they name is resolved and checked against its kind here, before anything is
    built (see :func:`_check_trainer_section`).
    """
    sections: dict[str, Any] = {}
    for name in ("model", "data"):
        spec = _class_spec(cfg.get(name), name)
        if spec is not None:
            sections[name] = spec
    trainer = cfg.get("trainer") or {}
    if not isinstance(trainer, Mapping):
        raise ConfigError("must be a dict of Trainer arguments", path="trainer", fix="write trainer: {max_epochs: 1}")
    trainer = dict(copy.deepcopy(dict(trainer)))
    _check_trainer_section(trainer)
    for key in ("ckpt_path", "seed_everything"):
        if key in cfg:
            sections[key] = cfg[key]
    return sections, trainer


def _runtime_cli_class() -> type:
    from lightning.pytorch.cli import LightningCLI

    class RuntimeCLI(LightningCLI):
        """LightningCLI that only instantiates ``model``/``data``; the Runtime builds the Trainer."""

        def instantiate_trainer(self, **kwargs: Any) -> Any:  # noqa: D401 - LightningCLI hook
            # The Trainer is built by Runtime.fit/validate/test with the translated arguments;
            # LightningCLI's own would carry every Trainer default and override them.
            return None

    return RuntimeCLI


def _raise_inner_config_error(exc: BaseException) -> None:
    """Re-raise a ConfigError that a model/data ``__init__`` raised and jsonargparse wrapped.

    Its path is made relative to the config (``model.init_args.val_evaluator.type``).
    """
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, ConfigError):
            section = "data" if 'key "data"' in str(exc) else "model"
            prefix = f"{section}.init_args"
            if cur.path and not cur.path.startswith((f"{section}.", "model.", "data.")):
                cur.path = f"{prefix}.{cur.path}"
            elif not cur.path:
                cur.path = prefix
            raise cur from None
        cur = cur.__cause__ or cur.__context__


def RuntimeCLI(sections: Mapping[str, Any]) -> Any:  # noqa: N802 - reads like the class it builds
    """Instantiate ``model``/``data`` from LightningCLI-style sections (``run=False``)."""
    import lightning.pytorch as pl

    cls = _runtime_cli_class()
    args = {k: v for k, v in sections.items() if k in ("model", "data")}
    argv, sys.argv = sys.argv, sys.argv[:1]  # LightningCLI warns when it sees both args and argv
    try:
        return cls(
            model_class=pl.LightningModule,
            datamodule_class=pl.LightningDataModule if "data" in args else None,
            subclass_mode_model=True,
            subclass_mode_data=True,
            save_config_callback=None,
            seed_everything_default=False,
            auto_configure_optimizers=False,
            args=args,
            run=False,
            parser_kwargs={"exit_on_error": False},
        )
    except SystemExit as exc:  # jsonargparse reports its own errors by exiting
        _raise_inner_config_error(exc)
        raise ConfigError("model/data sections could not be instantiated", path="model",
                          fix="check class_path and init_args against the class signature") from exc
    except Exception as exc:  # noqa: BLE001 - jsonargparse raises its own ArgumentError types
        _raise_inner_config_error(exc)
        if type(exc).__name__ in ("ArgumentError", "ParserError"):
            raise ConfigError(str(exc).splitlines()[0], path="model/data",
                              fix="check class_path and init_args against the class signature") from exc
        raise
    finally:
        sys.argv = argv


def _openmmlab_model_error(model: Mapping[str, Any]) -> ConfigError:
    """``fit`` on an MMSeg/MMDet config: its ``model=dict(type='EncoderDecoder', ...)`` is not built here."""
    return ConfigError(
        f"model = dict(type={model.get('type')!r}, ...) is an OpenMMLab model, which lightning_runtime does "
        "not build: the config's runtime sections are translated, the model must be a LightningModule",
        path="model.type",
        fix="give your LightningModule in a second config or on the command line: model: {_delete_: true, "
            "class_path: my_pkg.MyModule, init_args: {...}} or --model.class_path=my_pkg.MyModule "
            "(README: 'Use it from Python' shows such a module)")


def _instantiate(sections: Mapping[str, Any], need_model: bool,
                 config_model: Any = None) -> tuple[Any, Any]:
    if "model" not in sections:
        if need_model and isinstance(config_model, Mapping) and "type" in config_model:
            raise _openmmlab_model_error(config_model)
        if need_model:
            raise ConfigError(
                "no LightningModule given", path="model",
                fix="add model = dict(class_path='my_pkg.MyModule', init_args=dict(...)) "
                "(YAML: model: {class_path: ..., init_args: {...}})")
        return None, None
    cli = RuntimeCLI(sections)
    return cli.model, getattr(cli, "datamodule", None)


def _default_fix(err: ConfigError) -> str | None:
    """A ``fix:`` line for an error raised without one, from its candidates or expectation."""
    if err.candidates:
        return f"use {err.candidates[0]!r} (the closest valid name) or another of the names above"
    if err.expected:
        where = f"{err.path} " if err.path else ""
        return f"change {where}to what is expected above"
    return None


def _run(inv: Invocation) -> int:
    cfg = load_merged(inv.configs, inv.overrides)  # before Lightning is imported: file errors exit fast
    from lightning_runtime.runtime._runtime import Runtime

    try:
        return _run_config(inv, cfg, Runtime)
    except ConfigError as err:
        raise locate_error(err, cfg)


def _ckpt_path_as_resume(cfg: Any, ckpt_path: Any) -> None:
    """``fit --ckpt_path=X`` (LightningCLI) resumes from X: the same as MMEngine's ``resume=X``.

    Both naming different checkpoints is refused: which one wins would be a guess.
    """
    if not isinstance(ckpt_path, str) or not ckpt_path:
        raise ConfigError(f"must be a checkpoint file path, got {ckpt_path!r}", path="ckpt_path",
                          fix="write --ckpt_path=work_dirs/run/iter_4000.pth, or use resume=True")
    resume = cfg.get("resume")
    if resume not in (None, False, True, ckpt_path):
        raise ConfigError(
            f"ckpt_path={ckpt_path!r} and resume={resume!r} both name the checkpoint to resume from",
            path="ckpt_path", fix="keep one: resume='PATH' (MMEngine) or --ckpt_path=PATH (LightningCLI)")
    cfg["resume"] = ckpt_path


def _config_text(cfg: Any) -> str:
    """The resolved config in the (first) input's format: YAML for .yaml/.yml, Python otherwise.

    It loads back equal, and a ``#`` line says where ``fit`` saves it (LightningCLI prints the
    config it would save, in its YAML, the same way).
    """
    from lightning_runtime.config._yaml import dump_yaml
    from lightning_runtime.runtime._config_dump import config_dump_path

    name = str(getattr(cfg, "filename", None) or "")
    work_dir = cfg.get("work_dir") or str(Path("work_dirs") / (Path(name).stem or "run"))
    saved = config_dump_path(cfg, Path(str(work_dir)), "<timestamp>")
    head = f"# resolved config; fit saves it as {saved} when training starts\n"
    if name.endswith((".yaml", ".yml")):
        return head + dump_yaml(cfg.to_dict())
    return head + cfg.pretty_text


def _run_config(inv: Invocation, cfg: Any, Runtime: type) -> int:  # noqa: N803 - the class
    if inv.print_config:
        print(_config_text(cfg), end="")
        return 0
    sections, trainer_overrides = split_lightning_sections(cfg)
    sub = inv.subcommand
    if sub == "fit" and sections.get("ckpt_path") is not None:
        _ckpt_path_as_resume(cfg, sections["ckpt_path"])
    rt = Runtime(cfg)
    if sub == "explain":
        from lightning_runtime.explain import explain, plot_lr

        model, _ = _instantiate(sections, need_model=False)
        print(explain(rt, model, epoch_length=inv.epoch_length))
        if inv.plot:
            written = plot_lr(rt, inv.plot, model, epoch_length=inv.epoch_length)
            print(f"\nlearning-rate plot written to {written}")
        return 0
    model, datamodule = _instantiate(sections, need_model=True, config_model=cfg.get("model"))
    trainer_overrides = _build_trainer_objects(trainer_overrides)
    ckpt_path = sections.get("ckpt_path")
    if sub == "fit":
        from lightning_runtime.runtime._config_dump import config_dump_path

        saved = config_dump_path(cfg, rt.ctx.work_dir, rt.ctx.timestamp)
        trainer = rt.fit(model, datamodule=datamodule, **trainer_overrides)
        if trainer.is_global_zero:
            print(f"work_dir: {rt.ctx.work_dir}  (log: {rt.ctx.log_dir}, resolved config: {saved})")
    elif sub == "validate":
        rt.validate(model, datamodule=datamodule, ckpt_path=ckpt_path, **trainer_overrides)
    elif sub == "test":
        rt.test(model, datamodule=datamodule, ckpt_path=ckpt_path, **trainer_overrides)
    else:  # predict
        if ckpt_path not in (None, "best", "last", "hpc", "registry"):
            from lightning_runtime.checkpoint._resume import check_checkpoint_path

            check_checkpoint_path(ckpt_path, model, "ckpt_path")  # a ConfigError before anything is written
        trainer = rt.build_trainer(**trainer_overrides)
        trainer.predict(model, datamodule=datamodule, ckpt_path=ckpt_path)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``lightning-runtime`` console script; returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["export"]:  # positional arguments, no config: its own parser
        from lightning_runtime.cli._export import export_main

        return export_main(argv[1:])
    try:
        inv = parse_invocation(argv)
        if inv.help:
            if inv.subcommand:
                from lightning_runtime.cli._help import subcommand_help

                print(subcommand_help(inv.subcommand, inv.class_help))
            else:
                print(USAGE)
            return 0
        return _run(inv)
    except ConfigError as err:
        if not err.fix:
            err.fix = _default_fix(err)
        print(f"lightning-runtime: config error\n{err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
