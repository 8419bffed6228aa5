"""Task tables (分工表) to task drafts: one draft per data row, section rows setting the outline.

A recognized ``task_list`` table (pipeline/data/table_profiles.toml) names some of: 序号, a title column
(工作事项, 重点任务 …), a content column (主要内容, 具体措施 …), lead / co unit columns, lead / co office columns
(牵头处室, 配合处室) and a deadline column (完成时限). The rows of one 序号 cell (a rowspan'd number over rows of
different content or units) are the parts of one task. A unit column headed 责任单位 (a ``responsible`` label
of pipeline/data/task_profiles.toml) is read in order — first lead, the rest co — when the table has no co
column. A cell that says "no unit" (/, —, 无) gives no unit list.
"""

from __future__ import annotations

from collections import Counter

from pipeline.kinds.provisions import extra_values
from pipeline.kinds.recognize import RecognizedTable
from pipeline.kinds.tasks import Draft, Piece, TaskProfile, UnitList
from pipeline.model import Grid
from pipeline.text import clean_text

# Table profile fields that list units, and the label kind each gives (see tasks.LABEL_KINDS).
UNIT_FIELDS = {"lead_units": "lead", "co_units": "co", "lead_offices": "lead_office", "co_offices": "co_office"}


def _value(grid: Grid, r: int, c: int) -> str:
    """Read a cell as a typed value: its published lines joined CJK-aware."""
    return clean_text(grid.value(r, c))


def _cell_piece(grid: Grid, r: int, c: int) -> Piece:
    cell = grid.origin_cell(r, c)
    locator = cell.locator or f"{grid.locator}/row[{r + 1}]/col[{c + 1}]"
    return Piece(_value(grid, r, c), locator, cell.page, (cell.page,) if cell.page else ())


def _unit_piece(grid: Grid, r: int, c: int, profile: TaskProfile) -> Piece:
    """Read a unit cell: units written one per line keep their line breaks (split there), else as _cell_piece.
    A PDF's lines are where the text wrapped, not where its author broke it: they always join."""
    piece = _cell_piece(grid, r, c)
    if grid.source_format == "pdf":
        return piece
    lines = [x for x in (clean_text(line) for line in (grid.value(r, c) or "").splitlines()) if x]
    if profile.lines_are_units(lines):
        return Piece("\n".join(lines), piece.locator, piece.page, piece.pages)
    return piece


def _heading(text: str, profile: TaskProfile) -> tuple[str, str, str] | None:
    for kind in ("section", "subsection"):
        if m := getattr(profile, kind).match(text):
            return kind, m.group("no"), m.group("title").strip()
    return None


def column_label(grid: Grid, recognized: RecognizedTable, c: int) -> str:
    """Return a grid column's header as published: its logical column's name, else its first header cell."""
    table = recognized.table
    if table is not None and (k := table.logical_col(c)) is not None:
        return table.columns[k]
    return _value(grid, recognized.header_rows[0], c) if recognized.header_rows else ""


def unit_kinds(grid: Grid, recognized: RecognizedTable, profile: TaskProfile) -> dict[str, tuple[str, str]]:
    """Map each unit field of the table to (label as published, kind): 责任单位 with no co column is ``responsible``."""
    cols = recognized.columns
    out = {}
    for field_name, kind in UNIT_FIELDS.items():
        if field_name not in cols:
            continue
        label = column_label(grid, recognized, cols[field_name])
        if field_name == "lead_units" and "co_units" not in cols and profile.label_kind(label) == "responsible":
            kind = "responsible"
        out[field_name] = (label, kind)
    return out


def unread_columns(recognized: RecognizedTable) -> list[tuple[str, str]]:
    """List the (name, locator) of the table's columns that no task field reads."""
    table = recognized.table
    if table is None:
        return []
    read = set(recognized.columns.values())
    grid = table.grid
    out = []
    for name, group in zip(table.columns, table.col_groups):
        if group[0] in read:
            continue
        header = recognized.header_rows[-1] if recognized.header_rows else 0
        cell = grid.origin_cell(header, group[0]) if grid.n_rows else None
        out.append((name, (cell.locator if cell else "") or f"{grid.locator}/col[{group[0] + 1}]"))
    return out


def _group(grid: Grid, r: int, cols: dict[str, int], no: str, title: str) -> object:
    """Say what ties this row to others of one task: its 序号 cell (or, with no 序号 column, its title cell)."""
    if "task_no" in cols:
        return ("task_no", grid.rows[r][cols["task_no"]].origin) if no else None
    if "task_title" in cols and "task_text" in cols and title:
        return ("task_title", grid.rows[r][cols["task_title"]].origin)
    return None


def grid_to_drafts(grid: Grid, recognized: RecognizedTable, profile: TaskProfile) -> list[Draft]:
    """Read tasks from a recognized task table; section rows (一、… / （一）…) set the outline."""
    cols = recognized.columns
    titled = "task_title" in cols and "task_text" in cols  # a title column beside a content column
    text_col = cols["task_text"] if "task_text" in cols else cols["task_title"]
    kinds = unit_kinds(grid, recognized, profile)
    section = subsection = None
    drafts: list[Draft] = []
    headings = set(recognized.section_rows)
    extras = extra_values(recognized)  # columns no task field reads, kept on the task (nothing silently dropped)
    for r in sorted(set(recognized.data_rows) | headings):
        value = {f: _value(grid, r, c) for f, c in cols.items()}
        no = value.get("task_no", "").rstrip(".．、")
        title = value.get("task_title", "") if titled else ""
        text = value.get("task_text", "") if "task_text" in cols else value.get("task_title", "")
        has_units = any(value.get(f) and not profile.is_no_unit(value[f]) for f in UNIT_FIELDS)
        first_text = title or text
        row_text = _value(grid, r, 0) if r in headings else (first_text if not no else f"{no}{first_text}")
        if r in headings or not has_units:
            # A section may sit in its own merged row or as 序号 一 / 工作任务 title with no units.
            split_head = _heading(f"{no}、{first_text}", profile) if no and not no.isdigit() else None
            if head := _heading(row_text, profile) or split_head:
                kind, hno, htitle = head
                if kind == "section":
                    section, subsection = (hno, htitle), None
                else:
                    subsection = (hno, htitle)
                continue
        if r in headings or not (text or title or has_units):
            continue
        task_no = no if no.isdigit() else None
        if task_no is None and not titled and (m := profile.task.match(text)):
            task_no, text = m.group("no"), m.group("text").strip()
        piece = _cell_piece(grid, r, text_col)
        if not text and title:  # a row with a title and an empty content cell: the title is its text
            piece = _cell_piece(grid, r, cols["task_title"])
            text = title
        d = Draft(section, subsection, task_no, [Piece(text, piece.locator, piece.page, piece.pages)],
                  title=_cell_piece(grid, r, cols["task_title"]) if titled and title else None,
                  group=_group(grid, r, cols, no, title), extra=extras.get(r))
        if "deadline" in cols and value.get("deadline"):
            d.deadline = _cell_piece(grid, r, cols["deadline"])
        for field_name, (label, kind) in kinds.items():
            if value.get(field_name) and not profile.is_no_unit(value[field_name]):
                d.unit_lists.append(UnitList(kind, label, [_unit_piece(grid, r, cols[field_name], profile)], "column"))
        drafts.append(d)
    return _number_parts(drafts)


def _number_parts(drafts: list[Draft]) -> list[Draft]:
    """Number the rows of each task that spans several rows (1, 2 …); a one-row task has no part."""
    sizes = Counter(d.group for d in drafts if d.group is not None)
    seen: Counter = Counter()
    for d in drafts:
        if d.group is not None and sizes[d.group] > 1:
            seen[d.group] += 1
            d.part = seen[d.group]
    return drafts
