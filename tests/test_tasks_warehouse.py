"""The 分工表 pages through a refresh: their tasks, offices and deadlines pass the gate and land; the task
expectations stop a notice whose rows break them; offices are no agency register gaps."""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb
import pyarrow as pa
import pytest

from pipeline.refresh import refresh
from tests.conftest import ROOT
from tests.test_gate import tamper
from tests.test_refresh import copy_raw

PAGES = ("gz-task-division-offices.html", "gz-task-deadlines.html")


def rows(db, sql: str):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tasks_wh")
    raw = copy_raw(tmp)
    for name in PAGES:
        shutil.copy(ROOT / "tests" / "fixtures" / name, raw / name)
    wh = tmp / "wh" / "policy.duckdb"
    summary = refresh(raw, wh, staging_dir=tmp / "staging", reviews_dir=tmp / "reviews")
    return tmp, raw, wh, summary


def test_the_pages_publish_with_their_tasks_units_and_deadlines(built):
    _, _, wh, summary = built
    assert (summary.status, summary.quarantined, summary.failures) == ("published", [], [])
    assert rows(wh, "SELECT notice_id, count(*), count(task_title), count(part), count(deadline_text), "
                    "count(deadline_date) FROM tasks GROUP BY 1 ORDER BY 1") == [
        ("厦府办〔2009〕254号", 18, 0, 0, 0, 0), ("穗卫函〔2025〕21号", 9, 0, 0, 9, 5), ("穗民函〔2025〕56号", 7, 7, 5, 0, 0)]
    assert rows(wh, "SELECT deadline_period, deadline_date FROM tasks WHERE task_id = '穗卫函〔2025〕21号:3'") == [
        ("2025-06-30", dt.date(2025, 6, 30))]
    assert rows(wh, "SELECT role, role_from, count(*) FROM task_units WHERE notice_id LIKE '穗%' "
                    "GROUP BY ALL ORDER BY ALL") == [
        ("co", "column", 10), ("co", "order", 7), ("co_office", "column", 4), ("lead", "column", 7),
        ("lead", "order", 8), ("lead_office", "column", 7)]
    assert rows(wh, "SELECT count(*) FROM task_units WHERE notice_id = '厦府办〔2009〕254号'") == [(63,)]


def test_offices_are_not_reported_as_agencies_missing_from_the_register(built):
    _, _, wh, _ = built
    gaps = {v for (v,) in rows(wh, "SELECT value FROM register_gaps WHERE register = 'agencies'")}
    assert "市民政局" in gaps and not gaps & {"养老服务处", "规划财务处", "人事处"}


@pytest.fixture
def copied(built, tmp_path):
    tmp, _, wh, _ = built
    for name in ("raw", "staging", "history"):
        if (tmp / name).exists():
            shutil.copytree(tmp / name, tmp_path / name, symlinks=True)
    published = tmp_path / "wh" / "policy.duckdb"
    published.parent.mkdir()
    shutil.copy(wh, published)
    return tmp_path / "raw", tmp_path / "staging", published, tmp_path / "reviews"


def _set(column: str, value, index: int = 0):
    def change(t: pa.Table) -> pa.Table:
        values = t.column(column).to_pylist()
        values[index] = value
        i = t.schema.get_field_index(column)
        return t.set_column(i, t.schema.field(i), pa.array(values, t.schema.field(i).type))
    return change


@pytest.mark.parametrize("table, column, value, expectation", [
    ("tasks", "deadline_period", "2025年底", "expect_column_values_to_match_regex(deadline_period)"),
    ("tasks", "deadline_text", None, "tasks.parsed_deadlines_keep_their_text"),
    ("task_units", "unit_as_written", "/", "expect_column_values_to_not_match_regex(unit_as_written)"),
    ("task_units", "role_from", "guess", "expect_column_values_to_be_in_set(role_from)"),
])
def test_a_broken_task_row_quarantines_its_notice(copied, table, column, value, expectation):
    raw, staging, published, reviews = copied
    tamper(staging, "gz-task-deadlines.html", table, _set(column, value))
    summary = refresh(raw, published, staging_dir=staging, force=True, reviews_dir=reviews)
    [line] = summary.quarantined
    assert line.startswith("穗卫函〔2025〕21号 (version 1, gz-task-deadlines.html)")
    assert expectation in line
    assert rows(published, "SELECT count(*) FROM tasks WHERE notice_id = '穗卫函〔2025〕21号'") == [(0,)]
    assert rows(published, "SELECT count(*) FROM tasks WHERE notice_id = '穗民函〔2025〕56号'") == [(7,)]
