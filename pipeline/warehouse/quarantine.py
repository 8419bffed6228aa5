"""Judge each changed notice alone: its newest version's rows face the notice-scope suites; a failure quarantines it.

Rounds: every notice being assembled puts its newest readable version up as a candidate; GX validates the
candidates in batches of at most BATCH_NOTICES notices and BATCH_ROWS rows (one GX context for all; the next
batch is written while GX validates one; on a dask cluster several batches are validated at once, each on a worker
with its own context), and each offending row names its notice. A notice
with a failed critical expectation is quarantined (its rows are withheld from the analyst tables and listed in
quarantine_rows) and its next older version is tried in the next round, so the last good version stays current.
Notices that pass are published. A GX error, or a critical failure that names no notice, is a pipeline fault and
stops the publish.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipeline.errors import GateFailed
from pipeline.warehouse.assemble import set_round
from pipeline.warehouse.expectations import Suite
from pipeline.warehouse.gate import CandidateGate, GateResult, Outcome

MAX_ROUNDS = 20
# Candidates validated at once: GX loads each suite's rows into pandas, so a cold build of many notices is judged
# in batches (through one GX context) and its memory stays that of one batch. A batch ends at BATCH_NOTICES notices
# or BATCH_ROWS rows (the rows of the candidates' partitions), whichever comes first: notices differ a
# thousandfold in rows, and a batch bounded by notices alone took as much memory as its biggest notices.
BATCH_NOTICES = 500
BATCH_ROWS = 400_000
SHOWN = 3


@dataclass
class Quarantined:
    notice_id: str
    version: int
    raw_file: str
    reason: str


@dataclass
class Judgement:
    quarantined: list[Quarantined] = field(default_factory=list)
    published: int = 0
    warnings: list[str] = field(default_factory=list)
    rounds: list[GateResult] = field(default_factory=list)
    expectations: int = 0
    seconds: float = 0.0


def _reason(failures: list[tuple[Outcome, dict]]) -> str:
    by_label: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for o, row in failures:
        by_label[(o.suite, o.label)].append(row)
    parts = []
    for (suite, label), rows in by_label.items():
        shown = "; ".join(r["row_key"] for r in rows[:SHOWN]) + (f" (+{len(rows) - SHOWN} more)" if len(rows) > SHOWN else "")
        parts.append(f"{suite}: {label} ({len(rows)} row(s): {shown})")
    return (f"quarantined: {len(by_label)} expectation(s) failed: " + "; ".join(parts) +
            " — see quarantine_rows and the QA report; fix the source file or its profile, then refresh")


def candidate_dir(snapshot_root: Path) -> Path:
    """Where the candidates' snapshots are written (and a GateWorker validates them)."""
    return snapshot_root / "candidates"


def batches(pairs: list[tuple[str, int]], rows: dict[tuple[str, int], int], max_notices: int,
            max_rows: int) -> list[list[tuple[str, int]]]:
    """Cut the candidates, in order, into batches of at most max_notices notices and max_rows rows (a candidate
    with more rows than that is a batch of its own)."""
    out: list[list[tuple[str, int]]] = []
    size = 0
    for pair in pairs:
        n = rows.get(pair, 0)
        if not out or len(out[-1]) >= max_notices or (out[-1] and size + n > max_rows):
            out.append([])
            size = 0
        out[-1].append(pair)
        size += n
    return out


def candidate_rows(con: duckdb.DuckDBPyConnection, file_rows: dict[str, int]) -> dict[tuple[str, int], int]:
    """Rows of each candidate: those of its files' partitions (the carrier and its attachments)."""
    out: dict[tuple[str, int], int] = defaultdict(int)
    for notice_id, version, raw_file in con.execute("SELECT notice_id, version, raw_file FROM asm.cand_files").fetchall():
        out[(notice_id, version)] += file_rows.get(raw_file, 0)
    return out


def judge_candidates(con: duckdb.DuckDBPyConnection, suites: list[Suite], snapshot_root: Path,
                     batch_notices: int | None = None, worker=None, file_rows: dict[str, int] | None = None
                     ) -> Judgement:
    """Fill asm.verdicts (and quarantine_rows) for every notice in asm.versions, judged in batches of at most
    batch_notices notices and BATCH_ROWS rows (``file_rows``: the partition rows of each raw file) through
    ``worker``, a GateWorker, when the refresh started one (its snapshots: its own folder, the warm gate's or
    candidate_dir(snapshot_root))."""
    batch_notices = batch_notices or BATCH_NOTICES
    rows = candidate_rows(con, file_rows or {})
    con.execute("CREATE OR REPLACE TABLE asm.verdicts (notice_id VARCHAR, version INTEGER, published BOOLEAN, "
                "failed BOOLEAN, reason VARCHAR)")
    out = Judgement()
    gate = CandidateGate(suites, worker.snapshot_dir if worker is not None else candidate_dir(snapshot_root), worker)
    for _ in range(MAX_ROUNDS):
        pairs = [tuple(r) for r in con.execute("""
            SELECT notice_id, max(version) FROM asm.versions
            WHERE file_status <> 'failed'
              AND notice_id NOT IN (SELECT notice_id FROM asm.verdicts WHERE published)
              AND (notice_id, version) NOT IN (SELECT notice_id, version FROM asm.verdicts)
            GROUP BY notice_id ORDER BY notice_id""").fetchall()]
        if not pairs:
            break
        # While GX validates a batch, the next one is written: the refresh and the gate worker each use a core (a
        # cluster takes several batches at once). Verdicts are recorded in the order the batches were cut.
        pending: deque[list[tuple[str, int]]] = deque()
        for batch in batches(pairs, rows, batch_notices, BATCH_ROWS):
            set_round(con, batch)
            prepared = gate.prepare(con)
            if len(pending) >= gate.capacity:
                record_batch(con, pending.popleft(), gate.collect(), out)
            gate.submit(prepared)
            pending.append(batch)
        while pending:
            record_batch(con, pending.popleft(), gate.collect(), out)
    return out


def record_batch(con: duckdb.DuckDBPyConnection, pairs: list[tuple[str, int]], result: GateResult,
                 out: Judgement) -> None:
    """Record a verdict for each candidate of a validated batch in asm.verdicts (and its rows in quarantine_rows)."""
    out.rounds.append(result)
    out.expectations = max(out.expectations, len(result.outcomes))
    out.seconds += result.seconds
    failing: dict[str, list[tuple[Outcome, dict]]] = defaultdict(list)
    for o in result.outcomes:
        if o.success:
            continue
        if o.error:
            raise GateFailed(f"{o.suite}: {o.label} could not be evaluated: {o.error}", stage="gate")
        if o.severity != "critical":
            out.warnings.append(o.line())
            continue
        unnamed = [r for r in o.rows if not r.get("notice_id")]
        if not o.rows or unnamed:
            raise GateFailed(f"{o.line()} (the failure names no notice, so no single notice can be quarantined)",
                             stage="gate")
        for r in o.rows:
            failing[r["notice_id"]].append((o, r))
    carriers = dict(con.execute("SELECT notice_id || ':' || version, raw_file FROM asm.versions").fetchall())
    verdicts, qrows = [], []
    for notice_id, version in pairs:
        fails = failing.get(notice_id)
        raw_file = carriers[f"{notice_id}:{version}"]
        if fails:
            reason = _reason(fails)
            out.quarantined.append(Quarantined(notice_id, version, raw_file, reason))
            verdicts.append([notice_id, version, False, True, reason])
            qrows += [[notice_id, raw_file, o.suite, o.label, o.why, r["row_key"], r["detail"]] for o, r in fails]
        else:
            out.published += 1
            verdicts.append([notice_id, version, True, False, None])
    con.executemany("INSERT INTO asm.verdicts VALUES (?, ?, ?, ?, ?)", verdicts)
    if qrows:
        con.executemany("INSERT INTO quarantine_rows SELECT ?, ?, v.raw_sha256, ?, ?, ?, ?, ? FROM asm.versions v "
                        "WHERE v.raw_file = ?", [[q[0], q[1], *q[2:], q[1]] for q in qrows])
