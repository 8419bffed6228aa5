"""Map one pure function over jobs on every core, each job under a memory and time budget.

Workers are forked processes that take jobs one at a time over a pipe. A worker sets its own address-space limit
(``RLIMIT_AS``), so a file that would take more memory fails with MemoryError inside it; a job that runs past its
time budget gets its worker killed and replaced. Either way the outcome is that job's failure, named by its file and
stage; the other jobs go on. A worker that dies (a crash, a signal) fails its job, not the run.
"""

from __future__ import annotations

import gc
import os
import resource
import signal
import time
import traceback
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.connection import Connection, wait
from typing import Any, Callable, Iterable, Iterator

from pipeline.engine.limits import Budget


@dataclass
class Outcome:
    """A job's result, or why it has none."""

    job: Any
    value: Any = None
    failure: str | None = None  # "over the memory budget …", "worker died …", "unexpected …"
    stage: str = "extract"
    seconds: float = 0.0


def address_space_bytes() -> int:
    """The process's current virtual size (0 where /proc is not there)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return 0


def _apply_limits(limits: Budget) -> None:
    """Cap the worker's address space at what it holds now plus the budget: a forked worker inherits its parent's
    mappings (a test runner, a scheduler, loaded libraries), and only what one file adds is the file's."""
    if limits.memory_mb:
        cap = address_space_bytes() + limits.memory_mb * 1024 * 1024
        try:
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        except (ValueError, OSError):
            pass  # a platform without RLIMIT_AS: the time budget still holds


def _run_one(fn: Callable, job, limits: Budget) -> tuple[str, Any]:
    try:
        return "ok", fn(job)
    except MemoryError:
        return "fail", f"over the memory budget ({limits.memory_mb} MB; settings in pipeline/data/limits.toml)"
    except RecursionError:
        return "fail", "too deeply nested to read (recursion limit)"
    except Exception as exc:  # a bug or an input nobody foresaw: the job's failure, never the run's
        tb = traceback.format_exc(limit=4)
        return "fail", f"unexpected {type(exc).__name__}: {exc} [{tb.strip().splitlines()[-3] if tb else ''}]"


def _worker(conn: Connection, fn: Callable, limits: Budget) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    _apply_limits(limits)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            conn.send(_run_one(fn, job, limits))
        except MemoryError:
            conn.send(("fail", f"over the memory budget ({limits.memory_mb} MB)"))
        except Exception as exc:  # the value could not be sent back (unpicklable): report it
            conn.send(("fail", f"result could not be returned: {type(exc).__name__}: {exc}"))


def start_forked(start: Callable[[], Any]) -> Any:
    """Fork with the parent's objects frozen out of the garbage collector (gc.freeze, as the gc docs advise before
    fork): the child's collections never walk the objects it inherited, whose C-level state other threads of the
    parent (DuckDB, pyarrow, GX) can leave half-changed in the child. Without it a worker forked from a long-lived
    process (a test session, a notebook) could crash in its first collection (signal 11 "Garbage-collecting")."""
    gc.freeze()
    try:
        return start()
    finally:
        gc.unfreeze()


class _Slot:
    """One worker process and the job it is running."""

    def __init__(self, ctx, fn: Callable, limits: Budget):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(child, fn, limits), daemon=True)
        start_forked(self.proc.start)
        child.close()
        self.job = None
        self.started = 0.0

    def give(self, job) -> None:
        self.job, self.started = job, time.monotonic()
        self.conn.send(job)

    def kill(self) -> None:
        if self.proc.is_alive():
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.join(5)
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.proc.join(2)
        if self.proc.is_alive():
            self.kill()


def map_local(fn: Callable, jobs: Iterable, *, workers: int, limits: Budget) -> Iterator[Outcome]:
    """Yield one Outcome per job (in completion order), running ``fn`` in ``workers`` forked processes."""
    todo = list(jobs)
    if not todo:
        return
    ctx = get_context("fork")
    slots = [_Slot(ctx, fn, limits) for _ in range(max(1, min(workers, len(todo))))]
    todo.reverse()
    try:
        for slot in slots:
            if todo:
                slot.give(todo.pop())
        while any(s.job is not None for s in slots):
            busy = [s for s in slots if s.job is not None]
            now = time.monotonic()
            next_deadline = min(s.started + limits.seconds for s in busy) if limits.seconds else None
            timeout = max(0.0, next_deadline - now) if next_deadline is not None else None
            ready = wait([s.conn for s in busy], timeout=timeout)
            for i, s in enumerate(slots):
                if s.job is None:
                    continue
                job, spent = s.job, time.monotonic() - s.started
                if s.conn in ready:
                    try:
                        kind, value = s.conn.recv()
                    except (EOFError, OSError):
                        s.proc.join(2)  # reap it, so its exit code (the signal that killed it) is known
                        code = s.proc.exitcode
                        s.kill()
                        why = (f"the worker died (signal {-code})" if code is not None and code < 0
                               else "the worker died")
                        yield Outcome(job, failure=f"{why}; likely over the memory budget ({limits.memory_mb} MB)",
                                      seconds=spent)
                        slots[i] = s = _Slot(ctx, fn, limits)
                    else:
                        s.job = None
                        yield Outcome(job, value=value if kind == "ok" else None,
                                      failure=None if kind == "ok" else value, seconds=spent)
                elif limits.seconds and spent >= limits.seconds:
                    s.kill()
                    yield Outcome(job, failure=f"over the time budget ({limits.seconds:g} s; settings in "
                                               "pipeline/data/limits.toml)", seconds=spent)
                    slots[i] = s = _Slot(ctx, fn, limits)
                if s.job is None and todo:
                    s.give(todo.pop())
    finally:
        for s in slots:
            if s.job is not None:
                s.kill()
            else:
                s.stop()
