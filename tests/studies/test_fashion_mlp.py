"""Study fashion_mlp (write-up 000): its ledger against the write-up's text (every printed
number as printed, their count), its claims on the write-up's own numbers, the runs' settings
that make our quantities the write-up's (batch means, the evaluation pass after training), and
the batch-size comparison of exercise 1 with a learning rate tuned per batch size."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from dlrepro.config import load_config, resolve
from dlrepro.config.ledger import expand
from dlrepro.reproduction.claims import evaluate as evaluate_claim
from dlrepro.reproduction.compare import reproduction_table
from dlrepro.reproduction.ours import Ours, StudyOutputs

ROOT = Path(__file__).resolve().parents[2]
WRITEUP_TEXT = ROOT.parent / "shared" / "seeds" / "000_6a221b2f61b3c19f.txt"
STUDY = "fashion_mlp"
HIDDEN = [32, 64, 128, 256]
#: Out[27]'s keys in each dict (as the rendering spells them: once 'val_accuacies', once with
#: a space) -> our quantity
OUT27_KEYS = {"train_losses": "train_loss_mean", "val_losses": "val_loss_batchmean",
              "train_accuracies": "train_acc_batchmean", "val_accuracies": "val_acc_batchmean"}
#: printed values the rendering garbled: (run, quantity, epoch) -> (as rendered, as the ledger reads it)
GARBLED = {("hidden/adam_h-64_softmax-true", "train_acc_batchmean", 49): ("0..88154296875", "0.88154296875")}
#: legible printed numbers per part of the write-up (a lost entry fails)
COUNTS = {"adam_step": 3, "pixel_stats": 2, "dataset_sizes": 2, "In[16]": 24, "Out[27]": 1600, "In[32]": 36,
          "In[34]": 3}


@pytest.fixture(scope="module")
def cfg():
    raw = load_config(ROOT / "config.yaml")
    raw["preset"] = "full"
    return resolve(raw)


@pytest.fixture(scope="module")
def ledger(cfg) -> dict:
    return copy.deepcopy(cfg.ledgers[STUDY])


@pytest.fixture(scope="module")
def text() -> str:
    if not WRITEUP_TEXT.exists():
        pytest.skip("write-up text not available")
    return WRITEUP_TEXT.read_text()


def out27(text: str) -> dict[tuple[int, str], list[str]]:
    """Out[27] as printed: {(hidden, quantity): [100 values as text]}. The rendering wraps the
    dict's repr at a fixed width, mid-number, and across page breaks (some pages as one long
    line); joining the lines between In[27] and In[28] restores it."""
    block = text[text.index("In [27]: print(results_hidden_size_adam.values())"):text.index("In [28]:")]
    lines = [l.strip() for l in block.splitlines()[1:]]
    joined = "".join(l for l in lines if l not in ("", "```"))
    keys = re.findall(r"'([a-z_ ]+)':", joined)
    parts = re.split(r"'[a-z_ ]+':", joined)[1:]
    assert len(keys) == 16
    out = {}
    for i, (k, p) in enumerate(zip(keys, parts)):
        name = {"val_accuacies": "val_accuracies"}.get(k.replace(" ", "_"), k.replace(" ", "_"))
        assert name == list(OUT27_KEYS)[i % 4], (i, k)
        out[(HIDDEN[i // 4], OUT27_KEYS[name])] = re.findall(r"[0-9][0-9.]*", p)
    return out


def epoch_lines(text: str) -> dict[tuple[int, int], tuple[str, str, str]]:
    """The printed epoch lines: {(epochs of the run, epoch): (train loss, train acc, val acc)}."""
    pat = r"Epoch \[(\d+)/(\d+)\], Train Loss: ([\d.]+), Train Accuracy: ([\d.]+), Val Accuracy: ([\d.]+)"
    return {(int(m[2]), int(m[1])): (m[3], m[4], m[5]) for m in re.finditer(pat, text)}


def part_of(n: dict) -> str:
    if n["where"] == "analysis":
        return n["name"]
    return n["source"].split(" ", 1)[0].rstrip(",")


# ----------------------------------------------------------------------------- (1) as printed
def test_every_printed_number_is_in_the_writeup_as_printed(ledger, text):
    """Each number's printed text appears in the write-up (joined across the rendering's line
    breaks; exercise 4b prints decimal commas), at its place: Out[27] element by element, the
    epoch logs line by line. Exceptions: GARBLED, read as the note of the ledger entry says."""
    series = out27(text)
    logs = epoch_lines(text)
    flat = re.sub(r"\s+", "", text)
    missing = []
    for n in ledger["numbers"]:
        t, key = n["printed_text"], (n["name"], n["quantity"], n["epoch"])
        if key in GARBLED:
            rendered, read = GARBLED[key]
            assert t == read and n.get("note") and rendered in flat
            continue
        if part_of(n) == "Out[27]":
            h = int(re.search(r"adam_h-(\d+)_", n["name"])[1])
            ok = series[(h, n["quantity"])][n["epoch"] - 1] == t
        elif part_of(n) in ("In[16]", "In[32]"):
            col = {"train_loss_mean": 0, "train_acc_batchmean": 1, "val_acc_batchmean": 2}[n["quantity"]]
            ok = logs[(100 if part_of(n) == "In[16]" else 200, n["epoch"])][col] == t
        elif n["name"] == "adam_step":
            ok = t.replace(".", ",") in text
        else:
            ok = t in text
        if not ok:
            missing.append((n["id"], t))
    assert not missing


def test_out27_is_whole_and_its_lattice_checks_the_batch_size(text):
    """Every Out[27] list has its 100 epochs; the accuracies are unweighted means over batches
    of 2048 (24 x 2048 + 848 training, 4 x 2048 + 1808 validation samples): x 25 x 108544 and
    x 5 x 231424 they are integers, the evidence for our assumption about the missing cell.
    One value off the lattice: hidden 256, epoch 54, where the rendering lost a digit."""
    series = out27(text)
    assert all(len(v) == 100 for v in series.values())
    off = []
    for (h, q), vals in series.items():
        n = {"train_acc_batchmean": 25 * 108544, "val_acc_batchmean": 5 * 231424}.get(q)
        for e, v in enumerate(vals, 1):
            if n and (v.count(".") != 1 or abs(float(v) * n - round(float(v) * n)) > 1e-6):
                off.append((h, q, e, v))
    assert off == [(64, "train_acc_batchmean", 49, "0..88154296875"),
                   (256, "val_acc_batchmean", 54, "0.884400062234514")]
    assert 0.88154296875 * 25 * 108544 == 2392155  # the garbled one, read with one dot


def test_the_count_of_legible_numbers(ledger):
    numbers = ledger["numbers"]
    assert sum(n["printed"] is not None for n in numbers) == sum(COUNTS.values()) == 1670
    assert not [n for n in numbers if n["printed"] is None] and not ledger["illegible"]
    parts: dict[str, int] = {}
    for n in numbers:
        parts[part_of(n)] = parts.get(part_of(n), 0) + 1
    assert parts == COUNTS


def test_quantities_as_the_writeup_computed_them(ledger):
    """Epoch figures are batch means (never the per-sample columns); In[34] is the evaluation
    pass after training, not the running value of the last epoch."""
    qs = {n["quantity"] for n in ledger["numbers"] if n["where"] == "run"}
    assert qs == {"train_loss_mean", "train_acc_batchmean", "val_loss_batchmean", "val_acc_batchmean",
                  "final_eval.test_acc", "final_eval.train_acc", "final_eval.val_acc"}
    by_id = {n["id"]: n for n in ledger["numbers"]}
    assert by_id["best/adam_softmax-true.final_eval.train_acc"]["printed"] == 0.9016
    assert by_id["best/adam_softmax-true.train_acc_batchmean@200"]["printed"] == 0.9044
    h32 = [by_id[f"hidden/adam_h-32_softmax-true.{q}@100"]["printed"]
           for q in ("train_loss_mean", "val_loss_batchmean", "train_acc_batchmean", "val_acc_batchmean")]
    assert [round(v, 4) for v in h32] == [1.5649, 1.5945, 0.8986, 0.8664]


# ----------------------------------------------------------------------------- (2) claims
WRITEUP_VERDICTS = {
    "hidden_64_as_good_as_32": "does not hold",     # 0.8820 vs 0.8664: 1.6 points apart
    "hidden_64_as_good_as_128": "holds",
    "hidden_64_as_good_as_256": "holds",
    "hidden_64_stuck_below_075": "does not hold",   # it reached 0.8820
    "hidden_larger_is_better": "holds",             # 0.8846 > 0.8820
    "best_config_is_best": "does not hold",         # 0.8749 after 200 epochs < 0.8854 (hidden 256, 100 epochs)
}


def test_claims_on_the_writeups_own_numbers(ledger):
    by_id = {n["id"]: n for n in ledger["numbers"]}
    no_ours = lambda n: Ours(None)  # noqa: E731
    got = {c["id"]: evaluate_claim(c, by_id, no_ours)["on_writeup"] for c in ledger["claims"]}
    assert len(got) == 19
    for cid, want in WRITEUP_VERDICTS.items():
        assert got[cid] == want, cid
    # the others compare runs the write-up did not print (SGD, the depth and batch sweeps, exercise 1)
    assert {k for k, v in got.items() if v == "not printed"} == set(got) - set(WRITEUP_VERDICTS)
    row = evaluate_claim(next(c for c in ledger["claims"] if c["id"] == "best_config_is_best"), by_id, no_ours)
    assert "write-up 0.8749" in row["numbers"] and "write-up 0.885377" in row["numbers"]


def test_claims_on_ours_read_the_runs_and_the_tuned_table(tmp_path, ledger):
    """Our side of a claim: run metrics at an epoch, and the rows of table gd_variants that
    its tuning chose."""
    by_id = {n["id"]: n for n in ledger["numbers"]}
    table = pd.DataFrame([{"batch_size": 10000, "chosen": True, "epochs_to_target": 40, "seconds_to_target": 8.0},
                          {"batch_size": 10000, "chosen": False, "epochs_to_target": 90, "seconds_to_target": 9.0},
                          {"batch_size": 1, "chosen": True, "epochs_to_target": 1, "seconds_to_target": 6.0},
                          {"batch_size": 64, "chosen": True, "epochs_to_target": 2, "seconds_to_target": 0.5}])
    table.to_csv(tmp_path / "gd.csv", index=False)
    out = StudyOutputs(tables={"gd_variants": str(tmp_path / "gd.csv")})
    rows = {c["id"]: evaluate_claim(c, by_id, out.get) for c in ledger["claims"]}
    assert rows["bgd_fewer_epochs_than_sgd"]["on_ours"] == "does not hold"   # 40 vs 1
    assert rows["sgd_faster_in_time_than_bgd"]["on_ours"] == "holds"         # 6 s vs 8 s
    assert rows["minibatch_fastest_in_time"]["on_ours"] == "holds"
    assert rows["select_adam"]["on_ours"] == "missing"                       # no runs here


# ----------------------------------------------------------------------------- verdicts
def _fake_run(tmp_path, name, rows: dict[str, list], final_eval=None) -> dict:
    d = tmp_path / name.replace("/", "_")
    d.mkdir()
    pd.DataFrame(rows).to_csv(d / "metrics.csv", index=False)
    (d / "final.json").write_text(json.dumps({"final_eval": final_eval}))
    return {"metrics": str(d / "metrics.csv"), "final": str(d / "final.json")}


def test_verdicts_use_the_batch_mean_columns_and_their_tolerances(tmp_path, ledger, cfg):
    """A run whose batch means are the printed ones matches; its per-sample columns (what we
    compared before) are not read; 0.02 off an accuracy differs, with no cause to explain it."""
    nums = [n for n in ledger["numbers"] if n["name"] in ("hidden/adam_h-32_softmax-true", "best/adam_softmax-true")]
    cols: dict[str, dict[str, dict[int, float]]] = {}
    for n in nums:
        if isinstance(n["epoch"], int):
            cols.setdefault(n["name"], {}).setdefault(n["quantity"], {})[n["epoch"]] = n["printed"]
    runs = {}
    for name, qs in cols.items():
        epochs = sorted(next(iter(qs.values())))
        rows = {"epoch": epochs, **{q: [v[e] for e in epochs] for q, v in qs.items()},
                "val_acc": [0.0] * len(epochs), "train_acc": [0.0] * len(epochs)}
        runs[name] = _fake_run(tmp_path, name, rows, {"test_acc": 0.8669, "train_acc": 0.9016, "val_acc": 0.8749})
    table = reproduction_table(STUDY, nums, StudyOutputs(runs=runs), cfg.tolerances)
    assert len(table) == 400 + 36 + 3 and set(table["verdict"]) == {"match"}
    assert not table["cause"].notna().any()
    off = copy.deepcopy(runs)
    df = pd.read_csv(runs["best/adam_softmax-true"]["metrics"])
    df["val_acc_batchmean"] += 0.02
    df.to_csv(off["best/adam_softmax-true"]["metrics"], index=False)
    t2 = reproduction_table(STUDY, nums, StudyOutputs(runs=off), cfg.tolerances)
    bad = t2[t2["verdict"] != "match"]
    assert set(bad["verdict"]) == {"differs"} and len(bad) == 12
    assert set(bad["quantity"]) == {"val_acc_batchmean"} and set(bad["tolerance"]) == {0.01}


# ----------------------------------------------------------------------------- the runs
def test_runs_log_the_writeups_batch_means(cfg):
    runs = cfg.study_runs(STUDY)
    assert len(runs) == 12 + 16 + 16 + 4 + 14
    for r in runs:
        loop, s = r.settings["loop"], r.settings
        if r.experiment == "gd_variants":
            assert loop["eval_batch_size"] is None
            continue
        want = {"depth": 2048, "hidden": 2048, "batch": s["batch_size"], "best": 1024}[r.experiment]
        assert loop["eval_batch_size"] == want == s["batch_size"], r.key
        assert loop["train_acc"] == "running" and loop["logged_train_loss"] == "mean"
        if r.experiment == "best":
            assert loop["final_eval"] is True and loop["final_eval_batch_sizes"] == {"test": 2048}
            assert s["eval_test"] is True and s["epochs"] == 200


def test_figures_of_the_sweeps_draw_the_batch_means(cfg):
    figs = cfg.studies[STUDY]["figures"]
    sweeps = {k: v for k, v in figs.items() if k.startswith("val_acc_")}
    assert len(sweeps) == 12 and {v["y"] for v in sweeps.values()} == {"val_acc_batchmean"}
    assert figs["double_softmax_loss"]["y"] == "train_loss_mean"


def test_gd_variants_tune_a_learning_rate_per_batch_size(cfg):
    runs = cfg.study_runs(STUDY, ["gd_variants"])
    grids: dict[int, list[float]] = {}
    for r in runs:
        grids.setdefault(r.settings["batch_size"], []).append(r.settings["optimizer"]["lr"])
        assert r.settings["model_args"]["softmax_output"] is False and r.settings["train_subset"] == 10000
        assert r.settings["epochs"] == (200 if r.settings["batch_size"] == 10000 else 20)
    assert set(grids) == {1, 64, 10000}
    for lrs in grids.values():
        assert len(lrs) >= 4 and 0.01 in lrs and len(set(lrs)) == len(lrs)
    spec = cfg.studies[STUDY]["tables"]["gd_variants"]
    assert spec["tune"] == {"per": "batch_size", "over": "optimizer.lr"} and spec["target_loss"] == 0.6


def test_sample_grid_is_the_writeups_5_by_2(cfg):
    a = cfg.studies[STUDY]["analyses"]["samples"]
    assert a["kind"] == "samples" and a["dataset"] == "fashion_mnist"
    assert a["args"]["mode"] == "per_class" and a["args"]["n"] == 10 and a["args"]["cols"] == 2  # subplots(5, 2)


def test_dataset_sizes_analysis(tmp_path):
    import torch

    from dlrepro.outputs.analyses import run_analysis

    torch.save({"train_x": torch.zeros(60, 1, 2, 2, dtype=torch.uint8), "train_y": torch.zeros(60, dtype=torch.long),
                "test_x": torch.zeros(10, 1, 2, 2, dtype=torch.uint8), "test_y": torch.zeros(10, dtype=torch.long),
                "synthetic": True}, tmp_path / "d.pt")
    run_analysis({"kind": "dataset_sizes"}, str(tmp_path / "sizes.csv"), data_path=str(tmp_path / "d.pt"))
    df = pd.read_csv(tmp_path / "sizes.csv")
    assert dict(zip(df["quantity"], df["ours"])) == {"train": 60, "test": 10} and df["synthetic"].all()
    ledger_rows = expand({"numbers": [{"analysis": "dataset_sizes", "quantity": "train", "printed": 60,
                                       "format": "int", "source": "x"}]})["numbers"]
    assert StudyOutputs(analyses={"dataset_sizes": str(tmp_path / "sizes.csv")}).get(ledger_rows[0]).value == 60
