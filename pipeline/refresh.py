"""One refresh: raw/ → file results → tables → staging → new DuckDB → gate → atomic publish."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from concurrent.futures import ProcessPoolExecutor
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import duckdb

from pipeline import __version__
from pipeline.warehouse.assemble import Previous, results_to_tables
from pipeline.config import DEFAULT_FORMAT_PREFERENCE, REVIEWS_DIR, STAGING_DIR
from pipeline.warehouse.cache import ResultCache
from pipeline.derive.corpus import tables_to_derived
from pipeline.errors import GateFailed, LoadFailed
from pipeline.warehouse.fingerprint import build_fingerprint, code_fingerprint
from pipeline.warehouse.gate import GateResult, run_gate
from pipeline.warehouse.load import (build_database, publish, read_build_info, read_ingested_at, read_previous_rows,
                   remove_stale_builds, temp_path_for, write_staging)
from pipeline.ingest.rawstore import list_raw_files, read_raw_file
from pipeline.stages import FileResult, raw_file_to_result

Progress = Callable[[str, str], None]  # (stage, message)


@dataclass
class RefreshSummary:
    """What a refresh did, for the closing summary and the runs table."""

    status: str  # published | unchanged | gate_failed
    files_seen: int = 0
    files_new: int = 0
    files_unchanged: int = 0
    files_failed: int = 0
    files_cached: int = 0
    notices: int = 0
    notices_new: int = 0
    notices_unchanged: int = 0
    notices_failed: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    reports: list[str] = field(default_factory=list)
    gate: GateResult | None = None

    def lines(self) -> list[str]:
        out = [
            f"status: {self.status}",
            f"notices seen {self.notices} / new {self.notices_new} / unchanged {self.notices_unchanged} / failed {self.notices_failed}",
            f"files seen {self.files_seen} / new {self.files_new} / unchanged {self.files_unchanged} / failed {self.files_failed}"
            f" (extraction reused for {self.files_cached})",
        ]
        if self.rows:
            out.append("rows loaded: " + ", ".join(f"{k} {v}" for k, v in self.rows.items()))
        out += [f"failed: {f}" for f in self.failures]
        if self.gate is not None:
            out += [f"gate warning: {w}" for w in self.gate.warnings]
        out += [f"reported: {r}" for r in self.reports]
        return out


def _quiet(stage: str, message: str) -> None:
    pass


PARALLEL_MIN_FILES = 8  # below this, starting worker processes costs more than it saves


def path_to_result(raw_dir: Path, path: Path) -> FileResult:
    """Read one raw file and run the file stages on it (a top-level function, so workers can run it)."""
    raw, data = read_raw_file(raw_dir, path)
    return raw_file_to_result(raw, data)


def extract_all(raw_dir: Path, progress: Progress = _quiet, workers: int | None = None,
                cache: ResultCache | None = None, hashes: dict[str, str] | None = None) -> list[FileResult]:
    """Run the file stages on every raw file not in the cache, on every core; failures are recorded, never raised."""
    paths = list_raw_files(raw_dir)
    hashes = hashes or {p.name: read_raw_file(raw_dir, p)[0].sha256 for p in paths}
    keys = {p.name: ResultCache.key(raw_dir, p, hashes[p.name]) for p in paths}
    results: dict[str, FileResult] = {}
    if cache is not None:
        for p in paths:
            if (hit := cache.get(keys[p.name])) is not None:
                hit.cached = True
                results[p.name] = hit
    todo = [p for p in paths if p.name not in results]
    workers = workers or os.cpu_count() or 1
    if workers > 1 and len(todo) >= PARALLEL_MIN_FILES:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results.update(zip((p.name for p in todo), pool.map(path_to_result, [raw_dir] * len(todo), todo,
                                                                 chunksize=8)))
    else:
        results.update((p.name, path_to_result(raw_dir, p)) for p in todo)
    if cache is not None:
        for p in todo:
            cache.put(keys[p.name], results[p.name])
    return [_reported(results[p.name], progress) for p in paths]


def _reported(result: FileResult, progress: Progress) -> FileResult:
    """Print one file's outcome as a progress line and pass the result on."""
    detail = ", ".join(f"{k} {len(v)}" for k, v in result.records.items() if k != "cell_lineage")
    progress("extract", f"{result.raw.path}: {result.raw.format or '?'} {result.status}"
             + (" (cached)" if result.cached else "")
             + (f" ({detail})" if detail else "") + (f" - {result.reason}" if result.reason else ""))
    return result


def refresh(
    raw_dir: Path,
    warehouse: Path,
    *,
    staging_dir: Path = STAGING_DIR / "tables",
    progress: Progress = _quiet,
    now: dt.datetime | None = None,
    force: bool = False,
    reviews_dir: Path = REVIEWS_DIR,
    preference: tuple[str, ...] = DEFAULT_FORMAT_PREFERENCE,
    fetched: list[dict] | None = None,
) -> RefreshSummary:
    """Rebuild the warehouse from raw_dir; publish only if every stage and the gate succeed."""
    now = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    paths = list_raw_files(raw_dir)
    raw_hashes = [(p.name, read_raw_file(raw_dir, p)[0].sha256) for p in paths]
    code = code_fingerprint((reviews_dir,))
    fingerprint = build_fingerprint(code, raw_hashes, options=f"prefer={','.join(preference)}")
    # A fetch that did not land forces a build, so each failure is recorded in the warehouse's fetches table.
    force = force or any(f["outcome"] not in ("new", "unchanged", "not_modified") for f in fetched or [])
    previous_info = read_build_info(warehouse)
    known = read_ingested_at(warehouse)
    new = sum(1 for _, sha in raw_hashes if sha not in known)
    if not force and previous_info.get("fingerprint") == fingerprint:
        progress("check", "raw files, code and reviews are unchanged: nothing to do")
        notices = int(previous_info.get("notices", 0))
        return RefreshSummary("unchanged", files_seen=len(paths), files_unchanged=len(paths),
                              notices=notices, notices_unchanged=notices)

    cache = ResultCache(staging_dir.parent / "extract-cache", code)
    cache.prune()
    results = extract_all(raw_dir, progress, cache=cache, hashes=dict(raw_hashes))
    progress("assemble", f"{len(results)} file(s) into warehouse tables")
    tables, findings = results_to_tables(results, Previous(ingested_at=known), now, preference)
    tables, stale = tables_to_derived(tables, findings, reviews_dir=reviews_dir, previous_reviews=read_previous_rows(warehouse, "reviews"))
    summary = RefreshSummary(
        "published",
        files_seen=len(results),
        files_new=new,
        files_unchanged=len(results) - new,
        files_failed=sum(r.status == "failed" for r in results),
        files_cached=sum(r.cached for r in results),
        **notice_counts(results, known),
        rows={k: len(v) for k, v in sorted(tables.items())},
        failures=[r.reason or "" for r in results if r.status == "failed"],
        reports=[f"{r.raw.path}: {r.reason}" for r in results if r.status == "no_table"]
        + [f"stale review decision on flag {d['flag_id']}: {d['status_reason']}" for d in stale]
        + [f"not in the {g['register']} register ({g['status']}): {g['value']} ×{g['occurrences']}, "
           f"e.g. {g['record_table']} {g['example_record_id']}" for g in tables.get("register_gaps", [])],
    )
    run = run_row(now, summary, fingerprint)
    tables["fetches"] = read_previous_rows(warehouse, "fetches") + [{"run_id": run["run_id"], **f} for f in fetched or []]
    tables["runs"] = sorted(read_previous_rows(warehouse, "runs"), key=lambda r: r["started_at"]) + [
        run]
    progress("stage", f"writing Parquet to {staging_dir}")
    write_staging(tables, staging_dir)
    publish_staging(staging_dir, warehouse, {"fingerprint": fingerprint, "code": code, "notices": str(summary.notices),
                                            "pipeline_version": __version__, "built_at": now.isoformat()},
                    summary, progress)
    return summary


def publish_staging(staging_dir: Path, warehouse: Path, build_info: dict[str, str],
                    summary: RefreshSummary | None = None, progress: Progress = _quiet) -> GateResult:
    """Load staging into a new file beside the warehouse, gate it, then swap it in atomically."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    for stale in remove_stale_builds(warehouse):
        progress("load", f"removed {stale.name}, left by a refresh that was killed")
    built = temp_path_for(warehouse)
    try:
        progress("load", f"building {built.name}")
        try:
            build_database(staging_dir, built, build_info)
        except duckdb.Error as exc:  # e.g. a NULL key or a wrong type in staging: the DDL refuses it
            raise LoadFailed(f"staging {staging_dir} does not load: {exc}", stage="load", file=str(warehouse)) from None
        progress("gate", "validating the new warehouse")
        result = run_gate(built)
        progress("gate", result.summary())
        if summary is not None:
            summary.gate = result
        if not result.passed:
            if summary is not None:
                summary.status = "gate_failed"
            raise GateFailed(result.summary(), stage="gate", file=str(warehouse))
        publish(built, warehouse)
        progress("publish", f"published {warehouse}")
        return result
    finally:
        built.unlink(missing_ok=True)
        Path(str(built) + ".wal").unlink(missing_ok=True)


def notice_counts(results: list[FileResult], known: dict) -> dict[str, int]:
    """Count notices seen, new (any file's bytes unseen), unchanged, and failed (every file failed)."""
    by_notice: dict[str, list[FileResult]] = {}
    for r in results:
        by_notice.setdefault(r.raw.notice_id or r.raw.path, []).append(r)
    failed = sum(all(f.status == "failed" for f in files) for files in by_notice.values())
    new = sum(any(f.raw.sha256 not in known for f in files) for files in by_notice.values())
    return {"notices": len(by_notice), "notices_new": new, "notices_unchanged": len(by_notice) - new,
            "notices_failed": failed}


def run_row(now: dt.datetime, s: RefreshSummary, fingerprint: str) -> dict:
    return {
        "run_id": f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}",  # two refreshes can start in one second
        "started_at": now,
        "finished_at": dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0),
        "status": s.status,
        "files_seen": s.files_seen,
        "files_new": s.files_new,
        "files_unchanged": s.files_unchanged,
        "files_failed": s.files_failed,
        "pipeline_fingerprint": fingerprint,
    }
