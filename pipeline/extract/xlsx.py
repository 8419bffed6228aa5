"""Excel (XLSX) workbooks to Grids, one per sheet that shows any text, values as Excel displays them.

openpyxl's read-only mode streams the cells (cached formula results, number formats); one lxml pass over
the same sheet part reads what that mode leaves out: merged ranges and hidden rows and columns. That is
about twice as fast as openpyxl's full mode on a 11,000-row sheet. python-calamine is faster still but
gives neither number formats nor hidden rows and columns.
"""

from __future__ import annotations

import io
import warnings

from lxml import etree

from pipeline.errors import CorruptFile, EmptyInput, PipelineError
from pipeline.extract.limits import DEFAULT_LIMITS, Limits, TooLarge, check_zip
from pipeline.extract.numfmt import builtin_format, display
from pipeline.extract.sheet import ProblemLog, Sheet, address, sheet_to_grid
from pipeline.model import Grid

STAGE = "extract"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_ROW, _COL, _MERGE = f"{{{MAIN}}}row", f"{{{MAIN}}}col", f"{{{MAIN}}}mergeCell"
_TRUE = ("1", "true")


def _ref_to_rc(ref: str) -> tuple[int, int]:
    """Return 0-based (row, col) of an A1 reference."""
    col = row = 0
    for ch in ref.replace("$", "").upper():
        if ch.isalpha():
            col = col * 26 + ord(ch) - 64
        else:
            row = row * 10 + ord(ch) - 48
    return row - 1, col - 1


def sheet_layout(sheet: Sheet, source) -> None:
    """Read merged ranges, hidden rows/columns and the stored row extent from a worksheet part, streaming."""
    merges, hidden_rows, hidden_cols = sheet.merges, sheet.hidden_rows, sheet.hidden_cols
    for _, el in etree.iterparse(source, events=("end",), tag=(_ROW, _COL, _MERGE),
                                 resolve_entities=False, no_network=True, huge_tree=True):
        if el.tag == _ROW:
            if (r := el.get("r", "")).isdigit():
                sheet.stored_rows = max(sheet.stored_rows, int(r))  # formatted empty rows count here
                if el.get("hidden") in _TRUE:
                    hidden_rows.add(int(r) - 1)
            if (span := el.get("spans", "").rpartition(":")[2]).isdigit():
                sheet.stored_cols = max(sheet.stored_cols, int(span))
        elif el.tag == _COL:
            lo, hi = el.get("min", ""), el.get("max", "")
            if el.get("hidden") in _TRUE and lo.isdigit():
                hidden_cols.update(range(int(lo) - 1, int(hi if hi.isdigit() else lo)))
        else:
            a, _, b = el.get("ref", "").partition(":")
            if a:
                (r0, c0), (r1, c1) = _ref_to_rc(a), _ref_to_rc(b or a)
                merges.append((min(r0, r1), min(c0, c1), max(r0, r1), max(c0, c1)))
        el.clear()  # rows hold every cell: free them as we go


def _number_format(cell) -> str:
    # openpyxl gives locale-dependent built-ins US codes, or General for the CJK ones.
    return builtin_format(cell.style_array.numFmtId) or cell.number_format


def worksheet_to_sheet(ws, index: int, *, file: str | None = None, limits: Limits = DEFAULT_LIMITS) -> Sheet:
    """Read one read-only openpyxl worksheet's shown texts, merges and hidden rows/columns."""
    sheet = Sheet(ws.title, index, state=ws.sheet_state or "visible")
    problems = ProblemLog()
    texts = sheet.texts
    ws.reset_dimensions()  # a wrong <dimension> in the file must not cut rows or columns off
    for row in ws.iter_rows():
        if len(texts) > limits.max_cells:  # stop streaming: the used range is at least this large
            raise TooLarge(f"sheet {ws.title}: more than {limits.max_cells:,} cells hold values",
                           file=file, stage=STAGE)
        for cell in row:
            value = cell.value
            if value is None:
                continue
            r, c = cell.row - 1, cell.column - 1
            if isinstance(value, str):  # text exactly as stored (line breaks and leading spaces kept)
                texts[(r, c)] = value
                continue
            shown, problem = display(value, _number_format(cell))
            texts[(r, c)] = shown
            if problem:
                problems.add(problem, address(ws.title, r, c))
    with ws._get_source() as source:  # the same worksheet part openpyxl streamed
        sheet_layout(sheet, source)
    if texts:  # rows without spans, merges over empty cells: the stored extent covers them too
        sheet.stored_rows = max(sheet.stored_rows, max(r for r, _ in texts) + 1)
        sheet.stored_cols = max(sheet.stored_cols, max(c for _, c in texts) + 1)
    for _r0, _c0, r1, c1 in sheet.merges:
        sheet.stored_rows, sheet.stored_cols = max(sheet.stored_rows, r1 + 1), max(sheet.stored_cols, c1 + 1)
    sheet.problems = problems.lines()
    return sheet


def xlsx_to_grids(data: bytes, *, file: str | None = None, limits: Limits = DEFAULT_LIMITS) -> list[Grid]:
    """Read every worksheet of an XLSX that shows any text as a Grid (``table_index`` = sheet position)."""
    if not data:
        raise EmptyInput("the XLSX has no bytes", file=file, stage=STAGE)
    check_zip(data, file=file, stage=STAGE, limits=limits)
    import openpyxl

    grids = []
    try:
        with warnings.catch_warnings():  # "extension is not supported" and similar: nothing we read
            warnings.simplefilter("ignore")
            wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
            for index, name in enumerate(wb.sheetnames):
                ws = wb[name]
                if not hasattr(ws, "iter_rows"):  # a chart sheet holds no cells
                    continue
                sheet = worksheet_to_sheet(ws, index, file=file, limits=limits)
                grid = sheet_to_grid(sheet, "xlsx", file=file, limits=limits)
                if grid is not None:
                    grids.append(grid)
            wb.close()
    except PipelineError:  # a size cap: already names the file, sheet and stage
        raise
    except Exception as exc:  # BadZipFile, KeyError (missing part), XML errors, bad styles …
        raise CorruptFile(f"cannot open the XLSX ({type(exc).__name__}: {exc})", file=file, stage=STAGE) from exc
    return grids
