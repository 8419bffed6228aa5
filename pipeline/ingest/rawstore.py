"""The raw/ folder to the list of inputs a build reads: bytes hashed, sidecars checked, history kept, nothing written in raw/.

Every entry of raw/ is either an input or a reported skip (a dot-file, a symlink that leaves raw/, a name that is
not valid UTF-8, a folder): nothing is skipped silently. A provenance sidecar that is not a JSON object of strings
is reported and ignored (the file still loads, from its content). The first time a (name, bytes) pair is seen, its
bytes are copied into the history store, so a file edited in place keeps its earlier bytes as an input too
(``name@<sha12>``): an earlier version of its notice, never lost.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.config import PROVENANCE_DIRNAME
from pipeline.ingest.history import History
from pipeline.model import RawFile

IGNORED_NAMES = {"README.md", "README", ".gitkeep", ".DS_Store", PROVENANCE_DIRNAME}
# Our own temp files (the fetcher's) are swept, not reported.
OWN_TEMP_PREFIXES = (".fetch-",)
SIDECAR_TEXT_KEYS = ("file", "sha256", "notice_id", "role", "source_url", "final_url", "retrieved_on", "fetched_at",
                     "parent_url", "listing_url", "site_profile", "note")
HASH_CHUNK = 1 << 20


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class RawInput:
    """One file a build reads: a raw/ file, or the earlier bytes of one kept in history."""

    raw_file: str  # name under raw/, or name@<sha12> for earlier bytes of a file edited in place
    path: Path  # where the bytes are
    sha256: str
    size: int
    provenance: dict
    first_seen_at: dt.datetime
    current: bool = True  # False: earlier bytes of a raw/ file, read from history/objects

    def raw(self) -> RawFile:
        """Describe the input for the file stages (provenance mapped; a stale sidecar is not trusted)."""
        prov = self.provenance
        raw = RawFile(path=self.raw_file, sha256=self.sha256, format="", notice_id=prov.get("notice_id"),
                      role=prov.get("role"), source_url=prov.get("source_url") or prov.get("final_url"),
                      retrieved_on=prov.get("fetched_at") or prov.get("retrieved_on"), size=self.size,
                      parent_url=prov.get("parent_url"))
        recorded = prov.get("sha256")
        if recorded and recorded != self.sha256:
            # The bytes changed after their provenance was written: its mapping and dates are about other bytes.
            raw.notice_id = raw.role = raw.retrieved_on = raw.source_url = raw.parent_url = None
        return raw


@dataclass
class Inventory:
    """What raw/ holds for this build, and what was reported about it."""

    inputs: list[RawInput] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # entries that are not inputs, each with the reason
    problems: list[str] = field(default_factory=list)  # sidecars ignored, history lines damaged
    changed_in_place: list[str] = field(default_factory=list)


def read_sidecar(raw_dir: Path, name: str, problems: list[str]) -> dict:
    """Read a raw file's provenance sidecar; anything but a JSON object of strings is reported and ignored."""
    path = raw_dir / PROVENANCE_DIRNAME / f"{name}.json"
    if not path.exists() and not path.is_symlink():
        return {}
    where = f"raw/{PROVENANCE_DIRNAME}/{name}.json"
    if path.is_symlink() or not path.is_file():
        problems.append(f"{where} is not a regular file; ignored (the file loads from its content)")
        return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        problems.append(f"{where} is not readable JSON ({type(exc).__name__}); ignored (the file loads from its content)")
        return {}
    if not isinstance(doc, dict):
        problems.append(f"{where} holds a JSON {type(doc).__name__}, not an object; ignored")
        return {}
    bad = [k for k in SIDECAR_TEXT_KEYS if doc.get(k) is not None and not isinstance(doc.get(k), str)]
    if bad:
        problems.append(f"{where}: {', '.join(bad)} not text; those keys ignored")
        doc = {k: v for k, v in doc.items() if k not in bad}
    return doc


def _entry_problem(raw_dir: Path, entry: os.DirEntry) -> str | None:
    """Say why a raw/ entry is not an input, or None when it is one."""
    try:
        entry.name.encode("utf-8")
    except UnicodeEncodeError:
        return f"raw/{entry.name.encode('utf-8', 'surrogateescape')!r}: the file name is not valid UTF-8; rename it"
    if entry.name.startswith("."):
        return f"raw/{entry.name}: a hidden file; rename it without the leading dot to load it"
    if entry.is_symlink():
        target = Path(os.path.realpath(entry.path))
        if not target.is_relative_to(raw_dir.resolve()):
            return f"raw/{entry.name}: a symlink to {target}, outside raw/; refused (copy the file in instead)"
        if not target.is_file():
            return f"raw/{entry.name}: a symlink to something that is not a file"
        return None
    if entry.is_dir():
        return f"raw/{entry.name}/: a folder; only files directly in raw/ are read"
    if not entry.is_file():
        return f"raw/{entry.name}: not a regular file"
    return None


class StatCache:
    """sha256 of raw files by (size, mtime, ctime, inode): a no-op refresh need not read every byte again.

    ctime cannot be set by a user, so an edit that keeps size and mtime is still seen. Kept under staging/
    (rebuildable); a damaged file is an empty cache.
    """

    def __init__(self, path: Path | None):
        self.path = path
        self.entries: dict[str, list] = {}
        if path is not None and path.exists():
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
                self.entries = doc if isinstance(doc, dict) else {}
            except (OSError, ValueError, UnicodeDecodeError):
                self.entries = {}
        self.dirty = False

    def sha256(self, path: Path) -> tuple[str, int]:
        st = path.stat()
        stamp = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
        hit = self.entries.get(str(path))
        if isinstance(hit, list) and len(hit) == 5 and hit[:4] == stamp and isinstance(hit[4], str):
            return hit[4], st.st_size
        sha = sha256_file(path)
        self.entries[str(path)] = [*stamp, sha]
        self.dirty = True
        return sha, st.st_size

    def save(self) -> None:
        if self.path is None or not self.dirty:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
            tmp.write_text(json.dumps(self.entries), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            pass  # only a cache: the next refresh hashes again


def take_inventory(raw_dir: Path, history: History, now: dt.datetime, stat_cache: StatCache | None = None) -> Inventory:
    """List raw/'s inputs (plus earlier bytes of files edited in place), recording first sightings in history."""
    inv = Inventory()
    stat_cache = stat_cache or StatCache(None)
    seen = history.read("files")
    inv.problems.extend(history.problems)
    first: dict[tuple[str, str], dict] = {}
    for row in seen:
        if isinstance(row.get("name"), str) and isinstance(row.get("sha256"), str):
            first.setdefault((row["name"], row["sha256"]), row)
    new_rows = []
    with os.scandir(raw_dir) as it:
        entries = sorted(it, key=lambda e: os.fsencode(e.name))
    for entry in entries:
        if entry.name in IGNORED_NAMES or entry.name.startswith(OWN_TEMP_PREFIXES):
            continue
        if (why := _entry_problem(raw_dir, entry)) is not None:
            inv.skipped.append(why)
            continue
        path = Path(entry.path)
        try:
            sha, size = stat_cache.sha256(path)
        except OSError as exc:
            inv.skipped.append(f"raw/{entry.name}: cannot be read ({exc.strerror or exc})")
            continue
        prov = read_sidecar(raw_dir, entry.name, inv.problems)
        row = first.get((entry.name, sha))
        if row is None:
            history.keep_object(sha, path)
            row = {"name": entry.name, "sha256": sha, "size": size, "first_seen_at": now.isoformat(),
                   "provenance": prov}
            first[(entry.name, sha)] = row
            new_rows.append(row)
        inv.inputs.append(RawInput(entry.name, path, sha, size, prov, _time(row.get("first_seen_at"), now)))
    history.append("files", new_rows)
    stat_cache.save()
    current = {(i.raw_file, i.sha256) for i in inv.inputs}
    names = {i.raw_file for i in inv.inputs}
    for (name, sha), row in sorted(first.items()):
        if name in names and (name, sha) not in current:
            obj = history.object_path(sha)
            prov = row.get("provenance") if isinstance(row.get("provenance"), dict) else {}
            if not obj.is_file():
                inv.problems.append(f"raw/{name}: its earlier bytes {sha[:12]} are recorded but missing from "
                                    f"{obj.parent}; that version cannot be rebuilt (restore history/ from a backup)")
                continue
            inv.inputs.append(RawInput(f"{name}@{sha[:12]}", obj, sha, int(row.get("size") or obj.stat().st_size),
                                       prov, _time(row.get("first_seen_at"), now), current=False))
            inv.changed_in_place.append(f"raw/{name} was edited in place: its earlier bytes ({sha[:12]}, first seen "
                                        f"{row.get('first_seen_at')}) are kept as an earlier version")
    inv.inputs.sort(key=lambda i: i.raw_file)
    return inv


def _time(text, fallback: dt.datetime) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(str(text))
    except (TypeError, ValueError):
        return fallback


def read_input(inp: RawInput) -> bytes:
    """Read an input's bytes and check them against its hash (a file changed mid-run fails, never loads wrong)."""
    data = inp.path.read_bytes()
    if sha256_bytes(data) != inp.sha256:
        raise OSError(f"{inp.raw_file} changed while the refresh was running; run it again")
    return data
