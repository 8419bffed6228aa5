"""Bad PDFs among good notices: each is reported by name, stage and reason, and the others load."""

from __future__ import annotations

from pipeline.refresh import refresh
from tests.conftest import HTML_2025
from tests.fixtures.pdf_docx_helpers import image_only_pdf, text_pdf
from tests.test_refresh import copy_raw, query


def test_scanned_encrypted_and_truncated_pdfs_are_reported_while_the_list_loads(tmp_path):
    raw = copy_raw(tmp_path, {HTML_2025.name, "xm-mzj-2025-095-list.pdf"})
    (raw / "scan.pdf").write_bytes(image_only_pdf())
    (raw / "locked.pdf").write_bytes(text_pdf(["厦门市服务类社会救助清单"], encrypt="secret"))
    (raw / "truncated.pdf").write_bytes((raw / "xm-mzj-2025-095-list.pdf").read_bytes()[:5000])
    wh = tmp_path / "policy.duckdb"
    summary = refresh(raw, wh, staging_dir=tmp_path / "st")
    assert summary.status == "published" and summary.files_failed == 3
    rows = {r[0]: r[1:] for r in query(wh, "SELECT raw_file, status, stage, reason FROM raw_files")}
    assert rows["scan.pdf"][:2] == ("failed", "extract") and "OCR" in rows["scan.pdf"][2]
    assert rows["locked.pdf"][:2] == ("failed", "extract") and "encrypted" in rows["locked.pdf"][2]
    assert rows["truncated.pdf"][:2] == ("failed", "extract") and "file truncated.pdf" in rows["truncated.pdf"][2]
    assert all(r[2].startswith("file ") for name, r in rows.items() if r[0] == "failed")
    assert query(wh, "SELECT count(*), count(DISTINCT source_format) FROM service_provisions") == [(52, 1)]
    assert query(wh, "SELECT notice_id FROM notices WHERE status = 'published'") == [("厦民〔2025〕95号",)]
    # The unreadable files land in notices too, each with its reason (nothing a maintainer dropped in vanishes).
    assert query(wh, "SELECT count(*) FROM notices WHERE status = 'failed' AND status_reason LIKE 'file %'") == [(3,)]
