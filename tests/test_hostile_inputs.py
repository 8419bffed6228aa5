"""Hostile and broken inputs (issue 17): each test reproduces the reported break, then shows it fails safely — the
file is named, the other notices publish, nothing outside the pipeline's own files is touched, no traceback."""

from __future__ import annotations

import errno
import io
import os
import signal
import time
import zipfile

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.engine.limits import Budget
from pipeline.engine.local import map_local
from pipeline.refresh import refresh
from tests.conftest import HTML_2025
from tests.test_refresh import copy_raw, query


def status_of(wh):
    return {r[0]: r[1:] for r in query(wh, "SELECT raw_file, status, stage, reason FROM raw_files")}


# --- raw/ entries that are not notices ---------------------------------------------------------------------------

def test_odd_entries_of_raw_are_each_reported_and_the_notice_publishes(tmp_path):
    """Guards: a non-UTF-8 name, a symlink leaving raw/, a dot-file, a folder and malformed sidecars (a list, an int,
    a folder) each raised a traceback and stopped every refresh; a symlink outside raw/ was followed."""
    raw = copy_raw(tmp_path, {HTML_2025.name})
    outside = tmp_path / "secret.html"
    outside.write_text("<html><body><table><tr><td>序号</td><td>密</td></tr></table></body></html>", encoding="utf-8")
    os.symlink(outside, raw / "link-out.html")
    (raw / os.fsdecode(b"bad-\xff-name.html")).write_bytes(HTML_2025.read_bytes())
    (raw / ".hidden.html").write_bytes(HTML_2025.read_bytes())
    (raw / "folder").mkdir()
    shutil_copy = (raw / "copy.html")
    shutil_copy.write_bytes(b"<html><body><p>\xe9\x80\x9a\xe7\x9f\xa5</p></body></html>")
    (raw / "provenance" / "copy.html.json").write_text("[1, 2]", encoding="utf-8")
    (raw / "provenance" / f"{HTML_2025.name}.json").write_text("7", encoding="utf-8")
    wh = tmp_path / "policy.duckdb"
    summary = refresh(raw, wh, staging_dir=tmp_path / "st")
    assert summary.status == "published"
    reports = "\n".join(summary.reports)
    assert "raw/link-out.html: a symlink to " in reports and "outside raw/; refused" in reports
    assert "the file name is not valid UTF-8; rename it" in reports
    assert "raw/.hidden.html: a hidden file; rename it without the leading dot to load it" in reports
    assert "raw/folder/: a folder; only files directly in raw/ are read" in reports
    assert "raw/provenance/copy.html.json holds a JSON list, not an object; ignored" in reports
    assert f"raw/provenance/{HTML_2025.name}.json holds a JSON int, not an object; ignored" in reports
    assert sorted(status_of(wh)) == ["copy.html", HTML_2025.name]
    assert query(wh, "SELECT count(*) FROM service_provisions") == [(52,)]
    assert query(wh, "SELECT count(*) FROM table_cells WHERE text = '密'") == [(0,)]  # nothing read outside raw/


def test_a_same_length_edit_with_its_mtime_restored_is_still_seen(tmp_path):
    """Guards: a cache keyed by name and size published text that was no longer in the raw file."""
    raw = copy_raw(tmp_path, {HTML_2025.name})
    wh = tmp_path / "policy.duckdb"
    refresh(raw, wh, staging_dir=tmp_path / "st")
    page = raw / HTML_2025.name
    st = page.stat()
    data = page.read_bytes().replace("本市户籍残疾人".encode(), "本市户籍持证人".encode())
    assert len(data) == st.st_size
    page.write_bytes(data)
    os.utime(page, ns=(st.st_atime_ns, st.st_mtime_ns))
    refresh(raw, wh, staging_dir=tmp_path / "st")
    assert query(wh, "SELECT count(*) FROM service_provisions WHERE population = '本市户籍持证人'") == [(1,)]


# --- review files ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("content, message", [
    ("flag_id,decision,corrected_value,reviewer,decided_on,note,evidence\nx,accept,,张三,2026-12-01,,证据\n"
     .encode("gbk"), "decisions.csv is not UTF-8 text"),
    (b"flag_id,decision,corrected_value,reviewer,decided_on,note,evidence\nx,accept,,qa,2026-12-01,"
     + b'"' + b"a" * (200 * 1024) + b'",e\n', "decisions.csv is not readable CSV (field larger than field limit"),
])
def test_a_broken_review_file_is_one_line_and_keeps_the_warehouse(tmp_path, content, message):
    """Guards: a GBK or huge-field reviews CSV ended every refresh with a raw traceback."""
    raw = copy_raw(tmp_path, {HTML_2025.name})
    wh = tmp_path / "policy.duckdb"
    reviews = tmp_path / "reviews"
    reviews.mkdir()
    refresh(raw, wh, staging_dir=tmp_path / "st", reviews_dir=reviews)
    before = wh.read_bytes()
    (reviews / "decisions.csv").write_bytes(content)
    r = CliRunner().invoke(app, ["refresh", "--offline", "--raw", str(raw), "--warehouse", str(wh),
                                 "--staging", str(tmp_path / "st"), "--reviews", str(reviews)])
    assert r.exit_code == 1
    assert message in r.output and "stage review" in r.output and "Traceback" not in r.output
    assert wh.read_bytes() == before


# --- files that would take unbounded memory or time ------------------------------------------------------------------

def test_a_rowspan_bomb_fails_alone_and_quickly(tmp_path):
    """Guards: a 177 KB page of rowspan=100000 cells took 4.4 GB."""
    raw = copy_raw(tmp_path, {HTML_2025.name})
    rows = "".join(f'<tr><td rowspan="100000" colspan="1000">{i}</td><td>x</td></tr>' for i in range(3000))
    (raw / "bomb.html").write_text(f"<html><body><table>{rows}</table></body></html>", encoding="utf-8")
    wh = tmp_path / "policy.duckdb"
    t = time.monotonic()
    summary = refresh(raw, wh, staging_dir=tmp_path / "st")
    assert time.monotonic() - t < 120
    status, stage, reason = status_of(wh)["bomb.html"]
    assert (status, stage) == ("failed", "extract")
    assert "grid positions" in reason and "(hint: check the file by hand" in reason
    assert summary.status == "published" and query(wh, "SELECT count(*) FROM service_provisions") == [(52,)]


def docx_of(body: str) -> bytes:
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    parts = {
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                               'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
                               'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
                               '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
                               'officedocument.wordprocessingml.document.main+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                       'relationships"><Relationship Id="r1" Type="http://schemas.openxmlformats.org/officeDocument/'
                       '2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>',
        "word/document.xml": f'<?xml version="1.0"?><w:document {w}><w:body>{body}</w:body></w:document>',
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(name, text)
    return buf.getvalue()


def test_a_docx_of_grid_span_cells_fails_alone_and_quickly(tmp_path):
    """Guards: a 1 KB DOCX with gridSpan cells took 4.3 GB and 96 s (400 rows: hung 15 min)."""
    cell = '<w:tc><w:tcPr><w:gridSpan w:val="1000"/></w:tcPr><w:p><w:r><w:t>{}</w:t></w:r></w:p></w:tc>'
    rows = "".join("<w:tr>" + "".join(cell.format(r * 50 + c) for c in range(50)) + "</w:tr>" for r in range(400))
    data = docx_of(f"<w:tbl>{rows}</w:tbl>")
    assert len(data) < 100_000  # a small file that asks for 400 × 50,000 grid positions
    raw = copy_raw(tmp_path, {HTML_2025.name})
    (raw / "spans.docx").write_bytes(data)
    wh = tmp_path / "policy.duckdb"
    t = time.monotonic()
    refresh(raw, wh, staging_dir=tmp_path / "st")
    assert time.monotonic() - t < 120
    status, stage, reason = status_of(wh)["spans.docx"]
    assert (status, stage) == ("failed", "extract") and "grid positions" in reason


def test_a_long_page_is_read_in_linear_time(tmp_path):
    """Guards: html_to_blocks was quadratic (a 2.5 MB page took 83 s): XPaths are built in one pass."""
    from pipeline.stages import html_file_to_extracted

    para = "<p>第{i}条 各区人民政府要加强组织领导，落实工作责任，确保各项任务按期完成。</p>"
    small = "<html><body>" + "".join(para.format(i=i) for i in range(2500)) + "</body></html>"
    large = "<html><body>" + "".join(para.format(i=i) for i in range(20000)) + "</body></html>"
    assert len(large.encode()) > 2_000_000
    t = time.perf_counter()
    assert len(html_file_to_extracted(small.encode(), "small.html").blocks) == 2500
    t_small = time.perf_counter() - t
    t = time.perf_counter()
    assert len(html_file_to_extracted(large.encode(), "large.html").blocks) == 20000
    t_large = time.perf_counter() - t
    assert t_large < 20 * t_small + 1.0  # 8× the text; quadratic would be 64×


# --- workers: a dead or slow one fails its file, not the run ------------------------------------------------------

def _job(name: str) -> str:
    if name == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    if name == "sleep":
        time.sleep(60)
    if name == "eat":
        b = bytearray(8 * 2**30)  # more than the budget below
        return str(len(b))
    return name.upper()


def test_a_dead_slow_or_greedy_worker_fails_its_job_and_the_others_finish():
    """Guards: a killed worker ended the refresh with BrokenProcessPool, naming no file."""
    t = time.monotonic()
    out = {o.job: o for o in map_local(_job, ["a", "die", "b", "sleep", "eat", "c"], workers=2,
                                       limits=Budget(memory_mb=2048, seconds=5))}
    assert time.monotonic() - t < 45
    assert {k: o.value for k, o in out.items() if o.failure is None} == {"a": "A", "b": "B", "c": "C"}
    assert out["die"].failure.startswith("the worker died (signal 9)")
    assert out["sleep"].failure.startswith("over the time budget (5 s")
    assert out["eat"].failure.startswith("over the memory budget (2048 MB")


def _allocate_100mb(_):
    return len(bytearray(100 * 2**20))


def test_the_memory_budget_counts_what_the_file_adds_not_what_the_parent_already_maps():
    """Guards: a refresh run from a big parent process (a test runner, a notebook) failed every PDF with
    'worker died (signal 11)': the forked worker inherited the parent's mappings and the cap left it no room."""
    import mmap

    held = mmap.mmap(-1, 3 * 2**30)  # 3 GiB of address space in the parent (never touched, so no real memory)
    try:
        [out] = map_local(_allocate_100mb, ["x"], workers=1, limits=Budget(memory_mb=2048, seconds=30))
    finally:
        held.close()
    assert (out.failure, out.value) == (None, 100 * 2**20)


# --- failures outside a file's stages: one line, a hint, a non-zero exit, the warehouse untouched ------------------

@pytest.mark.parametrize("target, error, message", [
    ("pipeline.warehouse.partitions.PartitionStore.write", OSError(errno.ENOSPC, "No space left on device"),
     "refresh failed: No space left on device (hint: check free disk space"),
    ("pipeline.refresh.publish", PermissionError(errno.EACCES, "Permission denied", "warehouse/policy.duckdb"),
     "refresh failed: Permission denied (warehouse/policy.duckdb) (hint: check free disk space"),
])
def test_disk_full_or_a_read_only_warehouse_folder_is_one_line_with_a_hint(tmp_path, monkeypatch, target, error,
                                                                           message):
    """Guards: a full staging disk and a read-only warehouse folder stopped the refresh with a raw traceback."""
    raw = copy_raw(tmp_path, {HTML_2025.name})
    wh = tmp_path / "policy.duckdb"
    refresh(raw, wh, staging_dir=tmp_path / "st")
    before = wh.read_bytes()
    (raw / "new.html").write_bytes(HTML_2025.read_bytes().replace(b"95\xe5\x8f\xb7", b"96\xe5\x8f\xb7"))

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(target, fail)  # forked workers inherit the patch
    r = CliRunner().invoke(app, ["refresh", "--offline", "--raw", str(raw), "--warehouse", str(wh),
                                 "--staging", str(tmp_path / "st")])
    assert r.exit_code == 1, r.output
    assert message in r.output and "the published warehouse was left as it was" in r.output
    assert "Traceback" not in r.output
    assert wh.read_bytes() == before

