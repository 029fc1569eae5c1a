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
