"""Full-text search of Chinese text in SQLite FTS5, words of one or two characters included.

FTS5's ``trigram`` tokenizer finds any substring without word segmentation, but only of three characters or
more: ``养老`` — like most Chinese words — has two, and matches nothing. So the index does not hold the text
itself but the text with a marker between and around its characters (``居家养老`` is indexed as
``·居·家·养·老·``, the marker being a Unicode noncharacter that no published text carries), and a query is
written the same way: ``养老`` becomes the trigram ``养·老``, ``药`` becomes ``·药·``, ``居家养老`` the phrase
``居·家·养·老``. Every substring of one character or more is then a sequence of trigrams of the index, so the
search stays an index look-up at every length, at twice the index size. Text is whitespace-normalized
(``pipeline.text.clean_text``) before it is indexed, so a word split by a line break in a cell is found.

``search_query`` stands in for datasette's ``escape_fts`` SQL function (pipeline/serve/datasette_plugin.py), so
the table pages' search box, ``?_search=`` and ``escape_fts()`` in custom SQL all speak this encoding.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pipeline.text import clean_text

MARK = "\ufdd0"  # a noncharacter: never assigned, never in published text
_PHRASE = re.compile(r'"([^"]*)"|([^\s"]+)')
_NOTHING = '""'  # an empty phrase: matches no row


def _interleave(text: str) -> str:
    return MARK + MARK.join(text) + MARK if text else ""


def index_text(value: str | Iterable[str] | None) -> str:
    """Return a value as the search index holds it; a list's items are kept apart (no match spans two cells)."""
    if value is None:
        return ""
    items = [value] if isinstance(value, str) else [v for v in value if v is not None]
    return "\n".join(_interleave(clean_text(str(v).replace(MARK, ""))) for v in items)


def _phrase(text: str) -> str:
    """Write one typed word or phrase as an FTS5 phrase over the index's form."""
    text = clean_text(text.replace(MARK, ""))
    if not text:
        return ""
    inner = MARK + text + MARK if len(text) == 1 else MARK.join(text)
    return '"' + inner.replace('"', '""') + '"'


def search_query(typed: str | None) -> str:
    """Turn what an analyst typed into an FTS5 query: every word, or "quoted phrase", must occur."""
    if not typed:
        return _NOTHING
    if typed.count('"') % 2:  # an unbalanced quote closes at the end, as datasette does
        typed += '"'
    phrases = [_phrase(quoted or bare) for quoted, bare in _PHRASE.findall(typed)]
    return " ".join(p for p in phrases if p) or _NOTHING
