"""The same 18 tasks from PDFs: the real 5-page print, and a print with running headers, page numbers and
paragraphs that page breaks split (built here with reportlab from the published page's paragraphs)."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from pipeline.ingest.decode import decode_bytes
from pipeline.errors import CorruptFile, EmptyInput, NeedsOCR
from pipeline.extract.blocks import html_to_blocks, join_wrapped, pdf_to_blocks
from pipeline.extract.html import parse_html
from tests.test_tasks_html import EXPECTED_UNITS, NOTICE, extract, units_by_task

ROOT = Path(__file__).resolve().parent.parent
PDF_2009 = ROOT / "raw" / "xm-gov-2009-254.pdf"
HTML_2009 = ROOT / "raw" / "xm-gov-2009-254.html"
HEADER = "厦门市人民政府办公厅文件"


def records(x):
    tasks = [(t["task_id"], t["section_title"], t["subsection_title"], t["task_no"], t["task_text"]) for t in x.tasks]
    units = [(u["unit_id"], u["mention_as_written"], u["unit_as_written"], u["agency_id"]) for u in x.units]
    return tasks, units


@pytest.fixture(scope="module")
def html_blocks():
    return html_to_blocks(parse_html(decode_bytes(HTML_2009.read_bytes())[0]))


@pytest.fixture(scope="module")
def html_x(html_blocks):
    return extract(html_blocks)


@pytest.fixture(scope="module")
def pdf_blocks():
    return pdf_to_blocks(PDF_2009.read_bytes(), file=PDF_2009.name)


@pytest.fixture(scope="module")
def pdf_x(pdf_blocks):
    sha = hashlib.sha256(PDF_2009.read_bytes()).hexdigest()
    return extract(pdf_blocks, source_format="pdf", raw_file=PDF_2009.name, sha=sha)


def test_wrapped_lines_join_inside_words_and_numbers():
    assert join_wrapped(["到20", "12年，建档率达到9", "5%以上"]) == "到2012年，建档率达到95%以上"
    assert join_wrapped(["新建养老床位13", "00张。"]) == "新建养老床位1300张。"
    assert join_wrapped(["DB3502/", "T091"]) == "DB3502/T091"
    assert join_wrapped(["home-based", "elderly care"]) == "home-based elderly care"
    assert join_wrapped(["关于印发 推进居家养老", "服务工作"]) == "关于印发 推进居家养老服务工作"


def test_real_pdf_paragraphs_are_joined_lines(pdf_blocks):
    title = pdf_blocks[0]
    assert title.text == "厦门市人民政府办公厅关于印发 推进居家养老服务工作任务分解 方案的通知"  # centered, 2 lines
    assert title.locator == "page 1 lines 1-2"
    p = next(b for b in pdf_blocks if b.text.startswith("2.各级各类医疗卫生服务机构"))
    assert (p.locator, p.page, p.pages) == ("page 2 lines 2-9", 2, (2,))
    assert "到2012年，老年人健康档案建档率城市达到95%以上，农村达到60%以上" in p.text
    assert p.bbox is not None and p.bbox[0] == pytest.approx(90.1, abs=0.2)
    assert not any(b.joined_page_break for b in pdf_blocks)  # this print has no paragraph across pages


def test_real_pdf_gives_the_18_tasks_of_the_html(pdf_x, html_x):
    assert units_by_task(pdf_x) == EXPECTED_UNITS
    assert records(pdf_x) == records(html_x)
    assert [t["target_text"] for t in pdf_x.targets] == [t["target_text"] for t in html_x.targets]


def test_real_pdf_lineage(pdf_x):
    t = next(t for t in pdf_x.tasks if t["task_id"] == f"{NOTICE}:二.五.1")
    assert (t["locator"], t["page"], t["pages"]) == ("page 4 lines 22-23", 4, [4])
    lead = next(u for u in pdf_x.units if u["task_id"] == t["task_id"] and u["role"] == "lead")
    assert (lead["locator"], lead["page"]) == ("page 5 line 1", 5)  # its 牵头单位 is on the next page
    assert all(r["source_format"] == "pdf" and r["page"] for r in pdf_x.tasks + pdf_x.units + pdf_x.targets)
    assert [f["rule"] for f in pdf_x.findings] == ["truncated_unit_list"]
    assert pdf_x.findings[0]["locator"] == "page 2 line 26"


# --- a print with page furniture and paragraphs split by page breaks -------------------------------


def print_notice(paragraphs: list[str], *, page_height: float = 420.0, page_label: str = "- {page} -",
                 header: str = HEADER) -> tuple[bytes, int]:
    """Print paragraphs on small pages with a running header and page numbers; return (pdf, splits)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    font, size, leading, gap = "STSong-Light", 12.0, 18.0, 10.0
    width, left, right, top, bottom = 420.0, 50.0, 370.0, 60.0, 60.0
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(width, page_height))
    page, y, splits = 1, page_height - top, 0

    def furniture() -> None:
        c.setFont(font, 9)
        c.drawCentredString(width / 2, page_height - 30, header)
        c.drawCentredString(width / 2, 25, page_label.format(page=page))
        c.setFont(font, size)

    furniture()
    for text in paragraphs:
        lines, line = [], ""
        for ch in text:  # wrap by width, anywhere: inside words and numbers too
            if pdfmetrics.stringWidth(line + ch, font, size) > right - left:
                lines.append(line)
                line = ""
            line += ch
        lines.append(line)
        for i, ln in enumerate(lines):
            if y < bottom:
                c.showPage()
                page += 1
                y = page_height - top
                furniture()
                splits += i > 0
            c.drawString(left, y, ln)
            y -= leading
        y -= gap
    c.showPage()
    c.save()
    return buf.getvalue(), splits


@pytest.fixture(scope="module")
def furnished(html_blocks):
    paragraphs = [b.text for b in html_blocks if b.locator.startswith("/html/body/div")]
    data, splits = print_notice(paragraphs)
    assert splits >= 2  # the layout does break paragraphs across pages, or this test proves nothing
    return data, pdf_to_blocks(data, file="furnished.pdf")


def test_real_pdf_paragraphs_are_the_page_s_paragraphs(pdf_blocks, html_blocks):
    html = [b.text for b in html_blocks if b.locator.startswith("/html/body/div")]
    cut = next(i for i, t in enumerate(html) if t.endswith("纳入医"))
    html[cut : cut + 2] = [html[cut] + html[cut + 1]]  # the print has that paragraph whole
    assert [b.text for b in pdf_blocks] == html


def test_running_headers_and_page_numbers_are_dropped(furnished, html_blocks):
    texts = [b.text for b in furnished[1]]
    assert texts == [b.text for b in html_blocks if b.locator.startswith("/html/body/div")]
    assert not any(HEADER in t for t in texts)
    assert not any(t.startswith("- ") for t in texts)
    import pdfplumber

    with pdfplumber.open(io.BytesIO(furnished[0])) as pdf:
        assert len(pdf.pages) > 5 and HEADER in pdf.pages[3].extract_text()


def test_paragraphs_split_by_page_breaks_are_joined_and_flagged(furnished, html_x):
    data, blocks = furnished
    joined = [b for b in blocks if b.joined_page_break]
    assert joined and all(len(b.pages) == 2 and " + page " in b.locator for b in joined)
    x = extract(blocks, source_format="pdf", raw_file="furnished.pdf")
    assert records(x) == records(html_x)
    flagged = [f for f in x.findings if f["rule"] == "paragraph_split_by_page_break" and " + page " in f["locator"]]
    assert flagged and {f["locator"] for f in flagged} <= {b.locator for b in joined}
    texts = {t["task_id"]: t["task_text"] for t in x.tasks}
    for f in flagged:  # the evidence shows the two sides of the break, which the joined text runs across
        before, after = f["evidence"].strip("…").split(" | ")
        assert before and after and before + after in texts[f["record_id"]]


@pytest.mark.parametrize("label", ["第 {page} 页", "{page}", "— {page} —"])
def test_page_number_styles_are_dropped(html_blocks, label):
    paragraphs = [b.text for b in html_blocks if b.locator.startswith("/html/body/div")][:30]
    data, _ = print_notice(paragraphs, page_label=label, header="厦府办〔2009〕254号")
    blocks = pdf_to_blocks(data, file="numbered.pdf")
    assert [b.text for b in blocks] == paragraphs  # every paragraph back, and nothing else
    # The running header carries digits (its 文号) and still goes, while the body's own 文号 line stays.
    assert sum(b.text == "(厦府办〔2009〕254号)" for b in blocks) == 1
    assert not any(b.text == "厦府办〔2009〕254号" for b in blocks)


def test_pdf_errors_name_the_file():
    with pytest.raises(EmptyInput):
        pdf_to_blocks(b"", file="empty.pdf")
    with pytest.raises(CorruptFile, match="broken.pdf"):
        pdf_to_blocks(b"%PDF-1.4 this is not a pdf", file="broken.pdf")
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.rect(100, 100, 200, 200)  # a page with graphics but no text layer, like a scan
    c.showPage()
    c.save()
    with pytest.raises(NeedsOCR, match="scan.pdf"):
        pdf_to_blocks(buf.getvalue(), file="scan.pdf")
