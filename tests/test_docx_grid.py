"""DOCX tables to Grids: vertical merges (vMerge), column spans (gridSpan) and damaged files."""

from __future__ import annotations

import io
import zipfile

import pytest
from lxml import etree

from pipeline.errors import CorruptFile, EmptyInput
from pipeline.extract.docx import W, docx_to_grids
from pipeline.model import Grid
from pipeline.text import clean_text
from tests.conftest import RAW
from tests.fixtures.pdf_docx_helpers import TITLE, build_docx

DOCX = RAW / "xm-mzj-2025-095-list.docx"
# Where the HTML repeats a split cell as a new origin and the Word file keeps one merged cell (see test_pdf_grid).
HTML_ONLY_ORIGINS = [(7, 0), (13, 0), (19, 0), (25, 0), (31, 0), (43, 0), (49, 0), (49, 1), (49, 2)]


@pytest.fixture(scope="module")
def docx_grid():
    grids = docx_to_grids(DOCX.read_bytes(), file=DOCX.name)
    assert len(grids) == 1
    return grids[0]


@pytest.fixture(scope="module")
def small_grid(grid_2025):
    """The HTML grid's first 7 rows (title, header, items 1-2): quick to write as DOCX."""
    return Grid("html", 0, grid_2025.rows[:7])


def values(grid, first_row: int = 0) -> list[list[str]]:
    """Cell values as typed values read them: the HTML keeps a cell's paragraph breaks, a PDF cannot."""
    return [[clean_text(grid.value(r, c)) for c in range(grid.n_cols)] for r in range(first_row, grid.n_rows)]


def origins(grid, first_row: int = 0) -> set[tuple[int, int]]:
    return {(r - first_row, c) for r in range(first_row, grid.n_rows) for c in range(grid.n_cols)
            if grid.rows[r][c].text is not None}


def test_real_docx_values_equal_the_html_table_cell_for_cell(docx_grid, grid_2025):
    assert (docx_grid.source_format, docx_grid.n_rows, docx_grid.n_cols, docx_grid.caption) == ("docx", 53, 7, TITLE)
    assert values(docx_grid) == values(grid_2025, first_row=1)
    assert docx_grid.warnings == []


def test_real_docx_vertical_merges_are_covered_positions(docx_grid, grid_2025):
    pdocx, html = origins(docx_grid), origins(grid_2025, first_row=1)
    assert pdocx <= html and sorted(html - pdocx) == HTML_ONLY_ORIGINS
    covered = docx_grid.rows[15][0]  # item 5's last population, under the 照护服务类 cell
    assert (covered.text, covered.origin, covered.locator) == (None, (1, 0), "table 1 row 2 col 1")
    assert docx_grid.rows[4][1].locator == "table 1 row 5 col 2" and docx_grid.value(5, 1) == "2"


def test_built_docx_with_title_span_and_merges_gives_the_html_grid_exactly(grid_2025):
    # the HTML's own shape: title row spanning 7 columns (gridSpan) over vertically merged cells (vMerge)
    grid = docx_to_grids(build_docx(grid_2025, title=None), file="built.docx")[0]
    assert grid.texts() == grid_2025.texts()
    assert values(grid) == values(grid_2025)
    assert grid.rows[0][6].origin == (0, 0)


def test_cell_text_keeps_one_line_per_paragraph(small_grid):
    data = build_docx(small_grid, split_paragraphs={(2, 0): ["照护", "服务类"], (2, 2): ["巡访", "  探视 ", " "]})
    grid = docx_to_grids(data)[0]
    # Paragraphs are joined by '\n' (whitespace inside each normalized, empty ones dropped) …
    assert (grid.value(2, 0), grid.value(2, 2), grid.value(3, 0)) == ("照护\n服务类", "巡访\n探视", "照护\n服务类")
    # … and the typed layer joins CJK lines without a space.
    assert clean_text(grid.value(2, 0)) == "照护服务类"


def _rewrite(data: bytes, edit) -> bytes:
    """Return a DOCX whose document.xml went through ``edit(root)``."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            payload = src.read(item.filename)
            if item.filename == "word/document.xml":
                root = etree.fromstring(payload)
                edit(root)
                payload = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
            dst.writestr(item, payload)
    return out.getvalue()


def _w(tag: str) -> str:
    return f"{{{W}}}{tag}"


def test_grid_before_leaves_an_empty_position_and_says_so(small_grid):
    def edit(root):
        tr = root.findall(f".//{_w('tr')}")[2]  # third row: drop its first cell, declare one grid column before
        tr.remove(tr.find(_w("tc")))
        tr_pr = etree.SubElement(tr, _w("trPr"))
        tr.insert(0, tr_pr)
        etree.SubElement(tr_pr, _w("gridBefore")).set(_w("val"), "1")

    grid = docx_to_grids(_rewrite(build_docx(small_grid, title=None), edit))[0]
    assert grid.rows[2][0].text == "" and grid.rows[2][0].origin == (2, 0)
    assert grid.value(2, 1) == "1"  # the other cells keep their columns
    assert "table 1 row 3 col 1: no cell (short row); padded empty" in grid.warnings


def test_vmerge_continue_with_nothing_above_is_a_new_cell_with_a_warning(small_grid):
    def edit(root):
        tc = root.find(f".//{_w('tr')}/{_w('tc')}")
        tc_pr = tc.find(_w("tcPr"))
        tc_pr.append(etree.Element(_w("vMerge")))

    grid = docx_to_grids(_rewrite(build_docx(small_grid, title=None), edit))[0]
    assert grid.rows[0][0].text == TITLE
    assert any("vMerge continues no cell" in w for w in grid.warnings)


def test_legacy_hmerge_continues_the_cell_to_its_left(small_grid):
    def edit(root):
        tr = root.findall(f".//{_w('tr')}")[1]  # the header row: 服务类别 | 序号 -> one cell over two columns
        first, second = tr.findall(_w("tc"))[:2]
        etree.SubElement(first.find(_w("tcPr")), _w("hMerge")).set(_w("val"), "restart")
        etree.SubElement(second.find(_w("tcPr")), _w("hMerge"))

    grid = docx_to_grids(_rewrite(build_docx(small_grid, title=None), edit))[0]
    assert grid.rows[1][1].text is None and grid.rows[1][1].origin == (1, 0) and grid.value(1, 1) == "服务类别"


@pytest.mark.parametrize("damage", ["truncated", "not-a-zip", "zip-without-document"])
def test_damaged_docx_is_corrupt(damage):
    data = DOCX.read_bytes()
    if damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "not-a-zip":
        data = b"%PDF-1.4 not a word file"
    else:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("hello.txt", "no word parts here")
        data = buf.getvalue()
    with pytest.raises(CorruptFile, match=r"file bad\.docx, stage extract: cannot open the DOCX"):
        docx_to_grids(data, file="bad.docx")


def test_empty_docx_is_empty_input():
    with pytest.raises(EmptyInput):
        docx_to_grids(b"", file="empty.docx")

