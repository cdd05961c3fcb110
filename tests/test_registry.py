"""Registry: MMEngine's registration API, name resolution and argument checks."""

from __future__ import annotations

import sys
import textwrap

import pytest

from lightning_runtime.errors import ConfigError
from lightning_runtime.registry import Registry, import_modules


@pytest.fixture()
def reg() -> Registry:
    r = Registry("widget")

    @r.register_module()
    class Gear:
        def __init__(self, teeth: int, size: float = 1.0) -> None:
            self.teeth, self.size = teeth, size

    r.register_module(name=["Cog", "Sprocket"], module=Gear)
    return r


def test_decorator_and_call_forms_register_same_class(reg: Registry) -> None:
    assert reg.get("Gear") is reg.get("Cog") is reg.get("Sprocket")
    assert reg.build(dict(type="Cog", teeth=12, size=2.0)).teeth == 12


def test_duplicate_name_needs_force(reg: Registry) -> None:
    class Other:
        pass

    with pytest.raises(KeyError, match="already registered"):
        reg.register_module(name="Gear", module=Other)
    reg.register_module(name="Gear", module=Other, force=True)
    assert reg.get("Gear") is Other


def test_scoped_name_accepts_any_scope(reg: Registry) -> None:
    assert reg.get("mmseg.Gear") is reg.get("Gear")
    assert reg.get("mmengine.Gear") is reg.get("Gear")


def test_dotted_path_imports_by_module_name(tmp_path, monkeypatch, reg: Registry) -> None:
    pkg = tmp_path / "my_pkg_reg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "hooks.py").write_text(textwrap.dedent("""
        class NewHook:
            def __init__(self, a, b):
                self.a, self.b = a, b
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    obj = reg.build(dict(type="my_pkg_reg.hooks.NewHook", a=1, b=2))
    assert (obj.a, obj.b) == (1, 2)
    sys.modules.pop("my_pkg_reg.hooks", None)
    sys.modules.pop("my_pkg_reg", None)


def test_default_args_fill_but_do_not_override(reg: Registry) -> None:
    obj = reg.build(dict(type="Gear", teeth=3), default_args=dict(teeth=9, size=4.0))
    assert (obj.teeth, obj.size) == (3, 4.0)


def test_unknown_type_names_path_and_closest(reg: Registry) -> None:
    with pytest.raises(ConfigError) as info:
        reg.build(dict(type="Gaer", teeth=1), path="custom_hooks[0]")
    err = info.value
    assert err.path == "custom_hooks[0].type"
    assert "Gear" in err.candidates
    assert "unknown widget type 'Gaer'" in str(err)


def test_unknown_argument_is_caught_before_construction(reg: Registry) -> None:
    with pytest.raises(ConfigError) as info:
        reg.build(dict(type="Gear", teeth=1, sise=2.0), path="default_hooks.gear")
    assert info.value.path == "default_hooks.gear.sise"
    assert info.value.candidates == ["size"]


def test_missing_required_argument(reg: Registry) -> None:
    with pytest.raises(ConfigError, match="needs argument 'teeth'") as info:
        reg.build(dict(type="Gear"), path="x")
    assert info.value.path == "x"


def test_missing_type(reg: Registry) -> None:
    with pytest.raises(ConfigError, match="missing 'type'"):
        reg.build(dict(teeth=1), path="custom_hooks[2]")


def test_not_a_dict(reg: Registry) -> None:
    with pytest.raises(ConfigError, match="expected a dict"):
        reg.build(["Gear"], path="custom_hooks[0]")  # type: ignore[arg-type]


def test_import_modules_rejects_file_paths_and_reports_missing() -> None:
    with pytest.raises(ConfigError) as info:
        import_modules(["my/file.py"])
    assert info.value.path == "custom_imports.imports[0]"
    with pytest.raises(ConfigError, match="cannot import 'no_such_mod_xyz'"):
        import_modules("no_such_mod_xyz")
    with pytest.warns(UserWarning, match="no_such_mod_xyz"):
        assert import_modules(["no_such_mod_xyz"], allow_failed_imports=True) == [None]


def test_error_rendering_with_location() -> None:
    err = ConfigError("must be >= begin (1000)", path="end", fix="raise end")
    err.with_location(path="param_scheduler[1]", file="cfg.py", line=7)
    text = str(err)
    assert text.splitlines()[0] == "cfg.py:7: param_scheduler[1].end: must be >= begin (1000)"
    assert "fix: raise end" in text
