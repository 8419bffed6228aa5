"""The stage order for one raw file: detect → decode → extract → recognize → normalize.

Each stage is a function from data to data; this module only chains them and records, for a failure,
the file, the stage and the reason. A failing file never stops the others.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field

from pipeline.errors import PipelineError
from pipeline.ingest.formats import detect_format
from pipeline.model import Grid, RawFile
from pipeline.kinds.recognize import load_table_profiles, recognize_table


@dataclass
class Extracted:
    """What an extractor found in one file: page metadata, table grids and text blocks."""

    meta: dict | None = None
    grids: list[Grid] = field(default_factory=list)
    blocks: list = field(default_factory=list)
    decoded_as: str | None = None
    converted: str | None = None  # how a DOC/ODT/ODS/RTF file was converted before reading
    warnings: list[str] = field(default_factory=list)  # file-level notes (e.g. a conversion without sandbox)


# Generic table records (pipeline/tables): every data table of a file, typed or not.
GENERIC_TABLES = ("source_tables", "table_rows", "table_cells")


@dataclass
class TableOutcome:
    """What became of one grid of a file: a data table (its table_no and id), typed by a profile, or why not."""

    grid_index: int
    locator: str
    is_data: bool
    table_no: int | None = None  # counts data tables only
    table_id: str | None = None
    kind: str | None = None  # the table profile that typed it
    why_not: str | None = None  # why it is not a data table, or why no profile typed it
    unmatched: list[str] = field(default_factory=list)  # header columns no field of the profile names

    @property
    def typed(self) -> bool:
        return self.kind is not None


@dataclass
class FileResult:
    """The outcome of one raw file: records per warehouse table, findings, and status."""

    raw: RawFile
    status: str = "loaded"  # loaded | no_table | failed
    stage: str | None = None
    reason: str | None = None
    extracted: Extracted = field(default_factory=Extracted)
    records: dict[str, list[dict]] = field(default_factory=dict)
    findings: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    cached: bool = False  # taken from the extraction cache, not extracted in this run
    tables: list[TableOutcome] = field(default_factory=list)  # one per grid, in extraction order

    @property
    def meta(self) -> dict | None:
        return self.extracted.meta

    def add(self, table: str, rows: list[dict]) -> None:
        self.records.setdefault(table, []).extend(rows)

    @property
    def n_records(self) -> int:
        return sum(len(v) for k, v in self.records.items() if k != "cell_lineage" and k not in GENERIC_TABLES)


# --- extract: one function per format ------------------------------------------------------------

def html_file_to_extracted(data: bytes, file: str) -> Extracted:
    """Decode a page, find its article body and metadata, and build grids and blocks of the body only."""
    from pipeline.ingest.decode import decode_bytes
    from pipeline.extract.blocks import html_to_blocks
    from pipeline.extract.html import html_to_grids, parse_html
    from pipeline.meta.body import html_to_page

    text, how = decode_bytes(data, file=file)
    page = html_to_page(parse_html(text))
    return Extracted(
        meta={**page.meta, "body_how": page.body_how, "meta_findings": page.findings},
        grids=html_to_grids(page.body, page.skip),
        blocks=html_to_blocks(page.body, page.skip),
        decoded_as=how,
    )


def pdf_file_to_extracted(data: bytes, file: str) -> Extracted:
    """Read a PDF's tables (stitched across pages), its 公文 header and its text blocks."""
    from pipeline.extract.blocks import pdf_to_blocks
    from pipeline.extract.pdf import pdf_to_grids
    from pipeline.meta.document import blocks_to_document_meta, pdf_to_header_lines

    grids = pdf_to_grids(data, file=file)
    return Extracted(meta=blocks_to_document_meta(pdf_to_header_lines(data)), grids=grids,
                     blocks=pdf_to_blocks(data, file=file) if not grids else [])


def docx_file_to_extracted(data: bytes, file: str) -> Extracted:
    """Read a Word document's tables and its body paragraphs."""
    from pipeline.extract.docx import docx_to_blocks, docx_to_grids
    from pipeline.meta.document import blocks_to_document_meta

    blocks = docx_to_blocks(data, file=file)
    return Extracted(meta=blocks_to_document_meta(blocks), grids=docx_to_grids(data, file=file), blocks=blocks)


def _sheet_meta(grids: list[Grid]) -> dict | None:
    """A workbook's metadata: what its first sheet prints above the table (title, 附件 label, issuer in the title).

    A workbook of several sheets titles each with the workbook's title and the sheet's own part
    (…指导目录（行政检查类）, …指导目录（行政许可类）): the title they share is the workbook's.
    """
    from os.path import commonprefix

    from pipeline.meta.document import blocks_to_document_meta, sheet_title_lines

    if not grids:
        return None
    meta = blocks_to_document_meta(sheet_title_lines(grids[0]))
    titles = [blocks_to_document_meta(sheet_title_lines(g))["title"] for g in grids[1:]]
    if meta.get("title") and titles and all(titles):
        shared = commonprefix([meta["title"], *titles]).rstrip("（(〔[【—－-·：: ")
        if len(shared) >= 4 and shared != meta["title"]:
            meta["title"] = shared
    return meta


def xlsx_file_to_extracted(data: bytes, file: str) -> Extracted:
    """Read every sheet of an XLSX workbook."""
    from pipeline.extract.xlsx import xlsx_to_grids

    grids = xlsx_to_grids(data, file=file)
    return Extracted(meta=_sheet_meta(grids), grids=grids)


def xls_file_to_extracted(data: bytes, file: str) -> Extracted:
    """Read every sheet of an XLS (or WPS .et) workbook."""
    from pipeline.extract.xls import xls_to_grids

    grids = xls_to_grids(data, file=file)
    return Extracted(meta=_sheet_meta(grids), grids=grids)


def office_file_to_extracted(kind: str):
    """Return the extractor that converts a ``kind`` file with LibreOffice, then reads it as DOCX/XLSX."""
    from dataclasses import replace

    def extract(data: bytes, file: str) -> Extracted:
        from pipeline.extract.office import convert_office

        conv = convert_office(data, kind, file=file)
        out = EXTRACTORS[conv.target](conv.data, file)
        for grid in out.grids:
            grid.source_format = kind  # lineage: the raw file's format; the hint says how it was read
            grid.hints["converted"] = conv.note
        out.blocks = [replace(b, source_format=kind) for b in out.blocks]
        out.converted, out.warnings = conv.note, out.warnings + conv.warnings
        return out

    return extract


EXTRACTORS = {"html": html_file_to_extracted, "pdf": pdf_file_to_extracted, "docx": docx_file_to_extracted,
              "xlsx": xlsx_file_to_extracted, "xls": xls_file_to_extracted,
              **{kind: office_file_to_extracted(kind) for kind in ("doc", "odt", "rtf", "ods")}}


# --- tables and recognize: every grid read as a table, data tables kept, typed ones recognized -------

def grids_to_tables(result: FileResult, profiles: list) -> list[tuple[Grid, object]]:
    """Read every grid as a table; add each data table's generic records; return the typed ones."""
    from pipeline.tables import grid_to_table, table_to_records
    from pipeline.kinds.recognize import why_not_recognized

    raw = result.raw
    recognized = []
    for i, grid in enumerate(result.extracted.grids):
        table = grid_to_table(grid, 0)
        outcome = TableOutcome(i, grid.locator, table.is_data, why_not=table.why_not)
        result.tables.append(outcome)
        if not table.is_data:
            continue
        table.table_no = outcome.table_no = sum(o.is_data for o in result.tables)
        outcome.table_id = f"{raw.sha256[:16]}:{table.table_no}"
        records = table_to_records(table, table_id=outcome.table_id, notice_id=raw.notice_id,
                                   raw_file=raw.path, raw_sha256=raw.sha256)
        if (rec := recognize_table(table, profiles)) is not None:
            records["source_tables"][0]["kind"] = outcome.kind = rec.profile.kind
            rec.table_id = outcome.table_id
            outcome.unmatched = unmatched_names(rec)
            if rec.profile.is_built_in:
                recognized.append((grid, rec))
            else:
                rows_at = {r["row_no"]: (r["locator"], r["pages"]) for r in records["table_rows"]}
                kind_records(result, rec, rows_at)
        else:
            outcome.why_not = why_not_recognized(table, profiles)
            records["source_tables"][0]["untyped_reason"] = outcome.why_not
        for name, rows in records.items():
            result.add(name, rows)
    return recognized


def unmatched_names(rec) -> list[str]:
    """Header columns of a recognized table that no field of its profile names."""
    from pipeline.kinds.records import field_columns, unmatched_columns

    return [rec.table.columns[k] for k in unmatched_columns(rec.table, field_columns(rec.table, rec.columns))]


def kind_records(result: FileResult, rec, rows_at: dict) -> None:
    """Fill the typed table a profile defines (no code per kind: the profile's fields and types)."""
    from pipeline.kinds.records import table_to_kind_records

    raw = result.raw
    rows, findings = table_to_kind_records(rec.table, rec.profile, rec.columns, table_id=rec.table_id,
                                           notice_id=raw.notice_id, raw_file=raw.path, raw_sha256=raw.sha256,
                                           row_locators=rows_at)
    result.add(rec.profile.target, rows)
    result.findings.extend(findings)


# --- normalize: one function per target table -----------------------------------------------------

def _provisions(result: FileResult, grid: Grid, rec, notice_id: str) -> None:
    from pipeline.kinds.provisions import grid_to_provision_records

    rows, lineage = grid_to_provision_records(
        grid, rec, notice_id=notice_id, raw_file=result.raw.path, raw_sha256=result.raw.sha256
    )
    result.add("service_provisions", rows)
    result.add("cell_lineage", lineage)


def jurisdiction_of(result: FileResult) -> str | None:
    """The jurisdiction agency names of this file resolve in: its notice's (page, parent page, or its own text)."""
    return result.raw.jurisdiction or (result.meta or {}).get("jurisdiction_code")


def _tasks_from_grid(result: FileResult, grid: Grid, rec, notice_id: str) -> None:
    from pipeline.kinds.tasks import grid_to_tasks

    _add_tasks(result, grid_to_tasks(grid, rec, notice_id=notice_id, raw_file=result.raw.path,
                                     raw_sha256=result.raw.sha256, jurisdiction=jurisdiction_of(result)))


def _add_tasks(result: FileResult, extraction) -> None:
    result.add("tasks", extraction.tasks)
    result.add("task_units", extraction.units)
    result.add("targets", extraction.targets)
    result.findings.extend(extraction.findings)


NORMALIZERS = {"service_provisions": _provisions, "tasks": _tasks_from_grid}


def blocks_to_records(result: FileResult, notice_id: str) -> str | None:
    """Read structured text (task lists) when the file had no recognized table; return why none was read."""
    if not result.extracted.blocks:
        return ("its text is not read apart from its tables" if result.extracted.grids
                else "no text blocks were read from the file")
    from pipeline.kinds.tasks import blocks_to_tasks

    try:
        extraction = blocks_to_tasks(
            result.extracted.blocks, notice_id=notice_id, raw_file=result.raw.path,
            raw_sha256=result.raw.sha256, source_format=result.raw.format, jurisdiction=jurisdiction_of(result),
            data_tables=[o.locator for o in result.tables if o.is_data],
        )
    except PipelineError as exc:  # no task structure either: the caller reports the file as no_table
        result.warnings.append(str(exc))
        return exc.reason
    _add_tasks(result, extraction)
    return None


# --- the chain --------------------------------------------------------------------------------------

def notice_id_for(raw: RawFile, meta: dict | None, body_text: str | None = None) -> str:
    """Key a file to its notice: provenance or its page first, then what its content says (pipeline/meta/identity.py:
    the normalized 文号, the 索引号, the site's article id, else a content hash) — never the file name."""
    from pipeline.meta.identity import notice_id_for as content_identity

    if raw.notice_id:
        return raw.notice_id
    notice_id, how = content_identity(meta, raw, body_text=body_text)
    raw.notice_id_from = how
    return notice_id


def raw_file_to_result(raw: RawFile, data: bytes) -> FileResult:
    """Run every stage on one raw file; a failure is recorded with its stage, never raised."""
    result = FileResult(raw=raw)
    stage = "detect"
    try:
        raw.format = detect_format(data, file=raw.path)
        stage = "extract"
        result.extracted = EXTRACTORS[raw.format](data, raw.path)
        body_text = "\n".join(b.text for b in result.extracted.blocks) or None
        raw.notice_id = notice_id_for(raw, result.extracted.meta, body_text)
        result.findings.extend((result.extracted.meta or {}).pop("meta_findings", None) or [])
        result.warnings.extend(result.extracted.warnings)
        for grid in result.extracted.grids:
            result.warnings.extend(grid.warnings)
        stage = "recognize"
        recognized = grids_to_tables(result, load_table_profiles())
        stage = "normalize"
        for grid, rec in recognized:
            NORMALIZERS[rec.profile.target](result, grid, rec, raw.notice_id)
        no_list = blocks_to_records(result, raw.notice_id) if not result.n_records else None
        kept = [o for o in result.tables if o.is_data]
        if not result.n_records and not kept:
            result.status = "no_table"
            result.stage = "recognize"
            result.reason = (f"no data table and no task list ({len(result.extracted.grids)} table(s) seen, none a data "
                             f"table; no task list in the text: {no_list}); if the notice has one, add its header "
                             "words to pipeline/data/table_profiles.toml")
        elif not result.n_records:
            result.reason = (f"{len(kept)} table(s) loaded as generic tables only: "
                             + "; ".join(f"table {o.table_no}: {o.why_not}" for o in kept)
                             + " (a known kind? add its header words to pipeline/data/table_profiles.toml)"
                             + f"; no task list in the text: {no_list}")
    except PipelineError as exc:
        exc.located(file=raw.path, stage=stage)
        result.status, result.stage, result.reason = "failed", exc.stage, str(exc)
    except Exception as exc:  # a bug or an input nobody foresaw: keep the other notices loading
        result.status, result.stage = "failed", stage
        result.reason = f"file {raw.path}, stage {stage}: unexpected {type(exc).__name__}: {exc}"
        result.warnings.append(traceback.format_exc(limit=3))
    if raw.notice_id is None:
        raw.notice_id = notice_id_for(raw, None)
    return result
