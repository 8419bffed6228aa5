"""File results to warehouse tables: one notice from its files, versions from its pages, one format kept."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from pipeline.config import DEFAULT_FORMAT_PREFERENCE
from pipeline.meta.page import parse_date
from pipeline.stages import FileResult

RECORD_TABLES = ("service_provisions", "tasks")  # one format is kept per notice for each of these
RECORD_KEYS = {"service_provisions": "provision_id", "tasks": "task_id"}
# Columns that say where a record came from, not what it says: never a change between versions.
LINEAGE_COLUMNS = {"raw_file", "raw_sha256", "source_format", "table_index", "source_row", "source_rows", "pages",
                   "locator", "page", "bbox"}
CHILD_TABLES = {"tasks": ("task_units", "targets")}


@dataclass
class Previous:
    """What the published warehouse already knew: when each raw file's bytes were first loaded."""

    ingested_at: dict[str, dt.datetime] = field(default_factory=dict)


def _retrieved(r: FileResult) -> str:
    return r.raw.retrieved_on or ""


def _when(text: str | None, fallback: dt.datetime) -> dt.datetime:
    if text:
        try:
            return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)
        except ValueError:
            if d := parse_date(text):
                return dt.datetime.combine(d, dt.time())
    return fallback


def version_files(files: list[FileResult]) -> list[FileResult]:
    """Return the files that carry the notice's metadata, oldest first: each distinct page is a version."""
    readable = [f for f in files if f.status != "failed"]
    pages = [f for f in readable if f.meta is not None] or readable[:1]
    pages.sort(key=lambda f: (_retrieved(f), f.raw.path))
    seen: set[str] = set()
    out = []
    for f in pages:
        if f.raw.sha256 not in seen:
            seen.add(f.raw.sha256)
            out.append(f)
    return out


def choose_source(files: list[FileResult], table: str, preference: tuple[str, ...]) -> tuple[FileResult | None, list[FileResult]]:
    """Pick the file whose records of `table` are kept (by format preference); return it and the others."""
    having = [f for f in files if f.records.get(table)]
    if not having:
        return None, []
    rank = {fmt: i for i, fmt in enumerate(preference)}
    best_fmt = min((f.raw.format for f in having), key=lambda fmt: rank.get(fmt, len(rank)))
    # Newest bytes of the preferred format win among versions of the same format.
    chosen = max((f for f in having if f.raw.format == best_fmt), key=lambda f: (_retrieved(f), f.raw.path))
    return chosen, [f for f in having if f.raw.format != best_fmt]


def notice_rows(notice_id: str, files: list[FileResult], previous: Previous, now: dt.datetime) -> list[dict]:
    """Build the notice's version rows, newest current, from its metadata-carrying files."""
    versions = version_files(files)
    rows = []
    formats = sorted({f.raw.format for f in files if f.raw.format})
    for i, f in enumerate(versions):
        meta = f.meta or {}
        ingested = previous.ingested_at.get(f.raw.sha256, now)
        valid_from = _when(f.raw.retrieved_on, ingested)
        rows.append(
            {
                "notice_id": notice_id,
                "version": i + 1,
                "title": meta.get("title") or _grid_title(files),
                "doc_number": meta.get("doc_number"),
                "index_no": meta.get("index_no"),
                "issuer": meta.get("issuer"),
                "published_on": meta.get("published_on"),
                "posted_on": meta.get("posted_on"),
                "effective_on": meta.get("effective_on"),
                "expires_on": meta.get("expires_on"),
                "site_profile": meta.get("site_profile"),
                "format": f.raw.format or "unknown",
                "formats": formats,
                "source_url": f.raw.source_url,
                "raw_file": f.raw.path,
                "raw_sha256": f.raw.sha256,
                "ingested_at": ingested,
                "valid_from": valid_from,
                "valid_to": None,
                "is_current": i == len(versions) - 1,
            }
        )
    for older, newer in zip(rows, rows[1:]):
        older["valid_to"] = newer["valid_from"]
    return rows


def _grid_title(files: list[FileResult]) -> str | None:
    for f in files:
        for g in f.extracted.grids:
            if g.caption:
                return g.caption
    return None


def raw_file_row(r: FileResult, previous: Previous, now: dt.datetime) -> dict:
    return {
        "raw_file": r.raw.path,
        "raw_sha256": r.raw.sha256,
        "notice_id": r.raw.notice_id,
        "role": r.raw.role or ("page" if r.meta is not None else "attachment"),
        "format": r.raw.format or None,
        "size_bytes": r.raw.size,
        "source_url": r.raw.source_url,
        "retrieved_on": r.raw.retrieved_on,
        "decoded_as": r.extracted.decoded_as,
        "status": r.status,
        "stage": r.stage,
        "reason": r.reason,
        "tables_found": len(r.extracted.grids),
        "records": r.n_records,
        "ingested_at": previous.ingested_at.get(r.raw.sha256, now),
    }


def link_attachments(results: list[FileResult]) -> None:
    """Give an attachment with no notice of its own the notice of the page that linked it (parent_url)."""
    by_url = {r.raw.source_url: r.raw.notice_id for r in results if r.raw.source_url and r.meta is not None}
    for r in results:
        if r.raw.notice_id_from == "stem" and r.raw.parent_url in by_url:
            old, new = r.raw.notice_id, by_url[r.raw.parent_url]
            r.raw.notice_id, r.raw.notice_id_from = new, "parent"
            for rows in r.records.values():
                for row in rows:
                    _rekey(row, old, new)


def _rekey(row: dict, old: str, new: str) -> None:
    """Move a record to another notice: every id that is, or starts with, the old notice id."""
    for key, value in row.items():
        if isinstance(value, str) and (value == old or value.startswith(old + ":")):
            row[key] = new + value[len(old):]


def results_to_tables(
    results: list[FileResult], previous: Previous, now: dt.datetime,
    preference: tuple[str, ...] = DEFAULT_FORMAT_PREFERENCE,
) -> tuple[dict[str, list[dict]], list[dict]]:
    """Assemble warehouse rows from every file's result; return (tables, findings)."""
    link_attachments(results)
    tables: dict[str, list[dict]] = defaultdict(list)
    findings: list[dict] = []
    by_notice: dict[str, list[FileResult]] = defaultdict(list)
    for r in results:
        tables["raw_files"].append(raw_file_row(r, previous, now))
        by_notice[r.raw.notice_id].append(r)
    for notice_id, files in sorted(by_notice.items()):
        if all(f.status == "failed" for f in files):
            continue  # nothing could be read: the failure is in raw_files, not a notice
        tables["notices"].extend(notice_rows(notice_id, files, previous, now))
        tables["notice_changes"].extend(notice_changes(notice_id, version_files(files)))
        kept_files: set[str] = set()
        for table in RECORD_TABLES:
            chosen, others = choose_source(files, table, preference)
            if chosen is None:
                continue
            kept_files.add(chosen.raw.path)
            tables[table].extend(chosen.records[table])
            for child in CHILD_TABLES.get(table, ()):
                tables[child].extend(chosen.records.get(child, []))
            tables["cell_lineage"].extend(
                row for row in chosen.records.get("cell_lineage", []) if row["record_table"] == table
            )
            findings.extend(cross_format_findings(table, chosen, others))
        for f in files:
            if f.raw.path in kept_files:
                findings.extend({"notice_id": notice_id, "raw_file": f.raw.path, "raw_sha256": f.raw.sha256, **x}
                                for x in f.findings)
    return dict(tables), findings


def record_changes(table: str, old: list[dict], new: list[dict]) -> list[dict]:
    """Diff two versions' records of one table by key: added, removed, and one row per changed column."""
    key = RECORD_KEYS[table]
    before = {r[key]: r for r in old}
    after = {r[key]: r for r in new}
    out = []
    for rid in sorted(before.keys() | after.keys()):
        a, b = before.get(rid), after.get(rid)
        if a is None or b is None:
            out.append({"record_table": table, "record_id": rid, "change": "added" if a is None else "removed",
                        "column_name": None, "old_value": None, "new_value": None})
            continue
        for col in sorted((a.keys() | b.keys()) - LINEAGE_COLUMNS - {key}):
            if a.get(col) != b.get(col):
                out.append({"record_table": table, "record_id": rid, "change": "changed", "column_name": col,
                            "old_value": _text(a.get(col)), "new_value": _text(b.get(col))})
    return out


def _text(value) -> str | None:
    return None if value is None else str(value)


def notice_changes(notice_id: str, versions: list[FileResult]) -> list[dict]:
    """List what changed between each pair of consecutive versions of a notice."""
    out = []
    for i in range(1, len(versions)):
        old, new = versions[i - 1], versions[i]
        for table in RECORD_TABLES:
            for change in record_changes(table, old.records.get(table, []), new.records.get(table, [])):
                out.append({"notice_id": notice_id, "from_version": i, "to_version": i + 1, **change,
                            "from_raw_sha256": old.raw.sha256, "to_raw_sha256": new.raw.sha256})
    return out


def cross_format_findings(table: str, chosen: FileResult, others: list[FileResult]) -> list[dict]:
    """Compare the kept records with the same notice's other formats; one finding per disagreeing cell."""
    if table != "service_provisions" or not others:
        return []
    from pipeline.derive.agreement import compare_provision_sets

    out = []
    for other in others:
        for finding in compare_provision_sets(chosen.records[table], other.records[table]):
            out.append({**finding, "notice_id": chosen.raw.notice_id, "raw_file": chosen.raw.path,
                        "raw_sha256": chosen.raw.sha256})
    return out
