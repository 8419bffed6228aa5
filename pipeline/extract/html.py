"""HTML pages to Grids: a span-aware grid builder on lxml.

Word-exported tables put rowspan/colspan on cells, split a cell's text over ``<p>``/``<span>``/``<br>``,
pad with ``&nbsp;`` and ``<o:p>``, and end with a zero-height spacer row. Each grid position keeps its
text (``None`` where covered by a span), its origin's coordinates and a DOM locator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from pipeline.errors import EmptyInput
from pipeline.extract.limits import DEFAULT_LIMITS, TooLarge, check_grid
from pipeline.model import Cell, Grid
from pipeline.text import clean_text

# Elements whose start and end break the line inside a cell's text.
BLOCK_TAGS = frozenset(
    "p div br li ul ol tr table h1 h2 h3 h4 h5 h6 dd dt dl blockquote pre section article header footer".split()
)
MAX_SPAN = DEFAULT_LIMITS.max_span  # the HTML spec caps colspan at 1000 and rowspan at 65534; limits.toml caps both
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
_HIDDEN = re.compile(r"display\s*:\s*none", re.I)


def parse_html(text: str) -> etree._Element:
    """Parse page text into an lxml document (an XML declaration is dropped: lxml refuses it in str).

    libxml2's HTML parser, as ``lxml.html`` uses it, but with lxml's plain elements: lxml.html looks up a Python
    element class each time the code touches an element, a tenth of the time of reading a page's tables.
    """
    text = _XML_DECL.sub("", text, count=1)
    if not text.strip():
        raise EmptyInput("the page has no content", stage="parse")
    doc = etree.fromstring(text, etree.HTMLParser())
    if doc is None:
        raise EmptyInput("the page has no content", stage="parse")
    return doc


def text_content(el: etree._Element) -> str:
    """All the text under an element, tags dropped (lxml.html's text_content)."""
    return el.xpath("string()")


def element_lines(el: etree._Element) -> list[str]:
    """Return the text of an element as lines, breaking at block elements and ``<br>``."""
    parts: list[str] = []

    def walk(e: etree._Element) -> None:
        tag = e.tag if isinstance(e.tag, str) else None
        if tag is not None and not _HIDDEN.search(e.get("style", "")):
            block = tag in BLOCK_TAGS
            if block:
                parts.append("\n")
            if e.text:
                parts.append(e.text)
            for child in e:
                walk(child)
                if child.tail:
                    parts.append(child.tail)
            if block:
                parts.append("\n")

    walk(el)
    return "".join(parts).split("\n")


def element_text(el: etree._Element) -> str:
    """Return an element's text with whitespace normalized and CJK lines joined without spaces."""
    return clean_text("\n".join(element_lines(el)))


def cell_text(el: etree._Element) -> str:
    """Return a cell's text as published: one line per paragraph (block element or ``<br>``), joined by '\n'.

    Inside a paragraph, whitespace is normalized and the page source's own line wraps are joined CJK-aware
    (they are markup, not breaks the reader sees); empty paragraphs (``<p>&nbsp;</p>``) leave no line.
    """
    paragraphs: list[list[str]] = [[]]

    def walk(e: etree._Element) -> None:
        tag = e.tag
        if not isinstance(tag, str) or ((style := e.get("style")) and _HIDDEN.search(style)):
            return
        block = tag in BLOCK_TAGS
        if block:
            paragraphs.append([])
        if e.text:
            paragraphs[-1].append(e.text)
        for child in e:
            walk(child)
            if child.tail:
                paragraphs[-1].append(child.tail)
        if block:
            paragraphs.append([])

    walk(el)
    return "\n".join(line for p in paragraphs if p and (line := clean_text("".join(p))))


def table_hints(table: etree._Element) -> dict:
    """Collect evidence that a table is page layout: nested tables and how much of its text is links."""
    def chars(els) -> int:
        return sum(len("".join(text_content(e).split())) for e in els)

    links = table.xpath(".//a")
    total = len("".join(text_content(table).split()))
    return {
        "nested_tables": len(table.xpath(".//table")),
        "n_links": len(links),
        "link_ratio": round(chars(links) / total, 3) if total else 0.0,
    }


def _span(value: str | None, name: str, where: str, warnings: list[str]) -> int:
    """Read a rowspan/colspan attribute; 0 means 'to the end' and is returned as 0."""
    if value is None:
        return 1
    v = value.strip()
    if not v.isdigit():
        warnings.append(f"{where}: {name}={value!r} is not a number; read as 1")
        return 1
    n = int(v)
    if n > MAX_SPAN:
        warnings.append(f"{where}: {name}={n} exceeds {MAX_SPAN}; clamped")
        n = MAX_SPAN
    return n


@dataclass(slots=True)
class _Placed:
    row: int
    col: int
    rowspan: int
    colspan: int
    text: str
    locator: str


def _table_rows(table: etree._Element) -> list[etree._Element]:
    """Rows of this table only (not of tables nested in its cells), in document order."""
    return table.xpath("./tr|./thead/tr|./tbody/tr|./tfoot/tr")


def _row_cells(tr: etree._Element) -> list[etree._Element]:
    return tr.xpath("./td|./th")


def _is_spacer(cells: list[tuple[etree._Element, str]]) -> bool:
    return all(text == "" for _, text in cells)


def _place(
    rows: list[tuple[int, list[tuple[etree._Element, str]]]], tlabel: str, clamp_cols: int | None,
    warnings: list[str], at: str | None = None,
) -> tuple[list[_Placed], int]:
    """Assign every cell its top-left grid position; return the placed cells and the row count.
    Warnings name cells under ``tlabel`` (table[n]); their locators start with ``at`` (the table's XPath) if given."""
    n = len(rows)
    occupied: set[tuple[int, int]] = set()
    placed: list[_Placed] = []
    area = 0  # grid positions the spans cover so far: capped before they are expanded
    for r, (tr_index, cells) in enumerate(rows):
        c = 0
        for ci, (td, text) in enumerate(cells):
            where = f"{tlabel}/tr[{tr_index + 1}]/td[{ci + 1}]"
            while (r, c) in occupied:
                c += 1
            rs = _span(td.get("rowspan"), "rowspan", where, warnings)
            cs = _span(td.get("colspan"), "colspan", where, warnings) or 1
            if rs == 0:
                warnings.append(f"{where}: rowspan=0 spans to the end of the table ({n - r} rows)")
                rs = n - r
            if rs > n - r:
                warnings.append(f"{where}: rowspan={rs} runs past the table's {n} rows; clamped to {n - r}")
                rs = n - r
            if clamp_cols is not None and c + cs > clamp_cols and cs > 1:
                new = max(1, clamp_cols - c)
                warnings.append(f"{where}: colspan={cs} runs past the table's {clamp_cols} columns; clamped to {new}")
                cs = new
            area += rs * cs
            if area > DEFAULT_LIMITS.max_cells:
                raise TooLarge(f"{tlabel}: its cells' spans cover more than {DEFAULT_LIMITS.max_cells:,} grid positions "
                               f"(at {where}: rowspan {rs} × colspan {cs})", stage="extract")
            for dr in range(rs):
                for dc in range(cs):
                    occupied.add((r + dr, c + dc))
            placed.append(_Placed(r, c, rs, cs, text, f"{at}/tr[{tr_index + 1}]/td[{ci + 1}]" if at else where))
            c += cs
    return placed, n


def _natural_width(placed: list[_Placed]) -> int:
    """Width given by cells that don't span columns; a spanning cell counts only its first column."""
    return max((p.col + (p.colspan if p.colspan == 1 else 1) for p in placed), default=0)


def table_to_grid(table: etree._Element, table_index: int, at: str | None = None) -> Grid:
    """Build the Grid of one ``<table>`` element; locators start with ``at`` (its XPath in the page) if given,
    else with ``table[n]``."""
    warnings: list[str] = []
    tlabel = f"table[{table_index + 1}]"
    rows: list[tuple[int, list[tuple[etree._Element, str]]]] = []
    pending_cover = 0  # rows still covered by a rowspan from above: such a row is never a spacer
    for i, tr in enumerate(_table_rows(table)):
        cells = [(td, cell_text(td)) for td in _row_cells(tr)]
        if not cells or (_is_spacer(cells) and pending_cover == 0):
            warnings.append(f"{tlabel}/tr[{i + 1}]: empty spacer row dropped")
            continue
        rows.append((i, cells))
        spans = [int(td.get("rowspan")) for td, _ in cells if (td.get("rowspan") or "").strip().isdigit()]
        pending_cover = max(pending_cover - 1, max(spans, default=1) - 1)
    placed, n = _place(rows, tlabel, None, warnings, at)
    width = _natural_width(placed)
    if any(p.col + p.colspan > width for p in placed):
        warnings_again: list[str] = []
        placed, n = _place(rows, tlabel, width, warnings_again, at)
        warnings.extend(w for w in warnings_again if "colspan" in w and "clamped to" in w)
    width = max((p.col + p.colspan for p in placed), default=0)
    check_grid(n, width, what=tlabel)
    grid: list[list[Cell | None]] = [[None] * width for _ in range(n)]
    for p in placed:
        for dr in range(p.rowspan):
            for dc in range(p.colspan):
                rr, cc = p.row + dr, p.col + dc
                if grid[rr][cc] is not None:
                    warnings.append(f"{p.locator}: overlaps another cell at ({rr}, {cc}); the first one kept")
                    continue
                first = dr == 0 and dc == 0
                grid[rr][cc] = Cell(p.text if first else None, (p.row, p.col), p.locator)
    for r, row in enumerate(grid):
        missing = [c for c, cell in enumerate(row) if cell is None]
        if missing:
            warnings.append(f"{tlabel} row {r}: {len(missing)} position(s) with no cell (ragged row); padded empty")
            for c in missing:
                row[c] = Cell("", (r, c), f"{at or tlabel}/row[{r + 1}]/pad[{c + 1}]")
    caption = table.find("caption")
    return Grid(
        source_format="html",
        table_index=table_index,
        rows=grid,  # type: ignore[arg-type]
        locator=at or tlabel,
        warnings=warnings,
        caption=element_text(caption) if caption is not None else "",
        hints=table_hints(table),
    )


def is_hidden(el: etree._Element, hidden: frozenset, root: etree._Element | None = None) -> bool:
    """Tell whether the element or one of its ancestors (up to ``root``) is in ``hidden``."""
    node: etree._Element | None = el
    while node is not None:
        if node in hidden:
            return True
        if node is root:
            return False
        node = node.getparent()
    return False


def html_to_grids(root: etree._Element, hidden: frozenset = frozenset()) -> list[Grid]:
    """Build a Grid for every ``<table>`` under ``root`` (the page, or its body), in document order.

    Tables inside a ``hidden`` element (or hidden themselves) are skipped. Table indexes count the
    tables read; locators stay XPaths of the original document.
    """
    tables = [t for t in root.iter("table") if not (hidden and is_hidden(t, hidden, root))]
    if root.getparent() is not None or hidden:  # a sub-tree was read: locate each table in the whole page
        tree = root.getroottree()
        return [table_to_grid(t, i, tree.getpath(t)) for i, t in enumerate(tables)]
    return [table_to_grid(t, i) for i, t in enumerate(tables)]
