"""The SQLite mirror of the published warehouse that the browsable site (datasette) serves.

``warehouse_to_sqlite`` copies every analyst table and view of the DuckDB file's ``main`` schema (never the
``extracted`` schema of per-file QA rows) into one SQLite file, written beside it and swapped in with one
rename, and writes the datasette metadata beside that (``policy.metadata.json``): each table's grain and each
column's meaning from ``pipeline.warehouse.schema.TABLES``, and a search box on the tables
``pipeline/data/browse.toml`` names (FTS5, see ``pipeline.serve.fts``). Values keep their published text;
LIST columns become JSON arrays, MAP columns JSON objects, dates and timestamps ISO 8601 text, booleans 0/1.
The warehouse is read through ``connect_readonly``, the analysts' own locked-down connection.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import tomllib
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from pipeline.config import data_path
from pipeline.errors import PipelineError
from pipeline.serve.fts import index_text
from pipeline.serve.query import connect_readonly
from pipeline.warehouse.ddl import quote
from pipeline.warehouse.schema import TABLES

TRIGRAM_SQLITE = (3, 34, 0)  # the first SQLite whose FTS5 has the trigram tokenizer
MIRROR_FORMAT = 1  # bump when the mirror's layout changes: older mirrors are then rebuilt
FTS_SUFFIX = "_fts"
BATCH = 5000


class MirrorFailed(PipelineError):
    """The warehouse could not be copied into the SQLite mirror."""

    hint = "rebuild the warehouse with `make refresh`; if it persists, check pipeline/data/browse.toml"


class BrowseConfigError(PipelineError):
    """pipeline/data/browse.toml is missing a setting or names what the warehouse lacks."""

    hint = "fix pipeline/data/browse.toml ([search] tables and columns, [datasette] settings)"


@dataclass(frozen=True)
class BrowseConfig:
    search: dict[str, tuple[str, ...]]  # table -> columns its search box searches
    datasette: dict[str, Any]  # datasette --setting NAME VALUE
    limits: dict[str, int]  # SQLite limits on every site connection


def load_browse_config(path: Path | None = None) -> BrowseConfig:
    """Read pipeline/data/browse.toml (or the data overlay's)."""
    path = path or data_path("browse.toml")
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    try:
        search = {t: tuple(cols) for t, cols in raw["search"].items()}
        settings, limits = dict(raw["datasette"]), {k: int(v) for k, v in raw["limits"].items()}
    except (KeyError, TypeError, ValueError) as exc:
        raise BrowseConfigError(f"missing or malformed section: {exc}", file=str(path), stage="site") from None
    return BrowseConfig(search, settings, limits)


def mirror_path(warehouse: Path) -> Path:
    """Return where the mirror of a warehouse lives: beside it, same stem (warehouse/policy.sqlite)."""
    return Path(warehouse).with_suffix(".sqlite")


def metadata_path(mirror: Path) -> Path:
    """Return where the datasette metadata of a mirror lives (warehouse/policy.metadata.json)."""
    return Path(mirror).with_suffix(".metadata.json")


def layout_version(config: BrowseConfig) -> int:
    """Return the number a mirror records (PRAGMA user_version) for this code's layout and search config."""
    key = json.dumps([MIRROR_FORMAT, sorted(config.search.items())], ensure_ascii=False)
    return zlib.crc32(key.encode()) & 0x7FFFFFFF


def mirror_is_current(warehouse: Path, out: Path, config: BrowseConfig | None = None) -> bool:
    """Tell whether the mirror and its metadata are newer than the warehouse and of this layout."""
    meta = metadata_path(out)
    if not (out.exists() and meta.exists()):
        return False
    built = Path(warehouse).stat().st_mtime
    if out.stat().st_mtime < built or meta.stat().st_mtime < built:
        return False
    try:
        con = sqlite3.connect(f"file:{out}?mode=ro", uri=True)
        try:
            version = con.execute("PRAGMA user_version").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return False
    return version == layout_version(config or load_browse_config())


def ensure_mirror(warehouse: Path, out: Path | None = None) -> Path:
    """Return the warehouse's mirror, rebuilding it first when the warehouse is newer (or it is missing)."""
    out = Path(out) if out else mirror_path(warehouse)
    config = load_browse_config()
    if not mirror_is_current(warehouse, out, config):
        warehouse_to_sqlite(warehouse, out, config)
    return out


# --- values ---------------------------------------------------------------------------------------------

def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _to_json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, default=_json_default)


def _to_iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def _to_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _to_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _same(value: Any) -> Any:
    return value


_INTEGERS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}
_FLOATS = {"FLOAT", "REAL", "DOUBLE"}
_TIMES = {"DATE", "TIME", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS"}


def column_converter(duck_type: str) -> tuple[str, Callable[[Any], Any]]:
    """Return the SQLite type of a DuckDB column type and the function turning its Python values into it."""
    t = duck_type.upper()
    if t.endswith("]") or t.startswith(("MAP(", "STRUCT(", "UNION(")):
        return "TEXT", _to_json  # LIST/ARRAY -> JSON array, MAP/STRUCT -> JSON object
    if t in ("VARCHAR", "JSON", "UUID") or t.startswith("VARCHAR("):
        return "TEXT", _same
    if t in _INTEGERS:
        return "INTEGER", _same
    if t == "BOOLEAN":
        return "INTEGER", _to_int
    if t in _FLOATS or t.startswith("DECIMAL"):
        return "REAL", _to_float
    if t in _TIMES:
        return "TEXT", _to_iso
    raise MirrorFailed(f"no SQLite form for the DuckDB type {duck_type}", stage="mirror",
                       hint="add the type to pipeline/serve/mirror.py: column_converter")


# --- reading the warehouse -------------------------------------------------------------------------------

@dataclass
class Relation:
    name: str
    kind: str  # "table" or "view"
    columns: list[tuple[str, str, bool]]  # (name, DuckDB type, nullable)
    comment: str | None
    view_sql: str | None = None


def _relations(con) -> list[Relation]:
    """List the main schema's tables and views with their columns, in name order."""
    rows = con.execute("SELECT table_name, table_type FROM information_schema.tables "
                       "WHERE table_schema = 'main' ORDER BY table_name").fetchall()
    comments = dict(con.execute("SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'main'")
                    .fetchall())
    views = dict(con.execute("SELECT view_name, sql FROM duckdb_views() WHERE schema_name = 'main' "
                             "AND NOT internal").fetchall())
    out = []
    for name, kind in rows:
        cols = con.execute("SELECT column_name, data_type, is_nullable = 'YES' FROM information_schema.columns "
                           "WHERE table_schema = 'main' AND table_name = ? ORDER BY ordinal_position",
                           [name]).fetchall()
        is_view = kind.upper() == "VIEW"
        out.append(Relation(name, "view" if is_view else "table", [tuple(c) for c in cols],
                            comments.get(name), views.get(name) if is_view else None))
    return out


def _schema_table(rel: Relation):
    """Return the schema Table describing a relation: its own, or for a view the table whose columns it has."""
    if rel.name in TABLES:
        return TABLES[rel.name]
    names = [c[0] for c in rel.columns]
    return next((t for t in TABLES.values() if t.column_names == names), None) if rel.kind == "view" else None


# --- writing the mirror ----------------------------------------------------------------------------------

def _create_table(db: sqlite3.Connection, rel: Relation) -> None:
    cols = [f"{quote(n)} {column_converter(t)[0]}{'' if nullable else ' NOT NULL'}" for n, t, nullable in rel.columns]
    schema = TABLES.get(rel.name)
    if rel.kind == "table" and schema is not None and schema.key:
        cols.append(f"PRIMARY KEY ({', '.join(quote(k) for k in schema.key)})")
    db.execute(f"CREATE TABLE {quote(rel.name)} (\n  " + ",\n  ".join(cols) + "\n)")
    if "notice_id" in (c[0] for c in rel.columns):  # every table is filtered by notice
        db.execute(f"CREATE INDEX {quote(rel.name + '_notice_id')} ON {quote(rel.name)} (notice_id)")


def _copy_rows(con, db: sqlite3.Connection, rel: Relation, search: tuple[str, ...]) -> int:
    """Copy a relation's rows; fill its search index (rowid for rowid) when it has one. Return the row count."""
    names = [c[0] for c in rel.columns]
    converters = [column_converter(t)[1] for _, t, _ in rel.columns]
    at = [names.index(c) for c in search]
    insert = (f"INSERT INTO {quote(rel.name)} (rowid, {', '.join(quote(n) for n in names)}) "
              f"VALUES ({', '.join('?' * (len(names) + 1))})")
    index = (f"INSERT INTO {quote(rel.name + FTS_SUFFIX)} (rowid, {', '.join(quote(c) for c in search)}) "
             f"VALUES ({', '.join('?' * (len(search) + 1))})")
    cur = con.execute(f"SELECT {', '.join(quote(n) for n in names)} FROM {quote(rel.name)}")
    n = 0
    while batch := cur.fetchmany(BATCH):
        rowids = range(n + 1, n + len(batch) + 1)
        try:
            db.executemany(insert, ((i, *(f(v) for f, v in zip(converters, row))) for i, row in zip(rowids, batch)))
        except sqlite3.IntegrityError as exc:
            raise MirrorFailed(f"table {rel.name}: {exc}", stage="mirror",
                               hint="the warehouse breaks the table's key; rebuild it with `make refresh`") from None
        if search:
            db.executemany(index, ((i, *(index_text(row[j]) for j in at)) for i, row in zip(rowids, batch)))
        n += len(batch)
    return n


def _create_search(db: sqlite3.Connection, rel: Relation, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in {n for n, _, _ in rel.columns}]
    if missing:
        raise BrowseConfigError(f"[search] {rel.name}: no column {', '.join(missing)} in the warehouse",
                                file=str(data_path("browse.toml")), stage="mirror")
    # Contentless: the index holds the encoded text only (pipeline.serve.fts); rows are read from the table.
    db.execute(f"CREATE VIRTUAL TABLE {quote(rel.name + FTS_SUFFIX)} USING fts5("
               f"{', '.join(quote(c) for c in columns)}, content='', tokenize='trigram')")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _replace(tmp: Path, out: Path) -> None:
    """Swap a finished file in with one rename, durable on disk."""
    _fsync(tmp)
    os.replace(tmp, out)
    _fsync(out.parent)


def warehouse_to_sqlite(warehouse: Path, out: Path, config: BrowseConfig | None = None) -> Path:
    """Copy the warehouse's analyst tables into a SQLite file at ``out`` (atomically) and write its metadata."""
    warehouse, out = Path(warehouse), Path(out)
    config = config or load_browse_config()
    if sqlite3.sqlite_version_info < TRIGRAM_SQLITE:
        raise MirrorFailed(f"SQLite {sqlite3.sqlite_version} has no FTS5 trigram tokenizer", stage="mirror",
                           hint="use a Python whose sqlite3 is SQLite 3.34 or newer")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        with connect_readonly(warehouse) as con:
            relations = _relations(con)
            unknown = sorted(set(config.search) - {r.name for r in relations})
            if unknown:
                raise BrowseConfigError(f"[search] names table(s) the warehouse lacks: {', '.join(unknown)}",
                                        file=str(data_path("browse.toml")), stage="mirror")
            build = dict(con.execute("SELECT key, value FROM build_info").fetchall()) if any(
                r.name == "build_info" for r in relations) else {}
            db = sqlite3.connect(tmp)
            try:
                db.execute("PRAGMA journal_mode = OFF")  # a private file until the rename: no journal needed
                db.execute("PRAGMA synchronous = OFF")
                counts = {}
                for rel in relations:
                    _create_table(db, rel)
                    search = config.search.get(rel.name, ())
                    if search:
                        _create_search(db, rel, search)
                    counts[rel.name] = _copy_rows(con, db, rel, search)
                for rel in relations:
                    if rel.name in config.search:
                        db.execute(f"INSERT INTO {quote(rel.name + FTS_SUFFIX)}({quote(rel.name + FTS_SUFFIX)}) "
                                   "VALUES ('optimize')")
                db.execute("ANALYZE")
                db.execute(f"PRAGMA user_version = {layout_version(config)}")
                db.commit()
            finally:
                db.close()
        meta = site_metadata(out.stem, relations, counts, config, build, warehouse)
        meta_tmp = tmp.with_suffix(".json")
        meta_tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
        _replace(tmp, out)
        _replace(meta_tmp, metadata_path(out))
    except duckdb.Error as exc:  # not a DuckDB file, or one a writer holds
        raise MirrorFailed(f"reading the warehouse: {' '.join(str(exc).split())}", file=str(warehouse),
                           stage="mirror") from None
    except (sqlite3.Error, OSError) as exc:
        raise MirrorFailed(f"writing {out}: {exc}", file=str(warehouse), stage="mirror") from None
    finally:
        tmp.unlink(missing_ok=True)
        tmp.with_suffix(".json").unlink(missing_ok=True)
    return out


# --- datasette metadata ----------------------------------------------------------------------------------

SEARCH_HELP = ("Search box: finds rows containing every word typed, of any length (养老, 居家养老, 药); "
               'put a phrase in "double quotes" to find it as written, spaces included. Searched: {columns}.')


def table_metadata(rel: Relation, search: tuple[str, ...]) -> dict:
    """Describe one table for datasette: grain, column meanings, and its search box."""
    schema = _schema_table(rel)
    if rel.kind == "view":
        description = f"The warehouse's view `{rel.view_sql.strip().rstrip(';')}`, copied as a table."
    else:
        description = (schema.grain if schema is not None else rel.comment) or ""
        description = description[:1].upper() + description[1:] + "." if description else ""
    meta: dict[str, Any] = {"description": description}
    if search:
        meta["description"] += " " + SEARCH_HELP.format(columns=", ".join(search))
        meta.update(fts_table=rel.name + FTS_SUFFIX, fts_pk="rowid", searchmode="escaped")
    if schema is not None:
        docs = {c.name: c.doc for c in schema.columns}
        meta["columns"] = {n: docs[n] for n, _, _ in rel.columns if n in docs}
    return meta


def site_metadata(database: str, relations: list[Relation], counts: dict[str, int], config: BrowseConfig,
                  build: dict[str, str], warehouse: Path) -> dict:
    """Return the datasette metadata of a mirror: title, provenance, and every table's description."""
    built = f"built {build['built_at']} (run {build.get('run_id', '?')})" if "built_at" in build else ""
    searched = ", ".join(sorted(config.search))
    return {
        "title": "policy-tables: published warehouse",
        "description": (f"A read-only copy of {warehouse.name} {built}: every analyst table, each page stating "
                        f"its grain and its columns' meanings (docs/data_dictionary.md). Lists are JSON arrays, "
                        f"maps JSON objects, dates ISO 8601. Full-text search on {searched}: in SQL, "
                        "`rowid IN (SELECT rowid FROM <table>_fts WHERE <table>_fts MATCH escape_fts('养老'))`. "
                        "Custom SQL runs one SELECT at a time; anything that writes is refused."),
        "databases": {database: {
            "description": f"{sum(counts.values())} rows in {len(relations)} tables.",
            "tables": {r.name: table_metadata(r, config.search.get(r.name, ())) for r in relations},
        }},
    }
