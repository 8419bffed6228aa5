"""Data-quality rules on the real notices: each finding located to its record, column and span, and no false alarm."""

from __future__ import annotations

import copy
import hashlib

import pytest

from tests.conftest import HTML_2009, RAW
from pipeline.derive.citations import provisions_to_citations
from pipeline.ingest.decode import decode_bytes
from pipeline.derive.entities import provisions_to_populations, provisions_to_suppliers
from pipeline.extract.blocks import html_to_blocks
from pipeline.extract.docx import docx_to_grids
from pipeline.extract.html import parse_html
from pipeline.extract.pdf import pdf_to_grids
from pipeline.flags import (
    FLAG_COLUMNS,
    agency_old_name,
    build_dq_flags,
    citation_code_conflict,
    citation_title_near_match,
    collect_findings,
    content_differs_between_populations,
    dangling_conjunction,
    empty_required,
    enumeration_broken,
    item_numbering,
    standard_year_differs,
    supplier_wording_differs,
)
from pipeline.warehouse.partitions import rows_to_arrow
from pipeline.kinds.provisions import grid_to_provisions
from pipeline.kinds.recognize import load_table_profiles, recognize_table
from pipeline.warehouse.schema import TABLES
from pipeline.registers.standards import Registers, Standard, load_registers
from pipeline.kinds.tasks import blocks_to_tasks

N = "厦民〔2025〕95号"


def frames_of(provisions: list[dict]) -> dict:
    return {"service_provisions": provisions, "citations": provisions_to_citations(provisions),
            "provision_suppliers": provisions_to_suppliers(provisions)}


@pytest.fixture(scope="module")
def frames(provisions_2025):
    return frames_of(provisions_2025)


@pytest.fixture(scope="module")
def flags(frames):
    return build_dq_flags(collect_findings(frames))


@pytest.fixture(scope="module")
def tasks_2009():
    data = HTML_2009.read_bytes()
    return blocks_to_tasks(html_to_blocks(parse_html(decode_bytes(data)[0])), notice_id="厦府办〔2009〕254号",
                           raw_file=HTML_2009.name, raw_sha256=hashlib.sha256(data).hexdigest(), source_format="html")


def short(record_id: str) -> str:
    return record_id.removeprefix(f"{N}:")


def cell_fragment(frames: dict, finding: dict) -> str:
    """Return the published text at the finding's span, reading the cell its locator names."""
    provisions = {p["provision_id"]: p for p in frames["service_provisions"]}
    if finding["record_table"] == "citations":
        cit = next(c for c in frames["citations"] if c["citation_id"] == finding["record_id"])
        text = provisions[cit["provision_id"]]["standard_text"]
    else:
        text = provisions[finding["record_id"]][finding["column_name"]]
    return text[finding["span_start"]:finding["span_end"]]


def test_standard_year_differs_flags_each_non_majority_year(frames):
    found = standard_year_differs(frames)
    assert sorted((short(f["record_id"]), f["column_name"], f["evidence"], f["suggestion"]) for f in found) == sorted(
        [(f"{p}:2", "code_as_written", "DB3502/T091-2023", "DB3502/T091-2022") for p in ("6:2", "7:2", "8:2", "9:2", "10:2")]
        + [("11:2:3", "code_as_written", "DB3502/T091-2023", "DB3502/T091-2022")]
        + [(f"{p}:2", "code_as_written", "DB3502/T091-2024", "DB3502/T091-2022") for p in ("6:3", "7:3", "8:3", "9:3", "10:3")]
        + [("11:3:3", "code_as_written", "DB3502/T091-2024", "DB3502/T091-2022")]
        + [("12:1:3", "code_as_written", "DB3502/T091-2020", "DB3502/T091-2022"),
           ("13:2:2", "code_as_written", "DB3502/T091-2020", "DB3502/T091-2022"),
           ("14:1:2", "code_as_written", "DB3502/T091-2020", "DB3502/T091-2022"),
           ("16:1:4", "code_as_written", "DB3502/T091-2020", "DB3502/T091-2022"),
           ("12:2:2", "code_as_written", "DB3502/T091-2021", "DB3502/T091-2022")])
    assert all(cell_fragment(frames, f) == f["evidence"] for f in found)
    assert {f["severity"] for f in found} == {"error"}
    one = next(f for f in found if f["record_id"] == f"{N}:6:2:2")
    assert one["locator"] == "f.html table 0 row 18 standard_text[54:70]"
    assert "2020×4, 2021×1, 2022×24, 2023×6, 2024×6" in one["message"]


def test_register_year_overrides_the_majority(frames):
    reg = load_registers()
    std = reg.by_code["DB3502/T 091"]
    registers = Registers.of([s for s in reg.standards if s.code != std.code]
                             + [Standard(std.code, std.title, (2022, 2024), 2024)], list(reg.documents))
    found = standard_year_differs({**frames, "registers": registers})
    by_year = {}
    for f in found:
        by_year.setdefault(f["evidence"], []).append(f)
    assert {k: len(v) for k, v in by_year.items()} == {
        "DB3502/T091-2022": 24, "DB3502/T091-2023": 6, "DB3502/T091-2020": 4, "DB3502/T091-2021": 1}
    # 2022 is a registered older edition: reported, but as a warning
    assert {f["severity"] for f in by_year["DB3502/T091-2022"]} == {"warning"}
    assert {f["severity"] for f in by_year["DB3502/T091-2023"]} == {"error"}
    assert {f["suggestion"] for f in found} == {"DB3502/T091-2024"}


def test_year_differing_across_notices(provisions_2025):
    # Another notice citing the code consistently with a year the others do not use is flagged too.
    other = [dict(p, notice_id="厦民〔2026〕1号", provision_id=p["provision_id"].replace(N, "厦民〔2026〕1号"),
                  standard_text=p["standard_text"].replace("DB3502/T091-2022", "DB3502/T 091-2019"))
             for p in provisions_2025 if "DB3502/T091-2022" in (p["standard_text"] or "")][:3]
    found = standard_year_differs(frames_of(provisions_2025 + other))
    assert sorted(f["record_id"] for f in found if f["notice_id"] == "厦民〔2026〕1号") == [
        "厦民〔2026〕1号:1:1:3", "厦民〔2026〕1号:1:2:1", "厦民〔2026〕1号:1:3:1"]
    assert {f["evidence"] for f in found if f["notice_id"] == "厦民〔2026〕1号"} == {"DB3502/T 091-2019"}


def test_year_tie_is_reported_without_a_suggestion(provisions_2025):
    pair = [p for p in provisions_2025 if p["provision_id"] in (f"{N}:12:1", f"{N}:12:2")]
    found = standard_year_differs(frames_of(pair))
    assert sorted((short(f["record_id"]), f["evidence"], f["suggestion"]) for f in found) == [
        ("12:1:3", "DB3502/T091-2020", None), ("12:2:2", "DB3502/T091-2021", None)]
    assert "no year is cited most often" in found[0]["message"]
    # one year only, and no register year: nothing to compare, nothing flagged
    assert standard_year_differs(frames_of(pair[:1])) == []


def test_garbled_title_near_matches_the_registered_one(frames):
    [f] = citation_title_near_match(frames)
    assert (f["record_table"], f["record_id"], f["column_name"], f["evidence"], f["suggestion"]) == (
        "citations", f"{N}:1:3:3", "title_as_written", "厦门市社区老年人巡民政、教访关爱服务规范",
        "厦门市社区老年人巡访关爱服务规范")
    assert cell_fragment(frames, f) == f["evidence"]
    assert "inserted '民政、教'" in f["message"]


def test_one_title_with_different_codes(frames, provisions_2025):
    assert citation_code_conflict(frames) == []
    changed = copy.deepcopy(provisions_2025)
    target = next(p for p in changed if p["provision_id"] == f"{N}:4:3")
    target["standard_text"] = target["standard_text"].replace("GB/T43153-2023", "GB/T43135-2023")
    [f] = citation_code_conflict(frames_of(changed))
    assert (short(f["record_id"]), f["evidence"], f["suggestion"]) == ("4:3:1", "GB/T43135-2023", "GB/T 43153")


def test_period_inside_an_enumeration(frames):
    found = enumeration_broken(frames)
    assert [(short(f["record_id"]), f["column_name"], f["span_start"], f["span_end"], f["evidence"], f["suggestion"])
            for f in found] == [(f"5:{i}", "content", 11, 16, "呼吸。心率", "呼吸、心率") for i in (1, 2, 3)]
    assert all(cell_fragment(frames, f) == f["evidence"] for f in found)


def test_enumeration_rule_leaves_sentence_ends_alone():
    p = {"provision_id": "X:1:1", "notice_id": "X", "raw_file": "f", "raw_sha256": "x", "table_index": 0,
         "source_row": 1, "item_no": 1, "service_item": "s", "population_no": 1, "population": "p",
         "content": "提供个人就学补助金。对符合条件的流动儿童提供学前教育、义务教育等服务;符合其他社会救助、社会福利条件的",
         "standard_text": "按照《甲》和其他有关工作要求执行", "supplier_text": "民政部门"}
    assert enumeration_broken({"service_provisions": [p]}) == []
    assert dangling_conjunction({"service_provisions": [p]}) == []


def test_dangling_conjunction_before_the_verb(frames):
    [f] = dangling_conjunction(frames)
    assert (short(f["record_id"]), f["column_name"], f["evidence"], f["suggestion"]) == (
        "5:3", "standard_text", "》和执行", "》执行")
    assert cell_fragment(frames, f) == "》和执行"


def test_item_numbers_in_order_in_2025_and_broken_orders_found(frames, provisions_2025):
    assert item_numbering(frames) == []
    rows = copy.deepcopy(provisions_2025)
    for p in rows:  # the list as if item 16 had been numbered 15 and item 17 numbered 19
        p["item_no"] = {16: 15, 17: 19}.get(p["item_no"], p["item_no"])
    found = item_numbering({"service_provisions": rows})
    assert [(f["rule"], short(f["record_id"]), f["column_name"], f["evidence"], f["suggestion"]) for f in found] == [
        ("item_no_repeated", "16:1", "item_no", "15", None),
        ("item_no_out_of_order", "17:1", "item_no", "19", "16"),
    ]


def test_empty_required_cells(frames, provisions_2025):
    assert empty_required(frames) == []
    rows = copy.deepcopy(provisions_2025)
    rows[7]["supplier_text"] = ""
    [f] = empty_required({"service_provisions": rows})
    assert (short(f["record_id"]), f["column_name"], f["evidence"]) == ("3:2", "supplier_text", "")


def test_supplier_wording_differs_within_an_item(frames):
    found = supplier_wording_differs(frames)
    assert [(short(f["record_id"]), f["column_name"], f["evidence"], f["suggestion"], f["span_start"]) for f in found] == [
        (f"{i}:1", "supplier_text", "民政部门", "民政等相关部门", 0) for i in (1, 2, 6, 7, 8, 9, 10)]
    assert {f["severity"] for f in found} == {"warning"}


def test_content_differences_between_populations_are_informational(frames):
    found = content_differs_between_populations(frames)
    assert [(short(f["record_id"]), f["evidence"], f["suggestion"]) for f in found] == [
        ("1:2", "重点对有需求的老年人、未成年人、重病重残等人员提供定期入户探访", "提供定期入户探访"),
        ("2:1", "提供协助穿(脱)衣", "为半失能、失能人员提供协助穿(脱)衣"),
        ("3:2", "提供治疗陪伴服务", "提供治疗陪伴等服务"),
        ("3:3", "协助就医问诊、办理住(出)院手续", "协助就医问诊、取药、办理住(出)院手续"),
        ("3:3", "提供治疗陪伴服务", "提供治疗陪伴等服务"),
        ("15:2", "对符合条件的儿童按照本市相关规定提供学前教育", "对符合条件的学生按照本市相关规定提供学前教育"),
        ("15:2", "符合条件的残疾儿童提供个人就学补助金", "符合条件的残疾人和困难残疾人家庭子女提供个人就学补助金"),
        ("15:2", "对符合条件的流动儿童提供学前教育、义务教育、普通高中教育、中等职业教育等服务。", None),
    ]
    assert {f["severity"] for f in found} == {"info"}
    assert all(cell_fragment(frames, f) == f["evidence"] for f in found)


def test_agency_old_names_in_the_2009_task_units(frames, tasks_2009):
    assert agency_old_name(frames) == []  # the 2025 suppliers use current names
    found = agency_old_name({"task_units": tasks_2009.units})
    assert [(f["record_table"], f["record_id"].removeprefix("厦府办〔2009〕254号:"), f["evidence"], f["suggestion"])
            for f in found] == [
        ("task_units", "二.一.2:lead:1", "市卫生局", "市卫生健康委员会"),
        ("task_units", "二.一.2:co:1", "市劳动和社会保障局", "市人力资源和社会保障局"),
        ("task_units", "二.二.1:lead:1", "市建设与管理局", "市住房和建设局"),
        ("task_units", "二.二.2:co:2", "市卫生局", "市卫生健康委员会"),
        ("task_units", "二.二.2:co:5", "市劳动和社会保障局", "市人力资源和社会保障局"),
    ]
    assert all(f["locator"].startswith("/html/body/") for f in found)


def test_no_correct_citation_in_the_2025_list_is_flagged(frames, flags):
    flagged = {f["record_id"] for f in flags if f["record_table"] == "citations"}
    wrong = {c["citation_id"] for c in frames["citations"]
             if c["register_status"] != "known" or (c["code"] == "DB3502/T 091" and c["code_year"] != 2022)}
    assert flagged == wrong and len(wrong) == 18
    # nor is the standard text around them, except the one dangling 和
    assert [(f["rule"], short(f["record_id"])) for f in flags
            if f["record_table"] == "service_provisions" and f["column_name"] == "standard_text"] == [
        ("dangling_conjunction", "5:3")]


def test_dq_flags_rows_ids_and_columns(frames, flags):
    assert len(flags) == 37
    assert len({f["flag_id"] for f in flags}) == len(flags)
    assert set(flags[0]) == set(FLAG_COLUMNS) == set(TABLES["dq_flags"].column_names)
    assert {f["review_status"] for f in flags} == {"open"}
    # stable across runs and independent of the order rules report in
    again = build_dq_flags(list(reversed(collect_findings(frames))))
    assert sorted(f["flag_id"] for f in again) == sorted(f["flag_id"] for f in flags)


def test_findings_from_other_modules_get_stable_ids(tasks_2009):
    findings = tasks_2009.findings  # the tasks stage reports page-break splits and truncated unit lists
    rows = build_dq_flags(findings, notice_id="厦府办〔2009〕254号", raw_file=HTML_2009.name, raw_sha256="abc")
    assert sorted(r["rule"] for r in rows) == ["paragraph_split_by_page_break", "truncated_unit_list"]
    assert {r["notice_id"] for r in rows} == {"厦府办〔2009〕254号"}
    assert [r["flag_id"] for r in rows] == [r["flag_id"] for r in build_dq_flags(
        findings, notice_id="厦府办〔2009〕254号", raw_file=HTML_2009.name, raw_sha256="abc")]
    with pytest.raises(ValueError, match="lacks"):
        build_dq_flags(findings)


def test_repeated_evidence_in_one_cell_gets_distinct_ids():
    base = {"rule": "r", "severity": "error", "record_table": "t", "record_id": "1", "column_name": "c",
            "evidence": "。", "suggestion": "、", "locator": "x", "notice_id": "N", "raw_file": "f", "raw_sha256": "s"}
    rows = build_dq_flags([{**base, "span_start": 9, "span_end": 10}, {**base, "span_start": 3, "span_end": 4}])
    assert len({r["flag_id"] for r in rows}) == 2
    # the left-most occurrence keeps the plain id whatever order the findings came in
    first = next(r for r in rows if r["span_start"] == 3)
    assert first["flag_id"] == build_dq_flags([{**base, "span_start": 3, "span_end": 4}])[0]["flag_id"]
    with pytest.raises(ValueError, match="severity"):
        build_dq_flags([{**base, "severity": "fatal"}])


@pytest.mark.parametrize("name, to_grids", [("xm-mzj-2025-095-list.docx", docx_to_grids),
                                            ("xm-mzj-2025-095-list.pdf", pdf_to_grids)])
def test_same_findings_and_ids_from_the_docx_and_pdf_of_the_list(name, to_grids, flags):
    grid = to_grids((RAW / name).read_bytes(), file=name)[0]
    rows = grid_to_provisions(grid, recognize_table(grid, load_table_profiles()), notice_id=N, raw_file=name,
                              raw_sha256="y")
    other = build_dq_flags(collect_findings(frames_of(rows)))
    assert sorted(f["flag_id"] for f in other) == sorted(f["flag_id"] for f in flags)
    assert all(f["locator"].startswith(name) for f in other)


def test_derived_rows_load_into_their_warehouse_tables(frames, flags, provisions_2025):
    for name, rows in [("citations", frames["citations"]), ("provision_suppliers", frames["provision_suppliers"]),
                       ("provision_populations", provisions_to_populations(provisions_2025)), ("dq_flags", flags)]:
        assert rows_to_arrow(TABLES[name], rows).num_rows == len(rows)
