"""Knobs of PDF table reading (``TableSettings``), with validated defaults shared by the pdf_* modules."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class TableSettings:
    """Knobs of PDF table reading, with validated defaults (lengths in points, ratios of the font size)."""

    snap_tolerance: float = 3.0  # passed to pdfplumber's lattice table finder
    join_tolerance: float = 3.0
    intersection_tolerance: float = 3.0
    edge_min_length: float = 3.0
    line_tolerance: float = 0.5  # chars whose baselines differ by less than this × size share a text line
    space_gap: float = 0.25  # a gap this × size wider than the line's letter spacing is a real space
    space_evidence_chars: int = 3  # context on each side of a wrap matched against in-line spaces; 0 = off
    wrap_slack: float = 2.0  # a last line this many × size short of the cell's edge still wrapped (kinsoku)
    fill_slack: float = 0.6  # a last line this × size above the lowest one of the last row still filled the page
    max_header_rows: int = 3  # rows compared with the first page's header when dropping repeats
    column_tolerance: float = 3.0  # a continuing table's column widths may differ by this much
    min_cols: int = 2  # a framed box with fewer columns is not a table
    caption_max_gap: float = 36.0  # how far above a table its caption line (below it: its note) may be
    line_gap: float = 0.8  # lines of one paragraph (caption, note) are at most this × size apart
    title_ratio: float = 1.15  # a line this × larger than the lines under it above a table is the title
    note_pattern: str = r"^\s*[（(]?(注|备注|说明)\s*[0-9０-９一二三四五六七八九十]*\s*[)）]?\s*[:：]"
    max_cid_ratio: float = 0.02  # share of (cid:NN) glyphs above which the text layer is garbled
    max_spaced_han_ratio: float = 0.3  # share of Han chars spaced out one by one above which it is garbled
    min_han_for_check: int = 20  # too little Han text says nothing about spacing

    def __post_init__(self) -> None:
        for name in ("snap_tolerance", "join_tolerance", "intersection_tolerance", "edge_min_length", "wrap_slack",
                     "fill_slack", "line_tolerance", "space_gap", "column_tolerance", "caption_max_gap", "line_gap"):
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
        if self.title_ratio < 1:
            raise ValueError(f"TableSettings.title_ratio must be >= 1, got {self.title_ratio!r}")
        try:
            re.compile(self.note_pattern)
        except re.error as exc:
            raise ValueError(f"TableSettings.note_pattern is not a regular expression: {exc}") from None

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
