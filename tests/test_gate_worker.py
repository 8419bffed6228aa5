"""The notice gate's GX worker: the same verdicts as in-process, a lost worker costs nothing, empty suites skipped."""

from __future__ import annotations

import importlib
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.warehouse.expectations import Spec, Suite
from pipeline.warehouse.gate import HOLD_ON_NO_ROWS, ROW_KEY, CandidateGate, SuiteRunner, nothing_to_judge
from pipeline.warehouse.gate_worker import GateWorker, WorkerLost, _Deferred, defer_modules

# One expectation of each type the gate skips on an empty batch, with a row that breaks it.
CASES = {
    "expect_column_values_to_be_in_set": ({"column": "a", "value_set": [1]}, [{"a": 2}]),
    "expect_column_values_to_be_between": ({"column": "a", "min_value": 0, "max_value": 1}, [{"a": 2}]),
    "expect_column_values_to_not_be_null": ({"column": "a"}, [{"a": None}]),
    "expect_column_values_to_be_null": ({"column": "a"}, [{"a": 2}]),
    "expect_column_values_to_be_unique": ({"column": "a"}, [{"a": 1}, {"a": 1}]),
    "expect_compound_columns_to_be_unique": ({"column_list": ["a", "b"]}, [{"a": 1, "b": 1}, {"a": 1, "b": 1}]),
    "expect_column_values_to_match_regex": ({"column": "s", "regex": "^x$"}, [{"s": "y"}]),
    "expect_column_values_to_not_match_regex": ({"column": "s", "regex": "y"}, [{"s": "y"}]),
    "expect_column_pair_values_a_to_be_greater_than_b": ({"column_A": "a", "column_B": "b"}, [{"a": 0, "b": 1}]),
}
SCHEMA = pa.schema([("a", pa.int64()), ("b", pa.int64()), ("s", pa.string()), (ROW_KEY, pa.string())])


def suites() -> list[Suite]:
    return [Suite(name=t.removeprefix("expect_"), table="t", specs=(Spec(t, kwargs, "critical", "a test"),))
            for t, (kwargs, _) in CASES.items()]


def write(folder, rows_of) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for suite, (_, bad) in zip(suites(), CASES.values()):
        rows = [{"a": None, "b": None, "s": None, **r, ROW_KEY: f"row {i}"} for i, r in enumerate(rows_of(bad))]
        pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), folder / f"{suite.name}.parquet")


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory):
    root = tmp_path_factory.mktemp("gate-worker")
    write(root / "empty", lambda bad: [])
    write(root / "bad", lambda bad: bad)
    return root


def verdicts(gate) -> list[tuple]:
    return [(o.suite, o.label, o.success, o.unexpected_count, o.offending) for o in gate.outcomes]


def test_the_types_skipped_on_an_empty_batch_are_exactly_the_ones_gx_passes_there(snapshots):
    assert set(CASES) == HOLD_ON_NO_ROWS
    runner = SuiteRunner(snapshots / "empty", suites())
    empty = runner.run({}, complete=False, run_name="empty").gate
    assert len(empty.outcomes) == len(CASES) and all(o.success for o in empty.outcomes), empty.failures
    # The same expectations do judge rows: each fails on its bad row.
    bad = SuiteRunner(snapshots / "bad", suites()).run({}, complete=False, run_name="bad").gate
    assert [o.success for o in bad.outcomes] == [False] * len(CASES)
    assert not bad.passed and len(bad.failures) == len(CASES)


def test_a_suite_is_skipped_only_when_empty_and_made_of_map_expectations():
    [in_set] = [s for s in suites() if s.name == "column_values_to_be_in_set"]
    assert nothing_to_judge(in_set, 0)
    assert not nothing_to_judge(in_set, 1)
    counted = Suite("rows", "t", (Spec("expect_table_row_count_to_be_between", {"min_value": 1}, "critical", "w"),))
    assert not nothing_to_judge(counted, 0)  # a row count can fail on no rows: it always runs


def test_the_worker_gives_the_verdicts_of_the_in_process_gate(snapshots):
    local = SuiteRunner(snapshots / "bad", suites())
    with GateWorker(snapshots / "bad", suites()).start() as worker:
        for only in (None, {"column_values_to_be_unique", "compound_columns_to_be_unique"}):
            here = local.run({}, complete=False, run_name="x", index_columns=(ROW_KEY,), only=only).gate
            there = worker.run({}, complete=False, run_name="x", index_columns=(ROW_KEY,), only=only)
            assert verdicts(there) == verdicts(here)
            assert there.failures == here.failures
    assert [v[4] for v in verdicts(here)] == [["row 0 (a=1)", "row 1 (a=1)"], ["row 0 (a=1, b=1)", "row 1 (a=1, b=1)"]]


def test_a_worker_that_dies_is_lost_and_the_candidate_gate_goes_on_in_process(snapshots):
    worker = GateWorker(snapshots / "bad", suites()).start()
    worker.proc.kill()
    worker.proc.wait()
    with pytest.raises(WorkerLost, match=r"gate worker (stopped before it answered|could not be sent).*exit code -9"):
        worker.run({}, complete=False, run_name="x", index_columns=(ROW_KEY,))
    gate = CandidateGate(suites(), snapshots / "bad", worker)
    result = gate._run({}, "x", {"column_values_to_be_in_set"})
    assert [(o.suite, o.success) for o in result.outcomes] == [("column_values_to_be_in_set", False)]
    assert gate.worker is None and "the notice gate went on in the refresh's own process" in gate.notes[0]
    worker.close()


def test_a_deferred_module_loads_on_first_use():
    name = "tabnanny"  # a standard module nothing here imports
    sys.modules.pop(name, None)
    assert defer_modules((name, "no_such_module_anywhere")) == [name]
    assert isinstance(sys.modules[name], _Deferred)
    stand_in = importlib.import_module(name)
    assert stand_in is sys.modules[name]  # importing it again does not load it
    assert callable(stand_in.check)  # first use: loaded, and the stand-in hands its attributes over
    assert not isinstance(sys.modules[name], _Deferred) and sys.modules[name].check is stand_in.check


def test_the_candidate_gate_keeps_no_gx_results_between_batches_the_report_keeps_them(snapshots):
    kept = SuiteRunner(snapshots / "bad", suites())
    dropped = SuiteRunner(snapshots / "bad", suites(), keep_results=False)
    for i in range(2):
        assert not kept.run({}, complete=False, run_name=f"k{i}").gate.passed
        assert not dropped.run({}, complete=False, run_name=f"d{i}").gate.passed
    assert len(kept.context.validation_results_store.list_keys()) == 2 * 2 * len(CASES)  # pass/fail, then rows
    assert len(kept.context.checkpoints.all()) == 4
    assert dropped.context.validation_results_store.list_keys() == []
    assert dropped.context.checkpoints.all() == []


def test_a_worker_that_cannot_start_costs_the_refresh_nothing(snapshots, monkeypatch):
    from pipeline.warehouse import gate_worker

    def refuse(*a, **k):
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(gate_worker.subprocess, "Popen", refuse)
    worker = GateWorker(snapshots / "bad", suites()).start()  # does not raise: the refresh goes on
    assert worker.started and worker.proc is None
    gate = CandidateGate(suites(), snapshots / "bad", worker)
    result = gate._run({}, "x", {"column_values_to_be_in_set"})
    assert [(o.suite, o.success) for o in result.outcomes] == [("column_values_to_be_in_set", False)]
    assert gate.notes == ["gate worker could not be started ([Errno 11] Resource temporarily unavailable); "
                          "the notice gate went on in the refresh's own process"]
    worker.close()


def test_a_request_is_answered_when_collected_and_a_released_worker_exits_on_its_own(snapshots):
    local = SuiteRunner(snapshots / "bad", suites()).run({}, complete=False, run_name="x").gate
    worker = GateWorker(snapshots / "bad", suites()).start()
    worker.submit({}, complete=False, run_name="x", index_columns=(ROW_KEY,))  # returns before GX is even imported
    with pytest.raises(RuntimeError, match="last answer was not collected"):
        worker.submit({}, complete=False, run_name="y", index_columns=(ROW_KEY,))
    assert verdicts(worker.collect()) == verdicts(local)
    with pytest.raises(WorkerLost, match="no request to answer"):
        worker.collect()
    worker.release()  # end of input: the worker exits without being waited for
    assert worker.proc.wait(timeout=30) == 0
    worker.close()
    assert worker.proc is None


def test_the_candidate_gate_validating_without_a_checkpoint_gives_the_checkpoints_outcomes(snapshots):
    kept = SuiteRunner(snapshots / "bad", suites())  # through a checkpoint, results stored (the report's Data Docs)
    direct = SuiteRunner(snapshots / "bad", suites(), keep_results=False)  # each batch validates its suite
    for complete in (False, True):
        here = kept.run({}, complete=complete, run_name="x").gate
        there = direct.run({}, complete=complete, run_name="x").gate
        assert [o.rows for o in there.outcomes] == [o.rows for o in here.outcomes]
        assert verdicts(there) == verdicts(here) and there.failures == here.failures
        assert all(o.rows for o in there.outcomes)  # each names its offending row
    assert direct.context.validation_results_store.list_keys() == []  # nothing kept: the context does not grow


def test_a_worker_holds_no_batch_once_it_has_answered(snapshots):
    import io
    import pickle

    from pipeline.warehouse.gate_worker import serve_requests

    runner = SuiteRunner(snapshots / "bad", suites(), keep_results=False)
    request = {"params": {}, "complete": False, "run_name": "x", "index_columns": (ROW_KEY,), "only": None}
    answers = []
    serve_requests(runner, io.BytesIO(pickle.dumps(request) * 2), answers.append)
    assert [kind for kind, _ in answers] == ["ok", "ok"] and verdicts(answers[0][1]) == verdicts(answers[1][1])
    assert len(verdicts(answers[0][1])) == len(suites())
    manager = runner.context.data_sources.get("warehouse").get_execution_engine().batch_manager
    assert not manager.batch_data_cache and not manager.batch_cache


def test_a_runner_that_dropped_its_batches_holds_none_and_judges_the_next_alike(snapshots):
    runner = SuiteRunner(snapshots / "bad", suites(), keep_results=False)
    before = verdicts(runner.run({}, complete=False, run_name="x").gate)
    manager = runner.context.data_sources.get("warehouse").get_execution_engine().batch_manager
    assert len(manager.batch_data_cache) == len(suites())  # GX keeps each asset's last dataframe
    runner.drop_batches()
    assert not manager.batch_data_cache and not manager.batch_cache
    assert verdicts(runner.run({}, complete=False, run_name="x").gate) == before
