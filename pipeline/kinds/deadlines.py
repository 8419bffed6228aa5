"""A task's deadline as published (完成时限) to the last day it allows and the period it names.

``2025年底前`` -> 2025-12-31, ``2025``; ``2025年6月30日前`` -> 2025-06-30, ``2025-06-30``; ``2025年上半年`` ->
2025-06-30, ``2025-H1``; ``长期坚持`` -> no date, ``ongoing``; ``每年12月`` -> no date, ``yearly-12``. The words
(ongoing phrases, the words around a date, parts of a year, recurring prefixes) are the ``[deadline]`` table of
pipeline/data/task_profiles.toml; only the shape of a date (digits, 年/月/日) is code. A text that is not one
deadline of these forms (two dates, a condition, a year-less month) is not parsed: the caller keeps the text.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pipeline.config import data_path
from pipeline.text import squash

_RANGE = re.compile(r"(?P<a>\d{4})年?[-—–~～至到](?P<b>\d{4})年(?P<tail>.*)")
_YEAR = re.compile(r"(?P<y>\d{4})年(?P<tail>.*)")
_NUMERIC = re.compile(r"(?P<y>\d{4})[.\-/](?P<m>\d{1,2})(?:[.\-/](?P<d>\d{1,2}))?")
_MONTH = re.compile(r"(?P<m>\d{1,2})月份?(?P<tail>.*)")
_DAY = re.compile(r"(?P<d>\d{1,2})[日号]")


@dataclass(frozen=True)
class DeadlineVocab:
    """The words of deadlines, from the ``[deadline]`` table."""

    ongoing: frozenset[str]
    before: tuple[str, ...]
    after: tuple[str, ...]
    end: frozenset[str]
    parts: dict[str, tuple[str, int]]  # 上半年 -> (H1, last month 6)
    every: dict[str, str]  # 每年 -> yearly
    month_days: dict[str, int]  # 中旬 -> 20


@dataclass(frozen=True)
class Deadline:
    """A parsed deadline: the last day the text allows (None for ongoing or recurring) and the period it names."""

    date: dt.date | None
    period: str


def load_deadline_vocab(path: Path | None = None) -> DeadlineVocab:
    """Read the ``[deadline]`` vocabulary from TOML."""
    return _load(str(path or data_path("task_profiles.toml")))


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", squash(text))


def _longest_first(words) -> tuple[str, ...]:
    return tuple(sorted((_fold(w) for w in words), key=len, reverse=True))


@lru_cache(maxsize=8)
def _load(path: str) -> DeadlineVocab:
    with open(path, "rb") as fh:
        d = tomllib.load(fh).get("deadline", {})
    return DeadlineVocab(
        ongoing=frozenset(_fold(w) for w in d.get("ongoing", ())),
        before=_longest_first(d.get("before", ())),
        after=_longest_first(d.get("after", ())),
        end=frozenset(_fold(w) for w in d.get("end", ())),
        parts={_fold(k): (str(v[0]), int(v[1])) for k, v in d.get("parts", {}).items()},
        every={_fold(k): str(v) for k, v in d.get("every", {}).items()},
        month_days={_fold(k): int(v) for k, v in d.get("month_days", {}).items()},
    )


def _strip(text: str, vocab: DeadlineVocab) -> str:
    """Remove the words around a date (于 … 前完成) that do not change it."""
    changed = True
    while changed and text:
        changed = False
        for w in vocab.before:
            if text.startswith(w) and len(text) > len(w):
                text, changed = text[len(w):], True
                break
        for w in vocab.after:
            if text.endswith(w) and len(text) > len(w):
                text, changed = text[: -len(w)], True
                break
    return text


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _in_month(year: int, month: int, tail: str, vocab: DeadlineVocab) -> Deadline | None:
    """Read what follows 2025年6月: nothing or 底 (the month's end), 中旬, or 30日."""
    if not 1 <= month <= 12:
        return None
    if tail == "" or tail in vocab.end:
        return Deadline(_month_end(year, month), f"{year}-{month:02d}")
    if tail in vocab.month_days:
        day = min(vocab.month_days[tail], calendar.monthrange(year, month)[1])
        return Deadline(dt.date(year, month, day), f"{year}-{month:02d}")
    if m := _DAY.fullmatch(tail):
        try:
            day = dt.date(year, month, int(m["d"]))
        except ValueError:
            return None
        return Deadline(day, day.isoformat())
    return None


def _in_year(year: int, tail: str, vocab: DeadlineVocab) -> Deadline | None:
    """Read what follows 2025年: nothing or 底 (the year's end), a part (上半年, 第四季度) or a month."""
    if tail == "" or tail in vocab.end:
        return Deadline(dt.date(year, 12, 31), str(year))
    for part, (name, last_month) in vocab.parts.items():
        if tail == part or (tail.startswith(part) and tail[len(part):] in vocab.end):
            return Deadline(_month_end(year, last_month), f"{year}-{name}")
    if m := _MONTH.fullmatch(tail):
        return _in_month(year, int(m["m"]), m["tail"], vocab)
    return None


def _recurring(text: str, vocab: DeadlineVocab) -> Deadline | None:
    """Read 每年, 每年12月, 每年6月30日 … as a recurring period with no date."""
    for prefix in sorted(vocab.every, key=len, reverse=True):
        if not text.startswith(prefix):
            continue
        name, rest = vocab.every[prefix], text[len(prefix):]
        if rest == "":
            return Deadline(None, name)
        if (m := _MONTH.fullmatch(rest)) and 1 <= int(m["m"]) <= 12:
            month, tail = int(m["m"]), m["tail"]
            if tail == "" or tail in vocab.end or tail in vocab.month_days:
                return Deadline(None, f"{name}-{month:02d}")
            if (d := _DAY.fullmatch(tail)) and 1 <= int(d["d"]) <= 31:
                return Deadline(None, f"{name}-{month:02d}-{int(d['d']):02d}")
        return None
    return None


def text_to_deadline(text: str | None, vocab: DeadlineVocab | None = None) -> Deadline | None:
    """Parse a published deadline; None when it is not one deadline of a known form."""
    v = vocab or load_deadline_vocab()
    t = _fold(text or "").rstrip("。；;，,")
    if not t:
        return None
    if t in v.ongoing:
        return Deadline(None, "ongoing")
    t = _strip(t, v)
    if t in v.ongoing:
        return Deadline(None, "ongoing")
    if (found := _recurring(t, v)) is not None or any(t.startswith(p) for p in v.every):
        return found
    if m := _RANGE.fullmatch(t):
        a, b = int(m["a"]), int(m["b"])
        if a < b and (m["tail"] == "" or m["tail"] in v.end):
            return Deadline(dt.date(b, 12, 31), f"{a}/{b}")
        return None
    if m := _YEAR.fullmatch(t):
        return _in_year(int(m["y"]), m["tail"], v)
    if m := _NUMERIC.fullmatch(t):
        year, month = int(m["y"]), int(m["m"])
        return _in_month(year, month, f"{m['d']}日" if m["d"] else "", v)
    return None
