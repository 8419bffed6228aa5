"""Partitions per raw file: adding one notice reads that one file, and the warehouse is the same as a cold build's."""

from __future__ import annotations

import shutil
from pathlib import Path

from pipeline.engine.limits import load_build_memory_mb
from pipeline.refresh import refresh
from pipeline.warehouse import build
from pipeline.warehouse.export import notice_bucket
from tests.conftest import HTML_2009, HTML_2025, ROOT
from tests.test_refresh import copy_raw, query

TABLES = ["notices", "raw_files", "service_provisions", "cell_lineage", "tasks", "task_units", "dq_flags", "citations",
          "source_tables", "table_rows", "table_cells", "register_gaps", "notice_changes"]


def snapshot(wh):
    return {t: query(wh, f"SELECT * FROM {t} ORDER BY ALL") for t in TABLES}


def test_adding_a_notice_reads_only_it_and_gives_the_same_rows_as_a_cold_build(tmp_path):
    raw = copy_raw(tmp_path, {HTML_2025.name, "xm-mzj-2025-095-list.pdf"})
    wh, staging = tmp_path / "policy.duckdb", tmp_path / "st"
    first = refresh(raw, wh, staging_dir=staging)
    assert first.files_cached == 0
    # The published warehouse's partitions table holds the manifests of its partitions: an incremental refresh
    # takes them from there and opens none of their folders (here: gone).
    shutil.rmtree(staging / "partitions")
    shutil.copy(HTML_2009, raw / HTML_2009.name)
    second = refresh(raw, wh, staging_dir=staging)
    assert (second.files_seen, second.files_new, second.files_cached) == (3, 1, 2)
    assert len(list(staging.glob("partitions/*/*/manifest.json"))) == 1
    assert second.notices_assembled == 1  # only the new notice is assembled and judged again
    # A cold build (no partitions, no warehouse) of the same raw/ and history gives the same tables.
    cold = tmp_path / "cold.duckdb"
    refresh(raw, cold, staging_dir=tmp_path / "cold")
    assert snapshot(wh) == snapshot(cold)
    assert query(wh, "SELECT count(*) FROM tasks") == [(18,)]


def test_removing_a_notice_removes_its_rows_and_only_its_partition_is_dropped(tmp_path):
    raw = copy_raw(tmp_path, {HTML_2025.name, HTML_2009.name})
    wh, staging = tmp_path / "policy.duckdb", tmp_path / "st"
    refresh(raw, wh, staging_dir=staging)
    assert len(list(staging.glob("partitions/*/*/manifest.json"))) == 2
    (raw / HTML_2009.name).unlink()
    summary = refresh(raw, wh, staging_dir=staging)
    assert summary.files_cached == 1 and summary.notices_assembled == 1
    assert query(wh, "SELECT count(*) FROM tasks") == [(0,)]
    assert query(wh, "SELECT notice_id FROM notices") == [("厦民〔2025〕95号",)]
    assert len(list(staging.glob("partitions/*/*/manifest.json"))) == 1
    assert query(wh, "SELECT count(*) FROM service_provisions") == [(52,)]


def test_partitions_are_parquet_and_json_never_pickles(tmp_path):
    raw = copy_raw(tmp_path, {HTML_2025.name})
    staging = tmp_path / "st"
    refresh(raw, tmp_path / "policy.duckdb", staging_dir=staging)
    files = {p.suffix for p in (staging / "partitions").rglob("*") if p.is_file()}
    assert files == {".parquet", ".json"}


def test_the_published_parquet_export_is_partitioned_by_jurisdiction_and_year_and_follows_each_refresh(tmp_path):
    import duckdb

    raw = copy_raw(tmp_path, {HTML_2025.name, HTML_2009.name})
    wh, staging = tmp_path / "wh" / "policy.duckdb", tmp_path / "st"
    refresh(raw, wh, staging_dir=staging)
    export = wh.parent / "parquet"
    parts = sorted(p.relative_to(export / "service_provisions").as_posix()
                   for p in (export / "service_provisions").rglob("*.parquet"))
    assert parts == [f"jurisdiction=350200/year=2025/data_{notice_bucket('厦民〔2025〕95号')}.parquet"]
    assert sorted(p.parent.relative_to(export / "tasks").as_posix() for p in (export / "tasks").rglob("*.parquet")) == [
        "jurisdiction=350200/year=2009"]
    con = duckdb.connect()
    hive = f"read_parquet('{export}/service_provisions/*/*/*.parquet', hive_partitioning = true)"
    assert con.execute(f"SELECT jurisdiction, year, count(*) FROM {hive} GROUP BY ALL").fetchall() == [
        (350200, 2025, 52)]  # hive values read as typed (Trino and Spark see the same folders)
    # Adding a notice rewrites only its file of its partition: the 2009 partition and the 2025 list's file keep
    # their inodes; the fee notice's rows go to a file of their own (its md5 starts with another digit).
    def inodes(table: str) -> dict[str, int]:
        return {p.relative_to(export / table).as_posix(): p.stat().st_ino for p in (export / table).rglob("*.parquet")}

    tasks, listed = inodes("tasks"), inodes("source_tables")
    shutil.copy(ROOT / "tests" / "fixtures" / "kinds" / "fee-standards-page.html", raw / "fee.html")
    summary = refresh(raw, wh, staging_dir=staging)
    assert summary.notices_assembled == 1
    (fee,), = query(wh, "SELECT notice_id FROM notices WHERE raw_file = 'fee.html'")
    assert notice_bucket(fee) != notice_bucket("厦民〔2025〕95号")
    assert inodes("tasks") == tasks
    after = inodes("source_tables")
    assert {k: v for k, v in after.items() if k in listed} == listed
    assert set(after) - set(listed) == {f"jurisdiction=350200/year=2025/data_{notice_bucket(fee)}.parquet"}
    assert con.execute(f"SELECT count(*) FROM read_parquet('{export}/source_tables/*/*/*.parquet', "
                       "hive_partitioning = true) WHERE year = 2025").fetchall() == [(2,)]  # the list and the fee table
    # The export always equals the warehouse, whichever files were rewritten.
    for table in ("source_tables", "table_rows", "notices"):
        assert con.execute(f"SELECT count(*) FROM read_parquet('{export}/{table}/*/*/*.parquet')").fetchall() == \
            query(wh, f"SELECT count(*) FROM {table}"), table


def test_a_file_that_keeps_failing_so_is_read_again_only_until_its_failure_stands(tmp_path):
    from pipeline.engine.limits import Budget

    pdf = "xm-mzj-2025-095-list.pdf"
    raw = copy_raw(tmp_path, {pdf})  # alone: any file may take over 0.05 s
    wh, staging = tmp_path / "policy.duckdb", tmp_path / "st"
    slow = Budget(seconds=0.05, attempts=2)  # the PDF takes longer than that, every time

    def reason() -> str:
        [(why,)] = query(wh, f"SELECT reason FROM raw_files WHERE raw_file = '{pdf}' AND status = 'failed'")
        return why

    first = refresh(raw, wh, staging_dir=staging, limits=slow)
    assert first.files_failed == 1 and "over the time budget (0.05 s" in reason() and "in a row" not in reason()
    second = refresh(raw, wh, staging_dir=staging, limits=slow)  # read again: it failed once
    assert (second.status, second.files_cached, second.files_failed) == ("published", 0, 1)
    assert reason().endswith("; failed 2 times in a row, so not read again until its bytes or the extraction code "
                             "change (or refresh --force)")
    # The failure stands: nothing changed, so nothing is done, and the file is not read a third time.
    assert refresh(raw, wh, staging_dir=staging, limits=slow).status == "unchanged"
    assert "failed 2 times in a row" in reason()
    forced = refresh(raw, wh, staging_dir=staging, force=True)  # the maintainer's way to try it again
    assert (forced.files_failed, forced.files_cached) == (0, 0)
    assert query(wh, f"SELECT status FROM raw_files WHERE raw_file = '{pdf}'") == [("loaded",)]


def test_a_build_on_a_dask_cluster_gives_the_same_warehouse_as_one_on_local_cores(tmp_path):
    raw = copy_raw(tmp_path, {HTML_2025.name, HTML_2009.name, "xm-mzj-2025-095-list.pdf"})
    local = refresh(raw, tmp_path / "local.duckdb", staging_dir=tmp_path / "st-local")
    cluster = refresh(raw, tmp_path / "dask.duckdb", staging_dir=tmp_path / "st-dask", engine="dask", workers=2)
    assert local.files_cached == cluster.files_cached == 0  # both read every file
    a, b = snapshot(tmp_path / "local.duckdb"), snapshot(tmp_path / "dask.duckdb")
    differ = {t: (sorted(set(map(repr, a[t])) - set(map(repr, b[t])))[:3],
                  sorted(set(map(repr, b[t])) - set(map(repr, a[t])))[:3]) for t in a if a[t] != b[t]}
    assert differ == {}, f"local-only / dask-only rows: {differ}; dask reports: {cluster.reports}"


def test_a_build_under_a_small_duckdb_memory_limit_gives_the_same_warehouse(tmp_path, monkeypatch):
    raw = copy_raw(tmp_path, {HTML_2025.name, HTML_2009.name})
    default = refresh(raw, tmp_path / "default.duckdb", staging_dir=tmp_path / "st-default")
    overlay = tmp_path / "data"
    overlay.mkdir()
    shipped = (ROOT / "pipeline" / "data" / "limits.toml").read_text(encoding="utf-8")
    (overlay / "limits.toml").write_text(shipped.replace(f"memory_mb = {load_build_memory_mb()}", "memory_mb = 96"), encoding="utf-8")
    monkeypatch.setenv("POLICY_DATA_DIR", str(overlay))
    assert load_build_memory_mb() == 96
    seen, spill_ready = [], []
    real, connect = build.build_config, build.duckdb.connect
    monkeypatch.setattr(build, "build_config", lambda inp: seen.append(real(inp)) or seen[-1])

    def connect_and_look(path, config=None, **kw):  # DuckDB spills only when it must, into a folder it makes
        if config and "temp_directory" in config:  # but not its parents: they must exist beforehand (build, export)
            spill_ready.append(Path(config["temp_directory"]).parent.is_dir())
        return connect(path, config=config or {}, **kw)

    monkeypatch.setattr(build.duckdb, "connect", connect_and_look)
    small = refresh(raw, tmp_path / "small.duckdb", staging_dir=tmp_path / "st-small")
    monkeypatch.setattr(build.duckdb, "connect", connect)
    assert seen[0]["memory_limit"] == "96MB" and seen[0]["temp_directory"].endswith("/spill")
    assert spill_ready == [True, True]
    assert default.status == small.status == "published"
    assert snapshot(tmp_path / "default.duckdb") == snapshot(tmp_path / "small.duckdb")


def test_an_export_of_the_older_layout_one_file_per_partition_is_rewritten_whole(tmp_path):
    import duckdb

    raw = copy_raw(tmp_path, {HTML_2025.name})
    wh, staging = tmp_path / "wh" / "policy.duckdb", tmp_path / "st"
    refresh(raw, wh, staging_dir=staging)
    export = wh.parent / "parquet"
    for f in list(export.glob("*/jurisdiction=*/year=*/data_*.parquet")):
        f.rename(f.with_name("data0.parquet"))  # as exports before files were split by notice
    shutil.copy(ROOT / "tests" / "fixtures" / "kinds" / "fee-standards-page.html", raw / "fee.html")
    refresh(raw, wh, staging_dir=staging)
    assert not list(export.glob("*/*/*/data0.parquet"))
    con = duckdb.connect()
    assert con.execute(f"SELECT count(*) FROM read_parquet('{export}/source_tables/*/*/*.parquet')").fetchall() == [(2,)]


def test_notices_are_judged_under_the_judging_memory_limit_then_the_build_limit_returns(tmp_path, monkeypatch):
    import duckdb

    def setting(con) -> str:
        return con.execute("SELECT current_setting('memory_limit')").fetchone()[0]

    def shown(mb: int) -> str:  # DuckDB shows a limit in its own units
        con = duckdb.connect()
        con.execute(f"SET memory_limit = '{mb}MB'")
        return setting(con)

    seen = []
    judge, gate = build.judge_candidates, build.warehouse_gate
    monkeypatch.setattr(build, "judge_candidates", lambda con, *a, **k: seen.append(setting(con)) or judge(con, *a, **k))
    monkeypatch.setattr(build, "warehouse_gate", lambda con, suites: seen.append(setting(con)) or gate(con, suites))
    refresh(copy_raw(tmp_path, {HTML_2025.name}), tmp_path / "w.duckdb", staging_dir=tmp_path / "st")
    assert load_build_memory_mb(key="judging_memory_mb") == 256 and load_build_memory_mb() == 512
    assert seen == [shown(256), shown(512)]
    inp = build.BuildInput([], None, (), [], None, tmp_path, memory_mb=96, judging_memory_mb=256)
    assert build.judging_limit(inp) == 96  # never above the build's own limit
    inp.judging_memory_mb = 0
    assert build.judging_limit(inp) == 96
    inp.memory_mb, inp.judging_memory_mb = 0, 256
    assert build.judging_limit(inp) == 256


def test_a_refresh_keeps_of_each_manifest_the_files_outcome_and_row_counts_the_disk_keeps_the_whole_row(tmp_path):
    import json

    import pyarrow.parquet as pq

    from pipeline.warehouse.partitions import SUMMARY_KEYS, PartitionStore

    raw = copy_raw(tmp_path, {HTML_2025.name})
    staging = tmp_path / "st"
    refresh(raw, tmp_path / "policy.duckdb", staging_dir=staging)
    [path] = staging.glob("partitions/*/*/manifest.json")
    doc = json.loads(path.read_text(encoding="utf-8"))
    manifest, why = PartitionStore(staging / "partitions").read(path.parent.name)
    assert why is None
    assert tuple(manifest.file) == SUMMARY_KEYS
    assert manifest.file == {k: doc["file"].get(k) for k in SUMMARY_KEYS}
    assert (manifest.file["notice_id"], manifest.file["status"], manifest.file["role"]) == (
        "厦民〔2025〕95号", "loaded", "page")
    # The counts are the Parquet files' rows; the whole row (metadata, warnings …) stays on disk, where the build
    # reads it from files.parquet.
    assert manifest.tables == {n: pq.read_metadata(manifest.path(n)).num_rows for n in doc["tables"]}
    assert manifest.tables["service_provisions"] == 52 and manifest.rows == sum(manifest.tables.values())
    assert doc["file"]["meta"] and "meta" not in manifest.file
    [row] = pq.read_table(manifest.path("files")).to_pylist()
    assert row["meta"] == doc["file"]["meta"]


def test_a_file_that_failed_for_a_reason_that_may_not_recur_is_read_again_by_the_next_refresh(tmp_path):
    from pipeline.engine.limits import Budget

    pdf = "xm-mzj-2025-095-list.pdf"
    raw = copy_raw(tmp_path, {HTML_2025.name, pdf})
    wh, staging = tmp_path / "policy.duckdb", tmp_path / "st"
    first = refresh(raw, wh, staging_dir=staging, limits=Budget(seconds=0.05))  # the PDF takes longer than that
    assert [f for f in first.failures if pdf in f and "over the time budget (0.05 s" in f]
    assert query(wh, f"SELECT status, stage FROM raw_files WHERE raw_file = '{pdf}'") == [("failed", "extract")]
    # Nothing changed, yet the refresh reads the file again (a budget or a crash may not recur), under the same
    # partition key: its rows replace the failure's.
    again = refresh(raw, wh, staging_dir=staging)
    assert again.status == "published" and again.files_failed == 0 and again.failures == []
    assert query(wh, f"SELECT status FROM raw_files WHERE raw_file = '{pdf}'") != [("failed",)]
    cold = tmp_path / "cold.duckdb"
    refresh(raw, cold, staging_dir=tmp_path / "cold")
    assert snapshot(wh) == snapshot(cold)
    assert refresh(raw, wh, staging_dir=staging).status == "unchanged"  # nothing transient is left
