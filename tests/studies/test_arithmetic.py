"""Write-up 003 P3 architecture arithmetic, computed from real modules, beside the
write-up's printed numbers (studies/optim_clr_cutout.printed.yaml)."""
from pathlib import Path

import pytest
import torch

from dlrepro.studies.optim_clr_cutout import arithmetic as A

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def printed():
    return A.printed_numbers(ROOT)


def test_printed_numbers_hold_every_part(printed):
    assert sorted(printed) == ["alexnet", "inception", "receptive_field", "vgg19"]
    assert printed["alexnet"]["total"] == 62_378_344 and len(printed["vgg19"]["rows"]) == 26


def test_a_missing_part_is_a_clear_error(printed):
    with pytest.raises(ValueError, match="lack 'vgg19'"):
        A.vgg19_table({"alexnet": printed["alexnet"]})


def test_parse_writeup_cells():
    assert A.parse_writeup_cell("224*224*3 = 150K") == (150_528, 150_000)
    assert A.parse_writeup_cell("112*112*128 = 1.6M") == (1_605_632, 1_600_000)
    assert A.parse_writeup_cell("(3*3*256)*512 = 117948") == (1_179_648, 117_948)
    assert A.parse_writeup_cell("(3*3*3)*64=1728") == (1728, 1728)
    assert A.parse_writeup_cell("7*7*512*4096") == (102_760_448, None)
    assert A.parse_writeup_cell("0") == (0, 0)
    assert A.parse_writeup_cell("sum(all)") == (None, None)


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
    assert total.params == 62_378_344 and bool(total.matches_writeup)
    assert df.matches_writeup.all()
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
    assert body.activations_ok.all()              # the K/M figures are fair roundings
    slips = body[~body.params_ok.astype(bool)]
    assert slips.index.tolist() == [12, 13, 14, 15, 17, 18, 19, 20]
    assert slips.loc[12, "weights"] == 1_179_648 and slips.loc[12, "writeup_params_stated"] == 117_948
    assert "1,179,648" in slips.loc[12, "note"]
    assert (slips.loc[13:, "weights"] == 2_359_296).all()
    assert (slips.loc[13:, "writeup_params_stated"] == 2_358_296).all()
    # every product the write-up wrote is right; only the stated results slip
    prods = body.dropna(subset=["writeup_params_product"])
    assert (prods.writeup_params_product == prods.weights).all()


def test_receptive_field(printed):
    assert A.stacked_rf_formula(3, 5) == 13
    assert A.measure_receptive_field(3, 5) == 13
    assert A.receptive_field([3, 3], [2, 2]) == A.measure_receptive_field(2, 3, stride=2) == 7
    df = A.receptive_field_table(printed)
    assert (df.rf_formula == df.rf_measured).all()
    assert (df.rf_formula == df.n_layers * df.kernel - df.n_layers + 1).all()
    row = df[(df.n_layers == 3) & (df.kernel == 5)].iloc[0]
    assert row.equivalent_conv == "13x13" and bool(row.matches_writeup)
    assert (row.weights_stack, row.weights_single) == (75, 169)


def test_inception_naive_vs_reduced(printed):
    s = A.inception_summary_table(printed).set_index("version")
    assert s.loc["naive", "output_depth"] == 672 and s.loc["reduced", "output_depth"] == 480
    assert s.loc["naive", "macs"] == 1_115_684_864
    assert s.loc["reduced", "macs"] == 354_418_688
    assert (s.flops == 2 * s.macs).all()           # FlopCounterMode: 2 FLOPs per MAC
    assert s.matches_writeup.all() and (s.macs_saved == 761_266_176).all()
    ops = A.inception_ops_table(printed)
    assert (ops.macs == ops.macs_formula).all()
    assert ops.dropna(subset=["writeup_macs"]).matches_writeup.all()
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
