"""The notice gate on the dask cluster of a ``--engine dask`` refresh: batches validated on many machines at once.

The candidate gate (quarantine.py) cuts the changed notices into batches and writes each batch's snapshots; with
this gate each batch's snapshot files travel inside its dask task (bytes, not paths: the gate needs no storage
shared with the workers), and several batches are in flight at once, two per worker thread. On a worker the task
writes them into a folder of that worker thread's own and validates them with the same ``SuiteRunner`` (GX, the
same suites, expectations and parameters) the refresh's own worker would run; the runner is registered once per
worker thread and kept for the next batch. Verdicts are collected in the order the batches were submitted, so the
quarantine's rounds and the warehouse are the same as on one machine.

A task the cluster loses (its worker died more often than dask retries) costs only time: the refresh validates
that batch itself, from the bytes it kept, and says so in the gate's warnings. A GX error on a worker is the
pipeline fault it would be locally (``GateFailed``).
"""

from __future__ import annotations

import atexit
import shutil
import socket
import sys
import tempfile
import threading
from collections import deque
from pathlib import Path

from pipeline.errors import GateFailed
from pipeline.warehouse.expectations import Suite
from pipeline.warehouse.gate import GateResult, SuiteRunner
from pipeline.warehouse.gate_worker import _start_runner, answer_request, defer_modules, suites_digest

BATCHES_PER_THREAD = 2  # in flight per worker thread: one validating, the next one already there

_RUNNERS: dict[tuple[str, int], tuple[SuiteRunner, Path]] = {}  # of this process: (suites digest, thread) → runner


def _runner(suites: list[Suite]) -> tuple[tuple[SuiteRunner, Path] | None, str | None]:
    """This thread's runner for the suites and its folder (registered on first use, over a folder of its own), or
    None and why GX would not start."""
    key = (suites_digest(suites), threading.get_ident())
    if key not in _RUNNERS:
        if "great_expectations" not in sys.modules:
            defer_modules()  # as in the gate worker: GX imports in half the time
        folder = Path(tempfile.mkdtemp(prefix="policy-gate-"))
        runner, error = _start_runner(str(folder), suites)
        if runner is None:
            shutil.rmtree(folder, ignore_errors=True)
            return None, error[1]
        _RUNNERS[key] = (runner, folder)
    return _RUNNERS[key], None


@atexit.register
def forget_runners() -> None:
    """Drop this process's runners and their folders."""
    for _, folder in _RUNNERS.values():
        shutil.rmtree(folder, ignore_errors=True)
    _RUNNERS.clear()


def warm_runner(suites: list[Suite]) -> bool:
    """A dask task: import GX and register the suites on this worker before its first batch."""
    _runner(suites)
    return True


def validate_files(suites: list[Suite], files: dict[str, bytes], request: dict) -> tuple[str, object]:
    """A dask task: validate one batch, its snapshots given as bytes (suite name → Parquet file); answer as the gate
    worker does, ("ok", GateResult) or ("error", why)."""
    got, why = _runner(suites)
    if got is None:  # GX would not start, or the suites would not register: a pipeline fault, as locally
        return "error", f"GX could not start on {socket.gethostname()}: {why}"
    runner, folder = got
    for name, data in files.items():
        (folder / f"{name}.parquet").write_bytes(data)
    answer = answer_request(runner, request)
    runner.drop_batches()  # the next batch is read afresh; what this one cached goes
    return answer


class ClusterGate:
    """Validates the candidate gate's batches on a DaskSession's cluster: what CandidateGate and the refresh use of
    a GateWorker (start, submit, collect, release, close), with several batches in flight (``capacity``). Never
    lost as a whole: a lost task's batch is validated here."""

    def __init__(self, session, snapshot_dir: Path, suites: list[Suite]):
        self.session = session
        self.snapshot_dir = Path(snapshot_dir)
        self.suites = suites
        self._suites = None  # the suites, scattered to every worker once
        self._warming: list = []
        self._threads = 0
        self.pending: deque = deque()  # (future, files, request), in submission order: the bytes kept until then
        self.batches = 0
        self.batches_here = 0  # validated in this process: their task was lost

    @property
    def started(self) -> bool:
        return self._suites is not None

    @property
    def capacity(self) -> int:
        """How many batches may be in flight at once."""
        return max(1, BATCHES_PER_THREAD * self._threads)

    def start(self) -> ClusterGate:
        """Send the suites to every worker and have each register them while the refresh goes on."""
        if self.started:
            return self
        client = self.session.client
        workers = client.scheduler_info().get("workers", {})
        self._threads = sum(int(w.get("nthreads", 1)) for w in workers.values()) or 1
        [self._suites] = client.scatter([self.suites], broadcast=True)  # one object: the list of suites
        self._warming = [client.submit(warm_runner, self._suites, workers=[addr], allow_other_workers=False,
                                       pure=False) for addr in workers]
        return self

    def submit(self, params: dict, *, complete: bool, run_name: str, index_columns: tuple[str, ...],
               only: set[str] | None = None) -> None:
        """Send the snapshots as they are now (their bytes) to the cluster and return at once."""
        self.start()
        if len(self.pending) >= self.capacity:
            raise RuntimeError("the cluster gate has as many batches in flight as it takes; collect one first")
        names = [s.name for s in self.suites if only is None or s.name in only]
        files = {name: (self.snapshot_dir / f"{name}.parquet").read_bytes() for name in names}
        request = {"params": params, "complete": complete, "run_name": run_name, "index_columns": index_columns,
                   "only": only}
        future = self.session.client.submit(validate_files, self._suites, files, request, pure=False)
        self.pending.append((future, files, request))
        self.batches += 1

    def collect(self) -> GateResult:
        """The verdict on the oldest batch in flight."""
        if not self.pending:
            raise RuntimeError("the cluster gate has no batch to collect")
        future, files, request = self.pending.popleft()
        try:
            kind, value = future.result()
            lost = None
        except Exception as exc:  # the task was lost (its worker died, more often than dask retries)
            lost = f"the dask task validating a batch was lost ({type(exc).__name__}: {exc})"
            self.batches_here += 1
            kind, value = validate_files(self.suites, files, request)
        if kind == "error":
            raise GateFailed(f"the notice gate could not validate: {value}", stage="gate")
        if lost:
            value.warnings.append(f"{lost}; the refresh validated it in its own process")
        return value

    def release(self) -> None:
        """Nothing is held on the workers past the judging but their registered suites (kept for the next batch)."""
        for future in self._warming:
            future.cancel()
        self._warming = []

    def close(self) -> None:
        self.release()
        for future, _, _ in self.pending:
            future.cancel()
        self.pending.clear()
        forget_runners()  # the runners of batches validated here

    def describe(self) -> str:
        """Who judged, for the closing summary."""
        if not self.started:
            return "none started"
        here = f"; {self.batches_here} validated by the refresh itself, their task lost" if self.batches_here else ""
        return f"{self.session.where()}: {self.batches} batch(es){here}"
