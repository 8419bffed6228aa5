"""The notice gate's Great Expectations context, warmed in a process of its own while the refresh reads and syncs.

Importing GX and registering the notice suites costs about three seconds whatever the change: for a refresh that
adds one notice to a thousand, as much as everything else it does. The refresh starts this worker as soon as it
knows that notices will be judged (a file to read, a partition gone, a build from empty), so the import and the
suites' registration run on a spare core while files are read and partitions synced (GX registers an asset only
when its file exists: the worker puts an empty placeholder where a snapshot is not written yet); the candidate gate
(quarantine.py) then submits each batch to it and writes the next batch while it validates. GX stays the
expectation engine: the worker runs the same ``SuiteRunner`` on the same Parquet snapshots the in-process gate
would, and returns the same ``GateResult``.

In the worker only, two modules GX imports at start-up for expectations and renderers no suite here uses
(``scipy.stats`` for the distribution tests, ``altair`` for their charts) are deferred: each loads on its first
use, and GX's import costs about half as much.

Messages are pickled over the child's stdin and stdout (what GX prints goes to a log file, not the protocol):
the suites first, then one request per batch (``submit`` sends it, ``collect`` reads the answer); EOF or
``None`` ends the worker, which then exits without tearing GX down. A worker that dies or cannot
start is ``WorkerLost``: the gate validates in its own process instead, and says so.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import importlib.util
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import traceback
import types
from pathlib import Path

from pipeline.config import ROOT
from pipeline.errors import GateFailed
from pipeline.warehouse.expectations import Suite
from pipeline.warehouse.gate import GateResult, WorkerLost

DEFERRED_MODULES = ("scipy.stats", "altair")
LOG_TAIL = 600  # characters of the worker's log quoted when it is lost


class _Deferred(types.ModuleType):
    """Stands in for a module until an attribute of it is read; then imports the module and hands that over."""

    def __init__(self, name: str):
        super().__init__(name)
        self.__spec__ = importlib.machinery.ModuleSpec(name, None)  # to the import system: already imported

    def __getattr__(self, attr: str):
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), attr)


def defer_modules(names: tuple[str, ...] = DEFERRED_MODULES) -> list[str]:
    """Put a stand-in for each named module not yet imported; return the names deferred."""
    done = []
    for name in names:
        if name in sys.modules:
            continue
        try:
            if importlib.util.find_spec(name) is None:
                continue
        except (ImportError, ValueError):
            continue
        sys.modules[name] = _Deferred(name)
        done.append(name)
    return done


class GateWorker:
    """A GX SuiteRunner over ``snapshot_dir`` in a child process; ``start`` returns at once, ``run`` waits for it.

    The requests go down ``_out`` and the answers come up ``_in`` (the child's stdin and stdout here; a socket for
    the warm gate, gate_warm.py)."""

    def __init__(self, snapshot_dir: Path, suites: list[Suite]):
        self.snapshot_dir = Path(snapshot_dir)
        self.suites = suites
        self.proc: subprocess.Popen | None = None
        self._out = None  # where requests are written (None: not started, or closed)
        self._in = None  # where answers are read
        self.ready = False
        self.asked = False  # a request was sent and its answer not read
        self._log = None
        self.lost: str | None = None  # why the worker could not be started
        self.greeting = None  # what the worker said when it was ready

    @property
    def started(self) -> bool:
        """True once a start was tried (a worker that could not start is lost at its first ``run``)."""
        return self._out is not None or self.lost is not None

    def start(self) -> GateWorker:
        """Start the worker (once): it imports GX and registers the suites while the caller goes on. Never raises:
        a worker that cannot start is WorkerLost at its first ``run``, and the gate validates in-process."""
        if self.started:
            return self
        self.snapshot_dir.mkdir(parents=True, exist_ok=True)
        self._log = tempfile.TemporaryFile()
        try:
            self.proc = subprocess.Popen([sys.executable, "-m", "pipeline.warehouse.gate_worker"],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
                                         env=child_env())
        except OSError as exc:
            self.lost = f"gate worker could not be started ({exc})"
            return self
        self._out, self._in = self.proc.stdin, self.proc.stdout
        self._hello()
        return self

    def _hello(self) -> None:
        try:
            self._send((str(self.snapshot_dir), self.suites))
        except WorkerLost:
            pass  # it died at once: its first answer says how

    def run(self, params: dict, *, complete: bool, run_name: str, index_columns: tuple[str, ...],
            only: set[str] | None = None) -> GateResult:
        """Validate the snapshots as they are now (see SuiteRunner.run); raise WorkerLost if the worker is gone."""
        self.submit(params, complete=complete, run_name=run_name, index_columns=index_columns, only=only)
        return self.collect()

    def submit(self, params: dict, *, complete: bool, run_name: str, index_columns: tuple[str, ...],
               only: set[str] | None = None) -> None:
        """Ask for a validation of the snapshots and return at once (the worker reads the request when it is
        ready); ``collect`` waits for the answer. Raise WorkerLost if the worker is gone."""
        self.start()
        if self._out is None:
            raise WorkerLost(self.lost or "gate worker was closed")
        if self.asked:
            raise RuntimeError("the gate worker's last answer was not collected")
        self._send({"params": params, "complete": complete, "run_name": run_name, "index_columns": index_columns,
                    "only": only})
        self.asked = True

    def collect(self) -> GateResult:
        """The answer to the request submitted last; raise WorkerLost if the worker died before giving it."""
        if self._out is None or not self.asked:
            raise WorkerLost(self.lost or "gate worker has no request to answer")
        self.asked = False
        if not self.ready:
            self.greeting = self._answer("start")
            self.ready = True
        return self._answer("validate")

    def release(self) -> None:
        """End the worker's input and go on without waiting: it exits on its own (``close`` reaps it later)."""
        if self._out is not None and not self._out.closed:
            try:
                self._out.close()
            except OSError:
                pass

    def describe(self) -> str:
        """Who judged, for the closing summary: nobody, or a worker of this refresh (or why it was lost)."""
        if not self.started:
            return "none started"
        return f"lost: {self.lost}" if self.lost else "a worker of this refresh"

    def close(self) -> None:
        """Stop the worker (a polite end of input, then a kill if it lingers)."""
        if self.proc is None:
            if self._log is not None:
                self._log.close()
            return
        proc, self.proc, self._out, self._in, self.ready, self.asked = self.proc, None, None, None, False, False
        try:
            if not proc.stdin.closed:
                proc.stdin.close()
            proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        proc.stdout.close()
        self._log.close()

    def __enter__(self) -> GateWorker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _send(self, message: object) -> None:
        try:
            pickle.dump(message, self._out, protocol=pickle.HIGHEST_PROTOCOL)
            self._out.flush()
        except (OSError, ValueError) as exc:
            raise WorkerLost(self._why(f"could not be sent a request ({exc})")) from None

    def _answer(self, what: str):
        try:
            kind, value = pickle.load(self._in)
        except (EOFError, OSError, ValueError, pickle.UnpicklingError) as exc:
            raise WorkerLost(self._why(f"stopped before it answered ({type(exc).__name__})")) from None
        if kind == "error":
            raise GateFailed(f"the notice gate could not {what}: {value}", stage="gate")
        return value

    def _why(self, what: str) -> str:
        code = self.proc.poll() if self.proc is not None else None
        tail = ""
        if self._log is not None:
            self._log.seek(0)
            tail = self._log.read().decode("utf-8", "replace").strip()[-LOG_TAIL:]
        exit_ = f", exit code {code}" if code is not None else ""
        return f"gate worker {what}{exit_}" + (f": {tail}" if tail else "")


def child_env() -> dict[str, str]:
    """The environment of a gate process: this one's, with the package's root first on the path."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path}


def _sender(out):
    def send(message: object) -> None:
        pickle.dump(message, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()
    return send


def _start_runner(snapshot_dir: str, suites: list[Suite]):
    """A SuiteRunner over the folder (placeholders for the snapshots not written yet), or the error as a message."""
    import warnings

    from pipeline.warehouse.gate import SuiteRunner

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return SuiteRunner(Path(snapshot_dir), suites, placeholders=True, keep_results=False), None
    except Exception as exc:
        return None, ("error", f"{type(exc).__name__}: {exc}")


def answer_request(runner, request: dict) -> tuple[str, object]:
    """Validate what a request asks on the runner's snapshots: ("ok", GateResult), or ("error", what went wrong)."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return "ok", runner.run(request["params"], complete=request["complete"], run_name=request["run_name"],
                                    index_columns=request["index_columns"], only=request["only"]).gate
    except Exception as exc:
        where = traceback.format_exc(limit=3).strip().splitlines()
        return "error", f"{type(exc).__name__}: {exc}" + (f" [{where[-3].strip()}]" if len(where) >= 3 else "")


def serve_requests(runner, inp, send) -> None:
    """Validate on request (one pickled request per batch, one answer each) until input ends or says ``None``."""
    while True:
        try:
            request = pickle.load(inp)
        except EOFError:
            return
        if request is None:
            return
        send(answer_request(runner, request))
        # GX keeps each asset's last dataframe: dropped now, the worker holds one batch at a time, never this one
        # beside the next (0.1 s a batch, while the refresh records the verdicts).
        runner.drop_batches()


def suites_digest(suites: list[Suite]) -> str:
    """What a runner registered: the same digest means the same suites, expectations and parameters."""
    return hashlib.sha256(pickle.dumps(suites, protocol=pickle.HIGHEST_PROTOCOL)).hexdigest()


def serve_session(inp, send, runner_for) -> None:
    """One session: read the folder and suites, get a runner for them (``runner_for`` returns the runner, or None
    and the error to send, and what to say when ready), then validate on request until input ends."""
    try:
        snapshot_dir, suites = pickle.load(inp)
    except EOFError:
        return
    runner, error, hello = runner_for(snapshot_dir, suites)
    if runner is None:
        send(error)
        return
    send(("ready", hello))
    serve_requests(runner, inp, send)


def _serve(inp, out) -> None:
    """The worker's side: import GX and register the suites at once, then validate on request until input ends."""
    serve_session(inp, _sender(out), lambda snapshot_dir, suites: (*_start_runner(snapshot_dir, suites), None))


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop: it closes our input
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever GX prints goes to the log, never into the protocol
    defer_modules()
    _serve(sys.stdin.buffer, out)
    out.close()
    sys.stderr.flush()
    os._exit(0)  # nothing left to write: skip tearing down GX's objects, which took the parent half a second to wait


if __name__ == "__main__":
    main()
