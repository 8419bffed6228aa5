"""Content-addressed, sanitized raw file names: ``<host-slug>--<stem>--<sha256[:12]>.<ext>``.

Names come from hostile places (URLs, link texts, Content-Disposition), so every part is reduced to
``[A-Za-z0-9._-]`` plus CJK, and the result is checked to stay directly inside raw/.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from email.message import Message
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pipeline.fetch.settings import RAW_EXTENSIONS
from pipeline.text import is_cjk

MAX_STEM_BYTES = 120  # UTF-8 bytes; with slug, hash and ".json" the sidecar name stays under 255 bytes
MAX_SLUG_CHARS = 60
_DASHES = re.compile(r"-{2,}")
_DOTS = re.compile(r"\.{2,}")

# Content types raw/ keeps, by their extension. Generic types fall back to the URL's extension.
CONTENT_TYPES = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/pdf": "pdf",
    "application/x-pdf": "pdf",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
}
GENERIC_TYPES = {"", "application/octet-stream", "application/download", "application/force-download",
                 "application/x-download", "binary/octet-stream", "application/unknown"}
URL_EXTENSIONS = {"htm": "html", "html": "html", "shtml": "html", **{e: e for e in RAW_EXTENSIONS}}


def sha256_hex(data: bytes) -> str:
    """Return the sha256 of bytes as hex."""
    return hashlib.sha256(data).hexdigest()


def _allowed(ch: str) -> bool:
    return (ch.isascii() and (ch.isalnum() or ch in "._-")) or is_cjk(ch)


def sanitize_stem(text: str, *, max_bytes: int = MAX_STEM_BYTES, fallback: str = "file") -> str:
    """Reduce text to a safe name part: NFKC, keep [A-Za-z0-9._-] and CJK, no separators, no leading dots."""
    text = unicodedata.normalize("NFKC", text)
    out = "".join(ch if _allowed(ch) else "-" for ch in text)
    # "--" separates the parts of a raw name, and dots at the ends would hide the file or fake an extension.
    out = _DASHES.sub("-", _DOTS.sub(".", out)).strip("-._")
    while len(out.encode("utf-8")) > max_bytes:
        out = out[:-1]
    out = out.strip("-._")
    return out or fallback


def host_slug(host: str) -> str:
    """Turn a host name into a name part: mzj.xm.gov.cn -> mzj-xm-gov-cn."""
    host = (host or "").lower().split(":")[0]
    return sanitize_stem(host.replace(".", "-"), max_bytes=MAX_SLUG_CHARS, fallback="unknown-host")


def url_stem(url: str) -> str:
    """Return the URL's last path segment without extension, plus its query (detail.jsp?id=7 -> detail-id-7)."""
    parts = urlsplit(url)
    segment = unquote(parts.path.rstrip("/").rsplit("/", 1)[-1])
    stem = (segment.rsplit(".", 1)[0] if "." in segment else segment) or "index"
    return f"{stem}-{unquote(parts.query)}" if parts.query else stem


def url_extension(url: str) -> str | None:
    """Return the whitelisted extension the URL's path ends with, if any."""
    segment = urlsplit(url).path.rsplit("/", 1)[-1]
    if "." not in segment:
        return None
    return URL_EXTENSIONS.get(segment.rsplit(".", 1)[1].lower())


def disposition_filename(header: str | None) -> str | None:
    """Return the file name a Content-Disposition header suggests (RFC 6266 filename* first)."""
    if not header:
        return None
    msg = Message()
    msg["content-disposition"] = header
    name = msg.get_filename()
    return name or None


def _sniff(head: bytes) -> str | None:
    """Recognise the formats whose magic bytes are unambiguous."""
    if head.startswith(b"%PDF-"):
        return "pdf"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if stripped.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head", b"<meta")):
        return "html"
    return None


def extension_for(content_type: str | None, url: str, head: bytes = b"") -> str | None:
    """Pick the raw extension from the content type, else the URL; unambiguous magic bytes win."""
    sniffed = _sniff(head)
    mime = (content_type or "").split(";")[0].strip().lower()
    declared = CONTENT_TYPES.get(mime)
    if declared is None and mime in GENERIC_TYPES:
        declared = url_extension(url)
    if sniffed and declared != sniffed:
        # A 200 "file not found" page served for a .pdf link, or a PDF served as text/html.
        return sniffed
    return declared


def attachment_stem(url: str, link_text: str | None = None, disposition: str | None = None) -> str:
    """Name an attachment by its served file name, else a file-like link text, else its URL."""
    for candidate in (disposition_filename(disposition), link_text):
        if candidate and url_extension("x:/" + candidate.strip()):
            return candidate.strip().rsplit(".", 1)[0]
    return url_stem(url)


def raw_name(host: str, stem: str, sha256: str, ext: str) -> str:
    """Build the content-addressed raw file name ``<host-slug>--<stem>--<sha[:12]>.<ext>``."""
    if ext not in RAW_EXTENSIONS:
        raise ValueError(f"extension {ext!r} is not one raw/ keeps ({', '.join(RAW_EXTENSIONS)})")
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise ValueError("sha256 must be 64 lowercase hex digits")
    return f"{host_slug(host)}--{sanitize_stem(stem)}--{sha256[:12]}.{ext}"


def path_inside(directory: Path, name: str) -> Path:
    """Return directory/name, refusing any name that is not one plain file name inside directory."""
    if not name or name in (".", "..") or name.startswith(".") or "/" in name or "\\" in name or "\0" in name:
        raise ValueError(f"refusing unsafe file name {name!r}")
    base = directory.resolve()
    path = (base / name).resolve()
    if path.parent != base:
        raise ValueError(f"refusing file name {name!r}: it leaves {base}")
    return path
