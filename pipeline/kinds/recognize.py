"""Logical tables to recognized (typed) tables: a profile's header vocabulary matched against the columns.

The generic layer (pipeline/tables) finds every table's title, header band, columns and row roles; a profile
of pipeline/data/table_profiles.toml types a table when its fields name enough of the table's columns.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from pipeline.config import DATA
from pipeline.model import Grid
from pipeline.tables import LogicalTable, grid_to_table, load_table_vocab
from pipeline.tables.rows import innermost_section_rows
from pipeline.text import squash


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
    table: LogicalTable | None = None  # the generic table it was recognized in


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


def table_columns(table: LogicalTable, profile: TableProfile) -> dict[str, int]:
    """Map fields to grid columns: a field's synonym names a logical column or one of its '·' parts.

    Each field takes the first logical column it names; its grid column is that column's first grid column.
    """
    cols: dict[str, int] = {}
    joiner = load_table_vocab().joiner
    for name, group in zip(table.columns, table.col_groups):
        parts = name.split(joiner)
        field_name = match_field(name, profile) or next(
            (f for part in reversed(parts) if len(parts) > 1 and (f := match_field(part, profile))), None)
        if field_name and field_name not in cols:
            cols[field_name] = group[0]
    return cols


def _is_header(cols: dict[str, int], profile: TableProfile) -> bool:
    return len(cols) >= profile.min_header_matches and all(f in cols for f in profile.required)


def _typeable(table: LogicalTable) -> str | None:
    """Say why a table cannot carry a profile's header at all (None when it can)."""
    if not table.is_data:
        return f"not a data table ({table.why_not})"
    if table.shape != "columnar" or not table.header_rows:
        form = " (a key/value form)" if table.shape == "key_value" else ""
        return f"no header row to match a profile against{form}"
    return None


def recognize_with(table: LogicalTable | Grid, profile: TableProfile) -> RecognizedTable | None:
    """Recognize a table against one profile; None when its columns do not carry the profile's header."""
    table = as_table(table)
    if _typeable(table) is not None:
        return None
    cols = table_columns(table, profile)
    if not _is_header(cols, profile):
        return None
    innermost = innermost_section_rows(table.roles)
    grid = table.grid
    return RecognizedTable(
        profile,
        list(table.header_rows),
        cols,
        title=table.title or grid.caption,
        data_rows=[row.grid_rows[0] for row in table.rows],
        section_of={r: grid.value(s, table.col_groups[0][0]) for r, s in innermost.items()},
        repeated_header_rows=table.rows_with("repeated_header"),
        section_rows=table.rows_with("section"),
        table=table,
    )


def recognize_table(table: LogicalTable | Grid, profiles: list[TableProfile]) -> RecognizedTable | None:
    """Recognize a table against every profile and keep the one whose header matches most fields."""
    table = as_table(table)
    found = [rec for p in profiles if (rec := recognize_with(table, p)) is not None]
    return max(found, key=lambda rec: len(rec.columns), default=None)


def why_not_recognized(table: LogicalTable | Grid, profiles: list[TableProfile]) -> str:
    """Say why no profile types a table: how many of each profile's fields its columns carry."""
    table = as_table(table)
    if (why := _typeable(table)) is not None:
        return why
    tried = []
    for p in profiles:
        cols = table_columns(table, p)
        missing = [f for f in p.required if f not in cols]
        tried.append(f"{p.kind}: {len(cols)} of {p.min_header_matches} fields"
                     + (f", lacks {', '.join(missing)}" if missing else ""))
    return f"no profile matched ({'; '.join(tried)})"


def as_table(table: LogicalTable | Grid) -> LogicalTable:
    """Read a grid as a table (a LogicalTable is returned as is)."""
    return table if isinstance(table, LogicalTable) else grid_to_table(table, 0)
