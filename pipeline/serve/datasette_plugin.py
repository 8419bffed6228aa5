"""The site's datasette plugin: it only takes away (nothing here writes), and teaches the search box Chinese.

Datasette already refuses custom SQL that is not a SELECT (a regular expression), and the mirror is opened
``immutable`` (read-only, no locking). Beneath both, every connection to a served database gets:

- an SQLite authorizer that allows reading only: SELECT, reading columns, recursive CTEs, functions other than
  ``load_extension``, and the PRAGMAs that describe the schema; every write (but the schema-table UPDATE SQLite
  compiles for itself when it opens an FTS5 table, see ``SCHEMA_TABLES``), ATTACH, DETACH, transaction and
  other PRAGMA (``writable_schema`` …) is refused by SQLite itself, whoever builds the SQL;
- SQLite limits: no attached database at all, and caps on the length of a string/blob and of the SQL text
  (pipeline/data/browse.toml [limits]);
- ``escape_fts`` replaced by ``pipeline.serve.fts.search_query``, the encoding the mirror's FTS5 indexes use, so
  the search box finds words of one and two characters (养老).

Datasette's own connections are left alone: its ``_internal`` catalog (which it writes, and analysts cannot
query) and ``_memory``, the scratch connection /-/versions creates virtual tables in to probe FTS support (the
site serves no ``_memory`` database: it is started without --memory or --crossdb, and checks that).
"""

from __future__ import annotations

import sqlite3
from functools import lru_cache

from datasette import hookimpl

from pipeline.serve.fts import search_query

PLUGIN_NAME = "pipeline.serve.datasette_plugin"
UNSERVED = frozenset({"_internal", "_memory"})
READS = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE})
DENIED_FUNCTIONS = frozenset({"load_extension"})
# PRAGMAs that only describe (datasette's introspection and its allowed pragma_* functions); the first set takes
# a table or index name, the second nothing (with a value they would set something).
PRAGMAS_OF_A_NAME = frozenset({"table_info", "table_xinfo", "index_list", "index_info", "index_xinfo",
                               "foreign_key_list"})
PRAGMAS_WITHOUT_VALUE = frozenset({"database_list", "function_list", "page_count", "page_size", "max_page_count",
                                   "schema_version", "compile_options", "data_version"})
# Opening an FTS5 table makes SQLite itself compile an UPDATE of the schema table (sqlite_master) inside the
# reader's statement; it is allowed, since a schema write also needs PRAGMA writable_schema (refused here) and
# the file is immutable.
SCHEMA_TABLES = frozenset({"sqlite_master", "sqlite_schema"})


def authorize(action: int, arg1: str | None, arg2: str | None, db_name: str | None, trigger: str | None) -> int:
    """Allow only what reads (sqlite3 authorizer callback)."""
    if action in READS:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_FUNCTION:  # arg2 is the function's name
        return sqlite3.SQLITE_DENY if (arg2 or "").lower() in DENIED_FUNCTIONS else sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_UPDATE and arg1 in SCHEMA_TABLES:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA:  # arg1 the pragma, arg2 its argument
        name = (arg1 or "").lower()
        if name in PRAGMAS_OF_A_NAME or (name in PRAGMAS_WITHOUT_VALUE and arg2 is None):
            return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


@lru_cache(maxsize=1)
def _limits() -> dict[str, int]:
    from pipeline.serve.mirror import load_browse_config

    return load_browse_config().limits


def lock_down(conn: sqlite3.Connection) -> None:
    """Make a connection read-only at the SQLite level, whatever SQL it is given."""
    limits = _limits()
    conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, limits["max_length_bytes"])
    conn.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, limits["max_sql_length_bytes"])
    if hasattr(conn, "enable_load_extension"):  # absent where Python was built without extension loading
        conn.enable_load_extension(False)
    conn.set_authorizer(authorize)


@hookimpl(trylast=True)  # after datasette's own prepare_connection, so this escape_fts is the one that stays
def prepare_connection(conn: sqlite3.Connection, database: str) -> None:
    if database not in UNSERVED:
        conn.create_function("escape_fts", 1, search_query, deterministic=True)
        lock_down(conn)
