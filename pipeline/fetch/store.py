"""Atomic, immutable writes into raw/: data file first, then its provenance sidecar.

A refresh killed at any point leaves raw/ consistent: bytes go to a hidden temp file in raw/ itself
(same filesystem), are fsynced, then renamed into place; a data file without its sidecar is still a
valid raw file (the next refresh that sees the same bytes writes the missing sidecar). Existing files
are never rewritten.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pipeline.config import PROVENANCE_DIRNAME
from pipeline.fetch.names import path_inside, sha256_hex

TMP_PREFIX = ".fetch-"
TMP_SUFFIX = ".part"
# The sidecar keys the lead fixed, then the ones fetching adds.
SIDECAR_KEYS = ("file", "sha256", "notice_id", "role", "source_url", "retrieved_on", "note",
                "fetched_at", "final_url", "status_code", "headers", "listing_url", "site_profile", "parent_url")


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # some platforms cannot open directories; the rename is still atomic
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Write bytes to path via a fsynced temp file in the same directory and os.replace."""
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=TMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def provenance_dir(raw_dir: Path) -> Path:
    """Return raw/provenance, created if missing."""
    directory = raw_dir / PROVENANCE_DIRNAME
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def store_raw(raw_dir: Path, name: str, data: bytes) -> bool:
    """Write a raw file unless it exists (raw files are immutable); return whether it was written."""
    path = path_inside(raw_dir, name)
    if path.exists():
        return False
    write_atomic(path, data)
    return True


def store_sidecar(raw_dir: Path, name: str, record: dict[str, Any]) -> bool:
    """Write raw/provenance/<name>.json unless it exists; return whether it was written."""
    path = path_inside(provenance_dir(raw_dir), name + ".json")
    if path.exists():
        return False
    text = json.dumps({k: record.get(k) for k in SIDECAR_KEYS}, ensure_ascii=False, indent=2) + "\n"
    write_atomic(path, text.encode("utf-8"))
    return True


def sweep_temp(raw_dir: Path) -> int:
    """Remove temp files a killed refresh left behind; return how many."""
    count = 0
    for directory in (raw_dir, raw_dir / PROVENANCE_DIRNAME):
        for tmp in directory.glob(f"{TMP_PREFIX}*{TMP_SUFFIX}") if directory.is_dir() else ():
            tmp.unlink(missing_ok=True)
            count += 1
    return count


def read_sidecars(raw_dir: Path) -> dict[str, dict[str, Any]]:
    """Return every readable provenance sidecar, by raw file name."""
    directory = raw_dir / PROVENANCE_DIRNAME
    sidecars: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else ():
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # a damaged sidecar must not stop a refresh; the data file still counts below
        if isinstance(record, dict):
            sidecars[path.name[: -len(".json")]] = record
    return sidecars


def known_hashes(raw_dir: Path, sidecars: dict[str, dict[str, Any]] | None = None) -> dict[str, str]:
    """Map sha256 -> raw file name for every raw file (sidecar hashes; files without one are hashed)."""
    sidecars = read_sidecars(raw_dir) if sidecars is None else sidecars
    known: dict[str, str] = {}
    for path in sorted(raw_dir.iterdir()) if raw_dir.is_dir() else ():
        if not path.is_file() or path.name.startswith("."):
            continue
        sha = (sidecars.get(path.name) or {}).get("sha256") or sha256_hex(path.read_bytes())
        known.setdefault(sha, path.name)
    return known
