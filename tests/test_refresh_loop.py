"""The refresh loop a maintainer runs: a review change re-reads no file, output says what matters, one run at a time."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import time

import duckdb
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.refresh import refresh
from pipeline.warehouse import partitions
from tests.conftest import HTML_2009, HTML_2025, ROOT
from tests.test_refresh import copy_raw, query


def test_a_review_change_reapplies_decisions_without_reading_any_file(tmp_path, monkeypatch):
    raw = copy_raw(tmp_path, {HTML_2025.name, HTML_2009.name})
    reviews = tmp_path / "reviews"
    reviews.mkdir()
    wh = tmp_path / "policy.duckdb"
    refresh(raw, wh, staging_dir=tmp_path / "st", reviews_dir=reviews)
    flag_id, evidence, suggestion = query(
        wh, "SELECT flag_id, evidence, suggestion FROM dq_flags WHERE rule = 'standard_year_differs' "
            "AND suggestion IS NOT NULL ORDER BY flag_id LIMIT 1")[0]
    with open(reviews / "decisions.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["flag_id", "decision", "corrected_value", "reviewer", "decided_on", "note", "evidence"])
        w.writerow([flag_id, "accept", "", "qa1", "2026-12-01", "", evidence])
    hashed = []
    real_sha256 = partitions._sha256
    monkeypatch.setattr(partitions, "_sha256", lambda p: hashed.append(p) or real_sha256(p))
    summary = refresh(raw, wh, staging_dir=tmp_path / "st", reviews_dir=reviews)
    assert summary.status == "published"
    assert summary.files_cached == summary.files_seen == 2  # every partition reused: no file read again
    assert hashed == []  # … and none of their Parquet files hashed: the warehouse already holds them
    assert summary.notices_assembled == 0  # no notice assembled or judged again
    assert query(wh, "SELECT review_status, canonical_value, reviewer FROM dq_flags WHERE flag_id = ?".replace(
        "?", f"'{flag_id}'")) == [("accepted", suggestion, "qa1")]


@pytest.fixture
def two_notices(tmp_path):
    raw = copy_raw(tmp_path, {HTML_2025.name})
    (raw / "broken.pdf").write_bytes(b"%PDF-1.4 not really a pdf")
    (raw / "prose.html").write_bytes("<html><body><p>通知正文,没有表格。</p></body></html>".encode())
    return raw, ["refresh", "--offline", "--raw", str(raw), "--warehouse", str(tmp_path / "w.duckdb"),
                 "--staging", str(tmp_path / "st")]


def test_default_output_names_only_the_files_that_need_attention(two_notices):
    raw, args = two_notices
    out = CliRunner().invoke(app, args).output
    assert "broken.pdf: pdf failed - file broken.pdf, stage extract" in out
    assert "prose.html: html no_table" in out
    assert "xm-mzj-2025-095.html: html loaded" not in out  # a file that loaded needs no line of its own
    assert "time: inventory" in out and "status: published" in out  # the closing summary with stage timings


def test_verbose_prints_every_file_and_quiet_only_the_summary(two_notices, tmp_path):
    raw, args = two_notices
    verbose = CliRunner().invoke(app, [*args, "--force", "-v"]).output
    assert "xm-mzj-2025-095.html: html loaded" in verbose
    quiet = CliRunner().invoke(app, [*args, "--force", "--quiet"]).output
    assert quiet.splitlines()[0] == "status: published"  # no stage lines, no per-file lines before the summary
    assert "failed: file broken.pdf, stage extract" in quiet


def test_a_second_refresh_started_while_one_runs_exits_with_a_clear_message(tmp_path):
    raw = copy_raw(tmp_path, {HTML_2025.name})
    wh = tmp_path / "policy.duckdb"
    args = [sys.executable, "-m", "pipeline", "refresh", "--offline", "--raw", str(raw), "--warehouse", str(wh),
            "--staging", str(tmp_path / "st")]
    first = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lock = wh.with_name(f".{wh.name}.lock")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (lock.exists() and lock.read_text().startswith("pid")):
        time.sleep(0.05)
    second = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert second.returncode == 1
    assert f"refresh failed: stage lock: another refresh of {wh} is running (pid {first.pid}" in second.stderr
    assert "(hint: wait for it to finish (or pass --wait SECONDS" in second.stderr
    # Queued behind a running refresh with --wait, the second one runs once the first is done: no run is lost.
    third = subprocess.Popen([*args, "--force"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60  # the fourth starts once the third holds the lock
    while time.monotonic() < deadline and f"pid {third.pid}," not in lock.read_text():
        time.sleep(0.05)
    fourth = subprocess.run([*args, "--force", "--wait", "120"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    third.communicate(timeout=300)
    assert third.returncode == 0 and fourth.returncode == 0, fourth.stderr
    con = duckdb.connect(str(wh), read_only=True)
    assert con.execute("SELECT count(*) FROM runs WHERE status = 'published'").fetchone() == (3,)
    con.close()


def test_leftovers_of_a_killed_run_are_removed_at_the_next_start(tmp_path):
    raw = copy_raw(tmp_path, {HTML_2025.name})
    wh = tmp_path / "wh" / "policy.duckdb"
    staging = tmp_path / "st"
    refresh(raw, wh, staging_dir=staging)
    (wh.parent / f".{wh.name}.building-99999").write_bytes(b"half a database")
    (staging / "gate-99999" / "round-1").mkdir(parents=True)
    (staging / "gate-99999" / "round-1" / "service_provisions.parquet").write_bytes(b"x" * 100)
    bucket = next((staging / "partitions").iterdir())
    (bucket / ".deadbeef.99999.tmp").mkdir()
    shutil.copy(HTML_2009, raw / HTML_2009.name)
    refresh(raw, wh, staging_dir=staging)
    assert sorted(p.name for p in wh.parent.iterdir()) == [".policy.duckdb.lock", "parquet", "policy.duckdb"]
    assert not (staging / "gate-99999").exists() and not (bucket / ".deadbeef.99999.tmp").exists()


def test_accepting_a_task_finding_stores_no_explanation_and_a_correction_lands_in_canonical_values(tmp_path):
    raw = copy_raw(tmp_path, {HTML_2009.name})
    reviews = tmp_path / "reviews"
    reviews.mkdir()
    wh = tmp_path / "policy.duckdb"
    refresh(raw, wh, staging_dir=tmp_path / "st", reviews_dir=reviews)
    split, = query(wh, "SELECT flag_id, evidence, suggestion FROM dq_flags WHERE rule = 'paragraph_split_by_page_break'")
    cut, = query(wh, "SELECT flag_id, evidence, record_id FROM dq_flags WHERE rule = 'truncated_unit_list'")
    assert split[2] is None  # an explanation is a message, never a suggested value
    with open(reviews / "decisions.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["flag_id", "decision", "corrected_value", "reviewer", "decided_on", "note", "evidence"])
        w.writerow([split[0], "accept", "", "qa1", "2026-12-01", "the join is right", split[1]])
        w.writerow([cut[0], "correct", "市卫生健康委", "qa1", "2026-12-01", "as in the signed original", cut[1]])
    refresh(raw, wh, staging_dir=tmp_path / "st", reviews_dir=reviews)
    assert query(wh, f"SELECT review_status, canonical_value FROM dq_flags WHERE flag_id = '{split[0]}'") == [
        ("accepted", None)]
    # The accepted join changes no value: no canonical value for the task's text.
    assert query(wh, "SELECT count(*) FROM canonical_values WHERE record_table = 'tasks'") == [(0,)]
    assert query(wh, "SELECT record_table, record_id, column_name, published_value, canonical_value, flag_ids "
                     "FROM canonical_values") == [
        ("task_units", cut[2], "unit_as_written", "市", "市卫生健康委", [cut[0]])]
    # The published text is untouched.
    assert query(wh, f"SELECT unit_as_written FROM task_units WHERE unit_id = '{cut[2]}'") == [("市",)]
