"""A LogicalTable to warehouse rows: source_tables (one), table_rows (per data row), table_cells (per origin cell)."""

from __future__ import annotations

from pipeline.tables.model import LogicalTable
from pipeline.tables.view import origin_of, origin_spans

SOURCE_TABLES_COLUMNS = ("table_id", "notice_id", "raw_file", "raw_sha256", "table_no", "title", "label", "kind", "columns",
                         "n_header_rows", "n_data_rows", "n_cols", "pages", "locator", "sheet", "source_format",
                         "shape", "notes")
TABLE_ROWS_COLUMNS = ("table_id", "notice_id", "row_no", "section", "cells", "record", "grid_rows", "pages",
                      "locator", "raw_file", "raw_sha256")
TABLE_CELLS_COLUMNS = ("table_id", "notice_id", "row", "col", "rowspan", "colspan", "text", "role", "logical_col",
                       "locator", "page", "bbox", "raw_file", "raw_sha256")


def record_keys(columns: list[str]) -> list[str]:
    """Make column names unique for a record: the second 项目 becomes 项目#2."""
    seen: dict[str, int] = {}
    keys = []
    for name in columns:
        seen[name] = seen.get(name, 0) + 1
        keys.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return keys


def _locator(t: LogicalTable, r: int, c: int) -> str:
    row = t.grid.rows[r]
    return (row[c].locator if c < len(row) else "") or f"{t.grid.locator} row {r + 1} col {c + 1}"


def table_to_records(t: LogicalTable, *, table_id: str, notice_id: str, raw_file: str,
                     raw_sha256: str) -> dict[str, list[dict]]:
    """Turn a table into rows of source_tables, table_rows and table_cells, each traced to its raw file."""
    grid = t.grid
    spans = origin_spans(grid)
    origins = sorted(o for o in spans if grid.rows[o[0]][o[1]].text is not None)
    pages = sorted({p for o in origins if (p := grid.rows[o[0]][o[1]].page) is not None})
    source = {
        "table_id": table_id, "notice_id": notice_id, "raw_file": raw_file, "raw_sha256": raw_sha256,
        "table_no": t.table_no, "title": t.title, "label": t.label, "kind": None, "columns": list(t.columns),
        "n_header_rows": len(t.header_rows), "n_data_rows": len(t.rows), "n_cols": len(t.columns),
        "pages": pages or None, "locator": grid.locator, "sheet": grid.sheet or None,
        "source_format": grid.source_format, "shape": t.shape, "notes": list(t.notes),
    }
    keys = record_keys(t.columns)
    rows = []
    for dr in t.rows:
        shown = list(dict.fromkeys(origin_of(grid, r, c) for r in dr.grid_rows for g in t.col_groups for c in g))
        shown = [o for o in shown if o[1] < len(grid.rows[o[0]])]
        row_pages = sorted({p for o in shown if (p := grid.rows[o[0]][o[1]].page) is not None})
        own = [o for o in shown if o[0] == dr.grid_rows[0]]
        first = (own or shown or [(dr.grid_rows[0], 0)])[0]
        rows.append({
            "table_id": table_id, "notice_id": notice_id, "row_no": dr.row_no, "section": dr.section,
            "cells": list(dr.cells), "record": [[k, v] for k, v in zip(keys, dr.cells)],
            "grid_rows": list(dr.grid_rows), "pages": row_pages or None, "locator": _locator(t, *first),
            "raw_file": raw_file, "raw_sha256": raw_sha256,
        })
    cells = []
    for r, c in origins:
        cell = grid.rows[r][c]
        rowspan, colspan = spans[(r, c)]
        logical = next((k for cc in range(c, c + colspan) if (k := t.logical_col(cc)) is not None), None)
        cells.append({
            "table_id": table_id, "notice_id": notice_id, "row": r, "col": c, "rowspan": rowspan,
            "colspan": colspan, "text": cell.text, "role": t.roles[r], "logical_col": logical,
            "locator": _locator(t, r, c), "page": cell.page, "bbox": list(cell.bbox) if cell.bbox else None,
            "raw_file": raw_file, "raw_sha256": raw_sha256,
        })
    return {"source_tables": [source], "table_rows": rows, "table_cells": cells}
