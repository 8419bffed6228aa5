"""The per-file budgets as one validated settings object, read from pipeline/data/limits.toml."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pipeline.config import data_path


@dataclass(frozen=True)
class Limits:
    """Memory and time one file may take, and how big a table may grow."""

    memory_mb: int = 4096
    seconds: float = 300.0
    max_cells: int = 2_000_000
    max_span: int = 1000

    def __post_init__(self) -> None:
        for name in ("memory_mb", "seconds", "max_cells", "max_span"):
            if getattr(self, name) < 0:
                raise ValueError(f"limits.toml: {name} must be >= 0 (0 = no limit), got {getattr(self, name)!r}")


def load_limits(path: Path | None = None) -> Limits:
    """Read the budgets (a missing key keeps its default)."""
    return _load(str(path or data_path("limits.toml")))


@lru_cache(maxsize=4)
def _load(path: str) -> Limits:
    with open(path, "rb") as fh:
        doc = tomllib.load(fh)
    f, g = doc.get("file", {}), doc.get("grid", {})
    return Limits(memory_mb=int(f.get("memory_mb", 4096)), seconds=float(f.get("seconds", 300)),
                  max_cells=int(g.get("max_cells", 2_000_000)), max_span=int(g.get("max_span", 1000)))
