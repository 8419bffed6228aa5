"""Every Makefile target is run here (except `test`, which CI runs), so none can rot unnoticed."""

from __future__ import annotations

import re
import subprocess

import duckdb
import pytest

from tests.conftest import ROOT
from tests.test_refresh import copy_raw

MAKEFILE = (ROOT / "Makefile").read_text()
TARGETS = re.findall(r"^([a-z][a-z_-]*):.*?## ", MAKEFILE, re.M)
RUN_ELSEWHERE = {"test"}  # CI runs `make test`; running it here would recurse


def make(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT, capture_output=True, text=True, timeout=900)


def test_help_lists_every_target():
    out = make("help").stdout
    assert TARGETS and all(re.search(rf"^\s+{t}\s", out, re.M) for t in TARGETS), out


def test_every_target_has_a_test():
    # site: tests/test_site.py::test_make_site_builds_the_mirror_starts_and_answers (it shares that module's warehouse)
    tested = {"help", "venv", "browser", "office", "refresh", "bench", "dictionary", "clean", "report", "site",
              "gate-stop"}
    assert set(TARGETS) - RUN_ELSEWHERE <= tested


def test_venv_is_up_to_date_and_does_nothing():
    r = make("venv")
    assert r.returncode == 0, r.stderr
    assert "pip install" not in r.stdout


def test_browser_is_installed_and_target_is_a_no_op():
    r = make("browser")
    assert r.returncode == 0, r.stderr
    assert "apt-get" not in r.stdout
    assert subprocess.run(["chromium", "--version"], capture_output=True, text=True).stdout.startswith("Chromium")


def test_office_is_installed_and_target_is_a_no_op():
    r = make("office")
    assert r.returncode == 0, r.stderr
    assert "apt-get" not in r.stdout
    version = subprocess.run(["soffice", "--version"], capture_output=True, text=True, timeout=120).stdout
    assert version.startswith("LibreOffice ")
    assert re.search(r"^refresh: .*\boffice\b", MAKEFILE, re.M) and re.search(r"^test: .*\boffice\b", MAKEFILE, re.M)


@pytest.mark.slow
def test_refresh_then_clean(tmp_path, monkeypatch):
    from pipeline.warehouse.gate_warm import Folder, is_running

    monkeypatch.setenv("POLICY_GATE_KEEP", "120")  # as a maintainer's refresh: it leaves the warm gate up
    raw = copy_raw(tmp_path)
    wh = tmp_path / "wh" / "policy.duckdb"
    staging = tmp_path / "st"
    r = make("refresh", "OFFLINE=1", f"RAW={raw}", f"WAREHOUSE={wh}", f"STAGING={staging}")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "status: published" in r.stdout and "service_provisions 52" in r.stdout
    server = Folder(staging).server_pid()
    assert server is not None
    con = duckdb.connect(str(wh), read_only=True)
    assert con.execute("SELECT count(*) FROM service_provisions").fetchone() == (52,)
    con.close()
    again = make("refresh", "OFFLINE=1", f"RAW={raw}", f"WAREHOUSE={wh}", f"STAGING={staging}")
    assert again.returncode == 0 and "nothing changed" in again.stdout
    r = make("clean", f"WAREHOUSE={wh}", f"STAGING={staging}", f"REPORTS={tmp_path / 'reports'}")
    assert r.returncode == 0, r.stderr
    assert not wh.parent.exists() and not staging.exists()
    assert "stopped the warm gate" in r.stdout and not is_running(server)  # gate-stop ran
    assert raw.exists()
    # What a maintainer did survives: run history and first sightings live beside raw/, and a rebuild reads them.
    runs = (raw.parent / "history" / "runs.jsonl").read_text().splitlines()
    assert len(runs) == 2
    assert make("refresh", "OFFLINE=1", f"RAW={raw}", f"WAREHOUSE={wh}", f"STAGING={staging}").returncode == 0
    con = duckdb.connect(str(wh), read_only=True)
    assert con.execute("SELECT count(*) FROM runs").fetchone() == (3,)
    con.close()


@pytest.mark.slow
def test_bench_prints_ratios(monkeypatch):
    monkeypatch.setenv("POLICY_GATE_KEEP", "120")  # the maintainer's default: refreshes after the first find GX warm
    r = make("bench", "BENCH_ARGS=--quick")
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"HTML page -> tidy rows .* pandas\.read_html .* ratio +\d+\.\d+x", r.stdout), r.stdout
    assert re.search(r"PDF -> tidy rows .* pdfplumber\.extract_tables .* ratio +\d+\.\d+x", r.stdout), r.stdout
    assert re.search(r"HTML d01 -> 2 table_rows .* pandas\.read_html .* ratio +\d+\.\d+x", r.stdout), r.stdout
    assert re.search(r"PDF d05 \(24 pages\) -> tables .* pdfplumber\.extract_tables .* ratio +\d+\.\d+x", r.stdout), r.stdout
    for scenario in ("full build \\(cold\\)", "no-op", "one notice added", "one notice revised", "review changed"):
        assert re.search(rf"^ +20 {scenario} +\d+\.\d+ +\d+\.\d+ ", r.stdout, re.M), r.stdout
    assert re.search(r"one notice added / full build at 20: +\d+\.\d+% of the wall .*; files read [12]\b", r.stdout)
    assert re.search(r"review changed / full build at 20: .* files re-read 0 \(target 0\)", r.stdout), r.stdout
    assert re.search(r"CPU/wall of the full build at 20: \d+\.\d+", r.stdout), r.stdout
    assert re.search(r"one notice added / full build at 20: .*; warm gate \(pid \d+, session 2, suites kept\)",
                     r.stdout), r.stdout
    assert re.search(r"one added, cold gate / full build at 20: .*; warm gate started \(pid \d+\)", r.stdout), r.stdout


def test_bench_takes_a_processs_peak_since_its_exec_not_the_size_of_the_bench_that_started_it():
    import sys
    import time

    from pipeline.bench import _tree_mb

    ballast = b"x" * (400 * 2**20)  # the bench is big (it made the corpus); the refresh it starts is not
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(2)"])
    try:
        time.sleep(1)
        tree, largest = _tree_mb(child.pid)
    finally:
        child.wait()
    assert len(ballast) and 0 < tree < 100 and 0 < largest < 100


def test_dictionary_regenerates_the_committed_file():
    before = (ROOT / "docs" / "data_dictionary.md").read_text(encoding="utf-8")
    r = make("dictionary")
    assert r.returncode == 0, r.stderr
    assert (ROOT / "docs" / "data_dictionary.md").read_text(encoding="utf-8") == before


@pytest.mark.slow
def test_report_with_a_relative_reports_folder(tmp_path):
    """Regression: `make report` with the default relative REPORTS=reports crashed in GX's site builder."""
    import shutil

    raw = copy_raw(tmp_path, {"xm-mzj-2025-095.html"})
    wh = tmp_path / "policy.duckdb"
    assert make("refresh", "OFFLINE=1", f"RAW={raw}", f"WAREHOUSE={wh}", f"STAGING={tmp_path / 'st'}").returncode == 0
    rel = f"reports-test-{tmp_path.name}"
    try:
        r = make("report", f"WAREHOUSE={wh}", f"REPORTS={rel}")
        assert r.returncode == 0, r.stdout + r.stderr
        assert (ROOT / rel / "index.html").exists() and (ROOT / rel / "findings.html").exists()
    finally:
        shutil.rmtree(ROOT / rel, ignore_errors=True)
