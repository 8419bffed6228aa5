"""A refresh after adding one notice extracts that one file; the others come from the cache, rows identical."""

from __future__ import annotations

import shutil

from pipeline.refresh import refresh
from tests.conftest import HTML_2009, HTML_2025
from tests.test_refresh import copy_raw, query

TABLES = ["notices", "service_provisions", "cell_lineage", "tasks", "task_units", "dq_flags", "citations"]


def snapshot(wh):
    return {t: query(wh, f"SELECT * EXCLUDE (ingested_at) FROM {t} ORDER BY ALL" if t == "notices"
                     else f"SELECT * FROM {t} ORDER BY ALL") for t in TABLES}


def test_adding_a_notice_extracts_only_it_and_gives_the_same_rows_as_a_cold_build(tmp_path):
    raw = copy_raw(tmp_path, {HTML_2025.name, "xm-mzj-2025-095-list.pdf"})
    wh, staging = tmp_path / "policy.duckdb", tmp_path / "st" / "tables"
    first = refresh(raw, wh, staging_dir=staging)
    assert first.files_cached == 0
    shutil.copy(HTML_2009, raw / HTML_2009.name)
    second = refresh(raw, wh, staging_dir=staging)
    assert (second.files_seen, second.files_new, second.files_cached) == (3, 1, 2)
    cold = tmp_path / "cold.duckdb"
    refresh(raw, cold, staging_dir=tmp_path / "cold" / "tables")
    assert snapshot(wh) == snapshot(cold)
    assert query(wh, "SELECT count(*) FROM tasks") == [(18,)]


def test_a_cache_of_other_code_is_pruned(tmp_path):
    raw = copy_raw(tmp_path, {HTML_2025.name})
    staging = tmp_path / "st" / "tables"
    stale = tmp_path / "st" / "extract-cache" / "0123456789abcdef"
    stale.mkdir(parents=True)
    (stale / "x.pkl").write_bytes(b"not a pickle")
    refresh(raw, tmp_path / "policy.duckdb", staging_dir=staging)
    caches = list((tmp_path / "st" / "extract-cache").iterdir())
    assert stale not in caches and len(caches) == 1 and len(list(caches[0].glob("*.pkl"))) == 1
