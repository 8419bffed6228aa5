"""Golden tests on the real 厦府办〔2009〕254号 page: the 18 tasks, their exact units, lineage and findings."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from pipeline.ingest.decode import decode_bytes
from pipeline.extract.blocks import Block, html_to_blocks
from pipeline.extract.html import parse_html
from pipeline.meta.page import html_to_notice_meta, load_site_profiles
from pipeline.warehouse.schema import TABLES
from pipeline.kinds.tasks import NoStructureFound, TaskExtraction, blocks_to_tasks

ROOT = Path(__file__).resolve().parent.parent
HTML_2009 = ROOT / "raw" / "xm-gov-2009-254.html"
HTML_2025 = ROOT / "raw" / "xm-mzj-2025-095.html"
NOTICE = "厦府办〔2009〕254号"
FINDING_KEYS = {"rule", "severity", "record_table", "record_id", "column_name", "evidence", "suggestion", "message",
                "locator"}

# The published assignments, read off the notice: task path -> (牵头单位, 协办单位) as written.
EXPECTED_UNITS = {
    "一": (["市民政局"], ["市老龄办", "市居家养老服务工作领导小组成员单位"]),
    "二.一.1": (["市民政局"], ["市老龄办"]),
    "二.一.2": (["市卫生局"], ["市劳动和社会保障局"]),
    "二.一.3": (["市委老干部局", "市体育局", "市老龄办"], ["市教育局", "市文化局", "市广电局"]),
    "二.一.4": (["市民政局"], ["团市委", "市总工会", "市妇联", "市残联", "市老龄办"]),
    "二.一.5": (["各区人民政府"], ["市信息产业局", "市民政局", "市"]),
    "二.二.1": (["市建设与管理局"], ["市委农办", "市农业局", "市财政局", "市民政局", "市老龄办"]),
    "二.二.2": (["各区人民政府"], ["市民政局", "市卫生局", "市文化局", "市教育局", "市劳动和社会保障局", "市体育局", "市老龄办"]),
    "二.二.3": (["市民政局"], ["市发改委", "市财政局"]),
    "二.二.4": (["各区人民政府"], ["市老龄办"]),
    "二.三.1": (["市民政局"], ["市人力资源和社会保障局", "市司法局"]),
    "二.三.2": (["市人力资源和社会保障局"], ["市民政局", "市老龄办"]),
    "二.三.3": (["团市委"], ["市教育局", "市民政局"]),
    "二.四.1": (["各区人民政府"], ["市民政局", "市老龄办"]),
    "二.四.2": (["市民政局"], ["市老龄办", "市居家养老服务工作领导小组成员单位", "各区人民政府"]),
    "二.四.3": (["市民政局"], ["市老龄办"]),
    "二.五.1": (["市民政局"], ["市老龄办"]),
    "二.五.2": (["市民政局"], []),
}


def extract(blocks: list[Block], source_format: str = "html", raw_file: str = "xm-gov-2009-254.html",
            sha: str = "x") -> TaskExtraction:
    return blocks_to_tasks(blocks, notice_id=NOTICE, raw_file=raw_file, raw_sha256=sha, source_format=source_format,
                           jurisdiction="350200")  # a Xiamen notice: units resolve against Xiamen's register


def units_by_task(x: TaskExtraction) -> dict[str, tuple[list[str], list[str]]]:
    out: dict[str, tuple[list[str], list[str]]] = {}
    for t in x.tasks:
        path = t["task_id"].split(":", 1)[1]
        rows = [u for u in x.units if u["task_id"] == t["task_id"]]
        out[path] = tuple([u["unit_as_written"] for u in rows if u["role"] == r] for r in ("lead", "co"))
    return out


@pytest.fixture(scope="module")
def page_2009():
    data = HTML_2009.read_bytes()
    return data, parse_html(decode_bytes(data)[0])


@pytest.fixture(scope="module")
def html_x(page_2009) -> TaskExtraction:
    data, doc = page_2009
    return extract(html_to_blocks(doc), sha=hashlib.sha256(data).hexdigest())


def test_metadata_of_the_law_database_page(page_2009):
    meta = html_to_notice_meta(page_2009[1], load_site_profiles())
    assert meta["site_profile"] == "law-database"
    assert meta["doc_number"] == NOTICE
    assert meta["issuer"] == "厦门市人民政府"
    assert str(meta["published_on"]) == "2009-10-17" and str(meta["effective_on"]) == "2009-10-17"
    assert meta["expires_on"] is None  # ----- means none
    assert meta["title"] == "厦门市人民政府办公厅关于印发 推进居家养老服务工作任务分解 方案的通知"


def test_blocks_keep_paragraphs_as_published_with_xpaths(page_2009):
    blocks = html_to_blocks(page_2009[1])
    texts = [b.text for b in blocks]
    assert texts[0] == "【发布单位】厦门市人民政府"
    assert "二〇〇九年十月十七日" in texts
    # The original's page break split one paragraph in two: the blocks keep it as published.
    split = next(i for i, t in enumerate(texts) if t.endswith("纳入医"))
    assert texts[split + 1] == "保范围，引导老年参保人员到社区医疗保险定点机构就医。"
    for b in blocks:
        hits = page_2009[1].getroottree().xpath(b.locator.split("#")[0])
        assert len(hits) == 1 and b.text[:6] in "".join(hits[0].itertext()).replace(" ", "")


def test_blocks_join_source_line_breaks_and_skip_what_is_not_shown():
    page = ("<html><head><title>t</title></head><body><script>var a = '牵头单位：x';</script>"
            "<div>前言<p>厦门市\n    人民政府</p>尾注<span style='display:none'>隐藏</span></div></body></html>")
    assert [(b.text, b.locator) for b in html_to_blocks(parse_html(page))] == [
        ("前言", "/html/body/div#line1"), ("厦门市人民政府", "/html/body/div/p"), ("尾注", "/html/body/div#line2")]


def test_eighteen_tasks_in_outline_order(html_x):
    assert [t["task_id"].split(":", 1)[1] for t in html_x.tasks] == list(EXPECTED_UNITS)
    assert [t["seq"] for t in html_x.tasks] == list(range(1, 19))
    assert len({t["task_id"] for t in html_x.tasks}) == 18


def test_section_one_has_one_unnumbered_task(html_x):
    first = html_x.tasks[0]
    assert first["task_id"] == f"{NOTICE}:一"
    assert (first["section"], first["section_no"], first["subsection"], first["task_no"]) == ("一", 1, None, None)
    assert first["section_title"] == "推进居家养老服务的总体目标和基本原则"
    assert first["task_text"] == "根据推进居家养老服务的总体目标和基本原则，制定居家养老服务中长期发展规划。"


def test_numbered_task_fields(html_x):
    t = next(t for t in html_x.tasks if t["task_id"] == f"{NOTICE}:二.二.3")
    assert (t["section"], t["section_no"], t["subsection"], t["subsection_no"], t["task_no"]) == ("二", 2, "二", 2, 3)
    assert t["subsection_title"] == "改善居家养老服务设施"
    assert t["task_text"].startswith("加快建设一批综合性老年服务中心。")  # the number 3. is not part of the text
    assert t["task_text"].endswith("新建养老床位1300张。")


def test_exact_units_of_every_task(html_x):
    assert units_by_task(html_x) == EXPECTED_UNITS


def test_split_paragraph_is_joined_and_reported(html_x):
    t = next(t for t in html_x.tasks if t["task_id"] == f"{NOTICE}:二.一.2")
    assert "将符合条件的家庭病床纳入医保范围，引导老年参保人员" in t["task_text"]
    assert "\n" not in t["task_text"]
    assert t["locator"] == "/html/body/div/p[18]; /html/body/div/p[19]"
    found = [f for f in html_x.findings if f["rule"] == "paragraph_split_by_page_break"]
    assert len(found) == 1
    assert found[0]["record_id"] == t["task_id"] and found[0]["record_table"] == "tasks"
    assert "纳入医 | 保范围" in found[0]["evidence"]


def test_truncated_unit_is_kept_and_flagged(html_x):
    frag = [u for u in html_x.units if u["is_fragment"]]
    assert len(frag) == 1
    u = frag[0]
    assert (u["unit_id"], u["unit_as_written"], u["role"], u["position"]) == (f"{NOTICE}:二.一.5:co:3", "市", "co", 3)
    assert u["unit_canonical"] is None and u["match"] == "fragment"
    found = [f for f in html_x.findings if f["rule"] == "truncated_unit_list"]
    assert [(f["record_id"], f["evidence"]) for f in found] == [(u["unit_id"], "协办单位：市信息产业局、市民政局、市")]


def test_compound_mention_is_split_and_classes_resolved(html_x):
    rows = [u for u in html_x.units if u["task_id"] == f"{NOTICE}:一" and u["role"] == "co"]
    assert [(u["mention_no"], u["mention_as_written"], u["unit_as_written"], u["agency_id"], u["unit_level"])
            for u in rows] == [
        (1, "市老龄办及市居家养老服务工作领导小组成员单位", "市老龄办", "xm.aging_office", "municipal"),
        (1, "市老龄办及市居家养老服务工作领导小组成员单位", "市居家养老服务工作领导小组成员单位",
         "class.xm_home_care_group_members", "class"),
    ]
    districts = [u for u in html_x.units if u["unit_as_written"] == "各区人民政府"]
    assert len(districts) == 5 and {u["agency_id"] for u in districts} == {"class.district_governments"}


def test_old_names_point_to_the_current_body(html_x):
    health = [u for u in html_x.units if u["unit_as_written"] == "市卫生局"]
    assert len(health) == 2
    assert all(u["is_old_name"] and u["current_name"] == "市卫生健康委员会" for u in health)
    assert {u["current_agency_id"] for u in html_x.units if u["unit_as_written"] == "市劳动和社会保障局"} == {
        "xm.human_resources"}
    assert not any(u["is_old_name"] for u in html_x.units if u["unit_as_written"] == "市民政局")


def test_every_unit_but_the_fragment_is_in_the_register(html_x):
    assert [u["unit_as_written"] for u in html_x.units if u["agency_id"] is None] == ["市"]
    assert not [f for f in html_x.findings if f["rule"] == "unit_not_in_register"]


def test_records_have_exactly_the_schema_columns_and_lineage(html_x, page_2009):
    sha = hashlib.sha256(page_2009[0]).hexdigest()
    prov = json.loads((ROOT / "raw" / "provenance" / "xm-gov-2009-254.html.json").read_text())
    assert sha == prov["sha256"]
    for name, rows in (("tasks", html_x.tasks), ("task_units", html_x.units), ("targets", html_x.targets)):
        assert rows and all(list(r) == TABLES[name].column_names for r in rows), name
        assert all(r["raw_sha256"] == sha and r["source_format"] == "html" and r["locator"] for r in rows)
    assert all(set(f) == FINDING_KEYS for f in html_x.findings)
    assert len({u["unit_id"] for u in html_x.units}) == len(html_x.units) == 63


def test_only_the_two_known_problems_are_reported(html_x):
    assert sorted(f["rule"] for f in html_x.findings) == ["paragraph_split_by_page_break", "truncated_unit_list"]


# --- layout variants of the same text must give the same records ------------------------------------


def _same_records(a: TaskExtraction, b: TaskExtraction) -> None:
    cols = ("task_id", "section", "section_title", "subsection", "subsection_title", "task_no", "task_text")
    assert [tuple(t[c] for c in cols) for t in a.tasks] == [tuple(t[c] for c in cols) for t in b.tasks]
    ucols = ("unit_id", "role", "position", "mention_as_written", "unit_as_written", "agency_id", "match")
    assert [tuple(u[c] for c in ucols) for u in a.units] == [tuple(u[c] for c in ucols) for u in b.units]


def test_br_separated_page_gives_the_same_tasks(page_2009, html_x):
    """Many law-database pages put the whole body in one element with <br> between paragraphs."""
    paragraphs = [b.text for b in html_to_blocks(page_2009[1]) if b.locator.startswith("/html/body/div")]
    page = "<html><body><div>" + "<br/>\n".join(paragraphs) + "</div></body></html>"
    blocks = html_to_blocks(parse_html(page))
    assert blocks[1].locator == "/html/body/div#line2"
    _same_records(extract(blocks), html_x)


def test_inline_labels_and_synonyms_give_the_same_tasks(html_x):
    """Another common layout: 1.任务。（责任单位：…；配合单位：…） in one paragraph."""
    variant: list[Block] = []
    for t in html_x.tasks:
        no = f"{t['task_no']}." if t["task_no"] else ""
        if t["seq"] == 1 or t["section"] != html_x.tasks[t["seq"] - 2]["section"]:
            variant.append(Block(f"{t['section']}、{t['section_title']}", "s"))
        if t["subsection"] and (t["seq"] == 1 or t["subsection"] != html_x.tasks[t["seq"] - 2]["subsection"]):
            variant.append(Block(f"（{t['subsection']}）{t['subsection_title']}", "ss"))
        lead, co = EXPECTED_UNITS[t["task_id"].split(":", 1)[1]]
        co_text = "、".join(co).replace("市老龄办、市居家养老服务工作领导小组成员单位", "市老龄办及市居家养老服务工作领导小组成员单位")
        labels = f"责任单位：{'、'.join(lead)}" + (f"；配合单位：{co_text}" if co else "")
        variant.append(Block(f"{no}{t['task_text']}（{labels}）", "p"))
    x = extract(variant)
    _same_records(x, html_x)


# --- notices whose structure is not recognized -----------------------------------------------------


def test_the_2025_service_list_page_has_no_task_structure():
    doc = parse_html(decode_bytes(HTML_2025.read_bytes())[0])
    with pytest.raises(NoStructureFound) as exc:
        extract(html_to_blocks(doc), raw_file="xm-mzj-2025-095.html")
    msg = str(exc.value)
    assert "xm-mzj-2025-095.html" in msg and "stage tasks" in msg and "task_profiles.toml" in msg
    assert re.search(r"in \d+ text blocks", msg)


def test_numbered_text_without_unit_labels_is_reported_not_empty():
    blocks = [Block("一、工作目标", "p[1]"), Block("1.建立长效机制。", "p[2]"), Block("2.加强督查。", "p[3]")]
    with pytest.raises(NoStructureFound, match="no task structure recognized in 3 text blocks"):
        extract(blocks, raw_file="odd.html")


def test_text_inside_the_plan_that_fits_no_task_is_reported():
    blocks = [
        Block("一、主要任务", "p[1]"), Block("1.建立机制。", "p[2]"), Block("牵头单位：市民政局", "p[3]"),
        Block("二、保障措施", "p[4]"), Block("各单位要高度重视，确保各项任务落到实处。", "p[5]"),
    ]
    x = extract(blocks)
    assert [t["task_id"] for t in x.tasks] == [f"{NOTICE}:一.1"]
    assert [(f["rule"], f["locator"]) for f in x.findings] == [("unattached_text", "p[5]")]


def test_repeated_and_skipped_numbers_are_flagged():
    blocks = [
        Block("一、主要任务", "p1"), Block("1.甲。", "p2"), Block("牵头单位：市民政局", "p3"),
        Block("1.乙。", "p4"), Block("牵头单位：市财政局", "p5"), Block("3.丙。", "p6"), Block("协办单位：市民政局", "p7"),
    ]
    x = extract(blocks)
    assert [t["task_id"].split(":", 1)[1] for t in x.tasks] == ["一.1", "一.1#2", "一.3"]
    assert sorted(f["rule"] for f in x.findings) == [
        "duplicate_task_number", "task_number_gap", "task_without_lead_unit"]


# --- the outline and labels are data ---------------------------------------------------------------

OTHER_OUTLINE = """
[[profile]]
name = "chapters"
section = '^第(?P<no>[一二三四五六七八九十]+)部分\\s*(?P<title>.*)$'
subsection = '^(?P<no>[一二三四五六七八九十]+)是(?P<title>.*)$'
task = '^[（(](?P<no>\\d+)[)）](?P<text>.*)$'
fragment = '^$'
[profile.labels]
lead = ["责任处室"]
co = ["配合处室"]
"""


def test_a_new_outline_loads_by_editing_the_profile_file(tmp_path):
    from pipeline.kinds.tasks import load_task_profiles

    path = tmp_path / "task_profiles.toml"
    path.write_text(OTHER_OUTLINE, encoding="utf-8")
    blocks = [Block("第一部分 重点任务", "p1"), Block("（1）完善养老服务体系。", "p2"),
              Block("责任处室：市民政局；配合处室：市财政局", "p3"), Block("（2）加强监管。", "p4"),
              Block("责任处室：市民政局", "p5")]
    with pytest.raises(NoStructureFound):
        extract(blocks)  # the shipped profile does not know these labels
    x = blocks_to_tasks(blocks, notice_id="N", raw_file="f", raw_sha256="s", source_format="html",
                        profiles=load_task_profiles(path))
    assert [(t["task_id"], t["section_title"], t["task_text"]) for t in x.tasks] == [
        ("N:一.1", "重点任务", "完善养老服务体系。"), ("N:一.2", "重点任务", "加强监管。")]
    assert [(u["role"], u["unit_as_written"]) for u in x.units] == [("lead", "市民政局"), ("co", "市财政局"),
                                                                    ("lead", "市民政局")]


def test_a_profile_pattern_without_its_groups_is_refused(tmp_path):
    from pipeline.kinds.tasks import load_task_profiles

    path = tmp_path / "bad.toml"
    path.write_text(OTHER_OUTLINE.replace("(?P<no>\\d+)", "\\d+"), encoding="utf-8")
    with pytest.raises(ValueError, match=r"task profile chapters: pattern `task` lacks named groups \['no'\]"):
        load_task_profiles(path)
