"""The notice gate on a dask cluster: a lost task costs only time, GX that cannot start is an error (the refresh on a
real cluster: test_gate.py)."""

from __future__ import annotations

import socket

from pipeline.warehouse import gate_cluster
from pipeline.warehouse.expectations import Spec, Suite
from pipeline.warehouse.gate import ROW_KEY, SuiteRunner
from pipeline.warehouse.gate_cluster import ClusterGate
from tests.test_gate_worker import suites, verdicts, write


class _Lost:
    """A dask future whose task was lost: its worker died more often than dask retries."""

    def result(self):
        raise RuntimeError("KilledWorker: the task's worker died 3 times")

    def cancel(self):
        pass


class _LosingClient:
    def scheduler_info(self):
        return {"workers": {"tcp://10.0.0.1:1": {"nthreads": 1}}}

    def scatter(self, value, broadcast):
        return value

    def submit(self, fn, *args, **kwargs):
        return _Lost()


class _Session:
    client = _LosingClient()

    def where(self):
        return "dask cluster tcp://10.0.0.1:8786 (1 worker(s))"


def test_a_batch_whose_task_the_cluster_lost_is_validated_by_the_refresh_from_the_bytes_it_kept(tmp_path):
    folder = tmp_path / "candidates"
    write(folder, lambda bad: bad)
    bad = verdicts(SuiteRunner(folder, suites()).run({}, complete=False, run_name="x").gate)
    cluster = ClusterGate(_Session(), folder, suites())
    request = {"complete": False, "run_name": "x", "index_columns": (ROW_KEY,)}
    cluster.submit({}, **request)
    write(folder, lambda bad: [])  # the next batch is written over the folder while the first is in flight
    cluster.submit({}, **request)
    assert cluster.capacity == 2 and len(cluster.pending) == 2
    try:
        first, second = cluster.collect(), cluster.collect()
    finally:
        cluster.close()
    assert verdicts(first) == bad and not any(v[2] for v in bad)  # every suite fails on its bad row
    assert all(v[2] for v in verdicts(second)) and len(verdicts(second)) == len(bad)  # nothing to fault: all pass
    assert first.warnings[-1] == ("the dask task validating a batch was lost (RuntimeError: KilledWorker: the task's "
                                  "worker died 3 times); the refresh validated it in its own process")
    assert cluster.describe() == ("dask cluster tcp://10.0.0.1:8786 (1 worker(s)): 2 batch(es); 2 validated by the "
                                  "refresh itself, their task lost")
    assert gate_cluster._RUNNERS == {}  # closed: the folders of the refresh's own runner are gone


def test_suites_gx_cannot_register_are_an_error_of_the_task_not_a_lost_worker(tmp_path):
    broken = [Suite("t", "t", (Spec("expect_no_such_expectation", {"column": "a"}, "critical", "a test"),))]
    kind, why = gate_cluster.validate_files(broken, {}, {"params": {}, "complete": False, "run_name": "x",
                                                         "index_columns": (ROW_KEY,), "only": None})
    assert kind == "error" and why.startswith(f"GX could not start on {socket.gethostname()}: "), why
    assert gate_cluster._RUNNERS == {}  # nothing kept: the next batch tries again
