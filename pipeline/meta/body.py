"""A page's article body: the element that holds the notice, apart from navigation, widgets and footers.

Three ways, tried in order (``Page.body_how`` says which one decided):

1. ``container:<cms>:<selector>`` — a known CMS article container (data: ``[[body.container]]`` in
   pipeline/data/site_profiles.toml), the first visible match with text;
2. ``readability`` — readability-lxml's choice of main content, run on a copy of the page without its
   hidden elements; every element of the copy carries its index in the original, so the choice maps back
   to the ORIGINAL element (the returned tree is never re-parsed or changed);
3. ``chrome-filter`` — ``<body>``, with nav/header/footer/aside and small elements whose text is page
   chrome (网站标识码, ICP备, 版权所有 … — data) left out.

Walkers (``html_to_grids``, ``html_to_blocks``) take ``Page.body`` as root and skip ``Page.skip``: the
hidden elements, the metadata block and, for the third way, the chrome.
"""

from __future__ import annotations

import copy
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import cssselect
import lxml.html
from lxml import etree

from pipeline.config import data_path
from pipeline.meta.hidden import hidden_elements, is_hidden
from pipeline.text import squash

_PT = "data-pt-index"  # attribute that carries an element's index into the copy handed to readability
_TRANSLATOR = cssselect.HTMLTranslator()


@dataclass(frozen=True)
class BodyRules:
    """How to find the body: container selectors, the chrome vocabulary and the thresholds."""

    containers: tuple[tuple[str, str, str], ...]  # (cms, css selector, xpath)
    min_chars: int
    library_min_chars: int
    chrome_tags: frozenset[str]
    chrome_words: tuple[str, ...]
    chrome_class_words: tuple[str, ...]
    max_chrome_chars: int


@dataclass(frozen=True)
class Page:
    """A parsed page: its body element, what walkers skip, its metadata and findings."""

    doc: etree._Element
    body: etree._Element
    hidden: frozenset[etree._Element]
    skip: frozenset[etree._Element]
    meta: dict = field(default_factory=dict)
    findings: list[dict] = field(default_factory=list)
    body_how: str = ""

    def body_text(self) -> str:
        """Return the visible text of the body (what identity hashes when nothing else names the notice)."""
        from pipeline.extract.blocks import html_to_blocks

        return "\n".join(b.text for b in html_to_blocks(self.body, self.skip))


def load_body_rules(path: Path | None = None) -> BodyRules:
    """Read the body rules from site_profiles.toml."""
    return _load(str(path or data_path("site_profiles.toml")))


@lru_cache(maxsize=8)
def _load(path: str) -> BodyRules:
    with open(path, "rb") as fh:
        body = tomllib.load(fh).get("body", {})
    containers = []
    for c in body.get("container", []):
        for css in c["css"]:
            try:
                containers.append((c["cms"], css, _TRANSLATOR.css_to_xpath(css)))
            except cssselect.SelectorError as exc:
                raise ValueError(f"{path}: body container {css!r} of {c['cms']} is not a CSS selector ({exc})")
    return BodyRules(
        containers=tuple(containers),
        min_chars=int(body.get("min_chars", 20)),
        library_min_chars=int(body.get("library_min_chars", 200)),
        chrome_tags=frozenset(body.get("chrome_tags", ())),
        chrome_words=tuple(squash(w) for w in body.get("chrome_words", ())),
        chrome_class_words=tuple(w.lower() for w in body.get("chrome_class_words", ())),
        max_chrome_chars=int(body.get("max_chrome_chars", 300)),
    )


def visible_text(el: etree._Element, hidden: frozenset[etree._Element]) -> str:
    """Return the squashed text of an element without its hidden descendants, scripts and styles."""
    parts: list[str] = []

    def walk(e: etree._Element) -> None:
        if not isinstance(e.tag, str) or e in hidden or e.tag in ("script", "style", "noscript", "template"):
            return
        parts.append(e.text or "")
        for child in e:
            walk(child)
            parts.append(child.tail or "")

    walk(el)
    return squash("".join(parts))


def has_visible_text(el: etree._Element, hidden: frozenset[etree._Element], chars: int) -> bool:
    """True when the element's visible text (as visible_text gives it) has at least ``chars`` characters; reading
    stops as soon as it has (an article container holds the whole article)."""
    seen = 0

    def enough(text: str | None) -> bool:
        nonlocal seen
        if text:
            seen += len(squash(text))
        return seen >= chars

    def walk(e: etree._Element) -> bool:
        if not isinstance(e.tag, str) or e in hidden or e.tag in ("script", "style", "noscript", "template"):
            return False
        if enough(e.text):
            return True
        for child in e:
            if walk(child) or enough(child.tail):
                return True
        return False

    return chars <= 0 or walk(el)


def container_body(doc: etree._Element, hidden: frozenset, rules: BodyRules) -> tuple[etree._Element, str] | None:
    """Return the first visible known CMS article container that holds text, with how it was found."""
    from pipeline.meta.page import document_xpath

    for cms, css, xpath in rules.containers:
        for el in document_xpath(doc, xpath):
            if not is_hidden(el, hidden) and has_visible_text(el, hidden, rules.min_chars):
                return el, f"container:{cms}:{css}"
    return None


def drop_tree(el: etree._Element) -> None:
    """Remove an element with its children and text; its tail joins the text before it (lxml.html's drop_tree)."""
    parent = el.getparent()
    if el.tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


def _tagged_copy(doc: etree._Element, hidden: frozenset) -> tuple[str, list[etree._Element]]:
    """Serialize a copy of the page without hidden elements; each element carries its original's index."""
    root = doc.getroottree().getroot()
    tops = [t for t in (root, *root.itersiblings()) if isinstance(t.tag, str)]
    originals = [e for t in tops for e in t.iter()]
    copies = [copy.deepcopy(t) for t in tops]
    dropped = []
    for i, (orig, dup) in enumerate(zip(originals, (e for t in copies for e in t.iter()))):
        if isinstance(dup.tag, str):
            dup.set(_PT, str(i))
            if orig in hidden:
                dropped.append(dup)
    for dup in dropped:
        if dup.getparent() is not None:
            drop_tree(dup)
    main = copies[0]
    body = main.find("body")
    for extra in copies[1:]:  # content after </html> lands in a second tree: hand it over inside <body>
        for child in list(extra):
            (body if body is not None else main).append(child)
    return lxml.html.tostring(main, encoding="unicode"), originals


def _common_ancestor(elements: list[etree._Element]) -> etree._Element | None:
    if not elements:
        return None
    paths = [[*reversed(list(e.iterancestors())), e] for e in elements]
    common = None
    for nodes in zip(*paths):
        if all(n is nodes[0] for n in nodes):
            common = nodes[0]
        else:
            break
    return common


def readability_body(doc: etree._Element, hidden: frozenset, rules: BodyRules) -> etree._Element | None:
    """Map readability-lxml's main content back to the original element; None when it finds nothing usable."""
    from readability import Document
    from readability.readability import Unparseable

    html, originals = _tagged_copy(doc, hidden)
    try:
        summary = Document(html).summary(html_partial=True)
    except (Unparseable, ValueError, etree.ParserError):
        return None
    try:
        out = lxml.html.fragment_fromstring(summary, create_parent="div")
    except etree.ParserError:
        return None
    tops = []
    for el in out.iter():
        if isinstance(el.tag, str) and el.get(_PT) is not None:
            if not any(a.get(_PT) is not None for a in el.iterancestors()):
                tops.append(originals[int(el.get(_PT))])
    node = _common_ancestor(tops)
    if node is None or node.tag in ("html", "body") or not isinstance(node.tag, str):
        return None
    text = visible_text(node, hidden)
    if len(text) < rules.library_min_chars or any(w in text for w in rules.chrome_words):
        return None  # too little to be sure it is the article (a lone line beside a table), or chrome
    return node


def _is_chrome(el: etree._Element, hidden: frozenset, rules: BodyRules) -> bool:
    if el.tag in rules.chrome_tags:
        return True
    names = f"{el.get('class', '')} {el.get('id', '')}".lower()
    if any(re.search(rf"(?:^|[\s_-]){re.escape(w)}(?:$|[\s_-])", names) for w in rules.chrome_class_words):
        return True
    text = visible_text(el, hidden)
    return len(text) <= rules.max_chrome_chars and any(w in text for w in rules.chrome_words)


def chrome_elements(root: etree._Element, hidden: frozenset, rules: BodyRules) -> frozenset[etree._Element]:
    """Return the outermost elements under ``root`` that are page chrome (by tag, class/id or text)."""
    found: set[etree._Element] = set()

    def walk(el: etree._Element) -> None:
        for child in el:
            if not isinstance(child.tag, str) or child in hidden:
                continue
            if _is_chrome(child, hidden, rules):
                found.add(child)
            else:
                walk(child)

    walk(root)
    return frozenset(found)


def find_body(doc: etree._Element, hidden: frozenset | None = None,
              rules: BodyRules | None = None) -> tuple[etree._Element, frozenset, frozenset, str]:
    """Return the body element, the hidden elements, the elements to skip (hidden + chrome), and how."""
    rules = rules or load_body_rules()
    hidden = hidden_elements(doc) if hidden is None else hidden
    if found := container_body(doc, hidden, rules):
        return found[0], hidden, hidden, found[1]
    if (node := readability_body(doc, hidden, rules)) is not None:
        return node, hidden, hidden, "readability"
    body = doc.find("body")
    root = body if body is not None else doc
    return root, hidden, hidden | chrome_elements(root, hidden, rules), "chrome-filter"


def html_to_page(doc: etree._Element, profiles=None, *, url: str | None = None) -> Page:
    """Find the page's body, skip set and metadata (with findings on disagreeing sources)."""
    from pipeline.meta.page import load_site_profiles, page_to_notice_meta
    from pipeline.registers.jurisdictions import meta_jurisdiction

    body, hidden, skip, how = find_body(doc)
    meta, findings, meta_block = page_to_notice_meta(
        doc, profiles if profiles is not None else load_site_profiles(), body=body, skip=skip, url=url)
    meta.update(meta_jurisdiction(meta))
    if meta_block is not None and meta_block is not body and _inside(meta_block, body):
        skip = skip | {meta_block}  # the 索引号/文号 block is metadata, never a content table
    return Page(doc, body, hidden, frozenset(skip), meta, findings, how)


def _inside(el: etree._Element, root: etree._Element) -> bool:
    return el is root or any(a is root for a in el.iterancestors())


__all__ = ["Page", "BodyRules", "html_to_page", "find_body", "load_body_rules"]
