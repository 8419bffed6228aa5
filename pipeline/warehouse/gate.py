"""The gate before publishing: a GX checkpoint over the built warehouse; a failed critical expectation keeps the old one.

The suites come from expectations/*.toml (see pipeline/expectations.py). Each table (and each cross-table check
query) is copied from the built DuckDB file, opened read-only, into a Parquet snapshot with one extra column,
`row_key`, naming the row by its key; GX validates the snapshots through one checkpoint and reports offending
rows by that key.
"""

from __future__ import annotations

import os
import tempfile
import time
import warnings
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipeline.config import EXPECTATIONS_DIR
from pipeline.errors import PipelineError
from pipeline.warehouse.expectations import Suite, data_value_set, load_suites, spec_to_expectation

ROW_KEY = "row_key"
NOTICE = "notice_id"
CANDIDATE_INDEX = (ROW_KEY, NOTICE)  # what names an offending candidate row: its key and its notice
SHOWN_ROWS = 5  # offending rows named per failed expectation in messages


class SuiteDoesNotFit(PipelineError):
    """The warehouse lacks a table or column that a suite checks."""

    hint = "rebuild the warehouse with `make refresh` (its schema is older than expectations/), or fix the suite"


@dataclass
class Outcome:
    """One expectation's verdict on the new warehouse."""

    suite: str
    label: str
    severity: str
    success: bool
    why: str
    unexpected_count: int | None = None
    offending: list[str] = field(default_factory=list)
    observed: object = None
    error: str | None = None
    rows: list[dict] = field(default_factory=list)  # offending rows: {"row_key", "notice_id", "detail"}

    def line(self) -> str:
        """Say what failed, on which table and columns, and name a few offending rows."""
        if self.error:
            detail = f"could not be evaluated: {self.error}"
        elif self.unexpected_count is not None:
            shown = "; ".join(self.offending[:SHOWN_ROWS])
            more = f" (+{self.unexpected_count - SHOWN_ROWS} more)" if self.unexpected_count > SHOWN_ROWS else ""
            detail = f"{self.unexpected_count} offending row(s): {shown}{more}"
        else:
            detail = f"observed {self.observed!r}"
        return f"{self.suite}: {self.label} failed - {detail} - why: {self.why}"


class WorkerLost(RuntimeError):
    """The gate worker process (gate_worker.py) died, or never answered."""


@dataclass
class GateResult:
    passed: bool
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        checked = f" ({len(self.outcomes)} expectations in {self.seconds:.1f} s)" if self.outcomes else ""
        lines = [f"gate {'passed' if self.passed else 'FAILED'}{checked}"]
        lines += [f"  critical: {f}" for f in self.failures]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


@dataclass
class Validation:
    """A checkpoint run kept whole, for the report's Data Docs."""

    context: object
    checkpoint_result: object
    gate: GateResult


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def row_key_sql(index: tuple[str, ...]) -> str:
    """Return SQL naming a row by its key columns (provision_id=…), or by its position when it has none."""
    if not index:
        return "'row ' || CAST(row_number() OVER () - 1 AS VARCHAR)"
    parts = [f"'{c}=' || coalesce(CAST({_quote(c)} AS VARCHAR), 'NULL')" for c in index]
    return "concat_ws(' ', " + ", ".join(parts) + ")"


def reference_sql(spec) -> str:
    """Return SQL for a spec's reference column: the value when the referenced table lacks it, else NULL."""
    table, _, column = spec.value_set_from_table.partition(".")
    col = _quote(spec.kwargs["column"])
    return (f"CASE WHEN {col} IS NOT NULL AND {col} NOT IN (SELECT {_quote(column)} FROM {_quote(table)} "
            f"WHERE {_quote(column)} IS NOT NULL) THEN CAST({col} AS VARCHAR) END AS {_quote(spec.reference_column)}")


def warehouse_to_snapshots(con: duckdb.DuckDBPyConnection, suites: list[Suite], out_dir: Path) -> dict[str, int]:
    """Write each suite's batch (a table, or a check's query) as Parquet with its row_key and reference columns;
    return the rows written per suite."""
    rows = {}
    for suite in suites:
        source = suite.sql or f"SELECT * FROM {_quote(suite.table)}"
        path = str(out_dir / f"{suite.name}.parquet").replace("'", "''")
        refs = "".join(f", {reference_sql(s)}" for s in suite.specs if s.reference_column)
        try:
            written = con.execute(f"COPY (SELECT *{refs}, {row_key_sql(suite.index)} AS {ROW_KEY} FROM ({source})) "
                                  f"TO '{path}' (FORMAT parquet)").fetchone()
        except (duckdb.CatalogException, duckdb.BinderException) as exc:
            raise SuiteDoesNotFit(f"suite {suite.name} (expectations/{suite.file}): {exc}", stage="gate") from exc
        rows[suite.name] = int(written[0]) if written else -1
    return rows


# Map expectations judge each row alone, and GX passes them on a batch with no rows (nothing is unexpected);
# tests/test_gate_worker.py checks that against GX for every type listed. A suite made only of these has nothing
# to judge when its batch is empty: the candidate gate does not run it.
HOLD_ON_NO_ROWS = frozenset({
    "expect_column_values_to_be_in_set", "expect_column_values_to_be_between", "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_null", "expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique",
    "expect_column_values_to_match_regex", "expect_column_values_to_not_match_regex",
    "expect_column_pair_values_a_to_be_greater_than_b",
})


def nothing_to_judge(suite: Suite, rows: int) -> bool:
    """True when the suite's batch is empty and each of its expectations holds on no rows."""
    return rows == 0 and all(s.type in HOLD_ON_NO_ROWS for s in suite.specs)


def suite_parameters(con: duckdb.DuckDBPyConnection, suites: list[Suite], data_dir: Path | None = None) -> dict:
    """Resolve value sets taken from registers into GX suite parameters (references are checked in SQL)."""
    params = {}
    for spec in (s for suite in suites for s in suite.specs):
        if spec.parameter is not None and spec.parameter not in params:
            params[spec.parameter] = data_value_set(spec.value_set_from_data, data_dir)
    return params


def new_context():
    """Return an ephemeral GX context without progress bars (the refresh prints its own progress)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


COMPLETE = {"result_format": "COMPLETE", "unexpected_index_column_names": [ROW_KEY]}
# Pass/fail only: about half the time of COMPLETE; failing suites are run again in COMPLETE for their rows.
BOOLEAN_ONLY = {"result_format": "BOOLEAN_ONLY"}


def suites_to_definitions(context, suites: list[Suite], snapshot_dir: Path) -> list:
    """Register one Parquet asset, GX suite and validation definition per suite; return the definitions."""
    import great_expectations as gx

    source = context.data_sources.add_pandas_filesystem("warehouse", base_directory=snapshot_dir)
    definitions = []
    for suite in suites:
        batch = source.add_parquet_asset(suite.name).add_batch_definition_path("all rows", path=f"{suite.name}.parquet")
        notes = [n for n in (suite.why, f"Defined in expectations/{suite.file}.") if n]
        gx_suite = context.suites.add(gx.ExpectationSuite(
            name=suite.name, expectations=[spec_to_expectation(s, suite) for s in suite.specs], notes=notes))
        definitions.append(context.validation_definitions.add(
            gx.ValidationDefinition(name=suite.name, data=batch, suite=gx_suite)))
    return definitions


def run_checkpoint(context, name: str, definitions: list, result_format: dict, params: dict, run_name: str):
    """Run the definitions through one named GX checkpoint and return its result."""
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    checkpoint = context.checkpoints.add(gx.Checkpoint(name=name, validation_definitions=definitions,
                                                       result_format=result_format))
    return checkpoint.run(expectation_parameters=params, run_id=RunIdentifier(run_name=run_name))


def _offending_rows(result: dict, column_names: list[str]) -> list[dict]:
    """Describe each offending row: its row_key, its notice (where the batch has one) and the values at fault."""
    out = []
    for item in result.get("unexpected_index_list") or []:
        if not isinstance(item, dict):
            out.append({"row_key": str(item), "notice_id": None, "detail": ""})
            continue
        key = str(item.get(ROW_KEY))
        # Values already spelled out in the row key (provision_id=…) are not repeated.
        # A reference column (task_id__missing_from__tasks__task_id) is shown under the column it checks.
        values = ", ".join(f"{c.split('__missing_from__')[0]}={_short(item[c])}" for c in column_names
                           if c in item and f"{c}=" not in key)
        notice = item.get(NOTICE)
        out.append({"row_key": key, "notice_id": None if notice is None else str(notice), "detail": values})
    return out


def _offending(result: dict, column_names: list[str]) -> list[str]:
    """Name each offending row by its row_key, with the value(s) that broke the expectation."""
    return [f"{r['row_key']} ({r['detail']})" if r["detail"] else r["row_key"]
            for r in _offending_rows(result, column_names)]


def _short(value: object, limit: int = 60) -> str:
    if hasattr(value, "item"):  # numpy scalar -> Python value, so 53 prints as 53
        value = value.item()
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def checkpoint_to_outcomes(checkpoint_result) -> list[Outcome]:
    """Flatten a checkpoint result into one Outcome per expectation, in suite order."""
    return validations_to_outcomes(checkpoint_result.run_results.values())


def validations_to_outcomes(validations) -> list[Outcome]:
    """Flatten suite validation results into one Outcome per expectation, in their order."""
    outcomes = []
    for validation in validations:
        for r in validation.results:
            cfg = r.expectation_config
            meta = cfg.meta or {}
            kwargs = cfg.kwargs
            columns = [kwargs[a] for a in ("column", "column_A", "column_B") if a in kwargs]
            columns += list(kwargs.get("column_list") or [])
            res = r.result or {}
            error = None
            if r.exception_info and r.exception_info.get("raised_exception"):
                error = str(r.exception_info.get("exception_message"))
            rows = _offending_rows(res, columns)
            outcomes.append(Outcome(
                suite=validation.suite_name, label=meta.get("label", cfg.type), severity=meta.get("severity", "critical"),
                success=bool(r.success), why=meta.get("why", ""), unexpected_count=res.get("unexpected_count"),
                offending=[f"{x['row_key']} ({x['detail']})" if x["detail"] else x["row_key"] for x in rows],
                observed=res.get("observed_value"), error=error, rows=rows))
    return outcomes


def outcomes_to_gate(outcomes: list[Outcome], seconds: float = 0.0) -> GateResult:
    """Fail on any failed critical expectation; list failed warnings beside it."""
    failures = [o.line() for o in outcomes if not o.success and o.severity == "critical"]
    warns = [o.line() for o in outcomes if not o.success and o.severity != "critical"]
    return GateResult(passed=not failures, failures=failures, warnings=warns, outcomes=outcomes, seconds=seconds)


def write_placeholders(snapshot_dir: Path, suites: list[Suite]) -> None:
    """Create an empty file for each suite's snapshot not written yet, never over one that is: GX registers an asset
    only when its file exists, and a snapshot written later replaces the placeholder before anything reads it."""
    snapshot_dir.mkdir(parents=True, exist_ok=True)
    for suite in suites:
        try:
            with open(snapshot_dir / f"{suite.name}.parquet", "xb"):
                pass
        except FileExistsError:
            pass


class SuiteRunner:
    """One GX context with the suites registered once against the Parquet snapshots of a folder.

    Each ``run`` validates whatever the snapshots hold now, so a build validates batch after batch of candidates
    through the same context (writing each batch's snapshots over the last) instead of building one per batch.
    With ``keep_results=False`` (the candidate gate) nothing of a run is stored: its suites are validated on their
    batches without a checkpoint, since GX keeps every stored result in memory and the context would grow with the
    corpus.
    """

    def __init__(self, snapshot_dir: Path, suites: list[Suite], *, placeholders: bool = False,
                 keep_results: bool = True):
        self.suites = suites
        self.order = {s.name: i for i, s in enumerate(suites)}
        self.runs = 0
        self.keep_results = keep_results
        if placeholders:  # registering before the snapshots are written (GateWorker): GX wants each file to exist
            write_placeholders(snapshot_dir, suites)
        from pipeline.warehouse.gx_speed import read_configurations_once

        read_configurations_once()  # GX's kwargs lookups, without rebuilding a configuration per key
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # GX's deprecation and pandas notices are not findings
            self.context = new_context()
            self.definitions = suites_to_definitions(self.context, suites, snapshot_dir)

    def run(self, params: dict, *, complete: bool, run_name: str,
            index_columns: tuple[str, ...] = (ROW_KEY,), only: set[str] | None = None) -> Validation:
        """Validate the snapshots (pass/fail first, failing suites again for their rows; see ``_validate``);
        ``only`` names the suites to run (None: all)."""
        start = time.perf_counter()
        self.runs += 1
        full = {"result_format": "COMPLETE", "unexpected_index_column_names": list(index_columns)}
        definitions = [d for d in self.definitions if only is None or d.name in only]
        if not definitions:
            return Validation(self.context, None, outcomes_to_gate([], time.perf_counter() - start))
        names = [f"warehouse_gate_{self.runs}"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result, outcomes = self._validate(names[0], definitions, full if complete else BOOLEAN_ONLY, params,
                                              run_name)
            failing = {o.suite for o in outcomes if not o.success}
            if failing and not complete:
                names.append(f"warehouse_gate_detail_{self.runs}")
                _, detail = self._validate(names[1], [d for d in definitions if d.name in failing], full, params,
                                           run_name)
                outcomes = [o for o in outcomes if o.suite not in failing] + detail
                outcomes.sort(key=lambda o: self.order.get(o.suite, len(self.order)))
        return Validation(self.context, result, outcomes_to_gate(outcomes, time.perf_counter() - start))

    def drop_batches(self) -> None:
        """Let go of the dataframes GX keeps of the last batch validated (its execution engine caches one per asset)
        and hand the freed memory back to the system: a gate worker does so after each batch it answers."""
        import gc

        manager = self.context.data_sources.get("warehouse").get_execution_engine().batch_manager
        if not manager.batch_data_cache and not manager.batch_cache:
            return  # dropped already (after the last answer): no collection, no trim
        manager.reset_batch_cache()
        manager.batch_data_cache.clear()
        gc.collect()
        trim_heap()

    def _validate(self, name: str, definitions: list, result_format: dict, params: dict, run_name: str):
        """Validate the definitions; return the checkpoint result (None when results are not kept) and the outcomes.

        Results kept (the report's Data Docs): through one named checkpoint, which stores them. Not kept (the
        candidate gate, batch after batch): each definition's batch validates its suite directly, the same GX
        validation without the checkpoint's store round trips and freshness checks (a quarter of the time)."""
        if self.keep_results:
            result = run_checkpoint(self.context, name, definitions, result_format, params, run_name)
            return result, checkpoint_to_outcomes(result)
        validations = [d.batch_definition.get_batch().validate(d.suite, result_format=result_format,
                                                               expectation_parameters=params) for d in definitions]
        return None, validations_to_outcomes(validations)


def trim_heap() -> None:
    """Return free heap pages to the system (glibc's malloc_trim); nothing where the C library has none."""
    import ctypes
    import ctypes.util

    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def run_suites(snapshot_dir: Path, suites: list[Suite], params: dict, *, complete: bool, run_name: str,
               index_columns: tuple[str, ...] = (ROW_KEY,)) -> Validation:
    """Validate written snapshots once, through a context of their own."""
    start = time.perf_counter()
    validation = SuiteRunner(snapshot_dir, suites).run(params, complete=complete, run_name=run_name,
                                                       index_columns=index_columns)
    validation.gate.seconds = time.perf_counter() - start
    return validation


def validate_warehouse(db_path: Path, suites: list[Suite] | None = None, *, complete: bool = False,
                       run_name: str = "gate") -> Validation:
    """Validate a DuckDB file (opened read-only) against every suite, whatever its scope (the report's Data Docs)."""
    suites = load_suites(EXPECTATIONS_DIR) if suites is None else suites
    with tempfile.TemporaryDirectory(prefix="gate-") as tmp:
        con = duckdb.connect(str(db_path), read_only=True)
        try:
            warehouse_to_snapshots(con, suites, Path(tmp))
            params = suite_parameters(con, suites)
        finally:
            con.close()
        return run_suites(Path(tmp), suites, params, complete=complete, run_name=run_name)


def run_gate(db_path: Path) -> GateResult:
    """Validate a built (unpublished) warehouse file against every suite."""
    return validate_warehouse(db_path).gate


@dataclass
class Prepared:
    """A batch of candidates written as snapshots (beside the ones being validated), ready to be submitted."""

    params: dict
    run_name: str
    only: set[str]  # the suites with something to judge
    seconds: float  # spent writing the snapshots


class CandidateGate:
    """Validate the notice-scope suites on candidate rows (schema ``cand``), batch after batch, in one GX context.

    The context lives in a GateWorker when the refresh started one (warmed while files were read), else in this
    process. Each offending row carries its notice_id, so a failure quarantines that notice, not the run. A suite
    whose batch is empty is not run when each of its expectations holds on no rows (``nothing_to_judge``).

    A batch is prepared (its snapshots written beside the folder GX reads), submitted (moved into that folder and
    handed to the worker) and collected. With a worker, the caller prepares the next batch while GX validates this
    one, so both cores work: ``validate`` does the three in a row. Up to ``capacity`` batches may be in flight: one
    for a worker or this process (they read one folder), more for the cluster gate (gate_cluster.py), which takes
    each batch's bytes when it is submitted; verdicts are collected oldest first.
    """

    def __init__(self, suites: list[Suite], snapshot_dir: Path, worker=None):
        self.suites = [s for s in suites if s.scope == "notice"]
        self.snapshot_dir = snapshot_dir
        self.next_dir = snapshot_dir.with_name(f"{snapshot_dir.name}-next")
        self.worker = worker
        self.runner: SuiteRunner | None = None
        self.notes: list[str] = []
        self.pending: deque[Prepared] = deque()

    @property
    def capacity(self) -> int:
        """How many submitted batches may wait for their verdict at once."""
        return getattr(self.worker, "capacity", 1) if self.worker is not None else 1

    def validate(self, con: duckdb.DuckDBPyConnection, run_name: str = "gate") -> GateResult:
        """Validate the candidates the cand views show now."""
        self.submit(self.prepare(con, run_name))
        return self.collect()

    def prepare(self, con: duckdb.DuckDBPyConnection, run_name: str = "gate") -> Prepared:
        """Write the candidates the cand views show now as snapshots, without touching the batch being validated."""
        start = time.perf_counter()
        self.next_dir.mkdir(parents=True, exist_ok=True)
        con.execute("SET search_path = 'cand,main'")
        try:
            rows = warehouse_to_snapshots(con, self.suites, self.next_dir)
            params = suite_parameters(con, self.suites)
        finally:
            con.execute("RESET search_path")
        only = {s.name for s in self.suites if not nothing_to_judge(s, rows[s.name])}
        return Prepared(params, run_name, only, time.perf_counter() - start)

    def submit(self, batch: Prepared) -> None:
        """Put a prepared batch where GX reads and start validating it (collect the batch before it first)."""
        if len(self.pending) >= self.capacity:
            raise RuntimeError("the candidate gate's last batch was not collected")
        self.snapshot_dir.mkdir(parents=True, exist_ok=True)
        for path in self.next_dir.glob("*.parquet"):
            os.replace(path, self.snapshot_dir / path.name)
        self.pending.append(batch)
        self._send(batch)

    def collect(self) -> GateResult:
        """The verdict on the oldest batch submitted (time: writing its snapshots and validating them)."""
        if not self.pending:
            raise RuntimeError("the candidate gate has no batch to collect")
        batch = self.pending.popleft()
        gate = self._answer(batch)
        gate.warnings += self.notes
        self.notes = []
        gate.seconds += batch.seconds
        return gate

    def _run(self, params: dict, run_name: str, only: set[str]) -> GateResult:
        """Validate the snapshots in place now (no preparing, no moving)."""
        batch = Prepared(params, run_name, only, 0.0)
        self._send(batch)
        return self._answer(batch)

    def _send(self, batch: Prepared) -> None:
        if batch.only and self.worker is not None:
            try:
                self.worker.submit(batch.params, complete=False, run_name=batch.run_name,
                                   index_columns=CANDIDATE_INDEX, only=batch.only)
            except WorkerLost as exc:
                self._lost(exc)

    def _answer(self, batch: Prepared) -> GateResult:
        if not batch.only:
            return outcomes_to_gate([])
        if self.worker is not None:
            try:
                return self.worker.collect()
            except WorkerLost as exc:
                self._lost(exc)
        if self.runner is None:
            self.runner = SuiteRunner(self.snapshot_dir, self.suites, keep_results=False)
        return self.runner.run(batch.params, complete=False, run_name=batch.run_name, index_columns=CANDIDATE_INDEX,
                               only=batch.only).gate

    def _lost(self, exc: WorkerLost) -> None:
        """The worker is gone: the gate goes on in this process and says so."""
        self.notes.append(f"{exc}; the notice gate went on in the refresh's own process")
        self.worker = None
