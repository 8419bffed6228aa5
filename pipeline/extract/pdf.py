"""PDF attachments to Grids: lattice tables found by pdfplumber, stitched across pages into logical tables.

The chain, each step a function from data to data::

    bytes ─open─▶ pages (chars, table cell boxes) ─check─▶ (NeedsOCR / GarbledText)
          ─page_tables─▶ span-aware page grids with cell text built from chars
          ─stitch─▶ one Grid per logical table

What a Word/LibreOffice print of a long table looks like, and what stitching undoes:
- the header row(s) repeat on every page: dropped when they equal the first page's (squashed text);
- a vertically merged cell prints its text on its first page only: its empty continuation at the top of the next
  page is joined to it (covered positions, ``text=None``);
- a row that breaks across pages leaves its tail at the top of the next page: the tail is merged into the row
  it continues, each cell's text joined like a wrapped line. Nothing marks a tail, so it is told from a new row
  by where the text above stopped: a tail's every text continues a one-row cell of the previous page's last
  row whose last line runs to the cell's right edge (the text wrapped over the break). A new row's texts
  follow cells whose text ended (short last lines) or merged cells. Limits: a new row whose every text happens
  to follow full last lines is merged by mistake; a tail under a line cut short (a long Latin token moved
  whole to the next line) is kept as a row of its own. tests/test_pdf_grid.py proves the layouts handled.
A cell joined across pages keeps the page and bbox of its first part; its locator lists every part that
carried text (``"page 2 table 1 row 8 col 5; page 3 table 1 row 2 col 5"``), see ``locator_pages``. A
covered position carries its origin's text-less copy: ``text=None``, origin's coordinates, page, bbox, locator.
"""

from __future__ import annotations

import io
import re
from bisect import bisect_right
from dataclasses import dataclass, field

from pipeline.errors import CorruptFile, EmptyInput, GarbledText, NeedsOCR
from pipeline.model import Cell, Grid
from pipeline.text import is_cjk, join_lines, normalize_line, squash

STAGE = "extract"
_PAGE_NUMBER = re.compile(r"^[-—–_\s]*(第\s*)?\d+(\s*页)?(\s*[/／]\s*(共\s*)?\d+\s*页?)?[-—–_\s]*$")
_PAGE_IN_LOCATOR = re.compile(r"page (\d+)")


@dataclass(frozen=True)
class TableSettings:
    """Knobs of PDF table reading, with validated defaults (lengths in points, ratios of the font size)."""

    snap_tolerance: float = 3.0  # passed to pdfplumber's lattice table finder
    join_tolerance: float = 3.0
    intersection_tolerance: float = 3.0
    edge_min_length: float = 3.0
    line_tolerance: float = 0.5  # chars whose tops differ by less than this × size share a text line
    space_gap: float = 0.25  # a gap wider than this × size between two chars on a line is a real space
    space_evidence_chars: int = 3  # context on each side of a wrap matched against in-line spaces; 0 = off
    wrap_slack: float = 2.0  # a last line this many × size short of the cell's edge still wrapped (kinsoku)
    max_header_rows: int = 3  # rows compared with the first page's header when dropping repeats
    column_tolerance: float = 3.0  # a continuing table's column widths may differ by this much
    min_cols: int = 2  # a framed box with fewer columns is not a table
    caption_max_gap: float = 36.0  # how far above a table its caption line may end
    max_cid_ratio: float = 0.02  # share of (cid:NN) glyphs above which the text layer is garbled
    max_spaced_han_ratio: float = 0.3  # share of Han chars spaced out one by one above which it is garbled
    min_han_for_check: int = 20  # too little Han text says nothing about spacing

    def __post_init__(self) -> None:
        for name in ("snap_tolerance", "join_tolerance", "intersection_tolerance", "edge_min_length", "wrap_slack",
                     "line_tolerance", "space_gap", "column_tolerance", "caption_max_gap"):
            if getattr(self, name) < 0:
                raise ValueError(f"TableSettings.{name} must be >= 0, got {getattr(self, name)!r}")
        for name in ("max_cid_ratio", "max_spaced_han_ratio"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"TableSettings.{name} must be within [0, 1], got {getattr(self, name)!r}")
        for name in ("max_header_rows", "min_han_for_check", "space_evidence_chars"):
            if getattr(self, name) < 0:
                raise ValueError(f"TableSettings.{name} must be >= 0, got {getattr(self, name)!r}")
        if self.min_cols < 1:
            raise ValueError(f"TableSettings.min_cols must be >= 1, got {self.min_cols!r}")

    def finder(self) -> dict:
        """Return pdfplumber's table settings: ruling lines only (lattice)."""
        return {
            "vertical_strategy": "lines",
            "horizontal_strategy": "lines",
            "snap_tolerance": self.snap_tolerance,
            "join_tolerance": self.join_tolerance,
            "intersection_tolerance": self.intersection_tolerance,
            "edge_min_length": self.edge_min_length,
        }


DEFAULT_SETTINGS = TableSettings()


# --- text lines from chars ------------------------------------------------------------------------

@dataclass(slots=True)
class Line:
    """One text line: its text (a leading/trailing real space kept as one space), position and font size."""

    text: str
    top: float
    bottom: float
    size: float
    page: int = 0
    x1: float = 0.0


def chars_to_lines(chars: list[dict], s: TableSettings = DEFAULT_SETTINGS) -> list[Line]:
    """Group chars into lines top to bottom; a gap wider than ``space_gap`` × size becomes a space."""
    lines: list[list[dict]] = []
    for ch in sorted(chars, key=lambda c: (c["top"], c["x0"])):
        if lines and ch["top"] - lines[-1][0]["top"] <= s.line_tolerance * ch["size"]:
            lines[-1].append(ch)
        else:
            lines.append([ch])
    out = []
    for group in lines:
        group.sort(key=lambda c: c["x0"])
        parts: list[str] = []
        prev = None
        for ch in group:
            if prev is not None:
                if ch["text"] == prev["text"] and abs(ch["x0"] - prev["x0"]) < 0.2 * ch["size"]:
                    continue  # the same glyph printed twice (fake bold) is one character
                if ch["x0"] - prev["x1"] > s.space_gap * max(ch["size"], prev["size"]):
                    parts.append(" ")
            parts.append(ch["text"])
            prev = ch
        text = "".join(parts)
        out.append(Line(text, min(c["top"] for c in group), max(c["bottom"] for c in group),
                        max(c["size"] for c in group), group[0].get("page_number", 0), max(c["x1"] for c in group)))
    return out


class SpaceEvidence:
    """Spaces the document prints inside its lines, to restore one that a line wrap swallowed.

    Writer and Word let the space at a wrap hang past the margin and do not print it, so the text layer loses
    it (``福建省民政厅`` | ``福建省财政厅``). When the same words stand with a space inside a line elsewhere
    in the document, and never without one, the wrap was a space.
    """

    def __init__(self, texts: list[str], k: int = 3):
        self.k = k
        self.corpus = "\n".join(normalize_line(t) for t in texts)
        self.pairs: set[tuple[str, str]] = set()
        self.used: list[tuple[str, str]] = []
        for t in self.corpus.split("\n") if k else ():
            for i, ch in enumerate(t):
                if ch == " " and " " not in (pair := (t[max(0, i - k):i], t[i + 1:i + 1 + k]))[0] + pair[1]:
                    if len(pair[0]) == len(pair[1]) == k:
                        self.pairs.add(pair)

    def restores(self, before: str, after: str) -> bool:
        """Tell whether the wrap between ``before`` and ``after`` was a space."""
        pair = (before[-self.k:], after[: self.k]) if self.k else ("", "")
        if pair in self.pairs and pair[0] + pair[1] not in self.corpus:
            self.used.append(pair)
            return True
        return False


def lines_to_text(lines: list[str], evidence: SpaceEvidence | None = None) -> str:
    """Join wrapped lines: nothing at a wrap (CJK or Latin), one space where the PDF shows one there."""
    groups: list[list[str]] = [[]]
    for line in lines:
        core = normalize_line(line)
        if not core:
            if line:
                groups.append([])
            continue
        prev = groups[-1][-1] if groups[-1] else None
        if line[0].isspace() or (prev is not None and evidence is not None and evidence.restores(prev, core)):
            groups.append([])
        groups[-1].append(core)
        if line[-1].isspace():
            groups.append([])
    # A wrap inside a token (GB/T43153- | 2023) or after CJK text is not a space: join with nothing.
    return " ".join(t for g in groups if (t := join_lines(g, latin_sep="")))


def locator_pages(locator: str) -> list[int]:
    """Return the pages (1-based) a PDF cell locator names, e.g. [2, 3] for a cell continued on page 3."""
    return sorted({int(p) for p in _PAGE_IN_LOCATOR.findall(locator)})


# --- reading the file -----------------------------------------------------------------------------

@dataclass(slots=True)
class _Page:
    number: int
    chars: list[dict]
    tables: list[list[tuple[float, float, float, float]]]  # cell boxes of each table found, top to bottom


def read_pages(data: bytes, file: str | None, s: TableSettings = DEFAULT_SETTINGS) -> list[_Page]:
    """Open the PDF and return every page's chars and lattice table cells; a damaged file is CorruptFile."""
    if not data:
        raise EmptyInput("the PDF has no bytes", file=file, stage=STAGE)
    if b"%PDF-" not in data[:1024]:
        raise CorruptFile("the file does not start like a PDF (no %PDF- header)", file=file, stage=STAGE)
    if b"%%EOF" not in data[-2048:]:
        raise CorruptFile("the PDF has no end-of-file marker: it is truncated", file=file, stage=STAGE)
    import pdfplumber

    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            pages = []
            for page in pdf.pages:
                tables = sorted(page.find_tables(s.finder()), key=lambda t: (t.bbox[1], t.bbox[0]))
                pages.append(_Page(page.page_number, list(page.chars), [list(t.cells) for t in tables]))
            return pages
    except Exception as exc:  # pdfminer raises many types (PSEOF, PDFSyntaxError, PDFPasswordIncorrect …)
        what = _describe(exc)
        reason = f"cannot read the PDF ({what})"
        if "password" in what.lower() or "encrypt" in what.lower():
            reason = f"the PDF is encrypted and needs a password ({what})"
        raise CorruptFile(reason, file=file, stage=STAGE) from exc


def _describe(exc: BaseException) -> str:
    """Name an error and the errors it wraps (pdfplumber wraps pdfminer's in PdfminerException)."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo and len(seen) < 5:
        e = todo.pop(0)
        if e in seen:
            continue
        seen.append(e)
        todo += [a for a in e.args if isinstance(a, BaseException)] + [x for x in (e.__cause__, e.__context__) if x]
    return "; ".join(f"{type(e).__name__}: {e}" if str(e) else type(e).__name__ for e in seen)


def check_text_layer(pages: list[_Page], file: str | None, s: TableSettings = DEFAULT_SETTINGS) -> None:
    """Raise NeedsOCR when no page has text, GarbledText when too many glyphs are (cid:NN)."""
    total = sum(len(p.chars) for p in pages)
    if total == 0 or not any(c["text"].strip() for p in pages for c in p.chars):
        raise NeedsOCR(f"none of the {len(pages)} page(s) has a text layer (a scan?)", file=file, stage=STAGE)
    cid = sum(c["text"].startswith("(cid:") for p in pages for c in p.chars)
    if cid / total > s.max_cid_ratio:
        raise GarbledText(f"{cid} of {total} glyphs have no Unicode mapping ((cid:NN))", file=file, stage=STAGE)


def spaced_han_ratio(texts: list[str]) -> tuple[int, int]:
    """Count Han chars standing alone between spaces in runs of three or more, and all Han chars."""
    spaced = han = 0
    for text in texts:
        tokens = text.split()
        han += sum(is_cjk(ch) for t in tokens for ch in t)
        run = 0
        for t in tokens + [""]:
            if len(t) == 1 and is_cjk(t):
                run += 1
                continue
            if run >= 3:
                spaced += run
            run = 0
    return spaced, han


def check_spacing(texts: list[str], file: str | None, s: TableSettings = DEFAULT_SETTINGS) -> None:
    """Raise GarbledText when Han characters are spaced out one by one (``厦 门 市``) in much of the text."""
    spaced, han = spaced_han_ratio(texts)
    if han >= s.min_han_for_check and spaced / han > s.max_spaced_han_ratio:
        raise GarbledText(f"{spaced} of {han} Han characters are spaced out one by one", file=file, stage=STAGE)


# --- one page's table as a span-aware grid --------------------------------------------------------

@dataclass(slots=True)
class _PageCell:
    r0: int
    r1: int
    c0: int
    c1: int
    bbox: tuple[float, float, float, float]
    locator: str
    lines: list[str] = field(default_factory=list)
    ends_full: bool = False  # the last line reaches the right edge: the text may wrap on (onto the next page)


@dataclass(slots=True)
class _PageTable:
    page: int
    bbox: tuple[float, float, float, float]
    xs: list[float]
    cells: list[_PageCell]
    pos: list[list[int]]  # index into cells for every (row, col)
    warnings: list[str]

    @property
    def n_rows(self) -> int:
        return len(self.pos)

    @property
    def n_cols(self) -> int:
        return len(self.xs) - 1

    def row_signature(self, r: int) -> tuple:
        """Describe row r by its cells' spans and squashed texts (to spot a repeated header)."""
        seen = dict.fromkeys(self.pos[r])
        return tuple((self.cells[i].c0, self.cells[i].c1, self.cells[i].r0 == r, squash("".join(self.cells[i].lines)))
                     for i in seen)


def _boundaries(values: list[float], tol: float = 1.0) -> list[float]:
    """Cluster coordinates that differ by less than ``tol`` into one boundary."""
    out: list[float] = []
    for v in sorted(values):
        if not out or v - out[-1] > tol:
            out.append(v)
    return out


def _nearest(bounds: list[float], v: float) -> int:
    return min(range(len(bounds)), key=lambda i: abs(bounds[i] - v))


def cells_to_page_table(boxes: list[tuple], chars: list[dict], page: int, index: int,
                        s: TableSettings = DEFAULT_SETTINGS) -> _PageTable | None:
    """Place a table's cell boxes on a row/column grid and fill each cell with the text lines of its chars."""
    xs = _boundaries([b[0] for b in boxes] + [b[2] for b in boxes])
    ys = _boundaries([b[1] for b in boxes] + [b[3] for b in boxes])
    if len(xs) - 1 < s.min_cols or len(ys) < 2:
        return None
    n_rows, n_cols = len(ys) - 1, len(xs) - 1
    cells: list[_PageCell] = []
    pos = [[-1] * n_cols for _ in range(n_rows)]
    warnings: list[str] = []
    where = f"page {page} table {index}"
    for box in sorted(boxes, key=lambda b: (b[1], b[0])):
        r0, r1, c0, c1 = _nearest(ys, box[1]), _nearest(ys, box[3]), _nearest(xs, box[0]), _nearest(xs, box[2])
        if r1 <= r0 or c1 <= c0:
            continue
        if any(pos[r][c] >= 0 for r in range(r0, r1) for c in range(c0, c1)):
            warnings.append(f"{where}: cell at row {r0 + 1} col {c0 + 1} overlaps another; the first one kept")
            continue
        cells.append(_PageCell(r0, r1, c0, c1, tuple(round(v, 2) for v in box), f"{where} row {r0 + 1} col {c0 + 1}"))
        for r in range(r0, r1):
            for c in range(c0, c1):
                pos[r][c] = len(cells) - 1
    for r in range(n_rows):
        for c in range(n_cols):
            if pos[r][c] < 0:  # no ruled cell here (a missing line): an empty cell keeps the grid rectangular
                warnings.append(f"{where}: no cell at row {r + 1} col {c + 1}; padded empty")
                cells.append(_PageCell(r, r + 1, c, c + 1, (xs[c], ys[r], xs[c + 1], ys[r + 1]),
                                       f"{where} row {r + 1} col {c + 1}"))
                pos[r][c] = len(cells) - 1
    members: dict[int, list[dict]] = {}
    for ch in chars:
        c = bisect_right(xs, (ch["x0"] + ch["x1"]) / 2) - 1
        r = bisect_right(ys, (ch["top"] + ch["bottom"]) / 2) - 1
        if 0 <= r < n_rows and 0 <= c < n_cols:
            members.setdefault(pos[r][c], []).append(ch)
    pad = float("inf")  # the cells' right padding: the least room any line leaves at its cell's right edge
    last: dict[int, Line] = {}
    for i, group in members.items():
        lines = chars_to_lines(group, s)
        cells[i].lines = [line.text for line in lines]
        last[i] = lines[-1]
        pad = min(pad, cells[i].bbox[2] - max(line.x1 for line in lines))
    for i, line in last.items():
        cells[i].ends_full = cells[i].bbox[2] - max(pad, 0.0) - line.x1 <= s.wrap_slack * line.size
    return _PageTable(page, (xs[0], ys[0], xs[-1], ys[-1]), xs, cells, pos, warnings)


# --- stitching page tables into logical tables ----------------------------------------------------

@dataclass(slots=True)
class _Logical:
    r0: int
    r1: int
    c0: int
    c1: int
    parts: list[_PageCell]  # first part first; later parts continue it on following pages
    pages: list[int]

    @property
    def has_text(self) -> bool:
        return any(normalize_line(x) for p in self.parts for x in p.lines)


class _Stitcher:
    """Accumulate page tables of one logical table: drop repeated headers, merge row tails and merged cells."""

    def __init__(self, first: _PageTable, caption: str, s: TableSettings):
        self.s = s
        self.first = first
        self.last = first  # the page table added most recently
        self.caption = caption
        self.cells: list[_Logical] = []
        self.pos: list[list[int]] = []
        self.warnings = list(first.warnings)
        self.header = [first.row_signature(r) for r in range(_header_depth(first, s.max_header_rows))]
        self._add(first, body=0, base=0, joins={})

    def widths_match(self, t: _PageTable) -> bool:
        a, b = self.first.xs, t.xs
        tol = self.s.column_tolerance
        return len(a) == len(b) and all(abs((a[i] - a[0]) - (b[i] - b[0])) <= tol for i in range(len(a)))

    def _add(self, t: _PageTable, body: int, base: int, joins: dict[int, int]) -> None:
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
                lc.parts.append(pc)
                lc.pages.append(t.page)
                k = joins[i]
            else:
                self.cells.append(_Logical(r0, r1, pc.c0, pc.c1, [pc], [t.page]))
                k = len(self.cells) - 1
            for r in range(r0, r1):
                for c in range(pc.c0, pc.c1):
                    self.pos[r][c] = k

    def header_rows(self, t: _PageTable) -> int:
        """Count the leading rows of ``t`` that repeat the first page's header."""
        h = 0
        while h < min(len(self.header), t.n_rows) and t.row_signature(h) == self.header[h] and any(
            sig[3] for sig in self.header[h]
        ):
            h += 1
        return h

    def _is_tail(self, t: _PageTable, body: int, joinable: dict[int, int]) -> bool:
        """Tell whether the first body row of ``t`` is the tail of the previous page's last row.

        Every text at the top must continue a one-row cell of that row whose last line ran to the cell's edge
        (the text wrapped over the break). A top row without any text is a tail when a one-row cell above holds
        text (it ended right at the break).
        """
        last = len(self.pos) - 1
        texts = [(i, k) for i, k in joinable.items() if _text(t.cells[i])]
        if texts:
            return all(t.cells[i].r1 == body + 1 and self.cells[k].r0 == last and self.cells[k].parts[-1].ends_full
                       for i, k in texts)
        return any(t.cells[i].r1 == body + 1 and self.cells[k].r0 == last and self.cells[k].has_text
                   for i, k in joinable.items())

    def continue_with(self, t: _PageTable) -> None:
        """Stitch the next page's table onto this logical table."""
        self.last = t
        body = self.header_rows(t)
        if body >= t.n_rows:
            return
        last = len(self.pos) - 1
        top = {t.pos[body][c] for c in range(t.n_cols)}
        joinable: dict[int, int] = {}
        for i in top:
            pc = t.cells[i]
            k = self.pos[last][pc.c0]
            lc = self.cells[k]
            if pc.r0 <= body and (lc.c0, lc.c1) == (pc.c0, pc.c1):
                joinable[i] = k
        tail = len(joinable) == len(top) and self._is_tail(t, body, joinable)
        if tail:
            self.warnings.append(f"page {t.page}: first row continues the row on page {t.page - 1}; merged")
            self._add(t, body, last, joinable)
        else:
            # A merged cell prints its text on its first page only: an empty top cell continues the cell above.
            joins = {i: k for i, k in joinable.items() if not _text(t.cells[i])}
            self._add(t, body, last + 1, joins)
        self.warnings.extend(t.warnings)

    def grid(self, table_index: int, evidence: SpaceEvidence | None = None) -> Grid:
        """Return the logical table as a Grid (cell texts joined over lines and pages)."""
        rows: list[list[Cell]] = []
        origin_cells: dict[int, Cell] = {}
        for k, lc in enumerate(self.cells):
            lines = [x for p in lc.parts for x in p.lines]
            later = [p.locator for p in lc.parts[1:] if any(x.strip() for x in p.lines)]
            locator = "; ".join([lc.parts[0].locator, *later])
            restored = len(evidence.used) if evidence else 0
            text = lines_to_text(lines, evidence)
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
        return Grid("pdf", table_index, rows, f"{span} table {table_index + 1}", self.warnings, self.caption)


def _header_depth(t: _PageTable, most: int) -> int:
    """Return how many leading rows may be header: up to the first rule no merged cell crosses (at least 1)."""
    for k in range(1, min(most, t.n_rows) + 1):
        if all(c.r1 <= k for c in t.cells if c.r0 < k):
            return k
    return 1


def _text(cell: _PageCell) -> str:
    return normalize_line("".join(cell.lines))


def _caption(outside: list[Line], table_top: float, floor: float, s: TableSettings) -> str:
    """Return the text lines just above a table (its title), nearest block only."""
    above = sorted((ln for ln in outside if floor <= ln.top and ln.bottom <= table_top + 1), key=lambda ln: -ln.bottom)
    picked: list[Line] = []
    edge = table_top
    for ln in above:
        if edge - ln.bottom > (s.caption_max_gap if not picked else 0.8 * ln.size):
            break
        picked.append(ln)
        edge = ln.top
    return lines_to_text([ln.text for ln in reversed(picked)])


def _interrupts(lines: list[Line], other_page: set[str]) -> bool:
    """Tell whether text between two page tables is content (not a page number or a running header)."""
    return any(not _PAGE_NUMBER.match(ln.text) and squash(ln.text) not in other_page for ln in lines)


def pdf_to_grids(data: bytes, *, file: str | None = None, settings: TableSettings = DEFAULT_SETTINGS) -> list[Grid]:
    """Read every lattice table of a PDF as Grids, one per logical table stitched across pages."""
    s = settings
    pages = read_pages(data, file, s)
    check_text_layer(pages, file, s)
    page_tables: list[list[_PageTable]] = []
    outside: list[list[Line]] = []
    texts: list[str] = []
    for p in pages:
        tables = [t for i, boxes in enumerate(p.tables) if (t := cells_to_page_table(
            boxes, _within(p.chars, boxes), p.number, i + 1, s)) is not None]
        page_tables.append(tables)
        rest = [ch for ch in p.chars if not any(_inside(ch, t.bbox) for t in tables)]
        outside.append(chars_to_lines(rest, s))
        texts += [ln.text for ln in outside[-1]] + [x for t in tables for c in t.cells for x in c.lines]
    check_spacing(texts, file, s)
    done: list[_Stitcher] = []
    for n, tables in enumerate(page_tables):
        for j, t in enumerate(tables):
            if done and j == 0 and n and _continues(done[-1], t, page_tables[n - 1], outside[n - 1] + outside[n]):
                done[-1].continue_with(t)
                continue
            floor = tables[j - 1].bbox[3] if j else 0.0
            done.append(_Stitcher(t, _caption(outside[n], t.bbox[1], floor, s), s))
    evidence = SpaceEvidence(texts, s.space_evidence_chars)
    return [st.grid(i, evidence) for i, st in enumerate(done)]


def _continues(current: _Stitcher, t: _PageTable, prev_tables: list[_PageTable], outside: list[Line]) -> bool:
    """Tell whether the first table of a page continues the last table of the previous page."""
    if not prev_tables or current.last is not prev_tables[-1] or not current.widths_match(t):
        return False
    between = [ln for ln in outside if (ln.top >= current.last.bbox[3] and ln.page == current.last.page)
               or (ln.bottom <= t.bbox[1] and ln.page == t.page)]
    elsewhere = {squash(ln.text) for ln in outside if ln not in between}
    return not _interrupts(between, elsewhere)


def _inside(ch: dict, bbox: tuple) -> bool:
    cx, cy = (ch["x0"] + ch["x1"]) / 2, (ch["top"] + ch["bottom"]) / 2
    return bbox[0] <= cx <= bbox[2] and bbox[1] <= cy <= bbox[3]


def _within(chars: list[dict], boxes: list[tuple]) -> list[dict]:
    """Keep the chars inside the bounding box of a table's cells (crop before assigning chars to cells)."""
    bbox = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
    return [ch for ch in chars if _inside(ch, bbox)]
