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

    @property
    def meta(self) -> dict | None:
        return self.extracted.meta

    def add(self, table: str, rows: list[dict]) -> None:
        self.records.setdefault(table, []).extend(rows)

    @property
    def n_records(self) -> int:
        return sum(len(v) for k, v in self.records.items() if k != "cell_lineage")


# --- extract: one function per format ------------------------------------------------------------

def html_file_to_extracted(data: bytes, file: str) -> Extracted:
    """Decode a page, read its metadata through the site profiles, and build its grids and blocks."""
    from pipeline.ingest.decode import decode_bytes
    from pipeline.extract.blocks import html_to_blocks
    from pipeline.extract.html import html_to_grids, parse_html
    from pipeline.meta.page import html_to_notice_meta, load_site_profiles

    text, how = decode_bytes(data, file=file)
    doc = parse_html(text)
    return Extracted(
        meta=html_to_notice_meta(doc, load_site_profiles()),
        grids=html_to_grids(doc),
        blocks=html_to_blocks(doc),
        decoded_as=how,
    )


def pdf_file_to_extracted(data: bytes, file: str) -> Extracted:
    """Read a PDF's tables (stitched across pages) and its text blocks."""
    from pipeline.extract.blocks import pdf_to_blocks
    from pipeline.extract.pdf import pdf_to_grids

    grids = pdf_to_grids(data, file=file)
    return Extracted(grids=grids, blocks=pdf_to_blocks(data, file=file) if not grids else [])


def docx_file_to_extracted(data: bytes, file: str) -> Extracted:
    """Read a Word document's tables and its body paragraphs."""
    from pipeline.extract.docx import docx_to_blocks, docx_to_grids

    return Extracted(grids=docx_to_grids(data, file=file), blocks=docx_to_blocks(data, file=file))


def xlsx_file_to_extracted(data: bytes, file: str) -> Extracted:
    """Read every sheet of an XLSX workbook."""
    from pipeline.extract.xlsx import xlsx_to_grids

    return Extracted(grids=xlsx_to_grids(data, file=file))


def xls_file_to_extracted(data: bytes, file: str) -> Extracted:
    """Read every sheet of an XLS (or WPS .et) workbook."""
    from pipeline.extract.xls import xls_to_grids

    return Extracted(grids=xls_to_grids(data, file=file))


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


# --- normalize: one function per target table -----------------------------------------------------

def _provisions(result: FileResult, grid: Grid, rec, notice_id: str) -> None:
    from pipeline.kinds.provisions import grid_to_provision_records

    rows, lineage = grid_to_provision_records(
        grid, rec, notice_id=notice_id, raw_file=result.raw.path, raw_sha256=result.raw.sha256
    )
    result.add("service_provisions", rows)
    result.add("cell_lineage", lineage)


def _tasks_from_grid(result: FileResult, grid: Grid, rec, notice_id: str) -> None:
    from pipeline.kinds.tasks import grid_to_tasks

    _add_tasks(result, grid_to_tasks(grid, rec, notice_id=notice_id, raw_file=result.raw.path,
                                     raw_sha256=result.raw.sha256))


def _add_tasks(result: FileResult, extraction) -> None:
    result.add("tasks", extraction.tasks)
    result.add("task_units", extraction.units)
    result.add("targets", extraction.targets)
    result.findings.extend(extraction.findings)


NORMALIZERS = {"service_provisions": _provisions, "tasks": _tasks_from_grid}


def blocks_to_records(result: FileResult, notice_id: str) -> None:
    """Read structured text (task lists) when the file had no recognized table."""
    if not result.extracted.blocks:
        return
    from pipeline.kinds.tasks import blocks_to_tasks

    try:
        extraction = blocks_to_tasks(
            result.extracted.blocks, notice_id=notice_id, raw_file=result.raw.path,
            raw_sha256=result.raw.sha256, source_format=result.raw.format,
        )
    except PipelineError as exc:  # no task structure either: the caller reports the file as no_table
        result.warnings.append(str(exc))
        return
    _add_tasks(result, extraction)


# --- the chain --------------------------------------------------------------------------------------

def notice_id_for(raw: RawFile, meta: dict | None) -> str:
    """Key a file to its notice: provenance first, then the 文号 in its content, then its file stem."""
    if raw.notice_id:
        return raw.notice_id
    if meta and meta.get("doc_number"):
        raw.notice_id_from = "content"
        return meta["doc_number"]
    raw.notice_id_from = "stem"
    name = raw.path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0]


def raw_file_to_result(raw: RawFile, data: bytes) -> FileResult:
    """Run every stage on one raw file; a failure is recorded with its stage, never raised."""
    result = FileResult(raw=raw)
    stage = "detect"
    try:
        raw.format = detect_format(data, file=raw.path)
        stage = "extract"
        result.extracted = EXTRACTORS[raw.format](data, raw.path)
        raw.notice_id = notice_id_for(raw, result.extracted.meta)
        result.warnings.extend(result.extracted.warnings)
        for grid in result.extracted.grids:
            result.warnings.extend(grid.warnings)
        stage = "recognize"
        profiles = load_table_profiles()
        recognized = [(g, rec) for g in result.extracted.grids if (rec := recognize_table(g, profiles))]
        stage = "normalize"
        for grid, rec in recognized:
            NORMALIZERS[rec.profile.target](result, grid, rec, raw.notice_id)
        if not result.n_records:
            blocks_to_records(result, raw.notice_id)
        if not result.n_records:
            result.status = "no_table"
            result.stage = "recognize"
            result.reason = (
                f"no table or task list recognized ({len(result.extracted.grids)} table(s) seen); "
                "add the header words to pipeline/data/table_profiles.toml if this notice has one"
            )
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
