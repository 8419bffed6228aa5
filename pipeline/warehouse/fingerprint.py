"""What a warehouse was built from: code, data files, reviews and raw bytes, hashed into one value."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pipeline.config import PACKAGE

CODE_SUFFIXES = {".py", ".toml", ".json", ".csv", ".yml", ".yaml"}


def code_fingerprint(extra_dirs: tuple[Path, ...] = ()) -> str:
    """Hash the package's code and data files (and any extra folders, e.g. reviews/, expectations/)."""
    h = hashlib.sha256()
    for base in (PACKAGE, *extra_dirs):
        if not base.exists():
            continue
        for p in sorted(base.rglob("*")):
            if p.is_file() and p.suffix in CODE_SUFFIXES and "__pycache__" not in p.parts:
                h.update(str(p.relative_to(base)).encode())
                h.update(p.read_bytes())
    return h.hexdigest()


def build_fingerprint(code: str, raw: list[tuple[str, str]], options: str = "") -> str:
    """Combine the code fingerprint with the raw files' names and hashes and the build options."""
    h = hashlib.sha256(code.encode())
    for name, sha in sorted(raw):
        h.update(f"{name}\0{sha}\n".encode())
    h.update(options.encode())
    return h.hexdigest()
