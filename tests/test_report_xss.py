"""Published text that breaks an expectation reaches the report as text on every page, never as markup.

A tiny warehouse is built here: one notice whose 文号 is a script (it fails the 文号 regex, so GX Data Docs
lists it among the unexpected values), one whose 文号 carries an ampersand and brackets (legit text that
must read as published, not double-escaped), and a finding whose evidence is the script. Every page the
report writes is opened in headless Chromium, all in one browser run (each page in a frame of a harness
page that reads the frames' documents: --allow-file-access-from-files), and the pages that carry the text
are also opened on their own: no script of the data ran, and the text is shown as written.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import subprocess
from pathlib import Path

import lxml.html
import pytest

from pipeline.report import write_report
from tests.fixtures.warehouse import warehouse_from_rows
from tests.test_report import CHROMIUM, chromium_dom

HOSTILE = ("<script>document.title='pwned';document.documentElement.dataset.pwned='script'</script>"
           "<img src=x onerror=\"document.title='pwned';document.documentElement.dataset.pwned='img'\">")
ODD = "厦民〔2025〕96号 & <附件>"  # fails the 文号 regex too; legit text with HTML's special characters
NOW = dt.datetime(2025, 7, 18, 8, 0)


HARNESS = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>harness</title></head><body>
{frames}<pre id="seen"></pre><script>
window.addEventListener("load", () => {{
  const seen = [...document.querySelectorAll("iframe")].map(f => {{
    const d = f.contentDocument;
    return {{page: f.dataset.page, title: d.title, pwned: d.documentElement.dataset.pwned || null,
             text: d.documentElement.textContent, images: [...d.images].map(i => i.getAttribute("src"))}};
  }});
  document.getElementById("seen").textContent = JSON.stringify(seen);
}});
</script></body></html>"""


def chromium_frames(pages: list[Path], tmp: Path) -> dict[Path, dict]:
    """Load every page in one headless Chromium run; return what each page's document became."""
    harness = tmp / "harness.html"
    harness.write_text(HARNESS.format(frames="".join(
        f'<iframe data-page="{i}" src="{html.escape(p.resolve().as_uri())}"></iframe>' for i, p in enumerate(pages))),
        encoding="utf-8")
    r = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        "--allow-file-access-from-files", "--host-resolver-rules=MAP * ~NOTFOUND",
                        f"--user-data-dir={tmp / 'harness-profile'}",
                        "--dump-dom", harness.as_uri()], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    seen = json.loads(lxml.html.fromstring(r.stdout).get_element_by_id("seen").text)
    return {pages[int(s["page"])]: s for s in seen}


def notice(notice_id: str, doc_number: str, raw_file: str) -> dict:
    return {"notice_id": notice_id, "version": 1, "title": "服务类社会救助清单", "doc_number": doc_number,
            "issuer": "厦门市民政局", "published_on": dt.date(2025, 7, 18), "format": "html", "formats": ["html"],
            "raw_file": raw_file, "raw_sha256": "a" * 64, "ingested_at": NOW, "version_date": NOW, "valid_from": NOW,
            "is_current": True, "status": "published"}


def raw_file(name: str, notice_id: str) -> dict:
    return {"raw_file": name, "raw_sha256": "a" * 64, "notice_id": notice_id, "role": "page", "format": "html",
            "size_bytes": 10, "status": "loaded", "ingested_at": NOW, "current": True}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("xss")
    flag = {"flag_id": "0123456789abcdef", "notice_id": "N1", "rule": "some_rule", "severity": "error",
            "record_table": "service_provisions", "record_id": "N1:1:1", "column_name": "standard_text",
            "evidence": HOSTILE, "suggestion": HOSTILE, "message": HOSTILE, "locator": "a.html table 0 row 2",
            "raw_file": "a.html", "raw_sha256": "a" * 64, "review_status": "open"}
    warehouse_from_rows(tmp / "policy.duckdb", {"notices": [notice("N1", HOSTILE, "a.html"), notice("N2", ODD, "b.html")],
                                                "raw_files": [raw_file("a.html", "N1"), raw_file("b.html", "N2")],
                                                "dq_flags": [flag]})
    out = tmp / "reports"
    write_report(tmp / "policy.duckdb", out, raw_dir=tmp)
    pages = sorted(out.rglob("*.html"))
    return out, pages, chromium_frames(pages, tmp), tmp


def notices_validation_page(out: Path) -> Path:
    (page,) = (out / "data_docs" / "validations" / "notices").glob("report/*/*.html")
    return page


def test_the_hostile_value_reaches_gx_data_docs(report):
    out, *_ = report
    html = notices_validation_page(out).read_text(encoding="utf-8")
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;" in html  # it is there, escaped once
    assert "<script>document.title" not in html


def test_no_script_of_the_data_runs_on_any_page(report):
    out, pages, frames, _ = report
    assert len(pages) > 30 and {out / "index.html", out / "findings.html", notices_validation_page(out)} <= set(pages)
    assert set(frames) == set(pages)  # every written page was loaded
    for page, seen in frames.items():
        written = lxml.html.parse(str(page)).getroot().findtext(".//title")
        assert (seen["title"], seen["pwned"]) == (written, None), page
        assert "x" not in seen["images"], page


def test_the_hostile_and_the_odd_text_read_as_published(report):
    out, _, frames, tmp = report
    validation = chromium_dom(notices_validation_page(out), tmp)
    assert validation.get("data-pwned") is None and validation.findtext(".//title") != "pwned"
    cells = [td.text_content().strip() for td in validation.iter("td")]
    assert HOSTILE in cells and ODD in cells  # shown whole, as text, not double-escaped
    assert not validation.xpath("//img[@src='x']")
    entry = chromium_dom(out / "index.html", tmp)
    assert "doc_number='<script>document.title=" in entry.text_content() and ODD in entry.text_content()
    findings = chromium_dom(out / "findings.html", tmp)
    assert HOSTILE in findings.text_content() and not findings.xpath("//img[@src='x']")
    for page in (out / "index.html", out / "findings.html"):
        assert frames[page]["pwned"] is None and "<script>document.title=" in frames[page]["text"]


def test_the_harness_would_see_a_script_that_ran(tmp_path):
    """The check above can fail: a page that does run the hostile text is caught by the same harness."""
    bad = tmp_path / "bad.html"
    bad.write_text(f"<!DOCTYPE html><html><head><title>t</title></head><body><p>{HOSTILE}</p></body></html>",
                   encoding="utf-8")
    seen = chromium_frames([bad], tmp_path)[bad]
    assert seen["title"] == "pwned" and seen["pwned"] in ("script", "img") and "x" in seen["images"]
