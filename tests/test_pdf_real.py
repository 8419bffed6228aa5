"""Real PDFs of other bureaus read as their pages show them, one Grid per logical table, checked against truth.json.

d05: a 24-page landscape list (header repeated on every page, merged matter cells printed again on continuation
pages, punctuation in a second font whose glyph boxes hang below the line, a column ruled out of step with the
rows on p.14). d06: three tables with multi-row colspan headers on one page, a note below the first. d07: nine
budget tables, three continuing on the next page without the header, one repeating its 3-row header, two empty
with a note after them, two-sided tables with blank ruled rows, total rows.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from pipeline.extract.pdf import locator_pages, pdf_to_grids

REAL = Path(__file__).parent / "fixtures" / "real"
TRUTH = json.loads((REAL / "truth.json").read_text(encoding="utf-8"))
D05, D06, D07 = "d05-jx-rqsp-matters-list.pdf", "d06-ah-land-use-standard-p.pdf", "d07-sh-putuo-budget-2025.pdf"
# Rows the page prints inside the ruled grid that truth.json does not list: d07 table 7 prints a 合计 row under
# its 8 blank rows, like table 6, whose truth lists it as a total row.
PRINTED_TOTALS = {(D07, 6): [["合计", None, None, None, None, None, None]]}


def ws_delete(text: str | None) -> str:
    return re.sub(r"\s+", "", text or "")


@cache
def grids(name: str):
    return pdf_to_grids((REAL / name).read_bytes(), file=name)


def header_depth(table: dict) -> int:
    """Return the header rows truth implies: names join the header cells from top to bottom with '·'."""
    return max(len(name.split("·")) for name in table["header"])


def values(grid, r: int) -> list[str]:
    return [ws_delete(grid.value(r, c)) for c in range(grid.n_cols)]


def body_rows(grid, table: dict, extra_totals: list | None = None) -> dict[str, list[int]]:
    """Sort the rows under the header into data, total, blank and note rows (totals and notes as truth prints)."""
    totals = [[ws_delete(v) for v in row] for row in table.get("total_rows", []) + (extra_totals or [])]
    notes = [ws_delete(n) for n in table.get("footer_rows", [])]
    out: dict[str, list[int]] = {"data": [], "total": [], "blank": [], "note": []}
    for r in range(header_depth(table), grid.n_rows):
        row = values(grid, r)
        own = [ws_delete(cell.text) for cell in grid.rows[r]]  # truth's total rows leave merged-over cells empty
        kind = ("blank" if not any(row) else "total" if own in totals
                else "note" if len(set(row)) == 1 and row[0] in notes else "data")
        out[kind].append(r)
    return out


def tables_of(name: str):
    return list(enumerate(TRUTH[name]["tables"]))


# --- one grid per logical table, header and row counts --------------------------------------------

@pytest.mark.parametrize("name,count", [(D05, 1), (D06, 3), (D07, 9)])
def test_one_grid_per_logical_table(name, count):
    assert len(grids(name)) == len(TRUTH[name]["tables"]) == count


@pytest.mark.parametrize("name,i", [(n, i) for n in (D05, D06, D07) for i, _ in tables_of(n)])
def test_header_rows_spell_the_truth_header(name, i):
    grid, table = grids(name)[i], TRUTH[name]["tables"][i]
    depth = header_depth(table)
    assert grid.n_cols == len(table["header"])
    for c, want in enumerate(table["header"]):
        names = [grid.value(r, c) for r in range(depth)]
        names = [n for k, n in enumerate(names) if k == 0 or n != names[k - 1]]  # a cell merged down is one name
        assert ws_delete("·".join(names)) == ws_delete(want), (name, i, c)


@pytest.mark.parametrize("name,i", [(n, i) for n in (D05, D06, D07) for i, _ in tables_of(n)])
def test_rows_under_the_header_are_data_total_blank_and_note_rows_as_truth_counts(name, i):
    grid, table = grids(name)[i], TRUTH[name]["tables"][i]
    extra = PRINTED_TOTALS.get((name, i), [])
    rows = body_rows(grid, table, extra)
    # rows under the header = data rows + total rows + blank ruled rows + note rows inside the grid
    expected = (table["n_rows"] + len(table.get("total_rows", [])) + len(extra) + table.get("blank_rows", 0)
                + len(table.get("footer_rows", [])))
    assert grid.n_rows - header_depth(table) == expected
    assert (len(rows["data"]), len(rows["total"]), len(rows["blank"]), len(rows["note"])) == (
        table["n_rows"], len(table.get("total_rows", [])) + len(extra), table.get("blank_rows", 0),
        len(table.get("footer_rows", [])))


@pytest.mark.parametrize("name,i,row", [(n, i, s["row"]) for n in (D05, D06, D07) for i, t in tables_of(n)
                                        for s in t["samples"]])
def test_sample_rows_equal_truth_cell_by_cell(name, i, row):
    grid, table = grids(name)[i], TRUTH[name]["tables"][i]
    assert table["compare"] == "ws_delete"
    sample = next(s for s in table["samples"] if s["row"] == row)
    r = body_rows(grid, table, PRINTED_TOTALS.get((name, i)))["data"][row - 1]
    assert values(grid, r) == [ws_delete(None if v is None else str(v)) for v in sample["cells"]]


# --- pages ----------------------------------------------------------------------------------------

def row_pages(grid, r: int) -> set[int]:
    """Return the pages of the cells that start in row r (merged cells from rows above aside)."""
    return {cell.page for cell in grid.rows[r] if cell.origin[0] == r}


@pytest.mark.parametrize("i", [i for i, t in tables_of(D07) if "page_split" in t])
def test_d07_rows_sit_on_the_pages_truth_splits_them(i):
    grid, table = grids(D07)[i], TRUTH[D07]["tables"][i]
    data = body_rows(grid, table)["data"]
    spans = re.findall(r"(\d+)-(\d+) on p\.(\d+)", table["page_split"])
    assert len(spans) == 2
    for first, last, page in spans:
        for row in range(int(first), int(last) + 1):
            assert row_pages(grid, data[row - 1]) == {int(page)}, row
    pages = sorted({int(p) for _, _, p in spans})
    assert grid.locator == f"pages {pages[0]}-{pages[1]} table {i + 1}"


def test_d07_tables_on_one_page_each_unless_split():
    assert [g.locator for g in grids(D07)] == [
        "page 8 table 1", "pages 9-10 table 2", "pages 11-12 table 3", "page 13 table 4", "pages 14-15 table 5",
        "page 16 table 6", "page 17 table 7", "pages 18-19 table 8", "page 20 table 9"]


def test_d07_table_5_drops_its_repeated_three_row_header_only():
    grid = grids(D07)[4]
    header = [values(grid, r) for r in range(3)]
    assert [r for r in range(grid.n_rows) if values(grid, r) in header] == [0, 1, 2]
    assert {grid.rows[r][0].page for r in range(3)} == {14}


def test_d07_tables_continued_without_header_keep_empty_code_cells_their_own():
    # p.10 starts with 210 | ∅ | ∅ | 卫生健康支出: its empty 款/项 cells are not the p.9 cells above them
    grid, table = grids(D07)[1], TRUTH[D07]["tables"][1]
    r = body_rows(grid, table)["data"][12]
    assert [(grid.rows[r][c].text, grid.rows[r][c].origin, grid.rows[r][c].page) for c in (1, 2)] == [
        ("", (r, 1), 10), ("", (r, 2), 10)]


def test_d05_is_one_grid_over_pages_1_to_24_with_one_header_row():
    grid = grids(D05)[0]
    assert grid.locator == "pages 1-24 table 1"
    rows = body_rows(grid, TRUTH[D05]["tables"][0])
    assert rows["data"] == list(range(1, 258)) and rows["note"] == [258]
    assert {grid.rows[r][5].page for r in rows["data"]} == set(range(1, 25))
    assert grid.rows[1][5].page == 1 and grid.rows[257][5].page == 24


# --- d05: merged matter cells over page breaks, misaligned borders, char anomalies ------------------

def test_d05_every_matter_is_one_merged_cell_whose_materials_run_1_to_n():
    grid = grids(D05)[0]
    matters: dict[tuple[int, int], list[str]] = {}
    for r in body_rows(grid, TRUTH[D05]["tables"][0])["data"]:
        origins = {grid.rows[r][c].origin for c in range(4)}
        assert len({o[0] for o in origins}) == 1, r  # 序号, 事项名称, 事项类别, 范围 start in one row
        matters.setdefault(grid.rows[r][0].origin, []).append(grid.value(r, 4))
    assert len(matters) == TRUTH[D05]["tables"][0]["n_items"] == 41
    assert [grid.value(*o) for o in matters] == [str(k) for k in range(1, 42)]
    for origin, numbers in matters.items():
        assert numbers == [str(k) for k in range(1, len(numbers) + 1)], grid.value(*origin)


def test_d05_matter_printed_again_on_the_next_page_is_the_same_cell_with_its_text_once():
    grid = grids(D05)[0]
    r = body_rows(grid, TRUTH[D05]["tables"][0])["data"][25]  # item 5, material 5: page 4, item begun on page 3
    name = grid.origin_cell(r, 1)
    assert (grid.rows[r][1].text, name.page, locator_pages(name.locator)) == (None, 3, [3, 4])
    assert name.text == "建设项目用地预审与选址意见书"
    assert grid.rows[r][5].page == 4


def test_d05_matter_whose_first_page_cut_its_text_short_takes_the_full_text_printed_again():
    # item 23's 事项办理项目范围 is cut at the bottom of p.14 and printed whole on p.15
    grid = grids(D05)[0]
    rows = [r for r in range(1, grid.n_rows) if grid.value(r, 0) == "23"]
    assert len({grid.rows[r][3].origin for r in rows}) == 1
    scope = ws_delete(grid.value(rows[0], 3))
    assert scope.startswith("有下列情形之一或以上的建设项目需办理:1.在江河、湖泊上新建")
    assert "5.在跨行政区域的边界河道修建排水" in scope and scope.count("有下列情形之一") == 1


def test_d05_column_ruled_out_of_step_with_the_rows_gives_one_label_per_material():
    grid = grids(D05)[0]
    rows = [r for r in range(1, grid.n_rows) if grid.value(r, 0) == "23"][:4]
    assert [grid.value(r, 7) for r in rows] == ["主审材料", "容缺材料", "容缺材料", "主审材料"]
    assert any("col 8 is ruled at other heights" in w and w.startswith("page 14") for w in grid.warnings)
    # 257 = 168 主审材料 + 89 容缺材料 labels in the text layer (README d05)
    kinds = Counter(grid.value(r, 7)[:4] for r in body_rows(grid, TRUTH[D05]["tables"][0])["data"])
    assert kinds == {"主审材料": 168, "容缺材料": 89}


def test_d05_punctuation_in_a_second_font_reads_in_place():
    grid = grids(D05)[0]
    assert grid.value(1, 3).startswith("《政府核准的投资项目目录(江西省)》(按最新版本执行,当前执行版本为2017年本,")
    assert grid.value(2, 6) == "涉及划拨用地、新增建设用地的建设项目"
    assert grid.value(1, 1) == "企业投资项目核准"  # justified glyphs spread out are not spaces


# --- captions, lines above, notes below -------------------------------------------------------------

def test_captions_are_the_title_lines_above_each_table():
    assert [g.caption for g in grids(D05)] == [TRUTH[D05]["meta"]["title"]]
    assert [ws_delete(g.caption) for g in grids(D06)] == [ws_delete(t["name"]) for t in TRUTH[D06]["tables"]]
    titles = [re.match(r"\d+\. (\S+)", t["name"]).group(1) for t in TRUTH[D07]["tables"]]
    assert [g.caption for g in grids(D07)] == titles


def test_d07_unit_line_under_the_title_goes_to_hints_above():
    dept = TRUTH[D07]["meta"]["budget_department"]
    assert [g.hints["above"] for g in grids(D07)] == [[f"编制部门：{dept} 单位：元"]] * 8 + [[f"编制部门：{dept} 单位:万元"]]
    assert all("above" not in g.hints for g in grids(D06) + grids(D05))


def test_notes_printed_right_below_a_table_are_its_note_below():
    assert [ws_delete(g.note_below) for g in grids(D06)] == [ws_delete(TRUTH[D06]["tables"][0]["note_rows"][0]), "", ""]
    assert [g.note_below for g in grids(D07)] == [t.get("note_after", "") for t in TRUTH[D07]["tables"]]
    assert grids(D05)[0].note_below == ""  # d05's 注 is a row inside the ruled grid


def test_pdf_blocks_read_lines_as_the_page_shows_them():
    from pipeline.extract.blocks import pdf_to_blocks

    texts = [b.text for b in pdf_to_blocks((REAL / D05).read_bytes(), file=D05) if b.page == 1][:2]
    assert texts == [TRUTH[D05]["meta"]["attachment_label"], TRUTH[D05]["meta"]["title"]]
