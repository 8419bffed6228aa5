"""Per-file extraction results kept between refreshes, keyed by what produced them.

A key is the raw file's name, bytes (sha256) and provenance sidecar; the cache folder is named after the
code fingerprint (package code and data files), so a change to code or profiles starts a fresh cache.
Adding one notice to a thousand then extracts one file, not a thousand.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
from pathlib import Path

from pipeline.config import PROVENANCE_DIRNAME
from pipeline.stages import FileResult


class ResultCache:
    """A folder of pickled FileResults for one code fingerprint."""

    def __init__(self, root: Path, code_fingerprint: str):
        self.root = root
        self.dir = root / code_fingerprint[:16]

    def prune(self) -> None:
        """Remove caches of other code fingerprints (their results can never be used again)."""
        if self.root.is_dir():
            for other in self.root.iterdir():
                if other != self.dir:
                    shutil.rmtree(other, ignore_errors=True)

    @staticmethod
    def key(raw_dir: Path, path: Path, sha256: str) -> str:
        sidecar = raw_dir / PROVENANCE_DIRNAME / f"{path.name}.json"
        h = hashlib.sha256(f"{path.name}\0{sha256}\0".encode())
        h.update(sidecar.read_bytes() if sidecar.is_file() else b"")
        return h.hexdigest()

    def get(self, key: str) -> FileResult | None:
        try:
            with open(self.dir / f"{key}.pkl", "rb") as fh:
                result = pickle.load(fh)
        except (OSError, pickle.PickleError, EOFError, AttributeError, ImportError):
            return None
        return result if isinstance(result, FileResult) else None

    def put(self, key: str, result: FileResult) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.dir / f".{key}.{os.getpid()}.tmp"
        with open(tmp, "wb") as fh:
            pickle.dump(result, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, self.dir / f"{key}.pkl")
