"""The published warehouse file: read it safely, replace it atomically, clean up after killed runs."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from pipeline.warehouse.ddl import PARTITIONS_TABLE
from pipeline.warehouse.partitions import Manifest, file_summary


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


def published_partitions(warehouse: Path) -> dict[str, Manifest]:
    """Return the manifests of the partitions the published warehouse holds, by key, as its partitions table keeps
    them (none when there is no readable warehouse). They have no folder: their rows are in the warehouse."""
    rows = query_published(warehouse, f"SELECT * FROM {PARTITIONS_TABLE}")
    return {r["partition_key"]: Manifest(r["partition_key"], r["raw_file"], r["raw_sha256"],
                                         file_summary(r), dict(r.get("tables") or {}),
                                         transient=bool(r.get("transient")))
            for r in rows}


def temp_path_for(warehouse: Path) -> Path:
    return warehouse.with_name(f".{warehouse.name}.building-{os.getpid()}")


def remove_stale_builds(warehouse: Path) -> list[Path]:
    """Delete half-built files a killed refresh left beside the warehouse (call it holding the refresh lock)."""
    removed = []
    for p in warehouse.parent.glob(f".{warehouse.name}.building-*"):
        p.unlink(missing_ok=True)
        removed.append(p)
    return removed
