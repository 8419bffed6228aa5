"""One page's lattice table (pdfplumber's cell boxes) to a span-aware grid whose cells hold their text lines.

The grid's columns are the clustered x edges of the boxes, its rows the clustered y edges, so a box spanning
several of them is a merged cell. Each char goes to the position that holds its centre (x) and its glyph middle
(y, see ``pdf_text.glyph_mid``), never to a box by char-stream order.

Misaligned borders. A column whose cell borders don't line up with the others' (d05 p.14: the 材料类型 column
is ruled 主审/容缺/容缺/主审 at other heights than the four material rows beside it) would, taken at face value,
cut every row in two. The rule: two boxes *interleave* when each has a border strictly inside the other
(``X.top < Y.top < X.bottom < Y.bottom``), which no merge produces; of the two borders inside, the one ruled in
fewer columns is dropped (ties keep both). A box with a dropped border no longer fits the rows. Such boxes of
one column that follow each other from one kept rule to another are read by geometry: when they are as many as
the rows in that stretch, they are those rows' cells in order, each taking the chars whose middle it holds (a
label centred in an out-of-step box may straddle a row border: d05 p.14's third 材料类型 sits 0.2pt above the
border of material 3); otherwise the stretch becomes one one-row cell per row, and every char lands in the row
whose band holds its middle. Page numbers and file names play no part.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

from pipeline.extract.pdf_settings import DEFAULT_SETTINGS, TableSettings
from pipeline.extract.pdf_text import Line, chars_to_lines, glyph_mid
from pipeline.text import normalize_line, squash

EDGE_TOLERANCE = 1.0  # box edges closer than this are one rule


@dataclass(slots=True)
class PageCell:
    r0: int
    r1: int
    c0: int
    c1: int
    bbox: tuple[float, float, float, float]
    locator: str
    lines: list[str] = field(default_factory=list)
    ends_full: bool = False  # the last line reaches the right edge: the text may wrap on (onto the next page)
    ends_low: bool = False  # the cell touches the table's bottom and its last line is as low as any there

    @property
    def text(self) -> str:
        return normalize_line("".join(self.lines))


@dataclass(slots=True)
class PageTable:
    page: int
    bbox: tuple[float, float, float, float]
    xs: list[float]
    cells: list[PageCell]
    pos: list[list[int]]  # index into cells for every (row, col)
    warnings: list[str]

    @property
    def n_rows(self) -> int:
        return len(self.pos)

    @property
    def n_cols(self) -> int:
        return len(self.xs) - 1

    def row_signature(self, r: int) -> tuple:
        """Describe row r by its cells' spans and squashed texts (to spot a repeated header)."""
        seen = dict.fromkeys(self.pos[r])
        return tuple((self.cells[i].c0, self.cells[i].c1, self.cells[i].r0 == r, squash("".join(self.cells[i].lines)))
                     for i in seen)

    def clean_cut(self, k: int) -> bool:
        """Tell whether no cell crosses the rule under the first k rows."""
        return 0 < k <= self.n_rows and all(c.r1 <= k for c in self.cells if c.r0 < k)


def _boundaries(values: list[float], tol: float = EDGE_TOLERANCE) -> list[float]:
    """Cluster coordinates that differ by less than ``tol`` into one boundary."""
    out: list[float] = []
    for v in sorted(values):
        if not out or v - out[-1] > tol:
            out.append(v)
    return out


def _nearest(bounds: list[float], v: float) -> int:
    i = bisect_left(bounds, v)
    if i == 0:
        return 0
    if i == len(bounds):
        return len(bounds) - 1
    return i if bounds[i] - v < v - bounds[i - 1] else i - 1


@dataclass(slots=True)
class _Box:
    c0: int
    c1: int
    top: int  # index into the row boundaries
    bottom: int
    bbox: tuple[float, float, float, float]


def misaligned_rules(boxes: list[_Box]) -> set[int]:
    """Return the row rules to drop: of two interleaving boxes' inner borders, the one fewer columns rule."""
    support: dict[int, set[int]] = {}
    for b in boxes:
        for k in (b.top, b.bottom):
            support.setdefault(k, set()).update(range(b.c0, b.c1))
    weak: set[int] = set()
    by_top = sorted(boxes, key=lambda b: b.top)
    tops = [b.top for b in by_top]
    for x in by_top:
        for y in by_top[bisect_right(tops, x.top):bisect_left(tops, x.bottom)]:
            if y.bottom > x.bottom and (y.c1 <= x.c0 or x.c1 <= y.c0):
                a, b = len(support[y.top]), len(support[x.bottom])
                if a != b:
                    weak.add(y.top if a < b else x.bottom)
    return weak


def _runs(boxes: list[_Box]) -> list[list[_Box]]:
    """Group boxes of the same columns into runs of boxes that follow each other without a gap."""
    runs: list[list[_Box]] = []
    for b in sorted(boxes, key=lambda b: (b.c0, b.c1, b.top)):
        if runs and (runs[-1][-1].c0, runs[-1][-1].c1, runs[-1][-1].bottom) == (b.c0, b.c1, b.top):
            runs[-1].append(b)
        else:
            runs.append([b])
    return runs


def cells_to_page_table(boxes: list[tuple], chars: list[dict], page: int, index: int,
                        s: TableSettings = DEFAULT_SETTINGS) -> PageTable | None:
    """Place a table's cell boxes on a row/column grid and fill each cell with the text lines of its chars."""
    xs = _boundaries([b[0] for b in boxes] + [b[2] for b in boxes])
    ys_all = _boundaries([b[1] for b in boxes] + [b[3] for b in boxes])
    if len(xs) - 1 < s.min_cols or len(ys_all) < 2:
        return None
    placed = [_Box(_nearest(xs, b[0]), _nearest(xs, b[2]), _nearest(ys_all, b[1]), _nearest(ys_all, b[3]),
                   tuple(round(v, 2) for v in b)) for b in sorted(boxes, key=lambda b: (b[1], b[0]))]
    placed = [b for b in placed if b.c1 > b.c0 and b.bottom > b.top]
    dropped = misaligned_rules(placed) - {0, len(ys_all) - 1}
    ys = [y for k, y in enumerate(ys_all) if k not in dropped]
    row_of = {k: ys.index(y) for k, y in enumerate(ys_all) if k not in dropped}
    n_rows, n_cols = len(ys) - 1, len(xs) - 1
    cells: list[PageCell] = []
    pos = [[-1] * n_cols for _ in range(n_rows)]
    warnings: list[str] = []
    where = f"page {page} table {index}"

    def add(r0: int, r1: int, c0: int, c1: int, bbox: tuple) -> None:
        cells.append(PageCell(r0, r1, c0, c1, bbox, f"{where} row {r0 + 1} col {c0 + 1}"))
        for r in range(r0, r1):
            for c in range(c0, c1):
                pos[r][c] = len(cells) - 1

    loose = []
    for b in placed:
        if b.top in dropped or b.bottom in dropped:
            loose.append(b)
            continue
        r0, r1 = row_of[b.top], row_of[b.bottom]
        if any(pos[r][c] >= 0 for r in range(r0, r1) for c in range(b.c0, b.c1)):
            warnings.append(f"{where}: cell at row {r0 + 1} col {b.c0 + 1} overlaps another; the first one kept")
            continue
        add(r0, r1, b.c0, b.c1, b.bbox)
    regions: dict[int, list[tuple[float, float, int]]] = {}  # col -> (top, bottom, cell) of boxes mapped 1:1
    for run in _runs(loose):
        top, bottom = ys_all[run[0].top], ys_all[run[-1].bottom]
        r0, r1 = bisect_right(ys, top) - 1, bisect_left(ys, bottom)
        c0, c1 = run[0].c0, run[0].c1
        free = all(pos[r][c] < 0 for r in range(r0, r1) for c in range(c0, c1))
        if free and top in ys and bottom in ys and r1 - r0 == len(run):
            warnings.append(f"{where}: col {c0 + 1} is ruled at other heights than the rows {r0 + 1}-{r1}; "
                            f"its {len(run)} cells are taken as the {len(run)} rows in order")
            for r, b in zip(range(r0, r1), run):
                add(r, r + 1, c0, c1, b.bbox)
                for c in range(c0, c1):
                    regions.setdefault(c, []).append((b.bbox[1], b.bbox[3], len(cells) - 1))
            continue
        warnings.append(f"{where}: col {c0 + 1} is ruled at other heights than the rows {r0 + 1}-{r1}; "
                        f"its text is placed in the rows by position")
        for r in range(r0, r1):
            if all(pos[r][c] < 0 for c in range(c0, c1)):
                add(r, r + 1, c0, c1, (xs[c0], ys[r], xs[c1], ys[r + 1]))
    for r in range(n_rows):
        for c in range(n_cols):
            if pos[r][c] < 0:  # no ruled cell here (a missing line): an empty cell keeps the grid rectangular
                warnings.append(f"{where}: no cell at row {r + 1} col {c + 1}; padded empty")
                add(r, r + 1, c, c + 1, (xs[c], ys[r], xs[c + 1], ys[r + 1]))
    members: dict[int, list[dict]] = {}
    for ch in chars:
        c = bisect_right(xs, (ch["x0"] + ch["x1"]) / 2) - 1
        mid = glyph_mid(ch)
        k = next((k for top, bottom, k in regions.get(c, ()) if top <= mid < bottom), None)
        if k is not None:
            members.setdefault(k, []).append(ch)
            continue
        r = bisect_right(ys, mid) - 1
        if 0 <= r < n_rows and 0 <= c < n_cols:
            members.setdefault(pos[r][c], []).append(ch)
    fill_cells(cells, members, n_rows, s)
    return PageTable(page, (xs[0], ys[0], xs[-1], ys[-1]), xs, cells, pos, warnings)


def fill_cells(cells: list[PageCell], members: dict[int, list[dict]], n_rows: int, s: TableSettings) -> None:
    """Set each cell's text lines, whether its last line ran to the cell's right edge, and to the table's bottom.

    A text that goes on over a page break fills its cell to the right (the line wrapped) and to the bottom (the
    page ran out): a cell of the last row whose last line sits higher than the lowest last line there ended.
    """
    pad = float("inf")  # the cells' right padding: the least room any line leaves at its cell's right edge
    last: dict[int, Line] = {}
    for i, group in members.items():
        lines = chars_to_lines(group, s)
        cells[i].lines = [line.text for line in lines]
        last[i] = lines[-1]
        pad = min(pad, cells[i].bbox[2] - max(line.x1 for line in lines))
    floor = max((line.bottom for i, line in last.items() if cells[i].r1 == n_rows), default=0.0)
    for i, line in last.items():
        cells[i].ends_full = cells[i].bbox[2] - max(pad, 0.0) - line.x1 <= s.wrap_slack * line.size
        cells[i].ends_low = cells[i].r1 == n_rows and floor - line.bottom <= s.fill_slack * line.size
