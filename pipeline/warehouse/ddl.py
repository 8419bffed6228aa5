"""The warehouse's tables, created from the schema: analyst tables, the extracted schema, comments and views."""

from __future__ import annotations

import duckdb

from pipeline.warehouse.partitions import SUMMARY_KEYS
from pipeline.warehouse.schema import EXTRACTED, TABLES, Table

EXTRACTED_SCHEMA = "extracted"
PARTITION_KEY = "partition_key"
# Internal bookkeeping: which partition each extracted row came from, and the build's own facts. The partitions
# table is also the index of their manifests as a refresh keeps them (warehouse/partitions.py): an incremental
# refresh reads the manifests of the partitions the published warehouse holds from it, not from staging/.
PARTITIONS_TABLE = f"{EXTRACTED_SCHEMA}.partitions"


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def column_list(table: Table, prefix: str = "") -> str:
    return ", ".join(f"{prefix}{quote(c)}" for c in table.column_names)


def table_ddl(table: Table, qualified: str, extra: str = "") -> str:
    cols = ",\n  ".join(f'{quote(c.name)} {c.type}{"" if c.nullable else " NOT NULL"}' for c in table.columns)
    return f"CREATE TABLE {qualified} (\n  {cols}{extra}\n)"


def extracted_tables() -> dict[str, Table]:
    """Every table of the extracted schema: the per-file analyst tables plus files and file_flags."""
    return {**{n: t for n, t in TABLES.items() if t.per_file}, **EXTRACTED}


def partitions_ddl() -> str:
    """The partitions table: the key, the manifest's file summary, its tables' rows, whether its failure may pass."""
    summary = ", ".join(f"{k} VARCHAR{' NOT NULL' if k in ('raw_file', 'raw_sha256') else ''}" for k in SUMMARY_KEYS)
    return (f"CREATE TABLE {PARTITIONS_TABLE} (partition_key VARCHAR PRIMARY KEY, {summary}, "
            "tables MAP(VARCHAR, BIGINT), transient BOOLEAN NOT NULL)")


VIEWS = (
    "CREATE VIEW current_notices AS SELECT * FROM notices WHERE is_current",
)


def create_warehouse(con: duckdb.DuckDBPyConnection) -> None:
    """Create every table (empty) with its comments, the extracted schema and the views."""
    for name, table in TABLES.items():
        con.execute(table_ddl(table, quote(name)))
    con.execute(f"CREATE SCHEMA {EXTRACTED_SCHEMA}")
    for name, table in extracted_tables().items():
        con.execute(table_ddl(table, f"{EXTRACTED_SCHEMA}.{quote(name)}", f",\n  {PARTITION_KEY} VARCHAR NOT NULL"))
    con.execute(partitions_ddl())
    con.execute("CREATE TABLE build_info (key VARCHAR PRIMARY KEY, value VARCHAR)")
    for sql in VIEWS:
        con.execute(sql)
    comment_tables(con)


def comment_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Put each table's grain and each column's meaning into the database itself (COMMENT ON)."""
    for name, table in TABLES.items():
        con.execute(f"COMMENT ON TABLE {quote(name)} IS {literal(table.grain)}")
        for c in table.columns:
            con.execute(f"COMMENT ON COLUMN {quote(name)}.{quote(c.name)} IS {literal(c.doc)}")
    for name, table in extracted_tables().items():
        con.execute(f"COMMENT ON TABLE {EXTRACTED_SCHEMA}.{quote(name)} IS "
                    f"{literal('every file, all formats and versions: ' + table.grain)}")
