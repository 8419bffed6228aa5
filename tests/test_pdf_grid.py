"""PDF tables to stitched Grids: the real 8-page attachment, layouts it doesn't show, and bad files."""

from __future__ import annotations

import dataclasses
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.errors import CorruptFile, EmptyInput, GarbledText, NeedsOCR
from pipeline.extract.pdf import (
    SpaceEvidence,
    TableSettings,
    chars_to_lines,
    lines_to_text,
    locator_pages,
    pdf_to_grids,
    spaced_han_ratio,
)
from pipeline.text import clean_text
from tests.conftest import RAW
from tests.fixtures.pdf_docx_helpers import (
    LAYOUTS,
    TITLE,
    PdfLayout,
    cid_pdf,
    image_only_pdf,
    render_pdf,
    spec_from_grid,
    spec_head,
    text_pdf,
)

PDF = RAW / "xm-mzj-2025-095-list.pdf"
# Where the HTML repeats a split cell as a new origin but the PDF prints one merged cell: the category at the
# original's page breaks (PDF rows 7 13 19 25 31 43 49) and item 17 / 其他 continuing across one (row 49).
HTML_ONLY_ORIGINS = [(7, 0), (13, 0), (19, 0), (25, 0), (31, 0), (43, 0), (49, 0), (49, 1), (49, 2)]


@pytest.fixture(scope="module")
def pdf_bytes() -> bytes:
    return PDF.read_bytes()


@pytest.fixture(scope="module")
def pdf_grid(pdf_bytes):
    grids = pdf_to_grids(pdf_bytes, file=PDF.name)
    assert len(grids) == 1
    return grids[0]


def values(grid, first_row: int = 0) -> list[list[str]]:
    """Cell values as typed values read them: the HTML keeps a cell's paragraph breaks, a PDF cannot."""
    return [[clean_text(grid.value(r, c)) for c in range(grid.n_cols)] for r in range(first_row, grid.n_rows)]


def origins(grid, first_row: int = 0) -> set[tuple[int, int]]:
    return {(r - first_row, c) for r in range(first_row, grid.n_rows) for c in range(grid.n_cols)
            if grid.rows[r][c].text is not None}


# --- the real attachment --------------------------------------------------------------------------

def test_real_pdf_is_one_table_of_header_and_52_rows_titled_like_the_page(pdf_grid):
    assert (pdf_grid.source_format, pdf_grid.table_index, pdf_grid.n_rows, pdf_grid.n_cols) == ("pdf", 0, 53, 7)
    assert pdf_grid.caption == TITLE
    assert pdf_grid.locator == "pages 1-8 table 1"
    assert values(pdf_grid)[0] == ["服务类别", "序号", "服务项目", "对象范围", "服务内容", "服务标准", "供给主体"]


def test_real_pdf_values_equal_the_html_table_cell_for_cell(pdf_grid, grid_2025):
    assert values(pdf_grid) == values(grid_2025, first_row=1)  # HTML row 0 is the title row


def test_real_pdf_merges_are_the_html_merges_where_the_pdf_shows_them(pdf_grid, grid_2025):
    pdf, html = origins(pdf_grid), origins(grid_2025, first_row=1)
    assert pdf <= html
    assert sorted(html - pdf) == HTML_ONLY_ORIGINS


def test_header_repeated_on_every_page_is_kept_once(pdf_grid):
    header = values(pdf_grid)[0]
    assert [r for r, row in enumerate(values(pdf_grid)) if row == header] == [0]


def test_merged_cell_printed_on_its_first_page_covers_the_next_pages(pdf_grid):
    # 照护服务类 is printed on page 1 only; items 3-5 sit on pages 2 and 3 under the same merged cell
    for r in (8, 15):
        cell = pdf_grid.rows[r][0]
        assert (cell.text, cell.origin, cell.page, cell.bbox) == (None, (1, 0), 1, (52.5, 110.85, 97.8, 539.15))
        assert pdf_grid.value(r, 0) == "照护服务类"
    assert pdf_grid.rows[49][1].origin == (46, 1) and pdf_grid.value(49, 1) == "17"


def test_row_broken_across_pages_is_one_row_with_both_pages_in_its_locator(pdf_grid):
    tails = [w for w in pdf_grid.warnings if "continues the row" in w]
    assert tails == [f"page {p}: first row continues the row on page {p - 1}; merged" for p in range(3, 9)]
    cell = pdf_grid.rows[13][5]  # item 5, first population: its 服务标准 runs from page 2 to page 3
    assert cell.locator == "page 2 table 1 row 8 col 6; page 3 table 1 row 2 col 6"
    assert (cell.page, cell.bbox) == (2, (452.1, 516.45, 678.9, 541.25))
    assert locator_pages(cell.locator) == [2, 3]
    assert cell.text.endswith("《居家养老上门服务基本规范》(GB/T43153-2023)《福建省特困人员认定办法》,按照《厦门市社区"
                              "公益性养老服务基本要求》(DB3502/T091-2022)《厦门市困难群众基本生活保障办法》执行")


def test_every_origin_cell_has_page_bbox_and_locator(pdf_grid):
    for row in pdf_grid.rows:
        for cell in row:
            o = pdf_grid.origin_cell(*cell.origin)
            assert (cell.page, cell.bbox, cell.locator) == (o.page, o.bbox, o.locator)
            assert re.fullmatch(r"page \d table 1 row \d+ col \d(; page \d table 1 row \d+ col \d)*", o.locator)
            assert o.bbox[0] < o.bbox[2] and o.bbox[1] < o.bbox[3]
    assert pdf_grid.rows[0][0].bbox == (52.5, 86.05, 97.8, 110.85)


def test_latin_tokens_keep_their_published_form(pdf_grid, grid_2025):
    text = "\n".join(c for row in values(pdf_grid) for c in row)
    html = "\n".join(c for row in values(grid_2025, 1) for c in row)
    assert text.count("GB/T43153-2023") == html.count("GB/T43153-2023") == 32
    assert "GB/T 43153" not in text and not re.search(r"\d \S|\S \d", text)


def test_space_swallowed_by_a_wrap_is_restored_from_the_documents_own_text(pdf_grid):
    # page 1 wraps 《…福建省民政厅 | 福建省财政厅…》 and Writer does not print the space at the wrap
    assert "福建省民政厅 福建省财政厅政府购买" in pdf_grid.value(3, 5)
    assert any("restored in 民政厅|福建省" in w for w in pdf_grid.warnings)


# --- text from chars ------------------------------------------------------------------------------

def _chars(text: str, x: float = 10.0, top: float = 100.0, size: float = 9.0, gap: float = 0.0) -> list[dict]:
    out = []
    for ch in text:
        out.append({"text": ch, "x0": x, "x1": x + size, "top": top, "bottom": top + size, "size": size})
        x += size + gap
    return out


def test_chars_to_lines_keeps_a_wide_gap_as_one_space_and_orders_lines():
    chars = _chars("民政局", top=120) + _chars("厦门市", top=100) + _chars("财政局", x=10 + 27 + 4, top=100)
    assert [ln.text for ln in chars_to_lines(chars)] == ["厦门市 财政局", "民政局"]
    tight = _chars("厦门市", top=100) + _chars("财政局", x=10 + 27 + 1, top=100)
    assert [ln.text for ln in chars_to_lines(tight)] == ["厦门市财政局"]


def _glyphs(text: str, x: float, baseline: float, size: float = 9.0, drop: float = 0.0, advance: float | None = None,
            page_height: float = 500.0) -> list[dict]:
    """Chars with a matrix, as pdfplumber gives them; ``drop`` shifts the font box down (bogus font metrics)."""
    out = []
    for ch in text:
        top = baseline - 0.8 * size + drop
        out.append({"text": ch, "x0": x, "x1": x + size, "top": top, "bottom": top + size, "size": size,
                    "y1": page_height - top, "matrix": (1, 0, 0, 1, x, page_height - baseline), "upright": True})
        x += advance if advance is not None else size
    return out


def test_chars_to_lines_places_glyphs_by_baseline_not_by_their_font_box():
    # d05: punctuation in a second font has boxes 0.7 em below the line it prints on, on the next line's band
    line1 = _glyphs("政府核准", 10, 100) + _glyphs("》(", 46, 100, drop=6.3) + _glyphs("按最", 64, 100)
    line2 = _glyphs("新版本执行", 10, 111.7)
    lines = chars_to_lines(list(reversed(line2 + line1)))
    assert [ln.text for ln in lines] == ["政府核准》(按最", "新版本执行"]
    assert lines[0].bottom < lines[1].top + 1  # the shifted boxes don't stretch the first line over the second


def test_justified_glyphs_spread_out_are_not_spaces_but_a_wider_gap_is():
    assert chars_to_lines(_glyphs("企业投资项", 10, 100, advance=11.5))[0].text == "企业投资项"
    spread = _glyphs("企业投资", 10, 100, advance=11.5) + _glyphs("项目", 10 + 4 * 11.5 + 6, 100, advance=11.5)
    assert chars_to_lines(spread)[0].text == "企业投资 项目"


def test_lines_to_text_joins_wraps_without_inventing_spaces():
    assert lines_to_text(["参照《居家养老上门服务基本规范》(GB/T43153-", "2023)执行"]) == "参照《居家养老上门服务基本规范》(GB/T43153-2023)执行"
    assert lines_to_text(["于2012", "年印发"]) == "于2012年印发"
    assert lines_to_text(["DB3502/T0", "91-2022"]) == "DB3502/T091-2022"
    assert lines_to_text(["厦门市民政局 ", "厦门市财政局"]) == "厦门市民政局 厦门市财政局"  # a space printed at the wrap
    assert lines_to_text(["", "  ", "民政"]) == "民政"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="厦门市民政局《》(),、GB/T43153-2023DBabc", min_size=1, max_size=12), min_size=1, max_size=4),
       st.lists(st.integers(min_value=1, max_value=60), max_size=6))
def test_wrapping_text_anywhere_and_joining_gives_it_back(tokens, cuts):
    text = " ".join(tokens)  # published spaces are single and inside the text
    points = sorted({c for c in cuts if c < len(text)})
    lines = [text[a:b] for a, b in zip([0, *points], [*points, len(text)])]
    assert lines_to_text(lines) == text


def test_space_evidence_needs_the_document_to_print_the_words_with_a_space_and_never_without():
    ev = SpaceEvidence(["关于转发<福建省民政厅 福建省财政厅政府购买>"])
    assert lines_to_text(["转发<福建省民政厅", "福建省财政厅"], ev) == "转发<福建省民政厅 福建省财政厅"
    both = SpaceEvidence(["福建省民政厅 福建省财政厅", "福建省民政厅福建省财政厅"])
    assert lines_to_text(["福建省民政厅", "福建省财政厅"], both) == "福建省民政厅福建省财政厅"
    off = SpaceEvidence(["福建省民政厅 福建省财政厅"], k=0)
    assert lines_to_text(["福建省民政厅", "福建省财政厅"], off) == "福建省民政厅福建省财政厅"


def test_settings_are_validated_and_frozen():
    with pytest.raises(ValueError, match="space_gap"):
        TableSettings(space_gap=-1)
    with pytest.raises(ValueError, match="max_cid_ratio"):
        TableSettings(max_cid_ratio=1.5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        TableSettings().snap_tolerance = 1  # type: ignore[misc]
    with pytest.raises(ValueError, match="note_pattern"):
        TableSettings(note_pattern="(注")
    with pytest.raises(ValueError, match="title_ratio"):
        TableSettings(title_ratio=0.5)
    assert TableSettings().finder()["vertical_strategy"] == "lines"


def test_column_ruled_out_of_step_with_the_rows_gives_its_cells_to_the_rows_in_order():
    from pipeline.extract.pdf_cells import cells_to_page_table

    # col 1 and 2 ruled into rows at 0-30-60-90; col 3 ruled 0-20-50-90 (three cells, out of step)
    boxes = [(0, y0, w0 + 50, y1) for w0 in (0, 50) for y0, y1 in ((0, 30), (30, 60), (60, 90))]
    boxes += [(100, 0, 150, 20), (100, 20, 150, 50), (100, 50, 150, 90)]
    chars = (_chars("甲", x=110, top=6) + _chars("乙", x=110, top=21)  # 乙 in the band of row 1, in the box of row 2
             + _chars("丙", x=110, top=66) + _chars("一", x=10, top=10) + _chars("二", x=10, top=40))
    t = cells_to_page_table(boxes, chars, 1, 1)
    assert t.n_rows == 3
    assert [t.cells[t.pos[r][2]].lines for r in range(3)] == [["甲"], ["乙"], ["丙"]]
    assert [t.cells[t.pos[r][0]].lines for r in range(2)] == [["一"], ["二"]]
    assert any("col 3 is ruled at other heights" in w for w in t.warnings)


def test_interleaved_merges_ruled_in_as_many_columns_keep_every_row():
    from pipeline.extract.pdf_cells import cells_to_page_table

    # col 1 merges rows 1-2 and 3-4, col 2 merges rows 2-3: each border is ruled in one column, a tie
    boxes = [(0, 0, 50, 20), (0, 20, 50, 40), (50, 0, 100, 10), (50, 10, 100, 30), (50, 30, 100, 40)]
    t = cells_to_page_table(boxes, [], 1, 1)
    assert t.n_rows == 4 and not any("ruled at other heights" in w for w in t.warnings)


# --- layouts the real file doesn't show -----------------------------------------------------------

@pytest.fixture(scope="module")
def spec_2025(grid_2025):
    return spec_from_grid(grid_2025)


def test_layouts_cover_portrait_header_once_widths_and_breaks(spec_2025):
    rendered = {name: render_pdf(spec_2025, lay) for name, lay in LAYOUTS.items()}
    assert any(lay.pagesize[0] < lay.pagesize[1] for lay in LAYOUTS.values())  # portrait
    assert any(r.pages > 1 and r.header_pages == 1 for r in rendered.values())  # header not repeated
    assert len({lay.col_widths for lay in LAYOUTS.values()}) >= 4  # other column widths
    assert any(r.split_rows for r in rendered.values()) and any(not r.split_rows for r in rendered.values())
    assert any(lay.breaks_before for lay in LAYOUTS.values())


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_layout_variant_gives_the_html_grid(name, spec_2025, grid_2025):
    out = render_pdf(spec_2025, LAYOUTS[name])
    assert out.pages > 1
    grids = pdf_to_grids(out.data, file=f"{name}.pdf")
    assert len(grids) == 1
    grid = grids[0]
    assert values(grid) == values(grid_2025, first_row=1)
    assert origins(grid) == origins(grid_2025, first_row=1)  # every merge carried across the page breaks
    assert grid.caption == TITLE
    tails = [w for w in grid.warnings if "continues the row" in w]
    assert len(tails) == len(out.split_rows)


# Regression: page heights at which a merged item cell broke exactly between its two rows, so the empty one-row
# remainder on the next page was taken for a row tail and a new population row was merged into the one above.
@pytest.mark.parametrize("pagesize,widths", [
    ((842, 584), PdfLayout().col_widths),
    ((842, 653), PdfLayout().col_widths),
    ((595, 584), (40, 24, 40, 80, 105, 130, 76)),
], ids=["landscape-584", "landscape-653", "portrait-584"])
def test_merged_cell_broken_between_its_rows_is_not_a_row_tail(pagesize, widths, spec_2025, grid_2025):
    out = render_pdf(spec_2025, PdfLayout(pagesize=pagesize, col_widths=widths))
    grid = pdf_to_grids(out.data)[0]
    assert values(grid) == values(grid_2025, first_row=1)
    assert len([w for w in grid.warnings if "continues the row" in w]) == len(out.split_rows)


# Regression: portrait prints, header printed once, where a row ends at the page bottom with every text of it one
# character short of its cell's edge (kinsoku-like), so the next page's first row was taken for its tail and
# two population rows became one. A text that runs on over the break also fills its cell down to the page end.
@pytest.mark.parametrize("height", [616, 623, 630, 637, 644])
def test_row_ending_at_a_page_bottom_is_not_merged_with_the_next_pages_first_row(height, spec_2025, grid_2025):
    out = render_pdf(spec_2025, PdfLayout(pagesize=(595, height), col_widths=(45, 25, 45, 90, 100, 120, 70),
                                          repeat_header=False))
    assert out.header_pages == 1 and out.split_rows  # header once, and rows really broken across pages
    grid = pdf_to_grids(out.data)[0]
    assert grid.n_rows == 53
    assert values(grid) == values(grid_2025, first_row=1)
    assert origins(grid) == origins(grid_2025, first_row=1)
    assert len([w for w in grid.warnings if "continues the row" in w]) == len(out.split_rows)


def test_tables_on_consecutive_pages_are_stitched_unless_text_stands_between(spec_2025):
    small = spec_head(spec_2025, 3)
    one = render_pdf(small, PdfLayout(title="附件1")).data
    headed = render_pdf(small, PdfLayout(title="附件2")).data
    bare = render_pdf(small, PdfLayout(title=None)).data
    grids = pdf_to_grids(_concat_pdfs(one, headed))
    assert [(g.caption, g.n_rows, g.locator) for g in grids] == [
        ("附件1", 4, "page 1 table 1"), ("附件2", 4, "page 2 table 2")]
    grids = pdf_to_grids(_concat_pdfs(one, bare))
    assert [(g.caption, g.n_rows, g.locator) for g in grids] == [("附件1", 7, "pages 1-2 table 1")]


def _concat_pdfs(*docs: bytes) -> bytes:
    """Join PDFs page by page (pypdfium2 ships with pdfplumber)."""
    import io

    import pypdfium2 as pdfium

    out = pdfium.PdfDocument.new()
    for data in docs:
        src = pdfium.PdfDocument(data)
        out.import_pages(src)
    buf = io.BytesIO()
    out.save(buf)
    return buf.getvalue()


# --- bad input ------------------------------------------------------------------------------------

def test_scanned_pdf_needs_ocr_and_is_never_loaded_as_empty():
    with pytest.raises(NeedsOCR) as exc:
        pdf_to_grids(image_only_pdf(), file="scan.pdf")
    assert str(exc.value) == ("file scan.pdf, stage extract: none of the 2 page(s) has a text layer (a scan?) "
                              "(hint: run OCR on the PDF and add the OCR'd file to raw/)")


def test_encrypted_pdf_is_reported_as_corrupt_with_the_reason():
    with pytest.raises(CorruptFile, match=r"file locked\.pdf, stage extract: the PDF is encrypted") as exc:
        pdf_to_grids(text_pdf(["厦门市民政局"], encrypt="secret"), file="locked.pdf")
    assert "unencrypted copy" in str(exc.value)


@pytest.mark.parametrize("cut", ["truncated", "truncated-with-eof", "not-a-pdf"])
def test_damaged_pdf_is_corrupt(cut, pdf_bytes):
    data = {
        "truncated": pdf_bytes[: len(pdf_bytes) // 2],
        "truncated-with-eof": pdf_bytes[: len(pdf_bytes) // 2] + b"\n%%EOF\n",  # the parser itself must fail
        "not-a-pdf": b"<html><body>404</body></html>",
    }[cut]
    with pytest.raises(CorruptFile, match=r"file bad\.pdf, stage extract: "):
        pdf_to_grids(data, file="bad.pdf")


def test_empty_pdf_is_empty_input():
    with pytest.raises(EmptyInput):
        pdf_to_grids(b"", file="empty.pdf")


def test_cid_glyphs_are_garbled_text():
    with pytest.raises(GarbledText, match=r"file cid\.pdf, stage extract: 34 of 34 glyphs have no Unicode mapping"):
        pdf_to_grids(cid_pdf(["厦门市民政局关于印发服务清单的通知", "厦门市民政局关于印发服务清单的通知"]), file="cid.pdf")


def test_han_spaced_out_one_by_one_is_garbled_text():
    line = " ".join("厦门市民政局关于印发服务清单的通知")
    with pytest.raises(GarbledText, match=r"34 of 38 Han characters are spaced out one by one"):
        pdf_to_grids(text_pdf([line, line, "服务清单"]), file="spaced.pdf")


def test_real_spaces_between_words_are_not_garbled():
    lines = ["厦门市民政局 厦门市财政局关于转发<福建省民政厅 福建省财政厅>的通知", "索 引 号:XM00110-0200-2025-00095"]
    assert pdf_to_grids(text_pdf(lines), file="ok.pdf") == []  # text, no table: nothing raised
    assert spaced_han_ratio(["索 引 号", "厦门市民政局 厦门市财政局"]) == (3, 15)
