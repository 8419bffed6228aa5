"""The review loop end to end: a QA decision in a review file lands in canonical columns on the next refresh."""

from __future__ import annotations

import csv

from pipeline.refresh import refresh
from tests.conftest import HTML_2025
from tests.test_refresh import copy_raw, query

COLUMNS = ["flag_id", "decision", "corrected_value", "reviewer", "decided_on", "note", "evidence"]


def write_decisions(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)


def test_decisions_apply_to_canonical_columns_and_stale_ones_are_reported(tmp_path):
    raw = copy_raw(tmp_path, {HTML_2025.name})
    reviews = tmp_path / "reviews"
    reviews.mkdir()
    write_decisions(reviews / "decisions.csv", [])
    wh = tmp_path / "policy.duckdb"
    refresh(raw, wh, staging_dir=tmp_path / "st", reviews_dir=reviews)
    (fid, evidence, suggestion), = query(wh, "SELECT flag_id, evidence, suggestion FROM dq_flags WHERE rule = "
                                             "'dangling_conjunction' AND record_id = '厦民〔2025〕95号:5:3'")
    (tid, tev), = query(wh, "SELECT flag_id, evidence FROM dq_flags WHERE rule = 'citation_title_near_match'")
    write_decisions(reviews / "decisions.csv", [
        {"flag_id": fid, "decision": "accept", "corrected_value": "", "reviewer": "qa1", "decided_on": "2026-11-20",
         "note": "stray 和", "evidence": evidence},
        {"flag_id": tid, "decision": "correct", "corrected_value": "厦门市社区老年人巡访关爱服务规范", "reviewer": "qa1",
         "decided_on": "2026-11-20", "note": "garbled title", "evidence": tev},
        {"flag_id": "0000000000000000", "decision": "reject", "corrected_value": "", "reviewer": "qa2",
         "decided_on": "2026-11-21", "note": "flag from an older raw file", "evidence": "gone"},
    ])
    summary = refresh(raw, wh, staging_dir=tmp_path / "st", reviews_dir=reviews)
    assert query(wh, f"SELECT review_status, canonical_value FROM dq_flags WHERE flag_id = '{fid}'") == [("accepted", suggestion)]
    assert query(wh, f"SELECT review_status, canonical_value FROM dq_flags WHERE flag_id = '{tid}'") == [
        ("corrected", "厦门市社区老年人巡访关爱服务规范")]
    # Published text is untouched; the corrected title sits in the canonical column of citations.
    assert query(wh, "SELECT count(*) FROM service_provisions WHERE standard_text LIKE '%》和执行%'") == [(1,)]
    assert query(wh, "SELECT title FROM citations WHERE title_as_written = '厦门市社区老年人巡民政、教访关爱服务规范'") == [
        ("厦门市社区老年人巡访关爱服务规范",)]
    assert query(wh, "SELECT flag_id, status FROM reviews ORDER BY status, flag_id") == sorted(
        [(fid, "applied"), (tid, "applied")]) + [("0000000000000000", "stale")]
    assert any("stale review decision on flag 0000000000000000" in r for r in summary.reports)
