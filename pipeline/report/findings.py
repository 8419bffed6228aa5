"""dq_flags rows to findings ready to show: the published cell holding the evidence and where it sits in raw/."""

from __future__ import annotations

import html
import tomllib
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipeline.config import data_path
from pipeline.warehouse.schema import TABLES

REVIEW_STATUSES = ("open", "accepted", "rejected", "corrected")


@dataclass(frozen=True)
class Source:
    """Where a cell sits in its raw file."""

    raw_file: str
    table_index: int | None = None
    row: int | None = None
    col: int | None = None
    page: int | None = None
    locator: str | None = None

    def text(self) -> str:
        """Say table, row, column and page in words (the link carries the file)."""
        parts = [f"table {self.table_index}" if self.table_index is not None else None,
                 f"row {self.row}" if self.row is not None else None,
                 f"col {self.col}" if self.col is not None else None,
                 f"page {self.page}" if self.page is not None else None]
        return ", ".join(p for p in parts if p)


@dataclass(frozen=True)
class Finding:
    """One dq_flags row with the text of the cell it points into."""

    flag: dict
    cell_table: str
    cell_id: str | None
    cell_column: str
    cell_text: str | None  # None when the record is not in the warehouse
    source: Source


def load_cell_rules(path: Path | None = None) -> dict:
    """Read which record tables were derived from a provision cell (pipeline/data/report_cells.toml)."""
    with open(path or data_path("report_cells.toml"), "rb") as fh:
        return tomllib.load(fh).get("derived", {})


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchone()[0])


def _records_by_key(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, dict]:
    """Return a table's rows by its one-column key ({} for a table without one or not in the warehouse)."""
    t = TABLES.get(table)
    if t is None or len(t.key) != 1 or not _table_exists(con, table):
        return {}
    return {r[t.key[0]]: r for r in _rows(con, f'SELECT * FROM "{table}"')}


def _lineage(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str, str], dict]:
    if not _table_exists(con, "cell_lineage"):
        return {}
    return {(r["record_table"], r["record_id"], r["column_name"]): r for r in _rows(con, "SELECT * FROM cell_lineage")}


def _source(record: dict | None, lineage: dict | None, flag: dict) -> Source:
    """Locate the cell: its grid cell from lineage where recorded, else the record's own lineage columns."""
    if lineage:
        return Source(lineage["raw_file"], lineage.get("table_index"), lineage.get("grid_row"), lineage.get("grid_col"),
                      lineage.get("page"), lineage.get("locator"))
    record = record or {}
    return Source(record.get("raw_file") or flag["raw_file"], record.get("table_index"), record.get("source_row"),
                  None, record.get("page"), record.get("locator") or flag.get("locator"))


def warehouse_to_findings(con: duckdb.DuckDBPyConnection, cell_rules: dict | None = None) -> list[Finding]:
    """Read every dq_flags row with its cell text and source location, ordered by rule, notice and record."""
    if not _table_exists(con, "dq_flags"):
        return []
    rules = load_cell_rules() if cell_rules is None else cell_rules
    flags = _rows(con, "SELECT * FROM dq_flags ORDER BY rule, notice_id, record_table, record_id, span_start, flag_id")
    tables = {f["record_table"] for f in flags} | {r["table"] for r in rules.values()}
    records = {t: _records_by_key(con, t) for t in tables}
    lineage = _lineage(con)
    out = []
    for f in flags:
        record = records.get(f["record_table"], {}).get(f["record_id"])
        rule = rules.get(f["record_table"])
        if rule is not None:  # evidence counts characters in the provision cell the record was read from
            parent_id = record.get(rule["via"]) if record else None
            cell_table, cell_id, column = rule["table"], parent_id, rule["column"]
            cell_record = records.get(cell_table, {}).get(parent_id)
        else:
            cell_table, cell_id, column, cell_record = f["record_table"], f["record_id"], f["column_name"], record
        text = None if cell_record is None else cell_record.get(column)
        if cell_record is not None and text is None:
            text = ""  # an empty (NULL) cell is shown as empty, not as a missing record
        cell_lineage = lineage.get((cell_table, cell_id, column))
        out.append(Finding(f, cell_table, cell_id, column, None if text is None else str(text),
                           _source(cell_record, cell_lineage, f)))
    return out


def evidence_span(text: str, evidence: str, start: int | None, end: int | None) -> tuple[int, int] | None:
    """Return where the evidence sits in the cell text: at the flag's span if it matches there, else its first match."""
    if start is not None and end is not None and 0 <= start <= end <= len(text) and text[start:end] == evidence:
        return start, end
    if evidence and evidence in text:
        i = text.index(evidence)
        return i, i + len(evidence)
    return None


def highlight(text: str, span: tuple[int, int] | None) -> str:
    """Escape the cell text and wrap the evidence span in <mark> (an empty span marks the empty cell)."""
    if span is None:
        return html.escape(text)
    a, b = span
    inner = html.escape(text[a:b]) if b > a else '<span class="empty">∅</span>'
    return f"{html.escape(text[:a])}<mark>{inner}</mark>{html.escape(text[b:])}"


def counts_per_rule(findings: list[Finding]) -> list[dict]:
    """Count findings per rule and severity, split by review status, most severe rules first."""
    order = {"error": 0, "warning": 1, "info": 2}
    counts: dict[tuple[str, str], dict] = {}
    for f in findings:
        key = (f.flag["rule"], f.flag["severity"])
        row = counts.setdefault(key, {"rule": key[0], "severity": key[1], "total": 0, "notices": set(),
                                      **{s: 0 for s in REVIEW_STATUSES}})
        row["total"] += 1
        row["notices"].add(f.flag["notice_id"])
        status = f.flag.get("review_status") or "open"
        row[status] = row.get(status, 0) + 1
    rows = sorted(counts.values(), key=lambda r: (order.get(r["severity"], 9), r["rule"]))
    for r in rows:
        r["notices"] = len(r["notices"])
    return rows
