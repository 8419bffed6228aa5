"""Recognized grids to tidy records: one service_provisions row per item × population, with cell lineage."""

from __future__ import annotations

import re
import unicodedata

from pipeline.errors import PipelineError
from pipeline.model import Grid
from pipeline.kinds.recognize import RecognizedTable
from pipeline.text import clean_text

PROVISION_TEXT_FIELDS = ("category", "service_item", "population", "content", "standard_text", "supplier_text")
_INT = re.compile(r"\d+")


class BadItemNumber(PipelineError):
    """A 序号 cell does not hold a number."""

    hint = "check the table's 序号 column; fix the profile if another column was taken for it"


def parse_item_no(text: str) -> int | None:
    """Read a 序号 as an integer (full-width digits allowed); None for an empty cell."""
    text = unicodedata.normalize("NFKC", text).strip()
    if not text:
        return None
    m = _INT.search(text)
    if m is None:
        raise BadItemNumber(f"序号 {text!r} is not a number", stage="normalize")
    return int(m.group())


def _lineage_row(grid: Grid, record_id: str, column: str, r: int, c: int, raw_file: str, raw_sha256: str) -> dict:
    cell = grid.rows[r][c]
    origin = grid.origin_cell(r, c)
    return {
        "record_table": "service_provisions",
        "record_id": record_id,
        "column_name": column,
        "raw_file": raw_file,
        "raw_sha256": raw_sha256,
        "table_index": grid.table_index,
        "grid_row": r,
        "grid_col": c,
        "origin_row": cell.origin[0],
        "origin_col": cell.origin[1],
        "locator": origin.locator,
        "page": origin.page,
        "bbox": list(origin.bbox) if origin.bbox else None,
    }


def extra_values(rec: RecognizedTable) -> dict[int, dict[str, str | None]]:
    """For each data row (by its first grid row): the header columns no field of the profile names, with values."""
    if rec.table is None:
        return {}
    from pipeline.kinds.records import field_columns, unmatched_columns
    from pipeline.tables.records import record_keys

    table = rec.table
    cols = unmatched_columns(table, field_columns(table, rec.columns))
    keys = record_keys(table.columns)
    return {row.grid_rows[0]: {keys[k]: row.cells[k] for k in cols} for row in table.rows if cols}


def grid_to_provision_records(
    grid: Grid, rec: RecognizedTable, *, notice_id: str, raw_file: str, raw_sha256: str
) -> tuple[list[dict], list[dict]]:
    """Turn the data rows of a recognized service list into provisions and their cell lineage."""
    cols = rec.columns
    provisions: list[dict] = []
    lineage: list[dict] = []
    extras = extra_values(rec)
    seq_by_item: dict[int, int] = {}
    previous_item: int | None = None
    for r in rec.data_rows:
        # Grid text keeps the published line breaks; a typed value joins them CJK-aware (照护⏎服务类 -> 照护服务类).
        values = {f: clean_text(grid.value(r, c)) for f, c in cols.items()}
        try:
            item_no = parse_item_no(values.get("item_no", ""))
        except BadItemNumber as exc:
            raise BadItemNumber(f"{exc.reason} (table {grid.table_index}, row {r})", stage="normalize") from None
        if item_no is None:
            if previous_item is None:
                raise BadItemNumber(f"row {r} of table {grid.table_index} has no 序号 and no item above it", stage="normalize")
            item_no = previous_item  # a row continuing the item above whose number cell was left empty
        previous_item = item_no
        seq_by_item[item_no] = seq_by_item.get(item_no, 0) + 1
        population_no = seq_by_item[item_no]
        provision_id = f"{notice_id}:{item_no}:{population_no}"
        category = values.get("category") or rec.profile.strip_section(clean_text(rec.section_of.get(r, ""))) or None
        origin_rows = {grid.rows[r][c].origin[0] for c in cols.values()} | {r}
        pages = sorted({p for c in cols.values() if (p := grid.origin_cell(r, c).page) is not None} |
                       {cell.page for cell in grid.rows[r] if cell.page is not None})
        provisions.append(
            {
                "provision_id": provision_id,
                "notice_id": notice_id,
                "category": category,
                "item_no": item_no,
                "service_item": values.get("service_item", ""),
                "population_no": population_no,
                "population": values.get("population", ""),
                "content": values.get("content"),
                "standard_text": values.get("standard_text"),
                "supplier_text": values.get("supplier_text"),
                "source_format": grid.source_format,
                "raw_file": raw_file,
                "raw_sha256": raw_sha256,
                "table_index": grid.table_index,
                "source_row": r,
                "source_rows": sorted(origin_rows),
                "pages": pages or None,
                "table_id": rec.table_id,
                "extra": extras.get(r),
            }
        )
        for field_name, c in cols.items():
            lineage.append(_lineage_row(grid, provision_id, field_name, r, c, raw_file, raw_sha256))
        if "category" not in cols and r in rec.section_of:
            section_row = max(s for s in rec.section_rows if s < r)
            lineage.append(_lineage_row(grid, provision_id, "category", section_row, 0, raw_file, raw_sha256))
    return provisions, lineage


def grid_to_provisions(grid: Grid, rec: RecognizedTable, *, notice_id: str, raw_file: str, raw_sha256: str) -> list[dict]:
    """Turn the data rows of a recognized service list into service_provisions rows."""
    return grid_to_provision_records(grid, rec, notice_id=notice_id, raw_file=raw_file, raw_sha256=raw_sha256)[0]
