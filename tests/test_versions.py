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


def test_a_revision_named_to_sort_first_but_dated_later_becomes_current_and_its_diff_reads_forwards(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(HTML_2025, raw / "xm-128.html")  # no provenance: dropped in by hand
    wh = tmp_path / "policy.duckdb"
    refresh(raw, wh, staging_dir=tmp_path / "staging")
    page = (HTML_2025.read_text(encoding="utf-8").replace(">本市户籍残疾人<", ">本市户籍持证残疾人<")
            .replace('content="2025-07-18', 'content="2025-07-25'))
    assert 'content="2025-07-25' in page
    (raw / "xm-128-r2.html").write_text(page, encoding="utf-8")  # "xm-128-r2" sorts before "xm-128.html"
    refresh(raw, wh, staging_dir=tmp_path / "staging")
    assert query(wh, "SELECT version, raw_file, valid_from, valid_to, is_current FROM notices ORDER BY version") == [
        (1, "xm-128.html", dt.datetime(2025, 7, 18), dt.datetime(2025, 7, 25), False),
        (2, "xm-128-r2.html", dt.datetime(2025, 7, 25), None, True),
    ]
    assert query(wh, "SELECT from_version, to_version, old_value, new_value FROM notice_changes") == [
        (1, 2, "本市户籍残疾人", "本市户籍持证残疾人")]


def test_a_file_edited_in_place_keeps_both_versions(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    page = raw / "notice.html"
    shutil.copy(HTML_2025, page)
    wh = tmp_path / "policy.duckdb"
    refresh(raw, wh, staging_dir=tmp_path / "staging")
    old_sha = query(wh, "SELECT raw_sha256 FROM raw_files")[0][0]
    text = HTML_2025.read_text(encoding="utf-8").replace(">本市户籍残疾人<", ">本市户籍持证残疾人<")
    page.write_text(text.replace('content="2025-07-18', 'content="2025-07-20'), encoding="utf-8")  # same name
    summary = refresh(raw, wh, staging_dir=tmp_path / "staging")
    assert any(r.startswith("raw/notice.html was edited in place: its earlier bytes "
                            f"({old_sha[:12]}, first seen ") for r in summary.reports)
    assert query(wh, "SELECT version, raw_file, current, is_current FROM notices JOIN raw_files USING (raw_file) "
                     "ORDER BY version") == [(1, f"notice.html@{old_sha[:12]}", False, False),
                                             (2, "notice.html", True, True)]
    assert query(wh, "SELECT change, old_value, new_value FROM notice_changes") == [
        ("changed", "本市户籍残疾人", "本市户籍持证残疾人")]
    # The earlier bytes are kept, content-addressed, in the history store beside raw/.
    assert (tmp_path / "history" / "objects" / old_sha[:2] / old_sha).read_bytes() == HTML_2025.read_bytes()


def test_a_quarantined_new_version_leaves_the_last_good_version_current(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(HTML_2025, raw / "xm-128.html")
    wh = tmp_path / "policy.duckdb"
    refresh(raw, wh, staging_dir=tmp_path / "staging")
    # A revision whose 序号 column now says 0 for the first item: item_no between 1 and 999 fails for that notice.
    page = HTML_2025.read_text(encoding="utf-8").replace('content="2025-07-18', 'content="2025-07-25')
    first_item = page.index(">1<", page.index("服务项目"))
    (raw / "xm-128-r2.html").write_text(page[:first_item] + ">0<" + page[first_item + 3:], encoding="utf-8")
    summary = refresh(raw, wh, staging_dir=tmp_path / "staging")
    assert summary.status == "published"
    [line] = summary.quarantined
    assert line.startswith("厦民〔2025〕95号 (version 2, xm-128-r2.html): quarantined: ")
    assert "expect_column_values_to_be_between(item_no)" in line
    assert query(wh, "SELECT version, status, is_current FROM notices ORDER BY version") == [
        (1, "published", True), (2, "quarantined", False)]
    # Analysts keep every row of version 1; QA sees what version 2 broke.
    assert query(wh, "SELECT count(*), min(item_no), any_value(raw_file) FROM service_provisions") == [
        (52, 1, "xm-128.html")]
    assert query(wh, "SELECT DISTINCT raw_file FROM quarantine_rows") == [("xm-128-r2.html",)]
    assert query(wh, "SELECT raw_file, status FROM raw_files ORDER BY raw_file") == [
        ("xm-128-r2.html", "quarantined"), ("xm-128.html", "loaded")]
