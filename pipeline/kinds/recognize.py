"""Logical tables to recognized (typed) tables: a profile's header vocabulary matched against the columns.

The generic layer (pipeline/tables) finds every table's title, header band, columns and row roles; a profile
of pipeline/data/table_profiles.toml types a table when its fields name enough of the table's columns.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from pipeline.kinds.profiles import TableProfile, load_table_profiles  # noqa: F401 (re-exported)
from pipeline.model import Grid
from pipeline.tables import LogicalTable, grid_to_table, load_table_vocab
from pipeline.tables.rows import innermost_section_rows
from pipeline.text import squash


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
    table_id: str | None = None  # its id in source_tables, once the file's tables are numbered


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


def _has(cols: dict[str, int], required: str) -> bool:
    """Tell whether the columns carry a required field; `a|b` is satisfied by either field."""
    return any(f in cols for f in required.split("|"))


def _is_header(cols: dict[str, int], profile: TableProfile) -> bool:
    return len(cols) >= profile.min_header_matches and all(_has(cols, f) for f in profile.required)


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
        missing = [f.replace("|", " or ") for f in p.required if not _has(cols, f)]
        tried.append(f"{p.kind}: {len(cols)} of {p.min_header_matches} fields"
                     + (f", lacks {', '.join(missing)}" if missing else ""))
    return f"no profile matched ({'; '.join(tried)})"


def as_table(table: LogicalTable | Grid) -> LogicalTable:
    """Read a grid as a table (a LogicalTable is returned as is)."""
    return table if isinstance(table, LogicalTable) else grid_to_table(table, 0)
