"""Golden tests on the real 2025 page: the exact 52 rows of the published 厦门市服务类社会救助清单(试行)."""

from __future__ import annotations

from collections import Counter

from tests.conftest import provisions_from_html

HEADER = ["服务类别", "序号", "服务项目", "对象范围", "服务内容", "服务标准", "供给主体"]


def test_grid_has_title_header_and_52_data_rows(grid_2025):
    assert grid_2025.n_cols == 7
    assert grid_2025.n_rows == 54  # title + header + 52 rows; the zero-height spacer row is dropped
    assert grid_2025.value(0, 0) == "厦门市服务类社会救助清单(试行)"
    assert [grid_2025.value(1, c) for c in range(7)] == HEADER
    assert any("spacer" in w for w in grid_2025.warnings)


def test_exactly_52_rows_with_17_items_in_4_categories(provisions_2025):
    assert len(provisions_2025) == 52
    assert sorted({p["item_no"] for p in provisions_2025}) == list(range(1, 18))
    assert Counter(p["category"] for p in provisions_2025) == {
        "照护服务类": 15, "生活服务类": 12, "关爱服务类": 9, "发展服务类": 16,
    }
    assert len({p["provision_id"] for p in provisions_2025}) == 52


def test_first_row_exact(provisions_2025):
    first = provisions_2025[0]
    assert {k: first[k] for k in ("provision_id", "category", "item_no", "service_item", "population_no",
                                  "population", "content", "standard_text", "supplier_text")} == {
        "provision_id": "厦民〔2025〕95号:1:1",
        "category": "照护服务类",  # published over two paragraphs (照护 / 服务类): joined with no space
        "item_no": 1,
        "service_item": "巡访探视",
        "population_no": 1,
        "population": "分散供养特困人员",
        "content": "提供定期入户探访、电话巡访、视频访视等服务,及时发现需求、回应诉求、解决急难愁盼问题",
        "standard_text": "参照《居家养老上门服务基本规范》(GB/T43153-2023)《福建省特困人员认定办法》,按照"
                         "《厦门市社区公益性养老服务基本要求》(DB3502/T091-2022)《厦门市困难群众基本生活保障办法》执行",
        "supplier_text": "民政部门、受委托的服务提供方",
    }
    assert first["source_row"] == 2 and first["source_rows"] == [2] and first["table_index"] == 0


def test_last_row_exact(provisions_2025):
    last = provisions_2025[-1]
    assert (last["provision_id"], last["category"], last["item_no"], last["service_item"], last["population_no"]) == (
        "厦民〔2025〕95号:17:7", "发展服务类", 17, "其他", 7)
    assert last["population"] == "有需求的特困、低保家庭中的智力、精神残疾人员"
    assert last["standard_text"] == ("参照《社会救助暂行办法》《精神卫生福利机构管理办法》《福建省特困人员认定办法》,"
                                     "按照《厦门市困难群众基本生活保障办法》执行")
    assert last["supplier_text"] == "民政、卫健部门,精神卫生福利机构、社会福利机构"
    # The category/item cells of its second half were repeated after the original's page break (row 50).
    assert last["source_row"] == 53 and last["source_rows"] == [50, 53]


def test_item_17_is_one_item_with_its_7_populations(provisions_2025):
    item17 = [p for p in provisions_2025 if p["item_no"] == 17]
    assert [p["population"] for p in item17] == [
        "城市生活无着流浪乞讨人员",
        "其他孤寡、独居、空巢、留守、失能、重残、计划生育特殊家庭老年人",
        "本市户籍60周岁及以上的老年人",
        "特困、低保、孤儿、事实无人抚养儿童、重度残疾人等特殊困难对象",
        "本市户籍残疾人",
        "厦门市行政区域范围内的所有自然人",
        "有需求的特困、低保家庭中的智力、精神残疾人员",
    ]
    assert {p["service_item"] for p in item17} == {"其他"}
    assert [p["population_no"] for p in item17] == list(range(1, 8))
    assert {p["category"] for p in item17} == {"发展服务类"}


def test_populations_per_item(provisions_2025):
    per_item = Counter(p["item_no"] for p in provisions_2025)
    assert [per_item[i] for i in range(1, 18)] == [3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 3, 7]


def test_published_text_kept_character_for_character(provisions_2025, html_2025_bytes):
    # The garbled title is published that way; the pipeline must not repair it in the text column.
    item1 = [p for p in provisions_2025 if p["item_no"] == 1]
    assert "《厦门市社区老年人巡民政、教访关爱服务规范》" in item1[2]["standard_text"]
    # A space inside a line of the published title is kept (only line breaks between CJK disappear).
    assert "《厦门市民政局 厦门市财政局关于转发<福建省民政厅 福建省财政厅" in item1[2]["standard_text"]
    page = html_2025_bytes.decode("utf-8")
    for p in provisions_2025:
        for col in ("population", "content", "supplier_text", "service_item"):
            assert p[col] in page, (p["provision_id"], col)


def test_every_value_traces_to_its_cell():
    data = (__import__("tests.conftest", fromlist=["HTML_2025"]).HTML_2025).read_bytes()
    rows, lineage = provisions_from_html(data)
    assert len(lineage) == 52 * 7
    cat = [l for l in lineage if l["record_id"] == "N:17:7" and l["column_name"] == "category"][0]
    assert (cat["grid_row"], cat["grid_col"], cat["origin_row"], cat["origin_col"]) == (53, 0, 50, 0)
    assert cat["locator"] == "table[1]/tr[51]/td[1]"
    pop = [l for l in lineage if l["record_id"] == "N:1:2" and l["column_name"] == "population"][0]
    assert (pop["grid_row"], pop["grid_col"], pop["origin_row"], pop["origin_col"]) == (3, 3, 3, 3)
