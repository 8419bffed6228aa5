"""Standard texts (服务标准) to citations: one row per document cited, with its spans in the published text.

``参照《居家养老上门服务基本规范》(GB/T43153-2023)《福建省特困人员认定办法》,按照…`` gives one citation per 《title》
(or per bare code or 文号), each taking the relation word (参照/按照) last written before it, the issuer written
just before the 《 (民政部《…》), and the code or 文号 in the parentheses right after the 》.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pipeline.config import data_path
from pipeline.registers.standards import Registers, find_codes, load_registers, match_title

_OPEN, _CLOSE = "《", "》"
_PAREN_OPEN, _PAREN_CLOSE = "((", "))"


@dataclass(frozen=True)
class CitationSyntax:
    relations: tuple[str, ...]
    issuer_suffixes: tuple[str, ...]
    issuer_max_chars: int
    doc_number: re.Pattern
    boundaries: str
    doc_number_leading_words: tuple[str, ...]
    relation_pattern: re.Pattern


def load_citation_syntax(path: Path | None = None) -> CitationSyntax:
    """Read the citation vocabulary from TOML."""
    return _load_syntax(str(path or data_path("citations.toml")))


@lru_cache(maxsize=4)
def _load_syntax(path: str) -> CitationSyntax:
    with open(path, "rb") as fh:
        d = tomllib.load(fh)
    relations = tuple(d["relations"])
    return CitationSyntax(relations, tuple(d["issuer_suffixes"]), int(d["issuer_max_chars"]),
                          re.compile(d["doc_number_pattern"]), d["boundaries"],
                          tuple(d.get("doc_number_leading_words", ())),
                          re.compile("|".join(map(re.escape, sorted(relations, key=len, reverse=True)))))


def title_spans(text: str) -> list[tuple[int, int]]:
    """Return the (start, end) of each outermost 《…》, brackets included; nested 《》 stay inside."""
    spans, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == _OPEN:
            if depth == 0:
                start = i
            depth += 1
        elif ch == _CLOSE and depth:
            depth -= 1
            if depth == 0:
                spans.append((start, i + 1))
    return spans  # an unclosed 《 yields no title: nothing trustworthy to cite


def doc_numbers(text: str, syntax: CitationSyntax, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Find the spans of 文号 in text[start:end], without relation words or conjunctions run into the issuer."""
    spans = []
    for m in syntax.doc_number.finditer(text, start, len(text) if end is None else end):
        a = m.start()
        words = (*syntax.relations, *syntax.doc_number_leading_words)
        while (w := next((w for w in words if text.startswith(w, a) and a + len(w) < m.end()), None)):
            a += len(w)
        spans.append((a, m.end()))
    return spans


def _inside(pos: int, spans: list[tuple[int, int]]) -> bool:
    return any(a <= pos < b for a, b in spans)


def _paren_after(text: str, pos: int) -> tuple[int, int] | None:
    """Return the span of a (…) group starting at pos (spaces skipped), brackets included."""
    i = pos
    while i < len(text) and text[i].isspace():
        i += 1
    if i >= len(text) or text[i] not in _PAREN_OPEN:
        return None
    j = i + 1
    while j < len(text) and text[j] not in _PAREN_CLOSE:
        if text[j] in _PAREN_OPEN or text[j] == _OPEN:
            return None
        j += 1
    return (i, j + 1) if j < len(text) else None


def _run_start(text: str, end: int, floor: int, syntax: CitationSyntax) -> int:
    """Return where the run of text ending at ``end`` starts: after the last boundary, relation or ``floor``."""
    i = end
    while i > floor and text[i - 1] not in syntax.boundaries:
        i -= 1
    for m in syntax.relation_pattern.finditer(text, i, end):
        i = m.end()  # the text after 按照 is the cited thing, not the relation word
    return i


def _attachment(text: str, pos: int, syntax: CitationSyntax) -> dict:
    """Read the code and/or 文号 in parentheses right after a title; empty when there is none."""
    group = _paren_after(text, pos)
    if group is None:
        return {}
    inner_start, inner_end = group[0] + 1, group[1] - 1
    inner = text[inner_start:inner_end]
    codes = find_codes(inner)
    numbers = doc_numbers(text, syntax, inner_start, inner_end)
    if not codes and not numbers:
        return {}  # a parenthetical remark, not a reference
    out: dict = {"end": group[1]}
    if codes:
        c = codes[0]
        out.update(code_as_written=c.as_written, code=c.code, code_year=c.year,
                   code_start=inner_start + c.start, code_end=inner_start + c.end)
    if numbers:
        out.update(doc_number=text[numbers[0][0]:numbers[0][1]])
    return out


def _blank(seq_start: int) -> dict:
    return {"relation": None, "issuer_prefix": None, "title_as_written": None, "title_delimited": None,
            "code_as_written": None, "code": None, "code_year": None, "doc_number": None,
            "span_start": seq_start, "span_end": seq_start, "title_start": None, "title_end": None,
            "code_start": None, "code_end": None}


def standard_text_to_citations(text: str | None, syntax: CitationSyntax | None = None) -> list[dict]:
    """Find each document cited in a standard text, with relation, issuer, title, code, 文号 and spans.

    ``title_as_written`` is the text inside the outer 《》 as published (nested <…> or 《…》 kept);
    ``text[title_start:title_end] == title_as_written`` and ``text[span_start:span_end]`` is the whole citation
    (issuer prefix, 《title》 and the parenthesized code or 文号).
    """
    if not text:
        return []
    syntax = syntax or load_citation_syntax()
    titles = title_spans(text)
    found: list[dict] = []
    taken: list[tuple[int, int]] = list(titles)
    for a, b in titles:
        cit = _blank(a)
        cit.update(title_as_written=text[a + 1:b - 1], title_delimited=True, title_start=a + 1, title_end=b - 1,
                   span_end=b)
        att = _attachment(text, b, syntax)
        cit.update({k: v for k, v in att.items() if k in cit})
        if att:
            cit["span_end"] = att["end"]
            taken.append((b, att["end"]))
        found.append(cit)
    # A 文号 in parentheses after an unbracketed title: the title is the run of text before the parentheses.
    for n_start, n_end in doc_numbers(text, syntax):
        if _inside(n_start, taken):
            continue
        cit = _blank(n_start)
        cit.update(doc_number=text[n_start:n_end], span_end=n_end)
        if n_start > 0 and text[n_start - 1] in _PAREN_OPEN and n_end < len(text) and text[n_end] in _PAREN_CLOSE:
            open_at = n_start - 1
            start = _run_start(text, open_at, max((e for _, e in taken if e <= open_at), default=0), syntax)
            if start < open_at:
                cit.update(title_as_written=text[start:open_at], title_delimited=False, title_start=start,
                           title_end=open_at, span_start=start)
            cit["span_end"] = n_end + 1
        taken.append((cit["span_start"], cit["span_end"]))
        found.append(cit)
    # A code cited on its own (按照GB/T 43153-2023执行).
    for c in find_codes(text):
        if _inside(c.start, taken):
            continue
        cit = _blank(c.start)
        cit.update(code_as_written=c.as_written, code=c.code, code_year=c.year, code_start=c.start,
                   code_end=c.end, span_end=c.end)
        taken.append((c.start, c.end))
        found.append(cit)
    found.sort(key=lambda x: x["span_start"])
    _add_relations_and_issuers(text, found, titles, syntax)
    for seq, cit in enumerate(found, start=1):
        cit["seq"] = seq
    return found


def _add_relations_and_issuers(text: str, found: list[dict], titles: list[tuple[int, int]], syntax: CitationSyntax) -> None:
    relations = [m for m in syntax.relation_pattern.finditer(text) if not _inside(m.start(), titles)]
    previous_end = 0
    for cit in found:
        before = [m for m in relations if m.end() <= cit["span_start"]]
        cit["relation"] = before[-1].group() if before else None
        if cit["title_delimited"]:
            floor = max(previous_end, before[-1].end() if before else 0)
            start = _run_start(text, cit["span_start"], floor, syntax)
            prefix = text[start:cit["span_start"]]
            if prefix and len(prefix) <= syntax.issuer_max_chars and prefix.endswith(syntax.issuer_suffixes):
                cit["issuer_prefix"] = prefix
                cit["span_start"] = start
        previous_end = cit["span_end"]


def _status(cit: dict, registers: Registers) -> tuple[str, str | None]:
    """Return (register_status, canonical title) of one citation."""
    code_known = cit["code"] is None or cit["code"] in registers.by_code
    if cit["title_as_written"] is None:
        std = registers.by_code.get(cit["code"]) if cit["code"] else None
        return ("known", std.title) if std else ("unknown", None)
    status, title, _ = match_title(cit["title_as_written"], registers)
    if status == "known":
        return ("known" if code_known else "unknown"), title
    return status, None


def provisions_to_citations(provisions: list[dict], registers: Registers | None = None) -> list[dict]:
    """Turn service_provisions rows into citations rows, checked against the registers."""
    registers = registers or load_registers()
    syntax = load_citation_syntax()
    rows = []
    for p in provisions:
        for cit in standard_text_to_citations(p.get("standard_text"), syntax):
            status, title = _status(cit, registers)
            rows.append({
                "citation_id": f"{p['provision_id']}:{cit['seq']}",
                "provision_id": p["provision_id"],
                "notice_id": p["notice_id"],
                **cit,
                "title": title,
                "canonical_year": registers.canonical_year(cit["code"]) if cit["code"] else None,
                "register_status": status,
                "raw_file": p["raw_file"],
                "raw_sha256": p["raw_sha256"],
            })
    return rows


def citations_to_register_gaps(citations: list[dict]) -> list[dict]:
    """List the codes and titles the registers do not know, with where they are cited, for a maintainer to add."""
    gaps: dict[tuple, dict] = {}
    for c in citations:
        if c["register_status"] == "known":
            continue
        key = (c["register_status"], c["code"], c["title_as_written"])
        g = gaps.setdefault(key, {"register_status": c["register_status"], "code": c["code"],
                                  "title_as_written": c["title_as_written"], "citation_ids": []})
        g["citation_ids"].append(c["citation_id"])
    return list(gaps.values())

