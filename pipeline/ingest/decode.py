"""Bytes to text for real pages: BOM, HTTP header, meta tag, then sniffing; never mojibake, never a silent U+FFFD.

Order of authority: a byte-order mark; the HTTP ``Content-Type`` charset; an XML declaration; a ``<meta>``
charset. Each declaration is widened to the superset real pages need (gb2312 -> GB18030: 〇 is not in
GB2312), and is believed only if the bytes decode strictly. Two ways real pages lie are caught: a server's
default single-byte charset (ISO-8859-1) in the header while the page is GBK, and a legacy declaration
on bytes that are in fact UTF-8. Undeclared bytes are sniffed, and a candidate that reads as mojibake is
refused. ``how`` says which source won (``meta:gb18030``); a replacement character already present in the
bytes is reported in it (``+U+FFFD×2``), never introduced by decoding.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

from charset_normalizer import from_bytes

from pipeline.errors import DecodeError, EmptyInput

# Declared charsets that real pages get wrong in one direction: the superset decodes every page the
# subset does, plus the characters the subset lacks (〇 is in GBK/GB18030, not in GB2312).
SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "gb_2312-80": "gb18030",
    "csgb2312": "gb18030",
    "euc-cn": "gb18030",
    "iso-8859-1": "cp1252",
    "latin-1": "cp1252",
    "latin1": "cp1252",
    "ascii": "utf-8",
    "us-ascii": "utf-8",
    "big5": "big5hkscs",
    "x-big5": "big5hkscs",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "unicode": "utf-16",
}
# Codecs the pages we read come in, tried when nothing usable is declared. The sniffer chooses among these
# only: left free it proposes EBCDIC or Korean codecs that decode GBK bytes into fluent-looking mojibake.
SNIFF_CODECS = ("utf_8", "gb18030", "big5hkscs", "cp1252")
HEAD_SCAN = 16384  # meta tags come after long inline scripts on some sites: scan further than the spec's 1024
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.\-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_.\-]+)["']""", re.I)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_:.\-]+)", re.I)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: its BOM starts the same way
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_TAG = re.compile(rb"<[!/?A-Za-z][^<>\x00]*>")  # markup as single ASCII bytes: impossible in UTF-16/32
_SINGLE_BYTE = {"cp1252", "iso8859-1", "latin-1", "windows-1252", "iso-8859-1"}
_UNICODE = {"utf-8", "utf-8-sig", "utf-16", "utf-32"}


def canonical_charset(name: str | None) -> str | None:
    """Return the Python codec to use for a declared charset, widened to its superset."""
    if not name:
        return None
    name = name.strip().strip("\"'").lower()
    if name in SUPERSETS:
        return SUPERSETS[name]
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return None
    return SUPERSETS.get(codec, codec)


def declared_charsets(data: bytes, content_type: str | None = None) -> list[tuple[str, str]]:
    """List (source, codec) pairs the bytes declare, most authoritative first."""
    found: list[tuple[str, str]] = []
    for bom, codec in _BOMS:
        if data.startswith(bom):
            found.append(("bom", codec))
            break
    if content_type and (m := _HEADER_CHARSET.search(content_type)):
        if codec := canonical_charset(m.group(1)):
            found.append(("http", codec))
    head = data[:HEAD_SCAN]
    for source, pattern in (("xml", _XML_ENCODING), ("meta", _META_CHARSET)):
        if (m := pattern.search(head)) and (codec := canonical_charset(m.group(1).decode("ascii", "ignore"))):
            found.append((source, codec))
    return found


def _strict(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _utf8_evidence(data: bytes) -> str | None:
    """Return the UTF-8 text when the bytes decode strictly and carry multi-byte characters."""
    text = _strict(data, "utf-8")
    return text if text is not None and any(ord(ch) > 0x7F for ch in text) else None


def _common(ch: str) -> bool:
    if 0x3000 <= ord(ch) <= 0x303F or 0xFF00 <= ord(ch) <= 0xFFEF:
        return True
    for codec in ("gb2312", "big5"):
        try:
            ch.encode(codec)
            return 0x4E00 <= ord(ch) <= 0x9FFF
        except UnicodeEncodeError:
            pass
    return False


def common_han_share(text: str) -> float:
    """Return the share of non-ASCII characters that are common Han characters or CJK punctuation.

    Right decodings of Chinese pages score near 1; UTF-8 bytes read as GBK give rare characters outside
    GB2312 and Big5, and GBK bytes that happen to be valid UTF-8 give Cyrillic or Latin letters.
    """
    non_ascii = [ch for ch in text if ord(ch) > 0x7F]
    return sum(map(_common, non_ascii)) / len(non_ascii) if non_ascii else 0.0


_LATIN_RUN = re.compile(r"[\u00a0-\u024f\u2013-\u203a\u02c6\u02dc\u2122]{3,}")


def mojibake_score(text: str) -> float:
    """Return the share of non-ASCII characters that only a wrong codec produces.

    C1 controls, private-use and unassigned code points never appear in a real page. Runs of three or
    more Latin-1/cp1252 symbols (Ïÿ·Ö, Ã¥Â) are CJK or UTF-8 bytes read one by one as a single-byte
    codec; real European text puts at most two accented letters side by side, and Chinese punctuation
    runs (……” ——“) have no Latin letters at all.
    """
    non_ascii = sum(1 for ch in text if ord(ch) > 0x7F)
    if not non_ascii:
        return 0.0
    bad = sum(1 for ch in text if ord(ch) > 0x7F and unicodedata.category(ch) in ("Cc", "Co", "Cn"))
    for m in _LATIN_RUN.finditer(text):
        if sum(ch.isalpha() for ch in m.group()) >= 2:
            bad += len(m.group())
    return bad / non_ascii


def _plausible(text: str) -> bool:
    return mojibake_score(text) < 0.02


def _with_replacements(text: str, how: str) -> tuple[str, str]:
    """Report replacement characters that were already in the bytes (the publisher's, kept as published)."""
    n = text.count("\ufffd")
    return text, f"{how}+U+FFFD×{n}" if n else how


def _wide(codec: str) -> bool:
    """Tell whether a codec is UTF-16 or UTF-32: ASCII markup in it has NUL bytes beside every character."""
    return codec.startswith(("utf-16", "utf-32"))


def _ascii_markup(data: bytes) -> bool:
    """Tell whether the bytes carry HTML markup as single ASCII bytes (so they are not UTF-16/32)."""
    head = data[:HEAD_SCAN]
    return b"\x00" not in head and _TAG.search(head) is not None


def _wide_codec(data: bytes, codec: str) -> str:
    """Resolve a BOM-less UTF-16/32 to the byte order whose reading has the most ASCII (markup, digits, spaces)."""
    if codec not in ("utf-16", "utf-32"):
        return codec
    readings = [(sum(ch < "\x80" for ch in text), c) for c in (f"{codec}-le", f"{codec}-be")
                if (text := _strict(data, c)) is not None]
    return max(readings)[1] if readings else codec


def _fitting(data: bytes, declared: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Replace the UTF-16/32 declarations the bytes cannot fit by UTF-8, marked as a mismatch of their source."""
    fitting = []
    for source, codec in declared:
        if _wide(codec) and (source in ("meta", "xml") or _ascii_markup(data)):
            fitting.append((f"{source}-mismatch", "utf-8"))
        else:
            fitting.append((source, _wide_codec(data, codec) if _wide(codec) else codec))
    return fitting


def _bom(data: bytes) -> tuple[bytes, str] | None:
    return next(((bom, codec) for bom, codec in _BOMS if data.startswith(bom)), None)


def _from_bom(data: bytes, declared: list[tuple[str, str]]) -> tuple[str, str] | None:
    """Believe a byte-order mark the bytes fit; else drop it and read the rest by the other declarations."""
    bom, codec = _bom(data)  # type: ignore[misc]  # only called when declared_charsets found one
    text = _strict(data, codec)
    if text is not None and not (_wide(codec) and _ascii_markup(data[len(bom):])):
        return text, f"bom:{codec}"
    rest = data[len(bom):]
    found = _from_declared(rest, declared[1:]) or _sniffed(rest, True)
    return (found[0], f"bom-mismatch+{found[1]}") if found else None


def _from_declared(data: bytes, declared: list[tuple[str, str]]) -> tuple[str, str] | None:
    if declared and declared[0][0] == "bom":
        return _from_bom(data, declared)
    declared = _fitting(data, declared)
    utf8 = _utf8_evidence(data)
    multibyte = [(s, c) for s, c in declared if c not in _SINGLE_BYTE]
    for source, codec in declared:
        if codec in _SINGLE_BYTE and any(_strict(data, c) is not None for _, c in multibyte):
            continue  # a server's default Latin-1 header loses to the page's own CJK declaration
        text = _strict(data, codec)
        if (codec in _UNICODE or _wide(codec)) and text is not None:
            return text, f"{source}:{codec}"  # strict UTF-8 of a CJK page is never an accident; skip the heuristics
        if codec not in _UNICODE and not _wide(codec) and utf8 is not None:
            # Pages re-saved as UTF-8 keep their old declaration. Valid UTF-8 is never Latin-1 text by
            # accident; GBK text can be valid UTF-8 by accident (一 is D2 BB), so there the readings compete.
            if codec in _SINGLE_BYTE or text is None or common_han_share(utf8) > common_han_share(text):
                return utf8, f"{source}-mismatch:utf-8"
        if text is not None and _plausible(text):
            return text, f"{source}:{codec}"
    return None


def _sniffed(data: bytes, declared: bool) -> tuple[str, str] | None:
    prefix = "declared-wrong-sniff" if declared else "sniff"
    best = from_bytes(data, cp_isolation=list(SNIFF_CODECS)).best()
    ranked = [best.encoding] if best is not None else []
    candidates = list(dict.fromkeys(canonical_charset(c) or c for c in ["utf_8", *ranked, *SNIFF_CODECS]))
    for codec in candidates:
        text = _strict(data, codec)
        if text is not None and _plausible(text):
            return text, f"{prefix}:{codec}"
    return None


def decode_bytes(data: bytes, content_type: str | None = None, *, file: str | None = None) -> tuple[str, str]:
    """Decode page bytes; return (text, "source:codec"). Raise DecodeError rather than guess badly."""
    if not data:
        raise EmptyInput("the file is empty", file=file, stage="decode")
    declared = declared_charsets(data, content_type)
    found = _from_declared(data, declared) or _sniffed(data, bool(declared))
    if found is not None:
        return _with_replacements(*found)
    said = ", ".join(f"{s}={c}" for s, c in declared) or "nothing"
    raise DecodeError(
        f"bytes do not decode as the declared charset ({said}) nor as any charset sniffed from them "
        "without mojibake",
        file=file,
        stage="decode",
    )
