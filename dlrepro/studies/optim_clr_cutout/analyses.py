"""Analysis kinds of write-up 003 (study ``optim_clr_cutout``), registered with
:func:`dlrepro.outputs.analyses.analysis` (``dlrepro.outputs.analyses`` imports this module).
Both get the write-up's printed P3 tables as ``printed`` (the parts of the ledger's
``transcripts`` in ``studies/optim_clr_cutout.printed.yaml`` their spec names):

``p3_table``        one P3 architecture-arithmetic table of :mod:`dlrepro.studies.optim_clr_cutout.arithmetic`
                    (``args.table``: alexnet_params | vgg19 | receptive_field |
                    inception_ops | inception_summary), computed from real modules
``p3_summary``      the P3 headline numbers, quantity | ours | note (the ledger's
                    ``analysis: p3_summary`` numbers compare them)

The study's other analyses (cutout examples, LR range test, LR schedule) are generic:
:mod:`dlrepro.outputs.training_analyses`.
"""
from __future__ import annotations

from dlrepro.ioutil import write_csv
from dlrepro.outputs.analyses import analysis, value_rows
from dlrepro.studies.optim_clr_cutout import arithmetic


# ----------------------------------------------------------------------------- P3 tables
@analysis("p3_table")
def _p3_table(args, out, data_path, printed=None):
    key = args.get("table")
    if key not in arithmetic.TABLES:
        raise ValueError(f"p3_table: args.table must be one of {sorted(arithmetic.TABLES)}, got {key!r}")
    write_csv(out, arithmetic.TABLES[key](printed))


def p3_numbers(printed: dict) -> tuple[dict, dict]:
    """(values, notes): the P3 numbers the write-up states, computed by
    :mod:`dlrepro.studies.optim_clr_cutout.arithmetic` beside the write-up's ``printed``
    P3 numbers (all four parts); notes say what is wrong with the write-up's where it is."""
    alex = arithmetic.alexnet_table(printed)
    vgg = arithmetic.vgg19_table(printed)
    rf = arithmetic.receptive_field_table(printed)
    inc = arithmetic.inception_summary_table(printed).set_index("version")
    conv = vgg[vgg["module"].str.startswith("conv")]
    first512 = conv[conv["layer"].str.upper() == "CONV3-512"].iloc[0]
    sq512 = conv[conv["layer"].str.upper() == "CONV3-512"].iloc[1]
    values = {
        "alexnet_total_params": int(alex.loc[alex["layer"] == "total", "params"].iloc[0]),
        "vgg19_conv3_256_512_params": int(first512["weights"]),
        "vgg19_conv3_512_512_params": int(sq512["weights"]),
        "vgg19_param_slips": int((vgg["params_ok"] == False).sum()),  # noqa: E712 (None = total row)
        "vgg19_total_weights": int(vgg.loc[vgg["layer"] == "TOTAL", "weights"].iloc[0]),
        "vgg19_total_activations": int(vgg.loc[vgg["layer"] == "TOTAL", "activations"].iloc[0]),
        "receptive_field_3x5x5": int(rf.loc[(rf["n_layers"] == 3) & (rf["kernel"] == 5), "rf_measured"].iloc[0]),
        "inception_naive_depth": int(inc.loc["naive", "output_depth"]),
        "inception_reduced_depth": int(inc.loc["reduced", "output_depth"]),
        "inception_naive_macs": int(inc.loc["naive", "macs"]),
        "inception_reduced_macs": int(inc.loc["reduced", "macs"]),
        "inception_macs_saved": int(inc.loc["naive", "macs_saved"]),
    }
    notes = {"vgg19_conv3_256_512_params": first512["note"], "vgg19_conv3_512_512_params": sq512["note"],
             "vgg19_param_slips": "rows of the write-up's VGG-19 table whose parameter count is wrong"}
    return values, notes


@analysis("p3_summary")
def _p3_summary(args, out, data_path, printed=None):
    values, notes = p3_numbers(printed)
    df = value_rows(values)
    df["ours"] = df["ours"].astype("Int64")
    df["note"] = [notes.get(q, "") for q in df["quantity"]]
    write_csv(out, df)
