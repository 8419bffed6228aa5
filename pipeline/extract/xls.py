"""Legacy Excel (XLS, BIFF; WPS 表格 .et files are the same) workbooks to Grids, one per sheet with text.

xlrd with ``formatting_info=True`` gives merged ranges, number formats and hidden rows and columns. Unlike
openpyxl it keeps the values left in cells a merge covers (WPS leaves stale text there); ``sheet_to_grid``
ignores them, as Excel does.
"""

from __future__ import annotations

import io

from pipeline.errors import CorruptFile, EmptyInput
from pipeline.extract.limits import DEFAULT_LIMITS, Limits
from pipeline.extract.numfmt import builtin_format, display
from pipeline.extract.sheet import ProblemLog, Sheet, address, sheet_to_grid
from pipeline.model import Grid

STAGE = "extract"
_STATES = {0: "visible", 1: "hidden", 2: "veryHidden"}


def _format_of(book, sh, r: int, c: int) -> str:
    key = book.xf_list[sh.cell_xf_index(r, c)].format_key
    if code := builtin_format(key):  # xlrd leaves locale-dependent built-ins without (or with a US) code
        return code
    fmt = book.format_map.get(key)
    return fmt.format_str if fmt is not None and fmt.format_str else "General"


def xlrd_sheet_to_sheet(book, sh, index: int) -> Sheet:
    """Read one xlrd sheet's shown texts, merges and hidden rows/columns."""
    import xlrd

    sheet = Sheet(sh.name, index, state=_STATES.get(sh.visibility, "visible"),
                  stored_rows=sh.nrows, stored_cols=sh.ncols)
    problems = ProblemLog()
    for r in range(sh.nrows):
        types, values = sh.row_types(r), sh.row_values(r)
        for c, (ctype, value) in enumerate(zip(types, values)):
            if ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                continue
            if ctype == xlrd.XL_CELL_TEXT:
                sheet.texts[(r, c)] = value
                continue
            problem = None
            if ctype == xlrd.XL_CELL_BOOLEAN:
                shown = "TRUE" if value else "FALSE"
            elif ctype == xlrd.XL_CELL_ERROR:
                shown = xlrd.error_text_from_code.get(value, "#ERROR")
            elif ctype == xlrd.XL_CELL_DATE:
                try:
                    shown, problem = display(xlrd.xldate_as_datetime(value, book.datemode), _format_of(book, sh, r, c))
                except (xlrd.xldate.XLDateError, ValueError, OverflowError) as exc:
                    shown, _ = display(value, "General")
                    problem = f"date value {value!r} out of range ({exc}); shown as a number"
            else:
                shown, problem = display(value, _format_of(book, sh, r, c))
            sheet.texts[(r, c)] = shown
            if problem:
                problems.add(problem, address(sh.name, r, c))
    sheet.merges = [(rlo, clo, rhi - 1, chi - 1) for rlo, rhi, clo, chi in sh.merged_cells]
    sheet.hidden_rows = {r for r, info in sh.rowinfo_map.items() if info.hidden}
    sheet.hidden_cols = {c for c, info in sh.colinfo_map.items() if info.hidden}
    sheet.problems = problems.lines()
    return sheet


def xls_to_grids(data: bytes, *, file: str | None = None, limits: Limits = DEFAULT_LIMITS) -> list[Grid]:
    """Read every sheet of an XLS that shows any text as a Grid (``table_index`` = sheet position)."""
    if not data:
        raise EmptyInput("the XLS has no bytes", file=file, stage=STAGE)
    import xlrd

    log = io.StringIO()  # xlrd reports oddities of the file here; they become grid warnings
    try:
        book = xlrd.open_workbook(file_contents=data, formatting_info=True, logfile=log)
    except xlrd.XLRDError as exc:
        reason = "the workbook is password-protected" if "encrypted" in str(exc).lower() else f"xlrd: {exc}"
        raise CorruptFile(f"cannot open the XLS ({reason})", file=file, stage=STAGE) from exc
    except Exception as exc:  # truncated or damaged BIFF/OLE structures surface as assorted errors
        raise CorruptFile(f"cannot open the XLS ({type(exc).__name__}: {exc})", file=file, stage=STAGE) from exc
    notes = [f"xlrd: {line.strip()}" for line in dict.fromkeys(log.getvalue().splitlines()) if line.strip()][:5]
    grids = []
    for index in range(book.nsheets):
        sh = book.sheet_by_index(index)
        grid = sheet_to_grid(xlrd_sheet_to_sheet(book, sh, index), "xls", file=file, limits=limits)
        if grid is not None:
            grid.warnings.extend(notes)
            grids.append(grid)
    return grids
