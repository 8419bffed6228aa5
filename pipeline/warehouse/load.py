"""Tables to staging Parquet, staging to a new DuckDB file, and an atomic publish over the old one."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.warehouse.schema import TABLES, Table

_ARROW = {
    "VARCHAR": pa.string(),
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(),
    "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("us"),
    "JSON": pa.string(),
}


def arrow_type(sql_type: str) -> pa.DataType:
    if sql_type.endswith("[]"):
        return pa.list_(arrow_type(sql_type[:-2]))
    return _ARROW[sql_type]


def arrow_schema(table: Table) -> pa.Schema:
    return pa.schema([pa.field(c.name, arrow_type(c.type), nullable=c.nullable) for c in table.columns])


def rows_to_arrow(table: Table, rows: list[dict]) -> pa.Table:
    """Build an Arrow table with the schema's exact columns and types (extra keys are an error)."""
    names = set(table.column_names)
    for row in rows[:1]:
        extra = set(row) - names
        if extra:
            raise ValueError(f"{table.name}: record has columns not in the schema: {sorted(extra)}")
    schema = arrow_schema(table)
    cols = {c: [row.get(c) for row in rows] for c in table.column_names}
    return pa.table({c: pa.array(cols[c], type=schema.field(c).type) for c in table.column_names}, schema=schema)


def ddl(table: Table) -> str:
    cols = ",\n  ".join(f'"{c.name}" {c.type}{"" if c.nullable else " NOT NULL"}' for c in table.columns)
    return f'CREATE TABLE "{table.name}" (\n  {cols}\n)'


def write_staging(tables: dict[str, list[dict]], staging_dir: Path) -> dict[str, Path]:
    """Write every schema table (empty ones too) as Parquet into a fresh staging folder."""
    tmp = staging_dir.with_name(staging_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name, table in TABLES.items():
        pq.write_table(rows_to_arrow(table, tables.get(name, [])), tmp / f"{name}.parquet")
    shutil.rmtree(staging_dir, ignore_errors=True)
    os.replace(tmp, staging_dir)
    return {name: staging_dir / f"{name}.parquet" for name in TABLES}


def build_database(staging_dir: Path, target: Path, build_info: dict[str, str]) -> None:
    """Create a new DuckDB file from staging Parquet (schema types enforced by the DDL)."""
    target.unlink(missing_ok=True)
    con = duckdb.connect(str(target))
    try:
        for name, table in TABLES.items():
            con.execute(ddl(table))
            path = staging_dir / f"{name}.parquet"
            cols = ", ".join(f'"{c}"' for c in table.column_names)
            con.execute(f'INSERT INTO "{name}" SELECT {cols} FROM read_parquet(?)', [str(path)])
        con.execute("CREATE TABLE build_info (key VARCHAR PRIMARY KEY, value VARCHAR)")
        con.executemany("INSERT INTO build_info VALUES (?, ?)", sorted(build_info.items()))
        for sql in VIEWS:
            con.execute(sql)
        con.execute("CHECKPOINT")
    finally:
        con.close()


VIEWS = (
    "CREATE VIEW current_notices AS SELECT * FROM notices WHERE is_current",
)


def publish(built: Path, warehouse: Path) -> None:
    """Replace the published warehouse with the built file in one rename (same folder, same filesystem)."""
    fd = os.open(built, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(built, warehouse)
    dfd = os.open(warehouse.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def query_published(warehouse: Path, sql: str) -> list[dict]:
    """Run a query on the published warehouse read-only; [] when it is absent, unreadable or lacks the table."""
    if not warehouse.exists():
        return []
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            cur = con.execute(sql)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]
        finally:
            con.close()
    except duckdb.Error:
        return []


def read_build_info(warehouse: Path) -> dict[str, str]:
    """Return the published warehouse's build_info, or {} when there is none or it is unreadable."""
    return {r["key"]: r["value"] for r in query_published(warehouse, "SELECT key, value FROM build_info")}


def read_ingested_at(warehouse: Path) -> dict[str, dt.datetime]:
    """Return raw sha256 -> first load time from the published warehouse."""
    rows = query_published(warehouse, "SELECT raw_sha256, min(ingested_at) AS t FROM raw_files GROUP BY 1")
    return {r["raw_sha256"]: r["t"] for r in rows}


def read_previous_rows(warehouse: Path, table: str) -> list[dict]:
    """Read a table of the published warehouse (history carried into the new build); [] when absent."""
    return query_published(warehouse, f'SELECT * FROM "{table}"')


def temp_path_for(warehouse: Path) -> Path:
    return warehouse.with_name(f".{warehouse.name}.building-{os.getpid()}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_builds(warehouse: Path) -> list[Path]:
    """Delete half-built files left beside the warehouse by a killed refresh (their process is gone)."""
    removed = []
    for p in warehouse.parent.glob(f".{warehouse.name}.building-*"):
        pid = p.name.rsplit("-", 1)[-1].split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed
