"""The warehouse contract: every table, its grain, its columns with types and meanings.

DDL and the data dictionary (docs/data_dictionary.md) are both generated from here, so they cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    doc: str
    nullable: bool = True


@dataclass(frozen=True)
class Table:
    name: str
    grain: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def C(name: str, type_: str, doc: str, nullable: bool = True) -> Column:
    return Column(name, type_, doc, nullable)


LINEAGE = (
    C("raw_file", "VARCHAR", "Raw file name under raw/ the row was extracted from.", False),
    C("raw_sha256", "VARCHAR", "sha256 of the raw file's bytes.", False),
)

TABLES: dict[str, Table] = {}


def table(name: str, grain: str, *columns: Column, key: tuple[str, ...] = ()) -> Table:
    t = Table(name, grain, tuple(columns), key)
    TABLES[name] = t
    return t


table(
    "notices",
    "one row per notice version (a notice's page or, lacking one, its first file)",
    C("notice_id", "VARCHAR", "Stable notice key: the 文号 as published (e.g. 厦民〔2025〕95号), else the file stem.", False),
    C("version", "INTEGER", "Version number of this notice, 1 for the first bytes seen.", False),
    C("title", "VARCHAR", "Title as published."),
    C("doc_number", "VARCHAR", "文号 as published."),
    C("index_no", "VARCHAR", "索引号 (information-disclosure index number) as published."),
    C("issuer", "VARCHAR", "Issuing body as published (发布机构 / 发布单位)."),
    C("published_on", "DATE", "Document date (公文生成日期 / 发布日期)."),
    C("posted_on", "DATE", "Date the page was posted on the site (page meta PubDate), where given."),
    C("effective_on", "DATE", "生效日期, where the site gives it."),
    C("expires_on", "DATE", "失效日期, where the site gives it (----- means none: NULL)."),
    C("site_profile", "VARCHAR", "Site profile whose metadata layout matched the page."),
    C("format", "VARCHAR", "Format of the file the metadata came from (html, pdf, docx).", False),
    C("formats", "VARCHAR[]", "Formats of all the notice's files loaded in this version."),
    C("source_url", "VARCHAR", "URL the page was fetched from, where known."),
    *LINEAGE,
    C("ingested_at", "TIMESTAMP", "When these bytes were first loaded.", False),
    C("valid_from", "TIMESTAMP", "When this version became current.", False),
    C("valid_to", "TIMESTAMP", "When a newer version replaced it; NULL while current."),
    C("is_current", "BOOLEAN", "True for the newest version of the notice.", False),
    key=("notice_id", "version"),
)

table(
    "raw_files",
    "one row per file under raw/ seen by the last refresh, with its outcome",
    C("raw_file", "VARCHAR", "File name under raw/.", False),
    C("raw_sha256", "VARCHAR", "sha256 of its bytes.", False),
    C("notice_id", "VARCHAR", "Notice the file belongs to (from provenance, else its content, else its stem)."),
    C("role", "VARCHAR", "page or attachment."),
    C("format", "VARCHAR", "Detected format (html, pdf, docx) or NULL where undetected."),
    C("size_bytes", "BIGINT", "File size.", False),
    C("source_url", "VARCHAR", "URL it was fetched from, where known."),
    C("retrieved_on", "VARCHAR", "When it was fetched or copied, as recorded in its provenance."),
    C("decoded_as", "VARCHAR", "How text was decoded (source:codec), for HTML."),
    C("status", "VARCHAR", "loaded, no_table (nothing recognized; notice kept) or failed.", False),
    C("stage", "VARCHAR", "Stage that failed or reported, where status is not loaded."),
    C("reason", "VARCHAR", "What went wrong and what to do."),
    C("tables_found", "INTEGER", "Tables (grids) found in the file."),
    C("records", "INTEGER", "Tidy records extracted from the file (before choosing one format per notice)."),
    C("ingested_at", "TIMESTAMP", "When these bytes were first loaded.", False),
    key=("raw_file",),
)

table(
    "service_provisions",
    "one row per notice × service item × population",
    C("provision_id", "VARCHAR", "Stable key: notice_id:item_no:population_no.", False),
    C("notice_id", "VARCHAR", "Notice the list belongs to.", False),
    C("category", "VARCHAR", "服务类别 as published (whitespace-normalized), from a category column or a section row."),
    C("item_no", "INTEGER", "序号 of the service item.", False),
    C("service_item", "VARCHAR", "服务项目 as published.", False),
    C("population_no", "INTEGER", "Position of this population within the item, from 1.", False),
    C("population", "VARCHAR", "对象范围 as published.", False),
    C("content", "VARCHAR", "服务内容 as published."),
    C("standard_text", "VARCHAR", "服务标准 as published."),
    C("supplier_text", "VARCHAR", "供给主体 as published."),
    C("source_format", "VARCHAR", "Format the row was taken from (html, docx, pdf).", False),
    *LINEAGE,
    C("table_index", "INTEGER", "0-based index of the table in the raw file.", False),
    C("source_row", "INTEGER", "0-based grid row of this population in that table.", False),
    C("source_rows", "INTEGER[]", "Every grid row whose cell fed this row (merged category/item cells included).", False),
    C("pages", "INTEGER[]", "PDF pages (1-based) the row's cells sit on; NULL for HTML/DOCX."),
    key=("provision_id",),
)

table(
    "cell_lineage",
    "one row per tidy record × column: the grid cell the value came from",
    C("record_table", "VARCHAR", "Table of the record (service_provisions, tasks …).", False),
    C("record_id", "VARCHAR", "Key of the record in that table.", False),
    C("column_name", "VARCHAR", "Column of the record.", False),
    *LINEAGE,
    C("table_index", "INTEGER", "0-based table index in the raw file."),
    C("grid_row", "INTEGER", "0-based grid row the record reads."),
    C("grid_col", "INTEGER", "0-based grid column."),
    C("origin_row", "INTEGER", "Row of the cell carrying the text (differs where merged)."),
    C("origin_col", "INTEGER", "Column of the cell carrying the text."),
    C("locator", "VARCHAR", "DOM path, DOCX cell path or PDF page/box of the origin cell."),
    C("page", "INTEGER", "PDF page (1-based) of the origin cell."),
    C("bbox", "DOUBLE[]", "PDF bounding box of the origin cell (x0, top, x1, bottom) in points."),
)

table(
    "runs",
    "one row per refresh",
    C("run_id", "VARCHAR", "Identifier of the refresh (UTC start time).", False),
    C("started_at", "TIMESTAMP", "Start.", False),
    C("finished_at", "TIMESTAMP", "End."),
    C("status", "VARCHAR", "published, unchanged or gate_failed.", False),
    C("files_seen", "INTEGER", "Raw files seen."),
    C("files_new", "INTEGER", "Raw files whose bytes were not in the previous warehouse."),
    C("files_unchanged", "INTEGER", "Raw files already loaded with the same bytes."),
    C("files_failed", "INTEGER", "Raw files that failed (see raw_files)."),
    C("pipeline_fingerprint", "VARCHAR", "Hash of the code, profiles and registers that built the warehouse."),
)
