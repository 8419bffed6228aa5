"""`make report`: GX Data Docs plus the findings page, opened in headless Chromium and checked on the real notices."""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from pathlib import Path
from urllib.parse import unquote, urlparse

import duckdb
import lxml.html
import pytest

from pipeline.warehouse.expectations import load_suites
from pipeline.refresh import refresh
from pipeline.report import write_report
from pipeline.report.findings import Finding, Source, evidence_span, highlight
from pipeline.report.pages import findings_page
from tests.conftest import ROOT
from tests.test_makefile import make
from tests.test_refresh import copy_raw

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NOTICE = "厦民〔2025〕95号"


def chromium_dom(page: Path, tmp: Path) -> lxml.html.HtmlElement:
    """Open a page in headless Chromium and return the DOM it rendered."""
    assert CHROMIUM, "headless Chromium is needed: apt-get install chromium fonts-noto-cjk"
    r = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        f"--user-data-dir={tmp / 'chromium-profile'}", "--dump-dom", page.resolve().as_uri()],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "<body" in r.stdout, r.stderr[-2000:]
    return lxml.html.fromstring(r.stdout)


def local_target(page: Path, href: str) -> Path:
    """Resolve a relative link of a report page to the file it opens."""
    return (page.parent / unquote(urlparse(href).path)).resolve()


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    raw = copy_raw(tmp)
    wh = tmp / "wh" / "policy.duckdb"
    refresh(raw, wh, staging_dir=tmp / "staging")
    out = tmp / "reports"
    r = make("report", f"WAREHOUSE={wh}", f"REPORTS={out}")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"wrote {out / 'index.html'}" in r.stdout
    return tmp, wh, out


@pytest.fixture(scope="module")
def findings_dom(report):
    tmp, _, out = report
    return chromium_dom(out / "findings.html", tmp)


def test_entry_page_links_data_docs_findings_and_every_suite(report):
    tmp, _, out = report
    index = out / "index.html"
    dom = chromium_dom(index, tmp)
    assert dom.get_element_by_id("gate-status").text_content() == "passed"
    docs = local_target(index, dom.get_element_by_id("data-docs").get("href"))
    assert docs == (out / "data_docs" / "index.html").resolve() and docs.is_file()
    assert local_target(index, dom.get_element_by_id("findings").get("href")) == (out / "findings.html").resolve()
    suites = {a.text_content(): a.get("href") for a in dom.xpath('//table[@id="suites"]//tr[@class="suite"]//a')}
    assert set(suites) == {s.name for s in load_suites()}
    for name, href in suites.items():
        page = local_target(index, href)
        assert page.is_file() and "Expectation Validation Result" in page.read_text(encoding="utf-8"), name
    assert "expectations/service_provisions.html" in (out / "data_docs" / "index.html").read_text(encoding="utf-8")


def test_counts_per_rule_match_dq_flags(report, findings_dom):
    _, wh, _ = report
    con = duckdb.connect(str(wh), read_only=True)
    expected = dict(con.execute("SELECT rule || '/' || severity, count(*) FROM dq_flags GROUP BY 1").fetchall())
    con.close()
    shown = {f"{tr.get('data-rule')}/{tr.xpath('./td')[1].text_content()}": int(tr.xpath('./td[contains(@class, "total")]')[0].text_content())
             for tr in findings_dom.xpath('//table[@id="counts"]//tr[@class="rule-count"]')}
    assert shown == expected
    assert len(findings_dom.xpath('//tr[@class="finding"]')) == sum(expected.values())


def test_db3502_t091_years_are_marked_in_their_standard_text_with_source_and_suggestion(report, findings_dom):
    _, wh, out = report
    section = findings_dom.get_element_by_id("rule-standard_year_differs")
    assert [h.text_content().split(" ")[0] for h in section.xpath('.//h3[@class="notice"]')] == [NOTICE]
    rows = section.xpath('.//tr[@class="finding"]')
    marks = Counter(m.text_content() for tr in rows for m in tr.xpath('./td[@class="cell"]//mark'))
    # The list cites DB3502/T091 with 2022 twenty-four times; each other year is a finding (README example 2).
    assert marks == {"DB3502/T091-2020": 4, "DB3502/T091-2021": 1, "DB3502/T091-2023": 6, "DB3502/T091-2024": 6}
    assert {tr.xpath('./td[@class="suggestion"]')[0].text_content() for tr in rows} == {"DB3502/T091-2022"}
    assert {tr.xpath('.//span[starts-with(@class, "review")]')[0].text_content() for tr in rows} == {"open"}
    con = duckdb.connect(str(wh), read_only=True)
    for tr in rows:
        flag_id = tr.get("id").removeprefix("flag-")
        text, start, end, raw_file, row = con.execute(
            "SELECT p.standard_text, f.span_start, f.span_end, p.raw_file, p.source_row FROM dq_flags f "
            "JOIN citations c ON c.citation_id = f.record_id JOIN service_provisions p ON p.provision_id = c.provision_id "
            "WHERE f.flag_id = ?", [flag_id]).fetchone()
        cell = tr.xpath('./td[@class="cell"]')[0]
        # the whole published cell is shown, the evidence marked at the flag's span
        assert cell.text_content().startswith(text)
        assert cell.text == text[:start] and cell.xpath(".//mark")[0].text_content() == text[start:end]
        link = tr.xpath('.//a[@class="source"]')[0]
        assert link.text_content() == raw_file
        assert local_target(out / "findings.html", link.get("href")) == (ROOT / "raw" / raw_file).resolve()
        assert f"table 0, row {row}, col " in tr.xpath('.//a[@class="source"]')[0].getparent().text_content()
    con.close()


def test_chinese_text_arrives_intact_and_a_cjk_font_is_installed(findings_dom):
    assert findings_dom.xpath('//meta[@charset="utf-8"]')
    assert any(NOTICE in h.text_content() for h in findings_dom.xpath('//h3[@class="notice"]'))
    assert "《厦门市社区公益性养老服务基本要求》" in findings_dom.text_content()
    fonts = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True).stdout
    assert fonts.strip(), "no Chinese font: apt-get install fonts-noto-cjk"


def test_report_on_a_warehouse_that_fails_names_the_failed_expectation(report, tmp_path):
    tmp, wh, _ = report
    shutil.copy(wh, tmp_path / "broken.duckdb")
    con = duckdb.connect(str(tmp_path / "broken.duckdb"))  # a warehouse spoiled by hand: one provision twice
    con.execute(f"INSERT INTO service_provisions SELECT * FROM service_provisions WHERE provision_id = '{NOTICE}:1:1'")
    con.close()
    index = write_report(tmp_path / "broken.duckdb", tmp_path / "out")
    dom = chromium_dom(index, tmp_path)
    assert dom.get_element_by_id("gate-status").text_content() == "FAILED"
    failed = [li.text_content() for li in dom.xpath('//ul[@id="failed-expectations"]/li[@class="critical"]')]
    assert any(f.startswith("service_provisions: expect_column_values_to_be_unique(provision_id) failed - 2 offending "
                            f"row(s): provision_id={NOTICE}:1:1; provision_id={NOTICE}:1:1") for f in failed), failed


# --- the findings page from rows built here -------------------------------------------------------------------

def flag(**over) -> dict:
    base = {"flag_id": "0123456789abcdef", "notice_id": "N", "rule": "some_rule", "severity": "error",
            "record_table": "service_provisions", "record_id": "N:1:1", "column_name": "standard_text",
            "evidence": "GB/T1-2020", "span_start": 9, "span_end": 19, "suggestion": "GB/T1-2021", "message": "m",
            "locator": "f.html table 0 row 2", "raw_file": "f.html", "raw_sha256": "x", "review_status": "open",
            "canonical_value": None, "reviewer": None, "decided_on": None}
    return {**base, **over}


def test_evidence_is_marked_at_its_span_else_found_else_shown_apart():
    text = "按照<福建省>规定(GB/T1-2020)和GB/T1-2020"
    assert evidence_span(text, "GB/T1-2020", 22, 32) == (22, 32)  # the second citation, as the flag says
    assert evidence_span(text, "GB/T1-2020", 0, 10) == (10, 20)  # a span that misses the evidence: its first match
    assert evidence_span(text, "GB/T9", None, None) is None
    assert highlight(text, (22, 32)) == "按照&lt;福建省&gt;规定(GB/T1-2020)和<mark>GB/T1-2020</mark>"
    assert highlight("", (0, 0)) == '<mark><span class="empty">∅</span></mark>'


def test_findings_page_groups_by_rule_and_notice_and_shows_review_decisions():
    accepted = flag(flag_id="aaaaaaaaaaaaaaaa", review_status="accepted", canonical_value="GB/T1-2021",
                    reviewer="qa.li", decided_on="2025-08-01")
    other_notice = flag(flag_id="bbbbbbbbbbbbbbbb", notice_id="M")
    missing = flag(flag_id="cccccccccccccccc", rule="another_rule", severity="warning", record_id="N:9:9")
    cell = "按照<规范>(GB/T1-2020)执行"
    findings = [Finding(accepted, "service_provisions", "N:1:1", "standard_text", cell, Source("f.html", 0, 2, 4)),
                Finding(other_notice, "service_provisions", "N:1:1", "standard_text", cell, Source("f.pdf", 0, 2, 4, 3)),
                Finding(missing, "service_provisions", "N:9:9", "standard_text", None, Source("f.html"))]
    html = findings_page(findings, lambda f, page: f"../raw/{f}" + (f"#page={page}" if page else ""))
    dom = lxml.html.fromstring(html)
    assert [s.get("id") for s in dom.xpath('//section[@class="rule"]')] == ["rule-some_rule", "rule-another_rule"]
    assert [h.text_content() for h in dom.get_element_by_id("rule-some_rule").xpath(".//h3")] == ["M (1)", "N (1)"]
    row = dom.get_element_by_id("flag-aaaaaaaaaaaaaaaa")
    assert row.xpath('./td[@class="cell"]//mark')[0].text_content() == "GB/T1-2020"
    assert row.xpath('./td[@class="cell"]')[0].text_content().startswith("按照<规范>(GB/T1-2020)执行")
    assert "&lt;规范&gt;" in html and "<规范>" not in html
    assert row.xpath('.//span[starts-with(@class, "review")]')[0].text_content() == "accepted"
    assert "canonical: GB/T1-2021" in row.text_content() and "qa.li 2025-08-01" in row.text_content()
    assert dom.get_element_by_id("flag-bbbbbbbbbbbbbbbb").xpath('.//a[@class="source"]')[0].get("href") == "../raw/f.pdf#page=3"
    assert "is not in the warehouse" in dom.get_element_by_id("flag-cccccccccccccccc").text_content()
