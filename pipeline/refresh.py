"""One refresh, in the order data flows:

    lock ─▶ inventory of raw/ (bytes hashed, sidecars checked, first sightings kept in history/)
         ─▶ fingerprint: nothing changed? record the run in history, leave the warehouse untouched
         ─▶ partitions: each new or changed file read by the per-file chain (pipeline/partition.py) on every core
            (or a dask cluster), each under a memory and time budget; unchanged files reuse their partition
         ─▶ build a new warehouse file beside the published one (pipeline/warehouse/build.py): changed partitions
            applied, changed notices assembled and judged one by one (by GX in a worker, the warm gate or, with
            engine dask, on the cluster), across-notice results recomputed in SQL
         ─▶ atomic publish ─▶ history: the run appended

A file that fails costs only itself (its row in raw_files says the stage and the reason); a notice that fails a
per-notice expectation costs only itself (quarantined; its last good version stays current). Only a broken
warehouse (a key shared by two notices, a schema violation, counts that don't reconcile) stops the publish, and
then the published file stays byte for byte as it was.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from pipeline import __version__
from pipeline.config import DEFAULT_FORMAT_PREFERENCE, EXPECTATIONS_DIR, REVIEWS_DIR, STAGING_DIR
from pipeline.engine.dask import DaskSession
from pipeline.engine.limits import Budget, load_budget, load_build_memory_mb
from pipeline.errors import GateFailed, PipelineError
from pipeline.flags.review import load_decisions
from pipeline.ingest.history import History, default_history_dir
from pipeline.ingest.rawstore import Inventory, RawInput, StatCache, take_inventory
from pipeline.partition import PartitionJob, build_partition
from pipeline.progress import Reporter
from pipeline.registers import registers_to_rows
from pipeline.warehouse.build import BuildInput, BuildOutcome, build_warehouse, now_utc
from pipeline.warehouse.expectations import load_suites
from pipeline.warehouse.gate_cluster import ClusterGate
from pipeline.warehouse.gate_warm import warm_gate_worker
from pipeline.warehouse.fingerprint import (build_fingerprint, combined, extraction_fingerprint, folder_fingerprint,
                                            inputs_fingerprint)
from pipeline.warehouse.export import export_dir_for, export_parquet
from pipeline.warehouse.load import (publish, published_partitions, read_build_info, remove_stale_builds,
                                     temp_path_for)
from pipeline.warehouse.lock import refresh_lock
from pipeline.warehouse.partitions import Manifest, PartitionStore, partition_key
from pipeline.warehouse.quarantine import candidate_dir

# A read of at most this many files per worker is short: the gate worker (GX) starts before it (as soon as the
# inventory shows that few files changed), so GX imports while they are read. Before a longer read it would sit
# idle, holding its memory, so it starts when the read ends.
WARM_GATE_FILES_PER_WORKER = 2


@dataclass
class RefreshSummary:
    """What a refresh did, for the closing summary and the runs table."""

    status: str  # published | unchanged | gate_failed
    files_seen: int = 0
    files_new: int = 0
    files_unchanged: int = 0
    files_failed: int = 0
    files_cached: int = 0  # partitions reused: files not read again
    notices: int = 0
    notices_new: int = 0
    notices_unchanged: int = 0
    notices_failed: int = 0
    notices_assembled: int | None = None
    rows: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)
    no_table: list[str] = field(default_factory=list)
    reports: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    gate: object = None
    gate_worker: str = ""  # who judged the notices: a worker of this refresh, the warm gate, or nobody
    run_id: str = ""

    def lines(self) -> list[str]:
        out = [
            f"status: {self.status}",
            f"notices seen {self.notices} / new {self.notices_new} / unchanged {self.notices_unchanged} / "
            f"failed {self.notices_failed} / quarantined {len(self.quarantined)}",
            f"files seen {self.files_seen} / new {self.files_new} / unchanged {self.files_unchanged} / "
            f"failed {self.files_failed} (partitions reused for {self.files_cached})",
        ]
        if self.rows:
            out.append("rows: " + ", ".join(f"{k} {v}" for k, v in sorted(self.rows.items())))
        out += [f"failed: {f}" for f in self.failures]
        out += [f"quarantined: {q}" for q in self.quarantined]
        if self.quarantined:
            out.append("hint: quarantined notices keep their last good version; see quarantine_rows or "
                       "`make report`, fix the file or its profile, then refresh again")
        out += [f"no table: {n}" for n in self.no_table]
        if self.gate is not None:
            out += [f"gate warning: {w}" for w in getattr(self.gate, "warnings", [])]
        out += [f"reported: {r}" for r in self.reports]
        if self.gate_worker:
            out.append(f"notices judged by: {self.gate_worker}")
        if self.timings:
            out.append("time: " + ", ".join(f"{k} {v:.1f}s" for k, v in self.timings.items()))
        return out


def sweep_leftovers(warehouse: Path, staging: Path, history: History, progress: Reporter) -> None:
    """Remove what killed runs left: half-built files, gate snapshots, partition temp folders, history temp copies."""
    for p in remove_stale_builds(warehouse):
        progress.stage("clean", f"removed {p.name}, left by a refresh that was killed")
    export = export_dir_for(warehouse)
    for d in [*staging.glob("gate-*"), *staging.glob("partitions/*/.*.tmp"), *export.parent.glob(f".{export.name}.*")]:
        shutil.rmtree(d, ignore_errors=True)
    history.sweep()


def _partition_jobs(inputs: list[RawInput], code: str, store_root: Path, hints: dict[str, tuple[str, str | None]],
                    budget: Budget) -> list[PartitionJob]:
    """One job per input; an attachment's hint is its page's (notice_id, jurisdiction), part of its key."""
    jobs = []
    for i in inputs:
        notice, where = hints.get(i.raw_file, (None, None))
        key = partition_key(code, i.raw_file, i.sha256, i.provenance, f"{notice}|{where}" if notice else None)
        jobs.append(PartitionJob(key, i, notice, str(store_root), where, {"max_file_mb": budget.max_file_mb}))
    return jobs


def _failure_manifest(job: PartitionJob, store: PartitionStore, why: str, stage: str, limits: Budget) -> Manifest:
    """A file whose worker failed (budget, crash) still gets a partition: its row says the stage and the reason. The
    failure may not recur, so the next refresh reads the file again, unless it has failed ``limits.attempts`` times
    in a row: then the failure stands (the partition says how often it failed; see ``read_again``)."""
    from pipeline.partition import file_row
    from pipeline.stages import FileResult
    from pipeline.warehouse.schema import EXTRACTED, TABLES

    prior, _ = store.read(job.key, verify=False)
    attempts = prior.attempts + 1 if prior is not None and prior.transient else 1
    stands = not read_again(attempts, limits, force=False)
    raw = job.input.raw()
    raw.notice_id = raw.notice_id or job.notice_hint or f"sha256:{raw.sha256[:16]}"
    raw.notice_id_from = "provenance" if job.input.provenance.get("notice_id") else "content_hash"
    reason = f"file {raw.path}, stage {stage}: {why}" + (
        f"; failed {attempts} times in a row, so not read again until its bytes or the extraction code change "
        "(or refresh --force)" if stands else "")
    row = file_row(FileResult(raw=raw, status="failed", stage=stage, reason=reason), job.input)
    m = store.write(job.key, raw.path, raw.sha256, row, {"files": [row]}, {**TABLES, **EXTRACTED}, transient=True,
                    attempts=attempts)
    return dataclasses.replace(m, transient=False) if stands else m


def read_again(attempts: int, limits: Budget, force: bool) -> bool:
    """Whether the file of a failure that may not recur is read again, having failed so ``attempts`` times in a row:
    until that reaches ``limits.attempts`` (0: no limit); ``force`` tries every such failure again."""
    return force or not limits.attempts or attempts < limits.attempts


def read_partitions(jobs: list[PartitionJob], store: PartitionStore, *, engine: str, workers: int, limits: Budget,
                    progress: Reporter, reports: list[str], held: dict[str, Manifest] | None = None,
                    on_read: Callable[[int], None] | None = None, session=None, force: bool = False
                    ) -> tuple[dict[str, Manifest], set[str]]:
    """Return a sound manifest for every job (and the keys reused), reading only files whose partition is missing
    or damaged. A partition in ``held`` (the warehouse the build starts from holds it) is taken from there: its
    folder is not opened, unless its failure was transient, when its file may be read again (``read_again``; a
    failure that stands counts as settled). ``session``: the dask session of the refresh (engine dask), whose
    cluster reads the files."""
    held = held or {}
    manifests: dict[str, Manifest] = {}
    todo = []
    for job in jobs:
        m = held.get(job.key)
        why = None
        if m is None or m.transient:
            m, why = store.read(job.key)
        if m is not None and m.transient:
            m = None if read_again(m.attempts, limits, force) else dataclasses.replace(m, transient=False)
        if m is not None:
            manifests[job.key] = m
        else:
            if why:
                reports.append(f"{why}; rebuilt")
            todo.append(job)
    reused = set(manifests)
    if not todo:
        return manifests, reused
    if on_read is not None:
        on_read(len(todo))
    progress.start("read", len(todo))
    if engine == "dask":
        from pipeline.engine.dask import map_dask

        outcomes = map_dask(build_partition, todo, workers=workers, limits=limits, session=session)
    else:
        from pipeline.engine.local import map_local

        outcomes = map_local(build_partition, todo, workers=workers, limits=limits)
    for out in outcomes:
        job = out.job
        m = out.value if out.failure is None else _failure_manifest(job, store, out.failure, out.stage, limits)
        manifests[job.key] = m
        f = m.file
        important = f.get("status") in ("failed", "no_table")
        line = f"{f.get('raw_file')}: {f.get('format') or '?'} {f.get('status')}" + (
            f" - {f.get('reason')}" if f.get("reason") else "")
        progress.advance(line, important)
    progress.finish()
    return manifests, reused


def refresh(
    raw_dir: Path,
    warehouse: Path,
    *,
    staging_dir: Path = STAGING_DIR,
    progress: Reporter | None = None,
    now: dt.datetime | None = None,
    force: bool = False,
    reviews_dir: Path = REVIEWS_DIR,
    preference: tuple[str, ...] = DEFAULT_FORMAT_PREFERENCE,
    fetched: list[dict] | None = None,
    history_dir: Path | None = None,
    expectations_dir: Path = EXPECTATIONS_DIR,
    engine: str = "local",
    workers: int | None = None,
    wait: float = 0.0,
    limits: Budget | None = None,
) -> RefreshSummary:
    """Rebuild what changed in raw/ (or the code, suites, reviews) and publish it; see the module docstring."""
    progress = progress or Reporter()
    staging = Path(staging_dir)
    warehouse = Path(warehouse)
    with refresh_lock(warehouse, wait):
        return _refresh(Path(raw_dir), warehouse, staging, progress, now or now_utc(), force, reviews_dir, preference,
                        fetched or [], History(history_dir or default_history_dir(Path(raw_dir))), expectations_dir,
                        engine, workers or os.cpu_count() or 1, limits or load_budget())


def _refresh(raw_dir: Path, warehouse: Path, staging: Path, progress: Reporter, now: dt.datetime, force: bool,
             reviews_dir: Path, preference: tuple[str, ...], fetched: list[dict], history: History,
             expectations_dir: Path, engine: str, workers: int, limits: Budget) -> RefreshSummary:
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    run_id = f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
    sweep_leftovers(warehouse, staging, history, progress)
    load_decisions(reviews_dir)  # a broken review file is refused now, before any file is read
    history.append("fetches", [{"run_id": run_id, **f} for f in fetched])
    inventory = take_inventory(raw_dir, history, now, StatCache(staging / "raw-stat.json"))
    reports = [*inventory.skipped, *inventory.problems, *inventory.changed_in_place]
    timings["inventory"] = time.perf_counter() - t0
    extraction = extraction_fingerprint()
    build_code = build_fingerprint(expectations_dir)
    reviews_fp = folder_fingerprint(reviews_dir)
    options = f"prefer={','.join(preference)}"
    inputs_fp = inputs_fingerprint([(i.raw_file, i.sha256) for i in inventory.inputs], options)
    fingerprint = combined(extraction, build_code, reviews_fp, inputs_fp)
    published = read_build_info(warehouse)
    summary = RefreshSummary("unchanged", files_seen=len(inventory.inputs), reports=reports, run_id=run_id)
    # A file whose last failure may not recur (a budget, a crashed worker) is tried again even when nothing changed.
    if not force and published.get("fingerprint") == fingerprint and published.get("transient_failures", "0") == "0":
        progress.stage("check", "raw files, code, suites and reviews are unchanged: nothing to do")
        n = int(published.get("notices", 0))
        summary.files_unchanged, summary.notices, summary.notices_unchanged = len(inventory.inputs), n, n
        summary.files_cached = len(inventory.inputs)
        for f in fetched:
            if f.get("outcome") not in ("new", "unchanged", "not_modified"):
                reports.append(f"fetch {f.get('outcome')}: {f.get('url')} - {f.get('reason')}")
        history.append("runs", [_run_row(run_id, now, summary, fingerprint)])
        return summary

    store = PartitionStore(staging / "partitions")
    t = time.perf_counter()
    incremental = warehouse.exists() and published.get("build_code") == build_code and not force
    suites = load_suites(expectations_dir)
    snapshot_dir = staging / f"gate-{os.getpid()}"
    notice_suites = [s for s in suites if s.scope == "notice"]
    # On a cluster (engine dask) the notices are judged there, on the session's cluster that reads the files. Else
    # the warm gate of this staging folder (gate_warm.py) when one may be kept, or a worker of this refresh's own.
    session = DaskSession(workers) if engine == "dask" else None
    if session is not None:
        worker = ClusterGate(session, candidate_dir(snapshot_dir), notice_suites)
    else:
        worker = warm_gate_worker(staging, notice_suites, build_code, candidate_dir(snapshot_dir))

    def warm_gate(files_to_read: int) -> None:
        if files_to_read <= WARM_GATE_FILES_PER_WORKER * workers:
            worker.start()

    try:
        # Partitions the published warehouse already holds are not read again by an incremental build: their
        # manifests come from its partitions table, their folders are not opened. Every other partition is verified
        # against its manifest before it is loaded.
        held = published_partitions(warehouse) if incremental else {}
        # Few raw files changed since a warehouse read by this code: their notices will be judged, so GX starts
        # importing now, while partitions are looked up and the files read.
        if published.get("extraction_code") == extraction and (changed := files_changed(inventory, held.values())):
            warm_gate(changed)
        manifests, reused = _partitions(inventory, extraction, store, engine, workers, limits, progress, reports,
                                        held, warm_gate, session, force)
        reread = {m.key for m in manifests if m.key in held and m.key not in reused}  # a transient failure, read again
        if manifests and (not incremental or {m.key for m in manifests} != set(held) or reread):  # notices judged
            worker.start()
        timings["read"] = time.perf_counter() - t
        files = [m.file for m in manifests]
        new_shas = {i.sha256 for i in inventory.inputs if i.first_seen_at == now}
        summary.files_cached = len(reused)
        summary.files_new = sum(1 for i in inventory.inputs if i.first_seen_at == now)
        summary.files_unchanged = summary.files_seen - summary.files_new
        summary.files_failed = sum(f.get("status") == "failed" for f in files)
        summary.failures = [f.get("reason") or "" for f in files if f.get("status") == "failed"]
        summary.no_table = [f"{f['raw_file']}: {f.get('reason')}" for f in files if f.get("status") == "no_table"]

        base = warehouse if incremental else None
        if warehouse.exists() and base is None and not force:
            progress.stage("build", "the build code or suites changed since the published warehouse: "
                           "assembling every notice")
        info = {"fingerprint": fingerprint, "extraction_code": extraction, "build_code": build_code,
                "reviews": reviews_fp, "pipeline_version": __version__, "built_at": now.isoformat(), "run_id": run_id,
                "transient_failures": str(sum(m.transient for m in manifests))}
        runs = _history_runs(history)
        summary.status = "published"
        runs.append(_run_row(run_id, now, summary, fingerprint))
        inp = BuildInput(manifests, base, preference, suites, reviews_dir, snapshot_dir,
                         {"runs": runs, "fetches": history.read("fetches"), "reviews": _latest_reviews(history)},
                         registers_to_rows(), info, memory_mb=load_build_memory_mb(),
                         gate_worker=worker if worker.started else None,
                         judging_memory_mb=load_build_memory_mb(key="judging_memory_mb"), reread=reread)
        built = temp_path_for(warehouse)
        progress.stage("build", f"{len(manifests)} partition(s) into {built.name}")
        try:
            outcome = build_warehouse(built, inp)
        except (GateFailed, PipelineError) as exc:
            summary.status = "gate_failed" if isinstance(exc, GateFailed) else "load_failed"
            history.append("runs", [_run_row(run_id, now, summary, fingerprint)])
            raise
        finally:
            if summary.status != "published":
                built.unlink(missing_ok=True)
                Path(str(built) + ".wal").unlink(missing_ok=True)
    finally:
        summary.gate_worker = worker.describe()
        worker.close()
        if session is not None:
            session.close()
        shutil.rmtree(snapshot_dir, ignore_errors=True)
    timings.update(outcome.timings)
    _fill_from_outcome(summary, outcome, files, new_shas)
    publish(built, warehouse)
    progress.stage("publish", f"published {warehouse}")
    t = time.perf_counter()
    parts = export_parquet(warehouse, export_dir_for(warehouse), outcome.notices, outcome.previous_partitions,
                           memory_mb=load_build_memory_mb())
    timings["export"] = time.perf_counter() - t
    progress.stage("export", f"{len(parts)} jurisdiction/year partition(s) of {export_dir_for(warehouse)} rewritten")
    history.append("runs", [_run_row(run_id, now, summary, fingerprint)])
    history.append("reviews", _new_reviews(history, outcome.review_history))
    store.prune({m.key for m in manifests})
    timings["total"] = time.perf_counter() - t0
    summary.timings = timings
    return summary


def files_changed(inventory: Inventory, held: Iterable[Manifest]) -> int:
    """How many raw files (by name and bytes) are new, changed or gone since the warehouse that holds ``held``."""
    now = {(i.raw_file, i.sha256) for i in inventory.inputs}
    return len(now.symmetric_difference((m.raw_file, m.raw_sha256) for m in held))


def _partitions(inventory: Inventory, code: str, store: PartitionStore, engine: str, workers: int, limits: Budget,
                progress: Reporter, reports: list[str], held: dict[str, Manifest],
                on_read: Callable[[int], None] | None = None, session=None,
                force: bool = False) -> tuple[list[Manifest], set[str]]:
    """Read partitions in two phases: pages and unlinked files first, then attachments under their page's notice.
    ``on_read`` hears how many files a phase is about to read, before it reads them."""
    by_url = {}
    linked = []
    first = []
    urls = {(i.provenance.get("source_url") or i.provenance.get("final_url")) for i in inventory.inputs}
    for i in inventory.inputs:
        parent = i.provenance.get("parent_url")
        if parent and not i.provenance.get("notice_id") and parent in urls:
            linked.append(i)
        else:
            first.append(i)
    jobs = _partition_jobs(first, code, store.root, {}, limits)
    got, reused = read_partitions(jobs, store, engine=engine, workers=workers, limits=limits, progress=progress,
                                  reports=reports, held=held, on_read=on_read, session=session, force=force)
    for job in jobs:
        m = got[job.key]
        url = job.input.provenance.get("source_url") or job.input.provenance.get("final_url")
        if url and m.file.get("role") == "page" and m.file.get("status") != "failed":
            by_url[url] = (m.file.get("notice_id"), m.file.get("jurisdiction_code"))
    hints = {i.raw_file: by_url[i.provenance["parent_url"]] for i in linked if i.provenance.get("parent_url") in by_url}
    jobs2 = _partition_jobs(linked, code, store.root, hints, limits)
    got2, reused2 = read_partitions(jobs2, store, engine=engine, workers=workers, limits=limits, progress=progress,
                                    reports=reports, held=held, on_read=on_read, session=session, force=force)
    return [got[j.key] for j in jobs] + [got2[j.key] for j in jobs2], reused | reused2


def _fill_from_outcome(summary: RefreshSummary, outcome: BuildOutcome, files: list[dict], new_shas: set[str]) -> None:
    summary.rows = dict(outcome.rows)
    summary.gate = outcome.gate
    summary.notices_assembled = outcome.notices_assembled
    summary.quarantined = [f"{q.notice_id} (version {q.version}, {q.raw_file}): {q.reason}"
                           for q in outcome.judgement.quarantined]
    summary.reports += [f"stale review decision on flag {d['flag_id']}: {d['status_reason']}" for d in outcome.stale_reviews]
    summary.reports += [f"gate warning: {w}" for w in outcome.judgement.warnings]
    summary.reports += [f"not in the {g['register']} register ({g['status']}): {g['value']} ×{g['occurrences']}, "
                        f"e.g. {g['record_table']} {g['example_record_id']}"
                        + (f" (jurisdiction {g['jurisdiction_code']})" if g.get("jurisdiction_code") else "")
                        for g in outcome.register_gaps]
    by_notice: dict[str, list[dict]] = {}
    for f in files:
        by_notice.setdefault(f.get("notice_id"), []).append(f)
    summary.notices = len(by_notice)
    summary.notices_failed = sum(all(f.get("status") == "failed" for f in fs) for fs in by_notice.values())
    summary.notices_new = sum(1 for fs in by_notice.values() if any(f.get("raw_sha256") in new_shas for f in fs))
    summary.notices_unchanged = summary.notices - summary.notices_new
    summary.rows.pop("partitions", None)


def _run_row(run_id: str, now: dt.datetime, s: RefreshSummary, fingerprint: str) -> dict:
    return {
        "run_id": run_id,
        "started_at": now,
        "finished_at": now_utc(),
        "status": s.status,
        "files_seen": s.files_seen,
        "files_new": s.files_new,
        "files_unchanged": s.files_unchanged,
        "files_failed": s.files_failed,
        "pipeline_fingerprint": fingerprint,
    }


def _history_runs(history: History) -> list[dict]:
    """Every run the store holds, once each (the last line of a run wins: it may be written twice)."""
    runs: dict[str, dict] = {}
    for r in history.read("runs"):
        if r.get("run_id"):
            runs[r["run_id"]] = {**r, "started_at": _ts(r.get("started_at")), "finished_at": _ts(r.get("finished_at"))}
    return sorted(runs.values(), key=lambda r: (r["started_at"] or dt.datetime.min, r["run_id"]))


def _ts(value) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def _latest_reviews(history: History) -> list[dict]:
    rows: dict[str, dict] = {}
    for r in history.read("reviews"):
        if r.get("review_id"):
            rows[r["review_id"]] = r
    return list(rows.values())


def _new_reviews(history: History, review_history: list[dict]) -> list[dict]:
    seen = {r.get("review_id") for r in history.read("reviews")}
    return [r for r in review_history if r.get("review_id") not in seen and r.get("status") != "removed_from_file"]
