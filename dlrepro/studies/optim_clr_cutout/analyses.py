"""Analysis kinds of write-up 003 (study ``optim_clr_cutout``), registered with
:func:`dlrepro.outputs.analyses.analysis` (``dlrepro.outputs.analyses`` imports this module):

``p3_table``           one P3 architecture-arithmetic table of :mod:`dlrepro.studies.optim_clr_cutout.arithmetic`
                       (``args.table``: alexnet_params | vgg19 | receptive_field |
                       inception_ops | inception_lines | inception_summary), computed from
                       real modules; a spec naming ``transcripts`` gets the write-up's
                       formula text beside ours (no verdicts: the ledger compares)
``paired_difference``  one final.json quantity of paired runs of two experiments and their
                       difference, e.g. P1's Out[22]: L2 training time minus dropout
                       training time per optimizer

The study's other analyses (cutout examples, LR range test, LR schedule) are generic:
:mod:`dlrepro.outputs.training_analyses`.
"""
from __future__ import annotations

import json

import pandas as pd

from dlrepro.ioutil import write_csv
from dlrepro.outputs.analyses import analysis
from dlrepro.studies.optim_clr_cutout import arithmetic


# ----------------------------------------------------------------------------- P3 tables
@analysis("p3_table")
def _p3_table(args, out, data_path, printed=None):
    key = args.get("table")
    if key not in arithmetic.TABLES:
        raise ValueError(f"p3_table: args.table must be one of {sorted(arithmetic.TABLES)}, got {key!r}")
    write_csv(out, arithmetic.TABLES[key](printed))


# ----------------------------------------------------------------------------- P1 Out[22]
def paired_difference(finals: dict[str, dict], left: str, right: str, quantity: str) -> pd.DataFrame:
    """``run | left | right | difference`` for every run name that both experiments have
    (``finals``: ``experiment/run`` -> final.json mapping), in the order of ``left``'s runs."""
    by_exp: dict[str, dict[str, dict]] = {}
    for key, final in finals.items():
        exp, name = key.split("/", 1)
        by_exp.setdefault(exp, {})[name] = final
    for exp in (left, right):
        if exp not in by_exp:
            raise ValueError(f"paired_difference: no run of experiment {exp!r} among {sorted(finals)}")
    rows = []
    for name, f in by_exp[left].items():
        if name not in by_exp[right]:
            raise ValueError(f"paired_difference: {left}/{name} has no pair in {right}")
        a, b = float(f[quantity]), float(by_exp[right][name][quantity])
        rows.append({"run": name, left: a, right: b, "difference": a - b,
                     "synthetic": bool(f.get("synthetic") or by_exp[right][name].get("synthetic"))})
    return pd.DataFrame(rows)


@analysis("paired_difference")
def _paired_difference(args, out, data_path, runs):
    """``args``: left, right (experiments), quantity (a final.json key, default train_seconds)."""
    finals = {}
    for key, files in runs.items():
        with open(files["final"]) as fh:
            finals[key] = json.load(fh)
    write_csv(out, paired_difference(finals, args["left"], args["right"], args.get("quantity", "train_seconds")))
