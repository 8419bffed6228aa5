"""Word (DOCX) attachments to Grids, reading merged cells from the table XML.

python-docx's ``table.cell(r, c)`` repeats a merged cell at every position it covers, so a covered position
cannot be told from a cell that really holds the same text. Here the ``w:tc`` elements are read directly:
``w:gridSpan`` spans columns, ``w:vMerge`` (``restart`` / continue) spans rows, ``w:gridBefore`` /
``w:gridAfter`` leave grid columns without a cell, and the legacy ``w:hMerge`` continues the cell to its left.
"""

from __future__ import annotations

import io

from lxml import etree

from pipeline.errors import CorruptFile, EmptyInput
from pipeline.extract.limits import DEFAULT_LIMITS, TooLarge, check_grid, check_zip
from pipeline.model import Cell, Grid
from pipeline.text import clean_text, normalize_line

STAGE = "extract"
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_W = f"{{{W}}}"
MAX_SPAN = DEFAULT_LIMITS.max_span  # clamp absurd gridSpan values (limits.toml)


def _val(el: etree._Element | None, default: str | None = None) -> str | None:
    if el is None:
        return default
    return el.get(f"{_W}val", default)


def _int(el: etree._Element | None, default: int) -> int:
    v = _val(el)
    return min(int(v), MAX_SPAN) if v is not None and v.strip().isdigit() else default


def paragraph_text(p: etree._Element) -> str:
    """Return a paragraph's text: runs (inserted ones too, deleted ones not), tabs and breaks."""
    parts: list[str] = []
    for el in p.iter(f"{_W}t", f"{_W}tab", f"{_W}br", f"{_W}cr", f"{_W}noBreakHyphen", f"{_W}softHyphen"):
        tag = etree.QName(el).localname
        if tag == "t":
            parts.append(el.text or "")
        elif tag == "tab":
            parts.append("\t")
        elif tag in ("br", "cr"):
            parts.append("\n")
        elif tag == "noBreakHyphen":
            parts.append("-")
    return "".join(parts)


def cell_text(tc: etree._Element) -> str:
    """Return a cell's text as published: one line per paragraph or line break, joined by '\n'.

    Whitespace inside a line is normalized and empty paragraphs leave no line; nested tables' paragraphs
    are included. The typed layer joins the lines CJK-aware with ``pipeline.text.clean_text``.
    """
    lines = (normalize_line(line) for p in tc.iter(f"{_W}p") for line in paragraph_text(p).split("\n"))
    return "\n".join(line for line in lines if line)


def _children(el: etree._Element, tag: str) -> list[etree._Element]:
    """Child rows (tag "tr") or cells ("tc"), including those wrapped in content controls or custom XML."""
    out = []
    for child in el:
        name = etree.QName(child).localname
        if name == tag:
            out.append(child)
        elif name in ("sdt", "customXml"):
            out.extend(child.iter(f"{_W}{tag}"))
    return out


def table_to_grid(tbl: etree._Element, table_index: int) -> Grid:
    """Build the Grid of one ``w:tbl``: covered positions get ``text=None`` and their origin's coordinates."""
    tlabel = f"table {table_index + 1}"
    warnings: list[str] = []
    placed: list[dict] = []  # origin cells: row, col, colspan, text, locator
    owner: dict[tuple[int, int], int] = {}  # grid position -> index into placed
    rows = _children(tbl, "tr")
    for r, tr in enumerate(rows):
        tr_pr = tr.find(f"{_W}trPr")
        c = _int(tr_pr.find(f"{_W}gridBefore") if tr_pr is not None else None, 0)
        for tc in _children(tr, "tc"):
            tc_pr = tc.find(f"{_W}tcPr")
            span = max(1, _int(tc_pr.find(f"{_W}gridSpan") if tc_pr is not None else None, 1))
            vmerge = tc_pr.find(f"{_W}vMerge") if tc_pr is not None else None
            hmerge = tc_pr.find(f"{_W}hMerge") if tc_pr is not None else None
            where = f"{tlabel} row {r + 1} col {c + 1}"
            above = owner.get((r - 1, c))
            left = owner.get((r, c - 1))
            if vmerge is not None and _val(vmerge, "continue") != "restart" and above is not None \
                    and (placed[above]["col"], placed[above]["colspan"]) == (c, span):
                k = above
            elif hmerge is not None and _val(hmerge, "continue") != "restart" and left is not None:
                k = left
                placed[k]["colspan"] = c + span - placed[k]["col"]
            else:
                if vmerge is not None and _val(vmerge, "continue") != "restart":
                    warnings.append(f"{where}: vMerge continues no cell of the same width above; read as a new cell")
                placed.append({"row": r, "col": c, "colspan": span, "text": cell_text(tc), "locator": where})
                k = len(placed) - 1
            if len(owner) + span > DEFAULT_LIMITS.max_cells:
                raise TooLarge(f"{tlabel}: its cells' spans cover more than {DEFAULT_LIMITS.max_cells:,} grid positions "
                               f"(at {where}: gridSpan {span})", stage="extract")
            for dc in range(span):
                owner[(r, c + dc)] = k
            c += span
    n_rows = len(rows)
    n_cols = max((col + 1 for _, col in owner), default=0)
    check_grid(n_rows, n_cols, what=tlabel)
    grid: list[list[Cell]] = []
    for r in range(n_rows):
        out = []
        padded: list[int] = []
        for c in range(n_cols):
            k = owner.get((r, c))
            if k is None:  # gridBefore/gridAfter or a short row: no cell drawn here
                padded.append(c + 1)
                out.append(Cell("", (r, c), f"{tlabel} row {r + 1} col {c + 1}"))
                continue
            p = placed[k]
            origin = (p["row"], p["col"])
            out.append(Cell(p["text"] if origin == (r, c) else None, origin, p["locator"]))
        if padded:
            cols = f"col {padded[0]}" if len(padded) == 1 else f"cols {padded[0]}-{padded[-1]} ({len(padded)})"
            warnings.append(f"{tlabel} row {r + 1} {cols}: no cell (short row); padded empty")
        grid.append(out)
    return Grid("docx", table_index, grid, tlabel, warnings, _caption(tbl))


def _caption(tbl: etree._Element) -> str:
    """Return the text of the non-empty paragraph right before the table (its title), if any."""
    prev = tbl.getprevious()
    for _ in range(3):  # skip a couple of empty paragraphs between title and table
        if prev is None or etree.QName(prev).localname != "p":
            return ""
        if text := clean_text(paragraph_text(prev)):
            return text
        prev = prev.getprevious()
    return ""


def _body(data: bytes, file: str | None) -> etree._Element:
    """Open a Word document (after the zip size caps) and return its ``w:body``."""
    if not data:
        raise EmptyInput("the DOCX has no bytes", file=file, stage=STAGE)
    check_zip(data, file=file, stage=STAGE)
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # BadZipFile, KeyError (missing part), XMLSyntaxError, PackageNotFoundError …
        raise CorruptFile(f"cannot open the DOCX ({type(exc).__name__}: {exc})", file=file, stage=STAGE) from exc
    return document.element.body


def docx_to_grids(data: bytes, *, file: str | None = None) -> list[Grid]:
    """Read every table of a Word document (top-level and nested, in document order) as Grids."""
    body = _body(data, file)
    return [table_to_grid(tbl, i) for i, tbl in enumerate(body.iter(f"{_W}tbl"))]


def docx_to_blocks(data: bytes, *, file: str | None = None) -> list:
    """Read a Word document's body paragraphs (not those in tables or text boxes) as text blocks.

    ``locator`` is ``paragraph N``, N counting every body paragraph in document order (empty ones too,
    so the number points at the same paragraph in the file); empty paragraphs give no block.
    """
    from pipeline.extract.blocks import Block

    body = _body(data, file)
    blocks, n = [], 0
    for p in body.iter(f"{_W}p"):
        if any(etree.QName(a).localname in ("tbl", "p", "txbxContent") for a in p.iterancestors()):
            continue  # a table cell's paragraph, or one inside a text box of another paragraph
        n += 1
        if text := clean_text(paragraph_text(p)):
            blocks.append(Block(text, f"paragraph {n}", source_format="docx"))
    return blocks
