"""Which elements of a page a reader never sees: inline styles, the ``hidden`` attribute, the page's own CSS.

Browser-saved pages and CMS templates keep duplicates and widgets in the DOM and hide them: ``style=
"display:none"``, ``<div hidden>``, or a class that a ``<style>`` block of the page sets to ``display:none``
(AngularJS's ``.ng-hide``). The cascade is followed as far as it decides visibility: ``!important`` beats
an inline style, an inline ``display`` beats an ordinary rule, and among rules the more specific (then
the later) one wins. Selectors cssselect cannot translate and rules inside ``@media``/``@supports`` blocks
are ignored: a hidden element we miss shows up as content, never the other way round.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

import cssselect
import tinycss2
from lxml import etree

from pipeline.extract.html import is_hidden  # noqa: F401 (one walker decides visibility for both)

_INLINE_DISPLAY = re.compile(r"(?:^|;)\s*display\s*:\s*([^;!]+)(!\s*important)?", re.I)
_INLINE_HIDDEN = re.compile(r"(?:^|;)\s*visibility\s*:\s*hidden", re.I)
_SKIP_MEDIA = re.compile(r"\b(print|speech|aural)\b", re.I)
_SETS_NONE = re.compile(r"display\s*:\s*none", re.I)
_TRANSLATOR = cssselect.HTMLTranslator()


@dataclass(frozen=True, slots=True)
class DisplayRule:
    """One stylesheet declaration of ``display``: its selector (as XPath), value, weight and order."""

    selector: str
    xpath: str
    value: str
    important: bool
    specificity: tuple[int, int, int]
    order: int
    simple: tuple[str | None, frozenset, str | None] | None = None  # (tag, classes, id) of a compound selector


def simple_selector(sel) -> tuple[str | None, frozenset, str | None, frozenset] | None:
    """(tag, classes, id, attributes present) of a selector made only of a tag, classes, an id and ``[attr]``
    tests (div.ng-hide, #top, .x.y, [ng-cloak]), else None: those are matched from an index of the page instead
    of an XPath walk of it per rule."""
    classes, attrs, ident, node = set(), set(), None, sel.parsed_tree
    while True:
        name = type(node).__name__
        if name == "Class":
            classes.add(node.class_name)
            node = node.selector
        elif name == "Hash":
            if ident is not None:
                return None
            ident = node.id
            node = node.selector
        elif name == "Attrib" and node.operator == "exists" and node.namespace is None:
            attrs.add(node.attrib)
            node = node.selector
        elif name == "Element":
            if node.namespace not in (None, "*"):
                return None
            tag = None if node.element in (None, "*") else node.element.lower()
            return tag, frozenset(classes), ident, frozenset(attrs)
        else:
            return None


def _declarations(rule) -> list[tuple[str, str, bool]]:
    decls = tinycss2.parse_blocks_contents(rule.content, skip_comments=True, skip_whitespace=True)
    out = []
    for d in decls:
        if d.type == "declaration" and d.lower_name == "display":
            out.append((d.lower_name, tinycss2.serialize(d.value).strip().lower(), bool(d.important)))
    return out


def stylesheet_display_rules(css: str, start: int = 0) -> list[DisplayRule]:
    """Read the top-level rules of a stylesheet that set ``display``, with XPaths for their selectors."""
    rules: list[DisplayRule] = []
    order = start
    for rule in tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True):
        if rule.type != "qualified-rule":
            continue  # @media, @supports, @font-face …: conditional or irrelevant here
        decls = _declarations(rule)
        if not decls:
            continue
        prelude = tinycss2.serialize(rule.prelude).strip()
        try:
            selectors = cssselect.parse(prelude)
        except cssselect.SelectorError:
            continue
        for sel in selectors:
            try:
                xpath = _TRANSLATOR.selector_to_xpath(sel)
            except cssselect.ExpressionError:  # :hover, ::before …: states a saved page does not have
                continue
            for _, value, important in decls:
                order += 1
                rules.append(DisplayRule(sel.canonical(), xpath, value, important, sel.specificity(), order,
                                         simple_selector(sel)))
    return rules


def document_elements(doc: etree._Element):
    """Iterate every element of the document, including top-level trees that a parser put beside the root.

    Content after ``</html>`` ends up in a second top-level element; a walk of ``doc`` alone misses it.
    """
    root = doc.getroottree().getroot()
    for top in (*reversed(list(root.itersiblings(preceding=True))), root, *root.itersiblings()):
        if isinstance(top.tag, str):
            yield from top.iter()


@lru_cache(maxsize=256)
def _sheet_rules(css: str) -> tuple[DisplayRule, ...]:
    """A stylesheet's display rules, parsed once per text: a site's pages share their template's stylesheets."""
    return tuple(stylesheet_display_rules(css)) if "display" in css.lower() else ()


def page_display_rules(doc: etree._Element, elements: list | None = None) -> list[DisplayRule]:
    """Collect the ``display`` rules of every ``<style>`` block of the page, in document order.

    A page whose stylesheets never say ``display: none`` hides nothing by rule: none is parsed."""
    elements = elements if elements is not None else list(document_elements(doc))
    sheets = [s.text or "" for s in elements if s.tag == "style" and not _SKIP_MEDIA.search(s.get("media", ""))]
    if not any(_SETS_NONE.search(css) for css in sheets):
        return []
    rules: list[DisplayRule] = []
    for css in sheets:
        base = len(rules)
        rules.extend(replace(r, order=base + i) for i, r in enumerate(_sheet_rules(css)))
    return rules


def _inline_display(style: str) -> tuple[str | None, bool]:
    m = _INLINE_DISPLAY.search(style)
    return (m.group(1).strip().lower(), bool(m.group(2))) if m else (None, False)


class _Index:
    """The page's elements by the tags, classes, ids and attributes its simple selectors name, built in one pass."""

    def __init__(self, elements: list, simples: list[tuple]):
        self.all = elements
        want_tags = {t for t, c, i, a in simples if t and not c and not i and not a}
        self.tags: dict[str, list] = {t: [] for t in want_tags}
        self.classes: dict[str, set] = {c: set() for s in simples for c in s[1]}
        self.ids: dict[str, set] = {s[2]: set() for s in simples if s[2]}
        self.attrs: dict[str, set] = {a: set() for s in simples for a in s[3]}
        for el in elements:
            if want_tags and (tag := el.tag.lower()) in self.tags:
                self.tags[tag].append(el)
            if self.classes and (cls := el.get("class")):
                for c in cls.split():
                    if c in self.classes:
                        self.classes[c].add(el)
            if self.ids and (i := el.get("id")) is not None and i in self.ids:
                self.ids[i].add(el)
            if self.attrs and el.attrib:
                for a in self.attrs:
                    if el.get(a) is not None:
                        self.attrs[a].add(el)

    def match(self, simple: tuple) -> list:
        tag, classes, ident, attrs = simple
        pools = ([self.classes[c] for c in classes] + ([self.ids[ident]] if ident else [])
                 + [self.attrs[a] for a in attrs])
        if pools:
            found = pools[0] if len(pools) == 1 else set.intersection(*pools)
            return [el for el in found if tag is None or el.tag.lower() == tag]
        return list(self.tags[tag]) if tag else list(self.all)


def hidden_elements(doc: etree._Element) -> frozenset[etree._Element]:
    """Return the elements hidden by inline style, the ``hidden`` attribute or the page's stylesheet rules.

    Only the elements a rule names are returned; a walker skips their subtrees. Only elements a ``display:none``
    rule names can be hidden by a rule, so the other rules are matched against those alone. The document is
    walked once; the index holds only the tags, classes and ids the rules name.
    """
    elements = [el for el in document_elements(doc) if isinstance(el.tag, str)]
    winner: dict[etree._Element, tuple[tuple, str]] = {}
    tree = doc.getroottree()
    rules = page_display_rules(doc, elements)
    none_rules = [r for r in rules if r.value == "none"]
    index = _Index(elements, [r.simple for r in rules if r.simple is not None]) if none_rules else None

    def matches(rule: DisplayRule) -> list:
        if rule.simple is not None:
            return index.match(rule.simple)
        try:
            return [el for el in tree.xpath(rule.xpath) if isinstance(el, etree._Element)]
        except etree.XPathError:
            return []

    for rule in none_rules:
        for el in matches(rule):
            weight = (rule.important, rule.specificity, rule.order)
            if el not in winner or winner[el][0] < weight:
                winner[el] = (weight, rule.value)
    if winner:
        for rule in (r for r in rules if r.value != "none"):
            weight = (rule.important, rule.specificity, rule.order)
            for el in matches(rule):
                if el in winner and winner[el][0] < weight:
                    winner[el] = (weight, rule.value)
    hidden: set[etree._Element] = set()
    for el in elements:
        style = el.get("style") or ""
        rule = winner.get(el)
        if not style and rule is None:  # the common case: nothing says how it displays
            if el.get("hidden") is not None or (el.tag == "input" and el.get("type", "").lower() == "hidden"):
                hidden.add(el)
            continue
        lowered = style.lower()
        inline, inline_important = _inline_display(style) if "display" in lowered else (None, False)
        if rule and rule[0][0] and not inline_important:
            display = rule[1]  # an !important rule beats an ordinary inline style
        elif inline is not None:
            display = inline
        else:
            display = rule[1] if rule else None
        if (
            display == "none"
            or el.get("hidden") is not None
            or ("visibility" in lowered and _INLINE_HIDDEN.search(style))
            or (el.tag == "input" and el.get("type", "").lower() == "hidden")
        ):
            hidden.add(el)
    return frozenset(hidden)
