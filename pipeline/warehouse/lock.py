"""One refresh at a time per warehouse: a lock file beside it, held with flock for the whole run.

The kernel drops the lock when the process dies, so a killed refresh never blocks the next one; the file says who
holds it, for the message the second refresh prints.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from pipeline.errors import PipelineError


class RefreshLocked(PipelineError):
    """Another refresh of the same warehouse is running."""

    hint = "wait for it to finish (or pass --wait SECONDS to queue behind it); no run is lost"


def lock_path(warehouse: Path) -> Path:
    return warehouse.with_name(f".{warehouse.name}.lock")


@contextmanager
def refresh_lock(warehouse: Path, wait: float = 0.0) -> Iterator[None]:
    """Hold the warehouse's refresh lock, waiting up to ``wait`` seconds for another refresh to finish."""
    path = lock_path(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
                    raise RefreshLocked(f"another refresh of {warehouse} is running ({holder})", stage="lock") from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, started {dt.datetime.now().isoformat(timespec='seconds')}".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock
