"""Citations read from the real 2025 service list, standard-code normalization and the registers."""

from __future__ import annotations

from collections import defaultdict

import pytest

from pipeline.derive.citations import citations_to_register_gaps, provisions_to_citations, standard_text_to_citations
from pipeline.warehouse.schema import TABLES
from pipeline.registers.standards import Document, Registers, Standard, load_registers, match_title, normalize_code

N = "厦民〔2025〕95号"


@pytest.fixture(scope="module")
def by_id(provisions_2025):
    return {p["provision_id"]: p for p in provisions_2025}


@pytest.fixture(scope="module")
def citations_2025(provisions_2025):
    return provisions_to_citations(provisions_2025)


@pytest.mark.parametrize("written, expected", [
    ("GB/T43153-2023", ("GB/T 43153", 2023)),
    ("GB/T 43153-2023", ("GB/T 43153", 2023)),
    ("GB/T 43153—2023", ("GB/T 43153", 2023)),
    ("GB/T 43153–2023", ("GB/T 43153", 2023)),
    ("GB／T ４３１５３－２０２３", ("GB/T 43153", 2023)),
    ("DB3502/T091-2022", ("DB3502/T 091", 2022)),
    ("DB3502/T 091—2022", ("DB3502/T 091", 2022)),
    ("ＤＢ３５０２／Ｔ０９１－２０２２", ("DB3502/T 091", 2022)),
    ("DB3502/T 91-2022", ("DB3502/T 091", 2022)),
    ("GB 3100-93", ("GB 3100", 1993)),
    ("GB/T 1.1-2020", ("GB/T 1.1", 2020)),
    ("MZ/T 064", ("MZ/T 064", None)),
])
def test_normalize_code_handles_width_space_and_dash_variants(written, expected):
    assert normalize_code(written) == expected


@pytest.mark.parametrize("text", ["ISO 9001", "2023年", "试行", "GB/T43153-2023 和 GB/T 1.1-2020"])
def test_normalize_code_refuses_what_is_not_one_code(text):
    assert normalize_code(text) is None


def test_first_provision_cites_four_documents_with_relations_codes_and_spans(by_id):
    text = by_id[f"{N}:1:1"]["standard_text"]
    cits = standard_text_to_citations(text)
    got = [(c["seq"], c["relation"], c["title_as_written"], c["code_as_written"], c["code"], c["code_year"],
            text[c["span_start"]:c["span_end"]]) for c in cits]
    assert got == [
        (1, "参照", "居家养老上门服务基本规范", "GB/T43153-2023", "GB/T 43153", 2023,
         "《居家养老上门服务基本规范》(GB/T43153-2023)"),
        (2, "参照", "福建省特困人员认定办法", None, None, None, "《福建省特困人员认定办法》"),
        (3, "按照", "厦门市社区公益性养老服务基本要求", "DB3502/T091-2022", "DB3502/T 091", 2022,
         "《厦门市社区公益性养老服务基本要求》(DB3502/T091-2022)"),
        (4, "按照", "厦门市困难群众基本生活保障办法", None, None, None, "《厦门市困难群众基本生活保障办法》"),
    ]


def test_nested_angle_title_is_kept_whole(by_id):
    cits = standard_text_to_citations(by_id[f"{N}:1:3"]["standard_text"])
    assert cits[-1]["title_as_written"] == (
        "厦门市民政局 厦门市财政局关于转发<福建省民政厅 福建省财政厅政府购买农村留守儿童和困境儿童关爱服务项目"
        "暂行实施办法>的通知")
    assert [c["title_as_written"] for c in cits][2] == "厦门市社区老年人巡民政、教访关爱服务规范"


def test_issuer_prefix_before_the_title(by_id):
    text = by_id[f"{N}:17:1"]["standard_text"]
    assert text == "参照民政部《救助管理机构工作规程》,按照厦门市救助站相关管理工作规范执行"
    [c] = standard_text_to_citations(text)
    assert (c["relation"], c["issuer_prefix"], c["title_as_written"]) == ("参照", "民政部", "救助管理机构工作规程")
    assert text[c["span_start"]:c["span_end"]] == "民政部《救助管理机构工作规程》"


def test_unbracketed_title_with_doc_number(by_id):
    text = by_id[f"{N}:17:4"]["standard_text"]
    [c] = standard_text_to_citations(text)
    assert c["doc_number"] == "厦府办〔2024〕9号"
    assert c["title_delimited"] is False
    assert c["title_as_written"] == "厦门市人民政府办公厅关于进一步推进厦门城市普惠定制型商业医疗保险工作若干事项的通知"
    assert text[c["span_start"]:c["span_end"]] == c["title_as_written"] + "(厦府办〔2024〕9号)"


def test_texts_without_documents_give_no_citation(by_id):
    assert standard_text_to_citations(by_id[f"{N}:17:5"]["standard_text"]) == []
    assert standard_text_to_citations(by_id[f"{N}:17:6"]["standard_text"]) == []
    assert standard_text_to_citations("") == [] and standard_text_to_citations(None) == []


def test_bare_code_bare_doc_number_and_nested_title_marks():
    cits = standard_text_to_citations("按照GB/T 43153—2023及厦府办〔2024〕9号执行,参照《关于印发《某办法》的通知》(试行说明)")
    assert [(c["relation"], c["title_as_written"], c["code"], c["code_year"], c["doc_number"]) for c in cits] == [
        ("按照", None, "GB/T 43153", 2023, None),
        ("按照", None, None, None, "厦府办〔2024〕9号"),
        ("参照", "关于印发《某办法》的通知", None, None, None),  # (试行说明) is a remark, not a reference
    ]


def test_db3502_t091_cited_with_five_years_in_the_2025_list(citations_2025):
    years = defaultdict(set)
    for c in citations_2025:
        if c["code"] == "DB3502/T 091":
            years[c["code_year"]].add(c["provision_id"].removeprefix(f"{N}:"))
    assert {y: len(p) for y, p in years.items()} == {2022: 24, 2023: 6, 2024: 6, 2020: 4, 2021: 1}
    assert years[2023] == {"6:2", "7:2", "8:2", "9:2", "10:2", "11:2"}
    assert years[2024] == {"6:3", "7:3", "8:3", "9:3", "10:3", "11:3"}
    assert years[2020] == {"12:1", "13:2", "14:1", "16:1"}
    assert years[2021] == {"12:2"}


def test_2025_citations_checked_against_the_registers(citations_2025, by_id):
    assert len(citations_2025) == 201
    unknown = [c for c in citations_2025 if c["register_status"] != "known"]
    assert [(c["citation_id"], c["register_status"], c["title"]) for c in unknown] == [
        (f"{N}:1:3:3", "near_match", None)]
    assert all(c["title"] for c in citations_2025 if c["register_status"] == "known")
    # spans are spans of the published cell
    for c in citations_2025:
        text = by_id[c["provision_id"]]["standard_text"]
        if c["title_as_written"] is not None:
            assert text[c["title_start"]:c["title_end"]] == c["title_as_written"]
        if c["code_as_written"] is not None:
            assert text[c["code_start"]:c["code_end"]] == c["code_as_written"]
    # the register records GB/T 43153's edition; DB3502/T 091's year is not verified and stays NULL
    assert {(c["code"], c["canonical_year"]) for c in citations_2025 if c["code"]} == {
        ("GB/T 43153", 2023), ("DB3502/T 091", None)}


def test_register_gaps_list_the_garbled_title_for_a_maintainer(citations_2025):
    assert citations_to_register_gaps(citations_2025) == [{
        "register_status": "near_match", "code": None, "title_as_written": "厦门市社区老年人巡民政、教访关爱服务规范",
        "citation_ids": [f"{N}:1:3:3"]}]


def test_citation_rows_have_the_schema_columns(citations_2025):
    assert set(citations_2025[0]) == set(TABLES["citations"].column_names)


def test_match_title_known_near_and_unknown():
    reg = load_registers()
    assert match_title("厦门市社区老年人巡访关爱服务规范", reg)[:2] == ("known", "厦门市社区老年人巡访关爱服务规范")
    assert match_title("厦门市社区老年人巡民政、教访关爱服务规范", reg)[:2] == ("near_match", "厦门市社区老年人巡访关爱服务规范")
    assert match_title("全国服务类社会救助试点方案", reg)[:2] == ("unknown", None)


def test_register_refuses_duplicates_and_unnormalized_codes():
    with pytest.raises(ValueError, match="listed twice"):
        Registers.of([Standard("GB/T 1", "甲"), Standard("GB/T 1", "乙")], [])
    with pytest.raises(ValueError, match="not a normalized code"):
        Registers.of([Standard("GB/T43153", "居家养老上门服务基本规范")], [])
    with pytest.raises(ValueError, match="title"):
        Registers.of([], [Document("甲"), Document("甲")])
