"""End-to-end refresh on copies of raw/: metadata, failures isolated, no-op refresh, atomic publish."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest

from pipeline.errors import GateFailed
from pipeline.refresh import refresh
from tests.conftest import HTML_2009, HTML_2025, RAW


def copy_raw(tmp_path: Path, names=None) -> Path:
    raw = tmp_path / "raw"
    raw.mkdir()
    for p in RAW.iterdir():
        if p.is_file() and (names is None or p.name in names):
            shutil.copy(p, raw / p.name)
    if (RAW / "provenance").is_dir():
        shutil.copytree(RAW / "provenance", raw / "provenance")
    return raw


def query(db: Path, sql: str):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("built")
    raw = copy_raw(tmp, {HTML_2025.name, HTML_2009.name})
    wh = tmp / "wh" / "policy.duckdb"
    summary = refresh(raw, wh, staging_dir=tmp / "staging")
    return raw, wh, summary


def test_notices_metadata_from_both_site_formats(built):
    _, wh, _ = built
    rows = query(wh, "SELECT notice_id, version, title, doc_number, index_no, issuer, published_on, posted_on, "
                     "effective_on, expires_on, site_profile, format, is_current FROM notices ORDER BY published_on")
    assert rows == [
        ("厦府办〔2009〕254号", 1, "厦门市人民政府办公厅关于印发 推进居家养老服务工作任务分解 方案的通知", "厦府办〔2009〕254号",
         None, "厦门市人民政府", dt.date(2009, 10, 17), None, dt.date(2009, 10, 17), None, "law-database", "html", True),
        ("厦民〔2025〕95号", 1, "关于印发《厦门市服务类社会救助清单(试行)》的通知", "厦民〔2025〕95号",
         "XM00110-02-02-2025-032", "厦门市民政局", dt.date(2025, 7, 1), dt.date(2025, 7, 18), None, None,
         "gov-disclosure", "html", True),
    ]
    src = query(wh, "SELECT source_url, raw_sha256 FROM notices WHERE notice_id = '厦民〔2025〕95号'")[0]
    assert src == ("https://mzj.xm.gov.cn/zfxxgk/zfxxgkml/xxgktzgg/202507/t20250718_2945939.htm",
                   "b7570bcd936d7ae05ee18e903b462c23c524637f0ae8bf82f6880764ed48db06")


def test_provisions_loaded_with_types_and_lineage(built):
    _, wh, summary = built
    assert summary.rows["service_provisions"] == 52
    assert query(wh, "SELECT count(*), count(DISTINCT provision_id), min(item_no), max(item_no) FROM service_provisions") == [(52, 52, 1, 17)]
    assert query(wh, "SELECT typeof(item_no), typeof(source_rows) FROM service_provisions LIMIT 1") == [("INTEGER", "INTEGER[]")]
    assert query(wh, "SELECT count(*) FROM cell_lineage WHERE record_table = 'service_provisions'") == [(52 * 7,)]
    assert query(wh, "SELECT DISTINCT raw_sha256 FROM service_provisions") == [
        ("b7570bcd936d7ae05ee18e903b462c23c524637f0ae8bf82f6880764ed48db06",)]


def test_second_refresh_with_no_change_reports_nothing_changed_and_leaves_the_file(built):
    raw, wh, _ = built
    before = wh.read_bytes()
    summary = refresh(raw, wh)
    assert summary.status == "unchanged"
    assert summary.files_unchanged == summary.files_seen == 2
    assert wh.read_bytes() == before


def test_forced_rebuild_keeps_identical_content(built, tmp_path):
    raw, wh, _ = built
    copy = tmp_path / "policy.duckdb"
    shutil.copy(wh, copy)
    tables = ["notices", "service_provisions", "raw_files", "cell_lineage"]
    before = {t: query(copy, f"SELECT * FROM {t} ORDER BY ALL") for t in tables}
    refresh(raw, copy, staging_dir=tmp_path / "staging", force=True)
    assert {t: query(copy, f"SELECT * FROM {t} ORDER BY ALL") for t in tables} == before  # ingested_at kept too


def test_bad_notices_are_reported_by_name_and_stage_while_the_others_load(tmp_path):
    raw = copy_raw(tmp_path, {HTML_2025.name})
    (raw / "empty.html").write_bytes(b"")
    (raw / "garbage.bin").write_bytes(b"\x00\x01 not a notice")
    (raw / "no-table.html").write_bytes("<html><body><p>通知正文,没有表格。</p></body></html>".encode())
    (raw / "undecodable.html").write_bytes(b"<meta charset='utf-8'><p>" + bytes(range(0x80, 0xFF)) * 8 + b"</p>")
    wh = tmp_path / "policy.duckdb"
    summary = refresh(raw, wh, staging_dir=tmp_path / "staging")
    assert summary.status == "published"
    status = dict((r[0], r[1:]) for r in query(wh, "SELECT raw_file, status, stage, reason FROM raw_files"))
    assert status["xm-mzj-2025-095.html"][:2] == ("loaded", None)
    assert status["empty.html"][:2] == ("failed", "detect")
    assert "file empty.html" in status["empty.html"][2] and "empty" in status["empty.html"][2]
    assert status["garbage.bin"][:2] == ("failed", "detect")
    assert "not HTML, PDF, Word, Excel" in status["garbage.bin"][2]
    assert status["no-table.html"][:2] == ("no_table", "recognize")
    assert status["undecodable.html"][:2] == ("failed", "decode")
    assert "file undecodable.html" in status["undecodable.html"][2] and "charset" in status["undecodable.html"][2]
    # Every file lands in notices: the one with no table is published (without rows), the unreadable ones say why.
    assert query(wh, "SELECT status, count(*) FROM notices GROUP BY 1 ORDER BY 1") == [("failed", 3), ("published", 2)]
    reasons = [r[0] for r in query(wh, "SELECT status_reason FROM notices WHERE status = 'failed' ORDER BY 1")]
    assert [r.split(",")[0] for r in reasons] == ["file empty.html", "file garbage.bin", "file undecodable.html"]
    assert query(wh, "SELECT count(*) FROM service_provisions") == [(52,)]


def test_page_in_gbk_declared_utf8_still_loads(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    page = HTML_2025.read_text(encoding="utf-8").replace("charset=utf-8", "charset=utf-8")
    (raw / "gbk-declared-utf8.html").write_bytes(page.encode("gb18030"))
    wh = tmp_path / "policy.duckdb"
    summary = refresh(raw, wh, staging_dir=tmp_path / "staging")
    assert summary.rows["service_provisions"] == 52
    decoded = query(wh, "SELECT decoded_as FROM raw_files")[0][0]
    assert decoded.endswith("gb18030")
    assert query(wh, "SELECT category FROM service_provisions WHERE provision_id = '厦民〔2025〕95号:1:1'") == [("照护服务类",)]


def test_notice_dropped_without_provenance_derives_its_id_from_content(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(HTML_2025, raw / "dropped.html")
    wh = tmp_path / "policy.duckdb"
    refresh(raw, wh, staging_dir=tmp_path / "staging")
    assert query(wh, "SELECT notice_id, role, source_url FROM raw_files") == [("厦民〔2025〕95号", "page", None)]


def test_failed_gate_keeps_the_published_warehouse_byte_for_byte(built, tmp_path, monkeypatch):
    raw, wh, _ = built
    copy = tmp_path / "policy.duckdb"
    shutil.copy(wh, copy)
    before = copy.read_bytes()
    reader = duckdb.connect(str(copy), read_only=True)  # an analyst holding the old file
    from pipeline.warehouse import build as build_module
    from pipeline.warehouse.gate import GateResult

    monkeypatch.setattr(build_module, "warehouse_gate", lambda con, suites: GateResult(False, ["forced failure"]))
    with pytest.raises(GateFailed, match="forced failure"):
        refresh(raw, copy, staging_dir=tmp_path / "staging", force=True)
    assert copy.read_bytes() == before
    assert reader.execute("SELECT count(*) FROM service_provisions").fetchone() == (52,)
    reader.close()
    assert [p.name for p in tmp_path.iterdir() if "building" in p.name] == []


def test_reader_of_the_old_file_keeps_a_consistent_view_across_a_publish(built, tmp_path):
    raw, wh, _ = built
    copy = tmp_path / "policy.duckdb"
    shutil.copy(wh, copy)
    reader = duckdb.connect(str(copy), read_only=True)
    old_runs = {r[0] for r in reader.execute("SELECT run_id FROM runs").fetchall()}
    summary = refresh(raw, copy, staging_dir=tmp_path / "staging", force=True)
    assert reader.execute("SELECT count(*) FROM service_provisions").fetchone() == (52,)
    reader.close()
    new_runs = {r[0] for r in query(copy, "SELECT run_id FROM runs")}
    assert old_runs | {summary.run_id} <= new_runs  # run history comes from history/, never lost by a rebuild


def test_a_partition_that_does_not_fit_the_schema_fails_at_load_and_keeps_the_warehouse(built, tmp_path):
    import hashlib
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipeline.errors import LoadFailed

    raw, wh, _ = built
    staging = tmp_path / "staging"
    shutil.copytree(raw.parent / "staging", staging)
    copy = tmp_path / "policy.duckdb"
    shutil.copy(wh, copy)
    before = copy.read_bytes()
    [manifest] = [m for m in staging.glob("partitions/*/*/manifest.json") if "xm-mzj-2025-095.html" in m.read_text()]
    path = manifest.parent / "service_provisions.parquet"
    rows = pq.read_table(path).to_pylist()
    rows[0]["provision_id"] = None
    # A partition written without the schema's NOT NULL flags, its manifest updated to match.
    pq.write_table(pa.Table.from_pylist(rows), path)
    doc = json.loads(manifest.read_text(encoding="utf-8"))
    doc["tables"]["service_provisions"]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(LoadFailed, match=r"stage load: partitions do not load into the schema: .*provision_id"):
        refresh(raw, copy, staging_dir=staging, force=True)
    assert copy.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if "building" in p.name] == []


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.5, 2.0, 4.0])
def test_a_refresh_killed_at_any_point_leaves_the_published_warehouse_whole(built, tmp_path, delay):
    import os
    import signal
    import subprocess
    import sys
    import time

    raw, wh, _ = built
    copy = tmp_path / "policy.duckdb"
    shutil.copy(wh, copy)
    before = copy.read_bytes()
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "refresh", "--offline", "--force", "--raw", str(raw),
                             "--warehouse", str(copy), "--staging", str(tmp_path / "st")],
                            cwd=Path(__file__).resolve().parent.parent, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(delay)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    # Either the old file or a complete new one: it opens and holds all 52 provisions.
    assert query(copy, "SELECT count(*) FROM service_provisions") == [(52,)]
    if copy.read_bytes() != before:
        assert query(copy, "SELECT count(*) FROM service_provisions") == [(52,)]
    summary = refresh(raw, copy, staging_dir=tmp_path / "st2", force=True)
    assert summary.status == "published"
    assert [p.name for p in tmp_path.iterdir() if "building" in p.name] == []
