"""The per-file budget (memory, time, size) as one validated settings object, from pipeline/data/limits.toml [file]."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pipeline.config import data_path


@dataclass(frozen=True)
class Budget:
    """Memory and time one file's worker may take, the largest file read at all, and how many refreshes in a row
    read a file again whose failure may not recur (over a budget, a crashed worker) (0 = no limit)."""

    memory_mb: int = 4096
    seconds: float = 300.0
    max_file_mb: int = 256
    attempts: int = 3

    def __post_init__(self) -> None:
        for name in ("memory_mb", "seconds", "max_file_mb", "attempts"):
            if getattr(self, name) < 0:
                raise ValueError(f"limits.toml [file]: {name} must be >= 0 (0 = no limit), got {getattr(self, name)!r}")


def load_budget(path: Path | None = None) -> Budget:
    """Read the per-file budget (a missing key keeps its default)."""
    return _load(str(path or data_path("limits.toml")))


@lru_cache(maxsize=4)
def _load(path: str) -> Budget:
    with open(path, "rb") as fh:
        f = tomllib.load(fh).get("file", {})
    return Budget(memory_mb=int(f.get("memory_mb", 4096)), seconds=float(f.get("seconds", 300)),
                  max_file_mb=int(f.get("max_file_mb", 256)), attempts=int(f.get("attempts", 3)))


def load_build_memory_mb(path: Path | None = None, key: str = "memory_mb") -> int:
    """Read [build] memory_mb: the most memory DuckDB may use while it builds the warehouse (0 = DuckDB's default);
    ``key="judging_memory_mb"``: the most while notices are judged (0 = memory_mb)."""
    return _load_build(str(path or data_path("limits.toml")), key)


_BUILD_DEFAULTS = {"memory_mb": 512, "judging_memory_mb": 0}


@lru_cache(maxsize=8)
def _load_build(path: str, key: str) -> int:
    with open(path, "rb") as fh:
        value = tomllib.load(fh).get("build", {}).get(key, _BUILD_DEFAULTS[key])
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"limits.toml [build]: {key} must be an integer >= 0 (0 = no limit), got {value!r}")
    return value
