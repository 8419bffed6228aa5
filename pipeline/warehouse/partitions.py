"""One raw file's output as a partition on disk: Parquet per table, a manifest, every byte checked before use.

A partition lives in ``staging/partitions/<key[:2]>/<key>/``: ``manifest.json`` (the file's row, the tables it
holds with their row counts and sha256) and one Parquet file per non-empty table, typed by the warehouse schema.
The key hashes what shaped the output: the extraction code and data files, the raw bytes, the provenance sidecar,
the name and the notice id the file was read under. Nothing is pickled; an entry whose bytes do not match its
manifest is a miss (reported and rebuilt), never trusted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.warehouse.schema import Table, arrow_schema

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


def partition_key(code: str, raw_file: str, sha256: str, provenance: dict, notice_hint: str | None) -> str:
    """Hash everything that shapes a file's partition into its key."""
    h = hashlib.sha256()
    for part in (f"v{FORMAT_VERSION}", code, raw_file, sha256, json.dumps(provenance, sort_keys=True, ensure_ascii=False),
                 notice_hint or ""):
        h.update(part.encode("utf-8", "surrogateescape"))
        h.update(b"\x1f")
    return h.hexdigest()


def _jsonable(value):
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, (set, tuple)):
        return list(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def rows_to_arrow(table: Table, rows: list[dict]) -> pa.Table:
    """Build an Arrow table with the schema's exact columns and types (a key not in the schema is an error)."""
    names = set(table.column_names)
    for row in rows[:1]:
        extra = set(row) - names
        if extra:
            raise ValueError(f"{table.name}: record has columns not in the schema: {sorted(extra)}")
    schema = arrow_schema(table)
    arrays = []
    for f in schema:
        values = [row.get(f.name) for row in rows]
        if pa.types.is_map(f.type):
            values = [None if v is None else list(v.items()) if isinstance(v, dict) else [tuple(kv) for kv in v]
                      for v in values]
        arrays.append(pa.array(values, type=f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


# What a refresh keeps in memory of a file's row (its outcome, the notice it is read under). The whole row is in
# the partition's files.parquet and manifest.json: a refresh holds one manifest per raw file, and the row's
# metadata and warnings would make that grow by about 10 KB a file.
SUMMARY_KEYS = ("raw_file", "raw_sha256", "notice_id", "role", "format", "status", "stage", "reason",
                "jurisdiction_code")


def file_summary(row: dict) -> dict:
    return {k: row.get(k) for k in SUMMARY_KEYS}


@dataclass
class Manifest:
    """What a partition holds, as a refresh keeps it: a summary of the file's row and its tables' row counts."""

    key: str
    raw_file: str
    raw_sha256: str
    file: dict  # file_summary of the file's row
    tables: dict[str, int] = field(default_factory=dict)  # name -> rows (each sha256 is checked on reading)
    folder: Path | None = None
    transient: bool = False  # a failure that may not recur (a budget, a crashed worker): read the file again next time
    attempts: int = 0  # a transient failure: how many times in a row the file failed so under this key

    def path(self, table: str) -> Path:
        assert self.folder is not None
        return self.folder / f"{table}.parquet"

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


def manifest_json(key: str, raw_file: str, raw_sha256: str, file_row: dict, tables: dict[str, dict],
                  transient: bool, attempts: int = 0) -> str:
    """The manifest as written: the file's whole row, and each table's rows and sha256."""
    return json.dumps({"format": FORMAT_VERSION, "key": key, "raw_file": raw_file, "raw_sha256": raw_sha256,
                       "file": file_row, "tables": tables, "transient": transient, "attempts": attempts},
                      ensure_ascii=False, default=_jsonable, sort_keys=True)


class PartitionStore:
    """The partitions folder: write a partition atomically, read its manifest back after checking its bytes."""

    def __init__(self, root: Path):
        self.root = root

    def folder(self, key: str) -> Path:
        return self.root / key[:2] / key

    def write(self, key: str, raw_file: str, raw_sha256: str, file_row: dict, tables: dict[str, list[dict]],
              schema: dict[str, Table], *, transient: bool = False, attempts: int = 0) -> Manifest:
        """Write a partition (tables typed by ``schema``; empty tables not written) and return its manifest
        (``attempts``: of a transient failure, the how-manieth in a row)."""
        final = self.folder(key)
        tmp = final.with_name(f".{key}.{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        written: dict[str, dict] = {}
        try:
            for name, rows in sorted(tables.items()):
                if not rows:
                    continue
                path = tmp / f"{name}.parquet"
                pq.write_table(rows_to_arrow(schema[name], rows), path, compression="zstd")
                written[name] = {"rows": len(rows), "sha256": _sha256(path)}
            (tmp / MANIFEST).write_text(manifest_json(key, raw_file, raw_sha256, file_row, written, transient,
                                                      attempts), encoding="utf-8")
            shutil.rmtree(final, ignore_errors=True)
            os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return Manifest(key, raw_file, raw_sha256, file_summary(file_row), {n: t["rows"] for n, t in written.items()},
                        final, transient, attempts)

    def read(self, key: str, *, verify: bool = True) -> tuple[Manifest | None, str | None]:
        """Return (manifest, None) for a sound partition, (None, why) for a missing or damaged one. A transient
        failure's manifest is returned too (``transient``, ``attempts``): the caller decides whether to read its file
        again."""
        folder = self.folder(key)
        path = folder / MANIFEST
        if not path.exists():
            return None, None
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            if doc.get("format") != FORMAT_VERSION or doc.get("key") != key:
                return None, f"partition {key[:12]}: manifest of another format or key"
            tables = doc["tables"]
            manifest = Manifest(doc["key"], doc["raw_file"], doc["raw_sha256"], file_summary(doc["file"]),
                                {name: int(t["rows"]) for name, t in tables.items()}, folder,
                                bool(doc.get("transient")), int(doc.get("attempts") or 0))
        except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            return None, f"partition {key[:12]}: unreadable manifest ({type(exc).__name__})"
        if verify:
            for name, info in tables.items():
                p = manifest.path(name)
                if not p.is_file() or _sha256(p) != info.get("sha256"):
                    return None, f"partition {key[:12]} ({manifest.raw_file}): {name}.parquet does not match its manifest"
        return manifest, None

    def prune(self, keep: set[str]) -> int:
        """Remove partitions no input needs any more (and temp folders of killed runs); return how many."""
        removed = 0
        if not self.root.is_dir():
            return 0
        for bucket in self.root.iterdir():
            if not bucket.is_dir():
                continue
            for folder in bucket.iterdir():
                if folder.name not in keep:
                    shutil.rmtree(folder, ignore_errors=True)
                    removed += 1
        return removed
