"""Analyst SQL cannot write, read other files or go online: the reported attacks, each refused, nothing changed.

The warehouse is a small DuckDB file built here (not by a refresh), in a folder laid out like the project's
(warehouse/policy.duckdb beside raw/), with the working directory there so the attacks' relative paths
('warehouse/policy.duckdb', 'raw/injected.html') point where they did in the report.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.serve.query import RefusedStatement, connect_readonly

SECRET = "root:x:0:0:root:/root:/bin/bash\n"

ATTACH_AND_DELETE = ("ATTACH 'x.duckdb' AS s (READ_WRITE); USE s; DETACH policy; "
                     "ATTACH 'warehouse/policy.duckdb' AS w (READ_WRITE); DELETE FROM w.service_provisions")
DENIED = "file system operations are disabled"
# (name, one statement as the report gave it, how `pipeline sql` refuses it, what DuckDB's own wall says when
# the statement check is bypassed). A SELECT is a read by type, so DuckDB's configuration is what stops it.
ATTACKS = [
    ("attach_read_write", "ATTACH 'warehouse/policy.duckdb' AS w (READ_WRITE)", "refused", "is already attached"),
    ("attach_hard_link", "ATTACH 'warehouse/link.duckdb' AS w (READ_WRITE)", "refused", DENIED),
    ("attach_new_file", "ATTACH 'x.duckdb' AS s (READ_WRITE)", "refused", DENIED),
    ("copy_to_raw", "COPY (SELECT '<script>alert(1)</script>') TO 'raw/injected.html' (HEADER false)", "refused", DENIED),
    ("read_text", "SELECT content FROM read_text('secret/passwd')", DENIED, DENIED),
    ("read_csv", "SELECT * FROM read_csv('secret/passwd', sep=':')", DENIED, DENIED),
    ("glob", "SELECT * FROM glob('secret/*')", DENIED, DENIED),
    ("export_database", "EXPORT DATABASE 'raw/dump'", "refused", DENIED),
    ("install_httpfs", "INSTALL httpfs", "refused", DENIED),
    ("load_httpfs", "LOAD httpfs", "refused", "Loading external extensions is disabled"),
    ("unlock_external_access", "SET enable_external_access = true", "refused", "the configuration has been locked"),
    ("reset_external_access", "RESET enable_external_access", "refused", "the configuration has been locked"),
    ("pragma_unlock", "PRAGMA lock_configuration = false", "refused", "the configuration has been locked"),
    ("detach_main", "DETACH policy", "refused", "default database"),
]


def _build(path: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE notices (notice_id VARCHAR, title VARCHAR, published_on DATE, valid_to DATE)")
    con.execute("CREATE TABLE service_provisions (provision_id VARCHAR, notice_id VARCHAR, item_no INTEGER, "
                "service_item VARCHAR, population VARCHAR)")
    con.execute("INSERT INTO notices VALUES ('厦民〔2025〕95号', '服务类社会救助清单', DATE '2025-07-18', NULL), "
                "('厦民〔2024〕1号', '旧清单', DATE '2024-01-02', DATE '2025-07-17')")
    con.execute("INSERT INTO service_provisions VALUES ('p1', '厦民〔2025〕95号', 1, '助餐服务', '特困人员'), "
                "('p2', '厦民〔2025〕95号', 1, '助餐服务', '低保对象'), ('p3', '厦民〔2025〕95号', 2, '巡访探视', '特困人员'), "
                "('p4', '厦民〔2024〕1号', 1, '助餐服务', '特困人员')")
    con.execute("CREATE VIEW current_notices AS SELECT * FROM notices WHERE valid_to IS NULL")
    con.close()


@pytest.fixture
def site(tmp_path, monkeypatch) -> Path:
    """A project folder: warehouse/policy.duckdb, raw/ with one notice, and a file the SQL must not read."""
    (tmp_path / "warehouse").mkdir()
    _build(tmp_path / "warehouse" / "policy.duckdb")
    os.link(tmp_path / "warehouse" / "policy.duckdb", tmp_path / "warehouse" / "link.duckdb")
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "notice.html").write_text("<html><body>厦民〔2025〕95号</body></html>", encoding="utf-8")
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "passwd").write_text(SECRET, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def snapshot(root: Path) -> dict[str, str]:
    """sha256 of every file under root (a new file shows up as a new key)."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def run_sql(query: str, warehouse: str = "warehouse/policy.duckdb"):
    return CliRunner().invoke(app, ["sql", query, "--warehouse", warehouse])


def test_the_reported_attacks_work_on_a_plain_read_only_connection(site):
    """The old factory (read_only=True alone): the attack chain empties the warehouse, COPY writes into raw/."""
    before = snapshot(site)
    con = duckdb.connect("warehouse/policy.duckdb", read_only=True)
    con.sql("ATTACH 'x.duckdb' AS s (READ_WRITE); USE s; DETACH policy; "
            "ATTACH 'warehouse/policy.duckdb' AS w (READ_WRITE)")
    assert con.sql("SELECT content FROM read_text('secret/passwd')").fetchall() == [(SECRET,)]
    con.sql("DELETE FROM w.service_provisions")
    con.sql("COPY (SELECT 'x') TO 'raw/injected.html' (HEADER false)")
    con.close()
    after = snapshot(site)
    assert after["warehouse/policy.duckdb"] != before["warehouse/policy.duckdb"]
    assert "raw/injected.html" in after


def test_the_attack_chain_is_refused_and_nothing_changes(site):
    before = snapshot(site)
    result = run_sql(ATTACH_AND_DELETE)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "sql refused: 5 statements given; run exactly one at a time (hint: analyst SQL runs one read statement: "
        "SELECT (or WITH … SELECT), DESCRIBE, SHOW, SUMMARIZE, EXPLAIN, PRAGMA table_info; write results out "
        "from Python (e.g. .df().to_csv) instead)"]
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)  # typer.Exit, not a crash
    assert snapshot(site) == before
    with connect_readonly("warehouse/policy.duckdb") as con:
        assert con.sql("SELECT count(*) FROM service_provisions").fetchall() == [(4,)]


@pytest.mark.parametrize(("name", "statement", "cli", "wall"), ATTACKS, ids=[a[0] for a in ATTACKS])
def test_each_attack_fails_in_the_cli_with_one_line(site, name, statement, cli, wall):
    before = snapshot(site)
    result = run_sql(statement)
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, lines
    if cli == "refused":
        assert lines[0].startswith("sql refused: ") and "statements are not allowed" in lines[0], lines
    else:
        assert lines[0].startswith("sql failed: Permission Error: ") and cli in lines[0], lines
    assert snapshot(site) == before


@pytest.mark.parametrize(("name", "statement", "cli", "wall"), ATTACKS, ids=[a[0] for a in ATTACKS])
def test_duckdb_itself_stops_each_attack_when_the_statement_check_is_bypassed(site, name, statement, cli, wall):
    """The second wall: the connection's own configuration, for SQL that reaches DuckDB some other way."""
    before = snapshot(site)
    con = connect_readonly("warehouse/policy.duckdb")
    with pytest.raises(duckdb.Error, match=wall):
        con._con.sql(statement).fetchall() if statement.startswith("SELECT") else con._con.sql(statement)
    assert con._con.sql("SELECT current_setting('enable_external_access')").fetchall() == [(False,)]
    con.close()
    assert snapshot(site) == before


def test_attaching_the_warehouse_again_and_detaching_the_main_one_leaves_it_read_only(site):
    """DETACH of the main database: DuckDB allows it only after USE of another, which can only be the same file."""
    before = snapshot(site)
    con = connect_readonly("warehouse/policy.duckdb")._con
    con.sql("ATTACH 'warehouse/policy.duckdb' AS again")  # the same file, so no new file access: allowed
    con.sql("USE again")
    con.sql("DETACH policy")
    with pytest.raises(duckdb.Error, match="attached in read-only mode"):
        con.sql("DELETE FROM again.service_provisions")
    with pytest.raises(duckdb.Error, match="is already attached"):
        con.sql("ATTACH 'warehouse/policy.duckdb' AS w (READ_WRITE)")
    with pytest.raises(duckdb.Error, match="default database"):
        con.sql("DETACH again")
    con.close()
    assert snapshot(site) == before


def test_python_relation_writes_are_blocked_too(site):
    before = snapshot(site)
    with connect_readonly("warehouse/policy.duckdb") as con:
        rel = con.sql("SELECT * FROM notices")
        with pytest.raises(duckdb.PermissionException):
            rel.to_csv("raw/injected.csv")
        with pytest.raises(duckdb.PermissionException):
            rel.query("n", "COPY n TO 'raw/injected.html'")
    assert snapshot(site) == before


@pytest.mark.parametrize("statement", [
    "SELECT 1; SELECT 2",
    "EXPLAIN ANALYZE COPY notices TO 'raw/x.csv'",
    "EXPLAIN (ANALYZE, FORMAT json) COPY notices TO 'raw/x.csv'",
    "WITH a AS (SELECT 1) INSERT INTO notices SELECT * FROM notices",
    "CREATE TEMP TABLE t AS SELECT 1",
    "USE memory",
    "PRAGMA enable_profiling",
    "CALL pragma_table_info('notices')",
    "CHECKPOINT",
    "UPDATE notices SET title = 'x'",
])
def test_other_non_read_statements_are_refused_by_type(site, statement):
    with connect_readonly("warehouse/policy.duckdb") as con:
        with pytest.raises(RefusedStatement) as refused:
            con.sql(statement)
    assert refused.value.reason.startswith("refused: ")


def test_a_missing_warehouse_and_an_sql_error_are_one_line_each(site):
    missing = run_sql("SELECT 1", "warehouse/none.duckdb")
    assert missing.exit_code == 2
    assert missing.output.strip() == ("sql failed: file warehouse/none.duckdb, stage sql: the warehouse does not exist "
                                      "(hint: run `make refresh` first, or pass --warehouse FILE)")
    typo = run_sql("SELECT * FROM notice")
    assert typo.exit_code == 1 and len(typo.output.strip().splitlines()) == 1
    assert typo.output.startswith("sql failed: Catalog Error: Table with name notice does not exist!")


ANALYST_QUERIES = [
    ("SELECT n.notice_id, count(*) AS provisions FROM current_notices n JOIN service_provisions p USING (notice_id) "
     "GROUP BY 1", [("厦民〔2025〕95号", 3)]),
    ("WITH per_item AS (SELECT item_no, count(*) AS populations FROM service_provisions "
     "WHERE notice_id = '厦民〔2025〕95号' GROUP BY item_no) SELECT * FROM per_item ORDER BY item_no", [(1, 2), (2, 1)]),
    ("SELECT service_item, count(DISTINCT notice_id) FROM service_provisions GROUP BY ALL ORDER BY 1",
     [("助餐服务", 2), ("巡访探视", 1)]),
    ("SHOW TABLES", [("current_notices",), ("notices",), ("service_provisions",)]),
    ("FROM notices SELECT notice_id ORDER BY published_on", [("厦民〔2024〕1号",), ("厦民〔2025〕95号",)]),
]


@pytest.mark.parametrize(("query", "rows"), ANALYST_QUERIES, ids=["join", "cte", "aggregate", "show_tables", "from_first"])
def test_analyst_queries_still_work(site, query, rows):
    before = snapshot(site)
    with connect_readonly("warehouse/policy.duckdb") as con:
        assert con.sql(query).fetchall() == rows
    assert snapshot(site) == before


def test_describe_explain_summarize_pragma_and_parameters(site):
    with connect_readonly("warehouse/policy.duckdb") as con:
        assert [r[:2] for r in con.sql("DESCRIBE notices").fetchall()] == [
            ("notice_id", "VARCHAR"), ("title", "VARCHAR"), ("published_on", "DATE"), ("valid_to", "DATE")]
        assert [r[1] for r in con.sql("PRAGMA table_info('service_provisions')").fetchall()] == [
            "provision_id", "notice_id", "item_no", "service_item", "population"]
        assert 'Table: "policy".main.notices' in con.sql("EXPLAIN SELECT * FROM notices").fetchall()[0][1]
        assert '"SEQ_SCAN"' in con.sql("EXPLAIN (FORMAT json) SELECT * FROM notices").fetchall()[0][1]
        assert "Total Time" in con.sql("EXPLAIN ANALYZE SELECT count(*) FROM notices").fetchall()[0][1]
        assert len(con.sql("SUMMARIZE service_provisions").fetchall()) == 5
        assert con.execute("SELECT title FROM notices WHERE notice_id = ?", ["厦民〔2024〕1号"]).fetchall() == [("旧清单",)]
        assert con.sql("SELECT count(*) FROM service_provisions WHERE item_no = $n", params={"n": 1}).fetchall() == [(3,)]


def test_cli_prints_rows_of_a_read(site):
    result = run_sql("SELECT notice_id, title FROM current_notices")
    assert result.exit_code == 0, result.output
    assert result.output.split() == ["notice_id", "title", "厦民〔2025〕95号", "服务类社会救助清单"]
    markup = run_sql("SELECT '[red]《规范》[/]' AS text")  # published text is printed as it is, not as markup
    assert markup.exit_code == 0 and markup.output.split() == ["text", "[red]《规范》[/]"]

