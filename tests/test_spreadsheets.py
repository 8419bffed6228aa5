"""XLSX and XLS workbooks to Grids: the real d08–d11 against their truth, and Excel's display of numbers."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest

from pipeline.errors import CorruptFile
from pipeline.extract.limits import Limits, TooLarge
from pipeline.extract.numfmt import display
from pipeline.extract.xls import xls_to_grids
from pipeline.extract.xlsx import xlsx_to_grids
from pipeline.ingest.formats import detect_format
from tests.fixtures.real_files import TRUTH, real_bytes, record_rows, truth_text

READERS = {"xlsx": xlsx_to_grids, "xls": xls_to_grids}
SPREADSHEETS = ["d08-sx-sydw-signup-2025.xlsx", "d09-klmy-kjj-powers.xls", "d10-klmy-czj-powers-ole.xlsx",
                "d11-klmy-rf-powers-sheets.xlsx"]


def grids_of(name: str):
    data = real_bytes(name)
    return READERS[detect_format(data, file=name)](data, file=name)


@pytest.fixture(scope="module")
def real_grids():
    return {name: grids_of(name) for name in SPREADSHEETS}


TRUTH_SHEETS = [(name, i) for name in SPREADSHEETS for i in range(len(TRUTH[name]["tables"]))]


@pytest.mark.parametrize("name, t", TRUTH_SHEETS, ids=[f"{n[:3]}-{i}" for n, i in TRUTH_SHEETS])
def test_sample_rows_equal_truth_exactly(real_grids, name, t):
    table = TRUTH[name]["tables"][t]
    grid = next(g for g in real_grids[name] if g.sheet == table["sheet"])
    assert table["compare"] == "exact"
    header = table["title_rows"]  # title rows, then the header row, then the data rows
    records = record_rows(grid, header + 1)
    assert len(records) >= table["n_rows"]
    for sample in table["samples"]:
        r = records[sample["row"] - 1]
        want = [truth_text(v) for v in sample["cells"]]
        assert [grid.value(r, c) for c in range(len(want))] == want, (name, sample["row"])
        assert all(grid.value(r, c) == "" for c in range(len(want), grid.n_cols))  # d10's empty column M


def test_one_grid_per_sheet_with_its_position_name_and_locators(real_grids):
    d11 = real_grids["d11-klmy-rf-powers-sheets.xlsx"]
    assert [(g.table_index, g.sheet, g.locator) for g in d11] == [
        (i, t["sheet"], f"sheet {t['sheet']}") for i, t in enumerate(TRUTH["d11-klmy-rf-powers-sheets.xlsx"]["tables"])]
    assert {g.source_format for g in d11} == {"xlsx"}
    assert {g.source_format for g in real_grids["d10-klmy-czj-powers-ole.xlsx"]} == {"xls"}
    sheet = d11[0]
    assert sheet.rows[2][1].text == "事项名称" and sheet.rows[2][1].locator == "行政检查（3项）!B3"
    # The header 实施层级及权限 is merged over H3:I3: I3 is covered, pointing at H3.
    assert sheet.rows[2][7].text.startswith("实施层级") and sheet.rows[2][8].text is None
    assert (sheet.rows[2][8].origin, sheet.rows[2][8].locator) == ((2, 7), "行政检查（3项）!H3")


def test_d11_records_merged_over_two_sheet_rows_keep_the_merge(real_grids):
    grid = next(g for g in real_grids["d11-klmy-rf-powers-sheets.xlsx"] if g.sheet == "行政许可（3项）")
    assert grid.n_rows == 9  # sheet rows 1-9: title, blank, header, item 1 (rows 4-7), items 2 and 3
    # Item 1 (A4:A7, B4:B7) has two 子项, each merged over two rows (C4:C5, C6:C7 …).
    assert grid.rows[3][0].text == "1" and all(grid.rows[r][0].text is None for r in (4, 5, 6))
    assert all(grid.rows[r][0].origin == (3, 0) and grid.rows[r][0].locator.endswith("!A4") for r in (4, 5, 6))
    assert grid.rows[5][2].text.startswith("2.新建民用建筑") and grid.rows[4][2].text is None
    assert grid.rows[6][2].origin == (5, 2)
    assert record_rows(grid, 3) == [3, 5, 7, 8]


def test_d09_records_span_two_rows_and_stale_text_under_merges_is_not_shown(real_grids):
    (grid,) = real_grids["d09-klmy-kjj-powers.xls"]
    table = TRUTH["d09-klmy-kjj-powers.xls"]["tables"][0]
    assert (grid.n_rows, grid.n_cols) == (2 + 2 * table["n_rows"], len(table["header"]))
    assert record_rows(grid, 2) == [2, 4, 6, 8]
    for top in (2, 4, 6, 8):
        assert all(c.text is None and c.origin == (top, j) for j, c in enumerate(grid.rows[top + 1]))
    stale = table["hidden_values_under_merges"]
    shown = {c.text for row in grid.rows for c in row}
    for where, text in stale.items():  # N4, M6, N6 hold old text that Excel never shows
        col, row = ord(where[0]) - 65, int(where[1:]) - 1
        assert grid.rows[row][col].text is None and grid.rows[row][col].locator == f"市科技局!{where[0]}{row}"
        assert grid.value(row, col) == grid.value(row - 1, col)
        if text != grid.value(row - 1, col):
            assert text not in shown
    assert sum(text not in shown for text in stale.values()) >= 2  # the trap is real: stale ≠ visible


def test_d09_trailing_formatted_empty_rows_and_columns_are_trimmed(real_grids):
    (grid,) = real_grids["d09-klmy-kjj-powers.xls"]
    assert grid.hints["trimmed_rows"] == TRUTH["d09-klmy-kjj-powers.xls"]["tables"][0]["trailing_blank_rows"] == 27
    assert grid.hints["trimmed_cols"] == 256 - 15  # formatted to column IV


def test_d10_hidden_column_n_is_left_out_and_named(real_grids):
    (grid,) = real_grids["d10-klmy-czj-powers-ole.xlsx"]
    assert grid.n_cols == len(TRUTH["d10-klmy-czj-powers-ole.xlsx"]["tables"][0]["header"]) == 12  # A-L
    assert not any(c.locator.split("!")[1][0] in "MN" for row in grid.rows for c in row)  # M empty, N hidden
    assert grid.hints["hidden_cols"] == ["N"]
    assert grid.warnings == ["sheet Sheet1: hidden columns N left out"]
    assert grid.hints["trimmed_cols"] == 2  # M shows nothing; N is hidden
    assert grid.rows[1][11].text is None and grid.rows[1][11].origin == (1, 0)  # the title's merge A2:L2


def test_d08_all_rows_as_stored_text(real_grids):
    (grid,) = real_grids["d08-sx-sydw-signup-2025.xlsx"]
    assert (grid.n_rows, grid.n_cols) == (2 + 11374, 6)
    assert grid.rows[0][0].text == TRUTH["d08-sx-sydw-signup-2025.xlsx"]["meta"]["title_cell_full"]
    assert [c.text for c in grid.rows[0][1:]] == [None] * 5


def test_renamed_copy_reads_the_same(real_grids, tmp_path):
    copy = tmp_path / "attachment.bin"
    shutil.copy(Path(__file__).parent / "fixtures" / "real" / "d10-klmy-czj-powers-ole.xlsx", copy)
    data = copy.read_bytes()
    assert detect_format(data, file=copy.name) == "xls"
    again = xls_to_grids(data, file=copy.name)
    assert [g.texts() for g in again] == [g.texts() for g in real_grids["d10-klmy-czj-powers-ole.xlsx"]]


# --- numbers as Excel shows them --------------------------------------------------------------------

# (value, number format, what Excel shows)
SHOWN = [
    (1.0, "General", "1"),
    (4111010001, "General", "4111010001"),
    (4111010001.0, "General", "4111010001"),
    (0.1 + 0.2, "General", "0.3"),
    (2.5, "General", "2.5"),
    (1234.5, "#,##0.00", "1,234.50"),
    (-1234.5, "#,##0.00", "-1,234.50"),
    (1234567, "#,##0", "1,234,567"),
    (0.125, "0%", "13%"),
    (0.12345, "0.00%", "12.35%"),
    (2.675, "0.00", "2.68"),
    (5, "000000", "000005"),
    (dt.datetime(2024, 7, 1), "yyyy-mm-dd", "2024-07-01"),
    (dt.datetime(2024, 7, 1), "mm-dd-yy", "2024-07-01"),  # built-in 14, locale-dependent: shown ISO-like
    (dt.datetime(2024, 7, 1), 'yyyy"年"m"月"d"日"', "2024年7月1日"),
    (dt.datetime(2024, 7, 1, 16, 30), "yyyy/m/d h:mm", "2024/7/1 16:30"),
]
TEXTS = ["  缩进的文字\n第二行", "000123", "4111010001"]


def _workbook(path: Path) -> None:
    """A workbook with one value per row (column B), a hidden row 3, a hidden column D and a merge F1:G2."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "数字"
    for i, (value, fmt, _) in enumerate(SHOWN, start=1):
        ws.cell(i, 2, value).number_format = fmt
    for j, text in enumerate(TEXTS, start=len(SHOWN) + 1):
        ws.cell(j, 2, text)
    ws.cell(1, 1, "A1")
    ws.cell(3, 1, "hidden row")
    ws.row_dimensions[3].hidden = True
    ws.cell(1, 4, "hidden col")
    ws.column_dimensions["D"].hidden = True
    ws.cell(1, 6, "merged")
    ws.merge_cells("F1:G2")
    ws.cell(40, 9).number_format = "0.00"  # formatted but empty, far out: trimmed
    wb.create_sheet("空表")  # a sheet without text gives no grid
    helper = wb.create_sheet("辅助")
    helper["A1"] = "下拉选项"
    helper.sheet_state = "hidden"
    wb.save(path)


def _to_xls(xlsx: Path, tmp: Path) -> Path:
    """Convert with LibreOffice (a throwaway profile), to test the XLS reader on the same content."""
    subprocess.run(["soffice", f"-env:UserInstallation={(tmp / 'lo-profile').as_uri()}", "--headless",
                    "--norestore", "--convert-to", "xls:MS Excel 97", "--outdir", str(tmp), str(xlsx)],
                   check=True, capture_output=True, timeout=120)
    return xlsx.with_suffix(".xls")


@pytest.fixture(scope="module")
def made_books(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("books")
    xlsx = tmp / "made.xlsx"
    _workbook(xlsx)
    return {"xlsx": xlsx.read_bytes(), "xls": _to_xls(xlsx, tmp).read_bytes()}


@pytest.mark.parametrize("kind", ["xlsx", "xls"])
def test_numbers_dates_and_texts_show_as_excel_shows_them(made_books, kind):
    data = made_books[kind]
    assert detect_format(data) == kind
    grid, helper = READERS[kind](data, file=f"made.{kind}")
    assert grid.source_format == kind and grid.sheet == "数字" and grid.table_index == 0
    by_locator = {c.locator: c.text for row in grid.rows for c in row if c.text is not None}
    want = {f"数字!B{i}": shown for i, (_, _, shown) in enumerate(SHOWN, start=1) if i != 3}
    want.update({f"数字!B{j}": text for j, text in enumerate(TEXTS, start=len(SHOWN) + 1)})
    assert {k: by_locator[k] for k in want} == want


@pytest.mark.parametrize("kind", ["xlsx", "xls"])
def test_hidden_rows_and_columns_are_left_out_and_merges_are_spans(made_books, kind):
    grid, _ = READERS[kind](made_books[kind], file=f"made.{kind}")
    assert grid.hints["hidden_rows"] == [3] and grid.hints["hidden_cols"] == ["D"]
    assert "sheet 数字: hidden rows 3 left out" in grid.warnings
    assert "sheet 数字: hidden columns D left out" in grid.warnings
    texts = {c.text for row in grid.rows for c in row}
    assert "hidden row" not in texts and "hidden col" not in texts
    assert grid.n_rows == len(SHOWN) + len(TEXTS) - 1 and grid.n_cols == 6  # A B C E F G; I40 trimmed
    # F1:G2 → grid columns 4-5 (D is gone), rows 0-1.
    assert grid.rows[0][4].text == "merged" and grid.rows[0][4].locator == "数字!F1"
    assert [grid.rows[r][c].origin for r, c in ((0, 5), (1, 4), (1, 5))] == [(0, 4)] * 3
    assert all(grid.rows[r][c].text is None for r, c in ((0, 5), (1, 4), (1, 5)))


@pytest.mark.parametrize("kind", ["xlsx", "xls"])
def test_a_hidden_sheet_is_read_and_marked_and_an_empty_sheet_gives_no_grid(made_books, kind):
    grids = READERS[kind](made_books[kind], file=f"made.{kind}")
    assert [(g.table_index, g.sheet) for g in grids] == [(0, "数字"), (2, "辅助")]  # 空表 (1) has no text
    helper = grids[1]
    assert helper.texts() == [["下拉选项"]] and helper.hints["sheet_state"] == "hidden"
    assert helper.warnings == ["sheet 辅助 is hidden in the workbook"]


def test_cjk_builtin_date_format_by_id_alone(tmp_path):
    """Chinese Excel/WPS refer to 年月日 dates by built-in id 31 with no format code in the file."""
    wb = openpyxl.Workbook()
    wb.active.cell(1, 1, dt.datetime(2024, 7, 1)).number_format = 'yyyy"年"m"月"d"日"'
    buf = io.BytesIO()
    wb.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            part = src.read(info)
            if info.filename == "xl/styles.xml":
                part = re.sub(rb"<numFmts[^>]*>.*?</numFmts>", b"", part, flags=re.S)
                part = part.replace(b'numFmtId="165"', b'numFmtId="31"')  # 164 is openpyxl's datetime
            z.writestr(info, part)
    (grid,) = xlsx_to_grids(out.getvalue())
    assert grid.rows[0][0].text == "2024年7月1日"


def test_unsupported_format_code_falls_back_to_general_and_says_so():
    assert display(1.5, "# ?/?") == ("1.5", "number format '# ?/?' not supported (fraction in '# ?/?'); "
                                            "shown as General")


# --- caps and damage -----------------------------------------------------------------------------


def test_a_sheet_over_the_cell_cap_fails_naming_file_sheet_and_stage():
    wb = openpyxl.Workbook()
    wb.active.title = "大表"
    wb.active["A1"] = "x"
    wb.active["XFD1048576"] = "far away"
    buf = io.BytesIO()
    wb.save(buf)
    with pytest.raises(TooLarge, match=r"^file big\.xlsx, stage extract: sheet 大表: used range 1,048,576 rows × "
                                       r"16,384 columns exceeds 2,000,000 cells"):
        xlsx_to_grids(buf.getvalue(), file="big.xlsx")
    # A merge over the whole sheet, written into the XML (openpyxl itself would expand it cell by cell).
    wb = openpyxl.Workbook()
    wb.active["A1"] = "合并"
    buf = io.BytesIO()
    wb.save(buf)
    src, out = zipfile.ZipFile(io.BytesIO(buf.getvalue())), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            part = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                part = part.replace(b"</sheetData>", b'</sheetData><mergeCells count="1"><mergeCell ref="A1:XFD1048576"/>'
                                                      b"</mergeCells>")
            z.writestr(info, part)
    with pytest.raises(TooLarge, match=r"file merged\.xlsx, stage extract: sheet Sheet: merged ranges cover "
                                       r"17,179,869,184 cells \(cap 2,000,000\)"):
        xlsx_to_grids(out.getvalue(), file="merged.xlsx")
    wb = openpyxl.Workbook()
    for _ in range(20):  # 200 cells: the reader stops streaming once more than 100 hold values
        wb.active.append(list(range(10)))
    buf = io.BytesIO()
    wb.save(buf)
    with pytest.raises(TooLarge, match=r"file many\.xlsx, stage extract: sheet Sheet: more than 100 cells hold values"):
        xlsx_to_grids(buf.getvalue(), file="many.xlsx", limits=Limits(max_cells=100))
    with pytest.raises(TooLarge, match=r"sheet 市科技局: used range 10 rows × 15 columns exceeds 140 cells"):
        xls_to_grids(real_bytes("d09-klmy-kjj-powers.xls"), file="d09.xls", limits=Limits(max_cells=140))


def test_damaged_workbooks_are_corrupt_files():
    data = real_bytes("d09-klmy-kjj-powers.xls")
    with pytest.raises(CorruptFile, match=r"file cut\.xls, stage extract: cannot open the XLS"):
        xls_to_grids(data[:20000], file="cut.xls")
    data = real_bytes("d11-klmy-rf-powers-sheets.xlsx")
    with pytest.raises(CorruptFile, match=r"file cut\.xlsx, stage extract: cannot open the XLSX"):
        xlsx_to_grids(data[: len(data) // 2], file="cut.xlsx")
