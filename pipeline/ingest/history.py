"""The append-only store beside raw/: what a rebuild must never lose.

``history/`` (next to ``raw/``) holds, as plain files a maintainer can back up and diff:

- ``objects/ab/abcdef…``: a content-addressed copy of every raw file's bytes at first sight, so a file edited in
  place keeps its earlier bytes as an earlier version of its notice;
- ``files.jsonl``: one line per (name, sha256) first seen, with the time and the provenance sidecar of that moment;
- ``runs.jsonl``, ``fetches.jsonl``: one line per refresh and per URL asked for;
- ``reviews.jsonl``: one line per QA decision the review files ever held.

The warehouse is rebuilt from ``raw/`` + this store; ``make clean`` never touches it. Lines are appended with a
flush and fsync under the refresh lock; a line that does not parse is reported, never silently dropped.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import PipelineError

STREAMS = ("files", "runs", "fetches", "reviews")


class HistoryError(PipelineError):
    """The history store cannot be read or written."""

    hint = "check that history/ (beside raw/) is readable and writable; restore it from a backup if a file is damaged"


def default_history_dir(raw_dir: Path) -> Path:
    """Return the store's folder for a raw folder: history/ beside it."""
    return raw_dir.resolve().parent / "history"


def _jsonable(value):
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


@dataclass
class History:
    """One history folder: appends lines to its streams and keeps raw bytes by hash."""

    root: Path
    problems: list[str] = field(default_factory=list)

    def path(self, stream: str) -> Path:
        if stream not in STREAMS:
            raise ValueError(f"unknown history stream {stream!r}")
        return self.root / f"{stream}.jsonl"

    def read(self, stream: str) -> list[dict]:
        """Return every line of a stream; a damaged line is reported in ``problems`` and skipped."""
        path = self.path(stream)
        if not path.exists():
            return []
        out = []
        try:
            with open(path, encoding="utf-8") as fh:
                for n, line in enumerate(fh, start=1):
                    if not line.strip():
                        continue
                    try:
                        row = json.loads(line)
                    except ValueError:
                        row = None
                    if isinstance(row, dict):
                        out.append(row)
                    else:
                        self.problems.append(f"{path} line {n} is not a JSON object; skipped (restore it from a backup)")
        except (OSError, UnicodeDecodeError) as exc:
            raise HistoryError(f"cannot read {path}: {exc}", stage="history") from None
        return out

    def append(self, stream: str, rows: list[dict]) -> None:
        """Append rows to a stream, flushed and fsynced (a killed run leaves at most a partial last line)."""
        if not rows:
            return
        path = self.path(stream)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as fh:
                for row in rows:
                    fh.write(json.dumps(row, ensure_ascii=False, default=_jsonable, sort_keys=True) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise HistoryError(f"cannot append to {path}: {exc}", stage="history") from None

    # --- raw bytes by hash -------------------------------------------------------------------------------------

    def object_path(self, sha256: str) -> Path:
        return self.root / "objects" / sha256[:2] / sha256

    def keep_object(self, sha256: str, source: Path) -> bool:
        """Copy a raw file's bytes into the store under their hash unless already there; True when copied."""
        target = self.object_path(sha256)
        if target.exists():
            return False
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            shutil.copyfile(source, tmp)
            os.replace(tmp, target)
        except OSError as exc:
            raise HistoryError(f"cannot keep a copy of {source.name} in {target.parent}: {exc}", stage="history") from None
        return True

    def sweep(self) -> int:
        """Remove temp copies left by a killed run; return how many."""
        count = 0
        objects = self.root / "objects"
        for tmp in objects.glob("*/.*.tmp") if objects.is_dir() else ():
            tmp.unlink(missing_ok=True)
            count += 1
        return count
