"""What a warehouse was built from, hashed: one value per layer, so each change redoes only what it touches.

- extraction code: the modules and data files that shape a raw file's partition (a change re-reads every file);
- build code: everything else of the package plus the expectation suites (a change re-assembles every notice from
  the partitions, reading no raw file);
- reviews: the QA decision files (a change re-applies decisions only);
- inputs: the raw files' names and hashes, and the build options.
The warehouse's build_info keeps each; a refresh whose values all match does nothing.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pipeline.config import PACKAGE, data_overlay

CODE_SUFFIXES = {".py", ".toml", ".json", ".csv", ".yml", ".yaml", ".css"}
# Parts of the package that never change what a raw file's partition holds.
NOT_EXTRACTION = ("report", "serve", "fetch", "engine", "warehouse", "cli.py", "bench.py", "refresh.py", "__main__.py",
                  "data/browse.toml")
# ... except these warehouse modules: the partition's schema and format.
EXTRACTION_ALSO = ("warehouse/schema.py", "warehouse/partitions.py")
# Parts that never change what is published: the command line (its options are in the inputs), progress output,
# how work is scheduled, fetching (new files change the inputs), serving and the benchmark.
NOT_BUILD = ("serve", "fetch", "engine", "cli.py", "bench.py", "progress.py", "__main__.py", "data/browse.toml")


def _outside(rel: str, parts: tuple[str, ...]) -> bool:
    return rel.split("/", 1)[0] in parts or rel in parts


def _files(base: Path) -> list[Path]:
    if not base.exists():
        return []
    return sorted(p for p in base.rglob("*") if p.is_file() and p.suffix in CODE_SUFFIXES and "__pycache__" not in p.parts)


def hash_files(paths: list[tuple[str, Path]]) -> str:
    h = hashlib.sha256()
    for name, p in paths:
        h.update(name.encode())
        h.update(b"\0")
        h.update(p.read_bytes())
    return h.hexdigest()


def package_files() -> list[tuple[str, Path]]:
    """The package's code and data files by their path in it; a POLICY_DATA_DIR overlay's files stand in for the
    data files they replace (and count as well when they add one), so editing a deployment's data redoes work."""
    files = {p.relative_to(PACKAGE).as_posix(): p for p in _files(PACKAGE)}
    overlay = data_overlay()
    if overlay is not None:
        files |= {f"data/{p.relative_to(overlay).as_posix()}": p for p in _files(overlay)}
    return sorted(files.items())


def extraction_fingerprint() -> str:
    """Hash the code and data that shape partitions."""
    return hash_files([(rel, p) for rel, p in package_files()
                       if not _outside(rel, NOT_EXTRACTION) or rel in EXTRACTION_ALSO])


def build_fingerprint(expectations_dir: Path) -> str:
    """Hash the package but for NOT_BUILD, and the expectation suites (what assembles, checks and publishes)."""
    paths = [(rel, p) for rel, p in package_files() if not _outside(rel, NOT_BUILD)]
    paths += [(f"expectations/{p.name}", p) for p in _files(expectations_dir)]
    return hash_files(paths)


def folder_fingerprint(folder: Path | None) -> str:
    """Hash the files of a folder (the review files)."""
    if folder is None:
        return ""
    return hash_files([(p.relative_to(folder).as_posix(), p) for p in _files(folder)])


def inputs_fingerprint(inputs: list[tuple[str, str]], options: str = "") -> str:
    """Hash the raw files' names and hashes and the build options."""
    h = hashlib.sha256()
    for name, sha in sorted(inputs):
        h.update(f"{name}\0{sha}\n".encode("utf-8", "surrogateescape"))
    h.update(options.encode())
    return h.hexdigest()


def combined(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
