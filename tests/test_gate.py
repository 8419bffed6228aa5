"""The GX gate: suites cover the schema, the real warehouse passes, corrupted staging is stopped before publish."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
import sys

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from pipeline.errors import GateFailed
from pipeline.warehouse.expectations import SEVERITIES, Spec, Suite, SuiteError, load_suites, read_suite_file, spec_to_expectation
from pipeline.warehouse.gate import CandidateGate, Outcome, outcomes_to_gate, row_key_sql, run_gate, validate_warehouse
from pipeline.refresh import refresh
from pipeline.warehouse import gate, gate_cluster, quarantine
from pipeline.warehouse.gate_cluster import ClusterGate
from pipeline.warehouse.ddl import create_warehouse
from pipeline.warehouse.schema import TABLES
from tests.conftest import HTML_2009, ROOT
from tests.test_partitions import snapshot
from tests.test_refresh import copy_raw

SUITES = load_suites()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A real refresh of every raw notice: warehouse published through the gate, staging kept."""
    tmp = tmp_path_factory.mktemp("gate")
    raw = copy_raw(tmp)
    wh = tmp / "wh" / "policy.duckdb"
    summary = refresh(raw, wh, staging_dir=tmp / "staging")
    return tmp, wh, tmp / "staging", summary


@pytest.fixture(scope="module")
def empty_warehouse(tmp_path_factory):
    """A warehouse with every schema table and no rows: the queries of the checks must run on it."""
    tmp = tmp_path_factory.mktemp("empty")
    con = duckdb.connect(str(tmp / "empty.duckdb"))
    create_warehouse(con)
    con.close()
    return tmp / "empty.duckdb"


# --- suites as data ------------------------------------------------------------------------------------------

def test_every_schema_table_has_a_suite():
    table_suites = {s.table for s in SUITES if s.sql is None}
    assert set(TABLES) - table_suites == set(), "add a suite file to expectations/ for each new table"
    assert table_suites - set(TABLES) == set(), "a suite guards a table that is not in pipeline/schema.py"


def test_every_table_suite_reads_only_schema_columns_and_says_why():
    for suite in SUITES:
        for spec in suite.specs:
            assert spec.severity in SEVERITIES and spec.why, (suite.name, spec.label)
            if suite.sql is None:
                missing = set(spec.columns) - set(TABLES[suite.table].column_names)
                assert not missing, f"{suite.file}: {spec.label} reads columns not in the schema: {missing}"
            if spec.value_set_from_table:
                table, _, column = spec.value_set_from_table.partition(".")
                assert column in TABLES[table].column_names, (suite.file, spec.value_set_from_table)
        if suite.sql is None:
            assert set(suite.index) <= set(TABLES[suite.table].column_names), suite.name


def test_every_check_query_runs_on_the_schema_and_gives_the_columns_it_checks(empty_warehouse):
    con = duckdb.connect(str(empty_warehouse), read_only=True)
    try:
        for suite in (s for s in SUITES if s.sql):
            columns = [d[0] for d in con.execute(suite.sql).description]
            wanted = {c for spec in suite.specs for c in spec.columns} | set(suite.index)
            assert wanted <= set(columns), f"{suite.name}: query lacks {wanted - set(columns)}"
    finally:
        con.close()


def test_every_spec_builds_a_gx_expectation_with_its_severity_and_why():
    for suite in SUITES:
        for spec in suite.specs:
            exp = spec_to_expectation(spec, suite)
            # A reference (value_set_from_table) is checked as "no value missing from the referenced table".
            expected = "expect_column_values_to_be_null" if spec.reference_column else spec.type
            assert exp.expectation_type == expected
            if spec.reference_column:
                assert exp.column == spec.reference_column
            assert exp.severity.value == spec.severity and exp.meta["why"] == spec.why


@pytest.mark.parametrize("entry, message", [
    ('type = "expect_column_values_to_be_unique"\ncolumn = "k"\nseverity = "critical"', "does not say why"),
    ('type = "expect_column_values_to_be_unique"\ncolumn = "k"\nseverity = "fatal"\nwhy = "w"', "severity 'fatal'"),
])
def test_a_suite_file_without_why_or_with_an_unknown_severity_is_refused(tmp_path, entry, message):
    (tmp_path / "t.toml").write_text(f'table = "t"\n[[expect]]\n{entry}\n', encoding="utf-8")
    with pytest.raises(SuiteError, match=message):
        read_suite_file(tmp_path / "t.toml")


def test_every_required_kind_of_check_is_present():
    specs = {(s.table, spec.type, tuple(spec.columns)) for s in SUITES for spec in s.specs}
    assert ("service_provisions", "expect_column_values_to_be_unique", ("provision_id",)) in specs
    assert ("service_provisions", "expect_column_values_to_be_between", ("item_no",)) in specs
    assert ("task_units", "expect_column_values_to_be_in_set", ("role",)) in specs
    assert ("citations", "expect_column_values_to_match_regex", ("code",)) in specs
    refs = {(s.table, spec.value_set_from_table) for s in SUITES for spec in s.specs if spec.value_set_from_table}
    assert ("service_provisions", "notices.notice_id") in refs
    assert ("task_units", "tasks.task_id") in refs
    assert any(s.name == "service_provisions.rows_per_notice" for s in SUITES)


def test_row_key_names_a_row_by_its_key_or_position():
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES ('a', 1), (NULL, 2)) v(k, n)")
    assert con.execute(f"SELECT {row_key_sql(('k', 'n'))} FROM t").fetchall() == [("k=a n=1",), ("k=NULL n=2",)]
    assert con.execute(f"SELECT {row_key_sql(())} FROM t").fetchall() == [("row 0",), ("row 1",)]


def test_only_failed_critical_expectations_fail_the_gate():
    crit = Outcome("t", "expect_x(c)", "critical", False, "because", 1, ["c=1"])
    warn = Outcome("t", "expect_y(c)", "warning", False, "because", 2, ["c=2", "c=3"])
    ok = Outcome("t", "expect_z(c)", "critical", True, "because")
    assert outcomes_to_gate([warn, ok]).passed
    gate = outcomes_to_gate([crit, warn, ok])
    assert not gate.passed
    assert gate.failures == ["t: expect_x(c) failed - 1 offending row(s): c=1 - why: because"]
    assert gate.warnings == ["t: expect_y(c) failed - 2 offending row(s): c=2; c=3 - why: because"]


# --- the gate on the real warehouse ------------------------------------------------------------------------

def test_real_warehouse_passes_every_expectation_within_ten_seconds(built):
    _, wh, _, summary = built
    assert summary.status == "published" and summary.gate is not None and summary.gate.passed
    gate = run_gate(wh)
    assert gate.passed, gate.summary()
    assert gate.warnings == [], gate.summary()
    assert len(gate.outcomes) == sum(len(s.specs) for s in SUITES)
    assert all(o.error is None for o in gate.outcomes)
    assert gate.seconds < 10, f"the gate took {gate.seconds:.1f} s"


def test_failed_warning_is_reported_with_its_rows_but_does_not_block(built):
    _, wh, _, _ = built
    narrow = Suite("service_provisions", "service_provisions", (Spec(
        "expect_column_values_to_be_in_set", {"column": "category", "value_set": ["照护服务类", "生活服务类", "关爱服务类"]},
        "warning", "test: 发展服务类 left out"),), ("provision_id",))
    gate = validate_warehouse(wh, [narrow]).gate
    assert gate.passed and gate.failures == []
    assert len(gate.warnings) == 1
    assert gate.warnings[0].startswith("service_provisions: expect_column_values_to_be_in_set(category) failed - "
                                       "16 offending row(s): provision_id=厦民〔2025〕95号:13:1 (category='发展服务类')")


def test_reference_to_a_register_is_checked_against_the_data_file(built):
    _, wh, _, _ = built
    suite = next(s for s in SUITES if s.name == "citations")
    spec = next(s for s in suite.specs if s.value_set_from_data == "citations.toml#relations")
    broken = dataclasses.replace(spec, value_set_from_data="citations.toml#issuer_suffixes")
    gate = validate_warehouse(wh, [dataclasses.replace(suite, specs=(broken,))]).gate
    assert not gate.passed
    assert "citations: expect_column_values_to_be_in_set(relation) failed - 201 offending row(s)" in gate.failures[0]


# --- a bad notice is quarantined, a broken warehouse is never published ----------------------------------------

def tamper(staging, raw_file: str, table: str, change) -> None:
    """Rewrite one table of a file's partition and its manifest, as a buggy extractor would have written it."""
    import hashlib
    import json

    for manifest in staging.glob("partitions/*/*/manifest.json"):
        doc = json.loads(manifest.read_text(encoding="utf-8"))
        if doc["raw_file"] != raw_file:
            continue
        path = manifest.parent / f"{table}.parquet"
        t = change(pq.read_table(path))
        pq.write_table(t, path)
        doc["tables"][table] = {"rows": t.num_rows, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
        manifest.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        return
    raise AssertionError(f"no partition of {raw_file}")


@pytest.fixture
def copied(built, tmp_path):
    """A copy of the built corpus (raw, staging with partitions, history, published warehouse) to spoil."""
    tmp, wh, staging, _ = built
    for name in ("raw", "staging", "history"):
        shutil.copytree(tmp / name, tmp_path / name, symlinks=True)
    published = tmp_path / "wh" / "policy.duckdb"
    published.parent.mkdir()
    shutil.copy(wh, published)
    return tmp_path / "raw", tmp_path / "staging", published


def count(db, sql: str):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_duplicated_provision_quarantines_its_notice_and_the_others_publish(copied):
    raw, staging, published = copied
    tamper(staging, "xm-mzj-2025-095.html", "service_provisions", lambda t: pa.concat_tables([t, t.slice(5, 1)]))
    summary = refresh(raw, published, staging_dir=staging, force=True)
    assert summary.status == "published"
    [line] = summary.quarantined
    assert line.startswith("厦民〔2025〕95号 (version 1, xm-mzj-2025-095.html): quarantined:")
    assert "service_provisions: expect_column_values_to_be_unique(provision_id) (2 row(s): " \
           "provision_id=厦民〔2025〕95号:2:3; provision_id=厦民〔2025〕95号:2:3)" in line
    assert "service_provisions.rows_per_notice" in line
    # Withheld from analysts, kept for QA; the other notice publishes whole.
    assert count(published, "SELECT count(*) FROM service_provisions") == [(0,)]
    assert count(published, "SELECT count(*) FROM tasks") == [(18,)]
    assert count(published, "SELECT notice_id, status, is_current FROM notices WHERE notice_id LIKE '厦%' ORDER BY 1") == [
        ("厦府办〔2009〕254号", "published", True), ("厦民〔2025〕95号", "quarantined", False)]
    assert count(published, "SELECT DISTINCT status FROM notices WHERE notice_id NOT LIKE '厦%'") == [("published",)]
    assert count(published, "SELECT status FROM raw_files WHERE raw_file = 'xm-mzj-2025-095.html'") == [("quarantined",)]
    rows = count(published, "SELECT suite, row_key, detail FROM quarantine_rows WHERE suite = 'service_provisions' "
                            "ORDER BY 2")
    assert rows[:2] == [("service_provisions", "provision_id=厦民〔2025〕95号:2:3", ""),
                        ("service_provisions", "provision_id=厦民〔2025〕95号:2:3", "")]
    assert count(published, "SELECT count(*) FROM extracted.service_provisions "
                            "WHERE raw_file = 'xm-mzj-2025-095.html'") == [(53,)]


def test_candidates_are_cut_into_batches_by_notices_and_by_rows():
    pairs = [("a", 1), ("b", 1), ("c", 2), ("d", 1), ("e", 1)]
    rows = {("a", 1): 100, ("b", 1): 150, ("c", 2): 400, ("d", 1): 10, ("e", 1): 10}
    assert quarantine.batches(pairs, rows, 3, 300) == [[("a", 1), ("b", 1)], [("c", 2)], [("d", 1), ("e", 1)]]
    assert quarantine.batches(pairs, rows, 2, 10**6) == [[("a", 1), ("b", 1)], [("c", 2), ("d", 1)], [("e", 1)]]
    assert quarantine.batches([], rows, 2, 10) == []


@pytest.mark.parametrize("limit", ["BATCH_NOTICES", "BATCH_ROWS"])
def test_candidates_judged_one_notice_per_batch_get_the_same_verdicts(copied, monkeypatch, limit):
    raw, staging, published = copied
    tamper(staging, "xm-mzj-2025-095.html", "service_provisions", lambda t: pa.concat_tables([t, t.slice(5, 1)]))
    whole = refresh(raw, published, staging_dir=staging, force=True)
    before = count(published, "SELECT notice_id, status FROM notices ORDER BY ALL")
    monkeypatch.setattr(quarantine, limit, 1)  # one notice per batch, or one row: a notice per batch as well
    rounds, gates, steps = [], set(), []
    record, submit, prepare = quarantine.record_batch, CandidateGate.submit, CandidateGate.prepare
    monkeypatch.setattr(quarantine, "record_batch", lambda con, pairs, result, out: rounds.append(pairs) or
                        steps.append("record") or record(con, pairs, result, out))
    monkeypatch.setattr(CandidateGate, "submit", lambda gate, batch: gates.add(id(gate)) or steps.append("submit")
                        or submit(gate, batch))
    monkeypatch.setattr(CandidateGate, "prepare", lambda gate, con: steps.append("prepare") or prepare(gate, con))
    batched = refresh(raw, published, staging_dir=staging, force=True)
    # One GX context validated every batch (each written while GX judged the one before), and each batch was one
    # notice: the snapshots of the batch before were replaced, not cached, since the one bad notice is found alone
    # and every other notice publishes.
    assert len(gates) == 1 and {len(p) for p in rounds} == {1}
    assert len(rounds) == len(before)
    # Each batch after the first is written before the one before it is collected and recorded.
    assert steps[:5] == ["prepare", "submit", "prepare", "record", "submit"]
    assert steps.count("prepare") == steps.count("record") == len(rounds)
    assert batched.quarantined == whole.quarantined and len(whole.quarantined) == 1
    assert count(published, "SELECT notice_id, status FROM notices ORDER BY ALL") == before
    assert count(published, "SELECT count(*) FROM notices WHERE status = 'published'") == [(len(before) - 1,)]


def test_on_a_dask_cluster_the_notices_are_judged_there_several_batches_at_once_with_the_same_verdicts(
        copied, monkeypatch):
    raw, staging, published = copied
    tamper(staging, "xm-mzj-2025-095.html", "service_provisions", lambda t: pa.concat_tables([t, t.slice(5, 1)]))
    local = refresh(raw, published, staging_dir=staging, force=True)
    on_one_machine = snapshot(published), count(published, "SELECT * FROM quarantine_rows ORDER BY ALL")

    class NotInTheRefresh:
        def __init__(self, *a, **k):
            raise AssertionError("GX ran in the refresh's own process")

    # The cluster's workers are processes of their own (spawned): there GX is the real one.
    monkeypatch.setattr(gate, "SuiteRunner", NotInTheRefresh)
    monkeypatch.setattr(gate_cluster, "SuiteRunner", NotInTheRefresh)
    monkeypatch.setattr(quarantine, "BATCH_NOTICES", 1)  # a batch per notice: many batches to keep in flight
    in_flight, submit = [], ClusterGate.submit
    monkeypatch.setattr(ClusterGate, "submit", lambda self, *a, **k: submit(self, *a, **k) or
                        in_flight.append(len(self.pending)))
    import dask.distributed

    clusters, local_cluster = [], dask.distributed.LocalCluster
    monkeypatch.setattr(dask.distributed, "LocalCluster", lambda *a, **k: clusters.append(k) or local_cluster(*a, **k))
    for manifest in staging.glob("partitions/*/*/manifest.json"):  # one file to read again, on the cluster
        if json.loads(manifest.read_text(encoding="utf-8"))["raw_file"] == HTML_2009.name:
            shutil.rmtree(manifest.parent)
    cluster = refresh(raw, published, staging_dir=staging, force=True, engine="dask", workers=2)
    assert cluster.files_seen - cluster.files_cached == 1
    assert len(clusters) == 1  # one cluster read the file and judged the notices
    assert re.fullmatch(r"local dask cluster tcp://127\.0\.0\.1:\d+ \(2 worker\(s\)\): (\d+) batch\(es\)",
                        cluster.gate_worker), cluster.gate_worker
    assert int(cluster.gate_worker.split(": ")[-1].split()[0]) == len(in_flight) > 4
    assert max(in_flight) == 4  # two batches per worker thread waited for their verdict at once
    # The bad notice alone is quarantined, as on one machine, and the warehouse is the same.
    assert cluster.quarantined == local.quarantined and len(local.quarantined) == 1
    assert (snapshot(published), count(published, "SELECT * FROM quarantine_rows ORDER BY ALL")) == on_one_machine
    assert not list(staging.glob("gate-*"))


def test_strict_refresh_exits_nonzero_naming_the_quarantined_notice(copied):
    raw, staging, published = copied
    tamper(staging, "xm-mzj-2025-095.html", "service_provisions",
           lambda t: t.filter(pc.not_equal(t.column("provision_id"), "厦民〔2025〕95号:17:7")))
    r = subprocess.run([sys.executable, "-m", "pipeline", "refresh", "--raw", str(raw), "--warehouse", str(published),
                        "--staging", str(staging), "--offline", "--force", "--strict", "--quiet"],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    out = r.stdout + r.stderr
    assert r.returncode == 3, out
    assert ("quarantined: 厦民〔2025〕95号 (version 1, xm-mzj-2025-095.html): quarantined: ") in out
    assert ("service_provisions.rows_per_notice: expect_column_pair_values_to_be_equal(provisions, source_data_rows) "
            "(1 row(s): notice_id=厦民〔2025〕95号 raw_file=xm-mzj-2025-095.html)") in out
    assert "hint: quarantined notices keep their last good version" in out
    assert "strict: 0 file(s) failed, 1 notice(s) quarantined" in out


def test_unit_of_a_missing_task_quarantines_the_task_notice(copied):
    raw, staging, published = copied

    def orphan(t: pa.Table) -> pa.Table:
        ids = t.column("task_id").to_pylist()
        ids[0] = "厦府办〔2009〕254号:九.九.9"
        return t.set_column(t.schema.get_field_index("task_id"), "task_id", pa.array(ids, pa.string()))

    tamper(staging, "xm-gov-2009-254.html", "task_units", orphan)
    summary = refresh(raw, published, staging_dir=staging, force=True)
    [line] = summary.quarantined
    assert line.startswith("厦府办〔2009〕254号 (version 1, xm-gov-2009-254.html)")
    assert "task_units: expect_column_values_to_be_in_set(task_id) in tasks.task_id (1 row(s): unit_id=" in line
    assert count(published, "SELECT count(*) FROM service_provisions") == [(52,)]
    assert count(published, "SELECT count(*) FROM tasks") == [(0,)]


def test_a_partition_whose_bytes_do_not_match_its_manifest_is_rebuilt_not_trusted(copied):
    raw, staging, published = copied
    [manifest] = [m for m in staging.glob("partitions/*/*/manifest.json") if "xm-mzj-2025-095.html" in m.read_text()]
    path = manifest.parent / "service_provisions.parquet"
    t = pq.read_table(path)
    pq.write_table(t.slice(0, 10), path)  # damaged bytes, manifest untouched
    summary = refresh(raw, published, staging_dir=staging, force=True)
    assert any("service_provisions.parquet does not match its manifest; rebuilt" in r for r in summary.reports)
    assert summary.quarantined == []
    assert count(published, "SELECT count(*) FROM service_provisions") == [(52,)]


def test_failed_warehouse_expectation_keeps_the_published_file_byte_for_byte(copied, tmp_path):
    raw, staging, published = copied
    suites = tmp_path / "expectations"
    shutil.copytree(ROOT / "expectations", suites)
    with open(suites / "runs.toml", "a", encoding="utf-8") as fh:
        fh.write('\n[[expect]]\ntype = "expect_column_values_to_be_between"\ncolumn = "files_seen"\nmin_value = 0\n'
                 'max_value = 0\nseverity = "critical"\nwhy = "test: a warehouse-scope expectation that fails"\n')
    before = published.read_bytes()
    with pytest.raises(GateFailed) as exc:
        refresh(raw, published, staging_dir=staging, expectations_dir=suites)
    assert "critical: runs: expect_column_values_to_be_between(files_seen) failed" in str(exc.value)
    assert published.read_bytes() == before
    assert [p.name for p in published.parent.iterdir() if "building" in p.name] == []


def test_notices_are_judged_in_the_warmed_worker_and_a_review_change_starts_none(copied, monkeypatch, tmp_path):
    from pipeline.bench import add_review_decision, review_status
    from pipeline.config import REVIEWS_DIR
    from pipeline import refresh as refresh_module
    from pipeline.warehouse import gate, gate_worker

    raw, staging, published = copied
    started, asked, steps = [], [], []
    real_start, real_submit = gate_worker.GateWorker.start, gate_worker.GateWorker.submit
    partitions = refresh_module._partitions
    monkeypatch.setattr(gate_worker.GateWorker, "start", lambda self: started.append(self) or steps.append("start")
                        or real_start(self))
    monkeypatch.setattr(gate_worker.GateWorker, "submit",
                        lambda self, *a, **k: asked.append(k["only"]) or real_submit(self, *a, **k))
    monkeypatch.setattr(refresh_module, "_partitions", lambda *a: steps.append("read") or partitions(*a))

    class NotInTheRefresh:
        def __init__(self, *a, **k):
            raise AssertionError("GX ran in the refresh's own process")

    monkeypatch.setattr(gate, "SuiteRunner", NotInTheRefresh)
    tamper(staging, "xm-mzj-2025-095.html", "service_provisions", lambda t: pa.concat_tables([t, t.slice(5, 1)]))
    reviews = tmp_path / "reviews"
    shutil.copytree(REVIEWS_DIR, reviews)
    summary = refresh(raw, published, staging_dir=staging, reviews_dir=reviews, force=True)
    # The worker found the duplicate (asked once more for its rows): the notice is quarantined, the rest publish.
    assert len({id(w) for w in started}) == 1 and asked
    [line] = summary.quarantined
    assert line.startswith("厦民〔2025〕95号 (version 1, xm-mzj-2025-095.html): quarantined:")
    assert not list(staging.glob("gate-*"))  # its snapshots are gone with it
    # One notice of tasks added: the worker is asked about the suites its rows reach, and no others.
    shutil.copy(ROOT / "tests" / "fixtures" / "gz-task-deadlines.html", raw / "gz-task-deadlines.html")
    asked.clear()
    steps.clear()
    added = refresh(raw, published, staging_dir=staging, reviews_dir=reviews)
    assert added.notices_assembled == 1 and added.quarantined == [] and len(asked) == 1
    assert steps[:2] == ["start", "read"]  # the inventory showed one file new: GX started before partitions were read
    assert {"tasks", "task_units", "notices", "raw_files", "source_tables", "table_rows"} <= asked[0]
    assert not {"service_provisions", "provision_suppliers", "provision_populations"} & asked[0]
    assert count(published, "SELECT count(*) > 0 FROM tasks WHERE raw_file = 'gz-task-deadlines.html'") == [(True,)]
    started.clear()
    flag = add_review_decision(published, reviews)
    after = refresh(raw, published, staging_dir=staging, reviews_dir=reviews)
    assert after.status == "published" and review_status(published, flag) in ("accepted", "rejected")
    assert started == []  # a review change re-judges no notice: GX is not started
