"""One consistent figure style for every study (seaborn), and the shared plot kinds."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

SYNTHETIC_STAMP = "SYNTHETIC DATA: pipeline check, not the write-up's result"


def style() -> None:
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    plt.rcParams.update({"figure.figsize": (6.4, 4.2), "axes.titlesize": 11,
                         "legend.fontsize": 8, "savefig.dpi": 120})


def stamp(fig, synthetic: bool) -> None:
    """Label a figure built from synthetic data so nobody mistakes it for a result."""
    if synthetic:
        fig.text(0.5, 0.995, SYNTHETIC_STAMP, ha="center", va="top", fontsize=8,
                 color="#b00020", weight="bold")
