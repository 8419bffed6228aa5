"""分工表 as bureaus publish them, read through the file stages: titles and contents, offices, rowspan'd 序号,
"no unit" cells, 责任单位 read in order, deadlines beside their published text.

Fixtures (written for these tests in the shapes of real Guangzhou 任务分工表):
- tests/fixtures/gz-task-division-offices.html (page A): 序号 / 工作事项 / 主要内容 / 牵头单位 / 配合单位 / 牵头处室 /
  配合处室, 序号 and 工作事项 spanning the rows of tasks 1 and 3, `/`, `/ `, `—`, 无 in unit cells, a 穗 文号.
- tests/fixtures/gz-task-deadlines.html (page B): 序号 / 重点任务 / 责任单位 / 完成时限 with the deadline forms bureaus write.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest

from pipeline.model import RawFile
from pipeline.stages import raw_file_to_result
from pipeline.warehouse.schema import TABLES

ROOT = Path(__file__).resolve().parent.parent
PAGE_A = ROOT / "tests" / "fixtures" / "gz-task-division-offices.html"
PAGE_B = ROOT / "tests" / "fixtures" / "gz-task-deadlines.html"
A, B = "穗民函〔2025〕56号", "穗卫函〔2025〕21号"
TABLE_A = "/html/body/div[2]/div/table"


def run(path: Path | None = None, *, html: str | None = None, name: str = "t.html"):
    data = path.read_bytes() if path else html.encode("utf-8")
    return raw_file_to_result(RawFile(str(path or name), hashlib.sha256(data).hexdigest(), ""), data)


@pytest.fixture(scope="module")
def page_a():
    return run(PAGE_A)


@pytest.fixture(scope="module")
def page_b():
    return run(PAGE_B)


def rules(result) -> list[tuple[str, str]]:
    return sorted((f["rule"], f["record_id"].split(":", 1)[-1]) for f in result.findings
                  if f["rule"] != "unit_not_in_register")


# --- page A: 工作事项 and 主要内容 both kept, offices, parts of a rowspan'd 序号, no-unit cells ---------------

# (task id after the notice, task_no, part, section_title, task_title, task_text) as published.
TASKS_A = [
    ("一.1.1", 1, 1, "完善养老服务体系", "推进居家社区养老服务", "新建改造街道综合养老服务中心（颐康中心）10个。"),
    ("一.1.2", 1, 2, "完善养老服务体系", "推进居家社区养老服务", "推进家庭养老床位建设，全年新增家庭养老床位2000张。"),
    ("一.2", 2, None, "完善养老服务体系", "发展老年助餐服务", "完善长者饭堂布局，推动助餐配餐服务覆盖所有村（社区）。"),
    ("二.3.1", 3, 1, "强化养老服务保障", "加强养老服务人才队伍建设", "开展养老护理员职业技能培训，全年培训5000人次。"),
    ("二.3.2", 3, 2, "强化养老服务保障", "加强养老服务人才队伍建设", "落实养老护理员入职补贴政策。"),
    ("二.3.3", 3, 3, "强化养老服务保障", "加强养老服务人才队伍建设", "举办全市养老护理职业技能竞赛。"),
    ("二.4", 4, None, "强化养老服务保障", "加强养老机构安全监管", "开展养老机构消防安全、食品安全专项检查，全年检查全覆盖。"),
]

# task -> [(role, label as written, unit as written)] in published order; /, / , — and 无 give no unit.
UNITS_A = {
    "一.1.1": [("lead", "牵头单位", "市民政局"), ("co", "配合单位", "各区政府"), ("lead_office", "牵头处室", "养老服务处"),
               ("co_office", "配合处室", "规划财务处")],
    "一.1.2": [("lead", "牵头单位", "市民政局"), ("co", "配合单位", "市卫生健康委"), ("co", "配合单位", "市医保局"),
               ("lead_office", "牵头处室", "养老服务处")],
    "一.2": [("lead", "牵头单位", "市民政局"), ("lead_office", "牵头处室", "养老服务处")],
    "二.3.1": [("lead", "牵头单位", "市人力资源社会保障局"), ("co", "配合单位", "市民政局"), ("lead_office", "牵头处室", "人事处"),
               ("co_office", "配合处室", "养老服务处")],
    "二.3.2": [("lead", "牵头单位", "市民政局"), ("co", "配合单位", "市财政局"), ("co", "配合单位", "市人力资源社会保障局"),
               ("lead_office", "牵头处室", "养老服务处"), ("co_office", "配合处室", "规划财务处"), ("co_office", "配合处室", "人事处")],
    "二.3.3": [("lead", "牵头单位", "市民政局"), ("co", "配合单位", "市总工会"), ("co", "配合单位", "团市委"),
               ("lead_office", "牵头处室", "养老服务处")],
    "二.4": [("lead", "牵头单位", "市民政局"), ("co", "配合单位", "市消防救援支队"), ("co", "配合单位", "市市场监管局"),
             ("lead_office", "牵头处室", "养老服务处")],
}


def units_of(result) -> dict[str, list[tuple[str, str, str]]]:
    out: dict[str, list] = {}
    for u in result.records.get("task_units", []):
        out.setdefault(u["task_id"].split(":", 1)[1], []).append((u["role"], u["label_as_written"], u["unit_as_written"]))
    return out


def test_page_a_is_a_guangzhou_notice_by_its_wen_hao(page_a):
    assert (page_a.status, page_a.raw.notice_id) == ("loaded", A)
    assert (page_a.meta["jurisdiction_code"], page_a.meta["jurisdiction_name"], page_a.meta["jurisdiction_from"]) == (
        "440100", "广州市", "doc_number:穗")
    assert [o.kind for o in page_a.tables if o.is_data] == ["task_list"]


def test_page_a_every_row_as_published_title_and_content_both_kept(page_a):
    got = [(t["task_id"].split(":", 1)[1], t["task_no"], t["part"], t["section_title"], t["task_title"], t["task_text"])
           for t in page_a.records["tasks"]]
    assert got == TASKS_A
    assert [t["seq"] for t in page_a.records["tasks"]] == list(range(1, 8))
    assert all(t["deadline_text"] is None and t["deadline_period"] is None for t in page_a.records["tasks"])


def test_page_a_every_unit_with_its_role_as_written_and_no_unit_for_dashes(page_a):
    assert units_of(page_a) == UNITS_A
    written = {u["unit_as_written"] for u in page_a.records["task_units"]}
    assert not written & {"/", "—", "无", ""}
    units = page_a.records["task_units"]
    assert {u["role_from"] for u in units} == {"column"}
    offices = [u for u in units if u["role"] in ("lead_office", "co_office")]
    assert len(offices) == 11 and {(u["match"], u["agency_id"]) for u in offices} == {("office", None)}


def test_page_a_parts_share_the_merged_cells_and_keep_their_own(page_a):
    by_id = {t["task_id"].split(":", 1)[1]: t for t in page_a.records["tasks"]}
    # Row 2 of task 1 starts its own cells at td[1] (序号 and 工作事项 are merged from row 1).
    assert by_id["一.1.1"]["locator"] == f"{TABLE_A}/tr[3]/td[3]; {TABLE_A}/tr[3]/td[2]"
    assert by_id["一.1.2"]["locator"] == f"{TABLE_A}/tr[4]/td[1]; {TABLE_A}/tr[3]/td[2]"
    unit = {u["unit_id"].split(":", 1)[1]: u for u in page_a.records["task_units"]}
    assert unit["一.1.2:co:2"]["locator"] == f"{TABLE_A}/tr[4]/td[3]"
    assert unit["二.3.2:co_office:2"]["locator"] == f"{TABLE_A}/tr[8]/td[5]"
    assert (unit["二.3.2:co_office:2"]["mention_no"], unit["二.3.2:co_office:2"]["position"]) == (2, 2)


def test_page_a_rowspan_is_no_duplicate_and_numbering_runs_on_across_sections(page_a):
    assert rules(page_a) == []  # no duplicate_task_number, no task_number_gap (3 follows 2 under 二、)
    assert {f["rule"] for f in page_a.findings} == {"unit_not_in_register"}


def test_page_a_units_never_resolve_to_a_xiamen_agency(page_a):
    resolved = {(u["unit_as_written"], u["agency_id"]) for u in page_a.records["task_units"] if u["agency_id"]}
    assert resolved == {("各区政府", "class.district_governments")}  # a national class
    assert not any((u["agency_id"] or "").startswith("xm.") for u in page_a.records["task_units"])


def test_page_a_targets_come_from_the_content(page_a):
    assert [(t["target_id"].split(":", 1)[1], t["indicator"], t["value"], t["unit"]) for t in page_a.records["targets"]] == [
        ("一.1.1:t1", "新建改造街道综合养老服务中心（颐康中心）", 10.0, "个"),
        ("一.1.2:t1", "全年新增家庭养老床位", 2000.0, "张"),
    ]


# --- page B: 责任单位 read in order, deadlines parsed beside the published text --------------------------------

DEADLINES_B = [
    ("1", "2025年底前", dt.date(2025, 12, 31), "2025"),
    ("2", "2025年12月底前", dt.date(2025, 12, 31), "2025-12"),
    ("3", "2025年6月30日前", dt.date(2025, 6, 30), "2025-06-30"),
    ("4", "长期坚持", None, "ongoing"),
    ("5", "每年12月", None, "yearly-12"),
    ("6", "2025年上半年", dt.date(2025, 6, 30), "2025-H1"),
    ("7", "持续推进", None, "ongoing"),
    ("8", "根据省统一部署推进", None, None),
    ("9", "2025年第四季度", dt.date(2025, 12, 31), "2025-Q4"),
]

UNITS_B = {
    "1": [("lead", "责任单位", "市卫生健康委"), ("co", "责任单位", "市医保局"), ("co", "责任单位", "各区政府")],
    "2": [("lead", "责任单位", "市卫生健康委")],
    "3": [("lead", "责任单位", "市卫生健康委"), ("co", "责任单位", "市财政局")],
    "4": [("lead", "责任单位", "市卫生健康委"), ("co", "责任单位", "各区政府")],
    "5": [("lead", "责任单位", "市卫生健康委")],
    "6": [("lead", "责任单位", "市卫生健康委"), ("co", "责任单位", "市规划和自然资源局")],
    "7": [("lead", "责任单位", "市卫生健康委"), ("co", "责任单位", "市疾控局")],
    "8": [("lead", "责任单位", "市卫生健康委"), ("co", "责任单位", "市政务服务和数据管理局")],
}


def test_page_b_every_task_and_deadline_as_published(page_b):
    assert (page_b.status, page_b.raw.notice_id, page_b.meta["jurisdiction_code"]) == ("loaded", B, "440100")
    tasks = page_b.records["tasks"]
    assert [(t["task_id"].split(":", 1)[1], t["deadline_text"], t["deadline_date"], t["deadline_period"])
            for t in tasks] == DEADLINES_B
    assert [t["task_text"] for t in tasks][:3] == [
        "推进紧密型城市医疗集团建设。", "完成全市二级以上公立医院绩效考核。", "印发基层医疗卫生机构能力提升方案。"]
    assert all(t["task_title"] is None and t["part"] is None for t in tasks)  # a lone 重点任务 column is the text
    assert tasks[0]["locator"] == "/html/body/div/div/table/tr[2]/td[2]; /html/body/div/div/table/tr[2]/td[4]"


def test_page_b_first_responsible_unit_leads_the_rest_co_operate(page_b):
    assert units_of(page_b) == UNITS_B  # task 9's 责任单位 is a dash: no unit
    assert {u["role_from"] for u in page_b.records["task_units"]} == {"order"}
    assert not any((u["agency_id"] or "").startswith("xm.") for u in page_b.records["task_units"])


def test_page_b_findings_say_what_was_not_parsed_and_what_lacks_a_lead(page_b):
    assert rules(page_b) == [("deadline_not_parsed", "8"), ("task_without_lead_unit", "9")]
    f = next(f for f in page_b.findings if f["rule"] == "deadline_not_parsed")
    assert (f["severity"], f["column_name"], f["evidence"], f["suggestion"]) == (
        "info", "deadline_text", "根据省统一部署推进", None)
    assert f["locator"] == "/html/body/div/div/table/tr[9]/td[4]"


def test_records_have_exactly_the_schema_columns(page_a, page_b):
    for r in (page_a, page_b):
        for name in ("tasks", "task_units", "targets"):
            assert all(list(row) == TABLES[name].column_names for row in r.records.get(name, [])), name


# --- the rules on small tables of the same kind --------------------------------------------------------------

def page(header: list[str], rows: list[list[str]], doc_number: str = "穗民函〔2025〕1号") -> str:
    def tr(cells):
        return "<tr>" + "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in cells) + "</tr>"
    return (f"<html><head><meta charset='utf-8'><title>任务分工</title></head><body><div class='TRS_Editor'>"
            f"<p>文号：{doc_number}</p><table border='1'>{tr(header)}{''.join(tr(r) for r in rows)}</table>"
            "</div></body></html>")


def test_two_different_number_cells_with_one_number_are_still_a_duplicate():
    r = run(html=page(["序号", "工作任务", "牵头单位", "配合单位"],
                      [["1", "甲。", "市民政局", "/"], ["2", "乙。", "市民政局", "—"], ["2", "丙。", "市财政局", "无"]]))
    ids = [t["task_id"].split(":", 1)[1] for t in r.records["tasks"]]
    assert ids == ["1", "2", "2#2"]
    assert rules(r) == [("duplicate_task_number", "2#2")]
    assert [(u["role"], u["unit_as_written"]) for u in r.records["task_units"]] == [
        ("lead", "市民政局"), ("lead", "市民政局"), ("lead", "市财政局")]


def test_responsible_column_beside_a_co_column_is_the_lead_column():
    r = run(html=page(["序号", "具体措施", "责任单位", "配合单位"],
                      [["1", "完善制度。", "市民政局、市财政局", "各区政府"]]))
    assert [(u["role"], u["role_from"], u["unit_as_written"]) for u in r.records["task_units"]] == [
        ("lead", "column", "市民政局"), ("lead", "column", "市财政局"), ("co", "column", "各区政府")]
    assert r.records["tasks"][0]["task_title"] is None and r.records["tasks"][0]["task_text"] == "完善制度。"


def test_a_spanning_title_without_number_column_groups_its_rows_as_parts():
    r = run(html=page(["工作事项", "具体措施", "牵头单位"],
                      [["<td rowspan='2'>养老服务</td>", "建设中心。", "市民政局"], ["培训人员。", "市人社局"],
                       ["助餐服务", "建设饭堂。", "市民政局"]]))
    assert [(t["task_title"], t["task_text"], t["part"]) for t in r.records["tasks"]] == [
        ("养老服务", "建设中心。", 1), ("养老服务", "培训人员。", 2), ("助餐服务", "建设饭堂。", None)]
    assert rules(r) == []


def test_a_column_no_field_reads_is_reported_not_dropped_silently():
    r = run(html=page(["序号", "工作任务", "牵头单位", "完成时限", "备注"],
                      [["1", "甲。", "市民政局", "2025年9月底前", "新增"]]))
    assert r.records["tasks"][0]["deadline_period"] == "2025-09"
    (f,) = [f for f in r.findings if f["rule"] == "task_column_not_read"]
    assert (f["severity"], f["column_name"], f["evidence"], f["suggestion"]) == ("info", "备注", "备注", None)
    assert "table_cells" in f["message"]
    assert any(c["text"] == "新增" for c in r.records["table_cells"])  # the cell itself is kept


def test_units_written_one_per_line_are_one_mention_each_and_a_wrapped_name_stays_whole():
    r = run(html=page(["序号", "工作任务", "牵头单位", "配合单位"],
                      [["1", "甲。", "市民政局", "<td><p>市财政局</p><p>市卫生健康委</p></td>"],
                       ["2", "乙。", "市人社局", "市民政局<br>市财政局<br>各区政府"],
                       ["3", "丙。", "市民政局", "市发展和改革委<br>员会"],
                       ["4", "丁。", "市民政局", "市财政局、<br>市医保局"]]))
    got = [(u["task_id"].split(":", 1)[1], u["role"], u["mention_no"], u["unit_as_written"])
           for u in r.records["task_units"]]
    assert got == [("1", "lead", 1, "市民政局"), ("1", "co", 1, "市财政局"), ("1", "co", 2, "市卫生健康委"),
                   ("2", "lead", 1, "市人社局"), ("2", "co", 1, "市民政局"), ("2", "co", 2, "市财政局"),
                   ("2", "co", 3, "各区政府"),
                   ("3", "lead", 1, "市民政局"), ("3", "co", 1, "市发展和改革委员会"),
                   ("4", "lead", 1, "市民政局"), ("4", "co", 1, "市财政局"), ("4", "co", 2, "市医保局")]
    assert all(u["match"] != "fragment" for u in r.records["task_units"])


def test_a_pdf_unit_cells_lines_are_where_it_wrapped_and_always_join():
    from pipeline.kinds.task_table import _unit_piece
    from pipeline.kinds.tasks import load_task_profiles
    from pipeline.model import Cell, Grid

    profile = load_task_profiles()[0]
    for fmt, want in (("pdf", "中共厦门市委宣传部"), ("docx", "中共厦门市委\n宣传部")):
        grid = Grid(fmt, 0, [[Cell("中共厦门市委\n宣传部", (0, 0))]])
        assert _unit_piece(grid, 0, 0, profile).text == want


def test_lines_that_together_are_one_registered_name_stay_one_unit():
    r = run(html=page(["序号", "工作任务", "牵头单位", "配合单位"],
                      [["1", "甲。", "<td>中共厦门市委<br>老干部局</td>", "市民政局<br>市财政局"]],
                      doc_number="厦民〔2025〕1号"))
    got = [(u["role"], u["unit_as_written"], u["agency_id"] is not None) for u in r.records["task_units"]]
    assert got == [("lead", "中共厦门市委老干部局", True), ("co", "市民政局", True), ("co", "市财政局", True)]


def test_page_a_an_office_is_tied_to_its_agency_only_when_the_task_names_one(page_a):
    got = {(u["unit_id"].split(":", 1)[1], u["unit_as_written"]): u["office_of"] and u["office_of"].split(":", 1)[1]
           for u in page_a.records["task_units"] if u["role"] in ("lead_office", "co_office")}
    assert got[("一.1.1:lead_office:1", "养老服务处")] == "一.1.1:lead:1"
    assert got[("一.1.1:co_office:1", "规划财务处")] == "一.1.1:co:1"  # one co unit: 各区政府
    assert got[("二.3.2:co_office:1", "规划财务处")] is None  # two co units: which one is not printed
    assert got[("二.3.2:co_office:2", "人事处")] is None
    assert sum(v is not None for v in got.values()) == 9
    units = {u["unit_id"] for u in page_a.records["task_units"]}
    assert all(u["office_of"] in units for u in page_a.records["task_units"] if u["office_of"])
    assert all(u["office_of"] is None for u in page_a.records["task_units"] if u["role"] in ("lead", "co"))
