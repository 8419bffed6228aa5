"""What the registers do not know is listed for a maintainer (and reported by the refresh), never guessed."""

from __future__ import annotations

from pipeline.refresh import refresh
from tests.fixtures.html_layouts import merged_table
from tests.test_refresh import query

ROW = {
    "category": "照护服务类", "item_no": 1, "service_item": "巡访探视", "population": "分散供养特困人员",
    "content": "提供定期入户探访服务",
    "standard_text": "参照《某某市社区探访服务规范》(DB3502/T999-2020)执行",
    "supplier_text": "某某市银发志愿者协会",
}


def test_unknown_standard_and_supplier_are_register_gaps(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    page = merged_table([ROW, {**ROW, "population": "低保对象"}]).replace("<p>附件</p>", "<p>厦民〔2026〕1号</p>")
    (raw / "new.html").write_text(page, encoding="utf-8")
    wh = tmp_path / "policy.duckdb"
    summary = refresh(raw, wh, staging_dir=tmp_path / "st")
    assert query(wh, "SELECT register, status, value, occurrences, record_table, example_record_id "
                     "FROM register_gaps ORDER BY register, value") == [
        ("agencies", "unknown", "某某市银发志愿者协会", 2, "provision_suppliers", "厦民〔2026〕1号:1:1:1"),
        ("standards", "unknown", "DB3502/T 999", 2, "citations", "厦民〔2026〕1号:1:1:1"),
    ]
    assert any(r.startswith("not in the standards register (unknown): DB3502/T 999 ×2") for r in summary.reports)
    # Unknown is not wrong: no flag is raised for a citation the register lacks.
    assert query(wh, "SELECT count(*) FROM dq_flags WHERE record_table = 'citations'") == [(0,)]
