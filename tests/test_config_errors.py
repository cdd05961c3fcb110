"""Bad configs: each gives a ConfigError naming the config path, file:line and what to do.

Also proves that configs are never executed and that size bombs are refused by their limits.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from lightning_runtime.config import load_config
from lightning_runtime.errors import ConfigError

BAD = Path(__file__).parent / "bad_configs"


def write(tmp_path: Path, text: str, name: str = "cfg.py") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def error_of(src: object, overrides: object = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(src, overrides)  # type: ignore[arg-type]
    return info.value


def check(err: ConfigError, *, file: Path | str | None, line: int | None, path: str | None,
          says: str) -> None:
    if file is not None:
        assert err.file == str(file), err
    assert err.line == line, err
    assert err.path == path, err
    assert says in str(err), err
    if file is not None and line:
        assert str(err).startswith(f"{file}:{line}: "), err


# -- code that must never run -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("source", "line", "path", "says"),
    [
        ("x = 1\nimport os\n", 2, None, "'import os' imports code: this file needs code execution"),
        ("from os import path\n", 1, None, "'from os import path' imports code: this file needs code"),
        ("import copy, os\n", 1, None, "'import copy, os' imports code: this file needs code"),
        ("a = 1\nb = open('/tmp/x', 'w')\n", 2, "b", "calling 'open()' is not allowed"),
        ("a = __import__('os')\n", 1, "a", "dunder name '__import__' is not allowed"),
        ("a = eval('1+1')\n", 1, "a", "calling 'eval()' is not allowed"),
        ("a = getattr(dict(), 'keys')\n", 1, "a", "calling 'getattr()' is not allowed"),
        ("p = os.path.join('a', 'b')\n", 1, "p", "attribute access on 'os'"),
        ("f = lambda x: x\n", 1, "f", "'lambda' is not allowed"),
        ("x = 1\ndef f():\n    return 1\n", 2, None, "'def' is not allowed"),
        ("class A:\n    pass\n", 1, None, "'class' is not allowed"),
        ("i = 0\nwhile i < 3:\n    i += 1\n", 2, None, "while loop is not allowed"),
        ("for i in range(3):\n    if i:\n        break\n", 3, None, "'break' is not allowed"),
        ("for i in range(3):\n    continue\n", 2, None, "'continue' is not allowed"),
        ("d = dict()\nfor d['k'] in range(3):\n    pass\n", 2, None,
         "the loop target 'd['k']' (loop over names: for x in ..., for k, v in ...) is not allowed"),
        ("for i in range(3):\n    import os\n", 2, None, "'import os' imports code"),
        ("if True:\n    def f():\n        pass\n", 2, None, "'def' is not allowed"),
        ("for __class__ in range(3):\n    pass\n", 1, "__class__", "dunder name '__class__'"),
        ("with open('f') as f:\n    x = 1\n", 1, None, "with statement is not allowed"),
        ("y = 1\nx = (z := 3)\n", 2, "x", "assignment expression (:=) is not allowed"),
        ("tag = f\"{open('/tmp/x')}\"\n", 1, "tag", "calling 'open()' is not allowed"),
        ("s = 'a'.__class__\n", 1, "s", "private attribute '.__class__' is not allowed"),
        ("s = 'x{0.__class__}'.format(1)\n", 1, "s", "the format field '{0.__class__}' reads an attribute"),
        ("s = '{0[a]}'.format(dict(a=1))\n", 1, "s", "the format field '{0[a]}' reads an attribute or an item"),
        ("s = '{:{0.real}}'.format(1)\n", 1, "s", "the format field '{0.real}' reads"),
        ("import copy\ns = copy.replace(dict())\n", 2, "s", "calling 'copy.replace()'"),
        ("import copy\ns = copy\n", 2, "s", "the module 'copy' (import copy) can only be called"),
        ("d = dict(a=1)\nv = d.a\n", 2, "v", "attribute access '.a' on dict is not allowed"),
        ("x = [].__class__.__base__.__subclasses__()\n", 1, "x", "is not allowed"),
        ("x = (1).real\n", 1, "x", "attribute access '.real' on int is not allowed"),
        ("d = dict(a=1)\nd.a = 2\n", 2, "d", "setting '.a' on dict (use ['a']) is not allowed"),
    ],
)
def test_forbidden_constructs(tmp_path: Path, source: str, line: int, path: str | None,
                              says: str) -> None:
    cfg = write(tmp_path, source)
    err = error_of(cfg)
    check(err, file=cfg, line=line, path=path, says=says)
    assert "expected: literals, dict()/list()/tuple()/set() calls" in str(err)


@pytest.mark.parametrize(
    ("source", "line", "path", "says"),
    [
        ("for i in range(3):\n    _base_ = ['a.py']\n", 2, None,
         "_base_ can only be assigned at the top level"),
        ("for i in 5:\n    pass\n", 1, "i", "cannot iterate over int"),
        ("d = dict(a=1)\nfor k in d:\n    d[k + 'x'] = 1\n", 2, "d",
         "RuntimeError: dictionary changed size during iteration"),
        ("for a, b in [(1, 2, 3)]:\n    pass\n", 1, None, "cannot unpack tuple into 2 names"),
        ("xs = [1, 2]\nfor x in xs:\n    if x > 1:\n        y = xs[5]\n", 4, "y",
         "IndexError: list index out of range"),
        ("for i in range(2):\n    pass\nelse:\n    assert i == 0, 'last'\n", 4, None,
         "the config's own check 'assert i == 0' failed: last"),
    ],
)
def test_loop_and_if_errors_name_the_line(tmp_path: Path, source: str, line: int,
                                          path: str | None, says: str) -> None:
    """An error inside a ``for``/``if`` block names the line of the statement that failed."""
    cfg = write(tmp_path, source)
    check(error_of(cfg), file=cfg, line=line, path=path, says=says)


def test_nothing_runs_a_config_that_would_create_a_file(tmp_path: Path) -> None:
    marker = "/tmp/lightning_runtime_should_not_exist"
    if os.path.exists(marker):
        os.remove(marker)
    err = error_of(BAD / "writes_file.py")
    check(err, file=BAD / "writes_file.py", line=3, path="handle",
          says="calling 'open()' is not allowed")
    err = error_of(BAD / "imports_os.py")
    check(err, file=BAD / "imports_os.py", line=1, path=None, says="'import os' imports code: this file needs code execution")
    assert not os.path.exists(marker)
    assert not os.path.exists("/tmp/lightning_runtime_pwned")


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("x = 10 ** 10 ** 10\n", "integer result would exceed"),
        ("x = 'a' * 10 ** 12\n", "exceeds the limit"),
        ("x = [0] * 10 ** 10\n", "exceeds the limit"),
        ("x = 1 << 10 ** 9\n", "integer result would exceed"),
        ("x = sum(range(10 ** 12))\n", "range of 1000000000000 elements exceeds"),
        ("x = [i for i in range(10 ** 6) for j in range(10 ** 6)]\n", "exceeds"),
        ("a = [0] * 1000\nb = [a] * 1000\nc = [b] * 1000\n", "value larger than"),
        ("x = f'{1:>999999999}'\n", "format width 999999999 exceeds"),
        ("x = '%999999999d' % 1\n", "format width 999999999 exceeds"),
        ("a = [1]\nb = [a.extend(a) for _ in range(40)]\n", "exceeds the limit"),
        ("d = {i: i for i in range(30000)}\nx = [d.update(d) for _ in range(10 ** 5)]\n",
         "steps of work"),
        ("a = [[0] * 300] * 300\nx = [a == a for _ in range(10 ** 5)]\n", "steps of work"),
        ("x = round(10 ** 400, -10 ** 9)\n", "round() ndigits must be between"),
        ("x = 'ab'.replace('', 'c' * 90000)\n", "value of 270002 elements exceeds the limit"),
        ("".join(f"a{i} = [[0] * 300] * 300\n" for i in range(8)), "config larger than 200000"),
    ],
)
def test_bombs_are_refused(tmp_path: Path, source: str, says: str) -> None:
    """Each bomb stops at its limit (a step/size count, not a clock); its speed is benchmarks' business."""
    cfg = write(tmp_path, source)
    err = error_of(cfg)
    assert says in str(err), err
    assert err.file == str(cfg) and err.line is not None


# -- names, references, substitutions -----------------------------------------------------------
def test_undefined_name_suggests_close_names(tmp_path: Path) -> None:
    cfg = write(tmp_path, "crop_size = (512, 512)\nmodel = dict(size=crop_sise)\n")
    err = error_of(cfg)
    check(err, file=cfg, line=2, path="model", says="name 'crop_sise' is not defined")
    assert err.candidates == ["crop_size"]


def test_missing_base_key_via_attribute(tmp_path: Path) -> None:
    write(tmp_path, "optimizer = dict(type='SGD', lr=0.01)\n", "base.py")
    cfg = write(tmp_path, "_base_ = 'base.py'\nlr = _base_.optimizer.lrr\n")
    err = error_of(cfg)
    check(err, file=cfg, line=2, path="lr", says="'_base_.optimizer' has no key 'lrr'")
    assert err.candidates == ["lr"]


def test_missing_base_key_via_braces(tmp_path: Path) -> None:
    write(tmp_path, "train_pipeline = []\n", "base.py")
    cfg = write(tmp_path, "_base_ = 'base.py'\ntest = dict(pipeline={{_base_.test_pipeline}})\n")
    err = error_of(cfg)
    check(err, file=cfg, line=2, path="test.pipeline",
          says="the inherited config has no key 'test_pipeline'")


def test_missing_env_variable_without_default(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LR_NOT_SET_ANYWHERE", raising=False)
    cfg = write(tmp_path, "a = 1\nroot = '{{$LR_NOT_SET_ANYWHERE:}}'\n")
    err = error_of(cfg)
    check(err, file=cfg, line=2, path=None,
          says="environment variable LR_NOT_SET_ANYWHERE is not set and has no default")


def test_reserved_key(tmp_path: Path) -> None:
    cfg = write(tmp_path, "a = 1\nfilename = 'x'\n")
    check(error_of(cfg), file=cfg, line=2, path="filename", says="'filename' is reserved")


def test_runtime_errors_point_at_the_line(tmp_path: Path) -> None:
    cfg = write(tmp_path, "a = 1\nb = 'lr' + a\n")
    check(error_of(cfg), file=cfg, line=2, path="b", says="TypeError")
    cfg = write(tmp_path, "steps = 0\nratio = 10 / steps\n")
    check(error_of(cfg), file=cfg, line=2, path="ratio", says="ZeroDivisionError")
    cfg = write(tmp_path, "d = dict(a=1)\nv = d['b']\n")
    check(error_of(cfg), file=cfg, line=2, path="v", says="KeyError")


# -- files and _base_ -------------------------------------------------------------------------
def test_syntax_error(tmp_path: Path) -> None:
    err = error_of(BAD / "syntax_error.py")
    check(err, file=BAD / "syntax_error.py", line=4, path=None, says="invalid Python syntax")


def test_cyclic_base() -> None:
    err = error_of(BAD / "cycle_a.py")
    check(err, file=BAD / "cycle_b.py", line=3, path="_base_",
          says="cyclic _base_: cycle_a.py -> cycle_b.py -> cycle_a.py")


def test_self_including_base() -> None:
    err = error_of(BAD / "self_cycle.py")
    check(err, file=BAD / "self_cycle.py", line=1, path="_base_",
          says="cyclic _base_: self_cycle.py -> self_cycle.py")


def test_missing_base_file() -> None:
    err = error_of(BAD / "missing_base.py")
    check(err, file=BAD / "missing_base.py", line=3, path="_base_", says="_base_ file not found")
    assert "does_not_exist/schedule.py" in str(err)
    assert "relative _base_ paths start at the including file's folder" in str(err)


def test_missing_base_file_from_yaml() -> None:
    err = error_of(BAD / "yaml_missing_base.yaml")
    check(err, file=BAD / "yaml_missing_base.yaml", line=1, path="_base_",
          says="_base_ file not found")


def test_duplicate_key_across_bases() -> None:
    err = error_of(BAD / "duplicate_bases.py")
    check(err, file=BAD / "duplicate_bases.py", line=2, path="_base_",
          says="key(s) ['optimizer'] defined in more than one _base_ file "
               "(dup_base_1.py and dup_base_2.py)")


def test_dict_cannot_merge_into_scalar() -> None:
    err = error_of(BAD / "dict_over_scalar.py")
    check(err, file=BAD / "dict_over_scalar.py", line=4, path="optimizer.lr",
          says="a dict here cannot be merged into the inherited float value 0.01")
    assert "add _delete_=True to optimizer.lr" in str(err)


def test_config_file_not_found(tmp_path: Path) -> None:
    err = error_of(tmp_path / "nope.py")
    assert err.path is None and "config file not found" in str(err)
    assert str(tmp_path / "nope.py") in str(err)


def test_unsupported_extension() -> None:
    err = error_of(BAD / "wrong_ext.toml")
    assert "unsupported config file type '.toml'" in str(err)
    assert "expected: a .py, .yaml, .yml or .json file" in str(err)


def test_base_must_be_literal(tmp_path: Path) -> None:
    cfg = write(tmp_path, "name = 'a.py'\n_base_ = [name]\n")
    check(error_of(cfg), file=cfg, line=2, path="_base_",
          says="_base_ must be a string or a list of strings written as literals")


def test_malformed_yaml() -> None:
    err = error_of(BAD / "malformed.yaml")
    check(err, file=BAD / "malformed.yaml", line=5, path=None, says="malformed YAML")


def test_yaml_top_level_must_be_mapping() -> None:
    err = error_of(BAD / "top_level_list.yaml")
    check(err, file=BAD / "top_level_list.yaml", line=1, path=None,
          says="the top level of a config must be a mapping, got list")


def test_yaml_bad_interpolation(tmp_path: Path) -> None:
    cfg = write(tmp_path, "a: 1\nb: ${nope}\n", "cfg.yaml")
    err = error_of(cfg)
    assert err.file == str(cfg) and err.path == "b" and "nope" in str(err)


# -- overrides ---------------------------------------------------------------------------------
BASE = {"optim_wrapper": {"optimizer": {"type": "SGD", "lr": 0.01}},
        "param_scheduler": [{"type": "LinearLR", "end": 100}, {"type": "PolyLR", "end": 1000}],
        "crop_size": (512, 512)}


def test_override_without_equals() -> None:
    err = error_of(BASE, ["optim_wrapper.optimizer.lr"])
    assert "is not of the form key=value" in str(err)
    assert "optim_wrapper.optimizer.lr=0.02" in str(err)


def test_override_index_out_of_range() -> None:
    err = error_of(BASE, ["param_scheduler.5.end=10"])
    assert err.path == "param_scheduler[5]"
    assert "index 5 is out of range: the list has 2 item(s)" in str(err)
    assert "use an index from 0 to 1" in str(err)


def test_override_through_a_number() -> None:
    err = error_of(BASE, ["optim_wrapper.optimizer.lr.value=1"])
    assert err.path == "optim_wrapper.optimizer.lr"
    assert "cannot be merged into the inherited float value 0.01" in str(err)


def test_override_unbalanced_brackets() -> None:
    err = error_of(BASE, ["crop_size=(1,(2,3)"])
    assert "unbalanced brackets" in str(err)


def test_override_as_plain_string_is_refused() -> None:
    err = error_of(BASE, "optim_wrapper.optimizer.lr=0.1")
    assert "overrides must be a list of 'key=value' strings or a dict" in str(err)
