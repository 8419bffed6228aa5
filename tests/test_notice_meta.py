"""Notice metadata of every real page and document (d01–d14) against truth.json, field by field.

Truth gives, per file (`meta` of tests/fixtures/real/truth.json; null = not printed):
  d01, d02  title, doc_number, issuer, published_on, pubdate_meta (→ posted_on), source_printed (→ source), index_no
            (d01 also written_on)
  d03       title, doc_number, index_no, issuer, firstpublishedtime_meta (→ posted_on)
  d04       title, doc_number, index_no, published_on, pubdate_meta, source_printed, site
  d05       title (the attachment's own: → attachment_title), attachment_label, doc_number, issuer
  d06       title, doc_number, issuer          d07  title, doc_number, index_no, date_printed (→ written_on)
  d08       title, doc_number, issuer          d09  title, issuer (from the title), doc_number
  d10       title (→ attachment_title), attachment_label, issuer (from the title), doc_number
  d11       title, doc_number; issuer is "not printed as a document field" (→ None)
  d12       title, doc_number, issuer, written_on, index_no
  d13       title, doc_number, issuer, written_on   d14  title, doc_number, issuer, date_printed (→ written_on)
Not covered here: adopted_on (d03), decision_date (d02), year/ole_user/core_properties (spreadsheets),
page_printed (d06), budget_department (d07), as_of_printed (d08) — no meta field reads them.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from pipeline.extract.html import parse_html
from pipeline.ingest.decode import decode_bytes
from pipeline.meta.body import html_to_page
from pipeline.meta.document import blocks_to_document_meta, cn_date
from pipeline.meta.page import normalize_doc_number

REAL = Path(__file__).resolve().parent / "fixtures" / "real"
TRUTH = {k: v["meta"] for k, v in json.loads((REAL / "truth.json").read_text(encoding="utf-8")).items()}
# truth key -> meta key, where the names differ
RENAMED = {"pubdate_meta": "posted_on", "firstpublishedtime_meta": "posted_on", "source_printed": "source",
           "date_printed": "written_on"}
NOT_READ = {"notes", "title_tag", "adopted_on", "adopted_printed", "gazette_issue", "decision_date", "byline_in_text",
            "page_printed", "budget_department", "pdf_creation_date", "unit_printed", "title_cell_full",
            "as_of_printed", "core_properties", "year", "ole_user", "container", "written_printed",
            "disclosure_printed", "cited_doc_numbers_not_own", "attachments_printed"}


def truth_value(file: str, key: str):
    """Return the truth value as printed: ISO dates as dates, annotations like ' (joint)' cut off."""
    value = TRUTH[file][key]
    if isinstance(value, str):
        if " — " in value and "not printed as a document field" in value:
            return None  # d11: the issuer appears only as 行使主体 in the rows
        value = value.split(" (")[0]
        if key.endswith("_on") or key.endswith("_meta") or key == "date_printed":
            return dt.date.fromisoformat(value[:10])
    return value


def expected(file: str, *, attachment: bool = False) -> dict:
    out = {}
    for key in TRUTH[file]:
        if key in NOT_READ:
            continue
        name = RENAMED.get(key, key)
        if attachment and key == "title":
            name = "attachment_title"  # an attachment's own title is a table title, never the notice's
        out[name] = truth_value(file, key)
    return out


def assert_meta(meta: dict, want: dict) -> None:
    got = {k: meta.get(k) for k in want}
    assert got == want


def page_meta(name: str) -> tuple[dict, list[dict]]:
    page = html_to_page(parse_html(decode_bytes((REAL / name).read_bytes())[0]))
    return page.meta, page.findings


@pytest.mark.parametrize("name", ["d01-nfra-zj-penalty-rowspan.html", "d02-nfra-hq-penalty-keyvalue.html",
                                  "d03-govcn-gazette-notable.html", "d04-zjdrc-deqing-layoutonly.html"])
def test_page_metadata_matches_truth(name):
    meta, _ = page_meta(name)
    assert_meta(meta, expected(name))


def test_pages_list_which_truth_fields_they_are_checked_on():
    assert sorted(expected("d01-nfra-zj-penalty-rowspan.html")) == [
        "doc_number", "index_no", "issuer", "posted_on", "published_on", "source", "title", "written_on"]
    assert sorted(expected("d04-zjdrc-deqing-layoutonly.html")) == [
        "doc_number", "index_no", "posted_on", "published_on", "site", "source", "title"]


def test_meta_tag_and_label_disagree_on_the_source_of_d01():
    meta, findings = page_meta("d01-nfra-zj-penalty-rowspan.html")
    assert meta["source"] == "浙江监管局" and meta["meta_sources"]["source"] == "label:cms-article"
    assert [(f["rule"], f["field"], f["values"]) for f in findings] == [
        ("metadata_sources_disagree", "source", {"label": "浙江监管局", "meta tag": "浙江"})]


def test_page_titles_lose_the_site_suffix_and_keep_their_characters():
    meta, _ = page_meta("d03-govcn-gazette-notable.html")
    # <title>: …2007　年末…的决议__2007年第23号国务院公报_中国政府网; the heading has no full-width space.
    assert meta["title"].endswith("调整2007年末国债余额限额的决议") and meta["meta_sources"]["title"] == "heading"
    meta, _ = page_meta("d02-nfra-hq-penalty-keyvalue.html")
    assert meta["doc_number"] == "金罚决字〔2024〕36号" and meta["meta_sources"]["doc_number"] == "title"


@pytest.mark.parametrize("printed, norm", [
    ("发改办财金规〔2019〕860 号", "发改办财金规〔2019〕860号"), ("沪保监发[2013]170号", "沪保监发〔2013〕170号"),
    ("厦民（2025）95号", "厦民〔2025〕95号"), ("闽政文［2009］150号", "闽政文〔2009〕150号"), ("穗府办 〔2024〕 1号", "穗府办〔2024〕1号"),
])
def test_doc_number_normalized_form(printed, norm):
    assert normalize_doc_number(printed) == norm


def test_label_values_in_any_shape():
    html = ("<html><head><meta name='ArticleTitle' content='关于做好某项工作的通知'></head><body>"
            "<table><tr><td>文　　号</td><td>某政办〔2024〕7号</td></tr></table>"
            "<dl><dt>索 引 号：</dt><dd>ABC-2024-01</dd></dl><ul><li>发布机构：某某市人民政府办公室</li></ul>"
            "<h1>关于做好某项工作的通知</h1><div class='TRS_Editor'><p>各单位：请依照执行，详见某政发〔2023〕1号。</p>"
            "<p>某某市人民政府办公室</p></div></body></html>")
    meta = html_to_page(parse_html(html)).meta
    assert (meta["doc_number"], meta["index_no"], meta["issuer"], meta["title"]) == (
        "某政办〔2024〕7号", "ABC-2024-01", "某某市人民政府办公室", "关于做好某项工作的通知")


def test_a_doc_number_on_its_own_line_under_the_title_counts_but_one_the_text_cites_does_not():
    own = ("<html><body><h1>关于印发某某办法的通知</h1><p>（某府〔2024〕3号）</p><div id='zoom'>"
           "<p>各单位：根据某发〔2020〕9号文件精神，制定本办法，请遵照执行。</p></div></body></html>")
    cited = own.replace("<p>（某府〔2024〕3号）</p>", "")
    assert html_to_page(parse_html(own)).meta["doc_number"] == "某府〔2024〕3号"
    assert html_to_page(parse_html(cited)).meta["doc_number"] is None


# --- documents ------------------------------------------------------------------------------------


def extracted_meta(name: str) -> dict:
    """The metadata the pipeline's own extractor reads from a real file (LibreOffice converts the DOC files)."""
    from pipeline.ingest.formats import detect_format
    from pipeline.stages import EXTRACTORS

    data = (REAL / name).read_bytes()
    return EXTRACTORS[detect_format(data, file=name)](data, name).meta


@pytest.mark.parametrize("name", ["d05-jx-rqsp-matters-list.pdf", "d06-ah-land-use-standard-p.pdf",
                                  "d07-sh-putuo-budget-2025.pdf"])
def test_pdf_metadata_matches_truth(name):
    meta = extracted_meta(name)
    want = expected(name, attachment=name.startswith("d05"))
    assert_meta(meta, want)
    if name.startswith("d05"):
        assert meta["title"] is None and meta["attachment_label"] == "附件1"


@pytest.mark.parametrize("name", ["d08-sx-sydw-signup-2025.xlsx", "d09-klmy-kjj-powers.xls",
                                  "d10-klmy-czj-powers-ole.xlsx", "d11-klmy-rf-powers-sheets.xlsx"])
def test_spreadsheet_metadata_matches_truth(name):
    meta = extracted_meta(name)
    want = expected(name, attachment=name.startswith("d10"))
    # d11 prints its title only with each sheet's kind (…指导目录（行政检查类） …): the shared part is the title.
    assert_meta(meta, want)


@pytest.mark.parametrize("name", ["d12-zj-nocert-catalog.doc", "d13-hn-njbt-2024.doc"])
def test_doc_metadata_matches_truth(name):
    meta = extracted_meta(name)
    assert_meta(meta, expected(name))
    for cited in TRUTH[name].get("cited_doc_numbers_not_own", ()):
        assert meta["doc_number"] != cited


def test_d12_names_its_attachments_and_addressee():
    meta = extracted_meta("d12-zj-nocert-catalog.doc")
    assert meta["attachments"][0] == {"label": "附件1", "title": "浙江辖内银行保险机构“无证明化”改革工作方案"}
    assert meta["addressee"].startswith("各银保监分局，各市司法局") and meta["issuer_from"] == "signature"


def test_d14_docx_prints_no_doc_number_of_its_own():
    from pipeline.extract.docx import docx_to_blocks

    meta = extracted_meta("d14-sh-insurance-exam-rules.docx")
    assert_meta(meta, expected("d14-sh-insurance-exam-rules.docx"))
    blocks = docx_to_blocks((REAL / "d14-sh-insurance-exam-rules.docx").read_bytes())
    assert any("沪保监发[2013]170号" in b.text for b in blocks)  # cited, so not its own


def test_gbt9704_header_and_footer_lines():
    lines = ["厦门市人民政府办公厅文件", "厦府办〔2009〕254号", "厦门市人民政府办公厅关于印发推进居家养老服务",
             "工作任务分解方案的通知", "各区人民政府，各有关单位：", "现将方案印发给你们，请认真贯彻落实。",
             "厦门市人民政府办公厅", "二〇〇九年十月十七日", "厦门市人民政府办公厅   2009年10月19日印发"]
    meta = blocks_to_document_meta(lines)
    assert (meta["doc_number"], meta["title"], meta["addressee"], meta["issuer"], meta["written_on"],
            meta["printed_by"], meta["printed_on"], meta["jurisdiction_code"]) == (
        "厦府办〔2009〕254号", "厦门市人民政府办公厅关于印发推进居家养老服务工作任务分解方案的通知", "各区人民政府，各有关单位",
        "厦门市人民政府办公厅", dt.date(2009, 10, 17), "厦门市人民政府办公厅", dt.date(2009, 10, 19), "350200")
    assert cn_date("2020年8月17日") == dt.date(2020, 8, 17) and cn_date("于2020年8月17日印发") is None
