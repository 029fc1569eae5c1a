import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # shared helpers (e2e.py) for tests in sub-folders
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(autouse=True)
def _one_thread():
    import torch

    torch.set_num_threads(1)
    yield


@pytest.fixture
def base_config():
    """config.yaml merged with its study files (studies/): a mapping resolve() takes as is."""
    from dlrepro.config import load_config

    return load_config(ROOT / "config.yaml")


@pytest.fixture(scope="session")
def smoke_build(tmp_path_factory):
    """The whole smoke DAG built once in a fresh copy of the project (shared by the
    end-to-end, report and browser tests). DLREPRO_SMOKE_BUILD=<dir>: use that copy of the
    project instead (e.g. a build that ran past the time limit on a loaded machine); the
    same command completes it first."""
    from e2e import copy_project, snakemake

    reuse = os.environ.get("DLREPRO_SMOKE_BUILD")
    work = Path(reuse) if reuse else copy_project(tmp_path_factory.mktemp("smoke"))
    import time

    t0 = time.perf_counter()
    snakemake(work)
    print(f"\nsmoke DAG built in {time.perf_counter() - t0:.0f} s in {work}")
    return work


# ---------------------------------------------------------------- parallel runs (pytest-xdist)
# `make test` runs the suite on 2 workers (`pytest -n 2`). Each group below runs whole on one
# worker, so a session or module fixture is built once: the modules that read the smoke build
# are one group, the Slurm tests another (one cluster), every other module its own group.
# The longest groups go first, so that neither worker sits idle at the end while the other
# finishes a long one. (A scheduler of our own: xdist 3.8's --dist loadgroup marks do not
# reach pytest 9's node ids.)
SMOKE_MODULES = {f"tests/workflow/{m}.py" for m in
                 ("test_e2e", "test_overhead", "test_reliability_builds", "test_runs_and_report",
                  "test_job_resources")}
FIRST = ("smoke", "slurm", "tests/workflow/test_benchmark.py", "tests/workflow/test_jobserver.py")


def _xdist_group(nodeid: str) -> str:
    module = nodeid.split("::")[0]
    if module in SMOKE_MODULES:
        return "smoke"
    if module == "tests/workflow/test_slurm.py":
        return "slurm"
    return module


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") not in ("load", "loadgroup"):
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _xdist_group(nodeid)

    config.option.loadscopereorder = False  # the order of the collection (sorted below)
    return GroupScheduling(config, log)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    if not hasattr(config, "workerinput"):  # not an xdist worker: one process, file order
        return
    strays = [it.nodeid for it in items
              if "smoke_build" in getattr(it, "fixturenames", ()) and _xdist_group(it.nodeid) != "smoke"]
    if strays:  # it would build the smoke DAG a second time on the other worker
        raise pytest.UsageError(f"add their modules to SMOKE_MODULES in tests/conftest.py: {strays}")
    rank = {g: i for i, g in enumerate(FIRST)}
    items.sort(key=lambda it: rank.get(_xdist_group(it.nodeid), len(FIRST)))  # stable
