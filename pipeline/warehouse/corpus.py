"""What a build derives once the notices are assembled: changes between versions, cross-format findings, the
rules that compare notices with each other, register gaps, QA decisions and the history tables.

Per-notice work (changes, cross-format) runs only for the notices assembled, reading just their rows; the
across-notice work runs over the published tables inside DuckDB.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import duckdb

from pipeline.derive.agreement import compare_provision_sets
from pipeline.flags import build_dq_flags
from pipeline.flags.review import apply_reviews, apply_to_citations, canonical_values, load_decisions, merge_review_history
from pipeline.warehouse.ddl import EXTRACTED_SCHEMA, column_list, quote
from pipeline.warehouse.schema import KIND_TABLES, TABLES

RECORD_KEYS = {"service_provisions": "provision_id", "tasks": "task_id", **{k: "record_id" for k in KIND_TABLES}}
# Columns that say where a record came from, not what it says: never a change between versions.
LINEAGE_COLUMNS = {"raw_file", "raw_sha256", "source_format", "table_index", "table_id", "source_row", "source_rows",
                   "pages", "locator", "page", "bbox"}
CORPUS_RULE_NAMES = ("standard_year_differs", "citation_code_conflict")


def fetch(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict]) -> None:
    """Insert dict rows into a warehouse table through Arrow (types from the schema)."""
    if not rows:
        return
    from pipeline.warehouse.partitions import rows_to_arrow

    arrow = rows_to_arrow(TABLES[table], rows)  # noqa: F841 (read by DuckDB's replacement scan)
    con.execute(f"INSERT INTO {quote(table)} SELECT {column_list(TABLES[table])} FROM arrow")


# --- per notice: versions and formats ---------------------------------------------------------------------------

def record_changes(table: str, old: list[dict], new: list[dict]) -> list[dict]:
    """Diff two versions' records of one table by key: added, removed, and one row per changed column."""
    key = RECORD_KEYS[table]
    before = {r[key]: r for r in old}
    after = {r[key]: r for r in new}
    out = []
    for rid in sorted(before.keys() | after.keys()):
        a, b = before.get(rid), after.get(rid)
        if a is None or b is None:
            out.append({"record_table": table, "record_id": rid, "change": "added" if a is None else "removed",
                        "column_name": None, "old_value": None, "new_value": None})
            continue
        for col in sorted((a.keys() | b.keys()) - LINEAGE_COLUMNS - {key}):
            if a.get(col) != b.get(col):
                out.append({"record_table": table, "record_id": rid, "change": "changed", "column_name": col,
                            "old_value": None if a.get(col) is None else str(a.get(col)),
                            "new_value": None if b.get(col) is None else str(b.get(col))})
    return out


def notice_changes(con: duckdb.DuckDBPyConnection, notices: set[str] | None) -> None:
    """Rebuild notice_changes of the notices assembled: each version's own records against the version before."""
    scope = "TRUE" if notices is None else "notice_id IN (SELECT notice_id FROM asm.scope)"
    con.execute(f"DELETE FROM notice_changes WHERE {scope}")
    multi = fetch(con, "SELECT notice_id, version, raw_file, raw_sha256 FROM asm.versions WHERE n_versions > 1 "
                       "ORDER BY notice_id, version")
    by_notice: dict[str, list[dict]] = defaultdict(list)
    for v in multi:
        by_notice[v["notice_id"]].append(v)
    rows = []
    for notice_id, versions in by_notice.items():
        records = {}
        for v in versions:
            for table in RECORD_KEYS:
                records[(v["version"], table)] = fetch(
                    con, f"SELECT * EXCLUDE (partition_key) FROM {EXTRACTED_SCHEMA}.{table} WHERE raw_file = ?",
                    [v["raw_file"]])
        for old, new in zip(versions, versions[1:]):
            for table in RECORD_KEYS:
                for change in record_changes(table, records[(old["version"], table)], records[(new["version"], table)]):
                    rows.append({"notice_id": notice_id, "from_version": old["version"], "to_version": new["version"],
                                 **change, "from_raw_sha256": old["raw_sha256"], "to_raw_sha256": new["raw_sha256"]})
    insert_rows(con, "notice_changes", rows)


def cross_format_flags(con: duckdb.DuckDBPyConnection) -> None:
    """Compare each published notice's kept provisions with its other formats' (the notices in asm.verdicts)."""
    pairs = fetch(con, """
        SELECT c.notice_id, c.raw_file AS chosen, o.raw_file AS other
        FROM asm.cand_chosen c JOIN asm.verdicts d USING (notice_id, version)
        JOIN asm.cand_files o ON o.notice_id = c.notice_id AND o.version = c.version AND o.raw_file <> c.raw_file
        WHERE d.published AND c.record_table = 'service_provisions'
          AND o.raw_file IN (SELECT raw_file FROM extracted.service_provisions)
        ORDER BY 1, 2, 3""")
    if not pairs:
        return
    rows_of: dict[str, list[dict]] = {}

    def provisions(raw_file: str) -> list[dict]:
        if raw_file not in rows_of:
            rows_of[raw_file] = fetch(con, f"SELECT * EXCLUDE (partition_key) FROM {EXTRACTED_SCHEMA}.service_provisions "
                                           "WHERE raw_file = ? ORDER BY item_no, population_no", [raw_file])
        return rows_of[raw_file]

    findings = []
    for p in pairs:
        chosen = provisions(p["chosen"])
        sha = chosen[0]["raw_sha256"] if chosen else None
        for f in compare_provision_sets(chosen, provisions(p["other"])):
            findings.append({**f, "notice_id": p["notice_id"], "raw_file": p["chosen"], "raw_sha256": sha})
    insert_rows(con, "dq_flags", build_dq_flags(findings))


# --- across notices -----------------------------------------------------------------------------------------------

def reset_canonical(con: duckdb.DuckDBPyConnection) -> None:
    """Bring citations' canonical columns back to what extraction gave (QA decisions apply again afterwards)."""
    con.execute(f"""UPDATE citations c SET title = e.title, canonical_year = e.canonical_year
                    FROM {EXTRACTED_SCHEMA}.citations e
                    WHERE e.citation_id = c.citation_id AND e.raw_file = c.raw_file
                      AND (c.title IS DISTINCT FROM e.title OR c.canonical_year IS DISTINCT FROM e.canonical_year)""")


def corpus_flags(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute the rules that compare a record with every notice's (code years, title codes), in SQL."""
    from pipeline.flags.base import load_rule_settings
    from pipeline.flags.corpus_sql import insert_corpus_flags

    names = ", ".join(f"'{r}'" for r in CORPUS_RULE_NAMES)
    con.execute(f"DELETE FROM dq_flags WHERE rule IN ({names})")
    insert_corpus_flags(con, load_rule_settings()["rules"])


def register_gaps(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """List what the registers lack (codes, titles, agencies), counted across the published notices; return them."""
    con.execute("DELETE FROM register_gaps")
    con.execute("""
        INSERT INTO register_gaps
        SELECT CASE WHEN code IS NOT NULL THEN 'standards' ELSE 'documents' END, register_status,
               coalesce(code, title_as_written), CAST(count(*) AS INTEGER), 'citations', arg_min(citation_id, c.rowid),
               NULL
        FROM citations c WHERE register_status <> 'known' GROUP BY register_status, code, title_as_written
        UNION ALL
        SELECT 'agencies', 'unknown', u.unit_as_written, CAST(count(*) AS INTEGER), 'task_units', min(u.unit_id),
               n.jurisdiction_code
        FROM task_units u LEFT JOIN current_notices n USING (notice_id)
        WHERE u.agency_id IS NULL AND NOT u.is_fragment AND u.match <> 'office'  -- an office (处室) is no agency
        GROUP BY u.unit_as_written, n.jurisdiction_code
        UNION ALL
        SELECT 'agencies', 'unknown', s.supplier_as_written, CAST(count(*) AS INTEGER), 'provision_suppliers',
               min(s.supplier_id), n.jurisdiction_code
        FROM provision_suppliers s LEFT JOIN current_notices n USING (notice_id)
        WHERE s.agency_id IS NULL GROUP BY s.supplier_as_written, n.jurisdiction_code""")
    return fetch(con, "SELECT * FROM register_gaps ORDER BY register, value")


def other_records(con: duckdb.DuckDBPyConnection, flags: list[dict]) -> dict[tuple[str, str], dict]:
    """The rows of typed tables other than provisions (tasks, task units, targets, profile kinds) that applied
    decisions name, by (table, record id)."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for f in flags:
        table = TABLES.get(f["record_table"])
        if table is not None and len(table.key) == 1 and f["record_table"] not in ("service_provisions", "citations"):
            wanted[f["record_table"]].add(f["record_id"])
    out = {}
    for name, ids in wanted.items():
        key = TABLES[name].key[0]
        for row in fetch(con, f"SELECT * FROM {quote(name)} WHERE list_contains(?, {quote(key)})", [sorted(ids)]):
            out[(name, row[key])] = row
    return out


# --- QA decisions -------------------------------------------------------------------------------------------------

def apply_decisions(con: duckdb.DuckDBPyConnection, reviews_dir: Path | None, previous_history: list[dict]) -> tuple[list[dict], list[dict]]:
    """Apply the review files to dq_flags, citations and canonical_values; return (history rows, stale decisions).

    Only the flags a decision names are read into Python; every other flag stays open.
    """
    decisions = load_decisions(reviews_dir)
    con.execute("UPDATE dq_flags SET review_status = 'open', canonical_value = NULL, reviewer = NULL, decided_on = NULL "
                "WHERE review_status <> 'open'")
    con.execute("DELETE FROM canonical_values")
    ids = sorted({d["flag_id"] for d in decisions})
    flags = fetch(con, "SELECT * FROM dq_flags WHERE list_contains(?, flag_id)", [ids]) if ids else []
    flags, history, stale = apply_reviews(flags, decisions)
    applied = [f for f in flags if f["review_status"] != "open"]
    for f in applied:
        con.execute("UPDATE dq_flags SET review_status = ?, canonical_value = ?, reviewer = ?, decided_on = ? "
                    "WHERE flag_id = ?", [f["review_status"], f["canonical_value"], f["reviewer"], f["decided_on"],
                                          f["flag_id"]])
    cited = sorted({f["record_id"] for f in applied if f["record_table"] == "citations"})
    citations = fetch(con, "SELECT * FROM citations WHERE list_contains(?, citation_id)", [cited]) if cited else []
    for c in apply_to_citations(citations, applied):
        con.execute("UPDATE citations SET title = ?, canonical_year = ? WHERE citation_id = ?",
                    [c["title"], c["canonical_year"], c["citation_id"]])
    wanted = sorted({f["record_id"] for f in applied if f["record_table"] == "service_provisions"} |
                    {c["provision_id"] for c in citations})
    provisions = fetch(con, "SELECT * FROM service_provisions WHERE list_contains(?, provision_id)", [wanted]) if wanted else []
    insert_rows(con, "canonical_values", canonical_values(provisions, applied, citations, other_records(con, applied)))
    return merge_review_history(previous_history, history), stale
