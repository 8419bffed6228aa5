"""A grid read as a table: its header, its data rows and the role of every grid row."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.model import Grid

# What a grid row is. A title/header/section/note/total/blank/repeated_header row is never a data row;
# a continuation row only continues merged cells from the row above and folds into it.
ROLES = ("title", "header", "section", "data", "note", "total", "blank", "repeated_header", "continuation")
SHAPES = ("columnar", "key_value")


@dataclass
class DataRow:
    """One data row of a table, with the grid rows it covers and the sections in force."""

    row_no: int  # 1-based among data rows
    grid_rows: list[int]  # a row that only continues merges from the row above folds into it
    cells: list[str | None]  # one per logical column; a merged cell's text carried into every position
    section: str | None = None  # the section rows in force, joined ' / '


@dataclass
class LogicalTable:
    """A grid read as a table, whatever format it came from."""

    grid: Grid
    table_no: int  # 1-based within the file (data tables only)
    title: str | None
    columns: list[str]  # one name per logical column; header rows flattened top→bottom with '·'
    col_groups: list[list[int]]  # grid columns of each logical column
    header_rows: list[int]
    roles: list[str]  # one per grid row, from ROLES
    rows: list[DataRow] = field(default_factory=list)
    shape: str = "columnar"
    is_data: bool = True
    why_not: str | None = None  # why the grid is not a data table (layout, link box, metadata block …)
    notes: list[str] = field(default_factory=list)  # note rows' text, then grid.note_below
    label: str | None = None  # the attachment label of a title row (附件1), apart from the title

    def rows_with(self, role: str) -> list[int]:
        """Return the grid rows that have a role."""
        return [r for r, x in enumerate(self.roles) if x == role]

    def logical_col(self, grid_col: int) -> int | None:
        """Return the logical column a grid column belongs to (None for a dropped column)."""
        return next((k for k, g in enumerate(self.col_groups) if grid_col in g), None)
