"""Command line: `python -m pipeline refresh|sql|report|stop-gate|dictionary|serve`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape

from pipeline.config import (DEFAULT_FORMAT_PREFERENCE, RAW_DIR, REVIEWS_DIR, STAGING_DIR, SUPPORTED_FORMATS,
                             WAREHOUSE_FILE)
from pipeline.errors import PipelineError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="policy-tables: notices into a DuckDB warehouse.")
console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _fail(what: str, exc: BaseException) -> None:
    """Print one line naming what failed and why, with a hint; never a traceback."""
    if isinstance(exc, PipelineError):
        err.print(f"[red]{what} failed:[/] {escape(str(exc))}")
    elif isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        err.print(f"[red]{what} failed:[/] {escape(str(exc.strerror or exc))}{escape(where)} (hint: check free disk space and that the "
                  "warehouse, staging and history folders are writable)")
    else:
        err.print(f"[red]{what} failed:[/] unexpected {type(exc).__name__}: {escape(str(exc))} (hint: this is a bug; "
                  "please report it with the command you ran)")
    err.print("the published warehouse was left as it was")
    raise typer.Exit(1)


@app.command()
def refresh(
    raw: Path = typer.Option(RAW_DIR, "--raw", help="Folder of raw notice files."),
    warehouse: Path = typer.Option(WAREHOUSE_FILE, "--warehouse", help="DuckDB file to publish."),
    staging: Path = typer.Option(STAGING_DIR, "--staging", help="Folder for partitions and other rebuildable files."),
    history: Optional[Path] = typer.Option(None, "--history", help="Append-only history store (default: history/ "
                                           "beside the raw folder)."),
    reviews: Path = typer.Option(REVIEWS_DIR, "--reviews", help="Folder of QA decision files (reviews/*.csv)."),
    force: bool = typer.Option(False, "--force", help="Rebuild even when nothing changed."),
    source: list[str] = typer.Option([], "--source", help="Fetch this listing page or notice URL (repeatable) "
                                     "instead of the sources register."),
    offline: bool = typer.Option(False, "--offline", envvar="POLICY_OFFLINE",
                                 help="Build from raw/ only, fetch nothing (also: POLICY_OFFLINE=1)."),
    fetch_state: Path = typer.Option(None, "--fetch-state", help="Conditional-GET state file "
                                     "(default staging/fetch_state.json)."),
    prefer: str = typer.Option(",".join(DEFAULT_FORMAT_PREFERENCE), "--prefer",
                               help="Formats in order of preference when a notice has its table in several."),
    strict: bool = typer.Option(False, "--strict", help="Exit non-zero when any file failed or any notice was "
                                "quarantined (for cron and CI); by default a successful publish exits 0."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the closing summary."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Print a line for every file read."),
    engine: str = typer.Option("local", "--engine",
                               help="Where files are read and notices judged: local (every core) or dask."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", envvar="DASK_SCHEDULER_ADDRESS",
                                            help="dask scheduler address (tcp://host:8786); default: a local cluster."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Worker processes (default: one per core)."),
    wait: float = typer.Option(0.0, "--wait", help="Seconds to wait for another refresh of the same warehouse."),
) -> None:
    """Fetch new notices (sources register or --source), then build the warehouse from raw/ and publish it."""
    from pipeline.progress import ConsoleReporter

    try:  # the data files (profiles) load with the schema: a wrong profile is refused here, before any file is read
        from pipeline.refresh import refresh as run_refresh
    except PipelineError as exc:
        _fail("refresh", exc)
    if not raw.is_dir():
        err.print(f"[red]error:[/] raw folder {raw} does not exist (hint: pass --raw DIR)")
        raise typer.Exit(2)
    preference = tuple(p.strip() for p in prefer.split(",") if p.strip())
    if not preference or set(preference) - set(SUPPORTED_FORMATS):
        err.print(f"[red]error:[/] --prefer takes formats from {', '.join(SUPPORTED_FORMATS)}, got {prefer!r}")
        raise typer.Exit(2)
    if engine not in ("local", "dask"):
        err.print(f"[red]error:[/] --engine is local or dask, got {engine!r}")
        raise typer.Exit(2)
    reporter = ConsoleReporter(console, quiet=quiet, verbose=verbose)
    if scheduler:
        import os

        os.environ["DASK_SCHEDULER_ADDRESS"] = scheduler
    try:
        fetched = None if offline else _fetch(raw, source, fetch_state, reporter)
        summary = run_refresh(raw, warehouse, staging_dir=staging, progress=reporter, force=force,
                              preference=preference, fetched=fetched, history_dir=history, reviews_dir=reviews,
                              engine=engine,
                              workers=workers, wait=wait)
    except (PipelineError, OSError) as exc:
        _fail("refresh", exc)
    for line in summary.lines():
        console.print(line, markup=False)  # published text carries brackets ([2013], 【发布单位】): never markup
    if summary.status == "unchanged":
        console.print("nothing changed")
    if strict and (summary.files_failed or summary.quarantined):
        err.print(f"strict: {summary.files_failed} file(s) failed, {len(summary.quarantined)} notice(s) quarantined")
        raise typer.Exit(3)


def _fetch(raw: Path, urls: list[str], state_file: Path | None, reporter) -> list[dict]:
    """Fetch the register's sources (or the given URLs) into raw/; failures are reported, never fatal."""
    from pipeline.config import FETCH_STATE_FILE
    from pipeline.fetch import fetch_sources, load_register, source_from_url

    register = load_register()
    sources = [source_from_url(u, register=register) for u in urls] or register.sources
    reporter.stage("fetch", f"{len(sources)} source(s): " + ", ".join(s.url for s in sources))
    report = fetch_sources(sources, raw, state_file=state_file or FETCH_STATE_FILE,
                           settings=register.settings)
    for line in report.summary().splitlines():
        reporter.stage("fetch", line)
    return [
        {"url": o.url, "role": o.role, "outcome": o.outcome, "reason": o.reason, "raw_file": o.raw_file,
         "raw_sha256": o.sha256, "status_code": o.status_code, "parent_url": o.parent_url}
        for o in report.outcomes
    ]


@app.command()
def sql(
    query: str = typer.Argument(..., help="One read statement (SELECT, WITH … SELECT, DESCRIBE, SHOW, SUMMARIZE, "
                                "EXPLAIN, PRAGMA table_info); anything else is refused."),
    warehouse: Path = typer.Option(WAREHOUSE_FILE, "--warehouse"),
    limit: int = typer.Option(50, "--limit", help="Rows to print at most."),
) -> None:
    """Run one read-only analyst statement and print the result; a refused or failing one exits 1 with one line."""
    import duckdb
    from rich.markup import escape

    from pipeline.serve.query import connect_readonly

    try:
        con = connect_readonly(warehouse)
    except PipelineError as exc:
        err.print(f"[red]sql failed:[/] {escape(str(exc))}")
        raise typer.Exit(2)
    except duckdb.Error as exc:  # not a DuckDB file, or locked by a writer
        err.print(f"[red]sql failed:[/] {escape(' '.join(str(exc).split()))}")
        raise typer.Exit(2)
    try:
        rel = con.sql(query)
        if rel is not None:
            console.print(rel.limit(limit).df().to_string(index=False), markup=False)  # published text is no markup
    except PipelineError as exc:
        err.print(f"[red]sql {escape(exc.reason)}[/] (hint: {escape(exc.hint)})")
        raise typer.Exit(1)
    except duckdb.Error as exc:  # DuckDB's own message: a typo, a missing table, a permission it denied
        err.print(f"[red]sql failed:[/] {escape(' '.join(str(exc).split()))}")
        raise typer.Exit(1)
    finally:
        con.close()


@app.command()
def report(
    warehouse: Path = typer.Option(WAREHOUSE_FILE, "--warehouse"),
    out: Path = typer.Option(Path("reports"), "--out", help="Folder for the report; entry index.html."),
) -> None:
    """Write the QA report: GX Data Docs plus the findings page from dq_flags."""
    from pipeline.serve.query import NoWarehouse
    from pipeline.report import write_report

    try:
        index = write_report(warehouse, out)
    except (NoWarehouse, PipelineError) as exc:
        err.print(f"[red]report failed:[/] {escape(str(exc))}")
        raise typer.Exit(1)
    console.print(f"wrote {index}")


@app.command("stop-gate")
def stop_gate(staging: Path = typer.Option(STAGING_DIR, "--staging", help="The staging folder whose gate to stop.")
              ) -> None:
    """Stop the warm gate a refresh left running (Great Expectations kept loaded for the next refresh)."""
    from pipeline.warehouse.gate_warm import stop_server

    pid = stop_server(staging)
    console.print(f"stopped the warm gate (pid {pid})" if pid else "no warm gate was running")


@app.command()
def dictionary(out: Path = typer.Option(Path("docs/data_dictionary.md"), "--out")) -> None:
    """Write the data dictionary generated from the schema."""
    try:
        from pipeline.warehouse.dictionary import render_dictionary
    except PipelineError as exc:
        _fail("dictionary", exc)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_dictionary(), encoding="utf-8")
    console.print(f"wrote {out}")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (loopback by default: this machine only)."),
    port: int = typer.Option(8001, "--port", help="Port to listen on."),
    warehouse: Path = typer.Option(WAREHOUSE_FILE, "--warehouse", help="Published DuckDB warehouse to browse."),
    check: bool = typer.Option(False, "--check", help="Build the mirror, start the site, ask it one request, "
                               "stop (for tests and a quick look that it works)."),
    watch: float = typer.Option(5.0, "--watch", min=0, help="Every this many seconds, look whether a refresh "
                                "published a newer warehouse; if so rebuild the mirror and restart the site "
                                "(0: never)."),
) -> None:
    """Browse the warehouse read-only (datasette over a SQLite mirror, rebuilt when the warehouse is newer)."""
    from pipeline.serve.mirror import ensure_mirror, mirror_is_current, mirror_path
    from pipeline.serve.query import NoWarehouse
    from pipeline.serve.site import (base_url, check_site, is_loopback, serve_following, start_site, stop_site,
                                     wait_until_up)

    if not warehouse.exists():
        _fail("serve", NoWarehouse("the warehouse does not exist", file=str(warehouse), stage="site"))
    try:
        fresh = mirror_is_current(warehouse, mirror_path(warehouse))
        mirror = ensure_mirror(warehouse)
    except PipelineError as exc:
        _fail("serve", exc)
    console.print(f"mirror {mirror} {'up to date' if fresh else 'rebuilt from ' + str(warehouse)}", markup=False)
    if not is_loopback(host):
        err.print(f"[yellow]warning:[/] bound to {escape(host)}: the site is reachable from other machines")
    url = base_url(host, port)
    if not check:
        console.print(f"serving {url}/ read-only (Ctrl-C stops)"
                      + (f"; a newer warehouse is picked up within {watch:g}s" if watch else ""), markup=False)
        try:
            code = serve_following(warehouse, mirror, host, port, every=watch,
                                   say=lambda line: console.print(line, markup=False))
        except PipelineError as exc:
            _fail("serve", exc)
        except KeyboardInterrupt:
            code = 0
        if code:
            raise typer.Exit(code)
        return
    proc = start_site(mirror, host, port)
    try:
        wait_until_up(proc, url)
        console.print(check_site(url, mirror.stem), markup=False)
    except PipelineError as exc:
        _fail("serve", exc)
    finally:
        stop_site(proc)


def main() -> None:
    app()
