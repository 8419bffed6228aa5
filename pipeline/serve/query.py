"""Analyst access: one factory for every connection that runs analyst SQL on the published warehouse.

Two walls, so that neither alone has to be perfect:

1. DuckDB itself (``ANALYST_CONFIG``): the file is opened read-only, with no access to any other file or
   the network (no ATTACH, COPY, EXPORT, read_text/read_csv/glob, INSTALL), no extension auto-loading,
   and the configuration locked so that SET/RESET/PRAGMA cannot undo any of it.
2. ``AnalystConnection`` checks each query before DuckDB runs it: exactly one statement, and of a type
   that only reads (SELECT and WITH … SELECT, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN of those, the PRAGMAs in
   ``READ_PRAGMAS``). Anything else raises ``RefusedStatement``, naming the statement type.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb

from pipeline.config import WAREHOUSE_FILE
from pipeline.errors import PipelineError

# Settings fixed when the database is opened; lock_configuration makes every later SET/RESET/PRAGMA of any
# option fail ("the configuration has been locked"), so none of the others can be switched back.
ANALYST_CONFIG = {
    "enable_external_access": False,  # no other file, no network: ATTACH, COPY, EXPORT, read_*, glob, INSTALL
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "lock_configuration": True,
}
# PRAGMAs that only describe the database (each is a SELECT from a pragma_* table function).
READ_PRAGMAS = frozenset({
    "table_info", "show", "show_tables", "show_tables_expanded", "show_databases", "database_list",
    "database_size", "storage_info", "functions", "collations", "version", "platform", "metadata_info",
})
READ_TYPES = frozenset({duckdb.StatementType.SELECT})  # DESCRIBE, SHOW, SUMMARIZE, FROM …, VALUES parse as SELECT
ALLOWED = "one read statement: SELECT (or WITH … SELECT), DESCRIBE, SHOW, SUMMARIZE, EXPLAIN, PRAGMA table_info"
_EXPLAIN = re.compile(r"\s*EXPLAIN\s+(?:ANALY[SZ]E\s+)?(?:\([^()]*\)\s*)?(.*)", re.I | re.S)
_PRAGMA = re.compile(r"\s*PRAGMA\s+([A-Za-z_][A-Za-z0-9_]*)", re.I)


class NoWarehouse(PipelineError):
    """The warehouse file does not exist yet."""

    hint = "run `make refresh` first, or pass --warehouse FILE"


class RefusedStatement(PipelineError):
    """Analyst SQL asked for something other than one statement that only reads."""

    hint = f"analyst SQL runs {ALLOWED}; write results out from Python (e.g. .df().to_csv) instead"


def refusal(con: duckdb.DuckDBPyConnection, query: str) -> str | None:
    """Return why a query is refused (None when it is one read statement); DuckDB's parser decides."""
    statements = con.extract_statements(query)
    if len(statements) != 1:
        return f"{len(statements)} statements given; run exactly one at a time" if statements else "no statement given"
    statement = statements[0]
    kind = statement.type
    if kind in READ_TYPES:
        return None
    if kind == duckdb.StatementType.EXPLAIN:
        inner = _EXPLAIN.match(statement.query)
        try:  # EXPLAIN ANALYZE runs the statement: it must be a read too
            why = refusal(con, inner.group(1)) if inner else "no statement after EXPLAIN"
        except duckdb.Error:
            why = "it could not be read on its own"
        return None if why is None else f"EXPLAIN of a statement that is refused ({why})"
    if kind == duckdb.StatementType.PRAGMA:
        name = _PRAGMA.match(statement.query)
        if name is not None and name.group(1).lower() in READ_PRAGMAS:
            return None
        return f"PRAGMA {name.group(1) if name else '?'} is not a read-only PRAGMA"
    return f"{kind.name} statements are not allowed"


class AnalystConnection:
    """A read-only, locked-down warehouse connection whose ``sql``/``execute`` run one read statement."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path):
        self._con = con
        self.path = path

    def check(self, query: str) -> None:
        """Raise RefusedStatement unless the query is exactly one read statement."""
        why = refusal(self._con, query)
        if why is not None:
            raise RefusedStatement(f"refused: {why}", file=str(self.path), stage="sql")

    def sql(self, query: str, params: Any = None) -> duckdb.DuckDBPyRelation:
        """Check the query, then return DuckDB's relation for it (``.df()``, ``.fetchall()``, …)."""
        self.check(query)
        return self._con.sql(query, params=params)

    def execute(self, query: str, params: Any = None) -> duckdb.DuckDBPyConnection:
        """Check the query, then execute it; return a cursor to fetch from (``.fetchall()``, ``.description``)."""
        self.check(query)
        return self._con.cursor().execute(query, params or [])

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> "AnalystConnection":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect_readonly(path: Path | str = WAREHOUSE_FILE) -> AnalystConnection:
    """Open the warehouse for analyst SQL: read-only, no file or network access, one read statement at a time."""
    path = Path(path)
    if not path.exists():
        raise NoWarehouse("the warehouse does not exist", file=str(path), stage="sql")
    return AnalystConnection(duckdb.connect(str(path), read_only=True, config=dict(ANALYST_CONFIG)), path)
