"""`make bench`: time our stages against the peers named in the issues and the refresh at scale, in one run, and print
the ratios the issues target.

Peers (each measurement the best of N repetitions after a warm-up, so a busy core inflates neither side):

- HTML page -> tidy rows (the Xiamen page) and HTML page -> source_tables/table_rows/table_cells records (d01, d02,
  the Xiamen page; with a line on where our time goes) vs pandas.read_html; target <= 2x
- PDF -> tidy rows (the Xiamen list PDF) and PDF -> logical tables (d05, 24 pages: pdf_to_grids + grid_to_table)
  vs pdfplumber's extract_tables; target <= 1.5x
- XLSX/XLS -> grid vs pandas.read_excel; DOC conversion by LibreOffice (fresh, cached) and reading its DOCX

Scaling (``--sizes``, default 1,000 and 10,000 notices of scripts/make_corpus.py): on each corpus a full build (empty
staging and warehouse), a no-op refresh, one notice added, one notice revised (same 文号, new bytes, later PubDate)
and one review decision added (no file may be read again), each refresh in a fresh process; these find the warm
gate the full build left (gate_warm.py), and a last run adds one notice after stopping it ("one added, cold gate":
what a refresh costs when the last one was longer than POLICY_GATE_KEEP ago). The warm gate's CPU during a run and
its memory are counted with the run's, though it is not the refresh's child. Per run: wall time; CPU
(user + sys of the process and the workers it forked, from wait4); peak memory of the process tree (sum of PSS,
sampled every 0.1 s) and of its largest process (peak RSS since exec, VmHWM, sampled too); files read; notices
assembled; the 1-minute load and the share of the run some task waited for a CPU (/proc/pressure/cpu: the machine
may be shared); then the per-stage timings of the refresh summary and the ratios with their targets. ``--quick`` (the Makefile test): 2 repetitions
and one 20-notice corpus.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from pipeline.config import RAW_DIR, ROOT

HTML_PAGE = "xm-mzj-2025-095.html"
LIST_PDF = "xm-mzj-2025-095-list.pdf"
REAL_DIR = ROOT / "tests" / "fixtures" / "real"  # the real d08–d14 documents
BIG_XLSX = "d08-sx-sydw-signup-2025.xlsx"  # 11,374 rows
SMALL_XLS = ("d09-klmy-kjj-powers.xls", "d10-klmy-czj-powers-ole.xlsx")
DOCS = ("d12-zj-nocert-catalog.doc", "d13-hn-njbt-2024.doc")


@dataclass
class Comparison:
    name: str
    ours: float
    peer_name: str
    peer: float
    target: float
    detail: str | None = None  # a line on where our side spends its time

    @property
    def ratio(self) -> float:
        return self.ours / self.peer

    def line(self) -> str:
        verdict = "ok" if self.ratio <= self.target else "OVER TARGET"
        return (f"{self.name:<28} ours {self.ours * 1000:8.1f} ms   {self.peer_name} {self.peer * 1000:8.1f} ms   "
                f"ratio {self.ratio:5.2f}x (target <= {self.target:g}x) {verdict}")


def best_of(fn: Callable[[], object], repeat: int) -> float:
    fn()
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def html_page_to_provisions(data: bytes) -> list[dict]:
    """Our whole HTML path: decode, parse, grid, recognize, tidy rows."""
    from pipeline.ingest.decode import decode_bytes
    from pipeline.extract.html import html_to_grids, parse_html
    from pipeline.kinds.provisions import grid_to_provisions
    from pipeline.kinds.recognize import load_table_profiles, recognize_table

    text, _ = decode_bytes(data)
    rows: list[dict] = []
    profiles = load_table_profiles()
    for grid in html_to_grids(parse_html(text)):
        if (rec := recognize_table(grid, profiles)) is not None:
            rows += grid_to_provisions(grid, rec, notice_id="bench", raw_file=HTML_PAGE, raw_sha256="")
    return rows


def pandas_read_html(data: bytes) -> object:
    """The peer: pandas.read_html on the same page (builds the grid only, no tidy rows)."""
    import pandas as pd

    return pd.read_html(io.StringIO(data.decode("utf-8")))


def bench_html(raw_dir: Path, repeat: int) -> Comparison:
    data = (raw_dir / HTML_PAGE).read_bytes()
    assert len(html_page_to_provisions(data)) == 52, "the HTML path must give the 52 rows it is timed on"
    return Comparison("HTML page -> tidy rows", best_of(lambda: html_page_to_provisions(data), repeat),
                      "pandas.read_html", best_of(lambda: pandas_read_html(data), repeat), 2.0)


def pdf_to_provisions(data: bytes) -> list[dict]:
    """Our whole PDF path: stitched grids, recognize, tidy rows."""
    from pipeline.extract.pdf import pdf_to_grids
    from pipeline.kinds.provisions import grid_to_provisions
    from pipeline.kinds.recognize import load_table_profiles, recognize_table

    rows: list[dict] = []
    profiles = load_table_profiles()
    for grid in pdf_to_grids(data):
        if (rec := recognize_table(grid, profiles)) is not None:
            rows += grid_to_provisions(grid, rec, notice_id="bench", raw_file=LIST_PDF, raw_sha256="")
    return rows


def pdfplumber_extract_tables(data: bytes) -> list:
    """The peer: pdfplumber's own extract_tables on every page."""
    import pdfplumber

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return [t for page in pdf.pages for t in page.extract_tables()]


def bench_pdf(raw_dir: Path, repeat: int) -> Comparison:
    data = (raw_dir / LIST_PDF).read_bytes()
    assert len(pdf_to_provisions(data)) == 52, "the PDF path must give the 52 rows it is timed on"
    return Comparison("PDF -> tidy rows", best_of(lambda: pdf_to_provisions(data), repeat),
                      "pdfplumber.extract_tables", best_of(lambda: pdfplumber_extract_tables(data), repeat), 1.5)


def pandas_read_excel(data: bytes) -> object:
    """The peer: pandas.read_excel of every sheet (openpyxl for XLSX, xlrd for XLS), values only."""
    import warnings

    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas' notice about its future default engine
        return pd.read_excel(io.BytesIO(data), sheet_name=None, header=None)


def bench_xlsx(real_dir: Path, repeat: int) -> list[Comparison]:
    """Workbook → grids (merges, formats, hidden rows/cols) vs pandas.read_excel, for d08 and d09/d10."""
    from pipeline.extract.xls import xls_to_grids
    from pipeline.extract.xlsx import xlsx_to_grids

    big = (real_dir / BIG_XLSX).read_bytes()
    assert xlsx_to_grids(big)[0].n_rows == 2 + 11374, "the XLSX path must give the rows it is timed on"
    out = [Comparison("XLSX d08 (11,374 rows) -> grid", best_of(lambda: xlsx_to_grids(big), repeat),
                      "pandas.read_excel", best_of(lambda: pandas_read_excel(big), repeat), 2.0)]
    for name in SMALL_XLS:
        data = (real_dir / name).read_bytes()
        out.append(Comparison(f"XLS {name[:3]} -> grid", best_of(lambda: xls_to_grids(data), repeat * 5),
                              "pandas.read_excel", best_of(lambda: pandas_read_excel(data), repeat * 5), 2.0))
    return out


@dataclass
class DocTiming:
    name: str
    converted: float  # LibreOffice in its sandbox, fresh profile, no cache
    cached: float  # the same file from the convert cache
    read: float  # docx_to_grids + docx_to_blocks on the converted bytes

    def line(self) -> str:
        return (f"DOC {self.name:<25} convert {self.converted * 1000:8.1f} ms   from cache {self.cached * 1000:6.2f} ms"
                f"   read docx {self.read * 1000:6.1f} ms")


def bench_doc(real_dir: Path, repeat: int) -> list[DocTiming]:
    """Cost of one DOC conversion by LibreOffice (sandboxed, fresh profile), from the cache, and reading it."""
    import tempfile

    from pipeline.extract.docx import docx_to_blocks, docx_to_grids
    from pipeline.extract.office import ConvertSettings, convert_office

    out = []
    for name in DOCS:
        data = (real_dir / name).read_bytes()
        fresh = ConvertSettings(cache_dir=None)
        converted = best_of(lambda: convert_office(data, "doc", settings=fresh), repeat)
        with tempfile.TemporaryDirectory() as tmp:
            cache = ConvertSettings(cache_dir=Path(tmp))
            docx = convert_office(data, "doc", settings=cache).data
            cached = best_of(lambda: convert_office(data, "doc", settings=cache), repeat * 10)
        read = best_of(lambda: (docx_to_grids(docx), docx_to_blocks(docx)), repeat * 5)
        out.append(DocTiming(name, converted, cached, read))
    return out


# --- generic tables: HTML page -> records, PDF -> logical tables -------------------------------------------

RECORD_PAGES = ("d01-nfra-zj-penalty-rowspan.html", "d02-nfra-hq-penalty-keyvalue.html")
MATTERS_PDF = "d05-jx-rqsp-matters-list.pdf"  # 24 pages, one logical table of 257 rows


def html_page_to_table_records(data: bytes) -> dict[str, list[dict]]:
    """Our generic HTML path to the generic tables: decode, parse, isolate the article body (hidden elements and
    chrome skipped), grids, tables, their records. The page's metadata is another stage (html_breakdown shows it)."""
    from pipeline.extract.html import html_to_grids, parse_html
    from pipeline.ingest.decode import decode_bytes
    from pipeline.meta.body import find_body
    from pipeline.tables import grid_to_table, table_to_records

    text, _ = decode_bytes(data)
    body, _, skip, _ = find_body(parse_html(text))
    out: dict[str, list[dict]] = {}
    for i, grid in enumerate(html_to_grids(body, skip)):
        table = grid_to_table(grid, 0)
        if table.is_data:
            table.table_no = i + 1
            for name, rows in table_to_records(table, table_id=f"bench:{i + 1}", notice_id="bench", raw_file="bench",
                                               raw_sha256="").items():
                out.setdefault(name, []).extend(rows)
    return out


def bench_html_records(raw_dir: Path, real_dir: Path, repeat: int) -> list[Comparison]:
    """HTML page -> source_tables/table_rows/table_cells vs pandas.read_html, on d01, d02 and the Xiamen page."""
    out = []
    for path in (real_dir / RECORD_PAGES[0], real_dir / RECORD_PAGES[1], raw_dir / HTML_PAGE):
        data = path.read_bytes()
        rows = html_page_to_table_records(data).get("table_rows", [])
        assert rows, f"{path.name}: the HTML path must give the table rows it is timed on"
        out.append(Comparison(f"HTML {path.name[:3] if path.name[0] == 'd' else 'xm'} -> {len(rows)} table_rows",
                              best_of(lambda: html_page_to_table_records(data), repeat), "pandas.read_html",
                              best_of(lambda: pandas_read_html(data), repeat), 2.0))
        out[-1].detail = html_breakdown(path.name[:3] if path.name[0] == "d" else "xm", data, repeat)
    return out


def html_breakdown(name: str, data: bytes, repeat: int) -> str:
    """Where our HTML path spends its time, step by step (best of ``repeat`` each)."""
    from pipeline.extract.html import html_to_grids, parse_html
    from pipeline.ingest.decode import decode_bytes
    from pipeline.meta.body import find_body, html_to_page
    from pipeline.tables import grid_to_table, table_to_records

    text, _ = decode_bytes(data)
    doc = parse_html(text)
    page = html_to_page(doc)
    grids = html_to_grids(page.body, page.skip)

    def tables():
        for i, grid in enumerate(grids):
            t = grid_to_table(grid, 0)
            if t.is_data:
                table_to_records(t, table_id=f"b:{i}", notice_id="b", raw_file="b", raw_sha256="")

    steps = {"decode": lambda: decode_bytes(data), "parse": lambda: parse_html(text), "find body": lambda: find_body(doc),
             "body+meta": lambda: html_to_page(doc), "grids": lambda: html_to_grids(page.body, page.skip),
             "tables+records": tables}
    ms = {k: best_of(fn, repeat) * 1000 for k, fn in steps.items()}
    return (f"  {name} where the time goes (ms): decode {ms['decode']:.1f}, parse {ms['parse']:.1f}, "
            f"find body {ms['find body']:.1f}, metadata {ms['body+meta'] - ms['find body']:.1f}, grids {ms['grids']:.1f}, "
            f"tables+records {ms['tables+records']:.1f}")


def pdf_to_logical_tables(data: bytes) -> list:
    """Our generic PDF path: grids stitched across pages, each read as a logical table."""
    from pipeline.extract.pdf import pdf_to_grids
    from pipeline.tables import grid_to_table

    return [grid_to_table(g, i + 1) for i, g in enumerate(pdf_to_grids(data))]


def bench_pdf_tables(real_dir: Path, repeat: int) -> Comparison:
    data = (real_dir / MATTERS_PDF).read_bytes()
    tables = [t for t in pdf_to_logical_tables(data) if t.is_data]
    assert len(tables) == 1, "d05 is one logical table over 24 pages"
    return Comparison("PDF d05 (24 pages) -> tables", best_of(lambda: pdf_to_logical_tables(data), repeat),
                      "pdfplumber.extract_tables", best_of(lambda: pdfplumber_extract_tables(data), repeat), 1.5)


# --- scaling: refreshes of a synthetic corpus, each in its own process ------------------------------------------

@dataclass
class Run:
    """One refresh in a fresh process: what it did and what it cost (the whole process tree)."""

    notices: int
    scenario: str
    wall: float = 0.0
    cpu: float = 0.0  # user + sys of the process and every worker it forked (they are reaped before it exits)
    peak_tree_mb: float = 0.0  # largest sum of PSS over the process tree, sampled every SAMPLE_S
    max_process_mb: float = 0.0  # largest peak RSS (VmHWM) of any one process of the tree, sampled every SAMPLE_S
    load: float = 0.0  # 1-minute load average when the run started (the machine is shared)
    stall: float | None = None  # share of the wall time some task waited for a CPU (/proc/pressure/cpu)
    summary: dict = field(default_factory=dict)

    @property
    def files_read(self) -> int:
        return self.summary.get("files_seen", 0) - self.summary.get("files_cached", 0)

    def line(self) -> str:
        s = self.summary
        assembled = s.get("notices_assembled")
        return (f"{self.notices:>7} {self.scenario:<18} {self.wall:8.2f} {self.cpu:8.2f} {self.cpu / self.wall:8.2f} "
                f"{self.peak_tree_mb:9.0f} {self.max_process_mb:9.0f} {self.files_read:>6} "
                f"{'all' if assembled is None else assembled:>9} {self.load:5.2f} "
                f"{'  n/a' if self.stall is None else f'{self.stall * 100:4.0f}%'}  {s.get('status')}")


RUN_HEADER = (f"{'notices':>7} {'scenario':<18} {'wall s':>8} {'cpu s':>8} {'cpu/wall':>8} {'tree MB':>9} "
              f"{'proc MB':>9} {'read':>6} {'assembled':>9} {'load':>5} {'stall':>5}  status")
SAMPLE_S = 0.1
SCENARIOS = ("full build (cold)", "no-op", "one notice added", "one notice revised", "review changed",
             "one added, cold gate")


def _proc_mb(pid: int, name: str, field: bytes) -> float | None:
    """A kB field of ``/proc/<pid>/<name>`` in MB; None when /proc does not say."""
    try:
        with open(f"/proc/{pid}/{name}", "rb") as fh:
            for line in fh:
                if line.startswith(field):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _pss_mb(pid: int) -> float:
    """A process's proportional set size (shared pages split among their users) in MB; its RSS if PSS is unknown."""
    if (pss := _proc_mb(pid, "smaps_rollup", b"Pss:")) is not None:
        return pss
    try:
        import psutil

        return psutil.Process(pid).memory_info().rss / 2**20
    except Exception:  # the process ended between listing and reading
        return 0.0


def _cpu_stall_us() -> int | None:
    """Microseconds some task has waited for a CPU since boot (PSI), or None where the kernel does not say."""
    try:
        with open("/proc/pressure/cpu", encoding="ascii") as fh:
            return int(fh.readline().rsplit("total=", 1)[1])
    except (OSError, ValueError, IndexError):
        return None


def _hwm_mb(pid: int) -> float:
    """A process's peak RSS since its exec (VmHWM) in MB; 0 when /proc does not say. getrusage's maxrss is no
    use here: Linux carries it across exec, so a child would report the bench's own size at the fork."""
    return _proc_mb(pid, "status", b"VmHWM:") or 0.0


def _tree_mb(pid: int, also: int | None = None) -> tuple[float, float]:
    """The process tree's memory now (sum of PSS) and the largest peak RSS of any process in it so far; ``also``: a
    process counted with it though not its child (the warm gate a refresh uses but did not start)."""
    import psutil

    try:
        procs = [pid, *(c.pid for c in psutil.Process(pid).children(recursive=True))]
    except psutil.Error:
        return 0.0, 0.0
    if also is not None and also not in procs:
        procs.append(also)
    return sum(_pss_mb(p) for p in procs), max(_hwm_mb(p) for p in procs)


def _cpu_s(pid: int | None) -> float:
    """User + sys seconds a process has used so far (/proc/PID/stat); 0 when it is gone or None."""
    import os

    from pipeline.warehouse.gate_warm import stat_fields

    fields = None if pid is None else stat_fields(pid)
    return 0.0 if fields is None else (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_refresh_process(notices: int, scenario: str, raw: Path, warehouse: Path, staging: Path,
                        reviews: Path) -> Run:
    """Run one refresh in a child process; measure wall, CPU and memory of its whole process tree."""
    import json
    import os
    import subprocess
    import tempfile

    run = Run(notices, scenario, load=os.getloadavg()[0])
    with tempfile.NamedTemporaryFile("r", suffix=".json", delete=False) as fh:
        out = Path(fh.name)
    cmd = [sys.executable, "-m", "pipeline.bench", "--child", str(raw), str(warehouse), str(staging), str(reviews),
           str(out)]
    from pipeline.warehouse.gate_warm import Folder

    gate = Folder(staging)
    server = gate.server_pid()  # a warm gate left by the last refresh: its CPU and memory count for this one
    server_cpu0 = _cpu_s(server)
    stall0, t = _cpu_stall_us(), time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        tree, largest = _tree_mb(proc.pid, server)
        run.peak_tree_mb, run.max_process_mb = max(run.peak_tree_mb, tree), max(run.max_process_mb, largest)
        time.sleep(SAMPLE_S)
    run.wall = time.perf_counter() - t
    if stall0 is not None and (stall1 := _cpu_stall_us()) is not None:
        run.stall = min(1.0, (stall1 - stall0) / 1e6 / run.wall)
    proc.returncode = os.waitstatus_to_exitcode(status)
    log = proc.stdout.read().decode("utf-8", "replace")
    proc.stdout.close()
    run.cpu = usage.ru_utime + usage.ru_stime
    now = gate.server_pid()  # the warm gate this run used or started is not reaped by it: its CPU is added here
    run.cpu += _cpu_s(now) - (server_cpu0 if now == server else 0.0)
    if proc.returncode != 0:
        raise RuntimeError(f"{scenario} at {notices} notices failed (exit {proc.returncode}):\n{log[-4000:]}")
    run.summary = json.loads(out.read_text(encoding="utf-8"))
    out.unlink()
    return run


def child_refresh(raw: Path, warehouse: Path, staging: Path, reviews: Path, out: Path) -> None:
    """The child side: one refresh, its summary written as JSON."""
    import json

    from pipeline.refresh import refresh

    s = refresh(raw, warehouse, staging_dir=staging, reviews_dir=reviews)
    keep = ("status", "files_seen", "files_new", "files_cached", "files_failed", "notices", "notices_new",
            "notices_assembled", "timings", "rows", "gate_worker")
    doc = {k: getattr(s, k) for k in keep}
    doc.update(quarantined=len(s.quarantined), failures=s.failures[:5], no_table=len(s.no_table))
    out.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def load_corpus_module():
    """scripts/make_corpus.py as a module (it is a script, not part of the package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_corpus", ROOT / "scripts" / "make_corpus.py")
    corpus = importlib.util.module_from_spec(spec)
    sys.modules["make_corpus"] = corpus  # dataclasses look their module up while the script loads
    spec.loader.exec_module(corpus)
    return corpus


def add_review_decision(warehouse: Path, reviews: Path) -> str:
    """Decide on one open flag of the published warehouse (accept its suggestion) in a new review file."""
    import csv
    import datetime as dt

    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        flag_id, evidence, suggestion = con.execute(
            "SELECT flag_id, evidence, suggestion FROM dq_flags WHERE review_status = 'open' "
            "ORDER BY suggestion IS NULL, flag_id LIMIT 1").fetchone()
    finally:
        con.close()
    decision = "accept" if suggestion else "reject"
    with open(reviews / "zz-bench.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["flag_id", "decision", "corrected_value", "reviewer", "decided_on", "note", "evidence"])
        w.writerow([flag_id, decision, "", "bench", dt.date.today().isoformat(), "make bench: one review changed",
                    evidence])
    return flag_id


def review_status(warehouse: Path, flag_id: str) -> str:
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute("SELECT review_status FROM dq_flags WHERE flag_id = ?", [flag_id]).fetchone()[0]
    finally:
        con.close()


def bench_scaling(n: int, work: Path, raw_real: Path = RAW_DIR) -> list[Run]:
    """Full build, no-op, one notice added, one revised, one review changed, on a corpus of n notices."""
    import shutil

    from pipeline.config import REVIEWS_DIR
    from pipeline.warehouse.gate_warm import stop_server

    corpus = load_corpus_module()
    root = work / f"n{n}"
    raw, wh, staging, reviews = root / "raw", root / "warehouse" / "policy.duckdb", root / "staging", root / "reviews"
    t = time.perf_counter()
    notices = corpus.make_notices(n, raw_real)
    corpus.write_corpus(notices, raw)
    shutil.copytree(REVIEWS_DIR, reviews)
    files = sum(1 + len(x.attachments) for x in notices)
    print(f"corpus of {n} notices ({files} files) made in {time.perf_counter() - t:.1f} s", flush=True)

    def run(scenario: str) -> Run:
        r = run_refresh_process(n, scenario, raw, wh, staging, reviews)
        print(r.line(), flush=True)
        return r

    runs = [run(SCENARIOS[0])]
    assert runs[0].summary["status"] == "published" and runs[0].summary["notices"] == n, runs[0].summary
    runs.append(run(SCENARIOS[1]))
    assert runs[1].summary["status"] == "unchanged", runs[1].summary
    corpus.write_corpus([corpus.make_notice(n, raw_real)], raw)
    runs.append(run(SCENARIOS[2]))
    assert runs[2].summary["notices"] == n + 1, runs[2].summary
    corpus.write_corpus([corpus.revise(notices[0], raw_real)], raw)
    runs.append(run(SCENARIOS[3]))
    assert runs[3].summary["notices"] == n + 1, runs[3].summary
    flag = add_review_decision(wh, reviews)
    runs.append(run(SCENARIOS[4]))
    status = review_status(wh, flag)
    runs[4].summary["review"] = f"flag {flag} now {status}"
    assert status in ("accepted", "rejected"), f"the review decision on {flag} was not applied ({status})"
    # The runs above find the warm gate the full build left (gate_warm.py); a maintainer whose last refresh was
    # longer ago than POLICY_GATE_KEEP gets this one: GX imported and the suites registered anew.
    stop_server(staging)
    same_kind = next(i for i in range(n + 1, n + 10_000) if corpus.kind_of(i) == corpus.kind_of(n))
    corpus.write_corpus([corpus.make_notice(same_kind, raw_real)], raw)  # a notice of the kind added above
    runs.append(run(SCENARIOS[5]))
    assert runs[5].summary["notices"] == n + 2, runs[5].summary
    stop_server(staging)
    return runs


STAGE_ORDER = ("inventory", "read", "sync", "assemble", "gate (notices)", "publish notices", "corpus",
               "reviews and history", "gate (warehouse)", "finish", "total")


def stage_line(r: Run) -> str:
    t = r.summary.get("timings") or {}
    names = [k for k in STAGE_ORDER if k in t] + [k for k in t if k not in STAGE_ORDER]
    parts = ", ".join(f"{k} {t[k]:.2f}" for k in names)
    return f"  {r.notices:>6} {r.scenario:<18} {parts or '(no stage ran: fingerprint unchanged)'}"


def _verdict(ok: bool) -> str:
    return "ok" if ok else "OVER TARGET"


def ratio_lines(runs: list[Run]) -> list[str]:
    """The ratios the issues target, one line each with its verdict."""
    by = {(r.notices, r.scenario): r for r in runs}
    sizes = sorted({r.notices for r in runs})
    out = []
    for n in sizes:
        full = by[(n, SCENARIOS[0])]
        target = 0.02 if n >= 10000 else 0.05
        for scenario in SCENARIOS[2:4]:
            r = by[(n, scenario)]
            out.append(f"{scenario} / full build at {n}: {r.wall / full.wall * 100:5.1f}% of the wall "
                       f"(target <= {target * 100:g}%) {_verdict(r.wall / full.wall <= target)}; "
                       f"{r.cpu / full.cpu * 100:.1f}% of the CPU; files read {r.files_read}; "
                       f"{r.summary.get('gate_worker')}")
        if (n, SCENARIOS[5]) in by:
            r = by[(n, SCENARIOS[5])]
            out.append(f"{SCENARIOS[5]} / full build at {n}: {r.wall / full.wall * 100:5.1f}% of the wall "
                       f"(the same target, when the last refresh was over POLICY_GATE_KEEP ago) "
                       f"{_verdict(r.wall / full.wall <= target)}; {r.summary.get('gate_worker')}")
        r = by[(n, SCENARIOS[4])]
        ok = r.wall / full.wall <= 0.02 and r.files_read == 0
        out.append(f"review changed / full build at {n}: {r.wall / full.wall * 100:5.1f}% of the wall (target <= 2%), "
                   f"files re-read {r.files_read} (target 0) {_verdict(ok)}; {r.cpu / full.cpu * 100:.1f}% of the CPU; "
                   f"{r.summary.get('review')}")
        noop = by[(n, SCENARIOS[1])]
        out.append(f"no-op / full build at {n}: {noop.wall / full.wall * 100:5.1f}%; files read {noop.files_read}")
        out.append(f"CPU/wall of the full build at {n}: {full.cpu / full.wall:.2f} on {_cores()} cores "
                   f"(target >= 1.6 on 2 cores) {_verdict(full.cpu / full.wall >= 1.6)}")
    if len(sizes) > 1:
        small, big = sizes[0], sizes[-1]
        tree = max(r.peak_tree_mb for r in runs if r.notices == big) / max(r.peak_tree_mb for r in runs if r.notices == small)
        proc = max(r.max_process_mb for r in runs if r.notices == big) / max(r.max_process_mb for r in runs
                                                                              if r.notices == small)
        out.append(f"peak memory at {big} / at {small}: tree {tree:.2f}x, largest process {proc:.2f}x "
                   f"(target <= 1.5x) {_verdict(tree <= 1.5)}")
    return out


def _cores() -> int:
    import os

    return os.cpu_count() or 1


def report_scaling(sizes: list[int], work: Path | None = None) -> list[Run]:
    import os
    import tempfile

    print(f"\nscaling: synthetic corpus (scripts/make_corpus.py); each refresh in a fresh process; {_cores()} cores, "
          f"load average {os.getloadavg()[0]:.2f} at start (a shared machine: other jobs inflate wall times)")
    print(RUN_HEADER, flush=True)
    runs: list[Run] = []
    if work:
        Path(work).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-", dir=work) as tmp:
        for n in sizes:
            runs += bench_scaling(n, Path(tmp))
    print("stage timings, seconds (what the refresh summary carries):")
    for r in runs:
        if r.scenario != SCENARIOS[1]:
            print(stage_line(r))
    print("ratios:")
    for line in ratio_lines(runs):
        print("  " + line)
    return runs


def main(argv: list[str] | None = None) -> list[Comparison]:
    parser = argparse.ArgumentParser(prog="python -m pipeline.bench", description=__doc__)
    parser.add_argument("--raw", type=Path, default=RAW_DIR)
    parser.add_argument("--real", type=Path, default=REAL_DIR, help="folder of the real d01–d14 documents")
    parser.add_argument("--repeat", type=int, default=20, help="repetitions per measurement (best is kept)")
    parser.add_argument("--quick", action="store_true", help="few repetitions and a 20-notice corpus (the test)")
    parser.add_argument("--sizes", default="1000,10000", help="corpus sizes for the scaling runs (comma-separated)")
    parser.add_argument("--only", choices=("peers", "scaling"), help="run one part only")
    parser.add_argument("--work", type=Path, help="folder for the scaling corpora (default: the system temp folder)")
    parser.add_argument("--child", nargs=5, type=Path, metavar=("RAW", "WAREHOUSE", "STAGING", "REVIEWS", "OUT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_refresh(*args.child)
        return []
    repeat = 2 if args.quick else args.repeat
    results: list[Comparison] = []
    if args.only != "scaling":
        results = [bench_html(args.raw, repeat), *bench_html_records(args.raw, args.real, repeat),
                   bench_pdf(args.raw, max(1, repeat // 4)), bench_pdf_tables(args.real, 1 if args.quick else 3),
                   *bench_xlsx(args.real, max(1, repeat // 4))]
        for c in results:
            print(c.line(), flush=True)
            if c.detail:
                print(c.detail, flush=True)
        for d in bench_doc(args.real, 1 if args.quick else 3):
            print(d.line(), flush=True)
    if args.only != "peers":
        report_scaling([20] if args.quick else [int(x) for x in args.sizes.split(",")], args.work)
    return results


if __name__ == "__main__":
    main()
