"""The warm job server (dlrepro/jobserver.py): a job handed to it behaves as the same script
run in its own Python (output, exit status, working directory, environment), a killed job
process takes its worker with it, and a training run gives the same numbers either way."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from dlrepro import jobserver
from e2e import SNAKEMAKE, copy_project

# a stand-in for Snakemake's copy of a script: its preamble sets __real_file__
JOB = '''\
__real_file__ = __file__
import os, sys, time
from dlrepro.jobserver import run_warm
run_warm(globals())
import dlrepro.jobserver as js
print(json.dumps({"worker": js._IN_WORKER, "pid": os.getpid(), "cwd": os.getcwd(),
                  "x": os.environ.get("X"), "argv": sys.argv[1:], "torch": "torch" in sys.modules}), flush=True)
print("a line on stderr", file=sys.stderr)
mode = sys.argv[1]
if mode == "exit3":
    sys.exit(3)
if mode == "raise":
    raise ValueError("boom in the job")
if mode == "sleep":
    with open(sys.argv[2], "w") as fh:
        fh.write(str(os.getpid()))
    time.sleep(120)
    print("still here", flush=True)
'''.replace("import os, sys, time", "import json, os, sys, time")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = tmp_path_factory.mktemp("jobserver") / "server.log"
    path = jobserver.start(log_path=str(log))
    assert path and os.environ[jobserver.ENV] == path, log.read_text()
    yield jobserver._SERVER["proc"]
    jobserver.stop()
    assert jobserver.ENV not in os.environ


def _job(tmp_path: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    script = tmp_path / "job.py"
    script.write_text(JOB)
    env = dict(os.environ, X="from the job")
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=60, **kw)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_job_runs_in_a_worker_as_itself(server, tmp_path):
    p = _job(tmp_path, "ok")
    assert p.returncode == 0, p.stderr
    seen = json.loads(p.stdout)
    assert seen["worker"] and seen["torch"]                   # forked from the warm server
    assert seen["pid"] != os.getpid() and seen["pid"] != server.pid
    assert (seen["cwd"], seen["x"], seen["argv"]) == (str(tmp_path), "from the job", ["ok"])
    assert p.stderr.strip() == "a line on stderr"


def test_exit_codes_and_tracebacks_are_the_jobs(server, tmp_path):
    p = _job(tmp_path, "exit3")
    assert p.returncode == 3 and json.loads(p.stdout)["worker"]
    p = _job(tmp_path, "raise")
    assert p.returncode == 1
    assert "ValueError: boom in the job" in p.stderr and 'job.py", line' in p.stderr


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_a_killed_job_takes_its_worker_with_it(server, tmp_path, sig):
    script, marker = tmp_path / "job.py", tmp_path / "worker.pid"
    script.write_text(JOB)
    proc = subprocess.Popen([sys.executable, str(script), "sleep", str(marker)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    deadline = time.time() + 60
    while not (marker.exists() and marker.read_text()) and time.time() < deadline:
        time.sleep(0.05)
    worker = int(marker.read_text())
    assert worker != proc.pid and _alive(worker)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    deadline = time.time() + 10
    while _alive(worker) and time.time() < deadline:
        time.sleep(0.02)
    assert not _alive(worker), f"the worker outlived its job ({sig.name})"
    assert "still here" not in out
    # as a Python of its own would end: killed by the signal (SIGINT: KeyboardInterrupt first)
    assert proc.returncode == -sig
    if sig == signal.SIGINT:
        assert "KeyboardInterrupt" in err
    assert server.poll() is None                               # the server serves on


def test_no_server_means_the_job_runs_in_its_own_process(tmp_path, monkeypatch):
    monkeypatch.delenv(jobserver.ENV, raising=False)
    p = _job(tmp_path, "ok")
    assert p.returncode == 0 and not json.loads(p.stdout)["worker"]
    monkeypatch.setenv(jobserver.ENV, str(tmp_path / "no-such-socket"))   # a server gone: no harm
    p = _job(tmp_path, "exit3")
    assert p.returncode == 3 and not json.loads(p.stdout)["worker"]


def test_off_on_a_cluster_or_when_asked(monkeypatch):
    before = dict(jobserver._SERVER)         # the module's server, if the tests above started it
    monkeypatch.setattr(jobserver, "_SERVER", {})
    assert jobserver.start("off") is None and jobserver.start(False) is None
    assert jobserver.start("auto", local=False) is None            # --executor slurm
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    assert jobserver.start("auto") is None                         # inside a SLURM job
    assert not jobserver._SERVER and all(p["proc"].poll() is None for p in [before] if p)


def test_the_server_ends_with_its_snakemake(tmp_path):
    """A parent killed outright (no onsuccess/onerror): its server leaves within seconds."""
    code = ("import time; from dlrepro import jobserver; "
            f"print(jobserver.start(log_path={str(tmp_path / 'log')!r}), jobserver._SERVER['proc'].pid, flush=True); "
            "time.sleep(300)")
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    path, pid = parent.stdout.readline().split()
    assert Path(path).exists() and _alive(int(pid))
    parent.kill()
    parent.wait()
    deadline = time.time() + 15
    while _alive(int(pid)) and time.time() < deadline:
        time.sleep(0.1)
    assert not _alive(int(pid)) and not Path(path).exists()


PROBE = {
    "preset": "full",
    "data": {"source": "synthetic", "synthetic": {"n_train": 600, "n_test": 200, "seed": 0}},
    "studies": {"probe": {
        "title": "job server probe", "engine": "torch",
        "defaults": {"dataset": "kmnist", "model": "kmnist_mlp", "model_args": {"arch": "both"},
                     "init": "kaiming_uniform", "optimizer": {"name": "adam", "lr": 0.001},
                     "batch_size": 32, "epochs": 3, "seed": 1},
        "experiments": {"e": {"cases": [{"name": "r"}]}},
    }},
}
TARGET = "results/full/probe/runs/e/r/metrics.csv"


@pytest.mark.slow
def test_a_run_trained_in_the_server_equals_one_in_its_own_process(tmp_path):
    metrics = {}
    for mode in ("auto", "off"):
        work = copy_project(tmp_path / mode)
        (work / "probe.yaml").write_text(yaml.safe_dump(PROBE))
        p = subprocess.run([SNAKEMAKE, "--cores", "1", "--configfile", "config.yaml", "probe.yaml",
                            "--config", f"jobserver={mode}", "--", TARGET],
                           cwd=work, capture_output=True, text=True, timeout=900)
        assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
        served = work / ".snakemake/dlrepro-jobserver.log"
        assert served.exists() == (mode == "auto")
        if mode == "auto":
            assert "serving" in served.read_text()
        metrics[mode] = pd.read_csv(work / TARGET).drop(columns="seconds")
    pd.testing.assert_frame_equal(metrics["auto"], metrics["off"], check_exact=True)
