"""A line-buffered log file for a rule's ``log:`` output."""
from __future__ import annotations

import contextlib
import time
import traceback
from pathlib import Path
from typing import Callable, Iterator


@contextlib.contextmanager
def file_logger(path: str) -> Iterator[Callable[[str], None]]:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", buffering=1) as fh:
        def log(msg: str) -> None:
            fh.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}\n")
        try:
            yield log
        except BaseException:
            fh.write(traceback.format_exc())
            raise


def route_package_logging(log: Callable[[str], None], name: str = "dlrepro") -> None:
    """Send the package's ``logging`` records (INFO and up) to a rule's log function."""
    import logging

    class _ToLog(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            log(f"{record.levelname} {record.name}: {record.getMessage()}")

    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    logger.addHandler(_ToLog(logging.INFO))
