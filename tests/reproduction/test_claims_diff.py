"""Claim operands that are the gap between two numbers (``diff: [a, b]``): "better by around
18 %", "longer by around 400 seconds", "the least difference between validation and
training loss" (write-up 004). Evaluated on the write-up's numbers and on ours alike."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from dlrepro.config import ConfigError
from dlrepro.config.ledger import check_references, expand, schema
from dlrepro.config.validate import validate
from dlrepro.reproduction.compare import claims_table
from dlrepro.reproduction.ours import StudyOutputs


def _run(tmp_path, name, **last):
    d = tmp_path / name
    d.mkdir(parents=True)
    pd.DataFrame([{"epoch": 1, **last}]).to_csv(d / "metrics.csv", index=False)
    (d / "final.json").write_text(json.dumps({"synthetic": False}))
    return {"metrics": str(d / "metrics.csv"), "final": str(d / "final.json")}


NUMBERS = [
    {"run": "p/a", "quantity": "val_acc", "printed": "68.08%", "scale": 100, "source": "s"},
    {"run": "p/b", "quantity": "val_acc", "printed": "50.03%", "scale": 100, "source": "s"},
    {"run": "p/a", "quantity": "val_loss", "printed": 0.95, "source": "s"},
    {"run": "p/a", "quantity": "train_loss", "printed": 0.75, "source": "s"},
    {"run": "p/b", "quantity": "val_loss", "printed": 1.5, "source": "s"},
    {"run": "p/b", "quantity": "train_loss", "printed": 0.9, "source": "s"},
]


def test_diff_operands_on_both_sides(tmp_path):
    led = expand({"numbers": NUMBERS, "claims": [
        {"id": "gap_18", "text": "better by around 18 %", "source": "s", "kind": "compare",
         "left": {"diff": ["p/a.val_acc", "p/b.val_acc"]}, "op": "==", "right": 0.18, "tolerance": 0.005},
        {"id": "least_gap", "text": "a has the least gap between val and train loss", "source": "s",
         "kind": "best", "lower_is_better": True,
         "subject": {"diff": ["p/a.val_loss", "p/a.train_loss"], "label": "a gap"},
         "among": [{"diff": ["p/a.val_loss", "p/a.train_loss"], "label": "a gap"},
                   {"diff": ["p/b.val_loss", "p/b.train_loss"], "label": "b gap"}]},
        {"id": "near", "text": "a and b about equal", "source": "s", "kind": "compare",
         "left": {"diff": ["p/b.val_acc", "p/a.val_acc"], "abs": True}, "op": "==", "right": 0, "tolerance": 0.02},
        {"id": "unprinted", "text": "ours only", "source": "s", "kind": "compare",
         "left": {"diff": [{"run": "p/a", "quantity": "seconds"}, "p/b.val_acc"]}, "op": ">", "right": 0}]})
    validate(dict(numbers=NUMBERS, claims=led["claims"]), schema())
    check_references(led, {"p/a", "p/b"}, set(), set(), "torch")
    runs = {"p/a": _run(tmp_path, "a", val_acc=0.60, val_loss=1.0, train_loss=0.2, seconds=3.0),
            "p/b": _run(tmp_path, "b", val_acc=0.50, val_loss=1.1, train_loss=0.8)}
    t = claims_table(led["claims"], led["numbers"], StudyOutputs(runs=runs)).set_index("id")
    # write-up: 68.08 - 50.03 = 18.05 points, within ±0.5 of 18; ours: 10 points
    assert t.loc["gap_18", "on_writeup"] == "holds" and t.loc["gap_18", "on_ours"] == "does not hold"
    assert "(p/a.val_acc - p/b.val_acc): write-up 0.1805, ours 0.1" in t.loc["gap_18", "numbers"]
    # write-up gaps 0.20 / 0.60 (a least); ours 0.8 / 0.3 (b least)
    assert t.loc["least_gap", "on_writeup"] == "holds" and t.loc["least_gap", "on_ours"] == "does not hold"
    assert "a gap: write-up 0.2" in t.loc["least_gap", "numbers"]
    # |50.03 - 68.08| is 18 points, not within 2: abs takes the size of the gap
    assert t.loc["near", "on_writeup"] == "does not hold"
    assert "|p/b.val_acc - p/a.val_acc|" in t.loc["near", "numbers"]
    # a diff with an operand the write-up did not print is not printed on its side
    assert t.loc["unprinted", "on_writeup"] == "not printed" and t.loc["unprinted", "on_ours"] == "holds"


def test_diff_operands_are_checked_against_the_ledger():
    led = expand({"numbers": NUMBERS, "claims": [
        {"id": "bad", "text": "x", "source": "s", "kind": "compare",
         "left": {"diff": ["p/a.val_acc", {"diff": ["p/zz.val_acc", {"run": "p/c", "quantity": "val_acc"}]}]},
         "op": ">", "right": 0}]})
    with pytest.raises(ConfigError, match=r"'p/zz.val_acc' is no number id.*no run 'p/c'"):
        check_references(led, {"p/a", "p/b"}, set(), set(), "torch")


def test_diff_needs_two_operands():
    claim = {"id": "c", "text": "x", "source": "s", "kind": "compare", "left": {"diff": ["p/a.val_acc"]},
             "op": ">", "right": 0}
    with pytest.raises(ConfigError):
        validate({"numbers": NUMBERS, "claims": [claim]}, schema())
