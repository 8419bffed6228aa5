"""PDF attachments to Grids: lattice tables found by pdfplumber, stitched across pages into logical tables.

The chain, each step a function from data to data::

    bytes ─read_pages─▶ pages (chars, table cell boxes) ─check─▶ (NeedsOCR / GarbledText)
          ─cells_to_page_table─▶ span-aware page grids, cell text read from the chars as the page shows them
          ─Stitcher─▶ one Grid per logical table, with its caption, the lines above it and its note below

Where each part lives: ``pdf_text`` (chars → lines → cell text: glyphs placed by baseline, justified spacing,
wraps, ``SpaceEvidence``), ``pdf_cells`` (one page's cell boxes → grid; misaligned borders), ``pdf_stitch``
(page tables → logical table: repeated headers, merged cells re-printed or not, rows split by a page break).

Around a table (``table_context``): its caption is the nearest block of lines just above it (within
``caption_max_gap``, lines of one block at most ``line_gap`` × size apart). A block whose upper line is set
larger (``title_ratio``) than the lines under it is a title over a sub-line (d07: ``2025年部门财务收支预算总表``
over ``编制部门：… 单位：元``): the larger lines are the caption, the others go to ``grid.hints["above"]``, and the
gap allowed to a larger line is ``caption_max_gap``. The note below is the block right under the table's last
part when its first line starts like a note (``note_pattern``: 注：, 备注:, 说明：…). Text inside the ruled grid
is never caption or note: title, header, note, total and blank rows stay rows of the grid.
"""

from __future__ import annotations

import io
import re

from pipeline.errors import CorruptFile, EmptyInput, GarbledText, NeedsOCR
from pipeline.extract.pdf_cells import PageTable, cells_to_page_table
from pipeline.extract.pdf_settings import DEFAULT_SETTINGS, TableSettings
from pipeline.extract.pdf_stitch import Stitcher, continues
from pipeline.extract.pdf_text import (
    Line,
    SpaceEvidence,
    chars_to_lines,
    glyph_mid,
    lines_to_text,
    spaced_han_ratio,
)
from pipeline.model import Grid

__all__ = ["DEFAULT_SETTINGS", "SpaceEvidence", "TableSettings", "chars_to_lines", "lines_to_text",
           "locator_pages", "pdf_to_grids", "spaced_han_ratio"]

STAGE = "extract"
_PAGE_IN_LOCATOR = re.compile(r"page (\d+)")


def locator_pages(locator: str) -> list[int]:
    """Return the pages (1-based) a PDF cell locator names, e.g. [2, 3] for a cell continued on page 3."""
    return sorted({int(p) for p in _PAGE_IN_LOCATOR.findall(locator)})


# --- reading the file -----------------------------------------------------------------------------

class _Page:
    __slots__ = ("number", "chars", "tables")

    def __init__(self, number: int, chars: list[dict], tables: list[list[tuple]]):
        self.number = number
        self.chars = chars
        self.tables = tables  # cell boxes of each table found, top to bottom


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


def check_spacing(texts: list[str], file: str | None, s: TableSettings = DEFAULT_SETTINGS) -> None:
    """Raise GarbledText when Han characters are spaced out one by one (``厦 门 市``) in much of the text."""
    spaced, han = spaced_han_ratio(texts)
    if han >= s.min_han_for_check and spaced / han > s.max_spaced_han_ratio:
        raise GarbledText(f"{spaced} of {han} Han characters are spaced out one by one", file=file, stage=STAGE)


# --- text around a table --------------------------------------------------------------------------

def table_context(lines: list[Line], top: float, floor: float, s: TableSettings) -> tuple[str, list[str]]:
    """Return a table's caption and the other lines of the block just above it (see the module doc)."""
    above = sorted((ln for ln in lines if floor <= ln.top and ln.bottom <= top + 1), key=lambda ln: -ln.bottom)
    picked: list[Line] = []
    edge = top
    for ln in above:
        larger = bool(picked) and ln.size >= s.title_ratio * max(p.size for p in picked)
        if edge - ln.bottom > (s.caption_max_gap if not picked or larger else s.line_gap * ln.size):
            break
        if picked and ln.size * s.title_ratio <= max(p.size for p in picked):
            break  # a smaller line above the title is not part of it
        picked.append(ln)
        edge = ln.top
    picked.reverse()
    big = max((ln.size for ln in picked), default=0.0)
    title = [ln.text for ln in picked if ln.size * s.title_ratio > big]
    rest = [lines_to_text([ln.text]) for ln in picked if ln.size * s.title_ratio <= big]
    return lines_to_text(title), rest


def note_under(lines: list[Line], bottom: float, ceiling: float, s: TableSettings) -> str:
    """Return the note printed right below a table (a block whose first line starts like 注：), else ''."""
    below = sorted((ln for ln in lines if ln.top >= bottom - 1 and ln.bottom <= ceiling + 1), key=lambda ln: ln.top)
    if not below or below[0].top - bottom > s.caption_max_gap or not re.match(s.note_pattern, below[0].text):
        return ""
    picked = [below[0]]
    for ln in below[1:]:
        prev = picked[-1]
        if ln.top - prev.bottom > s.line_gap * ln.size or abs(ln.size - prev.size) > 0.1 * prev.size:
            break
        picked.append(ln)
    return lines_to_text([ln.text for ln in picked])


# --- the whole file -------------------------------------------------------------------------------

def pdf_to_grids(data: bytes, *, file: str | None = None, settings: TableSettings = DEFAULT_SETTINGS) -> list[Grid]:
    """Read every lattice table of a PDF as Grids, one per logical table stitched across pages."""
    s = settings
    pages = read_pages(data, file, s)
    check_text_layer(pages, file, s)
    page_tables: list[list[PageTable]] = []
    outside: list[list[Line]] = []
    texts: list[str] = []
    for p in pages:
        tables, rest = _page_tables(p, s)
        page_tables.append(tables)
        outside.append(chars_to_lines(rest, s))
        texts += [ln.text for ln in outside[-1]] + [x for t in tables for c in t.cells for x in c.lines]
    check_spacing(texts, file, s)
    groups: list[tuple[list[PageTable], str, list[str]]] = []
    for n, tables in enumerate(page_tables):
        for j, t in enumerate(tables):
            if groups and j == 0 and n and continues(groups[-1][0], t, page_tables[n - 1], outside[n - 1] + outside[n],
                                                     s):
                groups[-1][0].append(t)
                continue
            floor = tables[j - 1].bbox[3] if j else 0.0
            groups.append(([t], *table_context(outside[n], t.bbox[1], floor, s)))
    done = [Stitcher(parts, caption, s, above) for parts, caption, above in groups]
    for st in done:
        n = st.last.page - 1
        after = [t.bbox[1] for t in page_tables[n] if t.bbox[1] > st.last.bbox[3]]
        st.note_below = note_under(outside[n], st.last.bbox[3], min(after, default=float("inf")), s)
    evidence = SpaceEvidence(texts, s.space_evidence_chars)
    return [st.grid(i, evidence) for i, st in enumerate(done)]


def _page_tables(p: _Page, s: TableSettings) -> tuple[list[PageTable], list[dict]]:
    """Build a page's tables from its cell boxes; return them and the chars outside every table."""
    tables: list[PageTable] = []
    rest = p.chars
    for i, boxes in enumerate(p.tables):
        bbox = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
        inside, rest = _split(rest, bbox)
        t = cells_to_page_table(boxes, inside, p.number, i + 1, s)
        if t is not None:
            tables.append(t)
        else:
            rest = rest + inside
    return tables, rest


def _split(chars: list[dict], bbox: tuple) -> tuple[list[dict], list[dict]]:
    """Split chars into those whose centre lies inside a box and the others."""
    inside, outside = [], []
    for ch in chars:
        cx, cy = (ch["x0"] + ch["x1"]) / 2, glyph_mid(ch)
        (inside if bbox[0] <= cx <= bbox[2] and bbox[1] <= cy <= bbox[3] else outside).append(ch)
    return inside, outside
