"""Analyst access: a read-only DuckDB connection to the published warehouse."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipeline.config import WAREHOUSE_FILE


class NoWarehouse(Exception):
    """The warehouse file does not exist yet."""


def connect_readonly(path: Path | str = WAREHOUSE_FILE) -> duckdb.DuckDBPyConnection:
    """Open the warehouse read-only: analyst SQL can never write to it."""
    path = Path(path)
    if not path.exists():
        raise NoWarehouse(f"{path} does not exist; run `make refresh` first")
    return duckdb.connect(str(path), read_only=True)
