"""The QA report: GX Data Docs of the published warehouse plus a findings page from dq_flags (make report)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import duckdb

from pipeline.config import RAW_DIR
from pipeline.warehouse.gate import validate_warehouse
from pipeline.serve.query import connect_readonly
from pipeline.report.data_docs import build_data_docs
from pipeline.report.findings import warehouse_to_findings
from pipeline.report.pages import findings_page, index_page, withheld_section


def raw_linker(raw_dir: Path, out_dir: Path):
    """Return a function giving a link from the report folder to a raw file (at its page, for a PDF)."""
    base = Path(os.path.relpath(raw_dir.resolve(), out_dir.resolve())).as_posix()

    def href(raw_file: str, page: int | None = None) -> str:
        return f"{base}/{raw_file}" + (f"#page={page}" if page and raw_file.lower().endswith(".pdf") else "")

    return href


def _build_info(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    try:
        return dict(con.execute("SELECT key, value FROM build_info").fetchall())
    except duckdb.Error:
        return {}


def _dicts(con, sql: str) -> list[dict]:
    try:
        cur = con.execute(sql)
    except duckdb.Error:
        return []  # a warehouse older than these tables: nothing to show
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def write_report(warehouse: Path, out_dir: Path, raw_dir: Path = RAW_DIR) -> Path:
    """Validate the warehouse, build Data Docs into out_dir/data_docs, write the findings and entry pages.

    Return the path of out_dir/index.html.
    """
    out_dir = Path(out_dir).resolve()  # GX's local site builder refuses relative directories
    out_dir.mkdir(parents=True, exist_ok=True)
    con = connect_readonly(warehouse)
    try:
        findings = warehouse_to_findings(con)
        build_info = _build_info(con)
        withheld = withheld_section(
            _dicts(con, "SELECT notice_id, version, raw_file, status_reason FROM notices WHERE status = 'quarantined' "
                        "ORDER BY notice_id, version"),
            _dicts(con, "SELECT * FROM quarantine_rows ORDER BY notice_id, suite, expectation, row_key"),
            _dicts(con, "SELECT raw_file, stage, reason FROM raw_files WHERE status = 'failed' ORDER BY raw_file"),
            raw_linker(raw_dir, out_dir))
    finally:
        con.close()
    validation = validate_warehouse(warehouse, complete=True, run_name="report")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        docs_index, suite_pages = build_data_docs(validation, out_dir / "data_docs", out_dir)
    (out_dir / "findings.html").write_text(findings_page(findings, raw_linker(raw_dir, out_dir)), encoding="utf-8")
    index = out_dir / "index.html"
    index.write_text(index_page(validation.gate, findings, suite_pages, docs_index, build_info, str(warehouse),
                                withheld), encoding="utf-8")
    return index
