"""The generic table layer's rules, one small grid each, and properties that hold for any grid."""

from __future__ import annotations

from html import escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.extract.html import html_to_grids, parse_html
from pipeline.model import Cell, Grid
from pipeline.tables import BadTableVocab, ROLES, grid_to_table, load_table_vocab, table_to_records
from pipeline.tables.header import conjunct_names
from pipeline.tables.records import SOURCE_TABLES_COLUMNS, TABLE_CELLS_COLUMNS, TABLE_ROWS_COLUMNS
from pipeline.tables.vocab import VOCAB_FILE


def td(cell) -> str:
    text, rs, cs = (cell, 1, 1) if isinstance(cell, str) else cell
    return f"<td rowspan={rs} colspan={cs}>{escape(text)}</td>"


def place(rows) -> Grid:
    """Place rows of cells (text, or (text, rowspan, colspan)) on a grid like a table does, format-blind."""
    taken: dict[tuple[int, int], Cell] = {}
    for r, row in enumerate(rows):
        c = 0
        for cell in row:
            text, rs, cs = (cell, 1, 1) if isinstance(cell, str) else cell
            while (r, c) in taken:
                c += 1
            for dr in range(rs):
                for dc in range(cs):
                    first = (dr, dc) == (0, 0)
                    taken[(r + dr, c + dc)] = Cell(text if first else None, (r, c), f"r{r + 1}c{c + 1}")
            c += cs
    n_rows = max((r for r, _ in taken), default=-1) + 1
    n_cols = max((c for _, c in taken), default=-1) + 1
    return Grid("test", 0, [[taken.get((r, c), Cell("", (r, c))) for c in range(n_cols)] for r in range(n_rows)],
                "table 1")


def table_of(*rows, hints: dict | None = None, note_below: str = ""):
    """Read rows of cells (text, or (text, rowspan, colspan)) as a logical table."""
    grid = place(rows)
    grid.hints.update(hints or {})
    grid.note_below = note_below
    return grid_to_table(grid, 1)


def cells(t) -> list[list[str]]:
    return [r.cells for r in t.rows]


HEAD = ["序号", "名称", "金额"]


# --- title rows, header bands and column names --------------------------------------------------------------

def test_title_rows_label_row_and_blank_rows_lead_the_table():
    t = table_of(["附件1：", "", ""], [("某某专项资金分配表", 1, 3)], [" ", " ", " "], HEAD, ["1", "甲", "10"])
    assert t.roles == ["title", "title", "title", "header", "data"]
    assert (t.title, t.label, t.columns, cells(t)) == ("某某专项资金分配表", "附件1", HEAD, [["1", "甲", "10"]])


def test_a_unit_line_above_the_header_is_a_note():
    t = table_of([("单位：万元", 1, 3)], HEAD, ["1", "甲", "10"])
    assert t.roles[:2] == ["note", "header"] and t.notes == ["单位：万元"]


def test_group_header_split_in_the_next_row_is_flattened_top_to_bottom():
    t = table_of(
        [("地区", 2, 1), ("统筹基金最高支付限额", 1, 2), ("备注", 2, 1)],
        ["职工医保", "居民医保"],
        ["厦门", "50", "30", ""],
    )
    assert t.header_rows == [0, 1]
    assert t.columns == ["地区", "统筹基金最高支付限额·职工医保", "统筹基金最高支付限额·居民医保", "备注"]
    assert cells(t) == [["厦门", "50", "30", ""]]


def test_three_level_header_band_by_closure_over_row_spans():
    t = table_of(
        [("项目", 1, 3), ("收入", 1, 2)],
        [("科目编码", 1, 2), ("科目名称", 2, 1), ("合计", 2, 1), ("其他", 2, 1)],
        ["类", "款"],
        ["201", "03", "一般公共服务", "10.00", ""],
    )
    assert t.header_rows == [0, 1, 2]
    assert t.columns == ["项目·科目编码·类", "项目·科目编码·款", "项目·科目名称", "收入·合计", "收入·其他"]


@pytest.mark.parametrize("text, k, names", [
    ("实施层级及权限", 2, ["层级", "权限"]),
    ("人员和经费", 2, ["人员", "经费"]),
    ("省、市、县", 3, ["省", "市", "县"]),
    ("金额", 2, ["1", "2"]),
    ("甲及乙", 3, ["1", "2", "3"]),
])
def test_conjunct_names(text, k, names):
    assert conjunct_names(text, k, load_table_vocab().conjunctions) == names


def test_header_cell_over_two_columns_with_no_sub_header_names_both():
    t = table_of(["序号", ("实施层级及权限", 1, 2), ("金额", 1, 2)], ["1", "地州市级", "负责审批", "10", "20"])
    assert t.columns == ["序号", "实施层级及权限(层级)", "实施层级及权限(权限)", "金额(1)", "金额(2)"]
    assert cells(t) == [["1", "地州市级", "负责审批", "10", "20"]]


def test_a_column_without_header_text_is_named_by_position():
    t = table_of(["序号", "", "金额"], ["1", "甲", "10"])
    assert t.columns == ["序号", "列2", "金额"]


# --- body rows: sections, repeated headers, notes, totals, blanks, continuations ----------------------------

def test_section_rows_nest_by_their_outline_numbers():
    t = table_of(
        HEAD,
        [("一、内科用药", 1, 3)], [("（一）解表剂", 1, 3)], ["1", "甲", "1"],
        [("（二）清热剂", 1, 3)], ["2", "乙", "2"],
        [("二、外科用药", 1, 3)], ["3", "丙", "3"],
    )
    assert [r.section for r in t.rows] == ["一、内科用药 / （一）解表剂", "一、内科用药 / （二）清热剂", "二、外科用药"]
    assert len(t.rows_with("section")) == 4


def test_repeated_header_notes_totals_and_blank_rows_are_not_data():
    t = table_of(
        HEAD, ["1", "甲", "10"], HEAD, ["2", "乙", ""], ["", "", ""], [("合 计", 1, 2), "10"],
        [("注：金额单位为万元。", 1, 3)], [("备注：\n    1.以上为试行。", 1, 3)],
        note_below="说明：本表由财政局编制。",
    )
    assert t.roles == ["header", "data", "repeated_header", "data", "blank", "total", "note", "note"]
    assert cells(t) == [["1", "甲", "10"], ["2", "乙", ""]]  # an empty-by-design cell stays ""
    assert t.notes == ["注：金额单位为万元。", "备注：\n    1.以上为试行。", "说明：本表由财政局编制。"]  # as published


def test_a_blank_form_has_its_header_and_no_rows():
    t = table_of(HEAD, ["", "", ""], ["", "", ""], ["合计", "", ""])
    assert (t.is_data, t.columns, t.rows, t.roles) == (True, HEAD, [], ["header", "blank", "blank", "total"])


def test_a_row_that_only_continues_merges_folds_into_the_row_above():
    t = table_of(HEAD, [("1", 2, 1), ("甲", 2, 1), ("10", 2, 1)], [], ["2", "乙", "20"])
    assert t.roles == ["header", "data", "continuation", "data"]
    assert [(r.row_no, r.grid_rows, r.cells) for r in t.rows] == [
        (1, [1, 2], ["1", "甲", "10"]), (2, [3], ["2", "乙", "20"])]


def test_merged_cells_carry_their_text_into_every_row():
    t = table_of(HEAD, [("1", 2, 1), "甲", ("10", 2, 1)], ["乙"])
    assert cells(t) == [["1", "甲", "10"], ["1", "乙", "10"]]


# --- columns: always spanned together, empty hair-thin ones ------------------------------------------------

def test_columns_always_spanned_together_are_one_logical_column():
    t = table_of(["序号", ("名称", 1, 2), "金额"], ["1", ("甲", 1, 2), "10"], ["2", ("乙", 1, 2), "20"])
    assert (t.col_groups, t.columns, cells(t)) == ([[0], [1, 2], [3]], HEAD, [["1", "甲", "10"], ["2", "乙", "20"]])


def test_an_empty_column_is_dropped_and_its_cells_keep_no_logical_column():
    t = table_of([("某表", 1, 4)], HEAD + [""], ["1", "甲", "10", ""])
    assert (t.col_groups, t.columns, cells(t)) == ([[0], [1], [2]], HEAD, [["1", "甲", "10"]])
    out = table_to_records(t, table_id="t:1", notice_id="N", raw_file="f", raw_sha256="s")["table_cells"]
    assert [c["logical_col"] for c in out if c["col"] == 3] == [None, None]
    assert [c["logical_col"] for c in out if c["row"] == 0] == [0]  # the title spans into the dropped column


# --- shapes and tables that are not data --------------------------------------------------------------------

def test_two_columns_of_labels_and_values_are_a_key_value_form():
    t = table_of(["行政处罚决定书文号", "金罚决字〔2024〕36号"], ["被处罚当事人", "某公司"], ["作出处罚决定的日期", "2024年7月8日"])
    assert (t.shape, t.columns, t.header_rows, len(t.rows)) == ("key_value", ["字段", "内容"], [], 3)


def test_a_form_keeps_its_closing_note_out_of_its_rows():
    t = table_of(["当事人名称", "某公司"], ["作出决定的日期", "2024年7月8日"], [("备注：本表依法公开。", 1, 2)])
    assert (t.shape, t.roles, t.notes) == ("key_value", ["data", "data", "note"], ["备注：本表依法公开。"])


def test_a_two_column_table_with_a_header_is_columnar():
    assert table_of(["项目", "内容"], ["服务对象", "特困人员"], ["服务标准", "按规定执行"]).shape == "columnar"
    assert table_of(["姓名", "职务"], ["张三", "局长"], ["李四", "副局长"]).columns == ["姓名", "职务"]


@pytest.mark.parametrize("rows, hints, why", [
    ([["当前位置：", "首页", "通知公告"], ["a", "b", "c"]], {"nested_tables": 1}, "layout table"),
    ([["甲", "乙"], ["丙", "丁"]], {"link_ratio": 0.9}, "link box"),
    ([["首页", "网站地图", "联系我们"], ["版权所有", "", ""]], {}, "page chrome"),
    ([["索引号：", "000014349/2020-00001", "主题分类：", "综合政务"],
      ["发文机关：", "国务院办公厅", "成文日期：", "2020年1月1日"]], {}, "metadata block"),
    ([["序号", "名称", "金额"]], {}, "one row"),
    ([["请问如何查询？"], ["留言已答复。"]], {}, "one column"),
    ([[("请点击下载附件", 1, 2)], ["", ""]], {}, "one-cell box"),
    ([["", ""], ["", ""]], {}, "empty"),
])
def test_tables_that_are_not_data_say_why(rows, hints, why):
    t = table_of(*rows, hints=hints)
    assert not t.is_data and t.why_not.startswith(why), t.why_not


# --- records ------------------------------------------------------------------------------------------------

def test_records_carry_exactly_the_warehouse_columns_and_lineage():
    t = table_of([("某表", 1, 3)], ["项目", "金额", "项目"], [("甲", 2, 1), "1", "x"], ["2", "y"], ["合计", "3", ""])
    out = table_to_records(t, table_id="abc:1", notice_id="N", raw_file="raw/f.html", raw_sha256="s")
    assert set(out) == {"source_tables", "table_rows", "table_cells"}
    (source,) = out["source_tables"]
    assert tuple(source) == SOURCE_TABLES_COLUMNS
    assert (source["table_no"], source["title"], source["kind"], source["columns"], source["n_header_rows"],
            source["n_data_rows"], source["n_cols"], source["shape"], source["sheet"]) == (
        1, "某表", None, ["项目", "金额", "项目"], 1, 2, 3, "columnar", None)
    rows = out["table_rows"]
    assert all(tuple(r) == TABLE_ROWS_COLUMNS for r in rows)
    assert rows[1]["record"] == [["项目", "甲"], ["金额", "2"], ["项目#2", "y"]]
    assert (rows[1]["grid_rows"], rows[1]["locator"]) == ([3], "r4c2")  # its first own cell: 甲 is merged from above
    cells_ = out["table_cells"]
    assert all(tuple(c) == TABLE_CELLS_COLUMNS for c in cells_)
    assert [(c["row"], c["col"], c["rowspan"], c["colspan"], c["role"]) for c in cells_[:2]] == [
        (0, 0, 1, 3, "title"), (1, 0, 1, 1, "header")]
    assert [c["role"] for c in cells_ if c["row"] == 4] == ["total", "total", "total"]


# --- the vocabulary is data, validated --------------------------------------------------------------------

def test_vocab_is_validated(tmp_path):
    good = VOCAB_FILE.read_text(encoding="utf-8")
    bad = tmp_path / "v.toml"
    bad.write_text(good.replace("max_rows = 6\n", "max_rows = 0\n"), encoding="utf-8")
    with pytest.raises(BadTableVocab, match="header_max_rows must be >= 1"):
        load_table_vocab(bad)
    bad.write_text(good.replace("chrome_min_share = 0.5", "chrome_min_share = 2"), encoding="utf-8")
    with pytest.raises(BadTableVocab, match="chrome_min_share"):
        load_table_vocab(bad)
    bad.write_text(good.replace("[metadata]", "[metadata_]"), encoding="utf-8")
    with pytest.raises(BadTableVocab, match="missing key 'metadata'"):
        load_table_vocab(bad)
    bad.write_text(good.replace("'^\\d+[、.．](?!\\d)'", "'^(['"), encoding="utf-8")
    with pytest.raises(BadTableVocab, match="section_levels"):
        load_table_vocab(bad)


# --- properties: any grid keeps every value -----------------------------------------------------------------

TEXTS = st.sampled_from(["", " ", "序号", "名称", "1", "2.50", "甲", "乙\n丙", "合计", "注：说明", "一、总则",
                         "首页", "索引号", "实施层级及权限", "a b"])
CELL = st.tuples(TEXTS, st.integers(1, 3), st.integers(1, 3))
ROWS = st.lists(st.lists(CELL, min_size=1, max_size=4), min_size=1, max_size=6)


def _grid(rows) -> Grid:
    html = "<table>" + "".join("<tr>" + "".join(td(c) for c in row) + "</tr>" for row in rows) + "</table>"
    grids = html_to_grids(parse_html(f"<html><body>{html}</body></html>"))
    return grids[0] if grids else Grid("html", 0, [])


@settings(max_examples=200, deadline=None)
@given(ROWS)
def test_any_grid_keeps_every_value_in_its_records(rows):
    grid = _grid(rows)
    t = grid_to_table(grid, 1)
    out = table_to_records(t, table_id="t:1", notice_id="N", raw_file="f", raw_sha256="s")
    assert len(t.roles) == grid.n_rows and set(t.roles) <= set(ROLES)
    # Every origin cell lands once in table_cells, with its text as published.
    origins = {(r, c): cell.text for r, row in enumerate(grid.rows) for c, cell in enumerate(row)
               if cell.text is not None}
    assert {(x["row"], x["col"]): x["text"] for x in out["table_cells"]} == origins
    assert len(out["table_cells"]) == len(origins)
    # A cell with text is never dropped from the columns.
    assert all(x["logical_col"] is not None for x in out["table_cells"] if x["text"].strip())
    # Each data position shows its origin's text; the record pairs it with its column.
    for dr, row in zip(t.rows, out["table_rows"]):
        first = dr.grid_rows[0]
        assert t.roles[first] == "data" and all(t.roles[r] == "continuation" for r in dr.grid_rows[1:])
        assert dr.cells == [grid.value(first, g[0]) for g in t.col_groups]
        assert [v for _, v in row["record"]] == dr.cells and len(row["record"]) == len(t.columns)
    assert [r.row_no for r in t.rows] == list(range(1, len(t.rows) + 1))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(TEXTS, min_size=3, max_size=3), min_size=2, max_size=8))
def test_a_grid_without_spans_keeps_every_row_as_data_or_says_what_it_is(rows):
    grid = Grid("pdf", 0, [[Cell(x, (r, c)) for c, x in enumerate(row)] for r, row in enumerate(rows)])
    t = grid_to_table(grid, 1)
    data = [r for r, role in enumerate(t.roles) if role == "data"]
    assert [dr.grid_rows for dr in t.rows] == [[r] for r in data]
    for dr in t.rows:
        assert dr.cells == [rows[dr.grid_rows[0]][g[0]] for g in t.col_groups]
