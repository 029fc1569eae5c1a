"""The one registry helper (dlrepro.registry) and the three registries that use it."""
import sys
import types

import pytest

from dlrepro.registry import Registry


def test_register_get_names():
    reg = Registry("widget")

    @reg.register("b")
    def b():
        return "b"

    assert reg.register("a", len) is len
    assert reg.names() == ["a", "b"]
    assert reg.get("b") is b and reg.get("a") is len
    assert "a" in reg and "c" not in reg


def test_duplicate_name_is_rejected():
    reg = Registry("widget")
    reg.register("a", len)
    with pytest.raises(ValueError, match=r"widget 'a' registered twice: by builtins\.len and by builtins\.abs"):
        reg.register("a", abs)
    with pytest.raises(ValueError, match="registered twice"):
        reg.register("a")(lambda: None)
    assert reg.get("a") is len


def test_unknown_name_lists_the_known_ones():
    reg = Registry("widget")
    reg.register("b", len)
    reg.register("a", abs)
    with pytest.raises(ValueError, match=r"^unknown widget 'zz'; known: a, b$"):
        reg.get("zz")


def test_listed_modules_load_once_on_first_lookup(tmp_path, monkeypatch):
    reg = Registry("widget", ["dlrepro_test_widgets"])
    monkeypatch.setattr(sys.modules[__name__], "REG", reg, raising=False)
    (tmp_path / "dlrepro_test_widgets.py").write_text(
        f"import {__name__} as t\nt.LOADS.append(1)\nt.REG.register('w', len)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "dlrepro_test_widgets", raising=False)
    LOADS.clear()
    assert LOADS == []  # nothing imported before a lookup
    assert reg.names() == ["w"] and reg.get("w") is len and "w" in reg
    assert LOADS == [1]  # once


LOADS: list = []


def test_a_module_that_fails_to_load_is_not_skipped(tmp_path, monkeypatch):
    missing = Registry("widget", ["dlrepro_no_such_module_xyz"])
    with pytest.raises(ModuleNotFoundError):
        missing.names()
    with pytest.raises(ModuleNotFoundError):  # and again on the next lookup, not an empty registry
        missing.get("w")
    # a module that registers, then fails: the retry raises its own error again, not "registered twice"
    reg = Registry("widget", ["dlrepro_test_broken"])
    monkeypatch.setattr(sys.modules[__name__], "REG", reg, raising=False)
    (tmp_path / "dlrepro_test_broken.py").write_text(
        f"import {__name__} as t\nt.REG.register('w', len)\nraise RuntimeError('broken module')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for _ in range(2):
        with pytest.raises(RuntimeError, match="broken module"):
            reg.names()


def test_the_three_registries():
    from dlrepro import models
    from dlrepro.outputs import analyses
    from dlrepro.training.optimizers import build_optimizer, optimizer_names

    assert {"kmnist_mlp", "resnet_like", "resnet_v1"} <= set(models.names())
    assert {"sgd", "adamw", "keras_adam", "keras_nadam"} <= set(optimizer_names())
    assert {"adam_step", "pixel_stats", "cutout_examples", "lr_range_test", "lr_schedule", "p3_table"} <= set(
        analyses.kinds())
    with pytest.raises(ValueError, match=r"unknown model 'nope'; known: .*kmnist_mlp"):
        models.build("nope")
    with pytest.raises(ValueError, match=r"unknown optimizer 'nope'; known: adadelta, adagrad, adam, "):
        build_optimizer([], {"name": "nope"})
    with pytest.raises(ValueError, match=r"unknown analysis kind 'nope'; known: adam_step, "):
        analyses.run_analysis({"kind": "nope"}, "out.csv")
    with pytest.raises(ValueError, match="model 'kmnist_mlp' registered twice"):
        models.register("kmnist_mlp")(lambda: None)
    with pytest.raises(ValueError, match="optimizer 'sgd' registered twice"):
        from dlrepro.training.optimizers import register_optimizer
        register_optimizer("sgd", object)
    with pytest.raises(ValueError, match="analysis kind 'adam_step' registered twice"):
        analyses.analysis("adam_step")(lambda *a: None)
