"""One raw file to one partition: the file stages, then what the file's own rows derive, then Parquet on disk.

The order (each a function from data to data)::

    bytes ─stages.raw_file_to_result─▶ FileResult (grids → generic tables → typed records)
          ─file_derived─▶ + citations, populations, suppliers, the file's own dq findings
          ─file_row─▶ the file's extracted.files row (outcome, notice metadata, version date)
          ─PartitionStore.write─▶ staging/partitions/<key>/

``build_partition`` is a pure function of its job (the bytes, the provenance, the notice id the file is read
under and the code that reads it), so it maps over local worker processes or a cluster unchanged; it returns
only the small manifest, never the rows.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.derive.citations import provisions_to_citations
from pipeline.derive.entities import provisions_to_populations, provisions_to_suppliers
from pipeline.flags import build_dq_flags, collect_file_findings
from pipeline.ingest.rawstore import RawInput, read_input
from pipeline.model import RawFile
from pipeline.stages import FileResult, raw_file_to_result
from pipeline.warehouse.partitions import Manifest, PartitionStore
from pipeline.warehouse.schema import EXTRACTED, TABLES

# Warehouse column -> key of the metadata readers' dict, where they differ.
META_KEYS = {"site_column": "column"}
# Typed records a file yields (what raw_files.records counts; the gate reconciles it with the rows loaded).
TYPED_RECORD_TABLES = ("service_provisions", "tasks", "task_units", "targets")


@dataclass(frozen=True)
class PartitionJob:
    """Everything one file's partition depends on (picklable: it crosses to worker processes)."""

    key: str
    input: RawInput
    notice_hint: str | None  # notice of the page an attachment belongs to, when known
    store_root: str
    jurisdiction_hint: str | None = None  # that page's jurisdiction (the attachment's units resolve in it)
    options: dict = field(default_factory=dict)  # max_file_mb (not part of the key: a cap only refuses)


def _date_time(value) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    if isinstance(value, str) and value.strip():
        text = value.strip().replace("Z", "+00:00")
        try:
            return dt.datetime.fromisoformat(text).replace(tzinfo=None)
        except ValueError:
            from pipeline.meta.page import parse_date

            if d := parse_date(text):
                return dt.datetime.combine(d, dt.time())
    return None


def version_date(meta: dict | None, raw: RawFile, first_seen: dt.datetime) -> dt.datetime:
    """Date a version by the document: posted/published date, else retrieval time, else first sight; never the name."""
    meta = meta or {}
    for value in (meta.get("posted_on"), meta.get("published_on"), meta.get("written_on"), raw.retrieved_on):
        if (when := _date_time(value)) is not None:
            return when
    return first_seen


def _json(value) -> str:
    def default(v):
        if isinstance(v, (dt.date, dt.datetime)):
            return v.isoformat()
        return str(v)
    return json.dumps(value, ensure_ascii=False, default=default, sort_keys=True)


def stamp_rows(result: FileResult) -> None:
    """Give every per-file row its file's notice id and raw lineage where the stage that made it left them out."""
    stamp = {"notice_id": result.raw.notice_id, "raw_file": result.raw.path, "raw_sha256": result.raw.sha256}
    for name, rows in result.records.items():
        table = TABLES.get(name) or EXTRACTED.get(name)
        if table is None:
            continue
        wanted = [k for k in stamp if k in table.column_names]
        for row in rows:
            for k in wanted:
                if row.get(k) is None:
                    row[k] = stamp[k]


def file_derived(result: FileResult) -> None:
    """Add what the file's own rows derive: citations, populations, suppliers and the file's dq findings."""
    provisions = result.records.get("service_provisions", [])
    if provisions:
        citations = provisions_to_citations(provisions)
        suppliers = provisions_to_suppliers(provisions)
        result.add("citations", citations)
        result.add("provision_populations", provisions_to_populations(provisions))
        result.add("provision_suppliers", suppliers)
    frames = {name: result.records.get(name, []) for name in
              ("service_provisions", "citations", "provision_suppliers", "task_units", "cell_lineage")}
    findings = collect_file_findings(frames) + [
        {"notice_id": result.raw.notice_id, "raw_file": result.raw.path, "raw_sha256": result.raw.sha256, **f}
        for f in result.findings]
    result.records["file_flags"] = build_dq_flags(findings, notice_id=result.raw.notice_id, raw_file=result.raw.path,
                                                  raw_sha256=result.raw.sha256)


def file_row(result: FileResult, inp: RawInput) -> dict:
    """The file's extracted.files row: its outcome, the notice metadata it carries, how its version is dated."""
    raw, meta = result.raw, result.meta or {}
    data = [o for o in result.tables if o.is_data]
    role = raw.role or ("page" if result.meta is not None and raw.format == "html" else "attachment")
    row = {
        "raw_file": raw.path, "raw_sha256": raw.sha256, "current": inp.current, "notice_id": raw.notice_id,
        "role": role, "format": raw.format or None, "size_bytes": raw.size, "source_url": raw.source_url,
        "parent_url": raw.parent_url, "retrieved_on": raw.retrieved_on, "decoded_as": result.extracted.decoded_as,
        "converted": getattr(result.extracted, "converted", None), "status": result.status, "stage": result.stage,
        "reason": result.reason, "tables_found": len(data), "tables_typed": sum(o.typed for o in data),
        "tables_skipped": len(result.tables) - len(data),
        "untyped": [f"table {o.table_no}: {o.why_not}" for o in data if not o.typed] or None,
        "unmatched_columns": [f"table {o.table_no} ({o.kind}): {', '.join(o.unmatched)}" for o in data
                              if o.typed and o.unmatched] or None,
        "records": sum(len(result.records.get(t, [])) for t in TYPED_RECORD_TABLES),
        "ingested_at": inp.first_seen_at,
        "has_meta": role == "page",
        "version_date": version_date(result.meta, raw, inp.first_seen_at),
        "retrieved_at": _date_time(raw.retrieved_on),
        "warnings": result.warnings[:200] or None,
        "meta": _json(meta) if result.meta is not None else None,
        "notice_id_from": raw.notice_id_from,
    }
    for c in EXTRACTED["files"].columns:
        if c.name not in row:
            value = meta.get(META_KEYS.get(c.name, c.name))
            row[c.name] = value if not (c.type == "DATE" and isinstance(value, str)) else _date_time(value)
    return row


def build_partition(job: PartitionJob) -> Manifest:
    """Read one input file and write its partition; every failure inside the stages is the file's outcome."""
    inp = job.input
    raw = inp.raw()
    if job.notice_hint and not raw.notice_id:
        raw.notice_id, raw.notice_id_from = job.notice_hint, "parent"
        raw.jurisdiction = job.jurisdiction_hint
    cap = job.options.get("max_file_mb", 0)
    if cap and inp.size > cap * 2**20:
        result = FileResult(raw=raw, status="failed", stage="read", reason=(
            f"file {inp.raw_file}, stage read: {inp.size / 2**20:,.0f} MB is over the {cap} MB a file may have "
            "(max_file_mb in pipeline/data/limits.toml)"))
    else:
        try:
            data = read_input(inp)
        except OSError as exc:
            result = FileResult(raw=raw, status="failed", stage="read", reason=f"file {inp.raw_file}, stage read: {exc}")
        else:
            result = raw_file_to_result(raw, data)
    if raw.notice_id is None:
        raw.notice_id = f"sha256:{raw.sha256[:16]}"
        raw.notice_id_from = "content_hash"
    if result.status != "failed":
        file_derived(result)
        stamp_rows(result)
    schema = {**TABLES, **EXTRACTED}
    tables = {name: rows for name, rows in result.records.items() if name in schema}
    row = file_row(result, inp)
    tables["files"] = [row]
    return PartitionStore(Path(job.store_root)).write(job.key, inp.raw_file, inp.sha256, row, tables, schema)
