"""Links worth following, per site profile: listing page -> notice URLs, notice page -> attachment URLs."""

from __future__ import annotations

import re
from urllib.parse import urldefrag, urljoin, urlsplit

from pipeline.ingest.decode import declared_charsets, decode_bytes
from pipeline.errors import PipelineError
from pipeline.extract.html import element_text, parse_html
from pipeline.fetch.errors import FetchError, LayoutChanged
from pipeline.fetch.sources import SiteProfile


# Multi-byte charsets whose strict decoding rarely succeeds on bytes of another charset.
_CJK_CODECS = {"gb18030", "big5hkscs", "shift_jis", "euc_jp", "euc_kr"}


def page_text(data: bytes, content_type: str | None, url: str) -> str:
    """Decode a page for its links: the declared charset when the bytes agree with it, else decode_bytes.

    The full decoder weighs readings against each other, which costs tens of milliseconds per page; a
    refresh decodes every new page, so the unambiguous cases (valid UTF-8 declared as UTF-8 or not at
    all; non-UTF-8 bytes that decode strictly as the one CJK charset declared) take the short way.
    """
    declared = {codec for _, codec in declared_charsets(data, content_type)}
    try:
        utf8: str | None = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        utf8 = None
    if utf8 is not None and declared <= {"utf-8", "utf-8-sig"}:
        return utf8
    if utf8 is None and len(declared) == 1 and (codec := next(iter(declared))) in _CJK_CODECS:
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            pass
    return decode_bytes(data, content_type, file=url)[0]


def page_links(data: bytes, base_url: str, *, content_type: str | None = None,
               region_xpath: str | None = None) -> list[tuple[str, str]]:
    """Return (absolute URL, link text) for each http(s) ``<a href>`` of a page, in order, first of each URL."""
    try:
        doc = parse_html(page_text(data, content_type, base_url))
    except PipelineError as e:
        raise FetchError(f"page cannot be read for links: {e.reason}", url=base_url) from None
    base = next((urljoin(base_url, b.get("href").strip()) for b in doc.iter("base") if b.get("href")), base_url)
    regions = doc.xpath(region_xpath) if region_xpath else [doc]
    if region_xpath and not regions:
        raise LayoutChanged(f"no element matches the profile's xpath {region_xpath!r}", url=base_url)
    links: dict[str, str] = {}
    for region in regions:
        for a in region.iter("a"):
            href = (a.get("href") or "").strip()
            if not href or href.startswith("#"):
                continue
            url = urldefrag(urljoin(base, href)).url
            if urlsplit(url).scheme in ("http", "https"):
                links.setdefault(url, element_text(a))
    return list(links.items())


def _matching(links: list[tuple[str, str]], pattern: str) -> list[tuple[str, str]]:
    rx = re.compile(pattern, re.I)
    return [(url, text) for url, text in links if rx.search(urlsplit(url).path)]


def listing_to_notice_urls(data: bytes, base_url: str, profile: SiteProfile, *,
                           content_type: str | None = None) -> list[str]:
    """Return the notice URLs a listing page links, failing loudly when there are fewer than expected."""
    links = page_links(data, base_url, content_type=content_type, region_xpath=profile.listing_xpath)
    urls = [url for url, _ in _matching(links, profile.notice_url) if url != base_url]
    if len(urls) < profile.min_notices:
        raise LayoutChanged(
            f"listing yielded {len(urls)} notice links, profile {profile.name} expects at least "
            f"{profile.min_notices} (notice_url {profile.notice_url!r})",
            url=base_url,
        )
    return urls


def listing_to_next_pages(data: bytes, base_url: str, profile: SiteProfile, *,
                          content_type: str | None = None) -> list[str]:
    """Return the further listing pages (pagination) a listing page links, per the profile."""
    if not profile.next_page_url:
        return []
    links = page_links(data, base_url, content_type=content_type)
    return [url for url, _ in _matching(links, profile.next_page_url) if url != base_url]


def notice_to_attachments(data: bytes, base_url: str, profile: SiteProfile, *,
                          content_type: str | None = None) -> list[tuple[str, str]]:
    """Return (URL, link text) of the attachments (pdf, doc, docx, xls, xlsx) a notice page links."""
    links = page_links(data, base_url, content_type=content_type, region_xpath=profile.notice_xpath)
    return _matching(links, profile.attachment_url)
