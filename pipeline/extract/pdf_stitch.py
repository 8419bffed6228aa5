"""Page tables of one logical table to one Grid: repeated headers dropped, merged cells and split rows rejoined.

Which page tables form one logical table (``continues``): the first table of a page continues the last table of
the previous page when its columns have the same widths and nothing but page furniture stands between them,
whether or not the header repeats (d07 prints three tables on two pages without repeating the header).

What a print of a long table looks like, and what stitching undoes:
- the header row(s) may repeat on every page: the longest run of 1..``max_header_rows`` leading rows that equals
  the first page's (spans and squashed text) and ends at a rule no cell crosses is dropped;
- a vertically merged cell cut by a page break goes on at the top of the next page. A table does this one way:
  Word and Writer print the text on the first page only (an empty cell continues it), WPS and Excel print it
  again on every page (d05's matter cells). Each break votes: a top cell that prints again the text of the
  merged cell above it (its text equal, or longer where the first page cut the text short) votes *again*; an
  empty top cell under a merged cell with text votes *first page only*; the majority decides for the table.
  Printed again, the top cell is the same cell as the one above when no cell to its left starts new text there
  (outer groupings are on the left: a new 序号 under a re-printed 事项类别 is a new item of the same kind); its
  text is not doubled and its locator names the page that printed it again; an empty top cell is a cell of its
  own. Printed once, an empty top cell in a column whose body merges cells continues the cell above, and equal
  text is a new cell (two cells of equal text meeting at a break, as the Xiamen notice prints its categories);
- a row that breaks across pages leaves its tail at the top of the next page: the tail is merged into the row
  it continues, each cell's text joined like a wrapped line. Nothing marks a tail, so it is told from a new row
  by where the text above stopped: a tail's every text continues a one-row cell of the previous page's last
  row whose last line runs to the cell's right edge (the line wrapped) and sits as low as the lowest last line
  of that row (the page ran out under it). A new row's texts follow cells whose text ended: a short last line,
  or a last line higher than the row's lowest one (a cell of few lines in a row that a taller cell set the
  height of). Limits: a new row whose every text follows last lines full to the right and bottom is merged by
  mistake; a tail under a line cut short (a long Latin token moved whole to the next line) is kept as a row of
  its own. tests/test_pdf_grid.py proves the layouts handled, whether the header repeats or not.
A cell joined across pages keeps the page and bbox of its first part; its locator lists every part that
carried text (``"page 2 table 1 row 8 col 5; page 3 table 1 row 2 col 5"``). A covered position carries its
origin's text-less copy: ``text=None``, origin's coordinates, page, bbox, locator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pipeline.extract.pdf_cells import PageCell, PageTable
from pipeline.extract.pdf_settings import TableSettings
from pipeline.extract.pdf_text import Line, SpaceEvidence, lines_to_text
from pipeline.model import Cell, Grid
from pipeline.text import squash

_PAGE_NUMBER = re.compile(r"^[-—–_\s]*(第\s*)?\d+(\s*页)?(\s*[/／]\s*(共\s*)?\d+\s*页?)?[-—–_\s]*$")


@dataclass(slots=True)
class _Logical:
    r0: int
    r1: int
    c0: int
    c1: int
    parts: list[PageCell]  # first part first; later parts continue it on following pages
    pages: list[int]
    reprints: list[str] = field(default_factory=list)  # locators of pages that print its text again
    full: PageCell | None = None  # a re-print whose text is longer: the first page cut the text short

    @property
    def lines(self) -> list[str]:
        return self.full.lines if self.full else [x for p in self.parts for x in p.lines]

    @property
    def text(self) -> str:
        return squash("".join(self.lines))


@dataclass(frozen=True, slots=True)
class _Above:
    text: str  # squashed text of the cell above a top cell
    merged: bool  # the cell above or the top cell spans more than one row


def prints_again(top: PageTable, body: int, above: dict[int, _Above]) -> set[int]:
    """Return the top cells that print the text of the merged cell above them again (see the module doc)."""
    same = set()
    for i, a in above.items():
        text = squash(top.cells[i].text)
        if text and a.merged and a.text and (text == a.text or text.startswith(a.text)):
            same.add(i)
    new = [top.cells[i].c0 for i in dict.fromkeys(top.pos[body]) if i not in same and top.cells[i].text]
    return {i for i in same if all(top.cells[i].c0 < c for c in new)}


def _merged(above: PageCell | _Logical, top: PageCell, body: int) -> bool:
    return above.r1 - above.r0 > 1 or top.r1 - max(top.r0, body) > 1


class Stitcher:
    """Stitch the page tables of one logical table: drop repeated headers, merge row tails and merged cells."""

    def __init__(self, parts: list[PageTable], caption: str, s: TableSettings, above: list[str] | None = None):
        first = parts[0]
        self.s = s
        self.first = first
        self.last = parts[-1]
        self.caption = caption
        self.above = above or []
        self.note_below = ""
        self.cells: list[_Logical] = []
        self.pos: list[list[int]] = []
        self.warnings = list(first.warnings)
        self.header = [first.row_signature(r) for r in range(min(s.max_header_rows, first.n_rows))]
        self.again = self._votes_again(parts)
        self._add(first, body=0, base=0, joins={})
        for t in parts[1:]:
            self.continue_with(t)

    def _votes_again(self, parts: list[PageTable]) -> bool:
        """Tell whether this table prints a merged cell's text again on each page (the breaks' majority)."""
        again = once = 0
        for prev, t in zip(parts, parts[1:]):
            body = self.header_rows(t)
            if body >= t.n_rows:
                continue
            above = {}
            for i in dict.fromkeys(t.pos[body]):
                pc, a = t.cells[i], prev.cells[prev.pos[-1][t.cells[i].c0]]
                if (a.c0, a.c1) == (pc.c0, pc.c1):
                    above[i] = _Above(squash(a.text), _merged(a, pc, body))
            again += bool(prints_again(t, body, above))
            once += any(not t.cells[i].text and a.text and a.merged for i, a in above.items())
        return again > once

    def _add(self, t: PageTable, body: int, base: int, joins: dict[int, int], again: frozenset[int] = frozenset()
             ) -> None:
        """Append the body rows of a page table from logical row ``base``; ``joins`` maps page cells to logical ones."""
        n_new = base + t.n_rows - body
        while len(self.pos) < n_new:
            self.pos.append([-1] * t.n_cols)
        for i, pc in enumerate(t.cells):
            if pc.r1 <= body:
                continue  # a repeated header row
            r0, r1 = base + max(pc.r0, body) - body, base + pc.r1 - body
            if i in joins:
                lc = self.cells[joins[i]]
                lc.r1 = max(lc.r1, r1)
                if i in again:
                    lc.reprints.append(pc.locator)
                    if len(squash(pc.text)) > len(lc.text):
                        lc.full = pc
                else:
                    lc.parts.append(pc)
                lc.pages.append(t.page)
                k = joins[i]
            else:
                self.cells.append(_Logical(r0, r1, pc.c0, pc.c1, [pc], [t.page]))
                k = len(self.cells) - 1
            for r in range(r0, r1):
                for c in range(pc.c0, pc.c1):
                    self.pos[r][c] = k

    def header_rows(self, t: PageTable) -> int:
        """Count the leading rows of ``t`` that repeat the first page's header (a clean cut on both pages)."""
        h = 0
        while h < min(len(self.header), t.n_rows) and t.row_signature(h) == self.header[h] and any(
            sig[3] for sig in self.header[h]
        ):
            h += 1
        return max((k for k in range(1, h + 1) if t.clean_cut(k) and self.first.clean_cut(k)), default=0)

    def _is_tail(self, t: PageTable, body: int, joinable: dict[int, int], again: set[int]) -> bool:
        """Tell whether the first body row of ``t`` is the tail of the previous page's last row.

        Every text at the top (re-printed merged cells aside) must continue a one-row cell of that row whose last
        line ran to the cell's right edge and as low as any line of that row (the text wrapped over the break). A top row without any text is a tail when
        a one-row cell above holds text (it ended right at the break).
        """
        last = len(self.pos) - 1
        texts = [(i, k) for i, k in joinable.items() if t.cells[i].text and i not in again]
        if texts:
            return all(t.cells[i].r1 == body + 1 and self.cells[k].r0 == last and self.cells[k].parts[-1].ends_full
                       and self.cells[k].parts[-1].ends_low for i, k in texts)
        return any(t.cells[i].r1 == body + 1 and self.cells[k].r0 == last and self.cells[k].text
                   for i, k in joinable.items() if i not in again)

    def _merging_columns(self, t: PageTable, body: int) -> set[int]:
        """Return the columns with a vertically merged cell in the body so far or in this page's body.

        The first ``max_header_rows`` rows of the first page may be header, whose merges say nothing of the body.
        """
        spans = [(lc.c0, lc.c1) for lc in self.cells if lc.r1 - lc.r0 > 1 and lc.r0 >= self.s.max_header_rows]
        spans += [(pc.c0, pc.c1) for pc in t.cells if pc.r1 - max(pc.r0, body) > 1]
        return {c for c0, c1 in spans for c in range(c0, c1)}

    def continue_with(self, t: PageTable) -> None:
        """Stitch the next page's table onto this logical table."""
        body = self.header_rows(t)
        if body >= t.n_rows:
            return
        last = len(self.pos) - 1
        top = dict.fromkeys(t.pos[body])
        joinable: dict[int, int] = {}
        for i in top:
            pc = t.cells[i]
            k = self.pos[last][pc.c0]
            lc = self.cells[k]
            if pc.r0 <= body and (lc.c0, lc.c1) == (pc.c0, pc.c1):
                joinable[i] = k
        again: set[int] = set()
        if self.again:
            again = prints_again(t, body, {i: _Above(self.cells[k].text, _merged(self.cells[k], t.cells[i], body))
                                           for i, k in joinable.items()})
        tail = len(joinable) == len(top) and self._is_tail(t, body, joinable, again)
        if tail:
            self.warnings.append(f"page {t.page}: first row continues the row on page {t.page - 1}; merged")
            self._add(t, body, last, joinable, frozenset(again))
        else:
            if self.again:
                joins = {i: joinable[i] for i in again}
            else:  # an empty top cell continues the merged cell above, in a column whose body merges cells
                merging = self._merging_columns(t, body)
                joins = {i: k for i, k in joinable.items() if not t.cells[i].text and t.cells[i].c0 in merging}
            self._add(t, body, last + 1, joins, frozenset(again))
        self.warnings.extend(t.warnings)

    def grid(self, table_index: int, evidence: SpaceEvidence | None = None) -> Grid:
        """Return the logical table as a Grid (cell texts joined over lines and pages)."""
        rows: list[list[Cell]] = []
        origin_cells: dict[int, Cell] = {}
        for k, lc in enumerate(self.cells):
            later = [p.locator for p in lc.parts[1:] if any(x.strip() for x in p.lines)]
            locator = "; ".join([lc.parts[0].locator, *sorted(later + lc.reprints, key=_locator_page)])
            restored = len(evidence.used) if evidence else 0
            text = lines_to_text(lc.lines, evidence)
            origin_cells[k] = Cell(text, (lc.r0, lc.c0), locator, lc.pages[0], lc.parts[0].bbox)
            for before, after in evidence.used[restored:] if evidence else ():
                self.warnings.append(f"{locator}: a space swallowed by a line wrap restored in {before}|{after} "
                                     f"(the document prints '{before} {after}' within a line)")
        for r, row in enumerate(self.pos):
            out = []
            for c, k in enumerate(row):
                o = origin_cells[k]
                out.append(o if o.origin == (r, c) else Cell(None, o.origin, o.locator, o.page, o.bbox))
            rows.append(out)
        pages = sorted({p for lc in self.cells for p in lc.pages})
        span = f"page {pages[0]}" if len(pages) == 1 else f"pages {pages[0]}-{pages[-1]}"
        hints = {"above": self.above} if self.above else {}
        return Grid("pdf", table_index, rows, f"{span} table {table_index + 1}", self.warnings, self.caption,
                    note_below=self.note_below, hints=hints)


def _locator_page(locator: str) -> int:
    return int(locator.split()[1])


def widths_match(a: PageTable, b: PageTable, tol: float) -> bool:
    """Tell whether two page tables have the same column widths (within ``tol``)."""
    return len(a.xs) == len(b.xs) and all(abs((a.xs[i] - a.xs[0]) - (b.xs[i] - b.xs[0])) <= tol
                                          for i in range(len(a.xs)))


def continues(parts: list[PageTable], t: PageTable, prev_tables: list[PageTable], outside: list[Line],
              s: TableSettings) -> bool:
    """Tell whether the first table of a page continues the logical table made of ``parts`` so far.

    It does when the previous page's last table is the latest part, the columns have the same widths, and
    nothing but page furniture (page numbers, lines that repeat elsewhere) stands between the two.
    """
    last = parts[-1]
    if not prev_tables or last is not prev_tables[-1] or not widths_match(parts[0], t, s.column_tolerance):
        return False
    between = [ln for ln in outside if (ln.top >= last.bbox[3] and ln.page == last.page)
               or (ln.bottom <= t.bbox[1] and ln.page == t.page)]
    elsewhere = {squash(ln.text) for ln in outside if ln not in between}
    return not any(not _PAGE_NUMBER.match(ln.text) and squash(ln.text) not in elsewhere for ln in between)
