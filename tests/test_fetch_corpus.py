"""The synthetic benchmark corpus (scripts/make_corpus.py): distinct notices of every kind, derived from real files."""

from __future__ import annotations

import hashlib
import io
import json
import sys
import zipfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import make_corpus  # noqa: E402

from pipeline.ingest.decode import decode_bytes  # noqa: E402
from pipeline.extract.html import html_to_grids, parse_html  # noqa: E402
from pipeline.model import RawFile  # noqa: E402
from pipeline.stages import raw_file_to_result  # noqa: E402

RAW = ROOT / "raw"
REAL = ROOT / "tests" / "fixtures" / "real"


def grid_of(data: bytes):
    text, _ = decode_bytes(data)
    return html_to_grids(parse_html(text))[0]


def result_of(name: str, data: bytes, notice_id: str):
    return raw_file_to_result(RawFile(path=name, sha256="0" * 64, format="", notice_id=notice_id), data)


def test_twenty_notices_hold_every_kind_and_a_hundred_the_documented_mix():
    assert set(make_corpus.kind_of(i) for i in range(20)) == set(make_corpus.MIX)
    assert Counter(make_corpus.kind_of(i) for i in range(100)) == Counter(make_corpus.MIX)
    notices = make_corpus.make_notices(100)
    exts = Counter(a.ext for n in notices for a in n.attachments)
    # 37 service lists: the 1st, 7th, … 37th with the list PDF, the 2nd, 14th, 26th with the list DOCX; each name
    # list has its XLSX, the budget notice its PDF
    assert exts == {"pdf": 7 + 1, "docx": 3, "xlsx": 12}


def test_every_notice_and_attachment_is_distinct_bytes_with_its_own_number():
    notices = make_corpus.make_notices(120)
    assert len({n.notice_id for n in notices}) == 120
    assert len({hashlib.sha256(n.data).hexdigest() for n in notices}) == 120
    files = [a.data for n in notices for a in n.attachments]
    assert len({hashlib.sha256(d).hexdigest() for d in files}) == len(files)
    assert len({n.path for n in notices}) == 120


def test_service_list_pages_vary_one_row_of_the_real_table():
    notices = [n for n in make_corpus.make_notices(12) if n.kind == "service_list"]
    real = grid_of((RAW / "xm-mzj-2025-095.html").read_bytes())
    varied_rows = []
    for n in notices:
        grid = grid_of(n.data)
        assert (grid.n_rows, grid.n_cols) == (real.n_rows, real.n_cols)
        diffs = [(r, c) for r in range(grid.n_rows) for c in range(grid.n_cols) if grid.value(r, c) != real.value(r, c)]
        assert len(diffs) == 1 and diffs[0][1] == 4  # one 服务内容 cell
        r = diffs[0][0]
        number = n.notice_id[len("厦民〔2025〕"):-1]
        assert grid.value(r, 4) == real.value(r, 4) + f"(第{number}批试点)"
        varied_rows.append(r)
        assert n.notice_id.encode("utf-8") in n.data and "厦民〔2025〕95号".encode("utf-8") not in n.data
    assert len(notices) >= 4 and len(set(varied_rows)) == len(notices)


def test_gbk_notices_stay_gbk_with_their_own_number_and_one_changed_target():
    real = (RAW / "xm-gov-2009-254.html").read_bytes().decode("gbk")
    notices = [n for n in make_corpus.make_notices(12) if n.kind == "task_text"]
    assert len(notices) >= 3
    for n in notices:
        text = n.data.decode("gbk")  # still plain GBK bytes, as the site serves them
        assert text.count(n.notice_id) == 2 and "254号" not in text
        changed = [(a, b) for a, b in zip(real.replace("厦府办〔2009〕254号", n.notice_id).split("%"), text.split("%"))
                   if a != b]
        assert len(changed) == 1


def test_each_kind_reads_as_its_table_kind():
    notices = {}
    for n in make_corpus.make_notices(20):
        notices.setdefault(n.kind, n)
    expect = {"service_list": ("service_list", 52), "task_text": (None, 0), "task_table": ("task_list", 18),
              "fee_table": (None, 10), "name_list": (None, 0), "budget": (None, 0)}
    for kind, (profile, rows) in expect.items():
        n = notices[kind]
        r = result_of("page.html", n.data, n.notice_id)
        assert r.status in ("loaded", "no_table") and r.meta["doc_number"] == n.notice_id, kind
        data = [o for o in r.tables if o.is_data]
        assert [o.kind for o in data] == ([profile] if rows else []), kind
        assert len(r.records.get("table_rows", [])) == rows, kind
    assert len(result_of("p.html", notices["task_text"].data, "x").records["tasks"]) == 18
    assert len(result_of("p.html", notices["task_table"].data, "x").records["tasks"]) == 18
    fee = result_of("p.html", notices["fee_table"].data, "x")
    assert fee.records["source_tables"][0]["untyped_reason"]  # no fee profile: the generic layer holds it
    xlsx = notices["name_list"].attachments[0]
    x = result_of("a.xlsx", xlsx.data, "x")
    assert x.raw.format == "xlsx" and len(x.records["table_rows"]) == make_corpus.XLSX_ROWS[0]
    assert x.meta["title"].startswith("山西省2025年事业单位公开招聘笔试各岗位报名情况（第")


def test_attachments_are_the_real_files_with_one_variation():
    notices = make_corpus.make_notices(40)
    pdf = next(a for n in notices for a in n.attachments if a.ext == "pdf" and n.kind == "service_list")
    real_pdf = (RAW / "xm-mzj-2025-095-list.pdf").read_bytes()
    assert len(pdf.data) == len(real_pdf) and sum(a != b for a, b in zip(pdf.data, real_pdf)) <= 32  # trailer /ID
    n = next(n for n in notices if any(a.ext == "docx" for a in n.attachments))
    docx = next(a for a in n.attachments if a.ext == "docx")
    r = result_of("a.docx", docx.data, n.notice_id)
    page = result_of("p.html", n.data, n.notice_id)
    assert r.records["service_provisions"] and [p["content"] for p in r.records["service_provisions"]] == [
        p["content"] for p in page.records["service_provisions"]]  # the DOCX varies the same cell as its page
    budget = next(n for n in notices if n.kind == "budget").attachments[0]
    assert len(budget.data) == (REAL / "d07-sh-putuo-budget-2025.pdf").stat().st_size
    with zipfile.ZipFile(io.BytesIO(next(a for n in notices for a in n.attachments if a.ext == "xlsx").data)) as z:
        assert "xl/worksheets/sheet1.xml" in z.namelist()


def test_a_revision_is_the_same_notice_later_with_other_bytes():
    for n in make_corpus.make_notices(8):
        if n.kind == "budget":
            continue
        again = make_corpus.revise(n)
        assert (again.notice_id, again.path, again.kind) == (n.notice_id, n.path, n.kind) and again.data != n.data
        before, after = result_of("p.html", n.data, n.notice_id).meta, result_of("p.html", again.data, n.notice_id).meta
        assert (after.get("posted_on") or after["published_on"]) > (before.get("posted_on") or before["published_on"])


def test_corpus_folder_has_sidecars_that_match_the_bytes(tmp_path):
    assert make_corpus.main([str(tmp_path / "raw"), "--n", "6"]) == 0
    files = sorted(p for p in (tmp_path / "raw").iterdir() if p.is_file())
    pages = [p for p in files if p.suffix == ".html"]
    assert len(pages) == 6 and all(p.name.startswith("corpus-invalid--t20") for p in pages)
    urls = set()
    for p in pages:
        sidecar = json.loads((tmp_path / "raw" / "provenance" / f"{p.name}.json").read_text(encoding="utf-8"))
        assert sidecar["sha256"] == hashlib.sha256(p.read_bytes()).hexdigest()
        assert sidecar["role"] == "page" and sidecar["source_url"].startswith("https://corpus.invalid/xxgktzgg/")
        assert "(not published)" in sidecar["note"] and sidecar["notice_id"]
        urls.add(sidecar["source_url"])
    attachments = [p for p in files if p.suffix != ".html"]
    assert attachments
    for p in attachments:
        sidecar = json.loads((tmp_path / "raw" / "provenance" / f"{p.name}.json").read_text(encoding="utf-8"))
        assert sidecar["sha256"] == hashlib.sha256(p.read_bytes()).hexdigest()
        assert sidecar["role"] == "attachment" and sidecar["parent_url"] in urls and sidecar.get("notice_id") is None


def test_site_mode_writes_a_listing_linking_every_page(tmp_path):
    notices = make_corpus.make_notices(3)
    listing = make_corpus.write_site(notices, tmp_path)
    assert listing == tmp_path / "xxgktzgg" / "index.htm"
    html = listing.read_text(encoding="utf-8")
    for href in ("./202507/t20250718_1000.htm", "./200910/t20091017_1001.htm", "./202503/t20250312_1002.htm"):
        assert f'href="{href}"' in html and (listing.parent / href).is_file()
    # The first service list links its attachment, which the site serves: the real list PDF's content.
    pdfs = sorted((tmp_path / "xxgktzgg" / "202507").glob("*.pdf"))
    assert [p.name for p in pdfs] == ["P020250718560300001000.pdf"]
    assert pdfs[0].read_bytes() == notices[0].attachments[0].data
    assert b'href="./P020250718560300001000.pdf"' in (listing.parent / "202507/t20250718_1000.htm").read_bytes()
