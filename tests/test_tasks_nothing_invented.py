"""Nothing invented (issue 11.3) and findings that store no explanation as a value (issue 16.5).

Text is read as a task list only when it has the structure of one: numbered items (or outline headings) with unit
lines. Articles, contact lines, a site's copyright clauses and footers, and numbered clauses inside a table are not
tasks. No real document of other bureaus (tests/fixtures/real, d01–d14) is a task list: none may give a task.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest

from pipeline.extract.blocks import Block, html_to_blocks
from pipeline.extract.html import parse_html
from pipeline.flags.build import build_dq_flags
from pipeline.flags.review import apply_reviews
from pipeline.ingest.decode import decode_bytes
from pipeline.kinds.tasks import NoStructureFound, blocks_to_tasks
from pipeline.model import RawFile
from pipeline.stages import raw_file_to_result

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "tests" / "fixtures" / "real"
REAL_FILES = sorted(json.loads((REAL / "truth.json").read_text(encoding="utf-8")))


def result_of(path: Path | None = None, html: str | None = None):
    data = path.read_bytes() if path else html.encode("utf-8")
    return raw_file_to_result(RawFile(str(path or "t.html"), hashlib.sha256(data).hexdigest(), ""), data)


def read(blocks: list[Block]):
    return blocks_to_tasks(blocks, notice_id="N", raw_file="f", raw_sha256="s", source_format="html", jurisdiction=None)


def test_all_fourteen_real_files_are_checked():
    assert len(REAL_FILES) == 14 and all((REAL / n).is_file() for n in REAL_FILES)


@pytest.mark.parametrize("name", REAL_FILES)
def test_no_real_document_of_other_bureaus_gives_a_task(name):
    r = result_of(REAL / name)
    assert r.status in ("loaded", "no_table"), r.reason  # every format has a reader: each file is read in full
    assert not r.records.get("tasks") and not r.records.get("task_units") and not r.records.get("targets")
    assert "no task list" in r.reason


@pytest.mark.parametrize("name", ["d01-nfra-zj-penalty-rowspan.html", "d02-nfra-hq-penalty-keyvalue.html"])
def test_the_whole_page_with_its_copyright_clauses_and_footer_is_no_task_list(name):
    """The page outside its article: 版权与免责声明 1.凡本站… 2.… and a footer 主办单位：… / 地址：… / 邮政编码：…"""
    blocks = html_to_blocks(parse_html(decode_bytes((REAL / name).read_bytes())[0]))
    texts = [b.text for b in blocks]
    assert any(t.startswith("1.凡本站") for t in texts) and "主办单位：国家金融监督管理总局" in texts
    with pytest.raises(NoStructureFound, match="follow no numbered item or outline heading"):
        read(blocks)


def test_numbered_site_clauses_with_a_footer_label_are_not_tasks_even_without_the_site_words():
    # The structure alone decides: the label follows contact lines, not a task.
    blocks = [Block("版权声明", "d1"), Block("1.转载请注明出处。", "d2"), Block("2.图片版权归原作者。", "d3"),
              Block("网站地图", "d4"), Block("主办单位：某某局", "d5"), Block("地址：某市某路1号", "d6"),
              Block("邮编：100000", "d7")]
    with pytest.raises(NoStructureFound):
        read(blocks)


def test_articles_of_a_regulation_are_not_tasks():
    blocks = [Block("第一章 总则", "p1"), Block("第三十六条 本办法由市民政局负责解释。", "p2"),
              Block("第三十七条 责任单位：市民政局。本办法自发布之日起施行。", "p3")]
    with pytest.raises(NoStructureFound):
        read(blocks)


def test_prose_followed_by_a_unit_line_is_no_task():
    with pytest.raises(NoStructureFound, match="follow no numbered item"):
        read([Block("现将有关事项通知如下，请认真贯彻落实。", "p1"), Block("牵头单位：市民政局", "p2")])


def test_contact_lines_end_the_task_and_the_plan():
    blocks = [Block("一、主要任务", "p1"), Block("1.建立机制。", "p2"), Block("牵头单位：市民政局", "p3"),
              Block("联系人：王某，电话：020-12345678", "p4"), Block("1.本通知自印发之日起施行。", "p5")]
    x = read(blocks)
    assert [(t["task_id"], t["task_text"], t["locator"]) for t in x.tasks] == [("N:一.1", "建立机制。", "p2")]
    assert [(u["role"], u["role_from"], u["unit_as_written"]) for u in x.units] == [("lead", "label", "市民政局")]
    assert [f["rule"] for f in x.findings] == ["unit_not_in_register"]


def test_a_heading_with_its_unit_line_is_the_task():
    x = read([Block("一、重点任务", "p1"), Block("（一）完善养老服务体系。", "p2"), Block("责任单位：市民政局、市财政局", "p3")])
    assert [(t["task_id"], t["task_text"]) for t in x.tasks] == [("N:一.一", "完善养老服务体系。")]
    assert [(u["role"], u["role_from"], u["unit_as_written"]) for u in x.units] == [
        ("lead", "order", "市民政局"), ("co", "order", "市财政局")]


def test_responsible_label_beside_a_co_label_is_all_lead():
    x = read([Block("一、重点任务", "p1"), Block("1.完善制度。（责任单位：市民政局、市财政局；配合单位：各区政府）", "p2")])
    assert [(u["role"], u["role_from"], u["unit_as_written"]) for u in x.units] == [
        ("lead", "label", "市民政局"), ("lead", "label", "市财政局"), ("co", "label", "各区政府")]


def test_no_unit_words_after_a_label_give_no_unit():
    x = read([Block("一、重点任务", "p1"), Block("1.完善制度。", "p2"), Block("牵头单位：市民政局；配合单位：无", "p3")])
    assert [(u["role"], u["unit_as_written"]) for u in x.units] == [("lead", "市民政局")]


CELL_CLAUSES = """<html><head><meta charset="utf-8"><title>事项清单</title></head><body><div class="TRS_Editor">
<p>关于公布行政许可事项清单的通知</p>
<table border="1"><tr><td>序号</td><td>事项名称</td><td>办理要求</td></tr>
<tr><td>1</td><td>养老机构备案</td><td><p>1.提交备案书。</p><p>2.提交场所证明。</p><p>牵头单位：市民政局</p></td></tr>
<tr><td>2</td><td>社会组织登记</td><td><p>1.提交章程。</p><p>责任单位：市民政局</p></td></tr>
</table></div></body></html>"""


def test_numbered_clauses_inside_a_table_cell_are_not_tasks():
    r = result_of(html=CELL_CLAUSES)
    assert [o.is_data for o in r.tables] == [True] and r.tables[0].kind is None
    assert not r.records.get("tasks") and not r.records.get("task_units")
    assert "no task list in the text" in r.reason and "inside data tables not read" in r.reason
    # The same paragraphs outside a table would be read: the rule is where they stand, not what they say.
    outside = [Block("一、办理要求", "p0"), Block("1.提交备案书。", "p1"), Block("牵头单位：市民政局", "p2")]
    assert len(read(outside).tasks) == 1


# --- 16.5: a finding's suggestion is a replacement value or None; explanations are its message -------------

def _all_task_findings() -> list[dict]:
    out = []
    for path in (ROOT / "raw" / "xm-gov-2009-254.html", ROOT / "raw" / "xm-gov-2009-254.pdf",
                 ROOT / "tests" / "fixtures" / "tasks_table_layout.html",
                 ROOT / "tests" / "fixtures" / "gz-task-division-offices.html",
                 ROOT / "tests" / "fixtures" / "gz-task-deadlines.html"):
        r = result_of(path)
        assert r.records.get("tasks"), path.name
        out += [{**f, "notice_id": r.raw.notice_id, "raw_file": path.name, "raw_sha256": r.raw.sha256}
                for f in r.findings if f["record_table"] in ("tasks", "task_units", "targets")]
    return out


def test_task_findings_explain_in_message_and_suggest_no_value():
    found = _all_task_findings()
    assert {f["rule"] for f in found} >= {"paragraph_split_by_page_break", "truncated_unit_list",
                                          "unit_not_in_register", "deadline_not_parsed", "task_without_lead_unit"}
    assert all(f["suggestion"] is None for f in found)
    assert all(isinstance(f["message"], str) and len(f["message"]) > 10 for f in found)


def test_accepting_a_task_finding_stores_no_explanation_as_the_canonical_value():
    flags = build_dq_flags(_all_task_findings())
    split = next(f for f in flags if f["rule"] == "paragraph_split_by_page_break")
    decision = {"flag_id": split["flag_id"], "decision": "accept", "corrected_value": "", "reviewer": "qa",
                "decided_on": dt.date(2025, 1, 2), "note": "", "evidence": split["evidence"]}
    reviewed, _, stale = apply_reviews(flags, [decision])
    (got,) = [f for f in reviewed if f["flag_id"] == split["flag_id"]]
    assert (got["review_status"], got["canonical_value"], stale) == ("accepted", None, [])
    assert "page break" in got["message"]
