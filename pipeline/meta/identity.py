"""A notice's identity: the key that files of one notice share and that stays stable across refreshes.

In order: an id the provenance record gives (a maintainer's word), the normalized 文号, the index number
(索引号), the site's article id (``host:id``, from the page URL or a meta tag, when the site is known),
else a content hash of the body text (``sha256:`` + 16 hex). Never the file name: a renamed download must stay the same notice.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from pipeline.meta.page import article_id_from, load_meta_rules, normalize_doc_number


def content_hash(text: str) -> str:
    """Return ``sha256:`` and the first 16 hex digits of the text's SHA-256 (UTF-8, whitespace removed)."""
    return "sha256:" + hashlib.sha256("".join(text.split()).encode("utf-8")).hexdigest()[:16]


def notice_id_for(meta: dict | None, raw=None, *, body_text: str | None = None) -> tuple[str, str]:
    """Key a file to its notice; return (notice_id, how) with how one of
    provenance | doc_number | index_no | article_id | content_hash.

    ``raw`` is the RawFile (provenance notice_id, source_url, sha256); ``body_text`` the page's body text
    (``Page.body_text()``) or a document's text, hashed when nothing else names the notice; without it the
    raw file's sha256 is used.
    """
    meta = meta or {}
    if raw is not None and getattr(raw, "notice_id", None) and getattr(raw, "notice_id_from", "") == "provenance":
        return raw.notice_id, "provenance"
    if number := meta.get("doc_number_norm") or normalize_doc_number(meta.get("doc_number")):
        return number, "doc_number"
    if meta.get("index_no"):
        return meta["index_no"], "index_no"
    url = meta.get("page_url") or (getattr(raw, "source_url", None) if raw is not None else None)
    article = meta.get("article_id") or article_id_from(url, load_meta_rules())
    host = urlsplit(url).hostname if url else None
    site = host or (meta.get("site_domain") or "").split(",")[0].strip() or meta.get("site")
    if article and site:  # an article id means something only with the site that numbered it
        return f"{site}:{article}", "article_id"
    if body_text and body_text.strip():
        return content_hash(body_text), "content_hash"
    if raw is not None and getattr(raw, "sha256", None):
        return "sha256:" + raw.sha256[:16], "content_hash"
    raise ValueError("no 文号, index number, article id, body text or file hash to key the notice by")
