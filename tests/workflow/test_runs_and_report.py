"""What the smoke build gives an analyst: results/smoke/runs.csv, one tidy row per run
(read here with pandas), and `snakemake --report report.zip`, which holds the write-up
site next to the per-output entries."""
import json
import re
import zipfile
from pathlib import PurePosixPath

import pandas as pd
import pytest

from dlrepro.config import load_config, resolve
from dlrepro.outputs.runs_table import flatten
from e2e import snakemake

pytestmark = pytest.mark.slow


def _cfg(work):
    raw = load_config(work / "config.yaml")
    raw["preset"] = "smoke"
    return resolve(raw)


def test_runs_csv_has_one_row_per_run(smoke_build):
    cfg = _cfg(smoke_build)
    df = pd.read_csv(smoke_build / cfg.results / "runs.csv")
    assert len(df) == len(cfg.runs)
    keys = df["study"] + "/" + df["experiment"] + "/" + df["run"]
    assert list(keys) == list(cfg.runs)                  # study order, then the studies' own
    assert list(df.columns[:4]) == ["study", "experiment", "run", "status"]
    assert df["synthetic"].all() and set(df["device"]) == {"cpu"}
    assert df["status"].isin(["ok", "diverged", "stopped_loss_explosion"]).all()
    assert (df["train_seconds"] > 0).all() and df["val_acc"].between(0, 1).all()
    for key, row in zip(keys, df.to_dict("records")):
        run = cfg.runs[key]
        for col, value in flatten(run.settings).items():   # every setting, as a dotted column
            got = row[col]
            if value is None:
                assert pd.isna(got), (key, col, got)
            else:
                assert str(got) == str(value) or got == value, (key, col, got, value)
        final = json.loads((smoke_build / cfg.results / run.study / "runs" / run.experiment / run.name
                            / "final.json").read_text())
        assert row["val_acc"] == final["final"]["val_acc"] and row["status"] == final["status"]
        if final.get("test"):
            assert row["test_acc"] == final["test"]["acc"]
    reps = df[df["replicates"].fillna(1) > 1]
    assert len(reps) and reps["val_acc_std"].notna().all()   # the spread where there are seeds
    assert df.loc[df["replicates"].fillna(1) == 1, "val_acc_std"].isna().all()
    assert df["test_acc"].notna().any() and df["optimizer.lr"].notna().all()


def test_readme_plot_runs_from_runs_csv(smoke_build, tmp_path):
    """The README's five lines of pandas/seaborn, run on the smoke build's table."""
    text = (smoke_build / "README.md").read_text()
    code = re.search(r"```python\n(import pandas as pd\n.*?)```", text, re.S).group(1)
    assert len(code.strip().splitlines()) == 5, code
    code = code.replace("results/full/", f"{smoke_build}/results/smoke/")
    code = code.replace("runs.png", str(tmp_path / "runs.png"))
    exec(compile(code, "README.md", "exec"), {})
    assert (tmp_path / "runs.png").stat().st_size > 1000


def test_report_zip_opens_the_site(smoke_build):
    cfg = _cfg(smoke_build)
    snakemake(smoke_build, "--report", "report_site.zip")
    with zipfile.ZipFile(smoke_build / "report_site.zip") as z:
        names = set(z.namelist())
        main = z.read("report_site/report.html").decode()
        site = [PurePosixPath(n).parent for n in names if n.endswith("/index.html") and "/data/raw/" in n]
        assert len(site) == 1, site
        root = site[0]
        # every page of the site, with its assets, in the folder the report links to
        for page in ["index", *cfg.studies]:
            assert str(root / f"{page}.html") in names, page
        for study in cfg.studies:
            assert any(n.startswith(f"{root}/{study}/") and n.endswith(".png") for n in names), study
        assert str(root.relative_to("report_site") / "index.html") in main
        # the site's own links resolve inside the zip (relative links, as on disk)
        for page in ["index", *cfg.studies]:
            html = z.read(str(root / f"{page}.html")).decode()
            links = re.findall(r'(?:href|src)="([^"#?]+)', html)
            local = [l for l in links if not re.match(r"^[a-z]+:|^//", l)]
            assert local, page
            missing = [l for l in local if str(PurePosixPath(root, l)) not in names]
            assert not missing, (page, missing[:5])
        # and the per-output entries are still there
        assert sum(n.endswith(".png") and str(root) not in n for n in names) > 50
        assert any(n.endswith("/runs.csv") for n in names)
