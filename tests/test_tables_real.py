"""The generic table layer on real notices of other bureaus (d01–d14) against their hand-checked truth.

Every table of tests/fixtures/real/truth.json is a case: its columns, its number of data rows, its section,
total, blank and title rows, in-grid notes, and every sample row cell by cell under the truth's compare mode.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import pytest

from pipeline.ingest.formats import detect_format
from pipeline.stages import EXTRACTORS
from pipeline.tables import LogicalTable, grid_to_table
from pipeline.text import clean_text

REAL = Path(__file__).resolve().parent / "fixtures" / "real"
TRUTH: dict = json.loads((REAL / "truth.json").read_text(encoding="utf-8"))
# The HTML pages print their data table a second time inside a hidden div.ng-hide block; until html_to_grids
# skips hidden elements, that copy is a second, identical data table.
# Pages whose data table is repeated in a hidden block and whose chrome has tables of its own.
CHROME_PAGES = ("d01-nfra-zj-penalty-rowspan.html", "d02-nfra-hq-penalty-keyvalue.html")
CONTROLS = ["d03-govcn-gazette-notable.html", "d04-zjdrc-deqing-layoutonly.html", "d13-hn-njbt-2024.doc",
            "d14-sh-insurance-exam-rules.docx"]


def grids_for(name: str):
    """Read a real file's grids with the pipeline's own extractor for its detected format."""
    data = (REAL / name).read_bytes()
    return EXTRACTORS[detect_format(data, file=name)](data, name).grids


@lru_cache(maxsize=None)
def tables_of(name: str) -> tuple[LogicalTable, ...]:
    return tuple(grid_to_table(g, i + 1) for i, g in enumerate(grids_for(name)))


def data_tables(name: str) -> list[LogicalTable]:
    return [t for t in tables_of(name) if t.is_data]


def _cases() -> list:
    return [pytest.param(name, i, id=f"{name[:3]}-t{i + 1}")
            for name, doc in TRUTH.items() for i in range(len(doc["tables"]))]


def norm(value, mode: str) -> str:
    """Put a value in the form the truth compares: exact, ws_collapse or ws_delete."""
    if value is None:
        text = ""
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    else:
        text = str(value)
    if mode == "ws_delete":
        return "".join(text.split())
    if mode == "ws_collapse":
        return re.sub(r"\s+", " ", text).strip()
    return text


def same(got, want, mode: str) -> bool:
    """Compare under the truth's mode; `exact` also accepts whitespace-insensitive equality (issue 10)."""
    return norm(got, mode) == norm(want, mode) or norm(got, "ws_delete") == norm(want, "ws_delete")


def assert_same_cells(got: list, want: list, mode: str, where: str) -> None:
    assert len(got) == len(want), f"{where}: {len(got)} cells, truth has {len(want)}"
    bad = [(k, got[k], want[k]) for k in range(len(want)) if not same(got[k], want[k], mode)]
    assert not bad, f"{where}: cells differ (col, got, truth): {bad}"


def the_table(name: str, i: int) -> LogicalTable:
    found = data_tables(name)
    expected = len(TRUTH[name]["tables"])
    assert len(found) == expected, [(t.grid.locator, t.why_not) for t in tables_of(name)]
    return found[i]


@pytest.mark.parametrize("name, i", _cases())
def test_columns_equal_the_truth_header(name, i):
    truth, t = TRUTH[name]["tables"][i], the_table(name, i)
    assert_same_cells(t.columns, truth["header"], truth["compare"], "header")
    if truth.get("header_printed") is False:  # a form: names given by the truth, no header row
        assert (t.shape, t.header_rows) == ("key_value", [])
    else:
        assert t.shape == "columnar" and t.header_rows


@pytest.mark.parametrize("name, i", _cases())
def test_data_rows_and_row_roles_equal_the_truth(name, i):
    truth, t = TRUTH[name]["tables"][i], the_table(name, i)
    mode = truth["compare"]
    assert len(t.rows) == truth["n_rows"]
    assert [clean_text(t.grid.value(r, t.col_groups[0][0])) for r in t.rows_with("section")] == truth["section_rows"]
    # The truth prints a total row's cells as drawn: a merged 合计 once, the positions it covers empty.
    totals = [[t.grid.rows[r][g[0]].text or "" for g in t.col_groups] for r in t.rows_with("total")]
    assert len(totals) == len(truth.get("total_rows", totals))
    for got, want in zip(totals, truth.get("total_rows", [])):
        assert_same_cells(got, want, mode, "total row")
    if "blank_rows" in truth:
        assert len(t.rows_with("blank")) == truth["blank_rows"]
    if "trailing_blank_rows" in truth:  # a reader may trim a sheet's formatted empty rows; kept, they are blank
        assert len(t.rows_with("blank")) in (0, truth["trailing_blank_rows"])
    if "title_rows" in truth:
        assert len(t.rows_with("title")) == truth["title_rows"]
    # Notes: footer rows inside the grid, and the note printed below the table (grid.note_below).
    notes = truth.get("footer_rows", []) + truth.get("note_rows", [])
    notes += [truth["note_after"]] if "note_after" in truth else []
    for note in notes:
        assert any(same(n, note, mode) for n in t.notes), (note, t.notes)


@pytest.mark.parametrize("name, i", _cases())
def test_sample_rows_equal_the_truth_cell_by_cell(name, i):
    truth, t = TRUTH[name]["tables"][i], the_table(name, i)
    samples = truth.get("samples", []) + [{"row": n, "cells": cells}
                                          for n, cells in enumerate(truth.get("all_rows", []), start=1)]
    for sample in samples:
        row = t.rows[sample["row"] - 1]
        assert row.row_no == sample["row"]
        assert_same_cells(row.cells, sample["cells"], truth["compare"], f"row {sample['row']}")


@pytest.mark.parametrize("name", [pytest.param(n, id=n[:3]) for n in CONTROLS])
def test_controls_have_no_data_table(name):
    assert [(t.grid.locator, t.columns) for t in data_tables(name)] == []


def whole_page_tables(name: str) -> list[LogicalTable]:
    """Every <table> of a page, the article body not isolated: the second line of defence against chrome."""
    from pipeline.extract.html import html_to_grids, parse_html
    from pipeline.ingest.decode import decode_bytes

    doc = parse_html(decode_bytes((REAL / name).read_bytes())[0])
    return [grid_to_table(g, i + 1) for i, g in enumerate(html_to_grids(doc))]


@pytest.mark.parametrize("name", CHROME_PAGES)
def test_only_the_visible_data_table_reaches_the_tables_stage(name):
    # The article body holds one table: the hidden copy and the page chrome never reach the tables stage.
    assert len(tables_of(name)) == 1 and len(data_tables(name)) == 1
    # Read without body isolation, the chrome tables are still not data tables, each saying why.
    whole = whole_page_tables(name)
    chrome = [t for t in whole if not t.is_data]
    assert len(chrome) == 2 and all(t.why_not for t in chrome)  # the 留言 list and the share box
    first, copy = [t for t in whole if t.is_data]  # the visible table and its hidden duplicate
    assert (first.columns, [r.cells for r in first.rows]) == (copy.columns, [r.cells for r in copy.rows])


def test_layout_page_tables_say_why_they_are_not_data():
    assert tables_of("d04-zjdrc-deqing-layoutonly.html") == ()  # none is in the article body
    whys = [t.why_not for t in whole_page_tables("d04-zjdrc-deqing-layoutonly.html")]
    assert [w.split(":")[0] for w in whys] == ["empty", "layout table", "link box", "one-cell box"]


def test_records_of_a_real_pdf_table_trace_to_their_page():
    from pipeline.tables import table_to_records

    t = data_tables("d07-sh-putuo-budget-2025.pdf")[1]  # 收入预算总表, pp.9-10
    out = table_to_records(t, table_id="x:2", notice_id="N", raw_file="d07.pdf", raw_sha256="s")
    (source,) = out["source_tables"]
    assert (source["n_header_rows"], source["n_data_rows"], source["n_cols"], source["pages"]) == (3, 20, 9, [9, 10])
    rows = out["table_rows"]
    assert (rows[0]["pages"], rows[-1]["pages"]) == ([9], [10])
    assert rows[-1]["record"][3] == ["项目·功能分类科目名称", "购房补贴"]
    roles = {c["role"] for c in out["table_cells"]}
    assert roles == {"header", "data", "total"}


# --- the Xiamen notices: the 2025 service list and the task-table layout as generic tables ------------------

XIAMEN_HEADER = ["服务类别", "序号", "服务项目", "对象范围", "服务内容", "服务标准", "供给主体"]
ROOT = Path(__file__).resolve().parent.parent


def _xiamen_tables() -> dict[str, LogicalTable]:
    from pipeline.extract.docx import docx_to_grids
    from pipeline.extract.pdf import pdf_to_grids
    from tests.conftest import html_grids

    raw = ROOT / "raw"
    grids = {"html": html_grids((raw / "xm-mzj-2025-095.html").read_bytes()),
             "docx": docx_to_grids((raw / "xm-mzj-2025-095-list.docx").read_bytes()),
             "pdf": pdf_to_grids((raw / "xm-mzj-2025-095-list.pdf").read_bytes())}
    return {fmt: grid_to_table(g[0], 1) for fmt, g in grids.items()}


def test_the_2025_service_list_is_one_table_in_every_format():
    tables = _xiamen_tables()
    for fmt, t in tables.items():
        assert (t.is_data, t.title, t.columns, len(t.rows)) == (True, "厦门市服务类社会救助清单(试行)", XIAMEN_HEADER, 52), fmt
        assert t.rows_with("section") == [] and {r.section for r in t.rows} == {None}
    html = tables["html"]
    assert html.roles[:2] == ["title", "header"] and html.rows[0].grid_rows == [2]
    assert html.rows[0].cells[0] == "照护\n服务类"  # published over two <p>: the break is kept in the cell
    # The same 52 rows, cell for cell, whatever the format (line breaks aside: a PDF cannot keep them).
    for fmt in ("docx", "pdf"):
        assert [[clean_text(c) for c in r.cells] for r in tables[fmt].rows] == \
               [[clean_text(c) for c in r.cells] for r in html.rows], fmt


def test_section_rows_of_the_2025_list_carry_their_category(provisions_2025):
    from tests.conftest import html_grids
    from tests.fixtures.html_layouts import LAYOUTS

    page = LAYOUTS["section-rows-instead-of-category-column"](provisions_2025).encode()
    t = grid_to_table(html_grids(page)[0], 1)
    assert t.columns == XIAMEN_HEADER[1:] and len(t.rows) == 52
    assert [t.grid.value(r, 0) for r in t.rows_with("section")] == ["一、照护服务类", "二、生活服务类", "三、关爱服务类",
                                                                   "四、发展服务类"]
    assert [r.section for r in t.rows].count("一、照护服务类") == 15
    assert t.rows[-1].section == "四、发展服务类"


def test_the_task_table_layout_as_a_generic_table():
    from tests.conftest import html_grids

    t = grid_to_table(html_grids((ROOT / "tests" / "fixtures" / "tasks_table_layout.html").read_bytes())[0], 1)
    assert (t.title, t.columns, len(t.rows)) == ("厦门市推进居家养老服务工作任务分解表", ["序 号", "工作任务", "牵头单位", "协办单位"], 18)
    assert len(t.rows_with("section")) == 7 and len(t.rows_with("repeated_header")) == 1
    assert t.rows[0].section == "一、推进居家养老服务的总体目标和基本原则"
    assert t.rows[1].section == "二、推进居家养老服务工作的主要任务 / （一）建立和完善居家养老服务网络"
    assert t.rows[-1].section == "二、推进居家养老服务工作的主要任务 / （五）规范居家养老服务管理"
    assert t.rows[-1].cells == ["2", "加强居家养老服务规范化建设。", "市民政局", ""]  # empty by design stays ""


# --- the file stages: every data table lands, typed or not, and the file says what became of each grid ------

def _result(path: Path):
    import hashlib

    from pipeline.model import RawFile
    from pipeline.stages import raw_file_to_result

    data = path.read_bytes()
    return raw_file_to_result(RawFile(str(path), hashlib.sha256(data).hexdigest(), ""), data)


def test_a_typed_table_lands_generic_and_typed():
    r = _result(ROOT / "raw" / "xm-mzj-2025-095.html")
    (outcome,) = r.tables
    assert (outcome.is_data, outcome.table_no, outcome.kind, outcome.typed, outcome.why_not) == (
        True, 1, "service_list", True, None)
    assert outcome.table_id == f"{r.raw.sha256[:16]}:1"
    (source,) = r.records["source_tables"]
    assert (source["table_id"], source["kind"], source["n_data_rows"]) == (outcome.table_id, "service_list", 52)
    assert len(r.records["table_rows"]) == len(r.records["service_provisions"]) == 52
    n_origins = sum(c.text is not None for row in r.extracted.grids[0].rows for c in row)
    assert len(r.records["table_cells"]) == n_origins
    assert r.n_records == 52  # generic records are not counted as typed ones


def test_untyped_tables_land_with_the_reason_no_profile_typed_them():
    r = _result(REAL / "d01-nfra-zj-penalty-rowspan.html")
    assert [(o.is_data, o.table_no, o.kind) for o in r.tables] == [(True, 1, None)]
    assert r.tables[0].why_not == ("no profile matched (service_list: 1 of 4 fields, lacks service_item, population; "
                                   "task_list: 1 of 3 fields, lacks task_text or task_title, lead_units)")
    assert [s["table_no"] for s in r.records["source_tables"]] == [1]
    assert r.records["source_tables"][0]["untyped_reason"] == r.tables[0].why_not
    assert [row["cells"][1] for row in r.records["table_rows"][:2]] == [
        "中国太平洋财产保险股份有限公司温州分公司", "陈首伟（时任中国太平洋财产保险股份有限公司温州分公司副总经理）"]


def test_a_metadata_block_is_not_a_data_table_and_the_text_layout_still_reads():
    r = _result(ROOT / "raw" / "xm-gov-2009-254.html")
    assert r.tables == []  # the 【发布单位】… block is read as metadata, outside the body's tables
    assert "source_tables" not in r.records and len(r.records["tasks"]) == 18
    from pipeline.extract.html import html_to_grids, parse_html
    from pipeline.ingest.decode import decode_bytes

    whole = [grid_to_table(g, 1) for g in html_to_grids(parse_html(decode_bytes(
        (ROOT / "raw" / "xm-gov-2009-254.html").read_bytes())[0]))]
    assert [(t.is_data, t.why_not.split(":")[0]) for t in whole] == [(False, "metadata block")]
