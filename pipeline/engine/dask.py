"""Map the per-file function over a dask cluster: the same function, the same partitions, many machines.

Why dask.distributed (not Ray Data): the job is a plain map of one pure Python function over files, with results
written to a shared folder; dask's futures do exactly that with a pip-installable scheduler, no object store to
size, and it runs as a LocalCluster for tests. ``DASK_SCHEDULER_ADDRESS`` (or ``refresh --scheduler``) points it at a
real cluster; the partitions folder (``--staging``) must then be on storage every worker and this machine share
(NFS or the like), since workers write the partitions the build reads.

Each job runs in a child process the dask worker forks, under the same memory and time budget as locally, so a
file that blows up fails alone and the worker lives on. One ``DaskSession`` serves a whole refresh: its cluster
reads the files and then judges the changed notices (warehouse/gate_cluster.py).
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import time
from typing import Callable, Iterable, Iterator

from pipeline.engine.limits import Budget
from pipeline.engine.local import Outcome, _apply_limits, _run_one, start_forked


def run_isolated(job, fn: Callable, limits: Budget) -> tuple[str, object, float]:
    """Run one job in a forked child under the budget; return (kind, value or reason, seconds).

    os.fork, not multiprocessing: dask worker processes are daemonic and may not start multiprocessing children.
    The child only runs the job and writes its pickled result (our own objects) to the pipe.
    """
    read_fd, write_fd = os.pipe()
    start = time.monotonic()
    pid = start_forked(os.fork)
    if pid == 0:  # the child
        code = 0
        try:
            os.close(read_fd)
            _apply_limits(limits)
            payload = pickle.dumps(_run_one(fn, job, limits))
            with os.fdopen(write_fd, "wb") as out:
                out.write(payload)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    chunks: list[bytes] = []
    deadline = start + limits.seconds if limits.seconds else None
    try:
        while True:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([read_fd], [], [], timeout)
            if not ready:
                os.kill(pid, signal.SIGKILL)
                return "fail", f"over the time budget ({limits.seconds:g} s; settings in pipeline/data/limits.toml)", \
                    time.monotonic() - start
            chunk = os.read(read_fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_fd)
        _, status = os.waitpid(pid, 0)
    if not chunks:
        how = f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else f"exit {os.WEXITSTATUS(status)}"
        return "fail", f"the worker died ({how}); likely over the memory budget ({limits.memory_mb} MB)", \
            time.monotonic() - start
    kind, value = pickle.loads(b"".join(chunks))
    return kind, value, time.monotonic() - start


class DaskSession:
    """One dask client for a whole refresh: both reading phases and the notice gate (gate_cluster.py) use it, so a
    local cluster starts once. The client is made on first use: a refresh with nothing to read or judge starts none.
    """

    def __init__(self, workers: int):
        self.workers = max(1, workers)
        self._client = None
        self._cluster = None

    @property
    def client(self):
        if self._client is None:
            from dask.distributed import Client, LocalCluster

            address = os.environ.get("DASK_SCHEDULER_ADDRESS")
            if address:
                self._client = Client(address)
            else:
                self._cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                             dashboard_address=None, silence_logs=40)
                self._client = Client(self._cluster)
        return self._client

    def where(self) -> str:
        """The cluster, for the closing summary: the scheduler's address and its workers."""
        if self._client is None:
            return "no dask cluster started"
        workers = len(self._client.scheduler_info().get("workers", {}))
        kind = "local dask cluster" if self._cluster is not None else "dask cluster"
        return f"{kind} {self._client.scheduler.address} ({workers} worker(s))"

    def map(self, fn: Callable, jobs: Iterable, *, limits: Budget) -> Iterator[Outcome]:
        """Yield one Outcome per job as the cluster finishes them."""
        from dask.distributed import as_completed

        todo = list(jobs)
        if not todo:
            return
        futures = {self.client.submit(run_isolated, job, fn, limits, pure=False): job for job in todo}
        for fut in as_completed(futures):
            job = futures[fut]
            try:
                kind, value, seconds = fut.result()
            except Exception as exc:  # the task itself was lost (worker gone): the file's failure
                yield Outcome(job, failure=f"the dask task failed: {type(exc).__name__}: {exc}")
                continue
            yield Outcome(job, value=value if kind == "ok" else None, failure=None if kind == "ok" else value,
                          seconds=seconds)

    def close(self) -> None:
        client, cluster, self._client, self._cluster = self._client, self._cluster, None, None
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()

    def __enter__(self) -> DaskSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def map_dask(fn: Callable, jobs: Iterable, *, workers: int, limits: Budget,
             session: DaskSession | None = None) -> Iterator[Outcome]:
    """Yield one Outcome per job as the cluster finishes them (on ``session``'s cluster, else one of its own)."""
    if session is not None:
        yield from session.map(fn, jobs, limits=limits)
        return
    with DaskSession(workers) as own:
        yield from own.map(fn, jobs, limits=limits)
