"""`make bench`: time our stages against the peers named in the issues, in one run, and print ratios.

Each measurement is the best of N repetitions (after a warm-up), so a busy core inflates neither side.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from dataclasses import dataclass
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


@dataclass
class CorpusTiming:
    notices: int
    full: float
    noop: float
    one_added: float
    target: float = 0.05

    def line(self) -> str:
        ratio = self.noop / self.full
        verdict = "ok" if ratio <= self.target else "OVER TARGET"
        return (f"refresh of {self.notices} synthetic notices: full {self.full:7.2f} s   no-op {self.noop:6.3f} s   "
                f"no-op/full {ratio * 100:5.1f}% (target <= {self.target * 100:g}%) {verdict}\n"
                f"{'':28} one notice added (other extractions cached) {self.one_added:7.2f} s")


def bench_corpus(raw_dir: Path, n: int) -> CorpusTiming:
    """Full refresh (extraction on every core) vs no-op refresh of a synthetic corpus made from the real pages."""
    import importlib.util
    import tempfile

    from pipeline.config import ROOT
    from pipeline.refresh import refresh

    spec = importlib.util.spec_from_file_location("make_corpus", ROOT / "scripts" / "make_corpus.py")
    corpus = importlib.util.module_from_spec(spec)
    sys.modules["make_corpus"] = corpus  # dataclasses look their module up while the script loads
    spec.loader.exec_module(corpus)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "raw"
        notices = corpus.make_notices(n + 1, raw_dir)
        corpus.write_corpus(notices[:n], out)
        wh, staging = Path(tmp) / "policy.duckdb", Path(tmp) / "staging"
        t = time.perf_counter()
        summary = refresh(out, wh, staging_dir=staging)
        full = time.perf_counter() - t
        assert summary.status == "published" and summary.notices == n, summary.lines()
        t = time.perf_counter()
        assert refresh(out, wh, staging_dir=staging).status == "unchanged"
        noop = time.perf_counter() - t
        corpus.write_corpus(notices[n:], out)
        t = time.perf_counter()
        added = refresh(out, wh, staging_dir=staging)
        one_added = time.perf_counter() - t
        assert added.files_cached == n and added.notices == n + 1, added.lines()
    return CorpusTiming(n, full, noop, one_added)


def main(argv: list[str] | None = None) -> list[Comparison]:
    parser = argparse.ArgumentParser(prog="python -m pipeline.bench", description=__doc__)
    parser.add_argument("--raw", type=Path, default=RAW_DIR)
    parser.add_argument("--real", type=Path, default=REAL_DIR, help="folder of the real d08–d14 documents")
    parser.add_argument("--repeat", type=int, default=20, help="repetitions per measurement (best is kept)")
    parser.add_argument("--quick", action="store_true", help="few repetitions (for the test that runs make bench)")
    parser.add_argument("--corpus", type=int, default=1000, help="synthetic notices for full vs no-op refresh")
    args = parser.parse_args(argv)
    repeat = 2 if args.quick else args.repeat
    results = [bench_html(args.raw, repeat), bench_pdf(args.raw, max(1, repeat // 4)),
               *bench_xlsx(args.real, max(1, repeat // 4))]
    for c in results:
        print(c.line(), flush=True)
    for d in bench_doc(args.real, 1 if args.quick else 3):
        print(d.line(), flush=True)
    print(bench_corpus(args.raw, 20 if args.quick else args.corpus).line())
    return results


if __name__ == "__main__":
    main()
