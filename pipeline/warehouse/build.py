"""Partitions to a new warehouse file beside the published one, in the order data flows:

    copy the published file (or create an empty one when the build code changed)
    ─sync─▶ extracted.* holds exactly this build's partitions (only changed partitions move)
    ─assemble─▶ versions and candidates of the notices whose files changed
    ─judge─▶ notice-scope expectations (GX) per candidate: a failure quarantines that notice only
    ─publish notices─▶ analyst tables of those notices replaced by their published candidates
    ─corpus─▶ notice changes, cross-format findings, across-notice rules, register gaps, QA decisions, history
    ─warehouse gate─▶ warehouse-scope expectations and schema keys in SQL: a failure stops the publish

The caller publishes the file with one atomic rename. Nothing here writes outside the target file and the
gate's snapshot folder.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipeline.errors import GateFailed, LoadFailed
from pipeline.warehouse import assemble, corpus
from pipeline.warehouse.ddl import create_warehouse
from pipeline.warehouse.expect_sql import warehouse_gate
from pipeline.warehouse.expectations import Suite
from pipeline.warehouse.gate import GateResult
from pipeline.warehouse.partitions import Manifest
from pipeline.warehouse.quarantine import Judgement, judge_candidates
from pipeline.warehouse.sync import sync_partitions


@dataclass
class BuildInput:
    manifests: list[Manifest]
    base: Path | None  # the published warehouse to start from; None: start empty (assemble every notice)
    preference: tuple[str, ...]
    suites: list[Suite]
    reviews_dir: Path | None
    snapshot_dir: Path
    history_rows: dict[str, list[dict]] = field(default_factory=dict)  # runs, fetches, reviews (previous)
    register_rows: dict[str, list[dict]] = field(default_factory=dict)  # agencies, standards, …
    build_info: dict[str, str] = field(default_factory=dict)
    memory_mb: int = 0  # DuckDB's memory limit for the build (limits.toml [build]); 0 = DuckDB's default
    gate_worker: object = None  # a GateWorker over candidate_dir(snapshot_dir), warmed by the caller; None: in-process
    judging_memory_mb: int = 0  # DuckDB's limit while notices are judged (limits.toml [build]); 0 = memory_mb
    reread: set[str] = field(default_factory=set)  # partitions the base holds whose files were read again (transient)


@dataclass
class BuildOutcome:
    notices_assembled: int | None = None  # None: every notice
    notices: set[str] | None = None  # the notices assembled (None: all)
    previous_partitions: set[tuple[str, str]] = field(default_factory=set)  # where they were in the Parquet export
    partitions_added: int = 0
    partitions_removed: int = 0
    judgement: Judgement = field(default_factory=Judgement)
    gate: GateResult | None = None
    stale_reviews: list[dict] = field(default_factory=list)
    review_history: list[dict] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    register_gaps: list[dict] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


class _Clock:
    def __init__(self, timings: dict[str, float]):
        self.timings, self.t = timings, time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = self.timings.get(name, 0.0) + now - self.t
        self.t = now


def _replace(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict]) -> None:
    con.execute(f'DELETE FROM "{table}"')
    corpus.insert_rows(con, table, rows)


def build_config(inp: BuildInput) -> dict[str, str]:
    """DuckDB settings of the build connection: bounded memory, spilling into the run's scratch folder."""
    if not inp.memory_mb:
        return {}
    return {"memory_limit": f"{inp.memory_mb}MB", "temp_directory": str(inp.snapshot_dir / "spill")}


def judging_limit(inp: BuildInput) -> int:
    """DuckDB's memory limit while notices are judged: judging_memory_mb, never above memory_mb."""
    if not inp.judging_memory_mb:
        return inp.memory_mb
    return min(inp.judging_memory_mb, inp.memory_mb) if inp.memory_mb else inp.judging_memory_mb


def set_memory_limit(con: duckdb.DuckDBPyConnection, mb: int) -> None:
    """Set DuckDB's memory limit (0: its default); a lower limit evicts cached blocks at once."""
    con.execute(f"SET memory_limit = '{int(mb)}MB'" if mb else "RESET memory_limit")


def build_warehouse(target: Path, inp: BuildInput) -> BuildOutcome:
    """Build the warehouse file ``target`` from the partitions; raise GateFailed/LoadFailed to keep the old one."""
    out = BuildOutcome()
    clock = _Clock(out.timings)
    target.unlink(missing_ok=True)
    if inp.base is not None:
        shutil.copyfile(inp.base, target)
    config = build_config(inp)
    if "temp_directory" in config:  # DuckDB makes the folder itself but not its parents: a spill would fail
        Path(config["temp_directory"]).mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(target), config=config)
    try:
        if inp.base is None:
            create_warehouse(con)
        try:
            sync = sync_partitions(con, inp.manifests, inp.reread)
        except duckdb.Error as exc:
            raise LoadFailed(f"partitions do not load into the schema: {exc}", stage="load") from None
        out.partitions_added, out.partitions_removed = len(sync.added), len(sync.removed)
        notices = None if inp.base is None else sync.affected_notices
        out.notices, out.notices_assembled = notices, None if notices is None else len(notices)
        if notices:
            from pipeline.warehouse.export import notice_partitions

            out.previous_partitions = notice_partitions(con, notices)
        clock.lap("sync")
        con.execute("CREATE SCHEMA IF NOT EXISTS asm")
        if notices is None or notices:
            assemble.plan_versions(con, notices, inp.preference)
            assemble.candidate_views(con)
            con.execute(f"DELETE FROM quarantine_rows WHERE {assemble._in_list(notices)}")
            clock.lap("assemble")
            file_rows = {m.raw_file: m.rows for m in inp.manifests}
            set_memory_limit(con, judging_limit(inp))  # GX's worker holds a batch now: DuckDB drops its cache
            out.judgement = judge_candidates(con, inp.suites, inp.snapshot_dir, worker=inp.gate_worker,
                                             file_rows=file_rows)
            set_memory_limit(con, inp.memory_mb)
            if inp.gate_worker is not None:
                inp.gate_worker.release()  # GX's memory is not needed past the judging: the worker exits
            clock.lap("gate (notices)")
            assemble.publish_notices(con, notices)
            assemble.publish_raw_files(con, notices)
            corpus.notice_changes(con, notices)
            corpus.cross_format_flags(con)
            clock.lap("publish notices")
        for table, rows in inp.register_rows.items():  # the registers first: the rules below read them
            _replace(con, table, rows)
        corpus.reset_canonical(con)
        corpus.corpus_flags(con)
        out.register_gaps = corpus.register_gaps(con)
        clock.lap("corpus")
        out.review_history, out.stale_reviews = corpus.apply_decisions(con, inp.reviews_dir,
                                                                       inp.history_rows.get("reviews", []))
        _replace(con, "reviews", out.review_history)
        for table in ("runs", "fetches"):
            _replace(con, table, inp.history_rows.get(table, []))
        clock.lap("reviews and history")
        con.execute("DROP SCHEMA IF EXISTS cand CASCADE")
        con.execute("DROP SCHEMA IF EXISTS asm CASCADE")
        out.gate = warehouse_gate(con, inp.suites)
        clock.lap("gate (warehouse)")
        if not out.gate.passed:
            raise GateFailed(out.gate.summary(), stage="gate")
        con.execute("DELETE FROM build_info")
        notices = con.execute("SELECT count(DISTINCT notice_id) FROM notices").fetchone()[0]
        con.executemany("INSERT INTO build_info VALUES (?, ?)", sorted({**inp.build_info, "notices": str(notices)}.items()))
        out.rows = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
                    for t, in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' "
                                          "AND table_name <> 'build_info'").fetchall()}
        con.execute("CHECKPOINT")
        clock.lap("finish")
    finally:
        con.close()
    return out


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
