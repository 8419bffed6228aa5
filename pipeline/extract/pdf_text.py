"""PDF chars to text lines and cell text, read as the page shows them rather than in char-stream order.

Where a glyph sits is told by its baseline (the text origin of its matrix), not by the box pdfminer derives
from the font's ascent/descent: some embedded fonts declare bogus metrics, so their glyphs' boxes hang half a
line below the text they belong to (d05's punctuation and digits, drawn in a second font: ``(``, ``》``, ``2017``
print on the line of ``江西省`` but their boxes start where that line ends). Every glyph's vertical place is
``glyph_mid``: the middle of its em box, a fixed share of its size above the baseline. Chars whose mids lie
within ``line_tolerance`` × size share a line; a line reads left to right by x. Between two chars of a line a
space is printed when the gap is wider than the line's own letter spacing (its median gap, for justified text
whose every glyph is spread out) by ``space_gap`` × size.

A cell's lines are joined like wrapped text (``lines_to_text``): nothing at a wrap, one space where the PDF
shows one; ``SpaceEvidence`` restores a space a wrap swallowed when the document prints the same words with a
space elsewhere and never without.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from pipeline.extract.pdf_settings import DEFAULT_SETTINGS, TableSettings
from pipeline.text import is_cjk, join_lines, normalize_line

EM_MIDDLE = 0.35  # the middle of a glyph's em box sits this × size above its baseline


def glyph_mid(ch: dict) -> float:
    """Return the y (from the page top) of a glyph's middle, from its baseline when the char has a matrix."""
    m = ch.get("matrix")
    if m is not None and "y1" in ch and ch.get("upright", True):
        return ch["top"] + ch["y1"] - m[5] - EM_MIDDLE * ch["size"]  # top + y1 is the page height
    return (ch["top"] + ch["bottom"]) / 2


def glyph_box(ch: dict, mid: float) -> tuple[float, float]:
    """Return a glyph's top and bottom: its font box, or one size around its middle when the box misses it."""
    if ch["top"] <= mid <= ch["bottom"]:
        return ch["top"], ch["bottom"]
    return mid - ch["size"] / 2, mid + ch["size"] / 2


@dataclass(slots=True)
class Line:
    """One text line: its text (a leading/trailing real space kept as one space), position and font size."""

    text: str
    top: float
    bottom: float
    size: float
    page: int = 0
    x1: float = 0.0
    x0: float = 0.0


def chars_to_lines(chars: list[dict], s: TableSettings = DEFAULT_SETTINGS) -> list[Line]:
    """Group chars into lines top to bottom by their glyph middles, each line read left to right."""
    placed = sorted(((glyph_mid(ch), ch) for ch in chars), key=lambda p: p[0])
    groups: list[list[tuple[float, dict]]] = []
    for mid, ch in placed:
        if groups and mid - groups[-1][0][0] <= s.line_tolerance * max(ch["size"], groups[-1][0][1]["size"]):
            groups[-1].append((mid, ch))
        else:
            groups.append([(mid, ch)])
    return [_line(group, s) for group in groups]


def _line(group: list[tuple[float, dict]], s: TableSettings) -> Line:
    group.sort(key=lambda p: p[1]["x0"])
    kept: list[dict] = []
    for _, ch in group:
        prev = kept[-1] if kept else None
        if prev is not None and ch["text"] == prev["text"] and abs(ch["x0"] - prev["x0"]) < 0.2 * ch["size"]:
            continue  # the same glyph printed twice (fake bold) is one character
        kept.append(ch)
    gaps = [b["x0"] - a["x1"] for a, b in zip(kept, kept[1:])]
    # Justified text spreads every glyph: a space is a gap wider than the line's usual one, not than zero.
    spacing = max(statistics.median(gaps), 0.0) if len(gaps) >= 3 else 0.0
    parts = [kept[0]["text"]]
    for gap, a, b in zip(gaps, kept, kept[1:]):
        if gap - spacing > s.space_gap * max(a["size"], b["size"]):
            parts.append(" ")
        parts.append(b["text"])
    boxes = [glyph_box(ch, mid) for mid, ch in group]
    return Line("".join(parts), min(b[0] for b in boxes), max(b[1] for b in boxes), max(ch["size"] for ch in kept),
                kept[0].get("page_number", 0), max(ch["x1"] for ch in kept), kept[0]["x0"])


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
