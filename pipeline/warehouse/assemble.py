"""Files to notices, in SQL over the extracted schema: versions, candidates per version, one format kept.

For each notice to assemble:

- its **versions** are its distinct page files (a notice without a page has its first file as its one version),
  ordered by the documents' own dates (``version_date``: published/posted date, else retrieval time, else first
  sight), never by file name;
- a version's **candidate** is its page plus the notice's current attachments; for each typed table the file of
  the preferred format among them is **chosen** (HTML > DOCX > PDF by default, newest first within a format);
- the candidate's rows are what the gate judges (schema ``cand``: one view per analyst table, named like it, so a
  suite or check query runs on it unchanged) and, when it passes, what analysts get.

Everything here is a function of the extracted rows of the notices named, so assembling one changed notice or all
of them gives the same rows.
"""

from __future__ import annotations

import duckdb

from pipeline.warehouse.ddl import EXTRACTED_SCHEMA, column_list, quote
from pipeline.warehouse.schema import EXTRACTED, KIND_TABLES, TABLES

CAND = "cand"
TYPED = ("service_provisions", "tasks", *KIND_TABLES)
# Which typed table's chosen file a per-file analyst table takes its rows from; None: every candidate file.
SOURCE_OF = {
    "source_tables": None, "table_rows": None, "table_cells": None,
    "service_provisions": "service_provisions", "citations": "service_provisions",
    "provision_populations": "service_provisions", "provision_suppliers": "service_provisions",
    "tasks": "tasks", "task_units": "tasks", "targets": "tasks",
    "cell_lineage": "record_table",  # each lineage row follows the record table it describes
    **{kind: kind for kind in KIND_TABLES},  # a profile-defined table: its own chosen file
}
META_COLUMNS = [c.name for c in EXTRACTED["files"].columns if c.name in {x.name for x in TABLES["notices"].columns}
                and c.name not in ("notice_id", "raw_file", "raw_sha256", "format", "source_url", "ingested_at",
                                   "version_date")]


def _in_list(names: set[str] | None, column: str = "notice_id") -> str:
    if names is None:
        return "TRUE"
    if not names:
        return "FALSE"
    return f"{column} IN (SELECT notice_id FROM asm.scope)"


def plan_versions(con: duckdb.DuckDBPyConnection, notices: set[str] | None, preference: tuple[str, ...]) -> None:
    """Create temp tables versions, cand_files and cand_chosen for the notices named (None: all)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS asm")
    con.execute("CREATE OR REPLACE TABLE asm.scope (notice_id VARCHAR)")
    if notices:
        con.executemany("INSERT INTO asm.scope VALUES (?)", [[n] for n in sorted(notices)])
    scope = _in_list(notices)
    rank = " ".join(f"WHEN {quote_lit(f)} THEN {i}" for i, f in enumerate(preference))
    con.execute(f"""
        CREATE OR REPLACE TABLE asm.nfiles AS
        SELECT * FROM {EXTRACTED_SCHEMA}.files WHERE {scope}""")
    con.execute("""
        CREATE OR REPLACE TABLE asm.carriers AS
        WITH f AS (
            SELECT *, bool_or(has_meta AND status <> 'failed') OVER (PARTITION BY notice_id) AS any_page,
                   bool_or(status <> 'failed') OVER (PARTITION BY notice_id) AS any_readable,
                   row_number() OVER (PARTITION BY notice_id
                       ORDER BY status = 'failed', version_date, ingested_at, raw_file) AS first_file
            FROM asm.nfiles)
        SELECT * FROM f
        WHERE (any_page AND has_meta AND status <> 'failed')
           OR (NOT any_page AND first_file = 1)""")
    con.execute("""
        CREATE OR REPLACE TABLE asm.versions AS
        WITH v AS (
            SELECT notice_id, raw_file, raw_sha256, version_date, ingested_at, status AS file_status,
                   coalesce(retrieved_at, ingested_at) AS order_time,
                   row_number() OVER (PARTITION BY notice_id
                       ORDER BY version_date, coalesce(retrieved_at, ingested_at), raw_sha256) AS version,
                   count(*) OVER (PARTITION BY notice_id) AS n_versions
            FROM (SELECT *, row_number() OVER (PARTITION BY notice_id, raw_sha256 ORDER BY raw_file) AS dup
                  FROM asm.carriers)
            WHERE dup = 1)
        -- A version is valid from its document's date; a revision the document dates no later than the version
        -- before it (the same PubDate) is valid from when it was retrieved or first seen.
        SELECT *, CASE WHEN version = 1 OR version_date > lag(version_date) OVER w THEN version_date
                       ELSE greatest(order_time, lag(version_date) OVER w) END AS valid_from
        FROM v WINDOW w AS (PARTITION BY notice_id ORDER BY version)""")
    con.execute("""
        CREATE OR REPLACE TABLE asm.attachments AS
        SELECT notice_id, raw_file FROM (
            SELECT n.*, row_number() OVER (PARTITION BY n.notice_id, n.raw_sha256 ORDER BY n.raw_file) AS dup
            FROM asm.nfiles n
            WHERE n.current AND n.status <> 'failed'
              AND n.raw_sha256 NOT IN (SELECT raw_sha256 FROM asm.carriers c WHERE c.notice_id = n.notice_id))
        WHERE dup = 1""")
    con.execute("""
        CREATE OR REPLACE TABLE asm.cand_files AS
        SELECT v.notice_id, v.version, v.raw_file, TRUE AS is_carrier FROM asm.versions v
        UNION ALL
        SELECT v.notice_id, v.version, a.raw_file, FALSE FROM asm.versions v JOIN asm.attachments a USING (notice_id)""")
    having = " UNION ALL ".join(
        f"SELECT raw_file, '{t}' AS record_table, count(*) AS n FROM {EXTRACTED_SCHEMA}.{t} WHERE {scope} "
        f"GROUP BY raw_file" for t in TYPED)
    con.execute(f"""
        CREATE OR REPLACE TABLE asm.cand_chosen AS
        SELECT notice_id, version, record_table, raw_file FROM (
            SELECT c.notice_id, c.version, h.record_table, c.raw_file,
                   row_number() OVER (PARTITION BY c.notice_id, c.version, h.record_table
                       ORDER BY CASE f.format {rank} ELSE {len(preference)} END, f.version_date DESC, c.raw_file DESC)
                       AS pick
            FROM asm.cand_files c JOIN ({having}) h USING (raw_file) JOIN asm.nfiles f USING (raw_file))
        WHERE pick = 1""")


def quote_lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


ROUND = "(s.notice_id, s.version) IN (SELECT notice_id, version FROM asm.round_set)"


def candidate_views(con: duckdb.DuckDBPyConnection) -> None:
    """Create schema cand: one view per analyst table a notice fills, holding the rows of the candidates in
    asm.round_set (one version per notice; ``_version`` says which). Suites and checks run on it unchanged."""
    con.execute("CREATE OR REPLACE TABLE asm.round_set (notice_id VARCHAR, version INTEGER)")
    con.execute(f"DROP SCHEMA IF EXISTS {CAND} CASCADE")
    con.execute(f"CREATE SCHEMA {CAND}")
    for name, table in TABLES.items():
        if not table.per_file:
            continue
        cols = column_list(table, "e.")
        src = SOURCE_OF[name]
        if src is None:
            join = "JOIN asm.cand_files s ON s.raw_file = e.raw_file AND s.notice_id = e.notice_id"
        elif src == "record_table":
            join = ("JOIN asm.cand_chosen s ON s.raw_file = e.raw_file AND s.notice_id = e.notice_id "
                    "AND s.record_table = e.record_table")
        else:
            join = (f"JOIN asm.cand_chosen s ON s.raw_file = e.raw_file AND s.notice_id = e.notice_id "
                    f"AND s.record_table = '{src}'")
        con.execute(f"CREATE VIEW {CAND}.{quote(name)} AS SELECT {cols}, s.version AS _version "
                    f"FROM {EXTRACTED_SCHEMA}.{quote(name)} e {join} WHERE {ROUND}")
    flags = column_list(TABLES["dq_flags"], "e.")
    con.execute(f"CREATE VIEW {CAND}.dq_flags AS SELECT {flags}, s.version AS _version "
                f"FROM {EXTRACTED_SCHEMA}.file_flags e JOIN (SELECT DISTINCT notice_id, version, raw_file "
                f"FROM asm.cand_chosen) s ON s.raw_file = e.raw_file AND s.notice_id = e.notice_id WHERE {ROUND}")
    con.execute(f"CREATE VIEW {CAND}.notices AS SELECT * FROM ({notice_rows_sql()}) s WHERE {ROUND}")
    con.execute(f"CREATE VIEW {CAND}.raw_files AS SELECT {column_list(TABLES['raw_files'], 'f.')}, s.version AS _version "
                f"FROM asm.nfiles f JOIN asm.cand_files s USING (raw_file) WHERE {ROUND}")


def set_round(con: duckdb.DuckDBPyConnection, pairs: list[tuple[str, int]]) -> None:
    """Point the cand views at these (notice_id, version) candidates."""
    con.execute("DELETE FROM asm.round_set")
    if pairs:
        con.executemany("INSERT INTO asm.round_set VALUES (?, ?)", [list(p) for p in pairs])


def notice_rows_sql() -> str:
    """SQL for one notices row per version: the page's metadata, a field it lacks filled from its attachments."""
    meta = []
    for c in META_COLUMNS:
        meta.append(f"coalesce(p.{quote(c)}, (SELECT a.{quote(c)} FROM asm.nfiles a JOIN asm.attachments x USING (raw_file) "
                    f"WHERE x.notice_id = v.notice_id AND a.{quote(c)} IS NOT NULL ORDER BY a.raw_file LIMIT 1)) "
                    f"AS {quote(c)}")
    return f"""
        SELECT v.notice_id, v.version,
               CAST(NULL AS VARCHAR) AS status, CAST(NULL AS VARCHAR) AS status_reason,
               {", ".join(meta)},
               coalesce(p.format, 'unknown') AS format,
               (SELECT list(DISTINCT f.format ORDER BY f.format) FROM asm.cand_files s JOIN asm.nfiles f USING (raw_file)
                 WHERE s.notice_id = v.notice_id AND s.version = v.version AND f.format IS NOT NULL) AS formats,
               p.source_url, p.raw_file, p.raw_sha256, p.ingested_at, p.version_date,
               v.valid_from, CAST(NULL AS TIMESTAMP) AS valid_to, FALSE AS is_current,
               v.version AS _version
        FROM asm.versions v JOIN asm.nfiles p ON p.raw_file = v.raw_file"""


def publish_notices(con: duckdb.DuckDBPyConnection, notices: set[str] | None) -> None:
    """Replace the analyst rows of the notices assembled by their published candidates (asm.verdicts)."""
    scope = _in_list(notices)
    set_round(con, [tuple(r) for r in con.execute(
        "SELECT notice_id, version FROM asm.verdicts WHERE published").fetchall()])
    for name, table in TABLES.items():
        if table.per_file or name == "dq_flags":
            con.execute(f"DELETE FROM {quote(name)} WHERE {scope}")
            con.execute(f"INSERT INTO {quote(name)} SELECT {column_list(table)} FROM {CAND}.{quote(name)}")
    con.execute(f"DELETE FROM notices WHERE {scope}")
    select = ", ".join(
        {"status": "CASE WHEN d.published THEN 'published' WHEN d.failed THEN 'quarantined' "
                   "WHEN v.file_status = 'failed' THEN 'failed' ELSE 'superseded' END AS status",
         "status_reason": "coalesce(d.reason, CASE WHEN v.file_status = 'failed' THEN f.reason END) AS status_reason",
         "is_current": "coalesce(d.published, FALSE) AS is_current",
         "valid_to": "CASE WHEN coalesce(d.published OR d.failed, FALSE) THEN NULL ELSE "
                     "(SELECT min(n2.valid_from) FROM asm.versions n2 LEFT JOIN asm.verdicts d2 USING (notice_id, version) "
                     "WHERE n2.notice_id = n.notice_id AND n2.version > n.version AND NOT coalesce(d2.failed, FALSE)) "
                     "END AS valid_to",
         }.get(c, f"n.{quote(c)}") for c in TABLES["notices"].column_names)
    con.execute(f"INSERT INTO notices SELECT {select} FROM ({notice_rows_sql()}) n "
                f"JOIN asm.versions v USING (notice_id, version) JOIN asm.nfiles f ON f.raw_file = v.raw_file "
                f"LEFT JOIN asm.verdicts d USING (notice_id, version)")


def publish_raw_files(con: duckdb.DuckDBPyConnection, notices: set[str] | None) -> None:
    """Replace the raw_files rows of the notices assembled; a file only a withheld version used is quarantined."""
    scope = _in_list(notices)
    con.execute(f"DELETE FROM raw_files WHERE {scope} OR notice_id IS NULL")
    cols = TABLES["raw_files"].column_names
    select = ", ".join("CASE WHEN f.status <> 'failed' AND q.raw_file IS NOT NULL THEN 'quarantined' ELSE f.status "
                       "END AS status" if c == "status" else f"f.{quote(c)}" for c in cols)
    con.execute(f"""
        INSERT INTO raw_files SELECT {select} FROM asm.nfiles f
        LEFT JOIN (SELECT DISTINCT c.raw_file FROM asm.cand_files c JOIN asm.verdicts d USING (notice_id, version)
                   WHERE d.failed AND c.raw_file NOT IN (SELECT c2.raw_file FROM asm.cand_files c2
                       JOIN asm.verdicts d2 USING (notice_id, version) WHERE d2.published)) q USING (raw_file)""")
