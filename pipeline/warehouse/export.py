"""The published warehouse as Parquet, partitioned by jurisdiction and year (Hive layout), for DuckDB, Trino, Spark.

``warehouse/parquet/<table>/jurisdiction=<code>/year=<yyyy>/data_<b>.parquet`` for every table a notice fills (its
rows go to its jurisdiction and the year of its current version's date, and to one of up to 16 files by notice);
tables not tied to one notice (registers, runs, fetches, register gaps, reviews) are one ``<table>/data.parquet``
each. A refresh rewrites only the files of the notices it assembled; the others are carried over by hard link. The new tree is built
beside the old one and swapped in by rename, so a reader never sees half an export.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

import duckdb

from pipeline.warehouse.ddl import column_list, literal, quote
from pipeline.warehouse.schema import TABLES

UNKNOWN = "unknown"
BUCKET_SQL = "left(md5(t.notice_id), 1)"  # = notice_bucket(notice_id)
_BUCKET_FILE = re.compile(r"^data_([0-9a-f])(?:_\d+)?\.parquet$")
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


def notice_bucket(notice_id: str) -> str:
    """The file of its partition a notice's rows go to: the first hex digit of md5(notice_id) (as DuckDB's BUCKET)."""
    return hashlib.md5(notice_id.encode("utf-8")).hexdigest()[0]


def _bucket_of_file(name: str) -> str | None:
    m = _BUCKET_FILE.match(name)
    return m.group(1) if m else None


def export_parquet(warehouse: Path, out: Path, notices: set[str] | None, previous: set[tuple[str, str]] | None = None,
                   *, memory_mb: int = 0) -> set[tuple[str, str]]:
    """Write the Parquet export of ``warehouse`` to ``out``, rewriting the files of ``notices`` (None: all) in their
    partitions and in ``previous`` (where the notices were before); return the partitions touched.

    A partition's rows are split over up to 16 files by notice (``data_<b>.parquet``, b the first hex digit of
    md5(notice_id)): a refresh rewrites only the files its notices fall in and hard-links the rest, so adding a
    notice to a city's year of thousands rewrites a sixteenth of it. DuckDB may use at most ``memory_mb``
    (0: its default)."""
    spill = out.with_name(f".{out.name}.{os.getpid()}.spill")
    con = _connect_read_only(warehouse, {"memory_limit": f"{memory_mb}MB", "temp_directory": str(spill)}
                             if memory_mb else {})
    try:
        touched = notice_partitions(con, notices) | (previous or set())
        buckets = {notice_bucket(n) for n in notices} if notices is not None else set()
        full = notices is None or not out.exists() or _unbucketed(out)
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
            if not full:  # carry untouched files over
                for f in (out / name).glob("jurisdiction=*/year=*/*.parquet"):
                    key = (f.parent.parent.name.split("=", 1)[1], f.parent.name.split("=", 1)[1])
                    if key not in touched or _bucket_of_file(f.name) not in buckets:
                        dest = target / f.parent.parent.name / f.parent.name
                        dest.mkdir(parents=True, exist_ok=True)
                        os.link(f, dest / f.name)
            sel = (f"SELECT {cols}, p.jurisdiction, p.year, {BUCKET_SQL} AS bucket FROM {quote(name)} t "
                   f"JOIN ({NOTICE_PARTITION}) p USING (notice_id)")
            if not full:
                if not touched or not buckets:
                    continue
                keys = ", ".join(f"({literal(j)}, {literal(y)})" for j, y in sorted(touched))
                sel += (f" WHERE (p.jurisdiction, p.year) IN (VALUES {keys}) AND {BUCKET_SQL} IN "
                        f"({', '.join(literal(b) for b in sorted(buckets))})")
            staged = tmp / f".{name}.buckets"
            con.execute(f"COPY ({sel}) TO {literal(str(staged))} (FORMAT parquet, COMPRESSION zstd, "
                        "PARTITION_BY (jurisdiction, year, bucket), OVERWRITE_OR_IGNORE, FILENAME_PATTERN 'data{i}')")
            _unbucket(staged, target)
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)
    old = out.with_name(f".{out.name}.{os.getpid()}.old")
    if out.exists():
        os.replace(out, old)
    os.replace(tmp, out)
    shutil.rmtree(old, ignore_errors=True)
    return touched


def _connect_read_only(warehouse: Path, config: dict) -> duckdb.DuckDBPyConnection:
    """Open the published file read-only under ``config``; if this process already holds it open (a notebook
    that calls refresh()), DuckDB refuses a second configuration: share the open database as it is."""
    try:
        return duckdb.connect(str(warehouse), read_only=True, config=config)
    except duckdb.ConnectionException:
        if not config:
            raise
        return duckdb.connect(str(warehouse), read_only=True)


def _unbucket(staged: Path, target: Path) -> None:
    """Move DuckDB's ``jurisdiction=J/year=Y/bucket=B/dataN.parquet`` to ``jurisdiction=J/year=Y/data_B[_N].parquet``:
    the layout stays two levels of Hive folders, the bucket only a file name."""
    if not staged.exists():
        return
    for f in sorted(staged.glob("jurisdiction=*/year=*/bucket=*/*.parquet")):
        bucket = f.parent.name.split("=", 1)[1]
        n = f.stem.removeprefix("data")
        dest = target / f.parent.parent.parent.name / f.parent.parent.name
        dest.mkdir(parents=True, exist_ok=True)
        os.replace(f, dest / (f"data_{bucket}.parquet" if n in ("", "0") else f"data_{bucket}_{n}.parquet"))
    shutil.rmtree(staged)


def _unbucketed(out: Path) -> bool:
    """Tell whether an export holds a partition file not split by bucket (an older layout): rewrite it all."""
    return any(_bucket_of_file(f.name) is None for f in out.glob("*/jurisdiction=*/year=*/*.parquet"))
