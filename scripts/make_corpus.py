"""Make a synthetic corpus of N notices from the real raw HTML pages, for benchmarks.

Each notice is a real page (alternately the 2025 service list, UTF-8, and the 2009 task notice, GBK)
with its own 文号 and 索引号 and one slightly varied row, so every notice is distinct bytes with a
distinct notice id. The corpus is NOT published text: sidecars say so, and the URLs are on
corpus.invalid unless --base-url says otherwise.

    python scripts/make_corpus.py OUT_DIR [--n 1000]          # raw-like folder with provenance sidecars
    python scripts/make_corpus.py OUT_DIR --site [--n 1000]   # a static site (listing + pages) to serve
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.config import RAW_DIR  # noqa: E402
from pipeline.fetch.names import raw_name, sha256_hex  # noqa: E402
from pipeline.fetch.store import store_raw, store_sidecar  # noqa: E402

DEFAULT_BASE = "https://corpus.invalid"
LISTING_PATH = "/xxgktzgg/"
# The 服务内容 (service content) cells of the 2025 table: Word gave that column width=230.
_CONTENT_CELL = re.compile(r"<td width=230 [^>]*>(?:<[^>]+>)*?<span[^>]*>([^<]+)</span>")
_PERCENT = re.compile(r"(\d+)%")
_ATTACHMENT = re.compile(r'href="\./(P0\d+\.pdf)"')
ATTACHMENT_FILE = "xm-mzj-2025-095-list.pdf"  # the real attachment, served for every synthetic link


@dataclass(frozen=True)
class Synthetic:
    """One synthetic notice: where it would live, its id, its bytes and the real page it came from."""

    path: str  # URL path, e.g. /xxgktzgg/202507/t20250718_1000.htm
    notice_id: str
    data: bytes
    template: str
    attachment: str | None = None  # URL path of the attachment the page links (served by --site)


def vary_2025(text: str, i: int) -> tuple[str, str, str]:
    """Give the 2025 page its own 文号/索引号/attachment and extend one row's 服务内容 cell."""
    number = 1000 + i
    notice_id = f"厦民〔2025〕{number}号"
    text = text.replace("厦民〔2025〕95号", notice_id)
    text = text.replace("XM00110-02-02-2025-032", f"XM00110-02-02-2025-{number}")
    text = text.replace("P020250718560315474123.pdf", f"P0202507185603{number:08d}.pdf")
    cells = [m for m in _CONTENT_CELL.finditer(text) if m.group(1) != "服务内容"]
    cell = cells[i % len(cells)]  # a different row for neighbouring notices
    text = text[: cell.end(1)] + f"(第{number}批试点)" + text[cell.end(1):]
    return text, notice_id, f"{LISTING_PATH}202507/t20250718_{number}.htm"


def vary_2009(text: str, i: int) -> tuple[str, str, str]:
    """Give the 2009 page its own 文号 and change one quantitative target."""
    number = 1000 + i
    notice_id = f"厦府办〔2009〕{number}号"
    text = text.replace("厦府办〔2009〕254号", notice_id)
    targets = list(_PERCENT.finditer(text))
    target = targets[i % len(targets)]
    value = max(1, int(target.group(1)) - 1 - (i // len(targets)) % 50)  # always a different, smaller target
    text = text[: target.start(1)] + str(value) + text[target.end(1):]
    return text, notice_id, f"{LISTING_PATH}200910/t20091017_{number}.htm"


TEMPLATES: list[tuple[str, str, Callable[[str, int], tuple[str, str, str]]]] = [
    ("xm-mzj-2025-095.html", "utf-8", vary_2025),
    ("xm-gov-2009-254.html", "gb18030", vary_2009),  # GBK bytes; gb18030 is its superset, byte-identical here
]


def make_notices(n: int, raw_dir: Path = RAW_DIR) -> list[Synthetic]:
    """Derive n distinct notices from the real raw pages, alternating templates."""
    texts = {}
    for name, codec, _ in TEMPLATES:
        data = (raw_dir / name).read_bytes()
        text = data.decode(codec)
        assert text.encode(codec) == data, f"{name} does not round-trip through {codec}"
        texts[name] = text
    notices = []
    for i in range(n):
        name, codec, vary = TEMPLATES[i % len(TEMPLATES)]
        text, notice_id, path = vary(texts[name], i)
        attachment = _ATTACHMENT.search(text)
        attachment_path = path.rsplit("/", 1)[0] + "/" + attachment.group(1) if attachment else None
        notices.append(Synthetic(path, notice_id, text.encode(codec), name, attachment_path))
    return notices


def write_corpus(notices: list[Synthetic], out_dir: Path, *, base_url: str = DEFAULT_BASE,
                 retrieved_on: str | None = None) -> list[str]:
    """Write notices as raw files with provenance sidecars into out_dir; return the file names."""
    out_dir.mkdir(parents=True, exist_ok=True)
    host = base_url.split("://", 1)[1].split("/", 1)[0]
    names = []
    for notice in notices:
        sha = sha256_hex(notice.data)
        stem = notice.path.rsplit("/", 1)[1].rsplit(".", 1)[0]
        name = raw_name(host, stem, sha, "html")
        store_raw(out_dir, name, notice.data)
        store_sidecar(out_dir, name, {
            "file": name, "sha256": sha, "notice_id": notice.notice_id, "role": "page",
            "source_url": base_url + notice.path, "retrieved_on": retrieved_on or date.today().isoformat(),
            "note": f"synthetic notice made by scripts/make_corpus.py from raw/{notice.template} (not published)",
        })
        names.append(name)
    return names


def write_site(notices: list[Synthetic], site_dir: Path, raw_dir: Path = RAW_DIR) -> Path:
    """Write a static site: robots.txt, a listing page linking every notice, the pages and attachments."""
    first_attachment: Path | None = None
    for notice in notices:
        path = site_dir / notice.path.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(notice.data)
        if notice.attachment:
            target = site_dir / notice.attachment.lstrip("/")
            if first_attachment is None:
                target.write_bytes((raw_dir / ATTACHMENT_FILE).read_bytes())
                first_attachment = target
            else:
                os.link(first_attachment, target)  # same bytes: one copy on disk
    items = "\n".join(f'<li><a href=".{n.path[len(LISTING_PATH) - 1:]}">{n.notice_id}</a></li>' for n in notices)
    listing = site_dir / LISTING_PATH.strip("/") / "index.htm"
    listing.write_text(f'<html><head><meta charset="utf-8"><title>通知公告</title></head><body><ul>\n{items}\n'
                       "</ul></body></html>\n", encoding="utf-8")
    (site_dir / "robots.txt").write_text("User-agent: *\nDisallow:\n", encoding="utf-8")
    return listing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to write into")
    parser.add_argument("--n", type=int, default=1000, help="number of notices (default 1000)")
    parser.add_argument("--site", action="store_true", help="write a static site to serve instead of raw files")
    parser.add_argument("--base-url", default=DEFAULT_BASE, help="URL prefix recorded as source_url")
    parser.add_argument("--raw", type=Path, default=RAW_DIR, help="folder with the real raw pages")
    args = parser.parse_args(argv)
    notices = make_notices(args.n, args.raw)
    if args.site:
        print(f"wrote {len(notices)} notices and listing {write_site(notices, args.out, args.raw)}")
    else:
        print(f"wrote {len(write_corpus(notices, args.out, base_url=args.base_url))} notices to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
