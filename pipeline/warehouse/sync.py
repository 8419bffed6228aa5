"""Bring the extracted schema of a warehouse copy in line with this build's partitions: only the changed ones move.

A partition no input needs any more has its rows deleted; a new one has its Parquet files inserted (in batches,
one INSERT per table). Returns the notices whose files changed: the only ones assembly has to look at again.

The inserts run one table per thread, each query on one DuckDB thread. Measured on the 1,000-notice corpus (8,000
small Parquet files, 2 cores): one query at a time on 2 DuckDB threads took 7.5 s wall and 11.8 s CPU; on 1 thread,
4.6 s and 6.0 s; two tables at once on 1 thread each, 3.6 s and 6.9 s. A scan of many small files spends its time
opening each one, and DuckDB's threads contend over that. One table per thread keeps each table's row order that of
its file list, as it was.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from pipeline.warehouse.ddl import EXTRACTED_SCHEMA, PARTITION_KEY, PARTITIONS_TABLE, column_list, extracted_tables, quote
from pipeline.warehouse.partitions import SUMMARY_KEYS, Manifest
from pipeline.warehouse.schema import Table

BATCH = 500  # Parquet files per INSERT


@dataclass
class SyncResult:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    affected_notices: set[str] = field(default_factory=set)


def sync_partitions(con: duckdb.DuckDBPyConnection, manifests: list[Manifest], reread: set[str] = frozenset()
                    ) -> SyncResult:
    """Delete rows of partitions gone, insert rows of partitions new; return what moved. A partition in ``reread``
    (a file read again under the same key: its last failure may not recur) is replaced if the warehouse holds it."""
    out = SyncResult()
    present = dict(con.execute(f"SELECT partition_key, notice_id FROM {PARTITIONS_TABLE}").fetchall())
    wanted = {m.key: m for m in manifests}
    out.removed = sorted((set(present) - set(wanted)) | (set(reread) & set(present)))
    added = [wanted[k] for k in sorted((set(wanted) - set(present)) | (set(reread) & set(wanted)))]
    out.added = [m.key for m in added]
    out.affected_notices |= {present[k] for k in out.removed if present[k]}
    out.affected_notices |= {m.file.get("notice_id") for m in added if m.file.get("notice_id")}
    tables = extracted_tables()
    if out.removed:
        con.execute("CREATE TEMP TABLE gone (k VARCHAR)")
        con.executemany("INSERT INTO gone VALUES (?)", [[k] for k in out.removed])
        for name in tables:
            con.execute(f"DELETE FROM {EXTRACTED_SCHEMA}.{quote(name)} WHERE {PARTITION_KEY} IN (SELECT k FROM gone)")
        con.execute(f"DELETE FROM {PARTITIONS_TABLE} WHERE partition_key IN (SELECT k FROM gone)")
        con.execute("DROP TABLE gone")
    jobs = [(name, table, [m.path(name) for m in added if name in m.tables]) for name, table in tables.items()]
    insert_tables(con, [job for job in jobs if job[2]])
    if added:
        index = manifests_to_arrow(added)
        con.register("new_partitions", index)
        con.execute(f"INSERT INTO {PARTITIONS_TABLE} BY NAME SELECT * FROM new_partitions")
        con.unregister("new_partitions")
    return out


def insert_parquet(con: duckdb.DuckDBPyConnection, name: str, table: Table, paths: list[Path]) -> None:
    """Insert these Parquet files into the extracted table ``name`` (in batches), each row with its partition key."""
    cols = column_list(table)
    for i in range(0, len(paths), BATCH):
        files = "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths[i:i + BATCH]) + "]"
        # The partition key is the name of the folder the Parquet file sits in.
        con.execute(f"INSERT INTO {EXTRACTED_SCHEMA}.{quote(name)} ({cols}, {PARTITION_KEY}) "
                    f"SELECT {cols}, regexp_extract(filename, '([0-9a-f]{{64}})/[^/]+$', 1) "
                    f"FROM read_parquet({files}, filename = true)")


def insert_tables(con: duckdb.DuckDBPyConnection, jobs: list[tuple[str, Table, list[Path]]]) -> None:
    """Run ``insert_parquet`` for each (name, table, paths): one table per thread (a cursor each), DuckDB on one
    thread per query for the while (see the module's docstring); its thread setting is put back after."""
    if not jobs:
        return
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    con.execute("SET threads = 1")
    try:
        def run(job):
            cur = con.cursor()
            try:
                insert_parquet(cur, *job)
            finally:
                cur.close()

        with ThreadPoolExecutor(max_workers=min(len(jobs), os.cpu_count() or 1)) as pool:
            # The longest first: the tables share the threads best so.
            for future in [pool.submit(run, job) for job in sorted(jobs, key=lambda job: -len(job[2]))]:
                future.result()
    finally:
        con.execute(f"SET threads = {int(threads)}")


def manifests_to_arrow(manifests: list[Manifest]) -> pa.Table:
    """The rows of the partitions table for these manifests."""
    columns = {"partition_key": pa.array([m.key for m in manifests], pa.string()),
               "raw_file": pa.array([m.raw_file for m in manifests], pa.string()),
               "raw_sha256": pa.array([m.raw_sha256 for m in manifests], pa.string())}
    for k in SUMMARY_KEYS:
        if k not in columns:
            columns[k] = pa.array([m.file.get(k) for m in manifests], pa.string())
    columns["tables"] = pa.array([sorted(m.tables.items()) for m in manifests], pa.map_(pa.string(), pa.int64()))
    columns["transient"] = pa.array([m.transient for m in manifests], pa.bool_())
    return pa.table(columns)
