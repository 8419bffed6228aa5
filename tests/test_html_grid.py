"""Unit tests of the span-aware HTML grid builder on every hard case Word exports produce."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.extract.html import html_to_grids, parse_html


def grid_of(body: str):
    grids = html_to_grids(parse_html(f"<html><body>{body}</body></html>"))
    assert len(grids) == 1
    return grids[0]


def texts(grid):
    return grid.texts()


def test_rowspan_and_colspan_mark_covered_positions_with_their_origin():
    g = grid_of("<table><tr><td rowspan=2>A</td><td colspan=2>B</td></tr><tr><td>c</td><td>d</td></tr></table>")
    assert texts(g) == [["A", "B", None], [None, "c", "d"]]
    assert g.rows[1][0].origin == (0, 0) and g.rows[0][2].origin == (0, 1)
    assert g.value(1, 0) == "A" and g.value(0, 2) == "B"


def test_empty_real_cell_is_empty_string_not_none():
    g = grid_of("<table><tr><td>a</td><td></td></tr><tr><td>b</td><td>&nbsp;</td></tr></table>")
    assert texts(g) == [["a", ""], ["b", ""]]


def test_text_over_paragraphs_spans_br_nbsp_and_word_op():
    g = grid_of(
        "<table><tr><td><p class=MsoNormal><span>照护</span><span lang=EN-US><o:p></o:p></span></p>"
        "<p><span>服务类</span><o:p>&nbsp;</o:p></p></td>"
        "<td><span>GB/T</span><span>43153-2023</span></td>"
        "<td>first line<br>second&nbsp;&nbsp;line</td>"
        "<td>《厦门市民政局 厦门市财政局关于转发》</td></tr></table>"
    )
    # A cell keeps its paragraph and <br> breaks as '\n' (whitespace inside a line normalized); the typed layer
    # joins CJK lines without a space (pipeline.text.clean_text).
    assert texts(g) == [["照护\n服务类", "GB/T43153-2023", "first line\nsecond line", "《厦门市民政局 厦门市财政局关于转发》"]]


def test_zero_height_spacer_row_is_dropped_with_a_warning():
    g = grid_of("<table><tr><td>a</td><td>b</td></tr><tr height=0><td style='border:none'></td><td></td></tr></table>")
    assert texts(g) == [["a", "b"]]
    assert g.warnings == ["table[1]/tr[2]: empty spacer row dropped"]


def test_empty_row_covered_by_a_rowspan_is_kept():
    g = grid_of("<table><tr><td rowspan=2>a</td><td>b</td></tr><tr><td></td></tr></table>")
    assert texts(g) == [["a", "b"], [None, ""]]


def test_ragged_rows_are_padded_and_reported():
    g = grid_of("<table><tr><td>a</td><td>b</td><td>c</td></tr><tr><td>d</td></tr></table>")
    assert texts(g) == [["a", "b", "c"], ["d", "", ""]]
    assert any("ragged" in w for w in g.warnings)


def test_th_and_thead_cells_are_cells():
    g = grid_of("<table><thead><tr><th>序号</th><th>服务项目</th></tr></thead><tbody><tr><td>1</td><td>x</td></tr></tbody></table>")
    assert texts(g) == [["序号", "服务项目"], ["1", "x"]]


def test_nested_table_rows_stay_in_their_own_table():
    grids = html_to_grids(parse_html(
        "<table><tr><td>outer<table><tr><td>inner</td></tr></table></td><td>o2</td></tr></table>"))
    assert len(grids) == 2
    assert grids[0].n_rows == 1 and grids[0].n_cols == 2
    assert texts(grids[1]) == [["inner"]]


@pytest.mark.parametrize(
    "attr, expected, warning",
    [
        ('rowspan="0"', [["a", "b"], [None, "c"], [None, "d"]], "rowspan=0 spans to the end"),
        ('rowspan="abc"', [["a", "b"], ["c", ""], ["d", ""]], "'abc' is not a number"),
        ('rowspan="10000"', [["a", "b"], [None, "c"], [None, "d"]], "clamped to 3"),
    ],
)
def test_malformed_rowspans(attr, expected, warning):
    g = grid_of(f"<table><tr><td {attr}>a</td><td>b</td></tr><tr><td>c</td></tr><tr><td>d</td></tr></table>")
    assert texts(g) == expected
    assert any(warning in w for w in g.warnings), g.warnings


def test_colspan_past_the_table_width_is_clamped():
    g = grid_of("<table><tr><td>a</td><td>b</td><td>c</td></tr><tr><td>d</td><td colspan=50>e</td></tr></table>")
    assert g.n_cols == 3
    assert texts(g) == [["a", "b", "c"], ["d", "e", None]]
    assert any("colspan=50 runs past the table's 3 columns; clamped to 2" in w for w in g.warnings)


def test_colspan_abc_reads_as_one():
    g = grid_of("<table><tr><td colspan='x'>a</td><td>b</td></tr></table>")
    assert texts(g) == [["a", "b"]]


def test_hidden_text_is_not_cell_text():
    g = grid_of("<table><tr><td>shown<span style='display:none'>hidden</span></td></tr></table>")
    assert texts(g) == [["shown"]]


# --- property: any table of random spans gives a rectangular grid whose covered cells point at origins ----

span = st.integers(min_value=1, max_value=3)
rows_strategy = st.lists(st.lists(st.tuples(span, span), min_size=1, max_size=4), min_size=1, max_size=5)


@settings(max_examples=150, deadline=None)
@given(rows_strategy)
def test_grid_is_rectangular_and_every_covered_cell_points_at_an_origin(rows):
    html = "<table>" + "".join(
        "<tr>" + "".join(f"<td rowspan={rs} colspan={cs}>r{i}c{j}</td>" for j, (rs, cs) in enumerate(row)) + "</tr>"
        for i, row in enumerate(rows)
    ) + "</table>"
    g = grid_of(html)
    width = g.n_cols
    assert all(len(r) == width for r in g.rows)
    origins = 0
    for r, row in enumerate(g.rows):
        for c, cell in enumerate(row):
            orow, ocol = cell.origin
            origin = g.rows[orow][ocol]
            assert origin.text is not None and origin.origin == (orow, ocol)
            assert orow <= r and ocol <= c
            origins += cell.text is not None and cell.text != ""
    assert origins == sum(len(r) for r in rows)  # every <td> lands exactly once
