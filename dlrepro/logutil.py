"""Job logs: every rule that declares ``log:`` writes it (what the job did, the package's
logging records, Python warnings, anything printed to stderr, and a failure's traceback)."""
from __future__ import annotations

import contextlib
import io
import logging
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Iterator


@contextlib.contextmanager
def file_logger(path: str) -> Iterator[Callable[[str], None]]:
    """A line-buffered, timestamped log file; an exception's traceback lands in it."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", buffering=1) as fh:
        def log(msg: str) -> None:
            fh.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}\n")
        try:
            yield log
        except BaseException:
            fh.write(traceback.format_exc())
            raise


class _LineWriter(io.TextIOBase):
    """A text stream that sends each complete line to ``log`` (for redirected stderr)."""

    def __init__(self, log: Callable[[str], None]):
        self._log, self._buf = log, ""

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        self._buf += s
        *lines, self._buf = self._buf.split("\n")
        for line in lines:
            self._log(f"stderr: {line}")
        return len(s)

    def flush(self) -> None:
        if self._buf:
            self._log(f"stderr: {self._buf}")
            self._buf = ""


def route_package_logging(log: Callable[[str], None], name: str = "dlrepro") -> logging.Handler:
    """Send the package's ``logging`` records (INFO and up) to a rule's log function."""

    class _ToLog(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            log(f"{record.levelname} {record.name}: {record.getMessage()}")

    handler = _ToLog(logging.INFO)
    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    return handler


@contextlib.contextmanager
def job_log(sm: Any) -> Iterator[Callable[[str], None]]:
    """The log of a Snakemake job (``sm`` is the script's ``snakemake`` object): a start and
    an end line, the package's logging and Python's warnings, stderr, and a traceback if the
    job fails. Yields the log function for the job's own lines."""
    with file_logger(sm.log[0]) as log:
        rule = getattr(sm, "rule", "?")
        wc = getattr(sm, "wildcards", None)
        wildcards = ", ".join(f"{k}={v}" for k, v in (wc.items() if hasattr(wc, "items") else []))
        log(f"rule {rule} started ({wildcards or 'no wildcards'})")
        handlers = [route_package_logging(log, "dlrepro"), route_package_logging(log, "py.warnings")]
        logging.captureWarnings(True)
        stream = _LineWriter(log)
        try:
            with contextlib.redirect_stderr(stream):
                yield log
            log(f"rule {rule} done: {', '.join(map(str, sm.output))}")
        finally:
            stream.flush()
            logging.captureWarnings(False)
            for h, name in zip(handlers, ("dlrepro", "py.warnings")):
                logging.getLogger(name).removeHandler(h)
