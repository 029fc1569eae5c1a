"""Write-up 003 P3 architecture arithmetic, computed from real modules. The tables carry no
verdicts: the ledger (studies/optim_clr_cutout.printed.yaml) compares the write-up's numbers
with their rows (tests/studies/test_optim_clr_cutout.py)."""
from pathlib import Path

import pandas as pd
import pytest
import torch

from dlrepro.studies.optim_clr_cutout import arithmetic as A

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def printed():
    return A.printed_numbers(ROOT)


def test_printed_texts_hold_the_parts_the_tables_show(printed):
    assert sorted(printed) == ["alexnet", "inception", "vgg19"]
    assert len(printed["alexnet"]["layers"]) == 8 and len(printed["vgg19"]["rows"]) == 26


def test_a_missing_part_is_a_clear_error(printed):
    with pytest.raises(ValueError, match="lack 'vgg19'"):
        A.vgg19_table({"alexnet": printed["alexnet"]})


VERDICT_COLUMNS = ("matches_writeup", "params_ok", "activations_ok", "writeup_params_stated", "writeup_macs",
                   "writeup_rf", "writeup_output_depth", "writeup_macs_saved", "note")


def test_no_table_compares(printed):
    """The ledger is the only comparison: no table holds a verdict or a parsed number of the write-up."""
    for name, df in A.tables(printed).items():
        assert not set(VERDICT_COLUMNS) & set(df.columns), name
        assert not any(c.startswith("writeup_") and pd.api.types.is_numeric_dtype(df[c]) for c in df.columns), name
    assert A.tables(None)["vgg19"].columns.tolist() == A.vgg19_table().columns.tolist()


def test_alexnet_parameters(printed):
    df = A.alexnet_table(printed)
    layers = df[df.layer != "total"].set_index("layer")
    assert list(layers.index) == ["conv1", "conv2", "conv3", "conv4", "conv5",
                                  "fc1", "fc2", "fc3"]
    assert layers.params.to_dict() == {
        "conv1": 34_944, "conv2": 614_656, "conv3": 885_120, "conv4": 1_327_488,
        "conv5": 884_992, "fc1": 37_752_832, "fc2": 16_781_312, "fc3": 4_097_000}
    assert layers.output_shape.to_dict()["conv1"] == "55x55x96"
    total = df[df.layer == "total"].iloc[0]
    assert total.params == 62_378_344
    assert df.loc[0, "writeup_text"] == "(11 x 11) x 3 x 96 + 96 = 34944"   # the write-up's line, shown beside
    # the module is the one that was counted
    assert sum(p.numel() for p in A.alexnet().parameters()) == 62_378_344
    grouped = A.alexnet_table(printed, grouped=True)
    assert grouped[grouped.layer == "total"].params.item() == 60_965_224


def test_vgg19_table_and_writeup_slips(printed):
    df = A.vgg19_table(printed)
    assert len(df) == 26
    body, total = df.iloc[:-1], df.iloc[-1]
    assert total.weights == 143_652_544
    assert total.weights + total.biases == 143_667_240
    assert total.weights + total.biases == sum(p.numel() for p in A.vgg19().parameters())
    assert total.activations == int(body.activations.sum())
    assert body.activations.iloc[0] == 224 * 224 * 3
    assert body[body.layer == "POOL2"].output_shape.tolist() == [
        "112x112x64", "56x56x128", "28x28x256", "14x14x512", "7x7x512"]
    assert body.row.tolist() == list(range(25)) and body.module.is_unique
    conv = body[body.module.str.startswith("conv")]
    assert conv.loc[12, "weights"] == 1_179_648 and conv.loc[12, "writeup_params"] == "(3*3*256)*512 = 117948"
    assert (conv.loc[13:, "weights"] == 2_359_296).all()
    assert body.loc[0, "writeup_activations"] == "224*224*3 = 150K"


def test_receptive_field(printed):
    assert A.stacked_rf_formula(3, 5) == 13
    assert A.measure_receptive_field(3, 5) == 13
    assert A.receptive_field([3, 3], [2, 2]) == A.measure_receptive_field(2, 3, stride=2) == 7
    df = A.receptive_field_table(printed)
    assert (df.rf_formula == df.rf_measured).all()
    assert (df.rf_formula == df.n_layers * df.kernel - df.n_layers + 1).all()
    row = df[(df.n_layers == 3) & (df.kernel == 5)].iloc[0]
    assert row.equivalent_conv == "13x13"
    assert (row.weights_stack, row.weights_single) == (75, 169)


def test_inception_naive_vs_reduced(printed):
    s = A.inception_summary_table(printed).set_index("version")
    assert s.loc["naive", "output_depth"] == 672 and s.loc["reduced", "output_depth"] == 480
    assert s.loc["naive", "macs"] == 1_115_684_864
    assert s.loc["reduced", "macs"] == 354_418_688
    assert (s.flops == 2 * s.macs).all()           # FlopCounterMode: 2 FLOPs per MAC
    assert (s.macs_saved == 761_266_176).all()
    ops = A.inception_ops_table(printed)
    assert (ops.macs == ops.macs_formula).all()
    assert ops.set_index(["version", "layer"]).loc[("reduced", "proj1x1"), "out_depth"] == 64
    lines = A.inception_lines_table(printed).set_index(["version", "line"])
    assert lines.loc[("reduced", "3 x 1x1 64"), "macs"] == 3 * 16_777_216      # the write-up's one line for three convs
    assert lines.loc[("reduced", "3 x 1x1 64"), "layers"] == "3x3/reduce1x1, 5x5/reduce1x1, pool/proj1x1"
    assert lines.loc[("naive", "5x5 96"), "writeup_text"] == "32*32*96*5*5*256 = 629145600"
    assert lines.groupby(level=0)["macs"].sum().to_dict() == {"naive": 1_115_684_864, "reduced": 354_418_688}
    for version, total in (("naive", 1_115_684_864), ("reduced", 354_418_688)):
        assert ops[ops.version == version].macs.sum() == total


def test_flop_counter_on_a_real_tensor_agrees_with_meta():
    conv = torch.nn.Conv2d(4, 6, 3, padding=1)
    _, flops = A.count_flops(conv, torch.randn(1, 4, 8, 8))
    assert flops == 2 * 8 * 8 * 6 * 9 * 4


def test_tables_by_key(printed):
    t = A.tables(printed)
    assert list(t) == list(A.TABLES)
    assert t["alexnet_params"].pipe(lambda d: d[d.layer == "total"].params.item()) == 62_378_344
    assert t["inception_summary"].output_depth.tolist() == [672, 480]
