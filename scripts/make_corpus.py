"""Make a synthetic corpus of N notices from real files, in realistic proportions of every format and table kind.

Every notice has its own 文号 and is distinct bytes; so is every attachment. Per 100 notices (in an interleaved
order whose first 20 notices already hold every kind):

    37  service-list page    the real 2025 page (UTF-8, Word-exported 52-row service table), its own 文号/索引号,
                             one 服务内容 cell extended; every 6th also has the real list PDF as attachment (its
                             trailer /ID varied: distinct bytes, same content) and every 12th the real list DOCX
                             (the same cell as its page extended: the formats agree)
    24  task-text page       the real 2009 page (GBK, tasks as paragraphs), its own 文号, one target changed
    12  task-table page      the 2009 tasks as a 序号/工作任务/牵头单位/协办单位 table with section rows, in the
                             2025 page's chrome (UTF-8), its own 文号, one target changed
    14  fee-table page       序号/收费项目/计费单位/收费标准（元）/备注 table (no profile: lands in the generic layer)
                             in the 2025 chrome, its own 文号, one fee changed
    12  name-list notice     a short announcement page (2025 chrome, no table) + an XLSX attachment: a title row,
                             the header and 30–240 rows of the real d08 workbook (one of 8 templates written once
                             with openpyxl; per notice the title cell is rewritten in the zip)
     1  budget notice        a short announcement page + the real d07 budget PDF (9 tables; trailer /ID varied)

Pages carry their 文号 as provenance ``notice_id`` (as the fetcher records a register's); attachments carry
``parent_url`` (their page's URL) and no notice id, so the refresh keys them by their page. ``revise(notice)``
gives the same notice (文号, URL) as new bytes with a later PubDate and another varied row.

The corpus is NOT published text: sidecars say so, and the URLs are on corpus.invalid unless --base-url says
otherwise. Generation reuses bytes and does string and zip edits only: 10,000 notices (12,226 files) in about
13 s with the writes.

    python scripts/make_corpus.py OUT_DIR [--n 1000]          # raw-like folder with provenance sidecars
    python scripts/make_corpus.py OUT_DIR --site [--n 1000]   # a static site (listing + pages + attachments) to serve
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import io
import json
import re
import sys
import zipfile
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.config import RAW_DIR, ROOT  # noqa: E402
from pipeline.fetch.names import raw_name, sha256_hex  # noqa: E402
from pipeline.fetch.store import SIDECAR_KEYS  # noqa: E402

DEFAULT_BASE = "https://corpus.invalid"
LISTING_PATH = "/xxgktzgg/"
REAL_DIR = ROOT / "tests" / "fixtures" / "real"
PAGE_2025 = "xm-mzj-2025-095.html"
PAGE_2009 = "xm-gov-2009-254.html"
ATTACHMENT_FILE = "xm-mzj-2025-095-list.pdf"  # the real attachment of the 2025 page
LIST_DOCX = "xm-mzj-2025-095-list.docx"
XLSX_REAL = "d08-sx-sydw-signup-2025.xlsx"
BUDGET_PDF = "d07-sh-putuo-budget-2025.pdf"
# The 服务内容 (service content) cells of the 2025 table: Word gave that column width=230.
_CONTENT_CELL = re.compile(r"<td width=230 [^>]*>(?:<[^>]+>)*?<span[^>]*>([^<]+)</span>")
_PERCENT = re.compile(r"(\d+)%")
_PDF_ID = re.compile(rb"/ID ?\[ ?<([0-9A-Fa-f]{32})>")
# Kinds per 100 notices (see the module docstring).
MIX = {"service_list": 37, "task_text": 24, "task_table": 12, "fee_table": 14, "name_list": 12, "budget": 1}
PDF_EVERY, DOCX_EVERY = 6, 12  # service-list notices with the list PDF / the list DOCX as attachment
XLSX_ROWS = (30, 45, 60, 90, 120, 180, 240, 40)  # data rows of the 8 name-list templates


@dataclass(frozen=True)
class Attachment:
    """A file a notice's page links: its URL path, bytes and the real file it came from."""

    path: str
    data: bytes
    template: str

    @property
    def ext(self) -> str:
        return self.path.rsplit(".", 1)[1]


@dataclass(frozen=True)
class Synthetic:
    """One synthetic notice: where its page would live, its id, the page bytes, its attachments."""

    path: str  # URL path, e.g. /xxgktzgg/202507/t20250718_1000.htm
    notice_id: str
    data: bytes
    template: str  # the real file the page came from
    kind: str = "service_list"
    attachments: tuple[Attachment, ...] = ()
    index: int = 0  # position in the corpus (what the variations are derived from)
    revision: int = 0

    @property
    def attachment(self) -> str | None:
        """URL path of the first attachment (None: the page links none)."""
        return self.attachments[0].path if self.attachments else None


# --- the real material, read once --------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _read(path: Path) -> bytes:
    return path.read_bytes()


def _text(raw_dir: Path, name: str, codec: str) -> str:
    data = _read(raw_dir / name)
    text = data.decode(codec)
    assert text.encode(codec) == data, f"{name} does not round-trip through {codec}"
    return text


@lru_cache(maxsize=None)
def _cells_2025(text: str) -> tuple[int, ...]:
    """Where each 服务内容 data cell's text ends (the header cell excluded)."""
    return tuple(m.end(1) for m in _CONTENT_CELL.finditer(text) if m.group(1) != "服务内容")


@lru_cache(maxsize=None)
def _chrome(raw_dir: Path) -> tuple[str, str]:
    """The 2025 page split around its article body: (head up to the body's div, tail from the body's end)."""
    text = _text(raw_dir, PAGE_2025, "utf-8")
    start = text.index('<div class="TRS_Editor" id="Zoom">') + len('<div class="TRS_Editor" id="Zoom">')
    end = text.index('<p class="xxgk_fj">')
    tail = text[end:]
    tail = tail[tail.index("</p>") + len("</p>"):]
    return text[:start], tail


def chrome_page(raw_dir: Path, *, title: str, issuer: str, pub_date: str, index_no: str, doc_no: str,
                written_on: str, body: str) -> str:
    """The 2025 page's chrome around another article body, with this notice's metadata where it prints its own."""
    head, tail = _chrome(raw_dir)
    old_title = "关于印发《厦门市服务类社会救助清单(试行)》的通知"
    head = (head.replace(old_title, html.escape(title, quote=True)).replace("2025-07-18 16:02", pub_date)
            .replace("厦门市民政局", issuer).replace("XM00110-02-02-2025-032", index_no)
            .replace("厦民〔2025〕95号", doc_no).replace("2025-07-01", written_on))
    return head + "\n" + body + "\n" + tail


def _links(attachments: list[tuple[str, str]]) -> str:
    """The page's 附件 paragraph: one link per attachment (file name, link text)."""
    if not attachments:
        return ""
    return '<p class="xxgk_fj">附件:' + "".join(f'<a href="./{n}">{html.escape(t)}</a>' for n, t in attachments) + "</p>"


def _with_links(text: str, attachments: list[tuple[str, str]]) -> str:
    """Replace the 2025 page's 附件 paragraph by links to exactly this notice's attachments."""
    start = text.index('<p class="xxgk_fj">')
    end = text.index("</p>", start) + len("</p>")
    return text[:start] + _links(attachments) + text[end:]


def _date(base: str, days: int) -> str:
    return (dt.date.fromisoformat(base) + dt.timedelta(days=days)).isoformat()


# --- one maker per kind: (raw_dir, i, revision) -> Synthetic ------------------------------------------------

def _variation(i: int, revision: int) -> str:
    number = 1000 + i
    return f"(第{number}批试点)" if not revision else f"(第{number}批试点，第{revision}次修订)"


def vary_2025(text: str, i: int, revision: int = 0) -> tuple[str, str, str]:
    """Give the 2025 page its own 文号/索引号/attachment and extend one row's 服务内容 cell."""
    number = 1000 + i
    notice_id = f"厦民〔2025〕{number}号"
    at = _varied_cell(text, i, revision)
    text = text[:at] + _variation(i, revision) + text[at:]
    text = text.replace("厦民〔2025〕95号", notice_id)
    text = text.replace("XM00110-02-02-2025-032", f"XM00110-02-02-2025-{number}")
    text = text.replace("P020250718560315474123.pdf", f"P0202507185603{number:08d}.pdf")
    if revision:
        text = text.replace("2025-07-18 16:02", f"{_date('2025-07-18', revision)} 16:02")
    return text, notice_id, f"{LISTING_PATH}202507/t20250718_{number}.htm"


def _varied_cell(text: str, i: int, revision: int) -> int:
    """Where the varied 服务内容 cell's text ends: another row for neighbouring notices and for a revision."""
    cells = _cells_2025(text)
    return cells[(i + revision * 7) % len(cells)]


def _cell_text(text: str, end: int) -> str:
    return text[text.rindex(">", 0, end) + 1:end]


def _pdf_with_id(data: bytes, number: int) -> bytes:
    """The same PDF with another trailer /ID (same length, so the xref offsets hold): distinct bytes, same content."""
    m = _PDF_ID.search(data)
    new = f"{number:032X}".encode("ascii")
    return data[:m.start(1)] + new + data[m.end(1):]


def _docx_with_text(data: bytes, old: str, new: str, occurrence: int) -> bytes:
    """The same DOCX with the ``occurrence``-th run holding exactly ``old`` changed to ``new`` (in word/document.xml;
    every other part copied)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "word/document.xml":
                xml, run = body.decode("utf-8"), f"<w:t>{old}</w:t>"
                at = -1
                for _ in range(occurrence + 1):
                    at = xml.index(run, at + 1)
                body = (xml[:at] + f"<w:t>{new}</w:t>" + xml[at + len(run):]).encode("utf-8")
            dst.writestr(info, body)
    return out.getvalue()


def make_service_list(raw_dir: Path, i: int, revision: int = 0) -> Synthetic:
    real = _text(raw_dir, PAGE_2025, "utf-8")
    text, notice_id, path = vary_2025(real, i, revision)
    number, seq = 1000 + i, _seq_in_kind(i)
    pdf_name, docx_name = f"P0202507185603{number:08d}.pdf", f"P0202507185604{number:08d}.docx"
    folder = path.rsplit("/", 1)[0] + "/"
    attachments, links = [], []
    if seq % PDF_EVERY == 0:
        pdf = _pdf_with_id(_read(raw_dir / ATTACHMENT_FILE), number)
        attachments.append(Attachment(folder + pdf_name, pdf, ATTACHMENT_FILE))
        links.append((pdf_name, "厦门市服务类社会救助清单(试行).pdf"))
    if seq % DOCX_EVERY == 1:
        at = _varied_cell(real, i, revision)
        cell = _cell_text(real, at)  # the cell the page extends; the DOCX lists the rows in the same order
        same = sum(_cell_text(real, c) == cell for c in _cells_2025(real) if c < at)
        docx = _docx_with_text(_read(raw_dir / LIST_DOCX), cell, cell + _variation(i, revision), same)
        attachments.append(Attachment(folder + docx_name, docx, LIST_DOCX))
        links.append((docx_name, "厦门市服务类社会救助清单(试行).docx"))
    return Synthetic(path, notice_id, _with_links(text, links).encode("utf-8"), PAGE_2025, "service_list",
                     tuple(attachments), i, revision)


def vary_2009(text: str, i: int, revision: int = 0) -> tuple[str, str, str]:
    """Give the 2009 page its own 文号 and change one quantitative target."""
    number = 1000 + i
    notice_id = f"厦府办〔2009〕{number}号"
    text = text.replace("厦府办〔2009〕254号", notice_id)
    targets = list(_PERCENT.finditer(text))
    target = targets[(i + revision) % len(targets)]
    value = max(1, int(target.group(1)) - 1 - (i // len(targets)) % 50)  # always a different, smaller target
    text = text[: target.start(1)] + str(value) + text[target.end(1):]
    if revision:
        later = _date("2009-10-17", revision)
        assert text.count("【发布日期】</td><td>2009-10-17") == 1
        text = text.replace("【发布日期】</td><td>2009-10-17", f"【发布日期】</td><td>{later}")
    return text, notice_id, f"{LISTING_PATH}200910/t20091017_{number}.htm"


def make_task_text(raw_dir: Path, i: int, revision: int = 0) -> Synthetic:
    text, notice_id, path = vary_2009(_text(raw_dir, PAGE_2009, "gb18030"), i, revision)
    return Synthetic(path, notice_id, text.encode("gb18030"), PAGE_2009, "task_text", (), i, revision)


_SECTION = re.compile(r"^(?:[一二三四五六七八九十]+、|（[一二三四五六七八九十]+）)")
_NUMBERED = re.compile(r"^(\d+)\.")


@lru_cache(maxsize=None)
def _tasks_2009(raw_dir: Path) -> tuple[tuple[str, ...], ...]:
    """The 2009 page's task list as table rows: (section,) or (no, task, lead, co), in published order."""
    text = _text(raw_dir, PAGE_2009, "gb18030")
    body = text[text.index("<p>厦门市推进居家养老服务工作任务分解方案</p>"):]
    paras = [html.unescape(re.sub(r"<[^>]+>", "", p)).strip() for p in re.findall(r"<p[^>]*>(.*?)</p>", body, re.S)][1:]
    rows: list[list[str]] = []
    task: list[str] | None = None
    for p in paras:
        if not p:
            continue
        if p.startswith("牵头单位：") and task is not None:
            task[2] = p[len("牵头单位："):]
        elif p.startswith("协办单位：") and task is not None:
            task[3] = p[len("协办单位："):]
        elif _SECTION.match(p):
            rows.append([p])
            task = None
        elif (m := _NUMBERED.match(p)) or task is None or task[2]:
            task = [m.group(1) if m else "", p[m.end():] if m else p, "", ""]
            rows.append(task)
        else:
            task[1] += p  # a task paragraph broken over two <p>: CJK lines join without a space
    return tuple(tuple(r) for r in rows)


def make_task_table(raw_dir: Path, i: int, revision: int = 0) -> Synthetic:
    number = 1000 + i
    notice_id = f"厦府办〔2010〕{number}号"
    rows = [list(r) for r in _tasks_2009(raw_dir)]
    targets = [(r, m) for r, row in enumerate(rows) if len(row) == 4 for m in _PERCENT.finditer(row[1])]
    r, m = targets[(i + revision) % len(targets)]
    value = max(1, int(m.group(1)) - 1 - (i // len(targets)) % 50)
    rows[r][1] = rows[r][1][:m.start(1)] + str(value) + rows[r][1][m.end(1):]
    cell = "<td style='border:solid windowtext 1.0pt'><p class=MsoNormal><span>{}</span></p></td>"
    trs = ["<tr><td colspan=4><p class=MsoNormal align=center><b><span>厦门市推进居家养老服务工作任务分解表</span></b></p></td></tr>",
           "<tr>" + "".join(cell.format(h) for h in ("序号", "工作任务", "牵头单位", "协办单位")) + "</tr>"]
    for row in rows:
        if len(row) == 1:
            trs.append(f"<tr><td colspan=4 style='border:solid windowtext 1.0pt'><p class=MsoNormal><b><span>"
                       f"{html.escape(row[0])}</span></b></p></td></tr>")
        else:
            trs.append("<tr>" + "".join(cell.format(html.escape(v)) for v in row) + "</tr>")
    title = "厦门市人民政府办公厅关于印发推进居家养老服务工作任务分解表的通知"
    body = (f"<p class=MsoNormal><span>各区人民政府，市直各委、办、局：</span></p>\n"
            f"<p class=MsoNormal><span>现将《厦门市推进居家养老服务工作任务分解表》（第{number}号）印发给你们，请按照各自职责，"
            f"认真贯彻落实。</span></p>\n<p class=MsoNormal style='text-align:right'><span>厦门市人民政府办公厅</span></p>\n"
            "<table class=MsoNormalTable border=1 cellspacing=0 cellpadding=0>\n" + "\n".join(trs) + "\n</table>")
    pub = _date("2010-03-02", revision)
    page = chrome_page(raw_dir, title=title, issuer="厦门市人民政府办公厅", pub_date=f"{pub} 10:00",
                       index_no=f"XM00101-02-02-2010-{number}", doc_no=notice_id, written_on="2010-02-26", body=body)
    return Synthetic(f"{LISTING_PATH}201003/t20100302_{number}.htm", notice_id, page.encode("utf-8"), PAGE_2009,
                     "task_table", (), i, revision)


# 殡葬、停车、检测 fees as price bureaus publish them: 收费项目, 计费单位, 收费标准（元）, 备注.
FEES = (
    ("遗体接运", "元/具·次", "300", "市区范围内"), ("遗体冷藏", "元/具·天", "120", ""),
    ("遗体火化", "元/具", "500", "含骨灰装殓"), ("告别厅租用", "元/场", "800—1200", "按厅面积分档"),
    ("骨灰寄存", "元/格·年", "150", ""), ("机动车停放（白天）", "元/辆·小时", "5", "首小时免费"),
    ("机动车停放（夜间）", "元/辆·夜", "10", "20:00至次日8:00"), ("机动车安全技术检验", "元/辆·次", "120", "小型汽车"),
    ("机动车尾气检测", "元/辆·次", "80", ""), ("不动产登记（住宅）", "元/件", "80", "含第一本证书工本费"),
)


def make_fee_table(raw_dir: Path, i: int, revision: int = 0) -> Synthetic:
    number = 1000 + i
    notice_id = f"厦发改价格〔2025〕{number}号"
    k = (i + revision) % len(FEES)
    rows = [list(f) for f in FEES]
    rows[k][2] = str(int(rows[k][2].split("—")[0]) + 1 + i % 97)  # one fee differs per notice
    cell = "<td style='border:solid windowtext 1.0pt'><p class=MsoNormal><span>{}</span></p></td>"
    trs = ["<tr><td colspan=5><p class=MsoNormal align=center><b><span>收费标准表</span></b></p></td></tr>",
           "<tr>" + "".join(cell.format(h) for h in ("序号", "收费项目", "计费单位", "收费标准（元）", "备注")) + "</tr>"]
    trs += ["<tr>" + "".join(cell.format(html.escape(v)) for v in (str(n), *row)) + "</tr>" for n, row in enumerate(rows, 1)]
    trs.append("<tr><td colspan=5><p class=MsoNormal><span>注：以上收费标准为最高限价，经营者可下浮。</span></p></td></tr>")
    title = f"厦门市发展和改革委员会关于公布第{number}批服务收费标准的通知"
    body = ("<p class=MsoNormal><span>各有关单位：</span></p>\n<p class=MsoNormal><span>根据《福建省定价目录》，现将有关服务"
            "收费标准公布如下，自公布之日起执行。</span></p>\n<table class=MsoNormalTable border=1 cellspacing=0 cellpadding=0>\n"
            + "\n".join(trs) + "\n</table>\n<p class=MsoNormal style='text-align:right'><span>厦门市发展和改革委员会</span></p>")
    pub = _date("2025-03-12", revision)
    page = chrome_page(raw_dir, title=title, issuer="厦门市发展和改革委员会", pub_date=f"{pub} 09:30",
                       index_no=f"XM00105-02-02-2025-{number}", doc_no=notice_id, written_on="2025-03-10", body=body)
    return Synthetic(f"{LISTING_PATH}202503/t20250312_{number}.htm", notice_id, page.encode("utf-8"),
                     PAGE_2025, "fee_table", (), i, revision)


_TITLE_CELL = re.compile(rb'(<c r="A1" t="inlineStr"><is><t[^>]*>)(.*?)(</t>)', re.S)


@lru_cache(maxsize=None)
def _xlsx_templates(real_dir: Path) -> tuple[tuple[dict[str, bytes], str], ...]:
    """Write the name-list workbooks once (openpyxl): the d08 title row (merged across the table), its header and
    a slice of its rows each. Returns each template's zip members (name -> bytes) and d08's title text."""
    import openpyxl

    src = openpyxl.load_workbook(io.BytesIO(_read(real_dir / XLSX_REAL)), read_only=True)
    rows = []
    for r in src.worksheets[0].iter_rows(values_only=True):
        rows.append(r)
        if len(rows) >= 2 + sum(XLSX_ROWS):
            break
    src.close()
    title, header, data = rows[0][0], rows[1], rows[2:]
    out, start = [], 0
    for size in XLSX_ROWS:
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "Sheet1"
        ws.append([title])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
        ws.append(list(header))
        for row in data[start:start + size]:
            ws.append(list(row))
        start += size
        buf = io.BytesIO()
        wb.save(buf)
        with zipfile.ZipFile(buf) as z:
            members = {name: z.read(name) for name in z.namelist()}
        assert _TITLE_CELL.search(members["xl/worksheets/sheet1.xml"]), "openpyxl no longer writes A1 inline"
        out.append((members, title))
    return tuple(out)


def _xlsx_with_title(members: dict[str, bytes], title: str) -> bytes:
    """The template workbook with another title in A1 (sheet1.xml rewritten, every other part as written)."""
    text = html.escape(title, quote=False).encode("utf-8")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in members.items():
            if name == "xl/worksheets/sheet1.xml":
                body = _TITLE_CELL.sub(lambda m: m.group(1) + text + m.group(3), body, count=1)
            z.writestr(name, body)
    return out.getvalue()


def _notice_page(raw_dir: Path, *, title: str, issuer: str, pub: str, number: int, doc_no: str, lead: str,
                 links: list[tuple[str, str]]) -> str:
    body = (f"<p class=MsoNormal><span>{html.escape(lead)}</span></p>\n"
            f"<p class=MsoNormal style='text-align:right'><span>{html.escape(issuer)}</span></p>\n" + _links(links))
    return chrome_page(raw_dir, title=title, issuer=issuer, pub_date=pub, index_no=f"XM00120-02-02-2025-{number}",
                       doc_no=doc_no, written_on=pub[:10], body=body)


def make_name_list(raw_dir: Path, i: int, revision: int = 0, real_dir: Path = REAL_DIR) -> Synthetic:
    number = 1000 + i
    notice_id = f"厦人社〔2025〕{number}号"
    templates = _xlsx_templates(real_dir)
    members, real_title = templates[_seq_in_kind(i) % len(templates)]
    sheet_title = real_title.replace("笔试各岗位报名情况", f"笔试各岗位报名情况（第{number}批）", 1)
    name = f"P0202502236000{number:08d}.xlsx"
    folder = f"{LISTING_PATH}202502/"
    title = f"关于公布2025年事业单位公开招聘笔试报名情况（第{number}批）的通知"
    lead = (f"根据事业单位公开招聘工作安排，现将笔试各岗位报名情况（第{number}批）公布如下，请报考人员及时查询。"
            + ("（已更新）" if revision else ""))
    page = _notice_page(raw_dir, title=title, issuer="厦门市人力资源和社会保障局",
                        pub=f"{_date('2025-02-23', revision)} 16:30", number=number, doc_no=notice_id, lead=lead,
                        links=[(name, "笔试各岗位报名情况.xlsx")])
    xlsx = _xlsx_with_title(members, sheet_title)
    return Synthetic(f"{folder}t20250223_{number}.htm", notice_id, page.encode("utf-8"), PAGE_2025, "name_list",
                     (Attachment(folder + name, xlsx, XLSX_REAL),), i, revision)


def make_budget(raw_dir: Path, i: int, revision: int = 0, real_dir: Path = REAL_DIR) -> Synthetic:
    number = 1000 + i
    notice_id = f"普府办预〔2025〕{number}号"
    name = f"P0202502116000{number:08d}.pdf"
    folder = f"{LISTING_PATH}202502/"
    lead = f"按照预算公开工作要求，现将本单位2025年部门预算（第{number}号）予以公开。" + ("（已更新）" if revision else "")
    page = _notice_page(raw_dir, title=f"上海市普陀区人民政府办公室2025年部门预算公开（第{number}号）",
                        issuer="上海市普陀区人民政府办公室", pub=f"{_date('2025-02-11', revision)} 16:24", number=number,
                        doc_no=notice_id, lead=lead, links=[(name, "2025年部门预算.pdf")])
    pdf = _pdf_with_id(_read(real_dir / BUDGET_PDF), number)
    return Synthetic(f"{folder}t20250211_{number}.htm", notice_id, page.encode("utf-8"), PAGE_2025, "budget",
                     (Attachment(folder + name, pdf, BUDGET_PDF),), i, revision)


MAKERS: dict[str, Callable[..., Synthetic]] = {
    "service_list": make_service_list, "task_text": make_task_text, "task_table": make_task_table,
    "fee_table": make_fee_table, "name_list": make_name_list, "budget": make_budget,
}


@lru_cache(maxsize=None)
def _cycle() -> tuple[str, ...]:
    """The order of kinds over 100 notices: smooth weighted round robin (interleaved, exact proportions), with the
    rarest kinds moved to the front so any corpus of 20 or more notices holds every kind."""
    total = sum(MIX.values())
    current = dict.fromkeys(MIX, 0)
    order = []
    for _ in range(total):
        for k in MIX:
            current[k] += MIX[k]
        best = max(MIX, key=lambda k: current[k])
        current[best] -= total
        order.append(best)
    first = {k: order.index(k) for k in MIX}
    for k in sorted(MIX, key=lambda k: first[k], reverse=True):
        if first[k] >= 10:  # bring this kind into the first notices
            order.insert(6, order.pop(first[k]))
            first = {x: order.index(x) for x in MIX}
    return tuple(order)


def kind_of(i: int) -> str:
    """The kind of the i-th notice of a corpus."""
    return _cycle()[i % len(_cycle())]


def _seq_in_kind(i: int) -> int:
    """How many notices of the same kind come before the i-th (counts attachments' cadence per kind)."""
    cycle = _cycle()
    kind = cycle[i % len(cycle)]
    return (i // len(cycle)) * MIX[kind] + cycle[: i % len(cycle)].count(kind)


def make_notice(i: int, raw_dir: Path = RAW_DIR, revision: int = 0) -> Synthetic:
    """The i-th notice of the corpus (revision > 0: the same notice re-published later with other bytes)."""
    return MAKERS[kind_of(i)](raw_dir, i, revision)


def make_notices(n: int, raw_dir: Path = RAW_DIR) -> list[Synthetic]:
    """Derive n distinct notices from the real files, in the proportions of MIX."""
    return [make_notice(i, raw_dir) for i in range(n)]


def revise(notice: Synthetic, raw_dir: Path = RAW_DIR) -> Synthetic:
    """The same notice (文号, URL) published again: new bytes, a later PubDate, another varied row."""
    return make_notice(notice.index, raw_dir, notice.revision + 1)


# --- writing ----------------------------------------------------------------------------------------------

def _write(path: Path, data: bytes) -> None:
    if not path.exists():  # raw files are immutable: an existing name holds these very bytes (its hash is in it)
        path.write_bytes(data)


def _sidecar(out_dir: Path, name: str, record: dict) -> None:
    text = json.dumps({k: record.get(k) for k in SIDECAR_KEYS if k in record}, ensure_ascii=False, indent=2) + "\n"
    _write(out_dir / "provenance" / f"{name}.json", text.encode("utf-8"))


def write_corpus(notices: list[Synthetic], out_dir: Path, *, base_url: str = DEFAULT_BASE,
                 retrieved_on: str | None = None) -> list[str]:
    """Write notices (pages and attachments) as raw files with provenance sidecars into out_dir; return the page
    file names. Plain writes, no fsync: a corpus is a scratch folder (the fetcher's raw/ writes are durable)."""
    (out_dir / "provenance").mkdir(parents=True, exist_ok=True)
    host = base_url.split("://", 1)[1].split("/", 1)[0]
    retrieved_on = retrieved_on or date.today().isoformat()
    names = []
    for notice in notices:
        sha = sha256_hex(notice.data)
        stem = notice.path.rsplit("/", 1)[1].rsplit(".", 1)[0]
        name = raw_name(host, stem, sha, "html")
        page_url = base_url + notice.path
        _write(out_dir / name, notice.data)
        _sidecar(out_dir, name, {
            "file": name, "sha256": sha, "notice_id": notice.notice_id, "role": "page",
            "source_url": page_url, "retrieved_on": retrieved_on,
            "note": f"synthetic notice ({notice.kind}) made by scripts/make_corpus.py from {notice.template} "
                    "(not published)",
        })
        names.append(name)
        for a in notice.attachments:
            a_sha = sha256_hex(a.data)
            a_name = raw_name(host, a.path.rsplit("/", 1)[1].rsplit(".", 1)[0], a_sha, a.ext)
            _write(out_dir / a_name, a.data)
            _sidecar(out_dir, a_name, {
                "file": a_name, "sha256": a_sha, "notice_id": None, "role": "attachment",
                "source_url": base_url + a.path, "parent_url": page_url, "retrieved_on": retrieved_on,
                "note": f"synthetic attachment made by scripts/make_corpus.py from {a.template} (not published)",
            })
    return names


def write_site(notices: list[Synthetic], site_dir: Path, raw_dir: Path = RAW_DIR) -> Path:
    """Write a static site: robots.txt, a listing page linking every notice, the pages and their attachments."""
    del raw_dir  # the attachments' bytes are in the notices
    for notice in notices:
        for path, data in ((notice.path, notice.data), *((a.path, a.data) for a in notice.attachments)):
            target = site_dir / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    items = "\n".join(f'<li><a href=".{n.path[len(LISTING_PATH) - 1:]}">{n.notice_id}</a></li>' for n in notices)
    listing = site_dir / LISTING_PATH.strip("/") / "index.htm"
    listing.parent.mkdir(parents=True, exist_ok=True)
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
