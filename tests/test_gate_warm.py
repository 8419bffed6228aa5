"""The warm gate: GX kept loaded between refreshes, keyed by the code, one refresh at a time, gone when idle."""

from __future__ import annotations

import os
import re
import shutil
import signal
import time
from pathlib import Path

import pytest

from pipeline.refresh import refresh
from pipeline.warehouse.gate import ROW_KEY, SuiteRunner
from pipeline.warehouse.gate_warm import (RENEW_FILE, Folder, WarmGateWorker, is_running, keep_seconds,
                                          stop_server, warm_gate_worker)
from pipeline.warehouse.gate_worker import GateWorker
from tests.conftest import HTML_2009, HTML_2025
from tests.test_gate_worker import suites, verdicts, write
from tests.test_partitions import snapshot
from tests.test_refresh import copy_raw


@pytest.fixture
def staging(tmp_path, monkeypatch):
    monkeypatch.setenv("POLICY_GATE_KEEP", "60")
    folder = tmp_path / "staging"
    write(Folder(folder).candidates, lambda bad: bad)  # where the server reads: one bad row per suite
    yield folder
    stop_server(folder)


def judge(staging: Path, key: str = "code-a", fallback: Path | None = None):
    """One refresh's session: connect (or start the server), judge the snapshots, close; return worker, verdicts."""
    worker = warm_gate_worker(staging, suites(), key, fallback or staging / "own")
    with worker:
        got = worker.run({}, complete=False, run_name="x", index_columns=(ROW_KEY,))
    return worker, verdicts(got)


def test_the_next_session_finds_gx_and_the_suites_loaded_and_judges_as_the_in_process_gate(staging):
    here = verdicts(SuiteRunner(Folder(staging).candidates, suites()).run({}, complete=False, run_name="x").gate)
    assert len(here) == len(suites()) and not any(v[2] for v in here)  # each suite fails on its bad row
    first, got1 = judge(staging)
    assert isinstance(first, WarmGateWorker) and first.spawned and first.greeting["warm"] is False
    second, got2 = judge(staging)
    assert second.spawned is None  # found running: nothing imported, nothing registered
    assert second.greeting == {"pid": first.spawned, "session": 2, "warm": True}
    assert got1 == got2 == here
    assert stop_server(staging) == first.spawned
    assert not is_running(first.spawned) and not Folder(staging).sock.exists()


def test_a_server_grown_past_its_renew_limit_execs_afresh_with_its_pid_its_session_count_and_the_suites(
        staging, monkeypatch):
    monkeypatch.setenv("POLICY_GATE_RENEW_MB", "1")  # judging grows it by more: it renews after each session
    folder = Folder(staging)
    first, got1 = judge(staging)
    deadline = time.monotonic() + 60
    while "renewed" not in (log := folder.log.read_text(errors="replace")) and time.monotonic() < deadline:
        time.sleep(0.1)  # the new image is up (before, a refresh may find the pid mid-exec and start its own)
    assert re.search(r"renewing after session 1: \d+ MB held, \d+ MB when ready", log), log[-2000:]
    assert re.search(r"renewed: \d+ MB, suites registered again", log), log[-2000:]
    second, got2 = judge(staging)  # waits in the socket's queue while the new image registers the suites
    assert second.spawned is None and second.greeting == {"pid": first.spawned, "session": 2, "warm": True}
    assert got2 == got1 and len(got1) == len(suites())
    assert RENEW_FILE.encode() in Path(f"/proc/{first.spawned}/cmdline").read_bytes()  # the renewed image
    assert not (folder.root / RENEW_FILE).exists()  # read back and removed
    monkeypatch.setenv("POLICY_GATE_RENEW_MB", "lots")
    with pytest.raises(ValueError, match="POLICY_GATE_RENEW_MB must be a number of MB"):
        warm_gate_worker(staging, suites(), "code-a", staging / "own")


def test_a_refresh_of_other_code_stops_the_old_server_and_starts_its_own(staging):
    old, _ = judge(staging, key="code-a")
    new, got = judge(staging, key="code-b")
    assert new.spawned and new.spawned != old.spawned and not is_running(old.spawned)
    assert Folder(staging).read(Folder(staging).key) != "" and len(got) == len(suites())


def test_a_second_refresh_at_the_same_time_gets_a_worker_of_its_own(staging, tmp_path):
    busy = warm_gate_worker(staging, suites(), "code-a", tmp_path / "a")
    try:
        other = warm_gate_worker(staging, suites(), "code-a", tmp_path / "b")
        assert type(other) is GateWorker and other.snapshot_dir == tmp_path / "b"
    finally:
        busy.close()
    again = warm_gate_worker(staging, suites(), "code-a", tmp_path / "c")  # the lock was given back
    assert isinstance(again, WarmGateWorker)
    again.close()


def test_an_idle_server_removes_its_socket_and_exits(staging, monkeypatch):
    monkeypatch.setenv("POLICY_GATE_KEEP", "1")
    worker, _ = judge(staging)
    deadline = time.monotonic() + 20
    while is_running(worker.spawned) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not is_running(worker.spawned)
    folder = Folder(staging)
    assert not folder.sock.exists() and not folder.pid.exists() and folder.server_pid() is None


def test_a_killed_server_is_replaced_by_the_next_refresh_and_one_killed_mid_session_is_lost(staging):
    first, _ = judge(staging)
    os.kill(first.spawned, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while is_running(first.spawned) and time.monotonic() < deadline:
        time.sleep(0.05)
    second, got = judge(staging)  # its socket is still there, nobody listens: a new server
    assert second.spawned and second.spawned != first.spawned and len(got) == len(suites())
    worker = warm_gate_worker(staging, suites(), "code-a", staging / "own").start()
    try:
        os.kill(second.spawned, signal.SIGKILL)
        from pipeline.warehouse.gate import WorkerLost

        with pytest.raises(WorkerLost, match="warm gate"):
            worker.run({}, complete=False, run_name="x", index_columns=(ROW_KEY,))
    finally:
        worker.close()


def test_keep_of_zero_gives_each_refresh_a_worker_of_its_own_and_a_bad_value_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("POLICY_GATE_KEEP", "0")
    worker = warm_gate_worker(tmp_path, suites(), "code-a", tmp_path / "own")
    assert type(worker) is GateWorker and not (tmp_path / "warm-gate").exists()
    monkeypatch.setenv("POLICY_GATE_KEEP", "ten minutes")
    with pytest.raises(ValueError, match="POLICY_GATE_KEEP must be a number of seconds"):
        keep_seconds()
    monkeypatch.delenv("POLICY_GATE_KEEP")
    assert keep_seconds() == 600
    deep = tmp_path / ("d" * 120)  # a socket path over 107 bytes cannot be bound: a worker of its own, as with 0
    assert type(warm_gate_worker(deep, suites(), "code-a", tmp_path / "own")) is GateWorker


def test_a_refresh_judged_by_the_warm_gate_publishes_what_a_cold_build_does(tmp_path, monkeypatch):
    monkeypatch.setenv("POLICY_GATE_KEEP", "60")
    raw = copy_raw(tmp_path, {HTML_2025.name, "xm-mzj-2025-095-list.pdf"})
    wh, staging = tmp_path / "policy.duckdb", tmp_path / "st"
    try:
        first = refresh(raw, wh, staging_dir=staging)
        assert re.fullmatch(r"warm gate started \(pid \d+\)", first.gate_worker), first.gate_worker
        shutil.copy(HTML_2009, raw / HTML_2009.name)
        second = refresh(raw, wh, staging_dir=staging)
        assert re.fullmatch(r"warm gate \(pid \d+, session 2, suites kept\)", second.gate_worker), second.gate_worker
        assert second.notices_assembled == 1 and not second.quarantined
    finally:
        stop_server(staging)
    monkeypatch.setenv("POLICY_GATE_KEEP", "0")
    cold = tmp_path / "cold.duckdb"
    summary = refresh(raw, cold, staging_dir=tmp_path / "cold")
    assert summary.gate_worker == "a worker of this refresh"
    assert snapshot(wh) == snapshot(cold)
