"""One notice, three formats: one set of provisions kept by preference, disagreements become findings."""

from __future__ import annotations

import shutil

from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.refresh import refresh
from tests.conftest import HTML_2025, RAW
from tests.test_refresh import copy_raw, query

LIST_FILES = {HTML_2025.name, "xm-mzj-2025-095-list.pdf", "xm-mzj-2025-095-list.docx"}


def test_three_formats_agree_and_html_is_kept_by_default(tmp_path):
    raw = copy_raw(tmp_path, LIST_FILES)
    wh = tmp_path / "policy.duckdb"
    summary = refresh(raw, wh, staging_dir=tmp_path / "st")
    assert summary.notices == 1
    assert query(wh, "SELECT source_format, count(*) FROM service_provisions GROUP BY 1") == [("html", 52)]
    assert query(wh, "SELECT format, status, records FROM raw_files ORDER BY format") == [
        ("docx", "loaded", 52), ("html", "loaded", 52), ("pdf", "loaded", 52)]
    assert query(wh, "SELECT formats FROM notices") == [(["docx", "html", "pdf"],)]
    assert query(wh, "SELECT count(*) FROM dq_flags WHERE rule = 'cross_format_mismatch'") == [(0,)]


def test_preferred_format_is_configurable_and_keeps_pdf_lineage(tmp_path):
    raw = copy_raw(tmp_path, LIST_FILES)
    wh = tmp_path / "policy.duckdb"
    result = CliRunner().invoke(app, ["refresh", "--offline", "--raw", str(raw), "--warehouse", str(wh),
                                      "--staging", str(tmp_path / "st"), "--prefer", "pdf,html"])
    assert result.exit_code == 0, result.output
    assert query(wh, "SELECT source_format, count(*) FROM service_provisions GROUP BY 1") == [("pdf", 52)]
    # Row 1:1 sits on page 1; lineage gives the page and box of the 服务标准 cell.
    (page, bbox), = query(wh, "SELECT page, bbox FROM cell_lineage WHERE record_id = '厦民〔2025〕95号:1:1' "
                              "AND column_name = 'standard_text'")
    assert page == 1 and len(bbox) == 4 and bbox[0] < bbox[2] and bbox[1] < bbox[3]
    bad = CliRunner().invoke(app, ["refresh", "--offline", "--raw", str(raw), "--prefer", "pptx"])
    assert bad.exit_code == 2 and "--prefer takes formats from html, pdf, docx, xlsx, xls, doc" in bad.output


def test_a_cell_that_differs_between_formats_is_a_finding(tmp_path):
    raw = copy_raw(tmp_path, LIST_FILES - {"xm-mzj-2025-095-list.docx"})
    page = HTML_2025.read_text(encoding="utf-8").replace(">本市户籍残疾人<", ">本市户籍持证残疾人<")
    (raw / HTML_2025.name).chmod(0o644)
    (raw / HTML_2025.name).write_text(page, encoding="utf-8")
    (raw / "provenance" / f"{HTML_2025.name}.json").unlink()  # its recorded sha256 no longer holds
    shutil.copy(RAW / "provenance" / "xm-mzj-2025-095-list.pdf.json", raw / "provenance")
    wh = tmp_path / "policy.duckdb"
    refresh(raw, wh, staging_dir=tmp_path / "st")
    assert query(wh, "SELECT record_id, column_name, evidence, suggestion, severity FROM dq_flags "
                     "WHERE rule = 'cross_format_mismatch'") == [
        ("厦民〔2025〕95号:17:5", "population", "本市户籍残疾人", "本市户籍持证残疾人", "warning")]
