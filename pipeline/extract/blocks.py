"""HTML pages and PDFs to text blocks (paragraphs as published) that remember where they came from.

A notice that is structured text rather than a table (a task-decomposition plan) is read as a list of
blocks: one per paragraph, its text whitespace-normalized, with a locator (an XPath for HTML,
``page 2 lines 3-5`` for PDF), the page and the bounding box. PDF lines that wrap inside words and numbers
are joined, running headers and page numbers are dropped, and a paragraph that a page break split is
joined and marked (``joined_page_break``) so the caller can report it.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import dataclass

from lxml import etree

from pipeline.errors import CorruptFile, EmptyInput, GarbledText, NeedsOCR
from pipeline.text import clean_text, is_cjk, normalize_line
from pipeline.extract.html import BLOCK_TAGS

_SKIP_TAGS = frozenset({"script", "style", "head", "title", "noscript", "template"})
_HIDDEN = re.compile(r"display\s*:\s*none", re.I)
_CID = re.compile(r"\(cid:\d+\)")
# Page furniture: "2", "- 2 -", "第2页", "第 2 页 共 5 页", "2/5", "— 2 —".
_PAGE_NUMBER = re.compile(r"^[-—–－\s]*(?:第\s*)?\d{1,4}\s*(?:页)?\s*(?:(?:/|共)\s*\d{1,4}\s*页?)?[-—–－\s]*$")
EDGE_ZONE = 0.12  # running headers, footers and page numbers sit in the top/bottom 12% of a page
TERMINAL = "。！？；：!?;:…"


@dataclass(frozen=True, slots=True)
class Block:
    """One paragraph of a notice as published, with its lineage."""

    text: str
    locator: str
    page: int | None = None
    bbox: tuple[float, float, float, float] | None = None
    pages: tuple[int, ...] = ()
    joined_page_break: bool = False
    source_format: str = "html"
    page_break_at: int | None = None  # offset in text of the first character after a page break


def join_wrapped(lines: list[str]) -> str:
    """Join wrapped lines: nothing between CJK text, digits or a hyphen; a space between Latin words."""
    out = ""
    for line in lines:
        line = normalize_line(line)
        if not line:
            continue
        if out:
            a, b = out[-1], line[0]
            # A wrap inside a number or code (13|00, DB3502/|T091) joins without a space.
            if not (is_cjk(a) or is_cjk(b) or (a.isdigit() and b.isdigit()) or a in "-/"):
                out += " "
        out += line
    return out


# --- HTML -------------------------------------------------------------------------------------------


def child_xpaths(el: etree._Element, path: str) -> list[tuple[etree._Element, str]]:
    """Each child with its XPath as lxml's getpath writes it (tag[n], the index left out for a tag's only child),
    computed from the parent's path in one pass: getpath counts preceding siblings, quadratic on a long page."""
    children = list(el)
    totals = Counter(c.tag for c in children if isinstance(c.tag, str))
    seen: Counter = Counter()
    out = []
    for c in children:
        if not isinstance(c.tag, str):
            out.append((c, ""))
            continue
        seen[c.tag] += 1
        name = c.tag if ":" not in c.tag and "{" not in c.tag else None
        if name is None:  # namespaced or odd tags: let lxml spell them
            out.append((c, c.getroottree().getpath(c)))
        else:
            out.append((c, f"{path}/{name}" if totals[c.tag] == 1 else f"{path}/{name}[{seen[c.tag]}]"))
    return out


def html_to_blocks(root: etree._Element, hidden: frozenset = frozenset()) -> list[Block]:
    """Split a page (its ``<body>``) or a sub-tree into blocks at block elements and ``<br>``.

    Each block carries its element's XPath in the original document; elements in ``hidden`` are skipped
    with their subtrees.
    """
    if root.tag == "html" and (body := root.find("body")) is not None:
        root = body
    blocks: list[Block] = []
    buf: list[str] = []
    owner: list[str] = [root.getroottree().getpath(root)]
    lines_of: Counter[str] = Counter()

    def flush() -> None:
        text = clean_text("".join(buf))  # source line breaks inside CJK text vanish, as in element_text
        buf.clear()
        if text:
            path = owner[-1]
            lines_of[path] += 1
            blocks.append(Block(text, path if lines_of[path] == 1 else f"{path}#line{lines_of[path]}"))

    def walk(el: etree._Element, path: str) -> None:
        if not isinstance(el.tag, str) or el.tag in _SKIP_TAGS or _HIDDEN.search(el.get("style", "")) or el in hidden:
            return
        block = el.tag in BLOCK_TAGS
        if block:
            flush()
            owner.append(path)
        if el.text:
            buf.append(el.text)
        for child, child_path in child_xpaths(el, path):
            walk(child, child_path)
            if child.tail:
                buf.append(child.tail)
        if block:
            flush()
            owner.pop()

    walk(root, owner[0])
    flush()
    return _number_first_lines(blocks)


def _number_first_lines(blocks: list[Block]) -> list[Block]:
    """Give the first line of an element split by ``<br>`` a ``#line1`` suffix too, for symmetry."""
    split = {b.locator.split("#line")[0] for b in blocks if "#line" in b.locator}
    return [Block(b.text, f"{b.locator}#line1") if b.locator in split else b for b in blocks]


# --- PDF --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Line:
    page: int
    index: int  # 1-based position among the page's text lines, furniture included
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float


def _page_lines(page, number: int) -> list[_Line]:
    """Read a page's text lines as the page shows them (glyphs placed by baseline, see ``pdf_text``)."""
    from pipeline.extract.pdf_text import chars_to_lines

    out = []
    for ln in chars_to_lines(page.chars):
        text = ln.text.strip()
        if text:
            out.append(_Line(number, len(out) + 1, text, ln.x0, ln.x1, ln.top, ln.bottom, ln.size))
    return out


def _furniture_key(line: _Line) -> tuple[str, int]:
    return re.sub(r"\d+", "#", line.text.replace(" ", "")), round(line.top / 3)


def drop_page_furniture(pages: list[list[_Line]], heights: list[float]) -> list[list[_Line]]:
    """Drop page numbers and running headers/footers (same text, same place, on most pages)."""
    in_edge = [
        [ln.top < h * EDGE_ZONE or ln.bottom > h * (1 - EDGE_ZONE) for ln in lines] for lines, h in zip(pages, heights)
    ]
    seen: Counter[tuple[str, int]] = Counter()
    for lines, edge in zip(pages, in_edge):
        seen.update({_furniture_key(ln) for ln, e in zip(lines, edge) if e})
    need = max(2, -(-len(pages) * 6 // 10))  # on at least 60% of the pages, and on two at least
    kept = []
    for lines, edge in zip(pages, in_edge):
        kept.append(
            [
                ln
                for ln, e in zip(lines, edge)
                if not (e and (_PAGE_NUMBER.match(ln.text) or (len(pages) > 1 and seen[_furniture_key(ln)] >= need)))
            ]
        )
    return kept


@dataclass(frozen=True, slots=True)
class _Layout:
    left: float
    right: float
    leading: float  # line pitch / font size inside a paragraph
    spaced: bool  # paragraphs are separated by extra space


def _layout(pages: list[list[_Line]]) -> _Layout:
    lines = [ln for p in pages for ln in p]
    left = min((ln.x0 for ln in lines), default=0.0)
    long = sorted(ln.x1 for ln in lines if len(ln.text) >= 10) or sorted(ln.x1 for ln in lines)
    right = long[int(0.9 * (len(long) - 1))] if long else 0.0
    ratios = [round((b.top - a.top) / a.size, 2) for p in pages for a, b in zip(p, p[1:]) if a.size and b.top > a.top]
    common = [r for r, n in Counter(ratios).items() if n >= 2] or ratios or [1.5]
    leading = min(common)
    return _Layout(left, right, leading, any(r > leading * 1.25 for r in ratios))


def _short(line: _Line, lay: _Layout) -> bool:
    return line.x1 < lay.right - 2.5 * line.size


def _indented(line: _Line, lay: _Layout) -> bool:
    return line.x0 - lay.left >= 1.5 * line.size


def _centered(line: _Line, lay: _Layout) -> bool:
    return abs((line.x0 - lay.left) - (lay.right - line.x1)) < line.size


def _starts_paragraph(prev: _Line, line: _Line, lay: _Layout) -> bool:
    if abs(prev.size - line.size) > 0.1 * max(prev.size, 1):
        return True
    # A centered title's second line is not a first-line indent.
    if _indented(line, lay) and not _indented(prev, lay) and not (_centered(prev, lay) and _centered(line, lay)):
        return True
    if lay.spaced:
        return (line.top - prev.top) / prev.size > lay.leading * 1.25
    return _short(prev, lay)


def _continues_on_next_page(last: _Line, first: _Line, lay: _Layout) -> bool:
    """A paragraph goes on over the page break when its last line is full and stops mid-sentence."""
    return (
        not _short(last, lay)
        and last.text[-1:] not in TERMINAL
        and not _indented(first, lay)
        and abs(last.size - first.size) <= 0.1 * max(last.size, 1)
    )


def _span_locator(lines: list[_Line]) -> str:
    parts = []
    for page in dict.fromkeys(ln.page for ln in lines):
        idx = [ln.index for ln in lines if ln.page == page]
        rng = f"line {idx[0]}" if len(idx) == 1 else f"lines {idx[0]}-{idx[-1]}"
        parts.append(f"page {page} {rng}")
    return " + ".join(parts)


def _to_block(lines: list[_Line]) -> Block:
    first_page = [ln for ln in lines if ln.page == lines[0].page]
    bbox = (
        round(min(ln.x0 for ln in first_page), 1),
        round(min(ln.top for ln in first_page), 1),
        round(max(ln.x1 for ln in first_page), 1),
        round(max(ln.bottom for ln in first_page), 1),
    )
    pages = tuple(dict.fromkeys(ln.page for ln in lines))
    text = join_wrapped([ln.text for ln in lines])
    at = None
    if len(pages) > 1:
        at = len(join_wrapped([ln.text for ln in first_page]))
        at += text[at : at + 1] == " "
    return Block(text, _span_locator(lines), lines[0].page, bbox, pages, len(pages) > 1, "pdf", at)


def lines_to_blocks(pages: list[list[_Line]]) -> list[Block]:
    """Group lines into paragraphs, joining a paragraph that runs over a page break."""
    lay = _layout(pages)
    paragraphs: list[list[_Line]] = []
    prev: _Line | None = None
    for lines in pages:
        for ln in lines:
            if prev is None:
                paragraphs.append([ln])
            elif prev.page == ln.page:
                if _starts_paragraph(prev, ln, lay):
                    paragraphs.append([ln])
                else:
                    paragraphs[-1].append(ln)
            elif _continues_on_next_page(prev, ln, lay):
                paragraphs[-1].append(ln)
            else:
                paragraphs.append([ln])
            prev = ln
    return [_to_block(p) for p in paragraphs]


def pdf_to_blocks(data: bytes, *, file: str | None = None) -> list[Block]:
    """Read a text PDF into paragraph blocks, without page furniture."""
    import pdfplumber
    from pdfminer.pdfparser import PDFSyntaxError
    from pdfplumber.utils.exceptions import MalformedPDFException, PdfminerException

    if not data:
        raise EmptyInput("the file is empty", file=file, stage="extract")
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            pages = [_page_lines(p, i) for i, p in enumerate(pdf.pages, start=1)]
            heights = [float(p.height) for p in pdf.pages]
    except (PdfminerException, MalformedPDFException, PDFSyntaxError, ValueError, KeyError, TypeError) as exc:
        raise CorruptFile(f"pdfplumber cannot open the PDF ({type(exc).__name__}: {exc})", file=file, stage="extract")
    text = "".join(ln.text for p in pages for ln in p)
    if not text.strip():
        raise NeedsOCR("the PDF has no text layer", file=file, stage="extract")
    if len(_CID.findall(text)) * 6 > len(text) * 0.2:
        raise GarbledText("the PDF's text is mostly (cid:NN) glyphs", file=file, stage="extract")
    return lines_to_blocks(drop_page_furniture(pages, heights))
