"""The synthetic benchmark corpus (scripts/make_corpus.py): distinct notices derived from the real pages."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import make_corpus  # noqa: E402

from pipeline.ingest.decode import decode_bytes  # noqa: E402
from pipeline.extract.html import html_to_grids, parse_html  # noqa: E402

RAW = ROOT / "raw"


def grid_of(data: bytes):
    text, _ = decode_bytes(data)
    return html_to_grids(parse_html(text))[0]


def test_notices_are_distinct_and_each_varies_one_row_of_the_real_table():
    notices = make_corpus.make_notices(6)
    assert [n.notice_id for n in notices] == [
        "厦民〔2025〕1000号", "厦府办〔2009〕1001号", "厦民〔2025〕1002号",
        "厦府办〔2009〕1003号", "厦民〔2025〕1004号", "厦府办〔2009〕1005号"]
    assert len({hashlib.sha256(n.data).hexdigest() for n in notices}) == 6
    real = grid_of((RAW / "xm-mzj-2025-095.html").read_bytes())
    varied_rows = []
    for n in notices[0::2]:
        grid = grid_of(n.data)
        assert (grid.n_rows, grid.n_cols) == (real.n_rows, real.n_cols)
        diffs = [(r, c) for r in range(grid.n_rows) for c in range(grid.n_cols) if grid.value(r, c) != real.value(r, c)]
        assert len(diffs) == 1 and diffs[0][1] == 4  # one 服务内容 cell
        r = diffs[0][0]
        assert grid.value(r, 4) == real.value(r, 4) + f"(第{n.notice_id[8:-1]}批试点)"
        varied_rows.append(r)
        assert n.notice_id.encode("utf-8") in n.data and b"\xe5\x8e\xa6\xe6\xb0\x91\xe3\x80\x942025\xe3\x80\x9595\xe5\x8f\xb7" not in n.data
    assert len(set(varied_rows)) == 3


def test_gbk_notices_stay_gbk_with_their_own_number_and_one_changed_target():
    real = (RAW / "xm-gov-2009-254.html").read_bytes().decode("gbk")
    for n in make_corpus.make_notices(4)[1::2]:
        text = n.data.decode("gbk")  # still plain GBK bytes, as the site serves them
        assert text.count(n.notice_id) == 2 and "254号" not in text
        changed = [(a, b) for a, b in zip(real.replace("厦府办〔2009〕254号", n.notice_id).split("%"), text.split("%")) if a != b]
        assert len(changed) == 1


def test_corpus_folder_has_sidecars_that_match_the_bytes(tmp_path):
    assert make_corpus.main([str(tmp_path / "raw"), "--n", "4"]) == 0
    files = sorted(p for p in (tmp_path / "raw").iterdir() if p.is_file())
    assert len(files) == 4 and all(p.name.startswith("corpus-invalid--t20") for p in files)
    for p in files:
        sidecar = json.loads((tmp_path / "raw" / "provenance" / f"{p.name}.json").read_text(encoding="utf-8"))
        assert sidecar["sha256"] == hashlib.sha256(p.read_bytes()).hexdigest()
        assert sidecar["role"] == "page" and sidecar["source_url"].startswith("https://corpus.invalid/xxgktzgg/")
        assert "(not published)" in sidecar["note"]


def test_site_mode_writes_a_listing_linking_every_page(tmp_path):
    listing = make_corpus.write_site(make_corpus.make_notices(3), tmp_path)
    assert listing == tmp_path / "xxgktzgg" / "index.htm"
    html = listing.read_text(encoding="utf-8")
    for href in ("./202507/t20250718_1000.htm", "./200910/t20091017_1001.htm", "./202507/t20250718_1002.htm"):
        assert f'href="{href}"' in html and (listing.parent / href).is_file()
    # The 2025 pages' attachment links resolve to the real attachment's bytes.
    pdfs = sorted((tmp_path / "xxgktzgg" / "202507").glob("*.pdf"))
    assert [p.name for p in pdfs] == ["P020250718560300001000.pdf", "P020250718560300001002.pdf"]
    assert {p.read_bytes() for p in pdfs} == {(RAW / "xm-mzj-2025-095-list.pdf").read_bytes()}
    assert b'href="./P020250718560300001000.pdf"' in (listing.parent / "202507/t20250718_1000.htm").read_bytes()
