"""A warm job server for local builds: a Python job skips its imports.

A Snakemake ``script:`` job starts a fresh Python that imports torch (with torch.optim's
first use, torch._dynamo), pandas and matplotlib: 4-5 s on these cores, for a smoke job
whose own work is a fraction of a second. In a local build the Snakefile's ``onstart``
starts one server (:func:`start`) that imports them once. Each workflow script begins
with ``run_warm(globals())``: the job process hands its script to the server and waits.
The server forks a *supervisor* for the job, which forks the *worker*; the worker takes
the job's stdin/stdout/stderr (passed over the socket), working directory, environment and
argv, runs the same script file (Snakemake's copy, preamble included) and exits. The job
process exits with the worker's status.

What stays as it was (tests/workflow/test_jobserver.py):

- one job, one worker: a worker runs one script and exits; each job is a fresh fork of
  the server, which imports modules and runs nothing else;
- the exit status is the worker's: an exit code, an exception's traceback on the job's
  stderr and exit 1, a worker killed by signal N kills its job process with N;
- a job process killed with SIGKILL takes its worker with it: the supervisor sees the job's
  connection close and SIGKILLs the worker (a worker also dies with its supervisor); the
  signals a job process can catch (SIGTERM, SIGINT, SIGHUP) go on to the worker;
- the server is Snakemake's child, in its process group (a Ctrl-C or a kill of the group
  reaches server, supervisors and workers), and exits when Snakemake ends or is gone;
- off where the jobs are not this Snakemake's children: a cluster executor, inside a SLURM
  job, or ``jobserver: off`` in the config. With no server (or none answering) a script
  runs in its own process as before.

One thing differs: a ``benchmark:`` file measures the job process, so its memory columns
leave out the worker (its wall time is the job's). Build with ``--config jobserver=off``
to measure a job's memory.
"""
from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

__all__ = ["ENV", "WARM_MODULES", "run_warm", "serve", "start", "stop"]

#: the server's socket path, in the environment Snakemake gives its jobs
ENV = "DLREPRO_JOBSERVER"
#: what the server imports once (what the workflow scripts import at their top, and the
#: lazy torch._dynamo that torch.optim pulls in on first use); torchvision is left out
#: (3 data jobs use it, and it would add 3 s to every build's start)
WARM_MODULES = ("torch", "torch._dynamo", "torch.optim", "numpy", "pandas", "yaml",
                "matplotlib", "matplotlib.pyplot", "scipy.special",
                "snakemake.iocontainers", "snakemake.logging",
                "dlrepro.training.run", "dlrepro.data.prepare", "dlrepro.training.lr_finder",
                "dlrepro.outputs.figures", "dlrepro.outputs.tables", "dlrepro.outputs.runs_table",
                "dlrepro.outputs.analyses", "dlrepro.reproduction.compare", "dlrepro.reproduction.ours",
                "dlrepro.site.build", "dlrepro.studies.scratch_backprop.stages")

_IN_WORKER = False
_FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
_HEAD = struct.Struct("!I")
_MSG = struct.Struct("!ci")  # b"P" + worker pid, then b"S" + its wait status


# ---- the job process's side ------------------------------------------------------------

def run_warm(script_globals: dict) -> None:
    """Run this Snakemake script in the build's job server and exit with its status; return
    (run the script here) when there is no server, or inside the worker itself."""
    path, script = os.environ.get(ENV), script_globals.get("__real_file__")
    if _IN_WORKER or not path or not script or os.environ.get("SLURM_JOB_ID"):
        return
    request = json.dumps({"script": os.path.abspath(script), "cwd": os.getcwd(), "argv": sys.argv,
                          "env": dict(os.environ), "umask": _umask()}).encode()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
        socket.send_fds(sock, [_HEAD.pack(len(request)) + request], [0, 1, 2])
        kind, pid = _MSG.unpack(_recv_exact(sock, _MSG.size))
    except OSError:
        sock.close()
        return  # no server answering: the job runs here, as without one
    assert kind == b"P", kind
    for sig in _FORWARDED:
        signal.signal(sig, lambda s, _f: _kill_quietly(pid, s))
    try:
        kind, status = _MSG.unpack(_recv_exact(sock, _MSG.size))
    except OSError as e:
        print(f"dlrepro job server: lost the worker of {script} ({e})", file=sys.stderr)
        os._exit(1)
    code = os.waitstatus_to_exitcode(status)
    sys.stdout.flush()
    sys.stderr.flush()
    if code < 0:  # the worker died of a signal: so does the job process
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    os._exit(code)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _kill_quietly(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed")
        buf += chunk
    return buf


# ---- the server ------------------------------------------------------------------------

def serve(path: str, parent: int) -> None:
    """Import :data:`WARM_MODULES`, then serve jobs on the socket ``path`` until ``parent``
    (the Snakemake process) is gone or a SIGTERM comes."""
    import importlib

    os.environ.setdefault("MPLBACKEND", "Agg")
    t0 = time.perf_counter()
    for name in WARM_MODULES:
        try:
            importlib.import_module(name)
        except Exception as e:  # a job that needs it imports it (and fails) itself
            print(f"not preloaded: {name}: {e!r}", flush=True)
    tmp = f"{path}.{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(tmp)
    sock.listen(64)
    os.rename(tmp, path)  # a client finds the socket only once it accepts
    print(f"serving {path} after {time.perf_counter() - t0:.1f} s of imports", flush=True)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # supervisors are reaped by the kernel
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    sock.settimeout(1.0)
    try:
        while os.getppid() == parent:
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            conn.settimeout(None)
            sys.stdout.flush()
            sys.stderr.flush()
            if os.fork() == 0:
                sock.close()
                _supervise(conn)  # never returns
            conn.close()
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass


def _supervise(conn: socket.socket) -> None:
    """One job: fork its worker, tell the job process the worker's pid, relay its status;
    SIGKILL the worker if the job process goes away first."""
    code = 1
    try:
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)
        msg, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
        (n,) = _HEAD.unpack(msg[:_HEAD.size])
        body = msg[_HEAD.size:]
        while len(body) < n:
            body += _recv_exact(conn, n - len(body))
        request = json.loads(body)
        pid = os.fork()
        if pid == 0:
            conn.close()
            _work(request, fds)  # never returns
        for fd in fds:
            os.close(fd)
        conn.sendall(_MSG.pack(b"P", pid))
        pidfd = os.pidfd_open(pid)
        import select

        poll = select.poll()
        poll.register(conn.fileno(), select.POLLIN)
        poll.register(pidfd, select.POLLIN)
        while True:
            ready = {fd for fd, _ in poll.poll()}
            if pidfd in ready:
                _, status = os.waitpid(pid, 0)
                try:
                    conn.sendall(_MSG.pack(b"S", status))
                except OSError:
                    pass
                code = 0
                return
            if conn.recv(64) == b"":  # the job process is gone: its worker goes too
                _kill_quietly(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        os._exit(code)


def _die_with_parent() -> None:
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)


def _work(request: dict, fds: list[int]) -> None:
    """The worker: become the job (fds 0-2, cwd, environment, argv, umask), run its script
    as ``__main__``, exit with its status."""
    global _IN_WORKER
    import runpy
    import traceback

    _IN_WORKER = True
    code = 1
    try:
        supervisor = os.getppid()
        _die_with_parent()
        if os.getppid() != supervisor:
            os._exit(1)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.umask(request["umask"])
        sys.argv = list(request["argv"])
        try:
            runpy.run_path(request["script"], run_name="__main__")
            code = 0
        except SystemExit as e:
            if e.code is None or isinstance(e.code, int):
                code = e.code or 0
            else:
                print(e.code, file=sys.stderr)
        except KeyboardInterrupt:  # as Python itself ends on an unhandled SIGINT: killed by it
            traceback.print_exc()
            code = -signal.SIGINT
        except BaseException:
            traceback.print_exc()
    finally:
        try:
            import logging

            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            if code < 0:
                signal.signal(-code, signal.SIG_DFL)
                os.kill(os.getpid(), -code)
            os._exit(code)


# ---- Snakemake's side: onstart / onsuccess / onerror ------------------------------------

_SERVER: dict = {}


def start(mode: str | bool = "auto", local: bool = True, log_path: str = ".snakemake/dlrepro-jobserver.log",
          timeout: float = 120.0) -> str | None:
    """Start the build's job server (the Snakefile's ``onstart``) and put its socket path in
    the environment Snakemake's jobs inherit. Returns the path, or None when the server is
    off (``mode`` "off", not a ``local`` executor, inside a SLURM job) or did not come up."""
    if mode in ("off", False) or not local or os.environ.get("SLURM_JOB_ID") or _SERVER:
        return None
    tmpdir = tempfile.mkdtemp(prefix="dlrepro-jobs-")
    path = os.path.join(tmpdir, "socket")
    os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
    log = open(log_path, "a")
    code = f"from dlrepro.jobserver import serve; serve({path!r}, {os.getpid()})"
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT)
    log.close()
    _SERVER.update(proc=proc, dir=tmpdir)
    atexit.register(stop)
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop()
            return None
        time.sleep(0.05)
    os.environ[ENV] = path
    return path


def stop() -> None:
    """Stop the job server (running jobs finish; new ones run in their own processes)."""
    os.environ.pop(ENV, None)
    proc, tmpdir = _SERVER.pop("proc", None), _SERVER.pop("dir", None)
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if tmpdir:
        shutil.rmtree(tmpdir, ignore_errors=True)
