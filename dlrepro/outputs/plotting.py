"""One consistent figure style for every study, and the shared plot kinds.

The style is seaborn's ``set_theme(context="notebook", style="whitegrid",
palette="colorblind")``, written out as the matplotlib settings it makes (:data:`THEME`),
so a drawing job does not import seaborn (and with it scipy.stats: about 1.2 s of each
job's start-up). ``tests/outputs/test_plotting.py`` checks the two stay equal. One
setting is left out: seaborn's default image colormap ``rocket``, which exists only once
seaborn is imported; the one figure that relies on it names it (and imports seaborn).
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from cycler import cycler  # noqa: E402

# seaborn's "colorblind" palette (seaborn.palettes.SEABORN_PALETTES["colorblind"]), and the
# colours set_theme gives matplotlib's one-letter codes ("r", "k", ... : its "colorblind6")
COLORBLIND = ["#0173b2", "#de8f05", "#029e73", "#d55e00", "#cc78bc",
              "#ca9161", "#fbafe4", "#949494", "#ece133", "#56b4e9"]
COLOR_CODES = {"b": "#0173b2", "g": "#029e73", "r": "#d55e00", "m": "#cc78bc", "y": "#ece133",
               "c": "#56b4e9", "k": (0.1, 0.1, 0.1)}
_TICKS = {f"{axis}tick.{k}": v for axis in "xy" for k, v in {
    "color": ".15", "direction": "out", "labelsize": 11.0, "major.size": 6.0, "major.width": 1.25,
    "minor.size": 4.0, "minor.width": 1.0}.items()}
# axes_style("whitegrid") + plotting_context("notebook") + the palette, less image.cmap
THEME = {
    "axes.axisbelow": True, "axes.edgecolor": ".8", "axes.facecolor": "white", "axes.grid": True,
    "axes.labelcolor": ".15", "axes.labelsize": 12.0, "axes.linewidth": 1.25,
    "axes.prop_cycle": cycler("color", COLORBLIND), "axes.titlesize": 12.0,
    **{f"axes.spines.{side}": True for side in ("bottom", "left", "right", "top")},
    "figure.facecolor": "white", "font.family": ["sans-serif"], "font.size": 12.0,
    "font.sans-serif": ["Arial", "DejaVu Sans", "Liberation Sans", "Bitstream Vera Sans", "sans-serif"],
    "grid.color": ".8", "grid.linestyle": "-", "grid.linewidth": 1.0,
    "legend.fontsize": 11.0, "legend.title_fontsize": 12.0,
    "lines.linewidth": 1.5, "lines.markersize": 6.0, "lines.solid_capstyle": "round",
    "patch.edgecolor": "w", "patch.force_edgecolor": True, "patch.linewidth": 1.0, "text.color": ".15",
    "xtick.bottom": False, "xtick.top": False, "ytick.left": False, "ytick.right": False, **_TICKS,
}


SYNTHETIC_STAMP = "SYNTHETIC DATA: pipeline check, not the write-up's result"


def style() -> None:
    plt.rcParams.update(THEME)
    for code, color in COLOR_CODES.items():
        matplotlib.colors.colorConverter.colors[code] = matplotlib.colors.to_rgb(color)
    plt.rcParams.update({"figure.figsize": (6.4, 4.2), "axes.titlesize": 11,
                         "legend.fontsize": 8, "savefig.dpi": 120})


def stamp(fig, synthetic: bool) -> None:
    """Label a figure built from synthetic data so nobody mistakes it for a result."""
    if synthetic:
        fig.text(0.5, 0.995, SYNTHETIC_STAMP, ha="center", va="top", fontsize=8,
                 color="#b00020", weight="bold")
