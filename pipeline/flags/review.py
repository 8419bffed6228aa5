"""QA decisions on dq_flags: read the committed review files, apply them to canonical columns, keep the history.

A decision names a flag by its id and copies the flag's evidence. It is applied only while the same flag is
raised again with the same evidence; otherwise it is stale (the raw file changed or the text was fixed) and
reported, never applied. Decisions fill canonical columns (dq_flags.canonical_value, citations.title and
canonical_year, the canonical_values table); the published text columns are never touched.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from pathlib import Path

from pipeline.config import REVIEWS_DIR
from pipeline.errors import PipelineError
from pipeline.registers.standards import normalize_code

DECISION_COLUMNS = ("flag_id", "decision", "corrected_value", "reviewer", "decided_on", "note", "evidence")
DECISIONS = {"accept": "accepted", "reject": "rejected", "correct": "corrected"}


class ReviewFileError(PipelineError):
    """A review file has a row that cannot be read as a decision."""

    hint = "fix the row in the review file (see reviews/README.md for the columns and allowed values)"


def _check(row: dict, where: str) -> dict:
    if row.get("decision") not in DECISIONS:
        raise ReviewFileError(f"{where}: decision {row.get('decision')!r} is not one of {sorted(DECISIONS)}", stage="review")
    if not row.get("flag_id"):
        raise ReviewFileError(f"{where}: flag_id is empty", stage="review")
    if not row.get("reviewer"):
        raise ReviewFileError(f"{where}: reviewer is empty", stage="review")
    if row["decision"] == "correct" and not row.get("corrected_value"):
        raise ReviewFileError(f"{where}: a 'correct' decision needs corrected_value", stage="review")
    try:
        dt.date.fromisoformat(row.get("decided_on") or "")
    except ValueError:
        raise ReviewFileError(f"{where}: decided_on {row.get('decided_on')!r} is not a date (YYYY-MM-DD)", stage="review") from None
    return row


def read_decisions(path: Path) -> list[dict]:
    """Read one review CSV (columns DECISION_COLUMNS) into decision dicts, each with its file and line.

    A file that is not UTF-8, or that is not CSV a person wrote (a field of megabytes), is refused whole with a
    one-line reason: a half-read review file would apply some decisions and silently drop others.
    """
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in DECISION_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise ReviewFileError(f"columns {missing} missing", file=str(path), stage="review")
            rows = []
            for line_no, row in enumerate(reader, start=2):
                row = {c: (row.get(c) or "") for c in DECISION_COLUMNS}
                rows.append({**_check(row, f"{path.name} line {line_no}"), "review_file": path.name, "line_no": line_no})
    except UnicodeDecodeError as exc:
        raise ReviewFileError(f"{path.name} is not UTF-8 text (byte {exc.start}: {exc.reason})", file=str(path),
                              stage="review", hint="save the review file as UTF-8 (CSV UTF-8 in a spreadsheet program)") from None
    except csv.Error as exc:
        raise ReviewFileError(f"{path.name} is not readable CSV ({exc})", file=str(path), stage="review") from None
    except OSError as exc:
        raise ReviewFileError(f"{path.name} cannot be read ({exc.strerror or exc})", file=str(path),
                              stage="review") from None
    return rows


def load_decisions(directory: Path | None = None) -> list[dict]:
    """Read every review CSV under reviews/ in name order."""
    directory = directory or REVIEWS_DIR
    return [d for path in sorted(Path(directory).glob("*.csv")) for d in read_decisions(path)]


def review_id(decision: dict) -> str:
    """Identify a decision by what it says, so the history keeps it across refreshes."""
    key = "\x1f".join(str(decision.get(c) or "") for c in ("flag_id", "decision", "corrected_value", "reviewer", "decided_on"))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def apply_reviews(flags: list[dict], decisions: list[dict]) -> tuple[list[dict], list[dict], list[dict]]:
    """Apply QA decisions to dq_flags rows: (flags with review status, decision history, stale decisions).

    The latest applicable decision of a flag (by decided_on, then file order) sets its review_status
    (accepted / rejected / corrected) and canonical_value (the suggestion, nothing, or the corrected value).
    """
    by_id = {f["flag_id"]: f for f in flags}
    history: list[dict] = []
    latest: dict[str, dict] = {}
    decisions = [{**d, "decided_on": _date(d["decided_on"])} for d in decisions]
    ordered = sorted(decisions, key=lambda d: (d["decided_on"], d.get("review_file") or "", d.get("line_no") or 0))
    for d in ordered:
        f = by_id.get(d["flag_id"])
        row = {"review_id": review_id(d), **{c: d.get(c) or None for c in DECISION_COLUMNS},
               "evidence": d.get("evidence") or "", "review_file": d.get("review_file"), "line_no": d.get("line_no"),
               "notice_id": f and f["notice_id"], "rule": f and f["rule"], "record_table": f and f["record_table"],
               "record_id": f and f["record_id"], "column_name": f and f["column_name"]}
        if f is None:
            row.update(status="stale", status_reason="the flag is not raised by this refresh: its evidence no longer "
                       "exists (the raw file changed or the text was fixed); review it again")
        elif (d.get("evidence") or "") != (f["evidence"] or ""):
            row.update(status="stale", status_reason=f"the flag's evidence is now {f['evidence']!r}, the decision "
                       f"was taken on {d.get('evidence')!r}; review it again")
        else:
            row.update(status="applied", status_reason=None)
            if d["flag_id"] in latest:
                latest[d["flag_id"]].update(status="superseded", status_reason="a later decision on the same flag")
            latest[d["flag_id"]] = row
        history.append(row)
    out = []
    for f in flags:
        f = dict(f)
        d = latest.get(f["flag_id"])
        if d is not None:
            f["review_status"] = DECISIONS[d["decision"]]
            f["canonical_value"] = {"accept": f.get("suggestion"), "reject": None,
                                    "correct": d["corrected_value"]}[d["decision"]]
            f["reviewer"], f["decided_on"] = d["reviewer"], d["decided_on"]
        out.append(f)
    stale = [h for h in history if h["status"] == "stale"]
    return out, history, stale


def _date(value: str | dt.date) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def merge_review_history(previous: list[dict], current: list[dict]) -> list[dict]:
    """Keep decisions the previous warehouse recorded that the review files no longer hold (history is never lost)."""
    now = {h["review_id"] for h in current}
    kept = [{**h, "status": "removed_from_file", "status_reason": "no longer in the review files"}
            for h in previous if h["review_id"] not in now]
    return current + kept


def _applied(flags: list[dict]) -> list[dict]:
    return [f for f in flags if f.get("review_status") in ("accepted", "corrected") and f.get("canonical_value") is not None]


def _year_of(value: str) -> int | None:
    value = value.strip()
    if value.isdigit() and len(value) == 4:
        return int(value)
    parsed = normalize_code(value)
    return parsed[1] if parsed else None


def apply_to_citations(citations: list[dict], flags: list[dict]) -> list[dict]:
    """Fill citations' canonical columns from applied decisions: title from a title flag, canonical_year from a code flag."""
    by_id = {c["citation_id"]: dict(c) for c in citations}
    for f in _applied(flags):
        c = by_id.get(f["record_id"]) if f["record_table"] == "citations" else None
        if c is None:
            continue
        if f["column_name"] == "title_as_written":
            c["title"] = f["canonical_value"]
        elif f["column_name"] == "code_as_written" and (year := _year_of(f["canonical_value"])) is not None:
            c["canonical_year"] = year
    return [by_id[c["citation_id"]] for c in citations]


def canonical_values(provisions: list[dict], flags: list[dict], citations: list[dict] | None = None,
                     records: dict[tuple[str, str], dict] | None = None) -> list[dict]:
    """Rebuild each reviewed cell with its accepted corrections spliced in: canonical_values rows.

    Provisions come first (flags on citations are carried to their provision's standard_text: their spans are
    spans of that cell); ``records`` holds the rows of any other typed table a decision names — tasks, task units,
    targets, a profile-defined table — by (table, record id). A flag without a span replaces the whole value.
    """
    by_key = {("service_provisions", p["provision_id"]): p for p in provisions}
    by_key.update(records or {})
    citation_provision = {c["citation_id"]: c["provision_id"] for c in citations or []}
    edits: dict[tuple[str, str, str], list[dict]] = {}
    for f in _applied(flags):
        if f["record_table"] == "citations" and f["record_id"] in citation_provision:
            key = ("service_provisions", citation_provision[f["record_id"]], "standard_text")
        else:
            key = (f["record_table"], f["record_id"], f["column_name"])
        if key[:2] in by_key:
            edits.setdefault(key, []).append(f)
    rows = []
    for (table, rid, column), fs in edits.items():
        p = by_key[(table, rid)]
        published = "" if p.get(column) is None else str(p[column])
        text, used, floor = published, [], len(published) + 1
        whole = [f for f in fs if f.get("span_start") is None]
        if whole:
            text, used = whole[-1]["canonical_value"], [whole[-1]]
        else:
            for f in sorted(fs, key=lambda f: f["span_start"], reverse=True):
                a, b = f["span_start"], f["span_end"]
                if b > floor or published[a:b] != (f["evidence"] or ""):
                    continue  # overlaps a correction already spliced, or no longer where it was found
                text, floor = text[:a] + f["canonical_value"] + text[b:], a
                used.append(f)
        rows.append({"record_table": table, "record_id": rid, "column_name": column,
                     "notice_id": p["notice_id"], "published_value": published, "canonical_value": text,
                     "flag_ids": sorted(f["flag_id"] for f in used), "raw_file": p["raw_file"],
                     "raw_sha256": p["raw_sha256"]})
    return rows
