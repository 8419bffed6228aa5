"""The 2025 list read from HTML, DOCX and PDF gives the same 52 rows; a disagreement becomes a finding."""

from __future__ import annotations

import dataclasses

import pytest

from pipeline.derive.agreement import TEXT_COLUMNS, compare_provision_sets
from pipeline.extract.docx import docx_to_grids
from pipeline.extract.pdf import pdf_to_grids
from pipeline.model import Grid
from pipeline.kinds.provisions import grid_to_provisions
from pipeline.kinds.recognize import load_table_profiles, recognize_table
from tests.conftest import RAW

NOTICE = "厦民〔2025〕95号"
PDF = RAW / "xm-mzj-2025-095-list.pdf"
DOCX = RAW / "xm-mzj-2025-095-list.docx"
KEYS = ("provision_id", "item_no", "population_no") + TEXT_COLUMNS


def provisions(grid: Grid, raw_file: str, sha: str) -> list[dict]:
    rec = recognize_table(grid, load_table_profiles())
    assert rec is not None and rec.profile.kind == "service_list"
    return grid_to_provisions(grid, rec, notice_id=NOTICE, raw_file=raw_file, raw_sha256=sha)


@pytest.fixture(scope="module")
def pdf_grid() -> Grid:
    return pdf_to_grids(PDF.read_bytes(), file=PDF.name)[0]


@pytest.fixture(scope="module")
def html_rows(grid_2025) -> list[dict]:
    return provisions(grid_2025, "xm-mzj-2025-095.html", "h" * 64)


@pytest.fixture(scope="module")
def pdf_rows(pdf_grid) -> list[dict]:
    return provisions(pdf_grid, PDF.name, "p" * 64)


@pytest.fixture(scope="module")
def docx_rows() -> list[dict]:
    return provisions(docx_to_grids(DOCX.read_bytes(), file=DOCX.name)[0], DOCX.name, "d" * 64)


def _squashed(rows: list[dict]) -> list[dict]:
    return [{k: "".join(str(r[k]).split()) for k in KEYS} for r in rows]


def test_each_format_alone_gives_the_same_52_rows(html_rows, pdf_rows, docx_rows):
    assert len(html_rows) == len(pdf_rows) == len(docx_rows) == 52
    assert _squashed(pdf_rows) == _squashed(html_rows)
    assert _squashed(docx_rows) == _squashed(html_rows)
    assert [r["pages"] for r in pdf_rows][13] == [1, 2, 3]  # category on page 1, item 5 on 2, its row on 3


def test_real_formats_agree_so_no_finding(html_rows, pdf_rows, docx_rows):
    assert compare_provision_sets(html_rows, pdf_rows) == []
    assert compare_provision_sets(html_rows, docx_rows) == []
    assert compare_provision_sets(docx_rows, pdf_rows) == []


def _with_cell(grid: Grid, r: int, c: int, text: str) -> Grid:
    rows = [list(row) for row in grid.rows]
    rows[r][c] = dataclasses.replace(rows[r][c], text=text)
    return Grid(grid.source_format, grid.table_index, rows, grid.locator, list(grid.warnings), grid.caption)


def test_one_changed_pdf_cell_is_one_finding_pointing_at_both_files(html_rows, pdf_grid):
    # item 3, first population: its 供给主体 printed differently in the PDF
    other = provisions(_with_cell(pdf_grid, 7, 6, "民政部门"), PDF.name, "p" * 64)
    findings = compare_provision_sets(html_rows, other)
    assert findings == [{
        "rule": "cross_format_mismatch",
        "severity": "warning",
        "record_table": "service_provisions",
        "record_id": f"{NOTICE}:3:1",
        "column_name": "supplier_text",
        "evidence": "民政部门",
        "suggestion": "民政等相关部门、受委托的服务提供方",
        "locator": "xm-mzj-2025-095.html table 0 row 8 supplier_text",
        "message": "item 3 population 1 supplier_text differs in the pdf file",
        "other_format": "pdf",
        "other_raw_file": PDF.name,
        "other_raw_sha256": "p" * 64,
        "other_locator": f"{PDF.name} table 0 row 7 pages 1,2 supplier_text",
    }]


def test_a_changed_merged_cell_is_a_finding_for_every_row_it_covers(html_rows, pdf_grid):
    other = provisions(_with_cell(pdf_grid, 1, 0, "照护类"), PDF.name, "p" * 64)  # 照护服务类 spans items 1-5
    findings = compare_provision_sets(html_rows, other)
    assert [f["record_id"] for f in findings] == [f"{NOTICE}:{i}:{p}" for i in range(1, 6) for p in (1, 2, 3)]
    assert {(f["column_name"], f["evidence"], f["suggestion"]) for f in findings} == {("category", "照护类", "照护服务类")}


def test_whitespace_differences_are_not_findings(html_rows):
    spaced = [dict(r, content=" ".join(r["content"]), population=r["population"] + "\n") for r in html_rows]
    assert compare_provision_sets(html_rows, spaced) == []


def test_rows_only_one_format_has_are_findings(html_rows, pdf_rows):
    fewer = [r for r in pdf_rows if r["provision_id"] != f"{NOTICE}:17:7"]
    extra = pdf_rows + [dict(pdf_rows[-1], provision_id=f"{NOTICE}:17:8", population_no=8)]
    missing = compare_provision_sets(html_rows, fewer)
    assert [(f["record_id"], f["column_name"], f["evidence"], f["other_locator"]) for f in missing] == [
        (f"{NOTICE}:17:7", None, None, None)]
    assert missing[0]["message"] == "item 17 population 7 is missing from the pdf file"
    added = compare_provision_sets(html_rows, extra)
    assert [(f["record_id"], f["suggestion"], f["locator"]) for f in added] == [(f"{NOTICE}:17:8", None, None)]
    assert added[0]["evidence"] == "有需求的特困、低保家庭中的智力、精神残疾人员"
    assert added[0]["other_locator"] == f"{PDF.name} table 0 row 52 pages 6,7,8"
    assert compare_provision_sets(html_rows, []) == []
