"""The house style without seaborn: the same matplotlib settings and the same pixels as
seaborn's set_theme, and a drawing job that imports neither seaborn nor scipy."""
import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT

# One figure with lines, shorthand colour codes, markers, a legend, bars and a grid.
DRAW = r"""
import json, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import matplotlib.colors as mc
import numpy as np
{setup}
fig, ax = plt.subplots()
x = np.linspace(0, 1, 20)
for i in range(4):
    ax.plot(x, x ** (i + 1), label=f"line {{i}}")
ax.plot([0.5], [0.5], "r*", ms=14)
ax.plot([0.2], [0.7], "ko")
ax.bar([0.1, 0.3], [0.2, 0.4], width=0.1)
ax.set_title("title"); ax.set_xlabel("x"); ax.set_ylabel("y"); ax.legend()
fig.savefig(sys.argv[1])
rc = {{k: str(v) for k, v in plt.rcParams.items() if k not in ("image.cmap", "axes.prop_cycle")}}
rc["cycle"] = str([mc.to_hex(c) for c in plt.rcParams["axes.prop_cycle"].by_key()["color"]])
codes = {{c: mc.to_hex(mc.colorConverter.colors[c]) for c in "bgrmyck"}}
print(json.dumps({{"rc": rc, "codes": codes}}))
"""
SEABORN = """
import seaborn as sns
sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
plt.rcParams.update({"figure.figsize": (6.4, 4.2), "axes.titlesize": 11, "legend.fontsize": 8,
                     "savefig.dpi": 120})
"""
HOUSE = """
sys.path.insert(0, %r)
from dlrepro.outputs.plotting import style
style()
""" % str(ROOT)


def _draw(setup: str, png) -> dict:
    out = subprocess.run([sys.executable, "-c", DRAW.format(setup=setup), str(png)], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def test_style_is_seaborns_theme_without_seaborn(tmp_path):
    matplotlib_image = pytest.importorskip("matplotlib.image")
    ref = _draw(SEABORN, tmp_path / "seaborn.png")
    ours = _draw(HOUSE, tmp_path / "house.png")
    differing = {k: (ref["rc"][k], ours["rc"].get(k)) for k in ref["rc"]
                 if ref["rc"][k] != ours["rc"].get(k)}
    assert not differing, differing
    assert ours["codes"] == ref["codes"]
    a = matplotlib_image.imread(tmp_path / "seaborn.png")
    b = matplotlib_image.imread(tmp_path / "house.png")
    assert a.shape == b.shape and np.array_equal(a, b), "the figures differ in their pixels"


def test_a_drawing_job_imports_neither_seaborn_nor_scipy():
    code = ("import sys; sys.path.insert(0, %r); import dlrepro.outputs.figures, dlrepro.outputs.analyses, "
            "dlrepro.outputs.tables; print(sorted(m for m in ('seaborn', 'scipy', 'torchvision') "
            "if m in sys.modules))" % str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"
