"""The raw/ folder to RawFile records: bytes hashed, provenance sidecars read, nothing written."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pipeline.config import PROVENANCE_DIRNAME
from pipeline.model import RawFile

IGNORED_NAMES = {"README.md", "README", ".gitkeep", ".DS_Store"}


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def provenance_for(raw_dir: Path, name: str) -> dict:
    """Read a raw file's provenance sidecar; an absent or unreadable one gives {} (derive from content)."""
    path = raw_dir / PROVENANCE_DIRNAME / f"{name}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return {}


def list_raw_files(raw_dir: Path) -> list[Path]:
    """List the snapshot files of a raw folder (sidecars, hidden files and READMEs excluded), sorted."""
    return sorted(
        p for p in raw_dir.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.name not in IGNORED_NAMES
    )


def read_raw_file(raw_dir: Path, path: Path) -> tuple[RawFile, bytes]:
    """Read one snapshot's bytes and describe it with its provenance."""
    data = path.read_bytes()
    prov = provenance_for(raw_dir, path.name)
    sha = sha256_bytes(data)
    recorded = prov.get("sha256")
    raw = RawFile(
        path=path.name,
        sha256=sha,
        format="",
        notice_id=prov.get("notice_id"),
        role=prov.get("role"),
        source_url=prov.get("source_url") or prov.get("final_url"),
        retrieved_on=prov.get("fetched_at") or prov.get("retrieved_on"),
        size=len(data),
        parent_url=prov.get("parent_url"),
    )
    if recorded and recorded != sha:
        # The bytes changed after their provenance was written: never trust the old notice mapping.
        raw.notice_id = None
        raw.role = None
    return raw, data
