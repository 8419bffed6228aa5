"""The body of a table: the role of every row below the header, and the data rows with their sections."""

from __future__ import annotations

from pipeline.tables.model import DataRow
from pipeline.tables.view import View
from pipeline.text import clean_text


def body_role(view: View, r: int, header_sigs: list[list[str]]) -> str:
    """Return the role of a row below the header: blank, continuation, repeated_header, note, total, section, data."""
    own = view.own_texts(r)
    if not own:
        # Nothing starts here: a merged cell from above shows through (fold the row into it), or a ruled blank.
        shows = any(view.origin(r, k)[0] < r and view.text_at(view.origin(r, k)).strip() for k in range(view.width))
        return "continuation" if shows else "blank"
    if view.squashed(r) in header_sigs:
        return "repeated_header"
    shown = {o for o in (view.origin(r, k) for k in range(view.width)) if view.text_at(o).strip()}
    if len(shown) == 1 and view.vocab.is_note(own[0]):
        return "note"
    if view.vocab.is_total(own[0]):
        return "total"
    if view.is_full_width(r):
        return "section"
    return "data"


def header_signatures(view: View, header_rows: list[int]) -> list[list[str]]:
    """Return the squashed texts of header rows that a repeated header would show again."""
    sigs = []
    for h in header_rows:
        sig = view.squashed(h)
        if len({s for s in sig if s}) >= 2 or (view.width == 1 and any(sig)):
            sigs.append(sig)
    return sigs


def body_to_rows(view: View, roles: list[str], start: int) -> list[DataRow]:
    """Build the data rows from `start` on, folding continuation rows and carrying the sections in force."""
    v = view.vocab
    rows: list[DataRow] = []
    sections: list[tuple[int, str]] = []  # (outline level, text) of the section rows in force
    for r in range(start, view.n_rows):
        role = roles[r]
        if role == "section":
            text = clean_text(view.values(r)[0])
            level = v.section_level(text)
            while sections and sections[-1][0] >= level:
                sections.pop()
            sections.append((level, text))
        elif role == "continuation":
            if rows and rows[-1].grid_rows[-1] == r - 1:
                rows[-1].grid_rows.append(r)
        elif role == "data":
            section = v.section_joiner.join(t for _, t in sections) or None
            rows.append(DataRow(len(rows) + 1, [r], view.values(r), section))
    return rows


def innermost_section_rows(roles: list[str]) -> dict[int, int]:
    """Map each data row to the section row most recently in force above it."""
    out: dict[int, int] = {}
    current: int | None = None
    for r, role in enumerate(roles):
        if role == "section":
            current = r
        elif role == "data" and current is not None:
            out[r] = current
    return out
