"""The one comparison (dlrepro.reproduction): the ledger's expansion, the verdict rules, the
quantities as the write-ups computed them, and the claims."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from dlrepro.config import ConfigError
from dlrepro.config.ledger import expand, expand_number, half_unit, parse_printed, printed_by_run
from dlrepro.reproduction import tolerances
from dlrepro.reproduction.claims import evaluate as evaluate_claim
from dlrepro.reproduction.compare import claims_table, reproduction_table
from dlrepro.reproduction.ours import Ours, StudyOutputs
from dlrepro.reproduction.tolerances import Tolerance
from dlrepro.reproduction.verdicts import replicate_band, verdict


def number(**kw) -> dict:
    entry = {"run": "e/r", "quantity": "val_acc", "printed": 0.9, "source": "cell 1", **kw}
    (row,) = expand_number(entry)
    return row


NO_TOL = Tolerance(None)


# ----------------------------------------------------------------------------- printed precision
@pytest.mark.parametrize("printed,value,text,half", [
    (0.8516, 0.8516, "0.8516", 5e-5), ("0.8460", 0.846, "0.8460", 5e-5), ("74.086%", 74.086, "74.086", 5e-4),
    ("38,650", 38650.0, "38650", 0.5), (38650, 38650.0, "38650", 0.5), ("1.5e-3", 0.0015, "1.5e-3", 5e-5),
    (2.3098802440910484, 2.3098802440910484, "2.3098802440910484", 5e-17)])
def test_printed_values_keep_their_precision(printed, value, text, half):
    v, t = parse_printed(printed)
    assert v == pytest.approx(value) and t == text
    assert half_unit(t, "auto") == pytest.approx(half)


def test_formats_set_the_precision():
    assert half_unit("0.27", "f4") == pytest.approx(5e-5) and half_unit("3", "int") == 0.5
    with pytest.raises(ValueError):
        parse_printed("about 0.9")


# ----------------------------------------------------------------------------- verdicts
def test_match_within_half_a_unit_of_the_printed_precision():
    n = number(printed="0.8516")
    assert verdict(n, Ours(0.85164), NO_TOL)["verdict"] == "match"
    assert verdict(n, Ours(0.85166), NO_TOL)["verdict"] == "differs"
    assert verdict(n, Ours(None, detail="no run"), NO_TOL)["verdict"] == "missing"
    assert verdict(number(printed=None), Ours(0.8), NO_TOL)["verdict"] == "illegible"


def test_declared_tolerance_widens_and_percentages_compare_as_printed():
    n = number(printed="68.08%", scale=100)           # printed as a percentage, ours a fraction
    assert verdict(n, Ours(0.6808), NO_TOL)["verdict"] == "match"
    assert verdict(n, Ours(0.6758), NO_TOL)["verdict"] == "differs"
    assert verdict(n, Ours(0.6758), Tolerance(0.01, key="val_acc"))["verdict"] == "match"  # ±1 point
    v = verdict(n, Ours(0.6758), Tolerance(0.01, key="val_acc"))
    assert v["bound"] == pytest.approx(1.0) and v["diff"] == pytest.approx(-0.5)


def test_a_quirk_never_explains_an_as_run_gap():
    """An as-run number outside its tolerance reads `differs` whatever note or quirk the
    write-up's code has; the ledger schema admits only the three causes."""
    n = number(printed=0.85, note="double softmax quirk: the as-run run reproduces it")
    assert verdict(n, Ours(0.70), Tolerance(0.01))["verdict"] == "differs"
    with pytest.raises(ConfigError, match="'double_softmax' is not one of"):
        from dlrepro.config import resolve
        from conftest import ROOT
        from dlrepro.config import load_config

        cfg = load_config(ROOT / "config.yaml")
        cfg["studies"]["kmnist_tricks"]["printed"]["numbers"][0]["cause"] = "double_softmax"
        resolve(cfg)


@pytest.mark.parametrize("cause,reps,expected", [
    ("hardware", None, "explained"), ("unknown_code", None, "explained"),
    ("unseeded", [0.80, 0.82, 0.84, 0.86], "explained"),      # 0.85 inside our seeds' band
    ("unseeded", [0.70, 0.705, 0.71], "differs"),             # outside it
    ("unseeded", None, "differs"),                            # no band to judge
    (None, None, "differs")])
def test_explained_only_with_a_cause_of_the_fixed_list(cause, reps, expected):
    kw = {"cause": cause} if cause else {}
    if cause == "unknown_code":
        kw["assumption"] = "batch size 32"
    n = number(printed=0.85, **kw)
    v = verdict(n, Ours(0.70 if reps is None else sum(reps) / len(reps), reps), Tolerance(0.001))
    assert v["verdict"] == expected and (v["cause"] == cause if expected == "explained" else v["cause"] is None)


def test_unknown_code_needs_its_assumption():
    with pytest.raises(ValueError, match="assumption"):
        number(cause="unknown_code")


def test_replicates_set_the_default_tolerance():
    reps = [0.84, 0.85, 0.86, 0.87]
    lo, hi = replicate_band(reps)
    n = number(printed=0.88)
    v = verdict(n, Ours(sum(reps) / 4, reps), NO_TOL)
    assert v["verdict"] == "match" and v["bound"] == pytest.approx((hi - lo) / 2)
    assert "replicate band" in v["rule"]


# ----------------------------------------------------------------------------- tolerances
def test_tolerance_most_specific_name_wins():
    tol = {"default": 1.0, "val_acc": 0.01, "s.val_acc": 0.02, "s/e": 0.03, "s/e/r.val_acc": 0.04}
    assert tolerances.tolerance_for(tol, "s", "e/r", "val_acc") == Tolerance(0.04, False, "s/e/r.val_acc")
    assert tolerances.tolerance_for(tol, "s", "e/other", "val_acc").key == "s/e"
    assert tolerances.tolerance_for(tol, "s", "x/y", "val_acc").key == "s.val_acc"
    assert tolerances.tolerance_for(tol, "t", "x/y", "val_acc").key == "val_acc"
    assert tolerances.tolerance_for(tol, "t", "x/y", "loss").key == "default"
    none = tolerances.tolerance_for({}, "t", "x/y", "loss")
    assert none.value is None and none.bound(3.0) == 0.0


def test_relative_tolerance_in_percent():
    t = tolerances.tolerance_for({"train_seconds%": 25}, "s", "e/r", "train_seconds")
    assert t.relative and t.key == "train_seconds%" and t.bound(1000.0) == pytest.approx(250.0)
    n = number(quantity="train_seconds", printed=1000.0)
    assert verdict(n, Ours(1240.0), t)["verdict"] == "match"
    assert verdict(n, Ours(1260.0), t)["verdict"] == "differs"


def test_tolerances_for_study_drops_other_studies_names():
    tol = {"val_acc": 0.01, "a.val_acc": 0.02, "b.val_acc": 0.03, "b/e": 0.1, "b%": 5, "ab.x": 1}
    assert tolerances.tolerances_for_study(tol, "a", ["a", "b", "ab"]) == {"val_acc": 0.01, "a.val_acc": 0.02}


# ----------------------------------------------------------------------------- quantities
def _fake_run(tmp_path, name, rows, **final):
    d = tmp_path / name
    d.mkdir(parents=True)
    pd.DataFrame(rows).to_csv(d / "metrics.csv", index=False)
    (d / "final.json").write_text(json.dumps({"synthetic": False, **final}))
    return {"metrics": str(d / "metrics.csv"), "final": str(d / "final.json")}


def test_quantities_as_the_writeup_computed_them(tmp_path):
    rows = [{"epoch": e, "val_acc": 0.6 - abs(e - 180) / 1000, "train_acc": 0.99923, "seconds": 2.0}
            for e in range(1, 301)]
    rows[179]["val_acc"] = 0.6892   # epoch 180: the best of the logged epochs
    rows[184]["val_acc"] = 0.75     # epoch 185: better, but never logged
    runs = {"p2/a": _fake_run(tmp_path, "a", rows, test={"acc": 0.8669}, final_eval={"train_acc": 0.9016})}
    out = StudyOutputs(runs=runs)
    logged = [1] + list(range(10, 301, 10))
    best_logged = number(run="p2/a", reduce="max", over=logged, printed=0.6892)
    assert out.get(best_logged).value == pytest.approx(0.6892)
    assert out.get(number(run="p2/a", reduce="max", printed=0.75)).value == pytest.approx(0.75)  # all epochs
    ratio = number(run="p2/a", quantity="round(val_acc, 3) / round(train_acc, 3)", printed=0.5)
    assert out.get(ratio).value == pytest.approx(0.48 / 0.999)   # 3-decimal accuracies, as printed
    assert out.get(number(run="p2/a", epoch=20, printed=0.44)).value == pytest.approx(0.44)
    assert out.get(number(run="p2/a", quantity="seconds", reduce="cumsum", epoch=10, printed=20)).value == 20.0
    assert out.get(number(run="p2/a", quantity="test.acc", printed=0.8669)).value == 0.8669
    assert out.get(number(run="p2/a", quantity="final_eval.train_acc", printed=0.9016)).value == 0.9016
    assert out.get(number(run="p2/a", epoch=400, printed=0.5)).value is None     # never reached
    missing = out.get(number(run="p9/x", printed=0.5))
    assert missing.value is None and "not in this build" in missing.detail


def test_per_epoch_series_expand_to_one_number_each():
    rows = expand_number({"run": "e/r", "quantity": "train_loss_mean", "epoch": [1, 2, 3],
                          "printed": [0.99, "0.510", None], "source": "log", "notes": {"2": "smudged"}})
    assert [r["id"] for r in rows] == ["e/r.train_loss_mean@1", "e/r.train_loss_mean@2", "e/r.train_loss_mean@3"]
    assert [r["half_unit"] for r in rows[:2]] == [pytest.approx(5e-3), pytest.approx(5e-4)]
    assert rows[2]["printed"] is None and rows[1]["note"] == "smudged"
    with pytest.raises(ValueError, match="as many values"):
        expand_number({"run": "e/r", "quantity": "x", "epoch": [1, 2], "printed": [1.0], "source": "s"})


def test_duplicate_ids_are_refused():
    with pytest.raises(ConfigError, match="duplicate id"):
        expand({"numbers": [{"run": "e/r", "quantity": "val_acc", "printed": 0.9, "source": "a"},
                            {"run": "e/r", "quantity": "val_acc", "printed": 0.8, "source": "b"}]})


def test_tables_show_the_ledgers_final_numbers():
    led = expand({"numbers": [
        {"run": "e/r", "quantity": "val_acc", "printed": "68.08%", "scale": 100, "source": "s"},
        {"run": "e/r", "quantity": "val_acc", "epoch": 20, "printed": 0.9, "source": "s"},
        {"run": "e/r", "quantity": "val_acc", "reduce": "max", "printed": 0.7, "source": "s"},
        {"run": "e/r", "quantity": "test.acc", "printed": 0.8, "source": "s"},
        {"run": "e/r", "id": "e/r.overfit_ratio", "quantity": "round(val_acc, 3) / round(train_acc, 3)",
         "printed": 0.922, "source": "s"}]})
    assert printed_by_run(led["numbers"], "s", ["s/e/r"]) == {"s/e/r": {
        "val_acc": pytest.approx(0.6808), "val_acc@20": 0.9, "best_val_acc": 0.7, "test_acc": 0.8,
        "overfit_ratio": 0.922}}


# ----------------------------------------------------------------------------- claims
def test_claims_on_the_writeups_numbers_and_on_ours(tmp_path):
    led = expand({"numbers": [
        {"run": "lr/a", "quantity": "val_acc", "printed": 0.8444, "source": "s"},
        {"run": "lr/b", "quantity": "val_acc", "printed": 0.8516, "source": "s"}],
        "claims": [
            {"id": "a_best", "text": "lr a is best", "source": "s", "kind": "best",
             "subject": "lr/a.val_acc", "among": ["lr/a.val_acc", "lr/b.val_acc"]},
            {"id": "faster", "text": "b is 4x faster", "source": "s", "kind": "compare",
             "left": {"run": "lr/a", "quantity": "seconds", "reduce": "cumsum"}, "op": ">=", "factor": 4,
             "right": {"run": "lr/b", "quantity": "seconds", "reduce": "cumsum"}}]})
    runs = {"lr/a": _fake_run(tmp_path, "a", [{"epoch": 1, "val_acc": 0.86, "seconds": 9.0}]),
            "lr/b": _fake_run(tmp_path, "b", [{"epoch": 1, "val_acc": 0.85, "seconds": 2.0}])}
    table = claims_table(led["claims"], led["numbers"], StudyOutputs(runs=runs)).set_index("id")
    assert table.loc["a_best", "on_writeup"] == "does not hold"   # 0.8444 < 0.8516 in its own numbers
    assert table.loc["a_best", "on_ours"] == "holds"
    assert table.loc["faster", "on_writeup"] == "not printed" and table.loc["faster", "on_ours"] == "holds"
    assert "write-up 0.8444" in table.loc["a_best", "numbers"]


def test_a_claimed_difference_uses_the_offset():
    """'a is 0.26 better than b': left == right + 0.26 within the tolerance; the write-up's
    own 0.919 vs 0.893 differ by 0.026, so the claim does not hold on its numbers."""
    led = expand({"numbers": [
        {"run": "m/deep", "quantity": "val_acc", "printed": "0.919", "source": "s"},
        {"run": "m/shl", "quantity": "val_acc", "printed": "0.893", "source": "s"}]})
    by_id = {n["id"]: n for n in led["numbers"]}
    claim = {"id": "better", "text": "0.26 better", "source": "s", "kind": "compare", "left": "m/deep.val_acc",
             "op": "==", "right": "m/shl.val_acc", "offset": 0.26, "tolerance": 0.001}
    ours = {"m/deep": 0.9, "m/shl": 0.64}
    row = evaluate_claim(claim, by_id, lambda n: Ours(ours[n["name"]]))
    assert row["on_writeup"] == "does not hold" and row["on_ours"] == "holds"
    assert "(left == 1 x right + 0.26)" in row["numbers"]
    assert evaluate_claim({**claim, "offset": 0.026}, by_id, lambda n: Ours(None))["on_writeup"] == "holds"
    assert evaluate_claim({**claim, "op": ">=", "offset": -0.1}, by_id, lambda n: Ours(None))["on_writeup"] == "holds"


def test_seed_001_lr_claim_does_not_hold_on_its_own_numbers():
    """The write-up says lr 1e-3 is best; its own printed accuracies say 5e-3 (0.8516)."""
    from conftest import ROOT
    from dlrepro.config import load_config, resolve

    cfg = resolve(load_config(ROOT / "config.yaml"))
    led = cfg.ledgers["kmnist_tricks"]
    by_id = {n["id"]: n for n in led["numbers"]}
    claim = next(c for c in led["claims"] if c["id"] == "lr_1e_3_best")
    row = evaluate_claim(claim, by_id, lambda n: Ours(None))
    assert row["on_writeup"] == "does not hold" and row["on_ours"] == "missing"


def test_reproduction_table_columns_and_order(tmp_path):
    runs = {"e/r": _fake_run(tmp_path, "r", [{"epoch": 1, "val_acc": 0.9}])}
    led = expand({"numbers": [{"run": "e/r", "quantity": "val_acc", "printed": "90.0%", "scale": 100,
                               "source": "Out[3]", "section": "P1"}]})
    t = reproduction_table("s", led["numbers"], StudyOutputs(runs=runs), {})
    assert list(t.columns)[:13] == ["id", "section", "where", "quantity", "epoch", "printed", "ours", "diff",
                                    "tolerance", "verdict", "cause", "note", "source"]
    r = t.iloc[0]
    assert (r["printed"], r["ours"], r["verdict"], r["source"]) == ("90.0", pytest.approx(90.0), "match", "Out[3]")
