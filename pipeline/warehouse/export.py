"""The published warehouse as Parquet, partitioned by jurisdiction and year (Hive layout), for DuckDB, Trino, Spark.

``warehouse/parquet/<table>/jurisdiction=<code>/year=<yyyy>/data.parquet`` for every table a notice fills (its
rows go to its jurisdiction and the year of its current version's date); tables not tied to one notice
(registers, runs, fetches, register gaps, reviews) are one ``<table>/data.parquet`` each. A refresh rewrites only
the partitions of the notices it assembled; the others are carried over by hard link. The new tree is built
beside the old one and swapped in by rename, so a reader never sees half an export.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb

from pipeline.warehouse.ddl import column_list, literal, quote
from pipeline.warehouse.schema import TABLES

UNKNOWN = "unknown"
# The partition of a notice: its current version's jurisdiction and year (the version analysts see).
NOTICE_PARTITION = f"""
    SELECT notice_id, coalesce(any_value(jurisdiction_code) FILTER (WHERE is_current), any_value(jurisdiction_code),
                               '{UNKNOWN}') AS jurisdiction,
           coalesce(CAST(year(any_value(coalesce(published_on, written_on, posted_on)) FILTER (WHERE is_current))
                         AS VARCHAR),
                    CAST(year(max(coalesce(published_on, written_on, posted_on))) AS VARCHAR), '{UNKNOWN}') AS year
    FROM notices GROUP BY notice_id"""


def export_dir_for(warehouse: Path) -> Path:
    """The export of a warehouse file: ``parquet/`` beside it."""
    return warehouse.parent / "parquet"


def by_notice(name: str) -> bool:
    return "notice_id" in TABLES[name].column_names and name != "register_gaps"


def notice_partitions(con: duckdb.DuckDBPyConnection, notices: set[str] | None) -> set[tuple[str, str]]:
    if notices is None:
        return {tuple(r) for r in con.execute(f"SELECT DISTINCT jurisdiction, year FROM ({NOTICE_PARTITION})").fetchall()}
    if not notices:
        return set()
    return {tuple(r) for r in con.execute(f"SELECT DISTINCT jurisdiction, year FROM ({NOTICE_PARTITION}) "
                                          "WHERE list_contains(?, notice_id)", [sorted(notices)]).fetchall()}


def export_parquet(warehouse: Path, out: Path, notices: set[str] | None, previous: set[tuple[str, str]] | None = None
                   ) -> set[tuple[str, str]]:
    """Write the Parquet export of ``warehouse`` to ``out``, rewriting the partitions of ``notices`` (None: all) and
    those in ``previous`` (where the notices were before); return the partitions rewritten."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        touched = notice_partitions(con, notices) | (previous or set())
        full = notices is None or not out.exists()
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for name, table in TABLES.items():
            target = tmp / name
            target.mkdir()
            cols = column_list(table, "t.")
            if not by_notice(name):
                con.execute(f"COPY (SELECT {cols} FROM {quote(name)} t) TO {literal(str(target / 'data.parquet'))} "
                            "(FORMAT parquet, COMPRESSION zstd)")
                continue
            if not full:  # carry untouched partitions over
                for part in (out / name).glob("jurisdiction=*/year=*"):
                    key = (part.parent.name.split("=", 1)[1], part.name.split("=", 1)[1])
                    if key not in touched:
                        dest = target / part.parent.name / part.name
                        dest.mkdir(parents=True, exist_ok=True)
                        for f in part.iterdir():
                            os.link(f, dest / f.name)
            sel = (f"SELECT {cols}, p.jurisdiction, p.year FROM {quote(name)} t "
                   f"JOIN ({NOTICE_PARTITION}) p USING (notice_id)")
            if not full:
                if not touched:
                    continue
                keys = ", ".join(f"({literal(j)}, {literal(y)})" for j, y in sorted(touched))
                sel += f" WHERE (p.jurisdiction, p.year) IN (VALUES {keys})"
            con.execute(f"COPY ({sel}) TO {literal(str(target))} (FORMAT parquet, COMPRESSION zstd, "
                        "PARTITION_BY (jurisdiction, year), OVERWRITE_OR_IGNORE, FILENAME_PATTERN 'data{i}')")
    finally:
        con.close()
    old = out.with_name(f".{out.name}.{os.getpid()}.old")
    if out.exists():
        os.replace(out, old)
    os.replace(tmp, out)
    shutil.rmtree(old, ignore_errors=True)
    return touched
