"""Registers of cited standards and documents, and the normalization of standard codes.

A standard code is written many ways (``GB/T43153-2023``, ``GB／T 43153—2023``, ``DB3502/T091-2022``); it is
normalized to a code (``GB/T 43153``) and an edition year (2023). Titles are matched against the registers:
exactly (known), closely (near_match: likely a garbled form of a known title) or not at all (unknown).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from rapidfuzz import fuzz, process

from pipeline.config import data_path

# Full-width ASCII forms to ASCII, ideographic space to space, dash variants to "-": one char for one char,
# so spans found in the folded text are spans of the published text.
_FOLD = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_FOLD.update({0x3000: 0x20, 0x2010: 0x2D, 0x2011: 0x2D, 0x2012: 0x2D, 0x2013: 0x2D, 0x2014: 0x2D,
              0x2015: 0x2D, 0x2212: 0x2D, 0xFE63: 0x2D, 0x30FC: 0x2D})

# Prefix: GB, GB/T, GB/Z, MZ/T, WS/T, DB35/T, DB3502/T …; number with optional part (1.1); optional year.
CODE_PATTERN = re.compile(
    r"(?<![A-Za-z0-9])(?P<prefix>DB\d{2,6}|[A-Z]{2,4})\s*(?:/\s*(?P<kind>[TZ]))?\s*"
    r"(?P<number>\d+(?:\.\d+)*)(?:\s*-\s*(?P<year>\d{4}|\d{2}))?(?![0-9])"
)


def fold_width(text: str) -> str:
    """Fold full-width ASCII, ideographic spaces and dash variants to ASCII, keeping the length."""
    return text.translate(_FOLD)


@dataclass(frozen=True)
class StandardCode:
    """A standard code as written and its normalized parts."""

    as_written: str
    code: str
    year: int | None
    start: int
    end: int


def _year(text: str | None) -> int | None:
    if not text:
        return None
    y = int(text)
    return y if len(text) == 4 else 1900 + y  # two-digit years belong to pre-2000 editions (GB 3100-93)


def find_codes(text: str) -> list[StandardCode]:
    """Find the standard codes in a text, with their spans in the published text."""
    folded = fold_width(text)
    out = []
    for m in CODE_PATTERN.finditer(folded):
        prefix = m.group("prefix")
        if m.group("kind") is None and m.group("year") is None:
            continue  # "ISO 9001" alone is a name, not a cited edition: a code needs a /T, /Z or a year
        kind = f"/{m.group('kind')}" if m.group("kind") else ""
        number = m.group("number")
        if prefix.startswith("DB") and "." not in number and len(number) < 3:
            number = number.zfill(3)  # local standards number with three digits: DB3502/T 91 -> 091
        out.append(StandardCode(text[m.start():m.end()], f"{prefix}{kind} {number}", _year(m.group("year")),
                                m.start(), m.end()))
    return out


def normalize_code(text: str) -> tuple[str, int | None] | None:
    """Normalize one written code: ``GB/T43153-2023`` -> ``("GB/T 43153", 2023)``; None if it is not one."""
    found = find_codes(text.strip())
    if len(found) != 1 or found[0].as_written != text.strip():
        return None
    return found[0].code, found[0].year


@dataclass(frozen=True)
class Standard:
    code: str
    title: str
    years: tuple[int, ...] = ()
    current_year: int | None = None
    source: str = ""


@dataclass(frozen=True)
class Document:
    title: str
    issuer: str = ""
    doc_number: str = ""
    source: str = ""


@dataclass(frozen=True)
class Registers:
    """The standards and documents registers, indexed for lookup."""

    standards: tuple[Standard, ...] = ()
    documents: tuple[Document, ...] = ()
    by_code: dict[str, Standard] = field(default_factory=dict, compare=False)
    titles: dict[str, Standard | Document] = field(default_factory=dict, compare=False)

    @classmethod
    def of(cls, standards: list[Standard], documents: list[Document]) -> "Registers":
        """Build a register and its indexes, refusing duplicate codes or titles."""
        by_code: dict[str, Standard] = {}
        titles: dict[str, Standard | Document] = {}
        for s in standards:
            if s.code in by_code:
                raise ValueError(f"standards register: code {s.code} listed twice")
            if s.current_year is not None and s.years and s.current_year not in s.years:
                raise ValueError(f"standards register: {s.code} current_year {s.current_year} not in years")
            if normalize_code(s.code) != (s.code, None):
                raise ValueError(f"standards register: {s.code!r} is not a normalized code (e.g. 'GB/T 43153')")
            by_code[s.code] = s
        for entry in [*standards, *documents]:
            if entry.title in titles:
                raise ValueError(f"register: title {entry.title!r} listed twice")
            titles[entry.title] = entry
        return cls(tuple(standards), tuple(documents), by_code, titles)

    def canonical_year(self, code: str) -> int | None:
        """Return the register's current edition year of a code, None where not recorded."""
        s = self.by_code.get(code)
        return s.current_year if s else None


def load_registers(standards_path: Path | None = None, documents_path: Path | None = None) -> Registers:
    """Read the standards and documents registers from TOML."""
    return _load(str(standards_path or data_path("standards.toml")), str(documents_path or data_path("documents.toml")))


@lru_cache(maxsize=4)
def _load(standards_path: str, documents_path: str) -> Registers:
    with open(standards_path, "rb") as fh:
        sdoc = tomllib.load(fh)
    with open(documents_path, "rb") as fh:
        ddoc = tomllib.load(fh)
    standards = [
        Standard(s["code"], s["title"], tuple(s.get("years", ())), s.get("current_year"), s.get("source", ""))
        for s in sdoc.get("standard", [])
    ]
    documents = [
        Document(d["title"], d.get("issuer", ""), d.get("doc_number", ""), d.get("source", ""))
        for d in ddoc.get("document", [])
    ]
    return Registers.of(standards, documents)


NEAR_MATCH_MIN_SCORE = 85.0  # rapidfuzz ratio (0-100): a 4-character insertion into a 17-character title scores 89


def match_title(title: str, registers: Registers, min_score: float = NEAR_MATCH_MIN_SCORE) -> tuple[str, str | None, float]:
    """Match a cited title: ("known", title, 100), ("near_match", closest known title, score) or ("unknown", None, score)."""
    if title in registers.titles:
        return "known", title, 100.0
    if not registers.titles:
        return "unknown", None, 0.0
    best, score, _ = process.extractOne(title, list(registers.titles), scorer=fuzz.ratio)
    if score >= min_score:
        return "near_match", best, score
    return "unknown", None, score
