"""The gate before publishing: critical checks on the built warehouse; a failure keeps the old one."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from .schema import TABLES


@dataclass
class GateResult:
    passed: bool
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"gate {'passed' if self.passed else 'FAILED'}"]
        lines += [f"  critical: {f}" for f in self.failures]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def key_checks(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Return a failure per table whose key has duplicates or nulls."""
    failures = []
    for name, table in TABLES.items():
        if not table.key:
            continue
        cols = ", ".join(f'"{c}"' for c in table.key)
        dup = con.execute(
            f'SELECT {cols}, count(*) FROM "{name}" GROUP BY {cols} HAVING count(*) > 1 LIMIT 5'
        ).fetchall()
        if dup:
            failures.append(f"{name}: key ({cols}) not unique, e.g. {dup}")
    return failures


def run_gate(db_path: Path) -> GateResult:
    """Validate a built (unpublished) warehouse file."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        failures = key_checks(con)
    finally:
        con.close()
    return GateResult(passed=not failures, failures=failures)
