"""Bytes to text for real pages: BOM, HTTP header, meta tag, then sniffing; never a silent replacement."""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

from .errors import DecodeError, EmptyInput

# Declared charsets that real pages get wrong in one direction: the superset decodes every page the
# subset does, plus the characters the subset lacks (〇 is in GBK/GB18030, not in GB2312).
SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "gb_2312-80": "gb18030",
    "iso-8859-1": "cp1252",
    "latin-1": "cp1252",
    "ascii": "utf-8",
    "us-ascii": "utf-8",
    "big5": "big5hkscs",
}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.\-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_.\-]+)["']""", re.I)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_:.\-]+)", re.I)
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_SINGLE_BYTE = {"cp1252", "iso-8859-1", "latin-1", "windows-1252"}


def canonical_charset(name: str | None) -> str | None:
    """Return the Python codec to use for a declared charset, widened to its superset."""
    if not name:
        return None
    name = name.strip().lower()
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return None
    return SUPERSETS.get(name, SUPERSETS.get(codec, codec))


def declared_charsets(data: bytes, content_type: str | None = None) -> list[tuple[str, str]]:
    """List (source, codec) pairs the bytes declare, most authoritative first."""
    found: list[tuple[str, str]] = []
    for bom, codec in _BOMS:
        if data.startswith(bom):
            found.append(("bom", codec))
    if content_type and (m := _HEADER_CHARSET.search(content_type)):
        if codec := canonical_charset(m.group(1)):
            found.append(("http", codec))
    head = data[:4096]
    for source, pattern in (("xml", _XML_ENCODING), ("meta", _META_CHARSET)):
        if (m := pattern.search(head)) and (codec := canonical_charset(m.group(1).decode("ascii", "ignore"))):
            found.append((source, codec))
    return found


def _strict(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _looks_utf8(data: bytes) -> bool:
    return any(b > 0x7F for b in data) and _strict(data, "utf-8") is not None


def decode_bytes(data: bytes, content_type: str | None = None, *, file: str | None = None) -> tuple[str, str]:
    """Decode page bytes; return (text, "source:codec"). Raise DecodeError rather than guess badly."""
    if not data:
        raise EmptyInput("the file is empty", file=file, stage="decode")
    declared = declared_charsets(data, content_type)
    for source, codec in declared:
        # A single-byte declaration decodes anything; bytes that are valid UTF-8 are UTF-8 in practice.
        if codec in _SINGLE_BYTE and _looks_utf8(data):
            return data.decode("utf-8"), f"{source}-mismatch:utf-8"
        if (text := _strict(data, codec)) is not None:
            return text, f"{source}:{codec}"
    if (text := _strict(data, "utf-8")) is not None:
        return text, "sniff:utf-8"
    best = from_bytes(data).best()
    if best is not None:
        codec = canonical_charset(best.encoding) or best.encoding
        if (text := _strict(data, codec)) is not None:
            how = "sniff" if not declared else "declared-wrong-sniff"
            return text, f"{how}:{codec}"
    said = ", ".join(f"{s}={c}" for s, c in declared) or "nothing"
    raise DecodeError(
        f"bytes do not decode as the declared charset ({said}) nor as any charset sniffed from them",
        file=file,
        stage="decode",
    )
