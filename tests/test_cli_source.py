"""`pipeline refresh --source URL` fetches an ad-hoc notice from a (loopback) site, then builds from raw/."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "site"))
import xm_site  # noqa: E402

from pipeline.cli import app  # noqa: E402
from tests.test_refresh import query  # noqa: E402


@pytest.fixture
def site():
    s = xm_site.build_site().start()
    yield s
    s.stop()


def test_refresh_with_source_fetches_the_notice_and_its_attachment_then_loads_them(site, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    wh = tmp_path / "policy.duckdb"
    args = ["refresh", "--raw", str(raw), "--warehouse", str(wh), "--staging", str(tmp_path / "st"),
            "--fetch-state", str(tmp_path / "fetch_state.json"), "--source", site.url(xm_site.P2025)]
    result = CliRunner().invoke(app, args, env={"POLICY_OFFLINE": ""})
    assert result.exit_code == 0, result.output
    assert "fetch: 2 notice pages and attachments" in result.output
    assert "status: published" in result.output
    files = query(wh, "SELECT format, role, status, source_url LIKE 'http://127.0.0.1:%' FROM raw_files ORDER BY format")
    assert files == [("html", "page", "loaded", True), ("pdf", "attachment", "loaded", True)]
    assert query(wh, "SELECT count(*), any_value(source_format) FROM service_provisions") == [(52, "html")]
    # A second run fetches nothing new and rebuilds nothing.
    again = CliRunner().invoke(app, args, env={"POLICY_OFFLINE": ""})
    assert again.exit_code == 0, again.output
    assert "nothing changed" in again.output


def test_offline_refresh_fetches_nothing(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    result = CliRunner().invoke(app, ["refresh", "--offline", "--raw", str(raw), "--warehouse", str(tmp_path / "w.duckdb"),
                                      "--staging", str(tmp_path / "st")])
    assert result.exit_code == 0, result.output
    assert not re.search(r"^\s*fetch\s", result.output, re.M), result.output
    assert "status: published" in result.output


def test_fetch_outcomes_land_in_the_warehouse_and_a_failure_is_retried_next_refresh(site, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    wh = tmp_path / "policy.duckdb"
    args = ["refresh", "--raw", str(raw), "--warehouse", str(wh), "--staging", str(tmp_path / "st"),
            "--fetch-state", str(tmp_path / "fetch_state.json"),
            "--source", site.url(xm_site.P2025), "--source", site.url(xm_site.MISSING)]
    first = CliRunner().invoke(app, args, env={"POLICY_OFFLINE": ""})
    assert first.exit_code == 0, first.output
    rows = query(wh, "SELECT role, outcome, status_code, reason LIKE '%stage fetch: HTTP 404%' FROM fetches "
                     "ORDER BY role, outcome")
    assert rows == [("attachment", "new", 200, None), ("page", "failed", 404, True), ("page", "new", 200, None)]
    before = wh.read_bytes()
    second = CliRunner().invoke(app, args, env={"POLICY_OFFLINE": ""})
    assert second.exit_code == 0, second.output
    # The failure is retried and recorded in history/; with nothing else new the warehouse is left untouched.
    assert "nothing changed" in second.output
    assert re.search(r"reported: fetch failed: http://127\.0\.0\.1:\d+/\S+ - ", second.output), second.output
    assert wh.read_bytes() == before
    fetches = [json.loads(line) for line in (tmp_path / "history" / "fetches.jsonl").read_text().splitlines()]
    assert [f["outcome"] for f in fetches].count("failed") == 2 and len({f["run_id"] for f in fetches}) == 2
    # The next build carries every recorded fetch into the warehouse.
    third = CliRunner().invoke(app, [*args, "--force"], env={"POLICY_OFFLINE": ""})
    assert third.exit_code == 0, third.output
    assert query(wh, "SELECT count(DISTINCT run_id), count(*) FILTER (WHERE outcome = 'failed') FROM fetches") == [(3, 3)]
    assert query(wh, "SELECT count(*) FROM service_provisions") == [(52,)]
