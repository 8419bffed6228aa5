"""Whitespace normalization that keeps the published characters.

Only whitespace changes: runs collapse to one space, and a line break between CJK text disappears instead
of becoming a space (``照护`` + ``服务类`` -> ``照护服务类``). Spaces inside a line are kept, because
published titles carry them (``《厦门市民政局 厦门市财政局关于转发…》``).
"""

from __future__ import annotations

import re
import unicodedata

_WS_RUN = re.compile(r"[ \t\u00a0\u3000\u2002\u2003\u2009\u200b\ufeff]+")
_LINE_BREAK = re.compile(r"[\r\n\u2028\u2029\x0b\x0c]+")


def is_cjk(ch: str) -> bool:
    """Tell whether a character is Han, CJK punctuation or a full-width form."""
    if not ch:
        return False
    o = ord(ch)
    return (
        0x3000 <= o <= 0x303F  # CJK symbols and punctuation
        or 0x3400 <= o <= 0x4DBF
        or 0x4E00 <= o <= 0x9FFF
        or 0xF900 <= o <= 0xFAFF
        or 0xFF00 <= o <= 0xFFEF  # full-width forms
        or 0x2E80 <= o <= 0x2FDF
        or 0x20000 <= o <= 0x3134F
        or ch in "“”‘’—…·"
    )


def normalize_line(line: str) -> str:
    """Collapse whitespace runs inside one line to a single space and trim the ends."""
    return _WS_RUN.sub(" ", line).strip()


def join_lines(lines: list[str], latin_sep: str = " ") -> str:
    """Join lines: nothing between CJK text, ``latin_sep`` between two Latin/number ends."""
    out = ""
    for line in lines:
        line = normalize_line(line)
        if not line:
            continue
        if out and not (is_cjk(out[-1]) or is_cjk(line[0])):
            out += latin_sep
        out += line
    return out


def clean_text(text: str | None, latin_sep: str = " ") -> str:
    """Normalize the whitespace of a cell or paragraph's text, joining its lines CJK-aware."""
    if not text:
        return ""
    return join_lines(_LINE_BREAK.split(text), latin_sep)


def squash(text: str) -> str:
    """Remove all whitespace, for matching labels like ``索 引 号`` against vocabulary (never stored)."""
    return "".join(unicodedata.normalize("NFKC", text).split())
