"""The data every extractor produces: a grid of cells that remembers where each value came from."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Cell:
    """One grid position.

    ``text`` is ``None`` where the position is covered by a merged cell (pdfplumber's convention) and ``""``
    for a real cell with no text. ``origin`` is the (row, col) of the cell that carries the text.
    """

    text: str | None
    origin: tuple[int, int]
    locator: str = ""
    page: int | None = None
    bbox: tuple[float, float, float, float] | None = None

    @property
    def is_origin(self) -> bool:
        return self.text is not None


@dataclass(slots=True)
class Grid:
    """A table as a rectangle of cells, with the place it came from in its source file."""

    source_format: str
    table_index: int
    rows: list[list[Cell]]
    locator: str = ""
    warnings: list[str] = field(default_factory=list)
    caption: str = ""  # title printed just above the table (PDF/DOCX paragraph, HTML <caption>)
    sheet: str = ""  # spreadsheet sheet name, for XLSX/XLS grids
    note_below: str = ""  # text printed right below the table (注：…), not one of its rows
    # Extractor evidence for the tables stage: {"nested_tables": 2, "link_ratio": 0.8, "hidden_cols": ["N"] …}
    hints: dict = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        return len(self.rows)

    @property
    def n_cols(self) -> int:
        return max((len(r) for r in self.rows), default=0)

    def origin_cell(self, r: int, c: int) -> Cell:
        """Return the cell that carries the text shown at (r, c)."""
        orow, ocol = self.rows[r][c].origin
        return self.rows[orow][ocol]

    def value(self, r: int, c: int) -> str:
        """Return the text shown at (r, c): a covered position shows its origin's text."""
        if c >= len(self.rows[r]):
            return ""
        return self.origin_cell(r, c).text or ""

    def texts(self) -> list[list[str | None]]:
        """Return the raw texts, ``None`` where covered (like pdfplumber's ``Table.extract``)."""
        return [[cell.text for cell in row] for row in self.rows]


@dataclass(slots=True)
class RawFile:
    """One file under raw/, with what is known of its provenance."""

    path: str
    sha256: str
    format: str
    notice_id: str | None = None
    role: str | None = None
    source_url: str | None = None
    retrieved_on: str | None = None
    size: int = 0
    parent_url: str | None = None  # for an attachment: the page that linked it
    notice_id_from: str = "provenance"  # provenance | parent | doc_number | index_no | article_id | content_hash
    jurisdiction: str | None = None  # of the notice's page, for an attachment read under its page's notice
