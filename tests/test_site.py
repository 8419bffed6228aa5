"""The browsable site: a real warehouse mirrored into SQLite, served by datasette, and read-only under attack.

The warehouse is built by a real refresh of two raw notices (52 service provisions, 18 tasks); the site runs
in a subprocess on a free loopback port and is asked over HTTP, as an analyst's browser would.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import pytest
from markupsafe import escape
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.refresh import refresh
from pipeline.serve.datasette_plugin import PLUGIN_NAME, lock_down
from pipeline.serve.mirror import (ensure_mirror, load_browse_config, metadata_path, mirror_is_current,
                                   warehouse_to_sqlite)
from pipeline.serve.site import datasette_argv, start_site, stop_site, wait_until_up
from pipeline.text import clean_text
from pipeline.warehouse.schema import EXTRACTED, TABLES
from tests.conftest import ROOT
from tests.test_refresh import copy_raw

pytestmark = pytest.mark.slow
NOTICES = {"xm-mzj-2025-095.html", "xm-gov-2009-254.html"}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def duck(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("site")
    wh = tmp / "wh" / "policy.duckdb"
    summary = refresh(copy_raw(tmp, NOTICES), wh, staging_dir=tmp / "staging", reviews_dir=tmp / "reviews")
    assert summary.status == "published"
    return wh


@pytest.fixture(scope="module")
def mirror(warehouse) -> Path:
    return warehouse_to_sqlite(warehouse, warehouse.with_suffix(".sqlite"))


@pytest.fixture(scope="module")
def site(mirror, tmp_path_factory):
    port = free_port()
    log = (tmp_path_factory.mktemp("site-log") / "datasette.log").open("w")
    proc = start_site(mirror, port=port, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_up(proc, f"http://127.0.0.1:{port}")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_site(proc)
        log.close()


def get_json(url: str, **params) -> dict | list:
    return httpx.get(url, params=params, timeout=30.0).json()


def search_oracle(mirror: Path, table: str, word: str) -> set[int]:
    """Rows (rowid) whose searched columns contain the word, by a plain substring scan of the published text."""
    columns = load_browse_config().search[table]
    db = sqlite3.connect(f"file:{mirror}?mode=ro", uri=True)
    try:
        found = set()
        for rowid, *values in db.execute(f"SELECT rowid, {', '.join(columns)} FROM {table}"):
            texts = []
            for column, value in zip(columns, values):
                texts += json.loads(value) if column == "cells" and value else [value]
            if any(word in clean_text(t) for t in texts if t):
                found.add(rowid)
        return found
    finally:
        db.close()


# --- the mirror ----------------------------------------------------------------------------------------

def test_mirror_holds_every_main_table_with_its_rows_and_no_extracted_table(warehouse, mirror):
    main = dict(duck(warehouse, "SELECT table_name, table_type FROM information_schema.tables "
                                "WHERE table_schema = 'main'"))
    db = sqlite3.connect(f"file:{mirror}?mode=ro", uri=True)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                       "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '%\\_fts%' ESCAPE '\\'")}
    assert tables == set(main)  # current_notices (a view) comes as a table; build_info too
    assert not set(EXTRACTED) & tables and "partitions" not in tables
    for name in main:
        want = duck(warehouse, f'SELECT count(*) FROM main."{name}"')[0][0]
        assert db.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] == want, name
    assert db.execute("SELECT count(*) FROM service_provisions").fetchone()[0] == 52
    assert db.execute("SELECT count(*) FROM tasks").fetchone()[0] == 18
    fts = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE sql LIKE '%USING fts5%trigram%'")}
    assert fts == {f"{t}_fts" for t in load_browse_config().search}
    db.close()


def test_lists_maps_dates_and_booleans_keep_their_values(warehouse, mirror):
    db = sqlite3.connect(f"file:{mirror}?mode=ro", uri=True)
    got = {r[0]: r[1:] for r in db.execute("SELECT table_id || ':' || row_no, cells, record, grid_rows FROM table_rows")}
    want = duck(warehouse, "SELECT table_id || ':' || row_no, cells, record, grid_rows FROM table_rows")
    assert len(got) == len(want) == 52
    for key, cells, record, grid_rows in want:
        assert json.loads(got[key][0]) == cells  # LIST -> JSON array, text as published
        assert json.loads(got[key][1]) == record and isinstance(record, dict)  # MAP -> JSON object
        assert json.loads(got[key][2]) == grid_rows
    assert "照护\n服务类" in {json.loads(c)[0] for c, _, _ in got.values()}  # line breaks kept in the data
    notices = duck(warehouse, "SELECT notice_id, version, ingested_at, published_on, is_current FROM notices")
    mirrored = {(r[0], r[1]): r[2:] for r in db.execute(
        "SELECT notice_id, version, ingested_at, published_on, is_current FROM notices")}
    for notice_id, version, ingested_at, published_on, is_current in notices:
        assert mirrored[notice_id, version] == (ingested_at.isoformat(),
                                                published_on and published_on.isoformat(), int(is_current))
    db.close()


def test_metadata_carries_the_schema_descriptions_and_search_boxes(mirror):
    meta = json.loads(metadata_path(mirror).read_text(encoding="utf-8"))
    tables = meta["databases"]["policy"]["tables"]
    provisions = tables["service_provisions"]
    assert provisions["description"].startswith(TABLES["service_provisions"].grain[:1].upper()
                                                + TABLES["service_provisions"].grain[1:])
    assert provisions["columns"] == {c.name: c.doc for c in TABLES["service_provisions"].columns}
    assert tables["current_notices"]["columns"] == {c.name: c.doc for c in TABLES["notices"].columns}
    for table in load_browse_config().search:
        assert tables[table]["fts_table"] == f"{table}_fts" and tables[table]["searchmode"] == "escaped"


def test_search_index_finds_exactly_the_rows_containing_a_word(mirror):
    """FTS (with the plugin's escape_fts) against a substring scan: one, two, three and four characters."""
    from pipeline.serve.fts import search_query

    db = sqlite3.connect(f"file:{mirror}?mode=ro", uri=True)
    checked = 0
    for table in load_browse_config().search:
        for word in ("养老", "居家养老", "药", "服务", "残疾人", "GB/T"):
            found = {r[0] for r in db.execute(
                f"SELECT rowid FROM {table}_fts WHERE {table}_fts MATCH ?", [search_query(word)])}
            assert found == search_oracle(mirror, table, word), (table, word)
            checked += bool(found)
    assert checked >= 10  # most words occur in most tables: the comparison is not of empty sets
    db.close()


def test_mirror_is_rebuilt_only_when_the_warehouse_is_newer(warehouse, tmp_path):
    wh = tmp_path / "policy.duckdb"
    shutil.copy(warehouse, wh)
    out = ensure_mirror(wh)
    assert out == tmp_path / "policy.sqlite" and mirror_is_current(wh, out)
    built = out.stat().st_mtime_ns
    assert ensure_mirror(wh) == out and out.stat().st_mtime_ns == built  # up to date: left alone
    earlier = time.time() - 60
    for p in (out, metadata_path(out)):
        os.utime(p, (earlier, earlier))  # a refresh has published a newer warehouse since
    assert not mirror_is_current(wh, out)
    ensure_mirror(wh)
    assert out.stat().st_mtime_ns != built and mirror_is_current(wh, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["policy.duckdb", "policy.metadata.json", "policy.sqlite"]


# --- the site over HTTP ----------------------------------------------------------------------------------

def test_table_page_lists_the_52_provisions_with_column_descriptions(site):
    page = httpx.get(f"{site}/policy/service_provisions", timeout=30.0)
    assert page.status_code == 200
    assert "<title>policy: service_provisions: 52 rows</title>" in page.text
    for column in TABLES["service_provisions"].columns:
        assert f"<dt>{column.name}</dt><dd>{escape(column.doc)}</dd>" in page.text
    assert '<input id="_search" type="search" name="_search"' in page.text  # the search box


def test_json_api_returns_the_rows(site, warehouse):
    rows = get_json(f"{site}/policy/tasks.json", _shape="array", _size="max")
    assert len(rows) == 18
    assert {r["task_id"] for r in rows} == {r[0] for r in duck(warehouse, "SELECT task_id FROM tasks")}
    provisions = get_json(f"{site}/policy/service_provisions.json", _size="max")
    assert provisions["filtered_table_rows_count"] == 52 and len(provisions["rows"]) == 52


@pytest.mark.parametrize("table,word", [("service_provisions", "养老"), ("service_provisions", "居家养老"),
                                        ("notices", "养老"), ("notices", "居家养老"), ("tasks", "养老")])
def test_search_box_finds_chinese_words_of_two_characters_and_more(site, mirror, table, word):
    want = search_oracle(mirror, table, word)
    assert want, (table, word)
    got = get_json(f"{site}/policy/{table}.json", _search=word, _size="max", _shape="objects")
    assert got["filtered_table_rows_count"] == len(want)
    page = httpx.get(f"{site}/policy/{table}", params={"_search": word}, timeout=30.0).text
    assert f"{len(want)} row{'s' if len(want) > 1 else ''} where search matches &#34;{word}&#34;" in page


def test_search_of_one_column(site, mirror):
    db = sqlite3.connect(f"file:{mirror}?mode=ro", uri=True)
    rows = db.execute("SELECT standard_text, service_item FROM service_provisions").fetchall()
    db.close()
    in_standard = sum("养老" in clean_text(s) for s, _ in rows if s)
    in_item = sum("养老" in clean_text(i) for _, i in rows if i)
    assert in_standard > in_item  # the word is in the standards, not in the item names
    for column, want in (("standard_text", in_standard), ("service_item", in_item)):
        got = get_json(f"{site}/policy/service_provisions.json", **{f"_search_{column}": "养老"}, _size="max")
        assert got["filtered_table_rows_count"] == want, column


ATTACKS = [
    "ATTACH DATABASE '/tmp/site-attack.db' AS evil",
    "CREATE TABLE evil (x)",
    "INSERT INTO build_info VALUES ('evil', 'x')",
    "DELETE FROM notices",
    "PRAGMA writable_schema = 1",
    "SELECT load_extension('/tmp/evil.so')",
    # these two pass datasette's SELECT/WITH check: SQLite's authorizer refuses them
    "WITH a AS (SELECT 'evil', 'x') INSERT INTO build_info SELECT * FROM a",
    "WITH a AS (SELECT 1) DELETE FROM service_provisions",
    "WITH a AS (SELECT 1) UPDATE notices SET title = 'evil'",
    "SELECT * FROM pragma_writable_schema",
    "SELECT length(zeroblob(100000000))",
]


def test_attacks_are_refused_and_the_file_is_unchanged(site, mirror):
    before = sha256(mirror)
    for sql in ATTACKS:
        r = get_json(f"{site}/policy.json", sql=sql)
        assert r["ok"] is False and r["error"], (sql, r)
    t0 = time.monotonic()
    r = get_json(f"{site}/policy.json",
                 sql="WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c")
    took = time.monotonic() - t0
    assert r["ok"] is False and "SQL query took too long" in r["error"]
    assert 2.5 < took < 20  # stopped at the 3 s limit, not run to its end
    assert sha256(mirror) == before
    assert not Path("/tmp/site-attack.db").exists()
    assert get_json(f"{site}/policy.json", sql="SELECT count(*) AS n FROM tasks", _shape="array") == [{"n": 18}]


def test_site_runs_locked_down(site, mirror):
    argv = datasette_argv(mirror)
    assert argv[argv.index("--host") + 1] == "127.0.0.1" and argv[argv.index("--immutable") + 1] == str(mirror)
    assert not {"--load-extension", "--crossdb", "--memory", "--root", "--cors", "--plugins-dir"} & set(argv)
    settings = get_json(f"{site}/-/settings.json")
    assert settings["sql_time_limit_ms"] == 3000 and settings["max_returned_rows"] == 1000
    assert settings["allow_download"] is False
    assert httpx.get(f"{site}/policy.db", timeout=30.0).status_code == 403
    assert [p["name"] for p in get_json(f"{site}/-/plugins.json", all=1) if not p["name"].startswith("datasette.")] \
        == [PLUGIN_NAME]
    assert [d["name"] for d in get_json(f"{site}/-/databases.json")] == ["policy"]
    assert get_json(f"{site}/-/databases.json")[0]["is_mutable"] is False


def test_sqlite_refuses_writes_beneath_datasette(mirror, tmp_path):
    """The plugin's authorizer and limits alone, on a writable copy: SQLite itself refuses every attack."""
    copy = tmp_path / "copy.sqlite"
    shutil.copy(mirror, copy)
    before = sha256(copy)
    db = sqlite3.connect(copy)  # writable: only lock_down stands in the way
    lock_down(db)
    for sql in ATTACKS:
        with pytest.raises(sqlite3.DatabaseError):
            db.execute(sql)
    assert db.execute("SELECT count(*) FROM service_provisions").fetchone() == (52,)
    db.close()
    assert sha256(copy) == before


def test_serve_without_a_readable_warehouse_fails_in_one_line(tmp_path):
    r = CliRunner().invoke(app, ["serve", "--warehouse", str(tmp_path / "none.duckdb"), "--check"])
    assert r.exit_code == 1 and "serve failed" in r.output and "does not exist" in r.output
    assert "Traceback" not in r.output
    garbage = tmp_path / "garbage.duckdb"
    garbage.write_bytes(b"not a database" * 100)
    r = CliRunner().invoke(app, ["serve", "--warehouse", str(garbage), "--check"])
    assert r.exit_code == 1 and "serve failed" in r.output and "reading the warehouse" in r.output
    assert "Traceback" not in r.output and not (tmp_path / "garbage.sqlite").exists()


def test_site_refuses_to_start_beside_another_datasette_plugin():
    code = ("import types, sys; from datasette.plugins import pm; pm.register(types.ModuleType('datasette_writer'), "
            "name='datasette_writer'); from pipeline.serve.site import main; main(['serve', '--help'])")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 1 and "site refused to start" in r.stderr and "datasette_writer" in r.stderr


def test_make_site_builds_the_mirror_starts_and_answers(warehouse, tmp_path):
    wh = tmp_path / "policy.duckdb"
    shutil.copy(warehouse, wh)
    port = free_port()
    r = subprocess.run(["make", "--no-print-directory", "site", f"WAREHOUSE={wh}", f"SITE_ARGS=--check --port {port}"],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"mirror {tmp_path / 'policy.sqlite'} rebuilt from {wh}" in r.stdout
    relations = len(duck(wh, "SELECT 1 FROM information_schema.tables WHERE table_schema = 'main'"))
    assert f"site answered at http://127.0.0.1:{port}/policy: {relations} tables" in r.stdout
    assert f"plugins {PLUGIN_NAME}" in r.stdout
    assert (tmp_path / "policy.sqlite").exists() and (tmp_path / "policy.metadata.json").exists()


def test_a_running_site_picks_up_a_newly_published_warehouse(warehouse, tmp_path):
    wh = tmp_path / "policy.duckdb"
    shutil.copy(warehouse, wh)
    port = free_port()
    url = f"http://127.0.0.1:{port}/policy/tasks.json"
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "serve", "--warehouse", str(wh), "--port", str(port),
                             "--watch", "0.5"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(url, params={"_size": "max"}, timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        assert len(get_json(url, _size="max", _shape="array")) == 18
        new = tmp_path / "next.duckdb"  # a refresh's publish: the next warehouse written beside, then renamed
        shutil.copy(warehouse, new)
        con = duckdb.connect(str(new))
        con.execute("DELETE FROM targets; DELETE FROM task_units; DELETE FROM tasks WHERE task_no > 1")
        con.close()
        kept = duck(new, "SELECT count(*) FROM tasks")[0][0]
        assert 0 < kept < 18
        os.replace(new, wh)
        deadline, got = time.monotonic() + 120, None
        while time.monotonic() < deadline and got != kept:
            try:
                got = len(get_json(url, _size="max", _shape="array"))
            except (httpx.TransportError, ValueError):
                pass
            time.sleep(0.3)
        assert got == kept
        assert proc.poll() is None
    finally:
        proc.terminate()  # SIGTERM: the command stops its datasette child too
        proc.wait(30)
        log.close()
    assert "mirror rebuilt, site restarted" in (tmp_path / "serve.log").read_text()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and _answers(url):
        time.sleep(0.3)
    assert not _answers(url), "the site outlived the serve command"


def _answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=2)
        return True
    except httpx.TransportError:
        return False
