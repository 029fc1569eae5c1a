"""Study kmnist_tricks (write-up 001): its ledger against the write-up's text (every printed
number where the ledger says, and every printed line carried), its claims on the write-up's
own numbers, the fixed runs of issue 16 and the sample preview."""
from __future__ import annotations

import copy
import math
import re
from collections import Counter
from pathlib import Path

import pytest
import torch
from PIL import Image

from dlrepro import models
from dlrepro.config import load_config, resolve
from dlrepro.config.ledger import evaluate as evaluate_expression
from dlrepro.config.ledger import parse_printed
from dlrepro.outputs.analyses import run_analysis
from dlrepro.reproduction.claims import evaluate as evaluate_claim
from dlrepro.reproduction.ours import Ours
from dlrepro.training.trainer import Trainer, evaluate

ROOT = Path(__file__).resolve().parents[2]
STUDY = "kmnist_tricks"
WRITEUP = ROOT.parent / "shared" / "seeds" / "001_4f41bdbcbd04f943.txt"
EPOCH_RE = re.compile(r"Epoch (\d+)/(\d+), Training loss\(ave\. loss per minibatch\): ([\d.]+),Time: ([\d.]+)s")
FINAL_RE = re.compile(r"Final (Training|Validation) Accuracy: ([\d.]+)")

LEGIBLE = 1060       # printed numbers the ledger carries (all legible)
ILLEGIBLE = 3        # plain's two lost final accuracies, one stray duplicate line
CLAIMS = 18


@pytest.fixture(scope="module")
def cfg():
    raw = load_config(ROOT / "config.yaml")
    raw["preset"] = "full"
    return resolve(raw)


@pytest.fixture(scope="module")
def lines() -> list[str]:
    if not WRITEUP.exists():
        pytest.skip(f"the write-up's text is not here ({WRITEUP})")
    return WRITEUP.read_text().split("\n")


def _raw(cfg) -> list[dict]:
    return cfg.studies[STUDY]["printed"]["numbers"]


def _texts(printed) -> list[str]:
    """The digits of a printed value (or list) as the ledger keeps them."""
    return [parse_printed(v)[1] for v in (printed if isinstance(printed, list) else [printed])]


def _line_no(source: str) -> int:
    return int(re.search(r"line (\d+)", source).group(1))


# ----------------------------------------------------------------------------- the ledger vs the text
def test_every_series_is_the_printed_log_in_order(cfg, lines):
    """A per-epoch entry holds exactly the values of the epoch lines its source names, in
    order, as printed (the write-up printed Python floats, so repr gives its digits; the one
    block with 4-decimal times keeps its trailing zeros as quoted strings)."""
    n_series = 0
    for e in _raw(cfg):
        if not isinstance(e.get("epoch"), list):
            continue
        n_series += 1
        a, b = map(int, re.search(r"epoch lines (\d+)-(\d+)", e["source"]).groups())
        logged = [EPOCH_RE.search(x) for x in lines[a - 1:b]]
        logged = [m for m in logged if m]
        col = {"train_loss_mean": 3, "seconds": 4}[e["quantity"]]
        assert [m.group(col) for m in logged] == _texts(e["printed"]), (e["run"], e["quantity"])
        assert len(e["epoch"]) == len(logged)
        if e["run"] != "lr_sweep/lr-0.1" or e["epoch"][0] == 1:  # see the next test
            assert [int(m.group(1)) for m in logged] == e["epoch"], e["run"]
        assert {int(m.group(2)) for m in logged} == {cfg.runs[f"{STUDY}/{e['run']}"].settings["epochs"]}
    assert n_series == 2 * 29 + 2  # loss and time of 29 runs; lr-0.1 in two parts


def test_the_restarted_epoch_count_of_lr_0_1(cfg, lines):
    """The rendering numbers lr 0.1's epochs 1, 2, 3, 1, ..., 13: 16 lines, times rising; the
    ledger places the last 13 at epochs 4-16 and says so."""
    part = [e for e in _raw(cfg) if e.get("run") == "lr_sweep/lr-0.1" and e["quantity"] == "seconds"]
    assert [p["epoch"] for p in part] == [[1, 2, 3], list(range(4, 17))]
    times = [float(t) for p in part for t in _texts(p["printed"])]
    assert times == sorted(times) and len(times) == 16
    assert "restarts after epoch 3" in part[1]["note"]


def test_every_final_accuracy_and_table_cell_is_on_its_line(cfg, lines):
    for e in _raw(cfg):
        if isinstance(e.get("epoch"), list):
            continue
        (text,) = _texts(e["printed"])
        line = lines[_line_no(e["source"]) - 1]
        if "overfit_ratio" in e.get("id", ""):
            assert line.split("\t")[1] == text, e["id"]
        else:
            kind = {"train_acc": "Training", "val_acc": "Validation"}[e["quantity"]]
            assert FINAL_RE.search(line).groups() == (kind, text), e


def test_every_printed_line_is_carried(cfg, lines):
    """The other way round: every epoch line and every final-accuracy line of the write-up's
    output is in the ledger, except the rendering's stray duplicate (listed as illegible)."""
    carried: Counter = Counter()
    for e in _raw(cfg):
        if isinstance(e.get("epoch"), list):
            a, b = map(int, re.search(r"epoch lines (\d+)-(\d+)", e["source"]).groups())
            carried.update(i for i in range(a, b + 1) if EPOCH_RE.search(lines[i - 1]))
        else:
            carried[_line_no(e["source"])] += 1
    printed = [i for i, x in enumerate(lines, 1) if EPOCH_RE.search(x) or (FINAL_RE.search(x) and "{}" not in x)]
    stray = [_line_no(i["source"]) for i in cfg.studies[STUDY]["printed"]["illegible"] if i["where"] == "debug/five_layer"]
    assert stray == [525] and FINAL_RE.search(lines[524]).group(2) == FINAL_RE.search(lines[502]).group(2)
    assert sorted(set(printed) - set(carried)) == stray
    # an epoch line gives a loss and a time; a final-accuracy line one number
    assert all(carried[i] == (2 if EPOCH_RE.search(lines[i - 1]) else 1) for i in printed if i not in stray)


def test_counts(cfg):
    led = cfg.ledgers[STUDY]
    nums = led["numbers"]
    assert sum(n["printed"] is not None for n in nums) == LEGIBLE and len(nums) == LEGIBLE
    assert len(led["illegible"]) == ILLEGIBLE and len(led["claims"]) == CLAIMS
    by_q = Counter(n["quantity"] for n in nums)
    # one loss and one time per epoch line: 5 debug runs x 4, 18 runs x 16, 50, 5 models x 28
    assert by_q["train_loss_mean"] == by_q["seconds"] == 5 * 4 + 18 * 16 + 50 + 5 * 28 == 498
    assert by_q["train_acc"] == by_q["val_acc"] == 28 + 2                # 29 runs less plain (lost), + the 1.B restatements


def test_quantities_and_precision(cfg):
    """Losses: the mean per batch to 2 decimals; times: cumulative, a hardware matter;
    accuracies: exact fractions of 60k (train) and 10k (validation) images."""
    for n in cfg.ledgers[STUDY]["numbers"]:
        q = n["quantity"]
        if q == "train_loss_mean":
            assert n["format"] == "f2" and n["half_unit"] == pytest.approx(0.005)
        elif q == "seconds":
            assert n["reduce"] == "cumsum" and n["cause"] == "hardware"
        elif q in ("train_acc", "val_acc") and not n["id"].endswith(".3dp"):
            images = 60000 if q == "train_acc" else 10000
            assert n["printed"] * images == pytest.approx(round(n["printed"] * images), abs=1e-6)
            assert n["half_unit"] <= 0.5 / images   # one image apart reads `differs`
        elif q in ("train_acc", "val_acc"):
            assert n["printed_text"] in ("0.980", "0.893", "0.996", "0.919") and n["half_unit"] == pytest.approx(5e-4)
        else:
            assert q == "round(val_acc, 3) / round(train_acc, 3)"
        assert n["cause"] in (None, "hardware")


def test_the_printed_losses_are_means_not_sums(cfg):
    """The code shown sums the batch losses; a sum over 157 (10k) or 938 (60k) batches of
    cross-entropies would be far above ln 10, yet every printed loss of those runs is below
    it: the code that ran printed the mean, and the runs log it (train_loss = the mean)."""
    for n in cfg.ledgers[STUDY]["numbers"]:
        if n["quantity"] == "train_loss_mean" and not n["name"].startswith("debug/"):
            assert n["printed"] < math.log(10), n["id"]
    for r in cfg.study_runs(STUDY):
        assert r.settings["loop"]["logged_train_loss"] == "mean", r.key


def test_the_overfitting_column_from_the_printed_accuracies(cfg):
    """The write-up's ratio is its 3-decimal validation / training accuracy, 3 decimals."""
    by = {n["id"]: n for n in cfg.ledgers[STUDY]["numbers"]}
    for m in ("drop", "bn", "both"):
        ratio = by[f"models/{m}.overfit_ratio"]
        value = evaluate_expression(ratio["quantity"], {"val_acc": by[f"models/{m}.val_acc"]["printed"],
                                                        "train_acc": by[f"models/{m}.train_acc"]["printed"]})
        assert abs(value - ratio["printed"]) <= ratio["half_unit"], m


# ----------------------------------------------------------------------------- claims
ON_WRITEUP = {
    "lr_1e_3_best": "does not hold", "clip_1_5_best": "does not hold", "five_layer_best_val": "does not hold",
    "five_layer_better_than_both": "holds", "five_layer_not_substantially_better": "holds",
    "five_layer_almost_3x_time": "holds", "five_layer_under_3x_time": "holds",
    "only_bn_improves_val_acc": "not printed", "dropout_no_val_gain": "not printed",   # plain's accuracy is lost
    "bn_reduces_overfitting": "holds", "dropout_no_less_overfitting": "holds", "both_least_overfit": "holds",
    "clip_10_lowers_val_acc": "does not hold", "lower_lr_improves_val_acc": "holds",
    "higher_lr_lowers_val_acc": "holds", "deep_ffn_clearly_better": "holds", "deep_ffn_0_26_better": "does not hold",
    "same_n_params": "not printed"}


def test_claims_on_the_writeups_own_numbers(cfg):
    led = cfg.ledgers[STUDY]
    by = {n["id"]: n for n in led["numbers"]}
    got = {c["id"]: evaluate_claim(c, by, lambda n: Ours(None))["on_writeup"] for c in led["claims"]}
    assert got == ON_WRITEUP


def test_the_two_ffns_do_not_have_the_same_number_of_parameters(cfg):
    """'Both models have the same number of parameters': 204,042 against 867,338."""
    n_params = {arch: sum(p.numel() for p in models.build("kmnist_mlp", arch=arch).parameters())
                for arch in ("shl", "five_layer")}
    assert n_params == {"shl": 204_042, "five_layer": 867_338}
    claim = next(c for c in cfg.ledgers[STUDY]["claims"] if c["id"] == "same_n_params")
    arch = {"shl/shl": "shl", "models/five_layer": "five_layer"}
    row = evaluate_claim(claim, {}, lambda n: Ours(float(n_params[arch[n["name"]]])))
    assert (row["on_writeup"], row["on_ours"]) == ("not printed", "does not hold")


# ----------------------------------------------------------------------------- issue 16: fixed runs
def _pairs(cfg, as_run: str, fixed: str):
    a = {r.name: copy.deepcopy(r.settings) for r in cfg.study_runs(STUDY, [as_run])}
    b = {r.name: copy.deepcopy(r.settings) for r in cfg.study_runs(STUDY, [fixed])}
    return a, b


@pytest.mark.parametrize("as_run,fixed", [("debug", "debug_fixed"), ("lr_sweep", "lr_sweep_fixed"),
                                          ("clip_sweep", "clip_sweep_fixed")])
def test_full_train_acc_fixed_runs_change_only_the_accuracy_pass(cfg, as_run, fixed):
    a, b = _pairs(cfg, as_run, fixed)
    assert sorted(a) == sorted(b)
    for name in a:
        assert a[name]["loop"]["train_acc"] == "eval_full" and b[name]["loop"]["train_acc"] == "eval_subset"
        b[name]["loop"]["train_acc"] = "eval_full"
        assert a[name] == b[name], name


def test_not_reset_fixed_runs_start_fresh(cfg):
    a, b = _pairs(cfg, "models", "models_fresh")
    assert sorted(b) == ["bn", "drop", "five_layer", "plain"]
    for name, s in b.items():
        assert a[name]["init_from"] == f"debug/{name}" and "init_from" not in s
        assert s["init"] == "default" == a["both"]["init"]     # what reset_mod_params gives, as `both` had
        assert {k: v for k, v in a[name].items() if k != "init_from"} == s, name


def test_run_counts(cfg):
    counts = Counter(r.experiment for r in cfg.study_runs(STUDY))
    assert counts == {"debug": 5, "debug_fixed": 5, "lr_sweep": 6, "lr_sweep_fixed": 6, "lr_sweep_seeds": 6,
                      "both_long": 1, "clip_sweep": 7, "clip_sweep_fixed": 7, "models": 5, "models_fresh": 4,
                      "lr_clip": 4, "shl": 1}


def _data(n_train=600, n_test=200):
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 10, (n_train + n_test,), generator=g)
    protos = torch.rand(10, 1, 28, 28, generator=g) * 255
    x = (protos[y] * 0.15 + torch.rand(len(y), 1, 28, 28, generator=g) * 255).clamp(0, 255).to(torch.uint8)
    return {"train_x": x[:n_train], "train_y": y[:n_train], "test_x": x[n_train:], "test_y": y[n_train:],
            "classes": [str(i) for i in range(10)], "synthetic": True}


def test_subset_train_accuracy_is_over_the_samples_trained_on(cfg):
    """eval_subset: the same training (losses, validation) as eval_full; train_acc is over the
    64 samples trained on instead of the whole training set."""
    data = _data()
    s = dict(cfg.runs[f"{STUDY}/debug/both"].settings)
    s_fixed = dict(cfg.runs[f"{STUDY}/debug_fixed/both"].settings)
    rows = {}
    for key, settings in (("as_run", s), ("fixed", s_fixed)):
        tr = Trainer({**settings, "epochs": 2}, data, torch.device("cpu"))
        rows[key] = [tr.run_epoch(e)[0] for e in range(2)]
        if key == "fixed":
            sub = evaluate(tr.model, tr.splits["train"], tr.prep, tr.autocast)[1]
            assert len(tr.splits["train"]) == 64 and rows[key][-1]["train_acc"] == sub
    for a, b in zip(rows["as_run"], rows["fixed"]):
        assert (a["train_loss_mean"], a["val_acc"], a["val_loss"]) == (b["train_loss_mean"], b["val_acc"], b["val_loss"])
    assert rows["as_run"][-1]["train_acc"] != rows["fixed"][-1]["train_acc"]


# ----------------------------------------------------------------------------- issue 16: the preview
def test_the_preview_is_the_first_18_training_images(cfg, tmp_path):
    spec = cfg.studies[STUDY]["analyses"]["samples"]
    assert spec["dataset"] == "kmnist" and spec["args"]["mode"] == "first" and spec["args"]["n"] == 18
    assert spec["args"]["cols"] == 6   # the write-up's plt.subplot(3, 6, k+1)
    data = _data()
    torch.save(data, tmp_path / "d.pt")
    run_analysis(spec, str(tmp_path / "samples.png"), data_path=str(tmp_path / "d.pt"))
    with Image.open(tmp_path / "samples.png") as im:
        assert im.size[0] > im.size[1] > 200   # 3 rows of 6
