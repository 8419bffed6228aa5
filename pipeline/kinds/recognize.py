"""Grids to recognized tables: title rows, header rows and columns by vocabulary, never by position."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from pipeline.config import DATA
from pipeline.model import Grid
from pipeline.text import squash

HEADER_SEARCH_ROWS = 8  # header must appear within the first rows (after title rows)


@dataclass(frozen=True)
class TableProfile:
    """A kind of table: its header vocabulary and where its rows go."""

    kind: str
    target: str
    fields: dict[str, tuple[str, ...]]
    required: tuple[str, ...]
    min_header_matches: int
    section_field: str | None = None
    section_prefix: str = ""

    def __post_init__(self) -> None:
        missing = [f for f in self.required if f not in self.fields]
        if missing:
            raise ValueError(f"table profile {self.kind}: required fields {missing} have no synonyms")
        if not 1 <= self.min_header_matches <= len(self.fields):
            raise ValueError(f"table profile {self.kind}: min_header_matches out of range")

    def strip_section(self, text: str) -> str:
        """Remove the ordinal prefix of a section row (一、照护服务类 -> 照护服务类)."""
        return re.sub(self.section_prefix, "", text, count=1) if self.section_prefix else text


@dataclass
class RecognizedTable:
    """Where the header, the columns and the data rows of one grid are."""

    profile: TableProfile
    header_rows: list[int]
    columns: dict[str, int]
    title: str = ""
    data_rows: list[int] = field(default_factory=list)
    section_of: dict[int, str] = field(default_factory=dict)
    repeated_header_rows: list[int] = field(default_factory=list)
    section_rows: list[int] = field(default_factory=list)


def load_table_profiles(path: Path | None = None) -> list[TableProfile]:
    """Read table profiles from TOML."""
    return list(_load_profiles(str(path or DATA / "table_profiles.toml")))


@lru_cache(maxsize=8)
def _load_profiles(path: str) -> tuple[TableProfile, ...]:
    with open(path, "rb") as fh:
        doc = tomllib.load(fh)
    return tuple(
        TableProfile(
            kind=p["kind"],
            target=p["target"],
            fields={k: tuple(v) for k, v in p["fields"].items()},
            required=tuple(p.get("required", ())),
            min_header_matches=int(p.get("min_header_matches", 2)),
            section_field=p.get("section_field"),
            section_prefix=p.get("section_prefix", ""),
        )
        for p in doc.get("profile", [])
    )


def _label(text: str) -> str:
    return unicodedata.normalize("NFKC", squash(text))


def match_field(text: str, profile: TableProfile) -> str | None:
    """Return the field whose synonym equals the header text (or starts it), longest synonym first."""
    label = _label(text)
    if not label:
        return None
    best: tuple[int, str] | None = None
    for name, synonyms in profile.fields.items():
        for syn in synonyms:
            s = _label(syn)
            if label == s or (label.startswith(s) and len(label) <= len(s) + 6):
                if best is None or len(s) > best[0]:
                    best = (len(s), name)
    return best[1] if best else None


def header_columns(grid: Grid, r: int, profile: TableProfile) -> dict[str, int]:
    """Map fields to columns for row r, taking each origin cell once and the first column per field."""
    cols: dict[str, int] = {}
    seen: set[tuple[int, int]] = set()
    for c, cell in enumerate(grid.rows[r]):
        if cell.origin in seen:
            continue
        seen.add(cell.origin)
        name = match_field(grid.value(r, c), profile)
        if name and name not in cols:
            cols[name] = c
    return cols


def _is_header(cols: dict[str, int], profile: TableProfile) -> bool:
    return len(cols) >= profile.min_header_matches and all(f in cols for f in profile.required)


def is_full_width_row(grid: Grid, r: int) -> bool:
    """Tell whether every position of the row shows one and the same cell (a title or section row)."""
    row = grid.rows[r]
    return len(row) > 1 and len({cell.origin for cell in row}) == 1


def recognize_with(grid: Grid, profile: TableProfile) -> RecognizedTable | None:
    """Recognize a grid against one profile; None when no header row matches."""
    for r in range(min(grid.n_rows, HEADER_SEARCH_ROWS)):
        cols = header_columns(grid, r, profile)
        if not _is_header(cols, profile):
            continue
        titles = [grid.value(t, 0) for t in range(r) if grid.value(t, 0)]
        rec = RecognizedTable(profile, [r], cols, title=titles[0] if titles else grid.caption)
        header_labels = [_label(grid.value(r, c)) for c in range(grid.n_cols)]
        section = ""
        for rr in range(r + 1, grid.n_rows):
            values = [grid.value(rr, c) for c in range(grid.n_cols)]
            if [_label(v) for v in values] == header_labels:
                rec.repeated_header_rows.append(rr)
            elif is_full_width_row(grid, rr):
                section = values[0]
                rec.section_rows.append(rr)
            elif any(values):
                rec.data_rows.append(rr)
                if section:
                    rec.section_of[rr] = section
        return rec
    return None


def recognize_table(grid: Grid, profiles: list[TableProfile]) -> RecognizedTable | None:
    """Recognize a grid against every profile and keep the one whose header matches most fields."""
    found = [rec for p in profiles if (rec := recognize_with(grid, p)) is not None]
    return max(found, key=lambda rec: len(rec.columns), default=None)
