"""A grid seen through its logical columns: which cells a row owns, what each position shows.

Grid columns that every row spans together (a Word export's split column) fold into one logical column, and
a column that shows no text anywhere (a hair-thin spacer, an unlabelled empty column) is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pipeline.model import Grid
from pipeline.tables.vocab import TableVocab
from pipeline.text import squash

_NUMBER = re.compile(r"^(?=.*\d)[-+−]?(?:\d[\d,，]*)?(?:[.．]\d+)?[%％‰]?$")


def origin_spans(grid: Grid) -> dict[tuple[int, int], tuple[int, int]]:
    """Return (rowspan, colspan) of every origin cell, measured by the positions that point at it."""
    ends: dict[tuple[int, int], tuple[int, int]] = {}
    for r, row in enumerate(grid.rows):
        for c, cell in enumerate(row):
            o = origin_of(grid, r, c)
            er, ec = ends.get(o, o)
            ends[o] = (max(er, r), max(ec, c))
    return {o: (er - o[0] + 1, ec - o[1] + 1) for o, (er, ec) in ends.items()}


def origin_of(grid: Grid, r: int, c: int) -> tuple[int, int]:
    """Return a position's origin; a malformed pointer (outside the grid, at a covered cell) is its own."""
    if c >= len(grid.rows[r]):
        return (r, c)
    cell = grid.rows[r][c]
    orow, ocol = cell.origin
    if cell.text is not None or not (0 <= orow < grid.n_rows and 0 <= ocol < len(grid.rows[orow])):
        return (r, c)
    return (orow, ocol) if grid.rows[orow][ocol].text is not None else (r, c)


def grid_to_col_groups(grid: Grid) -> list[list[int]]:
    """Group grid columns into logical columns: fold columns always spanned together, drop empty ones."""
    n = grid.n_cols
    shows_text = [False] * n
    for r, row in enumerate(grid.rows):
        for c, cell in enumerate(row):
            if cell.text and cell.text.strip() and origin_of(grid, r, c) == (r, c):
                shows_text[c] = True
    groups: list[list[int]] = []
    for c in range(n):
        if groups and _always_together(grid, groups[-1][-1], c):
            groups[-1].append(c)
        else:
            groups.append([c])
    # A group in which no cell with text starts is dropped: every position empty, or showing a cell that
    # starts in another column (a hair-thin spacer under a title that spans it).
    return [g for g in groups if any(shows_text[c] for c in g)]


def _always_together(grid: Grid, a: int, b: int) -> bool:
    for r, row in enumerate(grid.rows):
        if b >= len(row) or a >= len(row) or origin_of(grid, r, a) != origin_of(grid, r, b):
            return False
    return True


@dataclass
class View:
    """Row-by-row facts about a grid under its logical columns."""

    grid: Grid
    groups: list[list[int]]
    vocab: TableVocab
    spans: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)
    _origins: list[list[tuple[int, int]]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.spans = origin_spans(self.grid)
        self._origins = [[origin_of(self.grid, r, g[0]) for g in self.groups] for r in range(self.grid.n_rows)]

    @property
    def n_rows(self) -> int:
        return self.grid.n_rows

    @property
    def width(self) -> int:
        return len(self.groups)

    def origin(self, r: int, k: int) -> tuple[int, int]:
        """Return the origin shown at row r, logical column k."""
        return self._origins[r][k]

    def text_at(self, o: tuple[int, int]) -> str:
        if o[1] >= len(self.grid.rows[o[0]]):
            return ""
        return self.grid.rows[o[0]][o[1]].text or ""

    def values(self, r: int) -> list[str]:
        """Return the text shown at every logical column of row r (a merged cell's text in each)."""
        return [self.text_at(self.origin(r, k)) for k in range(self.width)]

    def own(self, r: int) -> list[tuple[int, tuple[int, int]]]:
        """Return (first logical column, origin) of each distinct cell that starts in row r."""
        out: list[tuple[int, tuple[int, int]]] = []
        seen: set[tuple[int, int]] = set()
        for k in range(self.width):
            o = self.origin(r, k)
            if o[0] == r and o not in seen:
                seen.add(o)
                out.append((k, o))
        return out

    def own_texts(self, r: int) -> list[str]:
        """Return the non-empty texts of the cells that start in row r, left to right."""
        return [t for _, o in self.own(r) if (t := self.text_at(o)).strip()]

    def covered_from_above(self, r: int) -> bool:
        return any(self.origin(r, k)[0] < r for k in range(self.width))

    def is_full_width(self, r: int) -> bool:
        """Tell whether one cell shows across every logical column of the row."""
        return self.width > 1 and len({self.origin(r, k) for k in range(self.width)}) == 1

    def logical_colspan(self, o: tuple[int, int], r: int) -> list[int]:
        """Return the logical columns where origin o shows in row r."""
        return [k for k in range(self.width) if self.origin(r, k) == o]

    def rowspan(self, o: tuple[int, int]) -> int:
        return self.spans.get(o, (1, 1))[0]

    def is_headerish_text(self, text: str) -> bool:
        """Tell whether a cell could be a column name: short, not a number, not a sentence."""
        t = squash(text)
        return bool(t) and len(t) <= self.vocab.header_max_chars and not _NUMBER.match(t) \
            and t[-1] not in self.vocab.sentence_end

    def is_headerish(self, r: int) -> bool:
        """Tell whether every text shown in row r could be a column name (and there is one)."""
        texts = [t for t in self.values(r) if t.strip()]
        return bool(texts) and all(self.is_headerish_text(t) for t in texts)

    def squashed(self, r: int) -> list[str]:
        return [squash(v) for v in self.values(r)]
