"""Cross-format agreement: the same notice's list read from HTML, DOCX and PDF must say the same thing.

The preferred format's rows are loaded; every other format is compared with them, and each cell or row that
disagrees becomes one finding (rule ``cross_format_mismatch``) pointing at both files.
"""

from __future__ import annotations

RULE = "cross_format_mismatch"
TEXT_COLUMNS = ("category", "service_item", "population", "content", "standard_text", "supplier_text")


def _squash(text: str | None) -> str:
    """Drop all whitespace (formats differ in spaces and wraps, never in the characters published)."""
    return "".join((text or "").split())


def _key(row: dict) -> tuple[int, int]:
    return (row["item_no"], row["population_no"])


def _where(row: dict, column: str | None = None) -> str:
    """Say where a tidy row came from in its file: table, grid row, pages and column."""
    where = f"{row.get('raw_file', '?')} table {row.get('table_index', '?')} row {row.get('source_row', '?')}"
    if row.get("pages"):
        where += " pages " + ",".join(str(p) for p in row["pages"])
    return f"{where} {column}" if column else where


def _finding(record_id: str, column: str | None, evidence: str | None, suggestion: str | None, message: str,
             preferred: dict | None, other: dict | None, other_like: dict) -> dict:
    return {
        "rule": RULE,
        "severity": "warning",
        "record_table": "service_provisions",
        "record_id": record_id,
        "column_name": column,
        "evidence": evidence,
        "suggestion": suggestion,
        "locator": _where(preferred, column) if preferred else None,
        "message": message,
        "other_format": other_like.get("source_format"),
        "other_raw_file": other_like.get("raw_file"),
        "other_raw_sha256": other_like.get("raw_sha256"),
        "other_locator": _where(other, column) if other else None,
    }


def compare_provision_sets(preferred: list[dict], other: list[dict]) -> list[dict]:
    """Return one finding per text cell that differs (whitespace aside) and per row only one format has."""
    if not other:
        return []
    ours = {_key(r): r for r in preferred}
    theirs = {_key(r): r for r in other}
    like = other[0]
    fmt = like.get("source_format")
    findings: list[dict] = []
    for key in sorted(ours.keys() | theirs.keys()):
        p, o = ours.get(key), theirs.get(key)
        label = f"item {key[0]} population {key[1]}"
        if o is None:
            findings.append(_finding(p["provision_id"], None, None, p.get("population"),
                                     f"{label} is missing from the {fmt} file", p, None, like))
            continue
        if p is None:
            findings.append(_finding(o["provision_id"], None, o.get("population"), None,
                                     f"{label} is only in the {fmt} file", None, o, like))
            continue
        for col in TEXT_COLUMNS:
            if _squash(p.get(col)) != _squash(o.get(col)):
                findings.append(_finding(p["provision_id"], col, o.get(col), p.get(col),
                                         f"{label} {col} differs in the {fmt} file", p, o, like))
    return findings
