"""Page metadata to a notices row, through declarative site profiles."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from lxml import etree

from pipeline.config import DATA
from pipeline.extract.html import element_lines, element_text
from pipeline.text import clean_text, normalize_line, squash

META_FIELDS = ("title", "doc_number", "index_no", "issuer", "published_on", "posted_on", "effective_on", "expires_on")
DATE_FIELDS = ("published_on", "posted_on", "effective_on", "expires_on")
MAX_META_LINES = 80  # metadata sits at the top of a page; never read labels out of the body text
_LABEL_LINE = {
    "colon": re.compile(r"^(?P<label>[^::]{1,16})[::]\s*(?P<value>.*)$"),
    "bracket": re.compile(r"^【(?P<label>[^】]{1,16})】\s*(?P<value>.*)$"),
}
_DATE = re.compile(r"(\d{4})\s*[-年/.]\s*(\d{1,2})\s*[-月/.]\s*(\d{1,2})")
_DOC_NUMBER = re.compile(r"[\u4e00-\u9fff]{1,10}〔\d{4}〕\d+号")


@dataclass(frozen=True)
class SiteProfile:
    """How one site format carries notice metadata."""

    name: str
    label_style: str
    labels: dict[str, str]
    min_labels: int = 2
    title_xpaths: tuple[str, ...] = ()
    title_strip_suffix: str = ""
    posted_meta: str = ""
    null_values: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.label_style not in _LABEL_LINE:
            raise ValueError(f"site profile {self.name}: label_style must be one of {sorted(_LABEL_LINE)}")
        unknown = set(self.labels.values()) - set(META_FIELDS) - {"category", "source"}
        if unknown:
            raise ValueError(f"site profile {self.name}: unknown fields {sorted(unknown)}")


def load_site_profiles(path: Path | None = None) -> list[SiteProfile]:
    """Read site profiles from TOML."""
    return list(_load(str(path or DATA / "site_profiles.toml")))


@lru_cache(maxsize=8)
def _load(path: str) -> tuple[SiteProfile, ...]:
    with open(path, "rb") as fh:
        doc = tomllib.load(fh)
    return tuple(
        SiteProfile(
            name=s["name"],
            label_style=s["label_style"],
            labels={squash(k): v for k, v in s["labels"].items()},
            min_labels=int(s.get("min_labels", 2)),
            title_xpaths=tuple(s.get("title_xpaths", ())),
            title_strip_suffix=s.get("title_strip_suffix", ""),
            posted_meta=s.get("posted_meta", ""),
            null_values=tuple(s.get("null_values", ())),
        )
        for s in doc.get("site", [])
    )


def parse_date(text: str | None) -> dt.date | None:
    """Read 2025-07-01, 2025/7/1 or 2025年7月1日; None when there is no date."""
    if not text or not (m := _DATE.search(text)):
        return None
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def page_lines(doc: etree._Element) -> list[str]:
    """Return the page's visible lines (block-separated), whitespace-normalized, without empties."""
    body = doc.find("body")
    lines = element_lines(body if body is not None else doc)
    return [line for line in (normalize_line(x) for x in lines) if line]


def labelled_values(lines: list[str], profile: SiteProfile) -> dict[str, str]:
    """Read `label:value` or `【label】value` lines the profile knows into fields (first one wins)."""
    pattern = _LABEL_LINE[profile.label_style]
    found: dict[str, str] = {}
    for line in lines[:MAX_META_LINES]:
        m = pattern.match(line)
        if not m:
            continue
        field_name = profile.labels.get(squash(m.group("label")))
        if field_name and field_name not in found:
            found[field_name] = normalize_line(m.group("value"))
    return found


def _title(doc: etree._Element, profile: SiteProfile) -> str | None:
    for xp in profile.title_xpaths:
        for hit in doc.xpath(xp):
            text = clean_text(hit) if isinstance(hit, str) else element_text(hit)
            if profile.title_strip_suffix and xp.endswith("title"):
                text = text.split(profile.title_strip_suffix)[0]
            if text:
                return text
    return None


def html_to_notice_meta(doc: etree._Element, profiles: list[SiteProfile]) -> dict:
    """Extract notice metadata with the site profile whose labels the page carries most of."""
    lines = page_lines(doc)
    best: tuple[int, SiteProfile, dict[str, str]] | None = None
    for profile in profiles:
        values = labelled_values(lines, profile)
        if len(values) >= profile.min_labels and (best is None or len(values) > best[0]):
            best = (len(values), profile, values)
    meta: dict = {f: None for f in META_FIELDS}
    meta["site_profile"] = None
    if best is not None:
        _, profile, values = best
        meta["site_profile"] = profile.name
        for key, value in values.items():
            if key in META_FIELDS:
                meta[key] = None if value in profile.null_values or not value else value
        meta["title"] = _title(doc, profile)
        if profile.posted_meta and not meta["posted_on"]:
            hits = doc.xpath(profile.posted_meta)
            meta["posted_on"] = str(hits[0]) if hits else None
    else:
        titles = doc.xpath("//title")
        meta["title"] = element_text(titles[0]) if titles else None
    if not meta["doc_number"]:
        # A page with no metadata block often states its 文号 near the top of the body.
        for line in lines[:MAX_META_LINES]:
            if m := _DOC_NUMBER.search(line):
                meta["doc_number"] = m.group()
                break
    for key in DATE_FIELDS:
        meta[key] = parse_date(meta[key]) if meta[key] else None
    return meta
