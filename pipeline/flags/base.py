"""What every rule shares: its settings, the shape of a finding and where a finding points in the raw file."""

from __future__ import annotations

import tomllib
from difflib import SequenceMatcher
from functools import lru_cache
from pathlib import Path

from pipeline.config import data_path

FINDING_KEYS = ("rule", "severity", "record_table", "record_id", "column_name", "evidence", "suggestion", "locator",
                "notice_id", "raw_file", "raw_sha256")
SEVERITIES = ("error", "warning", "info")

Frames = dict  # table name -> list of row dicts ("service_provisions", "citations", "provision_suppliers", …)


def load_rule_settings(path: Path | None = None) -> dict:
    """Read the rules' settings (severity, vocabularies, thresholds) from TOML."""
    return _load(str(path or data_path("flag_rules.toml")))


@lru_cache(maxsize=4)
def _load(path: str) -> dict:
    with open(path, "rb") as fh:
        doc = tomllib.load(fh)
    for name, rule in doc.get("rules", {}).items():
        if rule.get("severity") not in SEVERITIES:
            raise ValueError(f"flag_rules.toml: rule {name} has severity {rule.get('severity')!r}, not one of {SEVERITIES}")
    return doc


def settings(frames: Frames, rule: str) -> dict:
    """Return one rule's settings: frames["rule_settings"] when a caller supplies them, else the data file."""
    doc = frames.get("rule_settings") or load_rule_settings()
    return doc["rules"][rule]


def cell_locator(provision: dict, column: str, start: int | None, end: int | None, lineage: dict | None = None) -> str:
    """Say where a fragment of a provision's cell sits: raw file, table, row, cell path and character span."""
    where = f"{provision['raw_file']} table {provision['table_index']} row {provision['source_row']}"
    cell = (lineage or {}).get((provision["provision_id"], column))
    if cell and cell.get("locator"):
        where += f" {cell['locator']}"
        if cell.get("page"):
            where += f" page {cell['page']}"
    span = f"[{start}:{end}]" if start is not None else ""
    return f"{where} {column}{span}"


def lineage_index(frames: Frames) -> dict:
    """Index cell_lineage rows of service_provisions by (record_id, column_name), when the caller passed them.

    The index is built once per frames and kept in them: rules call this per item, and a corpus of a
    thousand notices has hundreds of thousands of lineage rows.
    """
    rows = frames.get("cell_lineage", [])
    cached = frames.get("_lineage_index")
    if cached is None or cached[0] is not rows:
        cached = (rows, {(r["record_id"], r["column_name"]): r for r in rows
                         if r.get("record_table") == "service_provisions"})
        frames["_lineage_index"] = cached
    return cached[1]


def provision_finding(rule: str, sev: str, p: dict, column: str, start: int | None, end: int | None, evidence: str,
                      suggestion: str | None, message: str, lineage: dict | None = None) -> dict:
    """Build a finding located to a service_provisions cell and a span of its published text."""
    return {
        "rule": rule, "severity": sev, "record_table": "service_provisions", "record_id": p["provision_id"],
        "column_name": column, "evidence": evidence, "suggestion": suggestion,
        "locator": cell_locator(p, column, start, end, lineage), "notice_id": p["notice_id"],
        "raw_file": p["raw_file"], "raw_sha256": p["raw_sha256"], "span_start": start, "span_end": end,
        "message": message,
    }


def _chunk_bounds(text: str, start: int, end: int, separators: str) -> tuple[int, int]:
    """Widen [start, end) to whole chunks between separators; a point (start == end) takes the chunks around it."""
    a, b = start, end
    if start == end:  # text lacks something here: show the chunks on both sides of the gap
        while a > 0 and text[a - 1] in separators:
            a -= 1
        while b < len(text) and text[b] in separators:
            b += 1
    while a > 0 and text[a - 1] not in separators:
        a -= 1
    while b < len(text) and text[b] not in separators:
        b += 1
    return a, b


def diff_fragments(text: str, reference: str, separators: str) -> list[tuple[int, int, str, str]]:
    """Return (start, end, fragment, reference fragment) for each stretch where text differs from reference.

    Differences are widened to whole chunks between separators (、,; …) so the evidence is a readable phrase.
    """
    out: list[tuple[int, int, int, int]] = []
    for op, i1, i2, j1, j2 in SequenceMatcher(None, text, reference, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        a, b = _chunk_bounds(text, i1, i2, separators)
        # the same widening in the reference, anchored on the aligned positions
        ra = max(0, j1 - (i1 - a))
        rb = min(len(reference), j2 + (b - i2))
        if out and a <= out[-1][1]:
            pa, _, pra, _ = out[-1]
            out[-1] = (pa, max(b, out[-1][1]), pra, max(rb, out[-1][3]))
        else:
            out.append((a, b, ra, rb))
    return [(a, b, text[a:b], reference[ra:rb]) for a, b, ra, rb in out]
