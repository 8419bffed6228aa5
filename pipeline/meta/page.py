"""Page metadata to a notices row: label blocks, CMS meta tags, the title and the 文号, all by data.

Every rule lives in pipeline/data/site_profiles.toml: the label vocabularies of the site layouts
(`[[site]]`), the CMS meta tags (`[meta_tags]`), title headings and separators (`[title]`), the 文号
pattern (`[doc_number]`), the issuer suffixes (`[issuer]`) and article-id patterns (`[article_id]`).

Labels are read in the page's header zone only (just before the body and its first lines; the first
lines of the page when the body is the whole page), never out of the body text: a 文号 the text cites
(农办机〔2024〕3号) is not the notice's own. The notice's own 文号 is a labelled one, a meta tag, one closing
the title in brackets, or one printed on a line of its own next to the title.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import cssselect
from lxml import etree

from pipeline.config import data_path
from pipeline.extract.blocks import Block, html_to_blocks
from pipeline.extract.html import element_text
from pipeline.text import normalize_line, squash

META_FIELDS = (
    "title", "doc_number", "doc_number_norm", "index_no", "issuer", "written_on", "published_on", "posted_on",
    "effective_on", "expires_on", "source", "column", "site", "site_domain", "category", "keywords",
    "description", "page_url", "article_id",
)
DATE_FIELDS = ("written_on", "published_on", "posted_on", "effective_on", "expires_on")
LABEL_FIELDS = frozenset(META_FIELDS) - {"doc_number_norm"}
ZONE_BEFORE, ZONE_INSIDE, ZONE_PAGE = 60, 20, 80  # lines of the header zone (see module docstring)
_DATE = re.compile(r"(\d{4})\s*[-年/.]\s*(\d{1,2})\s*[-月/.]\s*(\d{1,2})")
_YEAR_BRACKET = re.compile(r"[〔\[［(（【]\s*((?:19|20)\d{2})\s*[〕\]］)）】]")
_GENERIC_LABEL = re.compile(r"(?:^|(?<=\s))[\u4e00-\u9fff]{2,6}\s*[:：]")  # 浏览次数： … ends a value too
_TRANSLATOR = cssselect.HTMLTranslator()


@dataclass(frozen=True)
class SiteProfile:
    """How one site layout carries notice metadata."""

    name: str
    label_style: str
    labels: dict[str, str]
    min_labels: int = 2
    null_values: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.label_style not in ("colon", "bracket"):
            raise ValueError(f"site profile {self.name}: label_style must be 'colon' or 'bracket'")
        unknown = set(self.labels.values()) - LABEL_FIELDS
        if unknown:
            raise ValueError(f"site profile {self.name}: unknown fields {sorted(unknown)}")

    @cached_property
    def pattern(self) -> re.Pattern:
        """Match any label of the profile, layout spaces allowed between its characters (compiled once)."""
        alts = "|".join(r"\s*".join(map(re.escape, k)) for k in sorted(self.labels, key=len, reverse=True))
        if self.label_style == "bracket":
            return re.compile(rf"【\s*(?P<label>{alts})\s*】")
        return re.compile(rf"(?P<label>{alts})\s*[:：]")


@dataclass(frozen=True)
class MetaRules:
    """The page-wide rules: meta tags, title headings and separators, 文号 and issuer patterns."""

    meta_tags: dict[str, str]
    headings: tuple[str, ...]
    separators: tuple[str, ...]
    doc_number: re.Pattern
    lines_around_title: int
    strong_suffixes: tuple[str, ...]
    weak_suffixes: tuple[str, ...]
    max_name_chars: int
    article_id: tuple[re.Pattern, ...]
    label_stops: re.Pattern


def load_site_profiles(path: Path | None = None) -> list[SiteProfile]:
    """Read site profiles from TOML."""
    return list(_load(str(path or data_path("site_profiles.toml")))[0])


def load_meta_rules(path: Path | None = None) -> MetaRules:
    """Read the page-wide metadata rules from TOML."""
    return _load(str(path or data_path("site_profiles.toml")))[1]


@lru_cache(maxsize=8)
def _load(path: str) -> tuple[tuple[SiteProfile, ...], MetaRules]:
    with open(path, "rb") as fh:
        doc = tomllib.load(fh)
    profiles = tuple(
        SiteProfile(
            name=s["name"],
            label_style=s["label_style"],
            labels={squash(k): v for k, v in s["labels"].items()},
            min_labels=int(s.get("min_labels", 2)),
            null_values=tuple(s.get("null_values", ())),
        )
        for s in doc.get("site", [])
    )
    tags = {k.lower(): v for k, v in doc.get("meta_tags", {}).items()}
    if unknown := set(tags.values()) - LABEL_FIELDS:
        raise ValueError(f"{path}: [meta_tags] names unknown fields {sorted(unknown)}")
    title, number, issuer = doc.get("title", {}), doc.get("doc_number", {}), doc.get("issuer", {})
    rules = MetaRules(
        meta_tags=tags,
        headings=tuple(_TRANSLATOR.css_to_xpath(css) for css in title.get("headings", ["h1"])),
        separators=tuple(title.get("separators", ["_"])),
        doc_number=re.compile(number["pattern"]),
        lines_around_title=int(number.get("lines_around_title", 4)),
        strong_suffixes=tuple(issuer.get("strong_suffixes", ())),
        weak_suffixes=tuple(issuer.get("weak_suffixes", ())),
        max_name_chars=int(issuer.get("max_name_chars", 24)),
        article_id=tuple(re.compile(p) for p in doc.get("article_id", {}).get("patterns", ())),
        label_stops=_stop_pattern([*doc.get("label_stops", {}).get("labels", ()),
                                   *(k for p in profiles for k in p.labels)]),
    )
    return profiles, rules


def _stop_pattern(labels: list[str]) -> re.Pattern:
    alts = "|".join(r"\s*".join(map(re.escape, squash(k))) for k in sorted(set(labels), key=len, reverse=True))
    return re.compile(rf"【\s*(?:{alts})\s*】|(?:{alts})\s*[:：]") if alts else re.compile(r"(?!x)x")


# --- small readers ----------------------------------------------------------------------------------


def parse_date(text: str | None) -> dt.date | None:
    """Read 2025-07-01, 2025/7/1 or 2025年7月1日; None when there is no date."""
    if not text or not (m := _DATE.search(text)):
        return None
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def normalize_doc_number(text: str | None) -> str | None:
    """Fold a 文号 to its comparable form: no whitespace, the year in 〔〕 (沪保监发[2013]170号 → 沪保监发〔2013〕170号)."""
    if not text:
        return None
    return _YEAR_BRACKET.sub(r"〔\1〕", "".join(text.split()))


def own_doc_number(text: str, rules: MetaRules) -> str | None:
    """Return the 文号 when the text is exactly one (brackets around it allowed), else None."""
    t = normalize_line(text)
    if len(t) >= 2 and t[0] in "(（[［" and t[-1] in ")）]］":
        t = t[1:-1].strip()
    return t if rules.doc_number.fullmatch(t) else None


def title_doc_number(title: str | None, rules: MetaRules) -> str | None:
    """Return the 文号 that closes a title in brackets: …信息公开表（浙金罚决字〔2024〕52号）."""
    if not title or not (m := re.search(r"[(（]([^()（）]+)[)）]\s*$", title)):
        return None
    return own_doc_number(m.group(1), rules)


def meta_tag_values(doc: etree._Element, rules: MetaRules) -> dict[str, str]:
    """Read the CMS meta tags the rules know into fields (the first non-empty tag of a field wins)."""
    found: dict[str, str] = {}
    for m in doc.getroottree().iter("meta"):
        name = (m.get("name") or m.get("property") or "").strip().lower()
        field_name = rules.meta_tags.get(name)
        value = normalize_line(m.get("content") or "")
        if field_name and value and field_name not in found:
            found[field_name] = value
    return found


def split_site_title(text: str, rules: MetaRules, site: str | None) -> str:
    """Drop the column/site names a ``<title>`` appends: keep what precedes the first separator."""
    text = normalize_line(text)
    for sep in rules.separators:
        if sep in text and (head := text.split(sep)[0].strip()):
            text = head
            break
    if site and text.endswith(site) and text != site:
        text = text[: -len(site)].rstrip(" -_|｜")
    return text


def issuer_from_title(title: str | None, rules: MetaRules) -> str | None:
    """Read the issuing bodies a title starts with (…局 …厅关于…); joint ones joined with 、, each as printed."""
    if not title:
        return None
    strong = "|".join(map(re.escape, sorted(rules.strong_suffixes, key=len, reverse=True)))
    weak = "|".join(map(re.escape, sorted(rules.weak_suffixes, key=len, reverse=True)))
    n = rules.max_name_chars
    name = re.compile(rf"[\u4e00-\u9fff]{{1,{n}}}?(?:{strong}|{weak})")
    chunks: list[tuple[str, bool, int]] = []  # (name part, a space precedes it, end offset)
    pos, spaced = 0, False
    while m := name.match(title, pos):
        if "关于" in m.group():
            break
        chunks.append((m.group(), spaced, m.end()))
        pos = m.end()
        spaced = pos < len(title) and title[pos] in " \u3000"
        while pos < len(title) and title[pos] in " \u3000":
            pos += 1
    # The chain ends at the first non-name; a weak suffix (部, 委 …) counts only when 关于 follows it.
    while chunks:
        part, _, end = chunks[-1]
        if any(part.endswith(s) for s in rules.strong_suffixes) or title[end:].lstrip(" \u3000").startswith("关于"):
            break
        chunks.pop()
    # Parts written together are one body (国家金融监督管理总局浙江监管局); a space separates joint issuers.
    names: list[str] = []
    for part, space_before, _ in chunks:
        if names and not space_before:
            names[-1] += part
        else:
            names.append(part)
    return "、".join(names) or None


# --- the header zone and its labels -----------------------------------------------------------------


def page_blocks(doc: etree._Element, skip: frozenset) -> list[Block]:
    """Return the visible lines of the whole page, including trees a parser put after ``</html>``."""
    root = doc.getroottree().getroot()
    blocks: list[Block] = []
    for top in (root, *root.itersiblings()):
        if isinstance(top.tag, str):
            blocks.extend(html_to_blocks(top, skip))
    return blocks


def _inside(locator: str, prefix: str) -> bool:
    path = locator.split("#")[0]
    return path == prefix or path.startswith(prefix + "/")


def header_zone(blocks: list[Block], body_path: str | None) -> list[Block]:
    """Order the lines metadata may sit in: just before the body (nearest first), then its first lines."""
    if body_path:
        first = next((i for i, b in enumerate(blocks) if _inside(b.locator, body_path)), None)
        if first is not None and first > 0:
            inside = [b for b in blocks[first:] if _inside(b.locator, body_path)][:ZONE_INSIDE]
            return list(reversed(blocks[max(0, first - ZONE_BEFORE):first])) + inside
    return blocks[:ZONE_PAGE]


def _next_lines(blocks: list[Block]) -> dict[int, str]:
    """Map each line (by identity) to the text of the line after it in the page."""
    return {id(a): b.text for a, b in zip(blocks, blocks[1:])}


def _pairs_in_line(text: str, profile: SiteProfile, stops_re: re.Pattern) -> list[tuple[str, str]]:
    """Split a line into (label, value) pairs: several may share a line; another label ends a value."""
    hits = list(profile.pattern.finditer(text))
    if not hits:
        return []
    stops = {m.start() for m in hits} | {m.start() for m in _GENERIC_LABEL.finditer(text)} | {len(text)}
    stops = sorted(stops | {m.start() for m in stops_re.finditer(text)})
    out = []
    for m in hits:
        end = next(s for s in stops if s >= m.end())
        out.append((squash(m.group("label")), normalize_line(text[m.end():end])))
    return out


def _cell_pairs(tree: etree._ElementTree, block: Block, profile: SiteProfile) -> list[tuple[str, str]]:
    """Read ``<td>label</td><td>value</td>`` (or th/td) pairs of a table row."""
    hits = tree.xpath(block.locator.split("#")[0])
    if not hits or hits[0].tag != "tr":
        return []
    cells = hits[0].xpath("./td|./th")
    out = []
    for a, b in zip(cells, cells[1:]):
        label = squash(element_text(a)).strip("：:【】")
        if label in profile.labels:
            out.append((label, element_text(b)))
    return out


def labelled_values(zone: list[Block], tree: etree._ElementTree, profile: SiteProfile, rules: MetaRules,
                    following: dict[int, str] | None = None) -> tuple[dict, list[str]]:
    """Read the labels a profile knows out of the zone: fields (first one wins) and the lines they came from.

    ``following`` maps a line to the next line of the page, where a label alone on its line has its value."""
    found: dict[str, str] = {}
    where: list[str] = []
    following = following if following is not None else _next_lines(zone)
    for block in zone:
        pairs = _cell_pairs(tree, block, profile) or _pairs_in_line(block.text, profile, rules.label_stops)
        label_only = squash(block.text).strip("：:【】")
        if label_only in profile.labels and not any(v for _, v in pairs) and id(block) in following:
            pairs = [(label_only, following[id(block)])]  # <dt>文号</dt><dd>…</dd>: the value is the next line
        for label, value in pairs:
            field_name = profile.labels.get(label)
            if field_name and field_name not in found and value:  # an empty value leaves the field open
                found[field_name] = None if value in profile.null_values else value
                where.append(block.locator.split("#")[0])
    return {k: v for k, v in found.items()}, where


# --- the title ----------------------------------------------------------------------------------------


@lru_cache(maxsize=512)
def compiled_xpath(xpath: str) -> etree.XPath:
    """An XPath compiled once (the profiles' expressions are evaluated on every page)."""
    return etree.XPath(xpath)


def document_xpath(doc: etree._Element, xpath: str) -> list:
    """Evaluate an XPath on every top-level tree of the document (content after ``</html>`` included)."""
    root = doc.getroottree().getroot()
    find = compiled_xpath(xpath)
    return [hit for top in (root, *root.itersiblings()) if isinstance(top.tag, str) for hit in find(top)]


def _headings(doc: etree._Element, skip: frozenset, rules: MetaRules) -> list[etree._Element]:
    from pipeline.meta.hidden import is_hidden

    out = []
    for xp in rules.headings:
        out.extend(h for h in document_xpath(doc, xp) if not is_hidden(h, skip) and element_text(h))
    return out


def choose_title(doc: etree._Element, skip: frozenset, rules: MetaRules, tags: dict[str, str],
                 labelled: str | None) -> tuple[str | None, str | None, etree._Element | None]:
    """Pick the title: a heading equal to the reference title (ArticleTitle, else the <title> without
    its site suffix), else the reference itself; return (title, how, heading element)."""
    titles = document_xpath(doc, "descendant-or-self::title")
    page_title = split_site_title(element_text(titles[0]), rules, tags.get("site")) if titles else ""
    if page_title and tags.get("site") and squash(page_title) == squash(tags["site"]):
        page_title = ""  # a <title> that is only the site's name names no notice
    reference = labelled or tags.get("title") or page_title or None
    if not reference:
        heads = _headings(doc, skip, rules)
        return (element_text(heads[0]), "heading", heads[0]) if heads else (None, None, None)
    ref = squash(reference)
    for h in _headings(doc, skip, rules):
        text = element_text(h)
        if squash(text) == ref:
            return text, "heading", h
    how = "label" if labelled else "meta:ArticleTitle" if tags.get("title") else "title-tag"
    heading = next((h for h in _headings(doc, skip, rules) if ref.startswith(squash(element_text(h)))), None)
    return reference, how, heading


# --- the whole page -------------------------------------------------------------------------------------


def _disagree(field_name: str, kept: str, other: str, kept_from: str, other_from: str) -> dict:
    return {
        "rule": "metadata_sources_disagree", "severity": "info", "record_table": "notices", "record_id": "",
        "column_name": field_name, "evidence": f"{kept_from}: {kept} | {other_from}: {other}",
        "suggestion": None, "message": f"kept the {kept_from} value; check which one the notice prints",
        "locator": "",
        "field": field_name, "values": {kept_from: kept, other_from: other},
    }


def _same(field_name: str, a: str, b: str) -> bool:
    if field_name in DATE_FIELDS:
        return parse_date(a) == parse_date(b)
    return squash(a) == squash(b)


def _number_near_title(blocks: list[Block], zone: list[Block], heading_path: str | None,
                       rules: MetaRules) -> str | None:
    """Return a 文号 printed on a line of its own just above or below the title (at the top of the header
    zone when the page shows no title heading)."""
    idx = [i for i, b in enumerate(blocks) if heading_path and _inside(b.locator, heading_path)]
    if idx:
        near = blocks[max(0, idx[0] - rules.lines_around_title):idx[-1] + rules.lines_around_title + 1]
    else:
        near = zone[: 2 * rules.lines_around_title]
    for b in near:
        if number := own_doc_number(b.text, rules):
            return number
    return None


def article_id_from(url: str | None, rules: MetaRules) -> str | None:
    """Read a site's article id from a page URL (…/t20250718_2945939.htm → 2945939)."""
    for pattern in rules.article_id if url else ():
        if m := pattern.search(url):
            return m.group(1)
    return None


def page_to_notice_meta(doc: etree._Element, profiles: list[SiteProfile], *, body: etree._Element | None = None,
                        skip: frozenset = frozenset(), url: str | None = None,
                        rules: MetaRules | None = None) -> tuple[dict, list[dict], etree._Element | None]:
    """Read a page's metadata: (meta dict, findings, the element of its label block or None)."""
    rules = rules or load_meta_rules()
    tree = doc.getroottree()
    blocks = page_blocks(doc, skip)
    body_path = tree.getpath(body) if body is not None and body.tag not in ("html", "body") else None
    zone = header_zone(blocks, body_path)
    meta: dict = {f: None for f in META_FIELDS}
    sources: dict[str, str] = {}
    findings: list[dict] = []

    following = _next_lines(blocks)
    per_profile = [(p, *labelled_values(zone, tree, p, rules, following)) for p in profiles]
    ranked = sorted(per_profile, key=lambda x: -len(x[1]))
    best = next((x for x in ranked if len(x[1]) >= x[0].min_labels and x[1]), None)
    meta["site_profile"] = best[0].name if best else None
    label_lines: list[str] = []
    for profile, values, where in ([best] if best else []) + [x for x in per_profile if x is not best]:
        for key, value in values.items():
            if key not in sources:
                meta[key], sources[key] = value, f"label:{profile.name}"
        if profile is (best[0] if best else None):
            label_lines = where

    tags = meta_tag_values(doc, rules)
    for key, value in tags.items():
        if key == "title":
            continue  # the title has its own choice below
        if sources.get(key) and meta[key] and not _same(key, meta[key], value):
            findings.append(_disagree(key, meta[key], value, "label", "meta tag"))
        if meta[key] is None and key not in sources:
            meta[key], sources[key] = value, "meta"

    title, how, heading = choose_title(doc, skip, rules, tags, meta["title"] if sources.get("title") else None)
    if tags.get("title") and title and how != "meta:ArticleTitle" and squash(tags["title"]) != squash(title):
        findings.append(_disagree("title", title, tags["title"], how or "page", "meta tag"))
    meta["title"], sources["title"] = title, how

    heading_path = tree.getpath(heading) if heading is not None else None
    if not meta["doc_number"]:
        for number, where in ((title_doc_number(title, rules), "title"),
                              (_number_near_title(blocks, zone, heading_path, rules), "line-near-title")):
            if number:
                meta["doc_number"], sources["doc_number"] = number, where
                break
    meta["doc_number_norm"] = normalize_doc_number(meta["doc_number"])
    if not meta["issuer"] and (issuer := issuer_from_title(title, rules)):
        meta["issuer"], sources["issuer"] = issuer, "title"

    meta["page_url"] = meta["page_url"] or url
    if not meta["article_id"] and (aid := article_id_from(meta["page_url"], rules)):
        meta["article_id"], sources["article_id"] = aid, "url"
    for key in DATE_FIELDS:
        meta[key] = parse_date(meta[key]) if meta[key] else None
    if meta["published_on"] is None and meta["posted_on"] is not None:
        meta["published_on"], sources["published_on"] = meta["posted_on"], "posted_on"
    meta["meta_sources"] = {k: v for k, v in sources.items() if meta.get(k) is not None}
    return meta, findings, _label_block(tree, label_lines)


def _label_block(tree: etree._ElementTree, paths: list[str]) -> etree._Element | None:
    """Return the smallest element holding every line the chosen profile's labels came from."""
    nodes = [n for p in paths if (hits := tree.xpath(p)) and isinstance((n := hits[0]), etree._Element)]
    if len(nodes) < 2:
        return nodes[0] if nodes else None
    chains = [[*reversed(list(n.iterancestors())), n] for n in nodes]
    common = None
    for level in zip(*chains):
        if all(x is level[0] for x in level):
            common = level[0]
        else:
            break
    return common


def html_to_notice_meta(doc: etree._Element, profiles: list[SiteProfile]) -> dict:
    """Extract notice metadata of a page (its body found first, so the header zone is known)."""
    from pipeline.meta.body import html_to_page

    return html_to_page(doc, profiles).meta
