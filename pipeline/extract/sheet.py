"""One spreadsheet sheet, as any reader sees it, to a faithful Grid: what Excel shows, where it shows it.

Readers (xlsx.py, xls.py) fill a ``Sheet``: the text each stored cell shows, the merged ranges, the hidden
rows and columns. ``sheet_to_grid`` then drops what Excel does not show — text left under a merge (stale
values in covered cells), hidden rows and columns (named in ``hints`` and ``warnings``), and trailing rows
and columns that show nothing (formatted but empty) — and keeps every cell's sheet address as its locator.
It decides nothing about titles, headers or notes: that is the tables stage's work.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.extract.limits import DEFAULT_LIMITS, Limits, TooLarge, check_cells
from pipeline.model import Cell, Grid


@dataclass(slots=True)
class Sheet:
    """A sheet as read: 0-based (row, col) positions; merges as inclusive (r0, c0, r1, c1)."""

    name: str
    index: int  # position among the workbook's sheets
    texts: dict[tuple[int, int], str] = field(default_factory=dict)
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)
    hidden_rows: set[int] = field(default_factory=set)
    hidden_cols: set[int] = field(default_factory=set)
    state: str = "visible"  # visible | hidden | veryHidden
    stored_rows: int = 0  # the reader's used range, formatted empty cells included
    stored_cols: int = 0
    problems: list[str] = field(default_factory=list)


def col_letter(col: int) -> str:
    """Return the column letters of a 0-based column index (0 -> A, 13 -> N, 26 -> AA)."""
    out = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


def address(sheet: str, row: int, col: int) -> str:
    """Return a cell's locator, ``Sheet1!B5``, from 0-based coordinates."""
    return f"{sheet}!{col_letter(col)}{row + 1}"


def _extents(sheet: Sheet, stale: set[tuple[int, int]]) -> tuple[tuple[int, int], tuple[int, int]]:
    """Return ((rows, cols) with hidden content, (rows, cols) shown) up to the last position showing text.

    Whitespace shows nothing. The first extent is the one capped and within which hidden rows and
    columns are named; the second, without hidden rows and columns, is the grid's.
    """
    hr, hc = sheet.hidden_rows, sheet.hidden_cols
    all_r = all_c = vis_r = vis_c = -1
    for (r, c), text in sheet.texts.items():
        if (r, c) in stale or not text.strip():
            continue
        if r > all_r:
            all_r = r
        if c > all_c:
            all_c = c
        if r not in hr and c not in hc:
            if r > vis_r:
                vis_r = r
            if c > vis_c:
                vis_c = c
    for r0, c0, r1, c1 in sheet.merges:
        if sheet.texts.get((r0, c0), "").strip():
            all_r, all_c = max(all_r, r1), max(all_c, c1)
            rows = [r for r in range(r0, r1 + 1) if r not in hr]
            cols = [c for c in range(c0, c1 + 1) if c not in hc]
            if rows and cols:
                vis_r, vis_c = max(vis_r, rows[-1]), max(vis_c, cols[-1])
    return (all_r + 1, all_c + 1), (vis_r + 1, vis_c + 1)


def sheet_to_grid(sheet: Sheet, source_format: str, *, file: str | None = None,
                  limits: Limits = DEFAULT_LIMITS) -> Grid | None:
    """Build the Grid Excel shows for a sheet; None when no cell shows any text."""
    merges = [m for m in sheet.merges if (m[2] - m[0]) or (m[3] - m[1])]
    area = sum((m[2] - m[0] + 1) * (m[3] - m[1] + 1) for m in merges)
    if area > limits.max_cells:  # checked before the covered positions are listed one by one
        raise TooLarge(f"sheet {sheet.name}: merged ranges cover {area:,} cells (cap {limits.max_cells:,})",
                       file=file, stage="extract")
    covered: dict[tuple[int, int], tuple[int, int, int, int]] = {}
    for m in merges:
        r0, c0, r1, c1 = m
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                covered[(r, c)] = m
    stale = {p for p, m in covered.items() if p != (m[0], m[1])}
    (all_rows, all_cols), (n_rows, n_cols) = _extents(sheet, stale)
    check_cells(all_rows, all_cols, file=file, sheet=sheet.name, limits=limits)
    if not n_rows:
        return None
    rows = [r for r in range(n_rows) if r not in sheet.hidden_rows]
    cols = [c for c in range(n_cols) if c not in sheet.hidden_cols]
    grow = {r: i for i, r in enumerate(rows)}
    gcol = {c: j for j, c in enumerate(cols)}
    # A merge shows its text at its first visible position (its own top-left, unless that row/col is hidden).
    shown_at: dict[tuple[int, int, int, int], tuple[int, int]] = {}
    for m in merges:
        vr = next((grow[r] for r in range(m[0], m[2] + 1) if r in grow), None)
        vc = next((gcol[c] for c in range(m[1], m[3] + 1) if c in gcol), None)
        if vr is not None and vc is not None:
            shown_at[m] = (vr, vc)
    letters = [col_letter(c) for c in cols]
    merged_rows = {r for (r, _c) in covered}
    name = sheet.name
    texts = sheet.texts
    grid: list[list[Cell]] = []
    for i, r in enumerate(rows):
        n = r + 1
        if r not in merged_rows:  # the common row: no merge, one Cell per column
            grid.append([Cell(texts.get((r, c), ""), (i, j), f"{name}!{letters[j]}{n}") for j, c in enumerate(cols)])
            continue
        out = []
        for j, c in enumerate(cols):
            m = covered.get((r, c))
            if m is None:
                out.append(Cell(texts.get((r, c), ""), (i, j), f"{name}!{letters[j]}{n}"))
                continue
            origin = shown_at[m]
            text = texts.get((m[0], m[1]), "") if origin == (i, j) else None
            out.append(Cell(text, origin, address(name, m[0], m[1])))
        grid.append(out)
    return Grid(source_format, sheet.index, grid, f"sheet {sheet.name}", _warnings(sheet, all_rows, all_cols),
                sheet=sheet.name, hints=_hints(sheet, (all_rows, all_cols), (n_rows, n_cols)))


def _hidden(sheet: Sheet, n_rows: int, n_cols: int) -> tuple[list[int], list[str]]:
    rows = sorted(r + 1 for r in sheet.hidden_rows if r < n_rows)
    cols = [col_letter(c) for c in sorted(sheet.hidden_cols) if c < n_cols]
    return rows, cols


def _hints(sheet: Sheet, content: tuple[int, int], shown: tuple[int, int]) -> dict:
    rows, cols = _hidden(sheet, *content)
    n_rows, n_cols = shown
    hints: dict = {}
    if rows:
        hints["hidden_rows"] = rows
    if cols:
        hints["hidden_cols"] = cols
    # Sheet rows/columns after the last one shown (formatted but empty, or hidden): not in the grid.
    if sheet.stored_rows > n_rows:
        hints["trimmed_rows"] = sheet.stored_rows - n_rows
    if sheet.stored_cols > n_cols:
        hints["trimmed_cols"] = sheet.stored_cols - n_cols
    if sheet.state != "visible":
        hints["sheet_state"] = sheet.state
    return hints


def _warnings(sheet: Sheet, n_rows: int, n_cols: int) -> list[str]:
    rows, cols = _hidden(sheet, n_rows, n_cols)
    out = []
    if rows:
        out.append(f"sheet {sheet.name}: hidden rows {', '.join(map(str, rows))} left out")
    if cols:
        out.append(f"sheet {sheet.name}: hidden columns {', '.join(cols)} left out")
    if sheet.state != "visible":
        out.append(f"sheet {sheet.name} is {sheet.state} in the workbook")
    return out + [f"sheet {sheet.name}: {p}" for p in sheet.problems]


class ProblemLog:
    """Collect per-format display problems as one line each (count and first cell), not one per cell."""

    def __init__(self) -> None:
        self._seen: dict[str, list] = {}

    def add(self, problem: str, where: str) -> None:
        entry = self._seen.setdefault(problem, [0, where])
        entry[0] += 1

    def lines(self) -> list[str]:
        return [f"{p} ({n} cell{'s' if n > 1 else ''}, first {w})" for p, (n, w) in self._seen.items()]
