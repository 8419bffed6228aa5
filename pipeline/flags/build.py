"""Findings to dq_flags rows: a stable id for each finding, lineage filled in, duplicates folded."""

from __future__ import annotations

import hashlib

from pipeline.flags.base import FINDING_KEYS, SEVERITIES

FLAG_COLUMNS = ("flag_id", "notice_id", "rule", "severity", "record_table", "record_id", "column_name", "evidence",
                "span_start", "span_end", "suggestion", "message", "locator", "raw_file", "raw_sha256",
                "review_status", "canonical_value", "reviewer", "decided_on")
_REQUIRED = ("rule", "severity", "record_table", "record_id", "column_name", "evidence", "notice_id", "raw_file",
             "raw_sha256")


def flag_id(finding: dict, occurrence: int = 1) -> str:
    """Hash what identifies a finding (notice, rule, record, column, evidence) into a short id stable across runs.

    ``occurrence`` (2, 3 …) separates the same evidence found more than once in one cell, counted left to right.
    """
    parts = [str(finding.get(k) or "") for k in ("notice_id", "rule", "record_table", "record_id", "column_name",
                                                 "evidence")]
    if occurrence > 1:
        parts.append(f"#{occurrence}")
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


def build_dq_flags(findings: list[dict], *, notice_id: str | None = None, raw_file: str | None = None,
                   raw_sha256: str | None = None) -> list[dict]:
    """Turn findings from any module into dq_flags rows with stable flag ids, all open for review.

    Findings carry the keys in ``FINDING_KEYS`` (``span_start``, ``span_end`` and ``message`` optional); a finding
    that lacks notice_id or raw lineage takes the keyword defaults (for modules that work on one notice).
    """
    defaults = {"notice_id": notice_id, "raw_file": raw_file, "raw_sha256": raw_sha256}
    rows: dict[int, dict] = {}
    seen: dict[str, dict] = {}
    occurrences: dict[str, int] = {}
    # Repeats of one evidence in one cell are numbered left to right, whatever order the rules reported them in.
    ordered = sorted(enumerate(findings), key=lambda f: (f[1].get("span_start") is None, f[1].get("span_start") or 0, f[0]))
    for i, f in ordered:
        f = {**{k: None for k in FINDING_KEYS}, "span_start": None, "span_end": None, "message": None, **f}
        for k, v in defaults.items():
            if f[k] is None:
                f[k] = v
        missing = [k for k in _REQUIRED if f.get(k) is None]
        if missing:
            raise ValueError(f"finding of rule {f.get('rule')!r} on {f.get('record_id')!r} lacks {missing}; "
                             "pass notice_id/raw_file/raw_sha256 to build_dq_flags or set them in the rule")
        if f["severity"] not in SEVERITIES:
            raise ValueError(f"finding of rule {f['rule']!r} has severity {f['severity']!r}, not one of {SEVERITIES}")
        base = flag_id(f)
        if base in seen and (seen[base]["span_start"], seen[base]["locator"]) == (f["span_start"], f["locator"]):
            continue  # the same finding reported twice (e.g. by two rules' shared helpers): keep one
        occurrences[base] = occurrences.get(base, 0) + 1
        fid = flag_id(f, occurrences[base])
        row = {c: f.get(c) for c in FLAG_COLUMNS}
        row.update(flag_id=fid, review_status="open", canonical_value=None, reviewer=None, decided_on=None)
        seen.setdefault(base, row)
        rows[i] = row
    return [rows[i] for i in sorted(rows)]
