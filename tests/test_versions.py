"""A revised notice becomes a new version: every version kept with validity dates, changes listed."""

from __future__ import annotations

import datetime as dt
import json
import shutil

from pipeline.refresh import refresh
from tests.conftest import HTML_2025, RAW
from tests.test_refresh import query


def test_revised_page_is_a_new_version_with_its_changes(tmp_path):
    raw = tmp_path / "raw"
    (raw / "provenance").mkdir(parents=True)
    shutil.copy(HTML_2025, raw / HTML_2025.name)
    shutil.copy(RAW / "provenance" / f"{HTML_2025.name}.json", raw / "provenance" / f"{HTML_2025.name}.json")
    wh = tmp_path / "policy.duckdb"
    refresh(raw, wh, staging_dir=tmp_path / "staging")

    page = HTML_2025.read_text(encoding="utf-8").replace(">本市户籍残疾人<", ">本市户籍持证残疾人<")
    assert page != HTML_2025.read_text(encoding="utf-8")
    revised = raw / "xm-mzj-2025-095--revised.html"
    revised.write_text(page, encoding="utf-8")
    (raw / "provenance" / f"{revised.name}.json").write_text(json.dumps(
        {"file": revised.name, "notice_id": "厦民〔2025〕95号", "role": "page", "retrieved_on": "2026-12-01T08:00:00Z"}))
    summary = refresh(raw, wh, staging_dir=tmp_path / "staging")
    assert (summary.notices, summary.notices_new, summary.files_new, summary.files_unchanged) == (1, 1, 1, 1)

    versions = query(wh, "SELECT version, raw_file, valid_from, valid_to, is_current FROM notices ORDER BY version")
    assert versions == [
        # Dated by the page's PubDate; the revision carries the same PubDate, so it counts from its retrieval.
        (1, HTML_2025.name, dt.datetime(2025, 7, 18), dt.datetime(2026, 12, 1, 8), False),
        (2, revised.name, dt.datetime(2026, 12, 1, 8), None, True),
    ]
    assert query(wh, "SELECT version FROM current_notices") == [(2,)]
    assert query(wh, "SELECT from_version, to_version, record_id, change, column_name, old_value, new_value "
                     "FROM notice_changes") == [
        (1, 2, "厦民〔2025〕95号:17:5", "changed", "population", "本市户籍残疾人", "本市户籍持证残疾人")]
    # The warehouse's provisions are the current version's.
    assert query(wh, "SELECT population, raw_file FROM service_provisions WHERE provision_id = '厦民〔2025〕95号:17:5'") == [
        ("本市户籍持证残疾人", revised.name)]
