"""Document metadata (PDF, DOCX, DOC text) from the GB/T 9704 公文 layout of its first and signature lines.

A 公文 prints, top down: 发文机关标志 (…文件), 发文字号 (浙银保监发〔2020〕172号), the title (issuers + 关于 +
事由 + 文种, over one to four lines), 主送机关 (…：), the text, the signature (发文机关署名), 成文日期
(2020年8月17日 or 二〇〇九年十月十七日) and, at the end, 印发机关和印发日期 (…办公室 2020年8月18日印发).
An attachment printed as its own file starts with 附件1 and its own title: that is ``attachment_title``
(it becomes a table title), never the notice title. A 文号 the text cites is not the document's own: only
one printed on a line of its own in the header counts.
"""

from __future__ import annotations

import datetime as dt
import re

from pipeline.meta.page import issuer_from_title, load_meta_rules, normalize_doc_number, own_doc_number, parse_date
from pipeline.text import clean_text, normalize_line

HEADER_LINES = 10  # the 公文 header (标志, 文号, title, 主送) sits in the first lines
MAX_TITLE_LINES = 4
# 文种 and document kinds a title ends with (an edition in brackets may follow: 标准（2020年版）).
KINDS = ("通知", "通报", "决定", "决议", "意见", "办法", "规定", "细则", "方案", "清单", "目录", "标准", "规划", "计划",
         "批复", "公告", "通告", "报告", "预算", "决算", "条例", "规则", "指引", "纲要", "请示", "函", "纪要", "表")
_ATTACHMENT = re.compile(r"^附\s*件\s*(\d*)\s*[:：]?$")
_DATE_LINE = re.compile(r"^(\d{4}|[〇零一二三四五六七八九○]{4})\s*年\s*([\d一二三四五六七八九十]{1,3})\s*月\s*([\d一二三四五六七八九十]{1,3})\s*日$")
_PRINTED = re.compile(r"^(?P<org>\S.*?)\s+(?P<date>\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日)\s*印\s*发$")
_CN = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {"零": 0, "○": 0}


def _text(item) -> str:
    return clean_text(item if isinstance(item, str) else item.text)


def cn_date(text: str) -> dt.date | None:
    """Read a date line: 2020年8月17日 or 二〇〇九年十月十七日; None when the line is not exactly a date."""
    m = _DATE_LINE.match(normalize_line(text))
    if not m:
        return None

    def num(s: str) -> int:
        if s.isdigit():
            return int(s)
        if "十" in s:
            tens, _, ones = s.partition("十")
            return (_CN[tens] if tens else 1) * 10 + (_CN[ones] if ones else 0)
        return int("".join(str(_CN[c]) for c in s))

    try:
        return dt.date(num(m.group(1)), num(m.group(2)), num(m.group(3)))
    except (KeyError, ValueError):
        return None


def _ends_title(line: str) -> bool:
    core = re.sub(r"[（(][^（()）]*[)）]$", "", line).rstrip()
    return core.endswith(KINDS)


def _title(lines: list[str], start: int, *, strict: bool = False) -> tuple[str | None, int]:
    """Read the title from ``start``: lines up to one ending in a 文种 (at most four), else the first line
    (None when ``strict``); return it and the index after it."""
    for n in range(1, MAX_TITLE_LINES + 1):
        part = lines[start:start + n]
        if len(part) < n or own_doc_number(part[-1], load_meta_rules()):
            break
        if _ends_title(part[-1]):
            return _join_title(part), start + n
    if strict or start >= len(lines):
        return None, start
    return _join_title(lines[start:start + 1]), start + 1


def _join_title(parts: list[str]) -> str:
    # Lines of a title join without a space (CJK); a layout space before 关于 goes, spaces between joint
    # issuers stay (海南省农业农村厅 海南省财政厅关于…).
    return re.sub(r"\s+(?=关于)", "", clean_text("\n".join(parts)))


def _issuers(line: str) -> str:
    return "、".join(line.split())


def blocks_to_document_meta(blocks: list) -> dict:
    """Read a document's metadata from its text blocks (``Block`` objects or plain lines), in reading order.

    Keys: title, doc_number, doc_number_norm, issuer, issuer_from, addressee, written_on, printed_by,
    printed_on, attachment_label, attachment_title, attachments, jurisdiction_code/_name/_from.
    """
    from pipeline.registers.jurisdictions import meta_jurisdiction

    rules = load_meta_rules()
    lines = [t for t in (_text(b) for b in blocks) if t]
    meta: dict = {k: None for k in ("title", "doc_number", "doc_number_norm", "issuer", "issuer_from", "addressee",
                                     "written_on", "printed_by", "printed_on", "attachment_label", "attachment_title")}
    meta["attachments"] = []
    i = 0
    if lines and (m := _ATTACHMENT.match(lines[0])):
        label, i = lines[0].replace(" ", ""), 1
        if not m.group(1) and i < len(lines) and lines[i].isdigit():
            label, i = label + lines[i], i + 1  # 附件 and its number drawn as two lines
        meta["attachment_label"] = label.rstrip(":：")
        meta["attachment_title"], _ = _title(lines, i, strict=True)
        _finish(meta, rules)
        return meta | meta_jurisdiction(meta)
    while i < len(lines) and lines[i].endswith("文件") and len(lines[i]) <= 30:
        i += 1  # 发文机关标志 (厦门市人民政府办公厅文件)
    header = lines[:HEADER_LINES]
    for line in header:
        if number := own_doc_number(line, rules):
            meta["doc_number"] = number
            break
    while i < len(lines) and own_doc_number(lines[i], rules):
        i += 1
    meta["title"], after = _title(lines, i)
    for line in lines[after:after + 3]:
        if line.endswith(("：", ":")) and len(line) <= 200:
            meta["addressee"] = line.rstrip("：:")
            break
    main = lines
    for k, line in enumerate(lines):
        if k > after and (m := _ATTACHMENT.match(line)):
            title, _ = _title(lines, k + 1, strict=True)
            meta["attachments"].append({"label": line.replace(" ", ""), "title": title})
            if len(meta["attachments"]) == 1:
                main = lines[:k]  # the signature and date belong to the notice, before its attachments
    for k, line in enumerate(main):
        if k > after and (date := cn_date(line)):
            meta["written_on"] = date
            if k > 0 and not cn_date(main[k - 1]) and len(main[k - 1]) <= 60 and not main[k - 1].endswith("。"):
                meta["issuer"], meta["issuer_from"] = _issuers(main[k - 1]), "signature"
            break
    for line in lines:
        if m := _PRINTED.match(line):
            meta["printed_by"], meta["printed_on"] = m.group("org"), parse_date(m.group("date"))
    _finish(meta, rules)
    return meta | meta_jurisdiction(meta)


def _finish(meta: dict, rules) -> None:
    meta["doc_number_norm"] = normalize_doc_number(meta["doc_number"])
    if not meta["issuer"] and (issuer := issuer_from_title(meta["title"] or meta["attachment_title"], rules)):
        meta["issuer"], meta["issuer_from"] = issuer, "title"


def pdf_to_header_lines(data: bytes, *, max_pages: int = 1) -> list[str]:
    """Read the first page(s) of a PDF as lines for the header, by the glyphs' places on the page.

    Word and WPS exports draw full-width punctuation of a title lower than its characters (江西省投资项目
    容缺审批… with “ ”+ a line below); a glyph whose box overlaps a line's band by a quarter of its height
    belongs to that line, and a line's glyphs are read left to right.
    """
    import io

    import pdfplumber

    out: list[str] = []
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages[:max_pages]:
            chars = sorted((c for c in page.chars if c["text"].strip()), key=lambda c: (c["top"], c["x0"]))
            lines: list[list[dict]] = []
            for c in chars:
                for line in reversed(lines[-3:]):
                    top, bottom = min(x["top"] for x in line), max(x["bottom"] for x in line)
                    overlap = min(bottom, c["bottom"]) - max(top, c["top"])
                    height = min(c["bottom"] - c["top"], bottom - top) or 1
                    same_size = abs(line[0]["size"] - c["size"]) <= 0.2 * max(line[0]["size"], 1)
                    if overlap >= 0.25 * height and same_size:
                        line.append(c)
                        break
                else:
                    lines.append([c])
            for line in sorted(lines, key=lambda ln: min(x["top"] for x in ln)):
                glyphs = sorted(line, key=lambda x: x["x0"])
                text = glyphs[0]["text"]
                for a, b in zip(glyphs, glyphs[1:]):
                    gap = b["x0"] - a["x1"]
                    text += (" " if gap > 1.5 * a["size"] else "") + b["text"]
                out.append(text)
    return out


def sheet_title_lines(grid, rows: int = 6) -> list[str]:
    """The text a workbook prints above its table: the first cell with text of each of the first rows, split at
    its line breaks (a merged title cell is one origin cell)."""
    lines = []
    for row in grid.rows[:rows]:
        first = next((c.text for c in row if c.text and c.text.strip()), "")
        lines += [line.strip() for line in first.split("\n") if line.strip()]
    return lines
