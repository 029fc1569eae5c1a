"""Seed 003 P3 architecture arithmetic, computed from real modules."""
import runpy
import types
from pathlib import Path

import pandas as pd
import pytest
import torch

from dlrepro.studies.optim_clr_cutout import arithmetic as A

ROOT = Path(__file__).resolve().parents[1]


def test_parse_seed_cells():
    assert A.parse_seed_cell("224*224*3 = 150K") == (150_528, 150_000)
    assert A.parse_seed_cell("112*112*128 = 1.6M") == (1_605_632, 1_600_000)
    assert A.parse_seed_cell("(3*3*256)*512 = 117948") == (1_179_648, 117_948)
    assert A.parse_seed_cell("(3*3*3)*64=1728") == (1728, 1728)
    assert A.parse_seed_cell("7*7*512*4096") == (102_760_448, None)
    assert A.parse_seed_cell("0") == (0, 0)
    assert A.parse_seed_cell("sum(all)") == (None, None)


def test_alexnet_parameters():
    df = A.alexnet_table()
    layers = df[df.layer != "total"].set_index("layer")
    assert list(layers.index) == ["conv1", "conv2", "conv3", "conv4", "conv5",
                                  "fc1", "fc2", "fc3"]
    assert layers.params.to_dict() == {
        "conv1": 34_944, "conv2": 614_656, "conv3": 885_120, "conv4": 1_327_488,
        "conv5": 884_992, "fc1": 37_752_832, "fc2": 16_781_312, "fc3": 4_097_000}
    assert layers.output_shape.to_dict()["conv1"] == "55x55x96"
    total = df[df.layer == "total"].iloc[0]
    assert total.params == 62_378_344 and bool(total.matches_seed)
    assert df.matches_seed.all()
    # the module is the one that was counted
    assert sum(p.numel() for p in A.alexnet().parameters()) == 62_378_344
    grouped = A.alexnet_table(grouped=True)
    assert grouped[grouped.layer == "total"].params.item() == 60_965_224


def test_vgg19_table_and_seed_slips():
    df = A.vgg19_table()
    assert len(df) == 26
    body, total = df.iloc[:-1], df.iloc[-1]
    assert total.weights == 143_652_544
    assert total.weights + total.biases == 143_667_240
    assert total.weights + total.biases == sum(p.numel() for p in A.vgg19().parameters())
    assert total.activations == int(body.activations.sum())
    assert body.activations.iloc[0] == 224 * 224 * 3
    assert body[body.layer == "POOL2"].output_shape.tolist() == [
        "112x112x64", "56x56x128", "28x28x256", "14x14x512", "7x7x512"]
    assert body.activations_ok.all()              # the K/M figures are fair roundings
    slips = body[~body.params_ok.astype(bool)]
    assert slips.index.tolist() == [12, 13, 14, 15, 17, 18, 19, 20]
    assert slips.loc[12, "weights"] == 1_179_648 and slips.loc[12, "seed_params_stated"] == 117_948
    assert "1,179,648" in slips.loc[12, "note"]
    assert (slips.loc[13:, "weights"] == 2_359_296).all()
    assert (slips.loc[13:, "seed_params_stated"] == 2_358_296).all()
    # every product the seed wrote is right; only the stated results slip
    prods = body.dropna(subset=["seed_params_product"])
    assert (prods.seed_params_product == prods.weights).all()


def test_receptive_field():
    assert A.stacked_rf_formula(3, 5) == 13
    assert A.measure_receptive_field(3, 5) == 13
    assert A.receptive_field([3, 3], [2, 2]) == A.measure_receptive_field(2, 3, stride=2) == 7
    df = A.receptive_field_table()
    assert (df.rf_formula == df.rf_measured).all()
    assert (df.rf_formula == df.n_layers * df.kernel - df.n_layers + 1).all()
    row = df[(df.n_layers == 3) & (df.kernel == 5)].iloc[0]
    assert row.equivalent_conv == "13x13" and bool(row.matches_seed)
    assert (row.weights_stack, row.weights_single) == (75, 169)


def test_inception_naive_vs_reduced():
    s = A.inception_summary_table().set_index("version")
    assert s.loc["naive", "output_depth"] == 672 and s.loc["reduced", "output_depth"] == 480
    assert s.loc["naive", "macs"] == 1_115_684_864
    assert s.loc["reduced", "macs"] == 354_418_688
    assert (s.flops == 2 * s.macs).all()           # FlopCounterMode: 2 FLOPs per MAC
    assert s.matches_seed.all() and (s.macs_saved == 761_266_176).all()
    ops = A.inception_ops_table()
    assert (ops.macs == ops.macs_formula).all()
    assert ops.dropna(subset=["seed_macs"]).matches_seed.all()
    for version, total in (("naive", 1_115_684_864), ("reduced", 354_418_688)):
        assert ops[ops.version == version].macs.sum() == total


def test_flop_counter_on_a_real_tensor_agrees_with_meta():
    conv = torch.nn.Conv2d(4, 6, 3, padding=1)
    _, flops = A.count_flops(conv, torch.randn(1, 4, 8, 8))
    assert flops == 2 * 8 * 8 * 6 * 9 * 4


def test_workflow_script_writes_named_tables(tmp_path):
    out = {"alexnet_params": tmp_path / "a.csv", "inception_summary": tmp_path / "i.csv"}

    class Output(dict):
        def items(self):
            return [(k, str(v)) for k, v in super().items()]

    snakemake = types.SimpleNamespace(output=Output(out))
    runpy.run_path(str(ROOT / "workflow_scripts" / "arithmetic_tables.py"),
                   init_globals={"snakemake": snakemake})
    a = pd.read_csv(out["alexnet_params"])
    assert a[a.layer == "total"].params.item() == 62_378_344
    assert pd.read_csv(out["inception_summary"]).output_depth.tolist() == [672, 480]
    with pytest.raises(ValueError):
        runpy.run_path(str(ROOT / "workflow_scripts" / "arithmetic_tables.py"),
                       init_globals={"snakemake": types.SimpleNamespace(
                           output=Output({"nope": tmp_path / "x.csv"}))})
