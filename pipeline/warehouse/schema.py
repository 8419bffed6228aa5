"""The warehouse contract: every table, its grain, its columns with types and meanings.

DDL, the Arrow schemas of partitions and the data dictionary (docs/data_dictionary.md) are all generated from
here, so they cannot drift. A table marked ``per_file`` is filled from raw files' partitions: its rows for every
file (all formats, all versions) live in the ``extracted`` schema of the warehouse (for QA), and the analyst table
holds those of each notice's published version and chosen format.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa


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
    per_file: bool = False  # rows come from raw files' partitions (see the module docstring)

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


def table(name: str, grain: str, *columns: Column, key: tuple[str, ...] = (), per_file: bool = False) -> Table:
    t = Table(name, grain, tuple(columns), key, per_file)
    TABLES[name] = t
    return t


_ARROW = {
    "VARCHAR": pa.string(),
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(),
    "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("us"),
    "JSON": pa.string(),
    "MAP(VARCHAR, VARCHAR)": pa.map_(pa.string(), pa.string()),
}


def arrow_type(sql_type: str) -> pa.DataType:
    if sql_type.endswith("[]"):
        return pa.list_(arrow_type(sql_type[:-2]))
    return _ARROW[sql_type]


def arrow_schema(table: Table) -> pa.Schema:
    return pa.schema([pa.field(c.name, arrow_type(c.type), nullable=c.nullable) for c in table.columns])


table(
    "notices",
    "one row per notice version (each distinct page of a notice, or lacking one its first file), with its status",
    C("notice_id", "VARCHAR", "Stable notice key: the normalized 文号 (e.g. 厦民〔2025〕95号), else the 索引号, else the site's article id, else a content hash.", False),
    C("version", "INTEGER", "Version number, 1 for the earliest by the documents' own dates (published/posted date, else retrieval time, else first sight).", False),
    C("status", "VARCHAR", "published (the version analysts see), superseded (an older published version), or quarantined (withheld: a per-notice expectation failed; see quarantine_rows).", False),
    C("status_reason", "VARCHAR", "For a quarantined version: the expectations that failed and what to do; for a notice without typed rows: why."),
    C("title", "VARCHAR", "Title as published (site suffix removed)."),
    C("doc_number", "VARCHAR", "文号 as published."),
    C("doc_number_norm", "VARCHAR", "文号 with whitespace removed and bracket variants folded to 〔〕 (the form notice_id uses)."),
    C("index_no", "VARCHAR", "索引号 (information-disclosure index number) as published."),
    C("issuer", "VARCHAR", "Issuing body as published (发布机构 / 发布单位 / 发文机关)."),
    C("written_on", "DATE", "成文日期, where printed."),
    C("published_on", "DATE", "Document date (公文生成日期 / 发布日期)."),
    C("posted_on", "DATE", "Date the page was posted on the site (page meta PubDate), where given."),
    C("effective_on", "DATE", "生效日期, where printed."),
    C("expires_on", "DATE", "失效日期, where printed (----- means none: NULL)."),
    C("source", "VARCHAR", "来源 / 信息来源 / ContentSource as printed."),
    C("site", "VARCHAR", "Site name (SiteName meta or the site profile)."),
    C("site_column", "VARCHAR", "Site column the page is filed under (ColumnName meta)."),
    C("jurisdiction_code", "VARCHAR", "Jurisdiction of the notice (pipeline/data/jurisdictions.toml), from the site, the issuer or the 文号 prefix."),
    C("jurisdiction_name", "VARCHAR", "Its name (厦门市, 广州市, 国家 …)."),
    C("jurisdiction_from", "VARCHAR", "What decided it (site_domain:xm.gov.cn, issuer:浙江省, doc_number:穗; a later one inside the first wins: doc_number:浙 (within issuer:国家)), or none: and why."),
    C("site_profile", "VARCHAR", "Site profile whose metadata layout matched the page."),
    C("notice_id_from", "VARCHAR", "How notice_id was found: provenance, doc_number, index_no, article_id, parent (an attachment of a known page) or content_hash."),
    C("format", "VARCHAR", "Format of the file the metadata came from (html, pdf, docx …).", False),
    C("formats", "VARCHAR[]", "Formats of all the notice's files in this version."),
    C("source_url", "VARCHAR", "URL the page was fetched from, where known."),
    *LINEAGE,
    C("ingested_at", "TIMESTAMP", "When these bytes were first seen (history/files.jsonl).", False),
    C("version_date", "TIMESTAMP", "The date versions are ordered by: published/posted date of the document, else retrieval time, else first sight.", False),
    C("valid_from", "TIMESTAMP", "When this version became current: its version_date, or for a revision the document dates no later than the version before, when it was retrieved or first seen.", False),
    C("valid_to", "TIMESTAMP", "When a newer published version replaced it; NULL while current."),
    C("is_current", "BOOLEAN", "True for the one published version of the notice analysts see.", False),
    key=("notice_id", "version"),
)

table(
    "raw_files",
    "one row per raw file (and per earlier bytes of a file edited in place) seen by the last refresh, with its outcome",
    C("raw_file", "VARCHAR", "File name under raw/; name@<sha12> for earlier bytes of a file edited in place (kept in history/objects).", False),
    C("raw_sha256", "VARCHAR", "sha256 of its bytes.", False),
    C("current", "BOOLEAN", "False for earlier bytes of a file edited in place.", False),
    C("notice_id", "VARCHAR", "Notice the file belongs to (provenance, else its page, else its content)."),
    C("role", "VARCHAR", "page (carries the notice's metadata) or attachment."),
    C("format", "VARCHAR", "Format detected from the bytes (html, pdf, docx, xlsx, xls, doc …) or NULL where undetected."),
    C("size_bytes", "BIGINT", "File size.", False),
    C("source_url", "VARCHAR", "URL it was fetched from, where known."),
    C("parent_url", "VARCHAR", "For an attachment: the page that linked it, where known."),
    C("retrieved_on", "VARCHAR", "When it was fetched or copied, as recorded in its provenance."),
    C("decoded_as", "VARCHAR", "How text was decoded (source:codec), for HTML."),
    C("converted", "VARCHAR", "How a legacy office file was converted before reading (e.g. doc→docx by LibreOffice, sandboxed)."),
    C("status", "VARCHAR", "loaded, no_table (nothing recognized; notice kept), failed, or quarantined (read, but its notice version was withheld by the gate).", False),
    C("stage", "VARCHAR", "Stage that failed or reported, where status is not loaded."),
    C("reason", "VARCHAR", "What went wrong and what to do."),
    C("tables_found", "INTEGER", "Data tables found in the file (after stitching pages; layout tables not counted)."),
    C("tables_typed", "INTEGER", "Of those, tables a profile recognized (loaded into a typed table as well)."),
    C("tables_skipped", "INTEGER", "Tables that are not data tables (layout, link boxes, metadata blocks)."),
    C("untyped", "VARCHAR[]", "For each data table not typed: why (no profile matched, best candidate …)."),
    C("unmatched_columns", "VARCHAR[]", "For each typed table: header columns no field of its profile names (kept in the typed rows' extra)."),
    C("records", "INTEGER", "Typed records extracted from the file (before choosing one format per notice)."),
    C("ingested_at", "TIMESTAMP", "When these bytes were first seen.", False),
    key=("raw_file",),
)

# --- the generic table layer: every table of every file (pipeline/tables) --------------------------------

table(
    "source_tables",
    "one row per logical table of a file (after stitching pages), whatever its kind",
    C("table_id", "VARCHAR", "Stable key: first 16 hex of the raw file's sha256 : table_no.", False),
    C("notice_id", "VARCHAR", "Notice of the file.", False),
    *LINEAGE,
    C("table_no", "INTEGER", "1-based position of the table among the file's data tables.", False),
    C("title", "VARCHAR", "Caption or title row(s) as published, without an attachment label row."),
    C("label", "VARCHAR", "Attachment label printed above the title (附件, 附件1), trailing colon dropped."),
    C("kind", "VARCHAR", "Profile that recognized the table (service_list, task_list, …); NULL when none did."),
    C("columns", "VARCHAR[]", "Header names in column order; multi-row headers flattened top to bottom with · (统筹基金最高支付限额·职工医保).", False),
    C("n_header_rows", "INTEGER", "Header rows (0 for a key/value form).", False),
    C("n_data_rows", "INTEGER", "Data rows (title, header, section, note, total and blank rows excluded).", False),
    C("n_cols", "INTEGER", "Logical columns.", False),
    C("pages", "INTEGER[]", "PDF pages the table sits on; NULL for other formats."),
    C("locator", "VARCHAR", "Where in the file: table[n] DOM path, pages of a PDF table, sheet of a workbook."),
    C("sheet", "VARCHAR", "Sheet name, for spreadsheets."),
    C("source_format", "VARCHAR", "Format of the file (html, pdf, docx, xlsx …).", False),
    C("shape", "VARCHAR", "columnar, or key_value (a two-column label/value form without a header row).", False),
    C("notes", "VARCHAR[]", "Note rows and text printed below the table (注：…, 单位：万元)."),
    C("untyped_reason", "VARCHAR", "Why no profile recognized the table (NULL when kind is set)."),
    key=("table_id",),
    per_file=True,
)

table(
    "table_rows",
    "one row per data row of a logical table",
    C("table_id", "VARCHAR", "Table (source_tables.table_id).", False),
    C("notice_id", "VARCHAR", "Notice of the file.", False),
    C("row_no", "INTEGER", "1-based position among the table's data rows.", False),
    C("section", "VARCHAR", "Section rows in force, outermost first, joined by ' / ' (一、内科用药 / （一）解表剂)."),
    C("cells", "VARCHAR[]", "Values in column order; a merged cell's text is carried into every position it covers.", False),
    C("record", "MAP(VARCHAR, VARCHAR)", "Column name → value (a repeated column name gets #2, #3 …).", False),
    C("grid_rows", "INTEGER[]", "0-based grid rows of the file's table this row covers.", False),
    C("pages", "INTEGER[]", "PDF pages the row sits on; NULL for other formats."),
    C("locator", "VARCHAR", "Where the row's first cell is in the file (DOM path, page/box, sheet!A1)."),
    *LINEAGE,
    key=("table_id", "row_no"),
    per_file=True,
)

table(
    "table_cells",
    "one row per origin cell of a logical table (covered positions of merged cells are not rows)",
    C("table_id", "VARCHAR", "Table (source_tables.table_id).", False),
    C("notice_id", "VARCHAR", "Notice of the file.", False),
    C("row", "INTEGER", "0-based grid row of the cell.", False),
    C("col", "INTEGER", "0-based grid column of the cell.", False),
    C("rowspan", "INTEGER", "Rows the cell spans.", False),
    C("colspan", "INTEGER", "Grid columns the cell spans.", False),
    C("text", "VARCHAR", "Text as published (paragraph breaks kept as line breaks).", False),
    C("role", "VARCHAR", "Role of the cell's row: title, header, section, data, note, total, blank or repeated_header.", False),
    C("logical_col", "INTEGER", "0-based logical column (index into source_tables.columns); NULL for a cell spanning the table."),
    C("locator", "VARCHAR", "DOM path, DOCX cell path, PDF page/box or sheet!A1 of the cell."),
    C("page", "INTEGER", "PDF page (1-based)."),
    C("bbox", "DOUBLE[]", "PDF bounding box (x0, top, x1, bottom) in points."),
    *LINEAGE,
    key=("table_id", "row", "col"),
    per_file=True,
)

table(
    "quarantine_rows",
    "one row per offending row of a notice version the gate withheld (or one per failed expectation without rows)",
    C("notice_id", "VARCHAR", "Notice withheld.", False),
    C("raw_file", "VARCHAR", "Page file of the withheld version.", False),
    C("raw_sha256", "VARCHAR", "Its sha256.", False),
    C("suite", "VARCHAR", "Expectation suite (the table it guards).", False),
    C("expectation", "VARCHAR", "The expectation that failed, with its columns.", False),
    C("why", "VARCHAR", "Why the expectation exists (from expectations/*.toml).", False),
    C("row_key", "VARCHAR", "The offending row, by its key (provision_id=…); NULL for a table-level failure."),
    C("detail", "VARCHAR", "The offending values."),
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
    C("table_id", "VARCHAR", "The generic table the row was read from (source_tables.table_id)."),
    C("source_row", "INTEGER", "0-based grid row of this population in that table.", False),
    C("source_rows", "INTEGER[]", "Every grid row whose cell fed this row (merged category/item cells included).", False),
    C("pages", "INTEGER[]", "PDF pages (1-based) the row's cells sit on; NULL for HTML/DOCX."),
    C("extra", "MAP(VARCHAR, VARCHAR)", "Header columns of the source table no field of the profile names: header → value (nothing is dropped)."),
    key=("provision_id",),
    per_file=True,
)

table(
    "cell_lineage",
    "one row per tidy record × column: the grid cell the value came from",
    C("record_table", "VARCHAR", "Table of the record (service_provisions, tasks …).", False),
    C("record_id", "VARCHAR", "Key of the record in that table.", False),
    C("column_name", "VARCHAR", "Column of the record.", False),
    C("notice_id", "VARCHAR", "Notice of the record.", False),
    *LINEAGE,
    C("table_index", "INTEGER", "0-based table index in the raw file."),
    C("grid_row", "INTEGER", "0-based grid row the record reads."),
    C("grid_col", "INTEGER", "0-based grid column."),
    C("origin_row", "INTEGER", "Row of the cell carrying the text (differs where merged)."),
    C("origin_col", "INTEGER", "Column of the cell carrying the text."),
    C("locator", "VARCHAR", "DOM path, DOCX cell path or PDF page/box of the origin cell."),
    C("page", "INTEGER", "PDF page (1-based) of the origin cell."),
    C("bbox", "DOUBLE[]", "PDF bounding box of the origin cell (x0, top, x1, bottom) in points."),
    per_file=True,
)

table(
    "notice_changes",
    "one row per record added or removed, or per column changed, between consecutive versions of a notice",
    C("notice_id", "VARCHAR", "Notice.", False),
    C("from_version", "INTEGER", "Older version.", False),
    C("to_version", "INTEGER", "Newer version.", False),
    C("record_table", "VARCHAR", "Table of the record (service_provisions, tasks).", False),
    C("record_id", "VARCHAR", "Key of the record (same key in both versions).", False),
    C("change", "VARCHAR", "added, removed or changed.", False),
    C("column_name", "VARCHAR", "Changed column; NULL for added/removed records."),
    C("old_value", "VARCHAR", "Value in the older version (as published)."),
    C("new_value", "VARCHAR", "Value in the newer version (as published)."),
    C("from_raw_sha256", "VARCHAR", "sha256 of the older version's file.", False),
    C("to_raw_sha256", "VARCHAR", "sha256 of the newer version's file.", False),
)

table(
    "fetches",
    "one row per URL asked for by a refresh that fetched (history kept across refreshes)",
    C("run_id", "VARCHAR", "Refresh that fetched it (runs.run_id).", False),
    C("url", "VARCHAR", "URL asked for.", False),
    C("role", "VARCHAR", "listing, page or attachment.", False),
    C("outcome", "VARCHAR", "new, unchanged, not_modified, failed, skipped_host or robots_disallowed.", False),
    C("reason", "VARCHAR", "For a URL that did not land: the URL, the stage, the reason and what to do."),
    C("raw_file", "VARCHAR", "Raw file holding the bytes (new or already there)."),
    C("raw_sha256", "VARCHAR", "sha256 of those bytes."),
    C("status_code", "INTEGER", "HTTP status."),
    C("parent_url", "VARCHAR", "For an attachment: the notice page that linked it."),
)

table(
    "register_gaps",
    "one row per value the registers do not know (a standard, document or agency), for a maintainer to add",
    C("register", "VARCHAR", "Register to extend: standards/documents (citations) or agencies (units, suppliers).", False),
    C("status", "VARCHAR", "unknown, or near_match (a citation close to a registered title).", False),
    C("value", "VARCHAR", "The code, title or name as written.", False),
    C("occurrences", "INTEGER", "How many records cite or name it.", False),
    C("record_table", "VARCHAR", "Table of the records.", False),
    C("example_record_id", "VARCHAR", "One record that cites or names it.", False),
    C("jurisdiction_code", "VARCHAR", "For an agency: the jurisdiction of the notices naming it, whose register file lacks it."),
)

table(
    "runs",
    "one row per refresh",
    C("run_id", "VARCHAR", "Identifier of the refresh (UTC start time and a random suffix).", False),
    C("started_at", "TIMESTAMP", "Start.", False),
    C("finished_at", "TIMESTAMP", "End."),
    C("status", "VARCHAR", "published, unchanged or gate_failed.", False),
    C("files_seen", "INTEGER", "Raw files seen."),
    C("files_new", "INTEGER", "Raw files whose bytes were not in the previous warehouse."),
    C("files_unchanged", "INTEGER", "Raw files already loaded with the same bytes."),
    C("files_failed", "INTEGER", "Raw files that failed (see raw_files)."),
    C("pipeline_fingerprint", "VARCHAR", "Hash of the code, profiles and registers that built the warehouse."),
)

# --- task-decomposition notices (issue 4) ------------------------------------------------------------

TEXT_LINEAGE = (
    C("source_format", "VARCHAR", "Format the row was taken from (html, pdf, docx).", False),
    *LINEAGE,
    C("locator", "VARCHAR", "Where in the raw file: XPath of the paragraph(s) (HTML), `page P lines A-B` (PDF) or the table cell; several joined by `; `.", False),
    C("page", "INTEGER", "PDF page (1-based) the row starts on; NULL for HTML."),
)
TASK_LINEAGE = tuple(
    C("locator", "VARCHAR", "Where in the raw file: XPath of the paragraph(s) (HTML) or `page P lines A-B` (PDF) of the task text; for a table row, the task text's cell, then its title's and its deadline's cells; several joined by `; `.", False)
    if c.name == "locator" else c for c in TEXT_LINEAGE)

table(
    "tasks",
    "one row per task of a task-decomposition notice",
    C("task_id", "VARCHAR", "Stable key: notice_id:outline path, e.g. 厦府办〔2009〕254号:二.一.2 (an unnumbered task is its section's path; a task of several table rows gets .part per row, 3.1, 3.2; a number repeated by another 序号 cell or paragraph gets #n).", False),
    C("notice_id", "VARCHAR", "Notice the task belongs to.", False),
    C("seq", "INTEGER", "Position of the task in the notice, from 1.", False),
    C("section", "VARCHAR", "Section numeral as published (二 for 二、…)."),
    C("section_no", "INTEGER", "Section numeral as a number."),
    C("section_title", "VARCHAR", "Section heading as published, without its numeral."),
    C("subsection", "VARCHAR", "Sub-section numeral as published (一 for （一）…)."),
    C("subsection_no", "INTEGER", "Sub-section numeral as a number."),
    C("subsection_title", "VARCHAR", "Sub-section heading as published, without its numeral."),
    C("task_no", "INTEGER", "Task number (1 for 1.…, the 序号 of a table row); NULL for an unnumbered task."),
    C("part", "INTEGER", "Row of the task among the rows one 序号 cell spans (a rowspan'd number over rows of different content or units: each row is a part, from 1); NULL for a task of one row or paragraph."),
    C("task_title", "VARCHAR", "Title column of a task table as published (工作事项, 重点任务, 工作任务 …) when the table also has a content column (主要内容, 具体措施 …); NULL otherwise (a lone title column is the task_text)."),
    C("task_text", "VARCHAR", "Task text as published (whitespace-normalized, number removed): the content column of a task table, or its title column when it has no content column (or the row's content cell is empty); a paragraph split by a page break is joined (see dq_flags).", False),
    C("deadline_text", "VARCHAR", "Deadline as published (完成时限 / 时间节点 column, 完成时限： label), e.g. 2025年底前; NULL when none is given."),
    C("deadline_date", "DATE", "Last day deadline_text allows: the date named (2025年6月30日前 -> 2025-06-30) or the end of the period named (2025年底前 -> 2025-12-31, 2025年上半年 -> 2025-06-30, 2025年12月 -> 2025-12-31); NULL for an ongoing or recurring deadline or one not parsed (finding deadline_not_parsed)."),
    C("deadline_period", "VARCHAR", "Period deadline_text names: YYYY, YYYY-MM, YYYY-MM-DD, YYYY-H1/H2, YYYY-Q1..Q4, YYYY/YYYY (a span of years), ongoing (长期坚持, 持续推进), yearly / yearly-MM / yearly-MM-DD, half-yearly, quarterly, monthly (每年12月 -> yearly-12); NULL when not parsed. Vocabulary: [deadline] of pipeline/data/task_profiles.toml."),
    *TASK_LINEAGE,
    C("pages", "INTEGER[]", "PDF pages the task text sits on; NULL for HTML."),
    C("extra", "MAP(VARCHAR, VARCHAR)", "A task table's header columns no task field reads: header → value (nothing is dropped; e.g. 备注)."),
    key=("task_id",),
    per_file=True,
)

table(
    "task_units",
    "one row per unit named for a task (lead or co-organizing agency, or an office inside one), compound mentions split into their units; a cell or mention saying no unit (/, —, 无) gives no row",
    C("unit_id", "VARCHAR", "Stable key: task_id:role:position.", False),
    C("task_id", "VARCHAR", "Task the unit is assigned to.", False),
    C("notice_id", "VARCHAR", "Notice of the task.", False),
    C("role", "VARCHAR", "lead (牵头单位 and synonyms), co (配合单位/协办单位 and synonyms), lead_office or co_office (牵头处室 / 配合处室: offices inside the lead / co agencies). A 责任单位 list with no co list beside it (no 配合单位 column or label) is read in order: its first unit is lead, the rest co (role_from = order).", False),
    C("role_from", "VARCHAR", "How role was known: column (the table column's header says it), label (the text's 牵头单位：… label says it) or order (first of a 责任单位 list: lead; the rest: co).", False),
    C("label_as_written", "VARCHAR", "The label or column header the unit is listed under, as published (牵头单位, 责任单位, 配合处室).", False),
    C("position", "INTEGER", "Order of the unit within the task's list for this role, from 1.", False),
    C("mention_no", "INTEGER", "Order of the mention the unit comes from (separated by 、，； or, in a table cell, written one per line), from 1.", False),
    C("mention_as_written", "VARCHAR", "The whole mention as published (市老龄办及市居家养老服务工作领导小组成员单位).", False),
    C("unit_as_written", "VARCHAR", "The unit as published; a cut-off fragment (市) is kept and flagged.", False),
    C("unit_canonical", "VARCHAR", "Canonical name of the register entry the unit resolved to, as of the notice; NULL when unresolved (and for offices)."),
    C("agency_id", "VARCHAR", "Register id (pipeline/data/agencies/); NULL when unresolved and for offices (the register lists agencies, not their 处室)."),
    C("unit_level", "VARCHAR", "municipal, district or class (a group or kind of units)."),
    C("is_old_name", "BOOLEAN", "True when the register records a successor for the entry (a renamed or merged body)."),
    C("current_agency_id", "VARCHAR", "Register id at the end of the successor chain: count assignments across years by this."),
    C("current_name", "VARCHAR", "Canonical name of that current body."),
    C("match", "VARCHAR", "How the unit resolved: name, alias, prefix, pattern, compound_part, unresolved, fragment, or office (an office: not looked up).", False),
    C("is_fragment", "BOOLEAN", "True for a cut-off unit name at the end of a truncated list.", False),
    C("office_of", "VARCHAR", "For an office (lead_office / co_office): unit_id of the agency it sits in, the task's one lead (co) unit; NULL when the task names several or none (not guessed), and for agencies."),
    *TEXT_LINEAGE,
    key=("unit_id",),
    per_file=True,
)

table(
    "targets",
    "one row per quantitative target in a task's text",
    C("target_id", "VARCHAR", "Stable key: task_id:tN.", False),
    C("task_id", "VARCHAR", "Task whose text states the target.", False),
    C("notice_id", "VARCHAR", "Notice of the task.", False),
    C("target_no", "INTEGER", "Order of the target within the task, from 1.", False),
    C("target_year", "INTEGER", "Deadline year (到2012年); NULL when the sentence gives none."),
    C("indicator", "VARCHAR", "What is measured, as published (老年人健康档案建档率)."),
    C("scope", "VARCHAR", "Area or group the value applies to (城市, 农村), where stated."),
    C("comparator", "VARCHAR", "≥ (以上/不低于), ≤ (以下/不超过), > (超过), ≈ (约/左右) or = (value named without a bound).", False),
    C("value", "DOUBLE", "The number.", False),
    C("unit", "VARCHAR", "Its unit as published (%, 张).", False),
    C("value_text", "VARCHAR", "Value, unit and bound word as published (95%以上).", False),
    C("target_text", "VARCHAR", "The clause as published, deadline removed.", False),
    *TEXT_LINEAGE,
    key=("target_id",),
    per_file=True,
)

# --- citations, entities, findings and reviews (pipeline/citations.py, entities.py, flags/, review.py) ----------

table(
    "citations",
    "one row per document cited in a provision's standard text (服务标准)",
    C("citation_id", "VARCHAR", "Stable key: provision_id:seq.", False),
    C("provision_id", "VARCHAR", "Provision whose standard_text cites the document.", False),
    C("notice_id", "VARCHAR", "Notice of the provision.", False),
    C("seq", "INTEGER", "Order of the citation in the text, from 1.", False),
    C("relation", "VARCHAR", "Relation word written last before the citation (参照, 按照 …); NULL when none."),
    C("issuer_prefix", "VARCHAR", "Issuer written just before the 《 (民政部《…》), as published."),
    C("title_as_written", "VARCHAR", "Title as published, without the outer 《》 (nested <…> kept); NULL for a bare code or 文号."),
    C("title_delimited", "BOOLEAN", "True when the title is written in 《》; False for an unbracketed title before a (文号)."),
    C("code_as_written", "VARCHAR", "Standard code as published (GB/T43153-2023)."),
    C("code", "VARCHAR", "Normalized standard code without year (GB/T 43153, DB3502/T 091)."),
    C("code_year", "INTEGER", "Edition year as written in the code."),
    C("doc_number", "VARCHAR", "文号 as published (厦府办〔2024〕9号)."),
    C("span_start", "INTEGER", "Start (0-based character offset) of the whole citation in standard_text.", False),
    C("span_end", "INTEGER", "End (exclusive) of the whole citation in standard_text.", False),
    C("title_start", "INTEGER", "Start of title_as_written in standard_text."),
    C("title_end", "INTEGER", "End (exclusive) of title_as_written in standard_text."),
    C("code_start", "INTEGER", "Start of code_as_written in standard_text."),
    C("code_end", "INTEGER", "End (exclusive) of code_as_written in standard_text."),
    C("title", "VARCHAR", "Canonical title: the register's when the title (or code) is known, else a QA-accepted correction, else NULL."),
    C("canonical_year", "INTEGER", "Canonical edition year: the register's current year, else a QA-accepted correction, else NULL."),
    C("register_status", "VARCHAR", "known, near_match (close to a known title: likely garbled) or unknown (for a maintainer to add).", False),
    *LINEAGE,
    key=("citation_id",),
    per_file=True,
)

table(
    "provision_populations",
    "one row per population group named in a provision's population cell (对象范围)",
    C("population_group_id", "VARCHAR", "Stable key: provision_id:seq.", False),
    C("provision_id", "VARCHAR", "Provision whose population cell names the group.", False),
    C("notice_id", "VARCHAR", "Notice of the provision.", False),
    C("seq", "INTEGER", "Order of the group in the cell, from 1.", False),
    C("group_as_written", "VARCHAR", "The group's words as published (孤寡 in 孤寡、独居……老年人).", False),
    C("span_start", "INTEGER", "Start of group_as_written in the population cell.", False),
    C("span_end", "INTEGER", "End (exclusive) of group_as_written in the population cell.", False),
    C("group_name", "VARCHAR", "The group with a head noun written once restored (孤寡老年人).", False),
    C("canonical", "VARCHAR", "Canonical group from the population register (pipeline/data/entities.toml); NULL when unknown."),
    C("qualifier", "VARCHAR", "Qualifier written before the groups of the clause (有需求的, 其他)."),
    C("scope", "VARCHAR", "Scope the groups are taken from (X in X中的Y)."),
    C("umbrella", "VARCHAR", "Umbrella term after 等 that the groups belong to (低收入对象)."),
    *LINEAGE,
    key=("population_group_id",),
    per_file=True,
)

table(
    "provision_suppliers",
    "one row per supplier named in a provision's supplier cell (供给主体)",
    C("supplier_id", "VARCHAR", "Stable key: provision_id:seq.", False),
    C("provision_id", "VARCHAR", "Provision whose supplier cell names it.", False),
    C("notice_id", "VARCHAR", "Notice of the provision.", False),
    C("seq", "INTEGER", "Order in the cell, from 1.", False),
    C("supplier_as_written", "VARCHAR", "The supplier's words as published (民政, 卫健等部门).", False),
    C("span_start", "INTEGER", "Start of supplier_as_written in the supplier cell.", False),
    C("span_end", "INTEGER", "End (exclusive) of supplier_as_written in the supplier cell.", False),
    C("name", "VARCHAR", "The supplier's name without its 部门 head (民政, 卫健).", False),
    C("head", "VARCHAR", "The 部门 head it takes, as written (部门, 等相关部门), written on it or shared from a later name."),
    C("head_shared", "BOOLEAN", "True when the head is written once after several names (民政、残联、卫健等部门).", False),
    C("open_ended", "BOOLEAN", "True when the head starts with 等 (the list is not exhaustive).", False),
    C("agency_id", "VARCHAR", "Agency register id (pipeline/data/agencies.toml); NULL when unresolved."),
    C("agency_name", "VARCHAR", "Canonical name of that register entry."),
    C("is_old_name", "BOOLEAN", "True when the entry has a successor (named by an old name)."),
    C("current_agency_id", "VARCHAR", "Register id at the end of the successor chain."),
    C("current_name", "VARCHAR", "Canonical name of the current body."),
    *LINEAGE,
    key=("supplier_id",),
    per_file=True,
)

table(
    "dq_flags",
    "one row per data-quality finding: a rule's verdict on a fragment of one record's column",
    C("flag_id", "VARCHAR", "Stable id: hash of notice, rule, record, column and evidence (same finding, same id every run).", False),
    C("notice_id", "VARCHAR", "Notice of the record.", False),
    C("rule", "VARCHAR", "Rule that found it (see pipeline/flags/ and pipeline/data/flag_rules.toml).", False),
    C("severity", "VARCHAR", "error, warning or info.", False),
    C("record_table", "VARCHAR", "Table of the record at fault (service_provisions, citations, tasks, task_units …).", False),
    C("record_id", "VARCHAR", "Key of the record in that table.", False),
    C("column_name", "VARCHAR", "Column of the record at fault.", False),
    C("evidence", "VARCHAR", "The published fragment at fault, as published (not the whole cell); '' for an empty cell.", False),
    C("span_start", "INTEGER", "Start of the evidence in the published cell the locator names, where known."),
    C("span_end", "INTEGER", "End (exclusive) of the evidence in that cell."),
    C("suggestion", "VARCHAR", "Replacement the rule proposes for the evidence, where it has one."),
    C("message", "VARCHAR", "What is wrong, in words."),
    C("locator", "VARCHAR", "Where in the raw file: table/row or DOM path or page, column and character span."),
    *LINEAGE,
    C("review_status", "VARCHAR", "open, accepted, rejected or corrected (latest applicable QA decision).", False),
    C("canonical_value", "VARCHAR", "Value QA settled for the evidence (the suggestion when accepted, the corrected value when corrected)."),
    C("reviewer", "VARCHAR", "Who took the decision applied."),
    C("decided_on", "DATE", "When."),
    key=("flag_id",),
)

table(
    "reviews",
    "one row per QA decision ever read from the review files (reviews/*.csv), with what became of it",
    C("review_id", "VARCHAR", "Hash of the decision's flag, decision, value, reviewer and date.", False),
    C("flag_id", "VARCHAR", "Flag decided on.", False),
    C("decision", "VARCHAR", "accept, reject or correct.", False),
    C("corrected_value", "VARCHAR", "Value given with a correct decision."),
    C("reviewer", "VARCHAR", "Who decided.", False),
    C("decided_on", "DATE", "When.", False),
    C("note", "VARCHAR", "Reviewer's note."),
    C("evidence", "VARCHAR", "Evidence the decision was taken on (copied from the flag)."),
    C("review_file", "VARCHAR", "Review file the decision is read from."),
    C("line_no", "INTEGER", "Line in that file."),
    C("notice_id", "VARCHAR", "Notice of the flag, when the flag is raised in this refresh."),
    C("rule", "VARCHAR", "Rule of the flag, when raised."),
    C("record_table", "VARCHAR", "Record table of the flag, when raised."),
    C("record_id", "VARCHAR", "Record of the flag, when raised."),
    C("column_name", "VARCHAR", "Column of the flag, when raised."),
    C("status", "VARCHAR", "applied, superseded (a later decision on the flag), stale (evidence gone or changed: not applied) or removed_from_file.", False),
    C("status_reason", "VARCHAR", "Why a decision is not applied."),
    key=("review_id",),
)

table(
    "canonical_values",
    "one row per cell of a typed table (provisions, tasks, task units, targets, profile-defined tables) that QA decisions correct: the published value and the canonical one",
    C("record_table", "VARCHAR", "Table of the record (service_provisions, tasks, task_units, targets or a profile-defined table).", False),
    C("record_id", "VARCHAR", "Key of the record.", False),
    C("column_name", "VARCHAR", "Column corrected.", False),
    C("notice_id", "VARCHAR", "Notice of the record.", False),
    C("published_value", "VARCHAR", "The value as published (unchanged in its own table).", False),
    C("canonical_value", "VARCHAR", "The value with the accepted and corrected fragments spliced in.", False),
    C("flag_ids", "VARCHAR[]", "Flags whose decisions were applied.", False),
    *LINEAGE,
    key=("record_table", "record_id", "column_name"),
)


# --- the registers as reviewed (pipeline/data/agencies/, jurisdictions.toml, standards.toml, documents.toml) -----

table(
    "jurisdictions",
    "one row per jurisdiction of the register (国家, 省, 市, 区县)",
    C("code", "VARCHAR", "Administrative code (350200 for 厦门市, 100000 for 国家).", False),
    C("name", "VARCHAR", "Name (厦门市).", False),
    C("level", "VARCHAR", "国家, 省, 市 or 区县."),
    C("parent_code", "VARCHAR", "The jurisdiction it lies in (厦门市 -> 福建省); agencies of parents resolve here too."),
    C("domains", "VARCHAR[]", "Site domains whose notices belong to it (xm.gov.cn)."),
    C("hosts", "VARCHAR[]", "Exact hosts that belong to it."),
    C("doc_prefixes", "VARCHAR[]", "文号 prefixes that name it (厦, 穗 …)."),
    C("issuer_prefixes", "VARCHAR[]", "Issuer name prefixes that name it (厦门市 …)."),
    key=("code",),
)

table(
    "agencies",
    "one row per agency of the register, in its jurisdiction, with its succession",
    C("agency_id", "VARCHAR", "Register id (xm.civil_affairs).", False),
    C("name", "VARCHAR", "Canonical name.", False),
    C("full_name", "VARCHAR", "Full name, where different."),
    C("level", "VARCHAR", "municipal, district or class (a group or kind of units)."),
    C("sector", "VARCHAR", "Policy sector, where recorded."),
    C("jurisdiction_code", "VARCHAR", "Jurisdiction the agency belongs to (jurisdictions.code); NULL for a class valid everywhere."),
    C("aliases", "VARCHAR[]", "Other names it is written as."),
    C("patterns", "VARCHAR[]", "Patterns that name a class of units."),
    C("successor_id", "VARCHAR", "Agency that replaced it (a rename or merger)."),
    C("succession", "VARCHAR", "How it was replaced."),
    C("succeeded_on", "VARCHAR", "When."),
    C("current_id", "VARCHAR", "End of its successor chain.", False),
    C("source", "VARCHAR", "Where the entry was checked."),
    C("note", "VARCHAR", "Maintainer's note."),
    key=("agency_id",),
)

table(
    "standards",
    "one row per standard of the register",
    C("code", "VARCHAR", "Normalized code without year (DB3502/T 091).", False),
    C("title", "VARCHAR", "Registered title.", False),
    C("years", "INTEGER[]", "Editions known."),
    C("current_year", "INTEGER", "Edition in force, where a maintainer recorded it."),
    C("source", "VARCHAR", "Where the entry was checked."),
    key=("code",),
)

table(
    "documents",
    "one row per document (a policy cited by title or 文号) of the register",
    C("title", "VARCHAR", "Registered title.", False),
    C("issuer", "VARCHAR", "Issuer."),
    C("doc_number", "VARCHAR", "文号."),
    C("source", "VARCHAR", "Where the entry was checked."),
)


# --- typed tables that table profiles define (pipeline/data/table_profiles.toml) ---------------------------------

CORE_TABLES = frozenset(TABLES)  # every table above; a profile may not take one of these names


def kind_table(profile) -> Table:
    """The typed table a profile with its own target fills: one row per data row of a table of that kind."""
    from pipeline.kinds.profiles import FIELD_TYPES

    fields = []
    for name, synonyms in profile.fields.items():
        type_ = profile.types.get(name)
        fields.append(C(name, "VARCHAR", f"{' / '.join(synonyms)} as published (whitespace-normalized)."))
        if type_:
            what = {"integer": "as an integer", "decimal": "as a number", "date": "as a date",
                    "amount": "the amount as a number (its unit in " + name + "_unit)"}[type_]
            fields.append(C(f"{name}_value", FIELD_TYPES[type_], f"{name} read {what}; NULL when the text is not one."))
            if type_ == "amount":
                fields.append(C(f"{name}_unit", "VARCHAR", f"Unit of {name} as published (元, 元/人·次 …)."))
    key = f"notice_id:{':'.join(profile.key)}" if profile.key else "notice_id:t<table_no>:r<row_no>"
    return Table(profile.target, f"one row per data row of a {profile.kind} table (profile in {profile.file})", (
        C("record_id", "VARCHAR", f"Stable key: {key}.", False),
        C("notice_id", "VARCHAR", "Notice of the table.", False),
        C("table_id", "VARCHAR", "The generic table the row comes from (source_tables.table_id).", False),
        C("row_no", "INTEGER", "The row's number in that table (table_rows.row_no).", False),
        C("section", "VARCHAR", "Section rows in force, as published."),
        *fields,
        C("extra", "MAP(VARCHAR, VARCHAR)", "Header columns no field of the profile names: header → value (nothing is dropped)."),
        C("source_format", "VARCHAR", "Format the row was taken from.", False),
        *LINEAGE,
        C("locator", "VARCHAR", "Where the row is in the file."),
        C("pages", "INTEGER[]", "PDF pages of the row."),
    ), ("record_id",), True)


def _add_kind_tables() -> tuple[str, ...]:
    from pipeline.kinds.profiles import load_table_profiles

    names = []
    for profile in load_table_profiles():
        if not profile.is_built_in and profile.target not in TABLES:
            TABLES[profile.target] = kind_table(profile)
            names.append(profile.target)
    return tuple(names)


KIND_TABLES = _add_kind_tables()


# --- the extracted schema: per-file rows of every file, and what each file was ----------------------------

EXTRACTED: dict[str, Table] = {}


def extracted_table(name: str, grain: str, *columns: Column) -> Table:
    t = Table(name, grain, tuple(columns), (), True)
    EXTRACTED[name] = t
    return t


_RAW_FILE_COLUMNS = TABLES["raw_files"].columns
_NOTICE_META = [c for c in TABLES["notices"].columns if c.name in (
    "title", "doc_number", "doc_number_norm", "index_no", "issuer", "written_on", "published_on", "posted_on",
    "effective_on", "expires_on", "source", "site", "site_column", "jurisdiction_code", "jurisdiction_name",
    "jurisdiction_from", "site_profile", "notice_id_from")]

extracted_table(
    "files",
    "one row per input file read: its raw_files row, the notice metadata it carries and how versions order it",
    *_RAW_FILE_COLUMNS,
    *_NOTICE_META,
    C("has_meta", "BOOLEAN", "True when the file carries the notice's metadata (a page): each distinct one is a version.", False),
    C("version_date", "TIMESTAMP", "Published/posted date, else retrieval time, else first sight.", False),
    C("retrieved_at", "TIMESTAMP", "Retrieval time from the provenance sidecar, where recorded."),
    C("warnings", "VARCHAR[]", "What the stages noticed on the way (spans clamped, spacer rows dropped …)."),
    C("meta", "JSON", "Everything the metadata readers found, as read."),
)

extracted_table(
    "file_flags",
    "one row per data-quality finding the file's own rows raise (before choosing one file per notice)",
    *TABLES["dq_flags"].columns,
)
