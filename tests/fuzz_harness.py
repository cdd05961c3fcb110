"""Config fuzzing for issue 13: seeded mutants, a sandboxed runner, outcome classes (not a test module).

Used by ``tests/test_fuzz_safety.py`` (a few hundred mutants) and ``benchmarks/fuzz_configs.py``
(thousands). Three parts:

* **Generation** (:func:`generate`): hand-written tricks (dangerous ``type=`` callables in every
  slot, memory/time bombs, odd values, loader edge cases; see :data:`TRICKS`) plus seeded mutants of
  the installed MMSegmentation 1.2.2 configs and this repository's demo configs, made by the
  operators in :data:`OPERATORS`. Each mutant is a ``.py`` (some ``.yaml``/``.json``) file.
* **Running** (:func:`run_mutants`): batches of mutants in child processes (this file run as a
  script) under ``RLIMIT_AS``, a per-mutant timer and a wall-clock watchdog. The child installs a
  ``sys.addaudithook`` that records (and blocks) writes, deletes, renames and directory changes
  outside the mutant's scratch ``work_dir``, and every process spawn; it also compares a "victims"
  directory (the cwd, and the files the tricks aim at) before and after each mutant, which catches
  writes done in C (``torch.save``'s zip writer) that raise no audit event.
* **Classification**: each mutant runs what ``lightning-runtime explain`` runs, in process
  (``load_merged`` -> ``split_lightning_sections`` -> ``Runtime`` -> model instantiation ->
  :func:`lightning_runtime.explain.explain`), then builds the Trainer as ``fit`` would
  (``rt.build_trainer(**trainer_section)``). Outcome: ``loads``, ``ConfigError`` (``str(err)`` has a
  ``fix:`` line), or a failure: ``FAIL:nofix``, ``FAIL:exception``, ``FAIL:timeout``,
  ``FAIL:memory``, ``FAIL:crash`` (the child died), ``FAIL:write``, ``FAIL:spawn``.

Example:
    >>> mutants = generate(50, seed=0)                       # doctest: +SKIP
    >>> results = run_mutants(mutants, Path('/tmp/fuzz'))    # doctest: +SKIP
    >>> summarize(results)['outcomes']                       # doctest: +SKIP
    {'loads': 31, 'ConfigError': 19}
"""

from __future__ import annotations

import copy
import glob
import json
import keyword
import math
import os
import random
import re
import selectors
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Any

__all__ = [
    "Mutant", "Result", "TRICKS", "OPERATORS", "OK_OUTCOMES", "AREAS",
    "CANARIES", "canaries", "mmseg_config_dir", "seed_config_paths", "generate", "tricks", "write_mutant",
    "run_mutants", "summarize", "area_of", "markdown_report", "minimize",
]

REPO = Path(__file__).resolve().parents[1]
OK_OUTCOMES = ("loads", "ConfigError", "loads:suspect")
VICTIM = "@VICTIM@"  # an existing file the tricks aim at (must stay unchanged)
SENTINEL = "@SENTINEL@"  # a file the tricks try to create (must not appear)
VICTIM_DIR = "@VICTIM_DIR@"

#: Which helper of issue 13 owns a source file (the innermost frame of a traceback decides).
AREAS: dict[str, tuple[str, ...]] = {
    "A types": ("registry.py", "optim/_constructor.py", "optim/_spec.py", "optim/_layer_decay.py",
                "optim/_builder.py", "hooks/_builder.py", "evaluation/_build.py", "runtime/_loggers.py",
                "cli/_main.py"),
    "B checkpoints": ("callbacks/checkpoint.py", "checkpoint/_resume.py", "checkpoint/_load_from.py",
                      "checkpoint/_io.py", "checkpoint/_lock.py"),
    "C loader": ("config/_loader.py", "config/_evaluator.py", "config/_limits.py", "config/_format.py",
                 "config/_locate.py", "config/_merge.py", "config/_text.py",
                 "config/_types.py", "config/_yaml.py"),
    "D runtime": ("runtime/_runtime.py", "runtime/_env.py", "runtime/_loops.py", "runtime/_precision.py",
                  "runtime/_data.py", "config/_legacy.py", "cli/_args.py", "explain.py",
                  "callbacks/early_stopping.py", "schedulers/_build.py", "errors.py"),
}


# ----------------------------------------------------------------------------------------- data


@dataclass
class Mutant:
    """One fuzz input: a config file (plus extra files beside it) and CLI-style overrides.

    Attributes:
        name: Stable identifier (``trick:<name>`` or ``m<seed>_<i>:<operator>:<source>``).
        operator: The mutation operator or ``trick`` family.
        source: The seed config it came from (or ``-``).
        filename: File name of the config (its suffix picks the format).
        text: File content; ``bytes`` for inputs that are not valid UTF-8.
        extra: Other files written beside it (``{relative name: content}``), e.g. ``_base_`` files.
        overrides: Dotted ``key=value`` overrides, as given on the command line.
        keep_work_dir: Do not point ``work_dir`` into the scratch dir (tricks about ``work_dir``).
        keys: Top-level keys the mutation touched (used by :func:`minimize`).
        expect: ``"load"`` for a valid config (a ConfigError is ``FAIL:refused``), ``"error"`` when
            loading must fail (loading is ``FAIL:accepted``), ``"error?"`` when it probably should
            (loading is ``loads:suspect``, reported but not a failure), ``""`` when either is fine.
    """

    name: str
    operator: str
    source: str
    filename: str
    text: str | bytes
    extra: dict[str, str | bytes] = field(default_factory=dict)
    overrides: list[str] = field(default_factory=list)
    keep_work_dir: bool = False
    keys: list[str] = field(default_factory=list)
    expect: str = ""


@dataclass
class Result:
    """What one mutant did (see the module docstring for the outcome classes)."""

    name: str
    operator: str
    outcome: str
    stage: str = ""
    error_type: str = ""
    message: str = ""
    where: str = ""  # innermost lightning_runtime frame: file:line:function
    violations: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    path: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome in OK_OUTCOMES

    @property
    def kind(self) -> str:
        """A signature for grouping failures: outcome, exception type and where it was raised."""
        if self.outcome in ("FAIL:write", "FAIL:spawn"):
            return f"{self.outcome} {self.violations[0].split(' ', 1)[0] if self.violations else ''} @ {self.where}"
        if self.outcome == "FAIL:nofix":
            return f"{self.outcome} @ {self.where}: {_normalize(self.message)[:60]}"
        if self.outcome == "FAIL:accepted":
            trick = self.name.split(":", 1)[-1]
            slot = _DANGER_INDEX[trick][0] if trick in _DANGER_INDEX else trick
            return f"{self.outcome} {slot}"
        return f"{self.outcome} {self.error_type} @ {self.where or self.stage}"


def _normalize(msg: str) -> str:
    msg = msg.splitlines()[0] if msg else ""
    msg = re.sub(r"^\S+?:\d+: |^/\S+: ", "", msg)
    msg = re.sub(r"'[^']*'", "'…'", msg)
    return re.sub(r"\d+", "N", msg)


def area_of(result: Result) -> str:
    """The helper area (``A types`` … ``D runtime``) of the innermost project frame of a failure."""
    if result.outcome == "FAIL:accepted":  # a type= the registry or the slot's builder let through
        return "A types"
    where = result.where.split(":", 1)[0]
    for area, files in AREAS.items():
        if any(where == f or where.endswith("/" + f) for f in files):
            return area
    if result.stage == "load":
        return "C loader"
    return "D runtime" if where else "?"


# ----------------------------------------------------------------------------------- seeds


def mmseg_config_dir() -> Path | None:
    """``mmseg/.mim/configs`` of the installed MMSegmentation (found without importing it)."""
    spec = find_spec("mmseg")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / ".mim" / "configs"
    return path if path.is_dir() else None


def seed_config_paths() -> list[Path]:
    """The MMSeg model configs (not ``_base_``) and this repository's demo configs, sorted."""
    out: list[Path] = []
    root = mmseg_config_dir()
    if root is not None:
        out += sorted(Path(p) for p in glob.glob(str(root / "*" / "*.py")) if "/_base_/" not in p)
    out += sorted((REPO / "configs" / "demo").glob("*.py"))
    out += sorted((REPO / "configs" / "demo").glob("*.yaml"))
    return out


def _seed_label(path: Path) -> str:
    root = mmseg_config_dir()
    if root is not None and root in path.parents:
        return "mmseg::" + str(path.relative_to(root))
    return str(path.relative_to(REPO)) if REPO in path.parents else str(path)  # the demo configs


# ----------------------------------------------------------------------------------- writing


class Raw:
    """A Python expression written verbatim into a ``.py`` config (no YAML/JSON form)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"Raw({self.text[:40]!r})"

    def __deepcopy__(self, memo: dict[int, Any]) -> Raw:
        return self


def _has_raw(value: Any) -> bool:
    if isinstance(value, Raw):
        return True
    if isinstance(value, dict):
        return any(_has_raw(k) or _has_raw(v) for k, v in value.items())
    if isinstance(value, (list, tuple, set)):
        return any(_has_raw(v) for v in value)
    return False


def py_expr(value: Any) -> str:
    """``value`` as Python source the safe loader reads back (NaN/inf as ``float('nan')``)."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "float('nan')"
        if math.isinf(value):
            return "float('inf')" if value > 0 else "-float('inf')"
        return repr(value)
    if isinstance(value, (int, str, bytes)):
        return repr(value)
    if isinstance(value, dict):
        if all(isinstance(k, str) and k.isidentifier() and not keyword.iskeyword(k) for k in value):
            return "dict(" + ", ".join(f"{k}={py_expr(v)}" for k, v in value.items()) + ")"
        return "{" + ", ".join(f"{py_expr(k)}: {py_expr(v)}" for k, v in value.items()) + "}"
    if isinstance(value, tuple):
        inner = ", ".join(py_expr(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(py_expr(v) for v in value) + "]"
    if isinstance(value, (set, frozenset)):
        return "{" + ", ".join(py_expr(v) for v in value) + "}" if value else "set()"
    return repr(value)


def to_py(cfg: dict[str, Any], header: str = "") -> str:
    """A flat ``.py`` config: one ``key = <expr>`` line per top-level key."""
    lines = [header] if header else []
    for key, value in cfg.items():
        if isinstance(key, str) and key.isidentifier() and not keyword.iskeyword(key):
            lines.append(f"{key} = {py_expr(value)}")
    return "\n".join(lines) + "\n"


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k if isinstance(k, (str, int, float, bool)) or k is None else str(k): _plain(v)
                for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    return value


def to_yaml(cfg: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(_plain(cfg), sort_keys=False, allow_unicode=True, width=120)


def to_json(cfg: dict[str, Any]) -> str:
    return json.dumps(_plain(cfg), indent=1, default=str)


# ----------------------------------------------------------------------------------- operators

_DANGEROUS: list[tuple[str, dict[str, Any]]] = [
    ("os.system", {"command": f"touch {SENTINEL}"}),
    ("subprocess.run", {"args": f"touch {SENTINEL}", "shell": True}),
    ("subprocess.Popen", {"args": ["touch", SENTINEL]}),
    ("torch.save", {"obj": 1, "f": VICTIM}),
    ("logging.basicConfig", {"filename": VICTIM, "filemode": "w", "force": True}),
    ("sys.exit", {"status": 3}),
    ("builtins.eval", {"source": f"__import__('os').system('touch {SENTINEL}')"}),
    ("builtins.exec", {"source": f"open('{SENTINEL}', 'w')"}),
    ("builtins.open", {"file": VICTIM, "mode": "w"}),
    ("os.remove", {"path": VICTIM}),
    ("os.makedirs", {"name": SENTINEL}),
    ("shutil.rmtree", {"path": VICTIM_DIR}),
    ("io.FileIO", {"file": VICTIM, "mode": "w"}),
    ("logging.FileHandler", {"filename": VICTIM, "mode": "w"}),
    ("pathlib.Path.write_text", {"self": VICTIM, "data": "x"}),
    ("os.execv", {"path": "/bin/true", "argv": ["true"]}),
    ("builtins.dict", {}),
    ("torch.optim.SGD", {"lr": 0.1}),
    ("lightning.pytorch.callbacks.ModelCheckpoint", {"dirpath": VICTIM_DIR}),
    ("lightning_runtime.hooks.Hook", {}),
]

_ODD_VALUES: list[Any] = [None, "text", 7, -3, 0, 2.5, True, [], {}, [1, "a"], {"x": 1}, (1, 2),
                          "", "\x00", "é", float("nan"), "os.system"]
_ODD_NUMBERS: list[Any] = [10**30, -1, -10**9, 0, float("nan"), float("inf"), -float("inf"), 1e308,
                           2.5, 1.5, "5", None, True, 2**63, 1e-300]
_LEGACY_KEYS = ["lr_config", "optimizer_config", "runner", "log_config", "checkpoint_config", "evaluation",
                "total_epochs", "workflow", "dist_params", "resume_from", "momentum_config", "optimizer"]


def _paths(value: Any, prefix: tuple[Any, ...] = (), depth: int = 0) -> list[tuple[Any, ...]]:
    """Every path to a node (dict keys / list indices), the root excluded; bounded depth."""
    out: list[tuple[Any, ...]] = []
    if depth > 12:
        return out
    if isinstance(value, dict):
        for k, v in value.items():
            out.append(prefix + (k,))
            out += _paths(v, prefix + (k,), depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.append(prefix + (i,))
            out += _paths(v, prefix + (i,), depth + 1)
    return out


def _get(root: Any, path: Sequence[Any]) -> Any:
    for p in path:
        root = root[p]
    return root


def _set(root: Any, path: Sequence[Any], value: Any) -> None:
    _get(root, path[:-1])[path[-1]] = value


def _dicts(cfg: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [()] + [p for p in _paths(cfg) if isinstance(_get(cfg, p), dict)]


def _typo(key: str, rng: random.Random) -> str:
    if len(key) < 3:
        return key + "x"
    i = rng.randrange(len(key) - 1)
    choice = rng.randrange(3)
    if choice == 0:
        return key[:i] + key[i + 1] + key[i] + key[i + 2:]  # swap
    if choice == 1:
        return key[:i] + key[i + 1:]  # drop
    return key[:i] + key[i] * 2 + key[i + 1:]  # double


def op_retype(cfg: dict[str, Any], rng: random.Random) -> str:
    """Replace a value by a value of another type."""
    paths = [p for p in _paths(cfg) if p[0] != "_base_"]
    path = rng.choice(paths)
    old = _get(cfg, path)
    choices = [v for v in _ODD_VALUES if type(v) is not type(old)]
    _set(cfg, path, copy.deepcopy(rng.choice(choices)))
    return str(path[0])


def op_delete(cfg: dict[str, Any], rng: random.Random) -> str:
    """Delete a key of some dict."""
    paths = [p for p in _paths(cfg) if isinstance(_get(cfg, p[:-1]), dict)]
    path = rng.choice(paths)
    del _get(cfg, path[:-1])[path[-1]]
    return str(path[0])


def op_unknown_key(cfg: dict[str, Any], rng: random.Random) -> str:
    """Insert an unknown key (a typo of a sibling, or a made-up name) into some dict."""
    path = rng.choice(_dicts(cfg))
    target = _get(cfg, path)
    keys = [k for k in target if isinstance(k, str)]
    new = _typo(rng.choice(keys), rng) if keys and rng.random() < 0.7 else rng.choice(
        ["zz_unknown", "lr_mult", "interval", "by_epoch", "type", "_delete_", "priority"])
    target[new] = copy.deepcopy(rng.choice(_ODD_VALUES + [1, 0.1, "SGD"]))
    return str(path[0]) if path else new


def op_danger_type(cfg: dict[str, Any], rng: random.Random) -> str:
    """Replace a ``type`` (or a constructor / class_path) by a dangerous dotted callable."""
    typed = [p for p in _dicts(cfg) if p and isinstance(_get(cfg, p).get("type"), str)]
    name, kwargs = rng.choice(_DANGEROUS)
    if typed and rng.random() < 0.85:
        path = rng.choice(typed)
        target = _get(cfg, path)
        if rng.random() < 0.5:
            for k in [k for k in target if k != "type"]:
                del target[k]
        target["type"] = name
        target.update(copy.deepcopy(kwargs))
        return str(path[0])
    slot = rng.choice(["constructor", "class_path", "trainer.plugins", "trainer.callbacks", "trainer.logger"])
    if slot == "constructor":
        cfg.setdefault("optim_wrapper", {"optimizer": {"type": "SGD", "lr": 0.01}})
        if isinstance(cfg["optim_wrapper"], dict):
            cfg["optim_wrapper"]["constructor"] = name
        return "optim_wrapper"
    if slot == "class_path":
        cfg[rng.choice(["model", "data"])] = {"class_path": name, "init_args": copy.deepcopy(kwargs)}
        return "model"
    cfg["trainer"] = {slot.split(".")[1]: [name] if rng.random() < 0.5 else [dict(type=name, **kwargs)]}
    return "trainer"


def op_nest(cfg: dict[str, Any], rng: random.Random) -> str:
    """Deep-nest a subtree, or duplicate it many times."""
    path = rng.choice([p for p in _paths(cfg) if p[0] != "_base_"])
    if rng.random() < 0.5:
        depth = rng.choice([30, 120, 400, 1200, 5000])
        opener, closer = rng.choice([("[", "]"), ("dict(a=", ")"), ("(", ",)"), ("{'k': ", "}")])
        _set(cfg, path, Raw(opener * depth + py_expr(_get(cfg, path)) + closer * depth))
    else:
        sub = _get(cfg, path)
        times = rng.choice([10, 1000, 60000])
        _set(cfg, path, [copy.deepcopy(sub) for _ in range(min(times, 50))] if times <= 50 else
             Raw(f"[{py_expr(sub)}] * {times}"))
    return str(path[0])


def op_number(cfg: dict[str, Any], rng: random.Random) -> str:
    """Swap a number for a huge, negative, zero, NaN, inf, float or string one."""
    nums = [p for p in _paths(cfg) if isinstance(_get(cfg, p), (int, float)) and not isinstance(_get(cfg, p), bool)]
    if not nums:
        return op_retype(cfg, rng)
    path = rng.choice(nums)
    _set(cfg, path, rng.choice(_ODD_NUMBERS))
    return str(path[0])


def op_legacy(cfg: dict[str, Any], rng: random.Random) -> str:
    """Add a legacy (MMCV 0.x) key, often with a non-dict value."""
    key = rng.choice(_LEGACY_KEYS)
    cfg[key] = copy.deepcopy(rng.choice(_ODD_VALUES + [{"policy": "poly", "power": 0.9}, {"interval": 50},
                                                       {"type": "IterBasedRunner", "max_iters": 10}]))
    return key


def op_custom_imports(cfg: dict[str, Any], rng: random.Random) -> str:
    """Set ``custom_imports`` to an odd value."""
    cfg["custom_imports"] = copy.deepcopy(rng.choice([
        {"imports": True}, {"imports": [".hooks"]}, {"imports": [""]}, {"imports": [".."]},
        {"imports": ["no_such_module_xyz"]}, {"imports": ["no_such_module_xyz"], "allow_failed_imports": True},
        {"imports": "os"}, {"imports": [5]}, {"imports": [None]}, {"imports": ["os"], "allow_failed_imports": "yes"},
        {"imports": ["os"], "zz": 1}, "os", 5, [], {"imports": ["lightning_runtime.demo.hooks"]},
        {"imports": ["os.path.join"]}, {"imports": ["a" * 300]},
    ]))
    return "custom_imports"


def op_override(cfg: dict[str, Any], rng: random.Random) -> list[str]:
    """CLI overrides (``--a.b=VALUE``) of a random path with an odd value text."""
    paths = [p for p in _paths(cfg) if p[0] != "_base_" and all(isinstance(x, (str, int)) for x in p)]
    out = []
    for _ in range(rng.randint(1, 2)):
        path = list(rng.choice(paths)) if paths else ["train_cfg", "max_iters"]
        if rng.random() < 0.2 and isinstance(path[-1], int):
            path[-1] = rng.choice([-1, -100, 99])
        value = rng.choice(["1e400", "-1", "nan", "None", "[1,2]", "{'a': 1}", "os.system", "gloo", "", "'x'",
                            "dict(type='os.system')", "1" * 400, "[" * 300 + "]" * 300, "True"])
        out.append(".".join(str(p) for p in path) + "=" + value)
    return out


OPERATORS: dict[str, Callable[[dict[str, Any], random.Random], Any]] = {
    "retype": op_retype,
    "delete": op_delete,
    "unknown_key": op_unknown_key,
    "danger_type": op_danger_type,
    "nest": op_nest,
    "number": op_number,
    "legacy": op_legacy,
    "custom_imports": op_custom_imports,
    "override": op_override,
    "base_merge": op_retype,  # a child with _base_ = [the seed] and one mutated top-level section
}


# ----------------------------------------------------------------------------------- tricks

def _mmseg_bases() -> str:
    root = mmseg_config_dir()
    if root is None:  # without MMSeg: this repository's copies of the same runtime and schedule
        root = REPO / "configs"
    files = [root / "_base_" / "default_runtime.py", root / "_base_" / "schedules" / "schedule_20k.py"]
    return "_base_ = [" + ", ".join(repr(str(f)) for f in files) + "]\n"


_BASES = _mmseg_bases()
_DEMO = f"_base_ = ['{REPO / 'configs' / 'demo' / 'seg_vit_shapes.py'}']\n"


def _t(text: str, base: str = _BASES) -> str:
    return base + text


def _yaml_doubling(levels: int) -> str:
    lines = ["a0: xxxxxxxxxx"] + [f"a{i}: ${{a{i - 1}}}${{a{i - 1}}}" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def _yaml_laughs() -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


_DANGER_INDEX: dict[str, tuple[str, str]] = {}


def _danger_slots() -> dict[str, str]:
    """``type=`` of every registry slot set to each dangerous callable (one trick per pair)."""
    slots = {
        "optimizer": "optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type={T}, {K}))",
        "optim_wrapper": "optim_wrapper = dict(type={T}, optimizer=dict(type='SGD', lr=0.01), {K})",
        "constructor": "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01), constructor={T})",
        "scheduler": "param_scheduler = [dict(type={T}, {K})]",
        "custom_hook": "custom_hooks = [dict(type={T}, {K})]",
        "default_hook": "default_hooks = dict(logger=dict(type={T}, {K}))",
        "val_evaluator": "val_evaluator = dict(type={T}, {K})",
        "test_evaluator": "test_evaluator = dict(type={T}, {K})",
        "vis_backend": "visualizer = dict(type='SegLocalVisualizer', vis_backends=[dict(type={T}, {K})])",
        "visualizer": "visualizer = dict(type={T}, {K})",
        "train_loop": "train_cfg = dict(type={T}, max_iters=10, {K})",
        "model_wrapper": "model_wrapper_cfg = dict(type={T}, {K})",
        "log_processor": "log_processor = dict(type={T}, {K})",
        "model_class_path": "model = dict(class_path={T}, init_args=dict({K}))",
        "data_class_path": "data = dict(class_path={T}, init_args=dict({K}))",
        "model_type": "model = dict(type={T}, {K})",
        "trainer_plugins": "trainer = dict(plugins=[{T}])",
        "trainer_callbacks": "trainer = dict(callbacks=[dict(type={T}, {K})])",
    }
    out = {}
    for slot, tmpl in slots.items():
        for name, kwargs in _DANGEROUS:
            kw = ", ".join(f"{k}={py_expr(v)}" for k, v in kwargs.items()) or "_x=None"
            line = tmpl.replace("{T}", repr(name)).replace("{K}", kw)
            out[f"danger_{slot}_{name}"] = _t(line + "\n")
            _DANGER_INDEX[f"danger_{slot}_{name}"] = (slot, name)
    return out


def _tricks_text() -> dict[str, tuple[str, str | bytes, dict[str, str | bytes], list[str], bool]]:
    """``{name: (filename, text, extra files, overrides, keep_work_dir)}``."""
    T: dict[str, tuple[str, str | bytes, dict[str, str | bytes], list[str], bool]] = {}

    def py(name: str, text: str | bytes, extra: dict[str, str | bytes] | None = None,
           overrides: list[str] | None = None, keep: bool = False, base: str = _BASES) -> None:
        body = text if isinstance(text, bytes) else _t(text, base)
        T[name] = ("cfg.py", body, extra or {}, overrides or [], keep)

    def raw(name: str, filename: str, text: str | bytes, extra: dict[str, str | bytes] | None = None) -> None:
        T[name] = (filename, text, extra or {}, [], False)

    for name, text in _danger_slots().items():
        T[name] = ("cfg.py", text, {}, [], False)
    # valid configs that must load (controls of the loader paths the tricks use)
    T["valid_mmseg_scope_base"] = ("cfg.py", "_base_ = ['mmseg::_base_/schedules/schedule_20k.py']\n", {}, [], False)
    T["valid_bases"] = ("cfg.py", _t("x = 1\n"), {}, [], False)
    T["valid_demo"] = ("cfg.py", _t("", _DEMO), {}, [], False)
    T["valid_custom_imports_os"] = ("cfg.py", _t("custom_imports = dict(imports=['os.path'])\n"), {}, [], False)
    T["valid_yaml_demo"] = ("cfg.yaml", f"_base_: [{REPO / 'configs' / 'demo' / 'seg_vit_shapes.yaml'}]\n", {}, [], False)
    # the issue's own examples, verbatim where possible
    py("issue_torch_save", f"optim_wrapper = dict(optimizer=dict(type='torch.save', f='{VICTIM}', obj=1))\n")
    py("issue_basicConfig", "visualizer = dict(vis_backends=[dict(type='logging.basicConfig', "
       f"filename='{VICTIM}', filemode='w', force=True)])\n")
    py("issue_os_system_eval", f"val_evaluator = dict(type='os.system', command='touch {SENTINEL}')\n")
    py("issue_subprocess_run", f"val_evaluator = dict(type='subprocess.run', args='touch {SENTINEL}', shell=True)\n")
    py("issue_constructor_os_system", "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01), constructor='os.system')\n")
    py("issue_sys_exit", "optim_wrapper = dict(optimizer=dict(type='sys.exit'))\n")
    py("issue_modelcheckpoint_custom_hook",
       f"custom_hooks = [dict(type='lightning.pytorch.callbacks.ModelCheckpoint', dirpath='{VICTIM_DIR}')]\n")
    py("issue_trainer_plugins", "trainer = dict(plugins=['os.system'])\n")
    py("issue_trainer_unknown_kwarg", "trainer = dict(no_such_trainer_arg=1)\n")
    py("issue_constructor_dict", "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01), constructor='builtins.dict')\n")
    # runtime values
    for i, line in enumerate([
        "model_wrapper_cfg = 2", "randomness = 'seed0'", "env_cfg = dict(mp_cfg=5)", "env_cfg = dict(dist_cfg='gloo')",
        "train_cfg = dict(type='IterBasedTrainLoop', max_iters=100, val_interval=10, val_begin=float('inf'))",
        "train_cfg = dict(type='IterBasedTrainLoop', max_iters=100, val_interval=10, dynamic_intervals=1.5)",
        "log_processor = 'by_epoch'", "log_config = 'text'", "runner = 3", "param_scheduler = ['PolyLR']",
        "param_scheduler = 1.5", "custom_imports = dict(imports=True)", "custom_imports = dict(imports=['.hooks'])",
        "custom_imports = dict(imports=[''])", "custom_imports = dict(imports=['..'])",
        "optim_wrapper = dict(optimizer={None: 1, 'type': 'SGD', 'lr': 0.1})",
        "custom_hooks = [dict(type='EarlyStoppingHook', monitor=float('nan'))]",
        "train_cfg = dict(type='IterBasedTrainLoop', max_iters=1e400)",
        "train_cfg = dict(type='IterBasedTrainLoop', max_iters=-5)",
        "train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2.5)",
        "train_cfg = dict(type='IterBasedTrainLoop', max_iters=10**30)",
        "optim_wrapper = dict(optimizer=dict(type='SGD', lr=float('nan')))",
        "optim_wrapper = dict(optimizer=dict(type='SGD', lr=-1))",
        "optim_wrapper = dict(optimizer=dict(type='SGD', lr='0.01'))",
        "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01), accumulative_counts=0)",
        "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01), clip_grad=dict(max_norm=float('inf')))",
        "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01), paramwise_cfg=dict(custom_keys=5))",
        "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01), paramwise_cfg=dict(custom_keys={'': dict(lr_mult=float('nan'))}))",
        "param_scheduler = [dict(type='PolyLR', begin=0, end=float('nan'), by_epoch=False)]",
        "param_scheduler = [dict(type='LinearLR', start_factor=0, by_epoch=False, end=10)]",
        "param_scheduler = [dict(type='PolyLR', power=-1e308, by_epoch=False)]",
        "param_scheduler = [dict(type='CosineAnnealingLR', T_max=0, by_epoch=False)]",
        "param_scheduler = [dict(type='OneCycleLR', eta_max=0.1, total_steps=0, by_epoch=False)]",
        "param_scheduler = dict(type='PolyLR', begin=10, end=5, by_epoch=False)",
        "default_hooks = dict(checkpoint=dict(type='CheckpointHook', filename_tmpl='iter_{}_{x}.pth'))",
        "default_hooks = dict(checkpoint=dict(type='CheckpointHook', filename_tmpl='iter_{1}.pth'))",
        "default_hooks = dict(checkpoint=dict(type='CheckpointHook', filename_tmpl='iter_{.pth'))",
        "default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=0))",
        "default_hooks = dict(checkpoint=dict(type='CheckpointHook', out_dir='/'))",
        f"default_hooks = dict(checkpoint=dict(type='CheckpointHook', out_dir='{VICTIM_DIR}'))",
        "default_hooks = dict(logger=dict(type='LoggerHook', interval=float('nan')))",
        "default_hooks = 5", "default_hooks = dict(timer=None, logger=[1])", "custom_hooks = dict(type='NewHook')",
        "custom_hooks = [dict(type='EMAHook', momentum=float('inf'))]", "custom_hooks = [5]",
        "custom_hooks = [dict(type='EMAHook', priority='NOT_A_PRIORITY')]",
        "custom_hooks = [dict(type='EMAHook', priority=10**100)]",
        "val_evaluator = dict(type='IoUMetric', iou_metrics=5)", "val_evaluator = [dict(type='IoUMetric'), 3]",
        "visualizer = dict(type='SegLocalVisualizer', vis_backends=5)",
        "visualizer = dict(type='SegLocalVisualizer', vis_backends=[dict(type='TensorboardVisBackend', save_dir='/')])",
        "log_level = 'LOUD'", "log_level = 5", "default_scope = 5", "launcher = 'slurm_evil'", "resume = 'yes'",
        f"load_from = '{VICTIM}'", "load_from = 5", f"resume = True\nload_from = '{VICTIM_DIR}'",
        "trainer = 5", "trainer = dict(max_epochs='x')", "trainer = dict(callbacks=5)",
        "trainer = dict(default_root_dir=5)", "data = dict(class_path='torch.nn.Linear', init_args=dict(in_features=1))",
        "model = dict(class_path='lightning.pytorch.LightningModule', init_args=dict(zz=1))",
        "model = 5", "model = dict(class_path=5)", "model = dict(class_path='x', init_args=5, zz=1)",
        "ckpt_path = 5", "seed_everything = 'x'",
    ]):
        py(f"value_{i:02d}", line + "\n")
    # work_dir (kept as written)
    for i, line in enumerate(["work_dir = 5", "work_dir = 'a\\x00b'", f"work_dir = '{VICTIM}'",
                              "work_dir = '/proc/1/nope'", "work_dir = ''", "work_dir = None",
                              f"work_dir = '{VICTIM_DIR}/../..'"]):
        py(f"work_dir_{i}", line + "\n", keep=True)
    # overrides
    for i, ov in enumerate(["train_cfg.max_iters=1e400", "param_scheduler.-1.end=1", "env_cfg.dist_cfg=gloo",
                            "optim_wrapper.optimizer.type=os.system", "param_scheduler.99.end=1",
                            "optim_wrapper.optimizer=None", "a.b.c.d.e.f=1", "=1", "train_cfg=[1]",
                            "param_scheduler=[]", "default_hooks.checkpoint.type=torch.save",
                            "optim_wrapper.constructor=os.system", "custom_imports.imports=[os]",
                            "trainer.plugins=[os.system]", "work_dir=5"]):
        py(f"override_{i:02d}", "", overrides=[ov], keep=ov.startswith("work_dir"))
    # loader: code, recursion, odd python
    py("loader_a_eq_list_a", "a = []\n" + "a = [a]\n" * 600, base="")
    py("loader_self_ref", "d = dict()\nd['x'] = d\n", base="")
    py("loader_update_in_comp", "d = dict(a=1, b=2)\nx = [d.update({k + 'x': 1}) for k in d]\n", base="")
    py("loader_keys_view", "d = dict(a=1)\nx = d.keys()\n", base="")
    py("loader_zip", "x = zip([1], [2])\n", base="")
    py("loader_import", "import os\nos.system('touch " + SENTINEL + "')\n", base="")
    py("loader_dunder", "x = ().__class__.__base__.__subclasses__()\n", base="")
    py("loader_getattr", "x = getattr(dict, 'fromkeys')\n", base="")
    py("loader_lambda", "f = lambda: 1\nx = f()\n", base="")
    py("loader_def", "def f():\n    return 1\nx = f()\n", base="")
    py("loader_open", f"x = open('{VICTIM}', 'w')\n", base="")
    py("loader_exec", f"exec(\"open('{SENTINEL}', 'w')\")\n", base="")
    py("loader_walrus", "x = [(y := 1)]\n", base="")
    py("loader_fstring_width", "x = f'{1:{10**9}}'\n", base="")
    py("loader_percent_star", "x = '%*d' % (1500000000, 1)\n", base="")
    py("loader_format_width", "x = '{:1000000000}'.format(1)\n", base="")
    py("loader_str_mul", "x = 'x' * 10**9\n", base="")
    py("loader_list_mul", "x = [0] * 10**9\n", base="")
    py("loader_nested_mul", "x = [[0] * 100000] * 100000\n", base="")
    py("loader_pow", "x = 10 ** 10 ** 8\n", base="")
    py("loader_pow_float", "x = 10.0 ** 10 ** 8\n", base="")
    py("loader_shift", "x = 1 << 10**10\n", base="")
    py("loader_dict_comp", "x = {i: i for i in range(10**8)}\n", base="")
    py("loader_nested_comp", "x = [i * j for i in range(10**4) for j in range(10**4)]\n", base="")
    py("loader_sorted_big", "x = sorted(range(10**9))\n", base="")
    py("loader_int_str", "x = int('9' * 100000)\n", base="")
    py("loader_str_int", "x = str(10 ** 20000)\n", base="")
    py("loader_deep_list_py", "x = " + "[" * 5000 + "]" * 5000 + "\n", base="")
    py("loader_deep_list_py_300", "x = " + "[" * 300 + "]" * 300 + "\n", base="")
    py("loader_deep_dict_py", "x = " + "dict(a=" * 600 + "1" + ")" * 600 + "\n", base="")
    py("loader_deep_paren", "x = " + "(" * 200 + "1" + ")" * 200 + "\n", base="")
    py("loader_200k_keys", "".join(f"k{i} = {i}\n" for i in range(200_000)), base="")
    py("loader_huge_dict_literal", "x = {" + ",".join(f"'k{i}': {i}" for i in range(200_000)) + "}\n", base="")
    py("loader_del_undefined", "del nothing\n", base="")
    py("loader_reserved_key", "filename = 'x'\n", base="")
    py("loader_deepcopy", "import copy\nx = copy.deepcopy(dict(a=[1]))\n", base="")
    py("loader_nul_byte", b"x = 1\x00\n")
    py("loader_non_utf8", b"x = '\xff\xfe'\n")
    py("loader_non_utf8_cookie", b"# -*- coding: latin-1 -*-\nx = '\xff'\n")
    py("loader_bad_cookie", b"# -*- coding: no-such-codec -*-\nx = 1\n")
    py("loader_utf16_bom", "x = 1\n".encode("utf-16"))
    py("loader_syntax_error", "x = (\n", base="")
    py("loader_tab_error", "if True:\n\tx = 1\n        y = 2\n", base="")
    py("loader_lone_surrogate", "x = '\\ud800'\n", base="")
    py("loader_bytes", "x = b'\\xff'\n", base="")
    py("loader_complex", "x = 1j\n", base="")
    py("loader_ellipsis", "x = ...\n", base="")
    py("loader_set_marker_py", "x = {'__lightning_runtime_set__': [[1, 2]]}\n", base="")
    py("loader_base_growth", "x = [{{_base_.r}}] * 20000\n", extra={"base.py": "r = [0] * 50000\n"},
       base="_base_ = ['base.py']\n")
    py("loader_base_text_growth", "x = '{{_base_.s}}' * 2\n", extra={"base.py": "s = 'x' * 99999\n"},
       base="_base_ = ['base.py']\n")
    py("loader_base_missing_key", "x = {{_base_.nope}}\n", extra={"base.py": "r = 1\n"}, base="_base_ = ['base.py']\n")
    py("loader_base_code", "x = {{ __import__('os').system('touch " + SENTINEL + "') }}\n",
       extra={"base.py": "r = 1\n"}, base="_base_ = ['base.py']\n")
    py("loader_base_cycle", "x = 1\n", extra={"b.py": "_base_ = ['cfg.py']\n"}, base="_base_ = ['b.py']\n")
    py("loader_base_self", "x = 1\n", base="_base_ = ['cfg.py']\n")
    py("loader_base_etc_passwd", "x = 1\n", base="_base_ = ['/etc/passwd']\n")
    py("loader_base_int", "x = 1\n", base="_base_ = [5]\n")
    py("loader_base_dir_escape", "x = 1\n", base="_base_ = ['mmseg::../../../../../../etc/hostname']\n")
    py("loader_base_scope_missing", "x = 1\n", base="_base_ = ['nopkg_xyz::a.py']\n")
    py("loader_base_victim", "x = 1\n", base=f"_base_ = ['{VICTIM}']\n")
    py("loader_base_dir", "x = 1\n", base=f"_base_ = ['{VICTIM_DIR}']\n")
    py("loader_delete_non_dict", "optim_wrapper = dict(_delete_=5, optimizer=dict(type='SGD', lr=0.1))\n")
    py("loader_delete_top", "_delete_ = True\n")
    py("loader_predefined", "x = '{{fileDirname}}/{{fileBasename}}/{{ fileExtname }}/{{nope}}'\n", base="")
    py("loader_base_var_deep", "x = {{_base_.a.b.c.d}}\n", extra={"base.py": "a = 1\n"}, base="_base_ = ['base.py']\n")
    # YAML / JSON
    raw("yaml_doubling_40", "cfg.yaml", _yaml_doubling(40))
    raw("yaml_doubling_22", "cfg.yaml", _yaml_doubling(22))
    raw("yaml_billion_laughs", "cfg.yaml", _yaml_laughs())
    raw("yaml_nested_600", "cfg.yaml", "x: " + "[" * 600 + "]" * 600 + "\n")
    raw("yaml_nested_300_map", "cfg.yaml", "x: " + "{a: " * 300 + "1" + "}" * 300 + "\n")
    raw("json_nested_600", "cfg.json", '{"x": ' + "[" * 600 + "]" * 600 + "}")
    raw("json_nested_100k", "cfg.json", '{"x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    raw("yaml_set_marker", "cfg.yaml", "x: {__lightning_runtime_set__: [[1, 2]]}\n")
    raw("yaml_tuple_marker", "cfg.yaml", "x: {__lightning_runtime_tuple__: [[1, 2]]}\n")
    raw("yaml_python_tag", "cfg.yaml", f"x: !!python/object/apply:os.system ['touch {SENTINEL}']\n")
    raw("yaml_python_name", "cfg.yaml", "x: !!python/name:os.system\n")
    raw("yaml_non_utf8", "cfg.yaml", b"x: '\xff'\n")
    raw("json_non_utf8", "cfg.json", b'{"x": "\xff"}')
    raw("json_nan", "cfg.json", '{"train_cfg": {"type": "IterBasedTrainLoop", "max_iters": NaN}}')
    raw("json_infinity", "cfg.json", '{"train_cfg": {"type": "IterBasedTrainLoop", "max_iters": Infinity}}')
    raw("json_list_top", "cfg.json", "[1, 2]")
    raw("json_dup_keys", "cfg.json", '{"a": 1, "a": 2}')
    raw("yaml_list_top", "cfg.yaml", "- 1\n- 2\n")
    raw("yaml_scalar_top", "cfg.yaml", "5\n")
    raw("yaml_empty", "cfg.yaml", "")
    raw("yaml_int_keys", "cfg.yaml", "1: 2\nnull: 3\n")
    raw("yaml_dup_keys", "cfg.yaml", "a: 1\na: 2\n")
    raw("yaml_env_resolver", "cfg.yaml", "x: ${oc.env:HOME}\n")
    raw("yaml_decode_resolver", "cfg.yaml", "x: ${oc.decode:'[1, 2]'}\n")
    raw("yaml_create_resolver", "cfg.yaml", "x: ${oc.create:{a: 1}}\n")
    raw("yaml_missing_interp", "cfg.yaml", "x: ${nope}\n")
    raw("yaml_self_interp", "cfg.yaml", "x: ${x}\n")
    raw("yaml_unknown_resolver", "cfg.yaml", "x: ${evil:1}\n")
    raw("yaml_missing_value", "cfg.yaml", "x: ???\n")
    raw("yaml_200k_keys", "cfg.yaml", "".join(f"k{i}: {i}\n" for i in range(200_000)))
    raw("yaml_type_os_system", "cfg.yaml", "optim_wrapper:\n  optimizer:\n    type: torch.save\n"
        f"    obj: 1\n    f: {VICTIM}\ntrain_cfg: {{type: IterBasedTrainLoop, max_iters: 10}}\n")
    raw("yaml_trainer_plugins", "cfg.yaml", "trainer:\n  plugins: [os.system]\n")
    raw("yaml_model_class_path", "cfg.yaml",
        f"model:\n  class_path: subprocess.Popen\n  init_args: {{args: [touch, {SENTINEL}]}}\n")
    raw("yaml_base", "cfg.yaml", "_base_: [base.yaml]\nx: ${a}\n", {"base.yaml": "a: 1\n"})
    raw("yaml_max_iters_1e400", "cfg.yaml", "train_cfg: {type: IterBasedTrainLoop, max_iters: 1e400}\n")
    raw("yaml_tab", "cfg.yaml", "a:\n\tb: 1\n")
    raw("unknown_suffix", "cfg.toml", "a = 1\n")
    raw("no_suffix", "cfg", "a = 1\n")
    return T


TRICKS: list[str] = []  # filled lazily by tricks()

#: (slot, callable) pairs of the danger tricks that name a valid class for that slot.
_VALID_IN_SLOT = {("optimizer", "torch.optim.SGD"), ("custom_hook", "lightning_runtime.hooks.Hook"),
                  ("default_hook", "lightning_runtime.hooks.Hook"),
                  ("custom_hook", "lightning.pytorch.callbacks.ModelCheckpoint"),
                  ("trainer_callbacks", "lightning.pytorch.callbacks.ModelCheckpoint")}
#: Tricks whose value is plainly wrong: loading them is reported as ``loads:suspect``.
_SUSPECT = {"value_26", "value_27", "value_48", "value_49", "value_54", "value_56", "value_58", "value_61",
            "value_66", "value_69", "value_70", "loader_delete_non_dict", "override_09"}


def _expectation(name: str) -> str:
    """What a trick must do: ``load``, ``error``, ``error?`` or ``""`` (see :class:`Mutant`)."""
    if name.startswith("valid_"):
        return "load"
    if name in _SUSPECT:
        return "error?"
    if name in _DANGER_INDEX:
        slot, callable_ = _DANGER_INDEX[name]
        if (slot, callable_) in _VALID_IN_SLOT:
            return ""
        return "error?" if slot in ("model_type", "data_class_path") else "error"
    if name.startswith(("issue_", "loader_import", "loader_exec", "loader_open", "yaml_python", "loader_base_code")):
        return "error"
    return ""


def tricks() -> list[Mutant]:
    """Every hand-written trick as a :class:`Mutant` (stable names ``trick:<name>``)."""
    out = []
    for name, (filename, text, extra, overrides, keep) in _tricks_text().items():
        family = name.split("_", 1)[0]
        out.append(Mutant(f"trick:{name}", f"trick_{family}", "-", filename, text, extra, overrides, keep,
                          expect=_expectation(name)))
    TRICKS[:] = [m.name for m in out]
    return out


# ----------------------------------------------------------------------------------- generation


def _load_seed(path: Path) -> dict[str, Any] | None:
    from lightning_runtime import load_config

    try:
        return load_config(str(path)).to_dict()
    except Exception:  # noqa: BLE001 - a seed the loader refuses is simply not used
        return None


def _control_expect(cfg: dict[str, Any]) -> str:
    """``load``, or ``error`` for a shipped config MMEngine cannot run here either / that has no stand-in.

    ``custom_imports`` of a codebase that is not installed fails in MMEngine too (ImportError);
    an evaluator with no torchmetrics stand-in (``DepthMetric``) is refused with what to do instead.
    """
    imports = (cfg.get("custom_imports") or {}).get("imports") or []
    for name in [imports] if isinstance(imports, str) else imports:
        if isinstance(name, str) and find_spec(name.split(".")[0]) is None:
            return "error"
    for key in ("val_evaluator", "test_evaluator"):
        ev = cfg.get(key)
        for item in ev if isinstance(ev, list) else [ev]:
            if isinstance(item, dict) and item.get("type") in ("DepthMetric", "CitysMetric"):
                return "error"
    return "load"


def generate(n: int, seed: int = 0, *, with_tricks: bool = True, n_seeds: int | None = None) -> list[Mutant]:
    """``n`` mutants: every trick (when ``with_tricks``) then seeded mutants of the seed configs.

    Args:
        n: Total number of mutants (the tricks count towards it; all tricks are kept even past ``n``).
        seed: Seed of the random choices; the same seed gives the same mutants.
        with_tricks: Include :func:`tricks` first.
        n_seeds: How many seed configs to draw (default: about one per 8 mutants, at least 12).
    """
    rng = random.Random(seed)
    out = tricks() if with_tricks else []
    paths = seed_config_paths()
    k = min(len(paths), n_seeds or max(12, (n - len(out)) // 8))
    demo = [p for p in paths if (REPO / "configs") in p.parents]
    others = [p for p in paths if p not in demo]
    chosen = demo + rng.sample(others, max(0, min(len(others), k - len(demo))))
    seeds = [(p, d) for p in chosen if (d := _load_seed(p)) is not None]
    ops = list(OPERATORS)
    for path, data in seeds[: max(0, min(len(seeds), (n - len(out)) // 10))]:  # controls: must load as is
        cfg = copy.deepcopy(data)
        cfg.pop("work_dir", None)
        label = _seed_label(path)
        out.append(Mutant(f"control:{label}", "control", label, "cfg.py", to_py(cfg), expect=_control_expect(cfg)))
    i = 0
    while len(out) < n and seeds:
        path, data = seeds[rng.randrange(len(seeds))]
        op = ops[i % len(ops)] if rng.random() < 0.5 else rng.choice(ops)
        m = _mutate(path, data, op, rng, f"m{seed}_{i}")
        i += 1
        if m is not None:
            out.append(m)
    return out


def _mutate(path: Path, data: dict[str, Any], op: str, rng: random.Random, tag: str) -> Mutant | None:
    cfg = copy.deepcopy(data)
    cfg.pop("work_dir", None)
    label = _seed_label(path)
    name = f"{tag}:{op}:{label}"
    try:
        if op == "override":
            overrides = op_override(cfg, rng)
            return Mutant(name, op, label, "cfg.py", to_py(cfg), overrides=overrides, keys=[o.split(".")[0] for o in overrides])
        if op == "base_merge":
            keys = [k for k in cfg if k != "_base_"]
            key = rng.choice(keys)
            sub = {key: cfg[key]}
            inner = rng.choice([o for o in OPERATORS if o not in ("override", "base_merge", "legacy", "custom_imports")])
            OPERATORS[inner](sub, rng)
            if isinstance(sub.get(key), dict) and rng.random() < 0.3:
                sub[key]["_delete_"] = True
            base = repr(str(path))
            text = to_py(sub, header=f"_base_ = [{base}]")
            return Mutant(name, op, label, "cfg.py", text, keys=list(sub))
        touched = [str(k) for k in _as_list(OPERATORS[op](cfg, rng))]
        if rng.random() < 0.3:  # a second mutation of another kind
            op2 = rng.choice([o for o in OPERATORS if o not in ("override", "base_merge")])
            touched += [str(k) for k in _as_list(OPERATORS[op2](cfg, rng))]
    except (IndexError, ValueError, KeyError, TypeError):
        return None
    fmt = rng.random()
    if not _has_raw(cfg) and fmt < 0.2:
        return Mutant(name, op, label, "cfg.yaml", to_yaml(cfg), keys=touched)
    if not _has_raw(cfg) and fmt < 0.27:
        return Mutant(name, op, label, "cfg.json", to_json(cfg), keys=touched)
    return Mutant(name, op, label, "cfg.py", to_py(cfg), keys=touched)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# ----------------------------------------------------------------------------------- running


def _subst(text: str | bytes, root: Path) -> str | bytes:
    pairs = [(VICTIM, str(root / "victims" / "victim.txt")), (SENTINEL, str(root / "victims" / "SENTINEL")),
             (VICTIM_DIR, str(root / "victims"))]
    for a, b in pairs:
        text = text.replace(a.encode(), b.encode()) if isinstance(text, bytes) else text.replace(a, b)
    return text


def write_mutant(m: Mutant, directory: Path, root: Path) -> Path:
    """Write ``m`` (and its extra files) into ``directory``; returns the config's path."""
    directory.mkdir(parents=True, exist_ok=True)
    for rel, content in [*m.extra.items(), (m.filename, m.text)]:
        target = directory / rel
        content = _subst(content, root)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8", errors="surrogatepass")
    return directory / m.filename


def _prepare_victims(root: Path) -> None:
    victims = root / "victims"
    victims.mkdir(parents=True, exist_ok=True)
    (victims / "victim.txt").write_text("precious data\n")
    (victims / "SENTINEL").unlink(missing_ok=True)


def run_mutants(mutants: Sequence[Mutant], root: Path, *, workers: int = 2, batch_size: int = 20,
                timeout: float = 30.0, mem_bytes: int = 3 << 30, stages: str = "all",
                progress: Callable[[int, int], None] | None = None) -> list[Result]:
    """Run every mutant in sandboxed child processes; returns one :class:`Result` per mutant, in order.

    Args:
        mutants: What to run.
        root: A fresh directory for mutant files, scratch work_dirs, victims and child logs.
        workers: Child processes at a time.
        batch_size: Mutants per child process (one import of torch/Lightning per batch).
        timeout: Wall-clock seconds per mutant (a timer in the child, a watchdog in the parent).
        mem_bytes: ``RLIMIT_AS`` of each child.
        stages: ``"all"`` (load, Runtime, explain, Trainer) or ``"load"`` (loading only).
        progress: Called with (done, total) after each batch.
    """
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    _prepare_victims(root)
    jobs = []
    for idx, m in enumerate(mutants):
        path = write_mutant(m, root / "mutants" / f"{idx:05d}", root)
        jobs.append({"idx": idx, "name": m.name, "operator": m.operator, "path": str(path),
                     "overrides": m.overrides, "keep_work_dir": m.keep_work_dir, "expect": m.expect,
                     "scratch": str(root / "scratch" / f"{idx:05d}")})
    batches = [jobs[i:i + batch_size] for i in range(0, len(jobs), batch_size)]
    results: dict[int, Result] = {}
    lock = threading.Lock()
    done = [0]

    def run_batch(batch: list[dict[str, Any]]) -> None:
        pending = list(batch)
        while pending:
            got = _run_child(pending, root, timeout, mem_bytes, stages)
            with lock:
                for idx, res in got.items():
                    results[idx] = res
            pending = [j for j in pending if j["idx"] not in got]
        with lock:
            done[0] += len(batch)
            if progress:
                progress(done[0], len(jobs))

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        list(pool.map(run_batch, batches))
    return [results[i] for i in range(len(jobs))]


def _limits(mem_bytes: int) -> Callable[[], None]:
    def apply() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (mem_bytes, mem_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        os.setsid()

    return apply


def _run_child(jobs: list[dict[str, Any]], root: Path, timeout: float, mem_bytes: int,
               stages: str) -> dict[int, Result]:
    """One child over ``jobs``; a mutant that kills or hangs the child gets its result here."""
    logs = root / "logs"
    logs.mkdir(exist_ok=True)
    jobfile = logs / f"job_{jobs[0]['idx']:05d}.json"
    jobfile.write_text(json.dumps({"jobs": jobs, "timeout": timeout, "stages": stages,
                                   "root": str(root)}))
    scratch_tmp = root / "scratch" / "_tmp"
    scratch_tmp.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", TMPDIR=str(scratch_tmp), MPLCONFIGDIR=str(scratch_tmp),
               XDG_CACHE_HOME=str(scratch_tmp), PYTHONHASHSEED="0", CUDA_VISIBLE_DEVICES="",
               OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", TORCHINDUCTOR_CACHE_DIR=str(scratch_tmp))
    env.pop("PYTHONSTARTUP", None)
    log = open(logs / f"child_{jobs[0]['idx']:05d}.log", "ab")
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--child", str(jobfile)],
                            stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
                            cwd=str(root / "victims"), env=env, preexec_fn=_limits(mem_bytes))
    got: dict[int, Result] = {}
    current: dict[str, Any] | None = None
    started = time.monotonic()
    startup = 120.0  # importing torch and Lightning on a busy machine
    sel = selectors.DefaultSelector()
    assert proc.stdout is not None
    sel.register(proc.stdout, selectors.EVENT_READ)
    buf = b""
    killed = ""
    try:
        while True:
            limit = (timeout + 5.0) if current is not None else startup
            remaining = limit - (time.monotonic() - started)
            if remaining <= 0:
                killed = "timeout"
                break
            if not sel.select(timeout=min(remaining, 1.0)):
                if proc.poll() is not None:
                    break
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue
                if msg.get("event") == "start":
                    current = next(j for j in jobs if j["idx"] == msg["idx"])
                    started = time.monotonic()
                elif msg.get("event") == "result":
                    res = Result(**msg["result"])
                    got[msg["idx"]] = res
                    current = None
                    started = time.monotonic()
                    startup = timeout + 30.0
    finally:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, 9)
            except ProcessLookupError:
                pass
        proc.wait()
        log.close()
        sel.close()
    if current is not None and current["idx"] not in got:
        tail = _tail(logs / f"child_{jobs[0]['idx']:05d}.log")
        outcome = "FAIL:timeout" if killed else ("FAIL:memory" if "MemoryError" in tail or "bad_alloc" in tail
                                                 else "FAIL:crash")
        got[current["idx"]] = Result(current["name"], current["operator"], outcome, stage="?",
                                     error_type=killed or f"exit {proc.returncode}", message=tail[-300:],
                                     elapsed=time.monotonic() - started, path=current["path"])
    elif not got and proc.returncode not in (0, None):
        first = jobs[0]  # died before its first mutant: blame nobody forever, but do not loop either
        got[first["idx"]] = Result(first["name"], first["operator"], "FAIL:crash", stage="startup",
                                   error_type=f"exit {proc.returncode}", message=_tail(logs / f"child_{first['idx']:05d}.log")[-300:],
                                   path=first["path"])
    return got


def _tail(path: Path, n: int = 2000) -> str:
    try:
        data = path.read_bytes()[-n:]
    except OSError:
        return ""
    return data.decode("utf-8", "replace")


# ----------------------------------------------------------------------------------- child


class FuzzTimeout(BaseException):
    """Raised by the per-mutant timer in the child."""


_SPAWN_EVENTS = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
                 "os.forkpty", "pty.spawn", "os.startfile", "_posixsubprocess.fork_exec")
_PATH_EVENTS = {"os.remove": (0,), "os.rmdir": (0,), "os.rename": (0, 1), "shutil.rmtree": (0,),
                "os.truncate": (0,), "os.mkdir": (0,), "os.chmod": (0,), "os.chown": (0,), "os.link": (0, 1),
                "os.symlink": (0, 1), "os.utime": (0,), "shutil.copyfile": (1,), "shutil.copytree": (1,),
                "shutil.move": (0, 1), "os.chdir": (0,), "os.chflags": (0,), "os.mkfifo": (0,), "os.mknod": (0,)}


class _Audit:
    """State of the child's audit hook: armed per mutant, records and blocks what is not allowed."""

    def __init__(self) -> None:
        self.armed = False
        self.allowed: list[str] = []
        self.violations: list[str] = []

    def inside(self, path: Any) -> bool:
        try:
            p = os.path.realpath(os.fsdecode(os.fspath(path)))
        except (TypeError, ValueError):
            return False
        return p == os.devnull or any(p == a or p.startswith(a + os.sep) for a in self.allowed)

    def hook(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.armed:
            return
        bad = None
        if event == "open":
            path, mode, flags = (tuple(args) + (None, None, None))[:3]
            if isinstance(path, int) or path is None:
                return
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                mode is None and isinstance(flags, int)
                and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND))
            if writing and not self.inside(path):
                bad = f"open({os.fsdecode(os.fspath(path))!r}, {mode or flags!r})"
        elif event.startswith(_SPAWN_EVENTS):
            bad = f"{event}{_short(args)}"
        elif event in _PATH_EVENTS:
            if event == "os.chdir":
                return
            for i in _PATH_EVENTS[event]:
                if i < len(args) and not isinstance(args[i], int) and args[i] is not None and not self.inside(args[i]):
                    bad = f"{event}{_short(args)}"
                    break
        if bad:
            self.armed = False  # recording must not recurse
            try:
                self.violations.append(bad)
            finally:
                self.armed = True
            raise PermissionError(f"fuzz audit: blocked {bad}")


def _short(args: tuple[Any, ...]) -> str:
    text = repr(args)
    return text if len(text) < 200 else text[:200] + "…"


def _snapshot(directory: Path) -> dict[str, tuple[int, int, bytes]]:
    out: dict[str, tuple[int, int, bytes]] = {}
    for p in sorted(directory.rglob("*")):
        try:
            st = p.lstat()
            head = p.read_bytes()[:256] if p.is_file() else b""
            out[str(p)] = (st.st_size, st.st_mtime_ns, head)
        except OSError:
            out[str(p)] = (-1, -1, b"")
    return out


def _where(exc: BaseException) -> str:
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if "lightning_runtime" in f.filename]
    if not mine:
        return f"{Path(frames[-1].filename).name}:{frames[-1].lineno}:{frames[-1].name}" if frames else ""
    f = mine[-1]
    rel = f.filename.split("lightning_runtime/", 1)[-1]
    return f"{rel}:{f.lineno}:{f.name}"


#: Self-checks of the sandbox: each does something a config must never do; the outcome it must get.
CANARIES: dict[str, tuple[str, str]] = {
    "write": ("open(VICTIM, 'w').write('x')", "FAIL:write"),
    "c_write": ("import torch; torch.save(1, VICTIM)", "FAIL:write"),  # no audit event: the snapshot sees it
    "delete": ("import os; os.remove(VICTIM)", "FAIL:write"),
    "spawn": ("import os; os.system('true')", "FAIL:spawn"),
    "subprocess": ("import subprocess; subprocess.run(['true'])", "FAIL:spawn"),
    "timeout": ("while True: pass", "FAIL:timeout"),
    "memory": ("x = bytearray(8 << 30)", "FAIL:memory"),
    "crash": ("import os; os.abort()", "FAIL:crash"),
    "scratch_ok": ("open(SCRATCH + '/ok.txt', 'w').write('fine')", "loads"),
}


def canaries() -> list[Mutant]:
    """One mutant per :data:`CANARIES` entry (named ``canary:<name>``), to prove the sandbox sees."""
    return [Mutant(f"canary:{k}", "canary", "-", "canary.txt", code) for k, (code, _) in CANARIES.items()]


def _pipeline(job: dict[str, Any], stages: str, state: dict[str, str]) -> None:
    """What ``lightning-runtime explain`` does, then the Trainer that ``fit`` builds."""
    if job["name"].startswith("canary:"):
        state["stage"] = "canary"
        code = Path(job["path"]).read_text()
        exec(code, {"VICTIM": str(Path(job["path"]).parents[2] / "victims" / "victim.txt"),  # noqa: S102
                    "SCRATCH": job["scratch"]})
        return
    from lightning_runtime.cli._main import _instantiate, load_merged, split_lightning_sections
    from lightning_runtime.errors import ConfigError, locate_error
    from lightning_runtime.explain import explain
    from lightning_runtime.runtime import Runtime

    overrides = list(job["overrides"])
    if not job["keep_work_dir"]:
        overrides.append(f"work_dir={job['scratch']}/work_dir")
    state["stage"] = "load"
    cfg = load_merged([job["path"]], overrides)
    if stages == "load":
        return
    try:
        state["stage"] = "sections"
        sections, trainer_overrides = split_lightning_sections(cfg)
        state["stage"] = "runtime"
        rt = Runtime(cfg)
        state["stage"] = "model"
        model, _ = _instantiate(sections, need_model=False)
        state["stage"] = "explain"
        explain(rt, model)
        state["stage"] = "trainer"
        rt.build_trainer(**trainer_overrides)
    except ConfigError as err:
        raise locate_error(err, cfg) from None


def _child_main(jobfile: str) -> int:
    spec = json.loads(Path(jobfile).read_text())
    jobs, timeout, stages, root = spec["jobs"], spec["timeout"], spec["stages"], Path(spec["root"])
    out = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    import logging
    import signal
    import warnings

    warnings.simplefilter("ignore")
    import torch  # noqa: F401 - imported before the hook is armed
    import lightning.pytorch  # noqa: F401

    from lightning_runtime.errors import ConfigError

    audit = _Audit()
    sys.addaudithook(audit.hook)
    victims = root / "victims"
    warm = root / "scratch" / "_warm"
    warm.mkdir(parents=True, exist_ok=True)
    try:  # warm up lazy imports and caches before anything is recorded
        _pipeline({"path": str(REPO / "configs" / "demo" / "seg_vit_shapes.py"), "overrides": [],
                   "keep_work_dir": False, "scratch": str(warm)}, stages, {})
    except BaseException:  # noqa: BLE001
        pass
    base_handlers = list(logging.root.handlers)
    base_level = logging.root.level

    def on_alarm(signum: int, frame: Any) -> None:
        raise FuzzTimeout()

    signal.signal(signal.SIGALRM, on_alarm)
    cwd = os.getcwd()
    for job in jobs:
        out.write(json.dumps({"event": "start", "idx": job["idx"]}) + "\n")
        scratch = Path(job["scratch"])
        scratch.mkdir(parents=True, exist_ok=True)
        audit.allowed = [os.path.realpath(scratch), os.path.realpath(root / "scratch" / "_tmp"), "/dev/shm"]
        before = _snapshot(victims)
        state = {"stage": "load"}
        res = Result(job["name"], job["operator"], "loads", path=job["path"])
        audit.violations = []
        t0 = time.monotonic()
        exc: BaseException | None = None
        try:
            signal.setitimer(signal.ITIMER_REAL, timeout)
            audit.armed = True
            try:
                _pipeline(job, stages, state)
            finally:
                audit.armed = False
                signal.setitimer(signal.ITIMER_REAL, 0)
        except BaseException as e:  # noqa: BLE001 - classifying everything is the point
            exc = e
        res.elapsed = round(time.monotonic() - t0, 3)
        res.stage = state["stage"]
        after = _snapshot(victims)
        changed = [f"victims changed: {k}" for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)]
        violations = audit.violations + changed
        if exc is not None:
            res.error_type = type(exc).__name__
            res.message = str(exc)[:600]
            res.where = _where(exc)
        if any(v.startswith(_SPAWN_EVENTS) for v in violations):
            res.outcome = "FAIL:spawn"
        elif violations:
            res.outcome = "FAIL:write"
        elif exc is None:
            expect = job.get("expect", "")
            res.outcome = {"error": "FAIL:accepted", "error?": "loads:suspect"}.get(expect, "loads")
        elif isinstance(exc, ConfigError) and job.get("expect") == "load":
            res.outcome = "FAIL:refused"
        elif isinstance(exc, ConfigError):
            res.outcome = "ConfigError" if "fix:" in str(exc) else "FAIL:nofix"
        elif isinstance(exc, FuzzTimeout):
            res.outcome = "FAIL:timeout"
        elif isinstance(exc, MemoryError):
            res.outcome = "FAIL:memory"
        else:
            res.outcome = "FAIL:exception"
        res.violations = violations[:5]
        # undo what a mutant may have done to the process
        if os.getcwd() != cwd:
            os.chdir(cwd)
        logging.root.handlers[:] = base_handlers
        logging.root.setLevel(base_level)
        if changed:  # restore the victims for the next mutant
            _prepare_victims(root)
        out.write(json.dumps({"event": "result", "idx": job["idx"], "result": asdict(res)}) + "\n")
    out.flush()
    return 0


# ----------------------------------------------------------------------------------- reporting


def summarize(results: Iterable[Result]) -> dict[str, Any]:
    """Counts per outcome, per operator x outcome, and the distinct failure kinds with an example."""
    results = list(results)
    outcomes = Counter(r.outcome for r in results)
    per_op: dict[str, Counter[str]] = {}
    for r in results:
        per_op.setdefault(r.operator, Counter())[r.outcome] += 1
    kinds: dict[str, dict[str, Any]] = {}
    for r in results:
        if r.ok:
            continue
        entry = kinds.setdefault(r.kind, {"count": 0, "example": r, "area": area_of(r), "names": []})
        entry["count"] += 1
        entry["names"].append(r.name)
        if len(r.name) < len(entry["example"].name) or r.name.startswith("trick:") and not entry["example"].name.startswith("trick:"):
            entry["example"] = r
    return {"outcomes": dict(outcomes), "per_operator": per_op, "kinds": kinds, "total": len(results)}


def markdown_report(summary: dict[str, Any]) -> str:
    """The summary as markdown tables (outcomes; operator x outcome; failure kinds)."""
    cols = sorted({o for c in summary["per_operator"].values() for o in c}, key=lambda o: (o not in OK_OUTCOMES, o))
    lines = [f"Mutants: {summary['total']}", "", "| outcome | count |", "|---|---:|"]
    for o in cols:
        lines.append(f"| {o} | {summary['outcomes'].get(o, 0)} |")
    lines += ["", "| operator | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    for op in sorted(summary["per_operator"]):
        c = summary["per_operator"][op]
        lines.append(f"| {op} | " + " | ".join(str(c.get(o, 0)) for o in cols) + " |")
    if summary["kinds"]:
        lines += ["", "| failure kind | count | area | example |", "|---|---:|---|---|"]
        for kind, e in sorted(summary["kinds"].items(), key=lambda kv: -kv[1]["count"]):
            ex = e["example"]
            msg = ex.message.replace("|", "\\|").replace("\n", " ")[:90]
            lines.append(f"| {kind.replace('|', '/')} | {e['count']} | {e['area']} | {ex.name}: {msg} |")
    return "\n".join(lines)


def minimize(mutant: Mutant, result: Result, root: Path, **run_kwargs: Any) -> Mutant:
    """A smaller mutant with the same failure kind: drop top-level keys the failure does not need.

    Only flat ``.py`` mutants are reduced (tricks are already small). Tries "only the touched keys"
    first, then drops keys one at a time in batches.
    """
    if not mutant.filename.endswith(".py") or isinstance(mutant.text, bytes) or mutant.extra:
        return mutant
    lines = mutant.text.splitlines()
    body = [ln for ln in lines if re.match(r"^[A-Za-z_]\w* = ", ln)]
    if len(body) != len([ln for ln in lines if ln.strip()]):
        return mutant

    def variant(keep: list[str], tag: str) -> Mutant:
        return Mutant(mutant.name + tag, mutant.operator, mutant.source, mutant.filename, "\n".join(keep) + "\n",
                      overrides=mutant.overrides, keep_work_dir=mutant.keep_work_dir, keys=mutant.keys)

    def same(cands: list[Mutant], sub: str) -> list[bool]:
        res = run_mutants(cands, root / sub, **run_kwargs)
        return [r.kind == result.kind for r in res]

    touched = [ln for ln in body if ln.split(" = ", 1)[0] in mutant.keys or ln.startswith("_base_ =")]
    if touched and touched != body and same([variant(touched, "~min")], "min0")[0]:
        body = touched
    drops = [variant(body[:i] + body[i + 1:], f"~drop{i}") for i in range(len(body))]
    if drops:
        keeps = same(drops, "min1")
        trial = [ln for ln, droppable in zip(body, keeps) if not droppable]
        if trial != body and trial and same([variant(trial, "~min2")], "min2")[0]:
            body = trial
    return variant(body, "")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        sys.exit(_child_main(sys.argv[2]))
    print("usage: fuzz_harness.py --child JOBFILE (internal; see benchmarks/fuzz_configs.py)", file=sys.stderr)
    sys.exit(2)
