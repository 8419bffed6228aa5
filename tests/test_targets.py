"""Quantitative targets read from task text: the five targets of 厦府办〔2009〕254号 and the reading rules."""

from __future__ import annotations

import pytest

from pipeline.ingest.decode import decode_bytes
from pipeline.extract.blocks import html_to_blocks
from pipeline.extract.html import parse_html
from pipeline.derive.targets import tasks_to_targets, text_to_targets
from tests.test_tasks_html import HTML_2009, NOTICE, extract

COLS = ("task_id", "target_year", "indicator", "scope", "comparator", "value", "unit", "value_text")


def short(rows: list[dict], cols=COLS[1:]) -> list[tuple]:
    return [tuple(r[c] for c in cols) for r in rows]


@pytest.fixture(scope="module")
def notice_x():
    return extract(html_to_blocks(parse_html(decode_bytes(HTML_2009.read_bytes())[0])))


def test_the_notice_s_five_targets(notice_x):
    assert short(notice_x.targets, COLS) == [
        (f"{NOTICE}:二.一.2", 2012, "老年人健康档案建档率", "城市", "≥", 95.0, "%", "95%以上"),
        (f"{NOTICE}:二.一.2", 2012, "老年人健康档案建档率", "农村", "≥", 60.0, "%", "60%以上"),
        (f"{NOTICE}:二.一.3", 2012, "社会老年人入学率", None, "=", 15.0, "%", "15%"),
        (f"{NOTICE}:二.一.3", 2012, "经常参加体育锻炼的老年人", None, "≥", 60.0, "%", "60%以上"),
        (f"{NOTICE}:二.二.3", 2010, "新建养老床位", None, "=", 1300.0, "张", "1300张"),
    ]
    assert [t["target_id"] for t in notice_x.targets][:2] == [f"{NOTICE}:二.一.2:t1", f"{NOTICE}:二.一.2:t2"]
    assert notice_x.targets[0]["target_text"] == "老年人健康档案建档率城市达到95%以上"
    assert notice_x.targets[1]["target_text"] == "农村达到60%以上"  # the indicator carries over


def test_targets_keep_the_task_lineage(notice_x):
    by_id = {t["task_id"]: t for t in notice_x.tasks}
    for target in notice_x.targets:
        task = by_id[target["task_id"]]
        assert (target["locator"], target["raw_sha256"], target["source_format"]) == (
            task["locator"], task["raw_sha256"], task["source_format"])
    assert tasks_to_targets([]) == []


def test_a_number_inside_a_clause_is_not_a_target():
    # 4个区 and 一所 count districts and centres; they are not values the clause sets.
    assert text_to_targets("到2010年，在岛外4个区各建成一所综合性、多功能的老年人社会福利中心。") == []
    assert text_to_targets("探索建设老年宜居社区。") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("到2015年底，城市社区居家养老服务覆盖率不低于90%。", [(2015, "城市社区居家养老服务覆盖率", None, "≥", 90.0, "%")]),
        ("养老护理员持证上岗率控制在5%以内。", [(None, "养老护理员持证上岗率", None, "≤", 5.0, "%")]),
        ("全年培训养老护理员约200人。", [(None, "全年培训养老护理员", None, "≈", 200.0, "人")]),
        ("2015年前受益老人超过1000户。", [(2015, "受益老人", None, ">", 1000.0, "户")]),
        ("每年安排资金500万元。", [(None, "每年安排资金", None, "=", 500.0, "万元")]),
        ("覆盖率岛内达到100%，岛外达到80%以上。", [
            (None, "覆盖率", "岛内", "=", 100.0, "%"), (None, "覆盖率", "岛外", "≥", 80.0, "%")]),
    ],
)
def test_reading_rules(text, expected):
    cols = ("target_year", "indicator", "scope", "comparator", "value", "unit")
    assert short(text_to_targets(text), cols) == expected


def test_a_deadline_holds_to_the_end_of_its_sentence():
    rows = text_to_targets("到2012年，建档率达到95%以上；入学率达15%。床位新增300张。")
    assert [(r["indicator"], r["target_year"]) for r in rows] == [("建档率", 2012), ("入学率", 2012), ("床位新增", None)]
