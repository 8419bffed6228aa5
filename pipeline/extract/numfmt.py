"""Spreadsheet cell values to the text Excel shows for them, by the cell's number format (ECMA-376 codes).

Covers what published tables use: General (``1`` not ``1.0``, codes like 4111010001 as digits, 15
significant digits), fixed decimals, thousands separators, percentages, scaling commas, scientific
notation, currency/locale brackets, literal text, and date/time codes including Chinese ones
(``yyyy"年"m"月"d"日"``, ``aaaa``). Excel's locale-dependent short date (built-in format 14) is shown ISO-like
(``2024-07-01``), since the display depends on the reader's system settings. A code this module cannot
render (``[DBNum1]`` Chinese numerals, fractions, digits interleaved with text) falls back to General and
is reported by ``display`` as unsupported, so the caller can warn.

The one maintained Python port of a full formatter (``ssf``) was last released in 2020 and pulls in seven
dependencies; the subset here is small enough to keep and test in place.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import ROUND_HALF_UP, Decimal

# Built-in format 14 (and 22 with a time) follow the reader's locale; libraries spell them in US codes
# (openpyxl mm-dd-yy, xlrd m/d/yy, LibreOffice writes m/d/yyyy when it saves an XLS). Show them ISO-like.
_LOCALE_DATES = {"mm-dd-yy": "yyyy-mm-dd", "m/d/yy": "yyyy-mm-dd", "m/d/yyyy": "yyyy-mm-dd",
                 "m/d/yy h:mm": "yyyy-mm-dd hh:mm", "mm-dd-yy h:mm": "yyyy-mm-dd hh:mm",
                 "m/d/yyyy h:mm": "yyyy-mm-dd hh:mm"}
# Built-in formats that files reference by id alone and whose code depends on the locale: the zh-CN codes
# (ECMA-376 Part 1, 18.8.30), which is what Chinese Excel and WPS mean by them.
CJK_BUILTIN_FORMATS = {
    27: 'yyyy"年"m"月"', 28: 'm"月"d"日"', 29: 'm"月"d"日"', 30: "m-d-yy", 31: 'yyyy"年"m"月"d"日"',
    32: 'h"时"mm"分"', 33: 'h"时"mm"分"ss"秒"', 34: '上午/下午h"时"mm"分"', 35: '上午/下午h"时"mm"分"ss"秒"',
    36: 'yyyy"年"m"月"', 50: 'yyyy"年"m"月"', 51: 'm"月"d"日"', 52: 'yyyy"年"m"月"', 53: 'm"月"d"日"',
    54: 'm"月"d"日"', 55: '上午/下午h"时"mm"分"', 56: '上午/下午h"时"mm"分"ss"秒"', 57: 'yyyy"年"m"月"',
    58: 'm"月"d"日"',
}
# Built-ins 14 and 22 are the reader's locale short date (and time): whatever code the file or the
# library gives for them, show them ISO-like.
LOCALE_BUILTIN_FORMATS = {14: "yyyy-mm-dd", 22: "yyyy-mm-dd hh:mm"}


def builtin_format(fmt_id: int) -> str | None:
    """Return the code to show a locale-dependent built-in format id with, or None for any other id."""
    return LOCALE_BUILTIN_FORMATS.get(fmt_id) or CJK_BUILTIN_FORMATS.get(fmt_id)
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_CN_DAYS = "一二三四五六日"
_BRACKET = re.compile(r"\[([^\]]*)\]")
_ELAPSED = re.compile(r"^(h+|m+|s+)$", re.I)


class Unsupported(ValueError):
    """A number format code outside the supported subset."""


def split_sections(fmt: str) -> list[str]:
    """Split a format code at ``;`` outside quotes, brackets and escapes."""
    out, cur, i, quoted, bracket = [], [], 0, False, False
    while i < len(fmt):
        ch = fmt[i]
        if ch == "\\" and not quoted and i + 1 < len(fmt):
            cur.append(fmt[i : i + 2])
            i += 2
            continue
        if ch == '"' and not bracket:
            quoted = not quoted
        elif ch == "[" and not quoted:
            bracket = True
        elif ch == "]" and not quoted:
            bracket = False
        elif ch == ";" and not quoted and not bracket:
            out.append("".join(cur))
            cur = []
            i += 1
            continue
        cur.append(ch)
        i += 1
    out.append("".join(cur))
    return out


def _tokens(section: str) -> list[tuple[str, str]]:
    """Split one section into ("lit", text), ("br", bracket content) and ("code", char) tokens."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(section):
        ch = section[i]
        if ch == '"':
            j = section.find('"', i + 1)
            j = len(section) if j < 0 else j
            out.append(("lit", section[i + 1 : j]))
            i = j + 1
        elif ch == "\\" and i + 1 < len(section):
            out.append(("lit", section[i + 1]))
            i += 2
        elif ch in "_*" and i + 1 < len(section):  # padding to a character's width / fill: no text
            i += 2
        elif ch == "[":
            j = section.find("]", i)
            j = len(section) if j < 0 else j
            out.append(("br", section[i + 1 : j]))
            i = j + 1
        else:
            out.append(("code", ch))
            i += 1
    return out


def _bracket_text(content: str) -> str:
    """Return the text a bracket prints: the symbol of ``[$¥-804]``; colors, conditions, locales print nothing."""
    if content.startswith("$"):
        return content[1:].split("-", 1)[0]
    if content.upper().startswith("DBNUM"):
        raise Unsupported(f"[{content}] (numerals as characters)")
    return ""


def is_date_format(fmt: str) -> bool:
    """Tell whether a format code shows a date or time (y, m, d, h, s outside quotes and brackets)."""
    if not fmt or fmt.lower() == "general":
        return False
    section = split_sections(fmt)[0]
    codes = ""
    for kind, text in _tokens(section):
        if kind == "br" and _ELAPSED.match(text):
            return True
        if kind == "code":
            codes += text.lower()
    if "general" in codes:
        return False
    return any(ch in codes for ch in "ymdhs") or "aaa" in codes


def general(value: float | int) -> str:
    """Show a number as Excel's General format does: integers as digits, up to 15 significant digits."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value) or math.isinf(value):
        return "#NUM!"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    d = Decimal(f"{value:.15g}")
    if d != 0 and -10 <= d.adjusted() < 15:
        return format(d, "f")
    return f"{value:.15g}".replace("e", "E")


def _round(value: float, places: int) -> str:
    """Round half away from zero at ``places`` decimals, as Excel does on the 15-digit value."""
    q = Decimal(f"{value:.15g}").quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return format(q, "f")


def _group(digits: str) -> str:
    head = len(digits) % 3 or 3
    return ",".join([digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)])


def _number(value: float, section: str) -> str:
    """Render |value| (the section decides the sign) with one section's placeholders and literals."""
    toks = _tokens(section)
    prefix, pattern, suffix = [], [], []
    for kind, text in toks:
        if kind == "br":
            (suffix if pattern else prefix).append(_bracket_text(text))
        elif kind == "code" and text in "0#?.,":
            if suffix and "".join(suffix).strip():
                raise Unsupported(f"digits interleaved with text in {section!r}")
            pattern.append(text)
        elif kind == "code" and text in "Ee" and pattern:
            pattern.append("E")
        elif kind == "code" and text in "+-" and pattern and pattern[-1] == "E":
            pattern.append(text)
        elif kind == "code" and text == "/":
            raise Unsupported(f"fraction in {section!r}")
        elif kind == "code" and text == "@":
            raise Unsupported(f"text placeholder in a number section {section!r}")
        else:
            (suffix if pattern else prefix).append(text)
    if not pattern:  # a section of literals only (e.g. "-" for zero)
        return "".join(prefix)
    value = abs(value) * 100 ** "".join(prefix + suffix).count("%")
    p = "".join(pattern)
    if "E" in p:
        mant, _, exp = p.partition("E")
        places = sum(mant.partition(".")[2].count(c) for c in "0#?")
        s = f"{value:.{places}E}"
        m, e = s.split("E")
        sign, digits = e[0], e[1:].lstrip("0") or "0"
        digits = digits.rjust(max(1, exp.count("0")), "0")
        body = f"{m}E{'+' if sign == '+' and exp.startswith('+') else '-' if sign == '-' else ''}{digits}"
        return "".join(prefix) + body + "".join(suffix)
    int_pat, _, dec_pat = p.partition(".")
    while int_pat.endswith(","):  # trailing commas scale by a thousand each
        value /= 1000
        int_pat = int_pat[:-1]
    thousands = "," in int_pat
    min_int = int_pat.count("0")
    places = sum(dec_pat.count(c) for c in "0#?")
    keep = dec_pat.count("0")
    s = _round(value, places)
    int_s, _, frac = s.partition(".")
    frac = frac.rstrip("0").ljust(keep, "0") if places else ""
    if int_s == "0" and min_int == 0:
        int_s = ""
    int_s = int_s.rjust(min_int, "0")
    if thousands and int_s:
        int_s = _group(int_s)
    body = int_s + ("." + frac if "." in p and (frac or places) else "")
    return "".join(prefix) + body + "".join(suffix)


def format_number(value: float | int, fmt: str) -> str:
    """Show a number by its format code (General when the code is General or empty)."""
    if not fmt or fmt.strip().lower() == "general":
        return general(value)
    sections = split_sections(fmt)
    if value < 0 and len(sections) >= 2 and sections[1]:
        section, signed = sections[1], False
    elif value == 0 and len(sections) >= 3:
        section, signed = sections[2], False
    else:
        section, signed = sections[0], value < 0
    codes = "".join(t for k, t in _tokens(section) if k == "code").lower()
    if "general" in codes or codes == "@":  # a number under a text format shows as General
        return general(value if signed or value >= 0 else -value)
    out = _number(value, section)
    return "-" + out if signed and any(ch in "123456789" for ch in out) else out


def _as_datetime(value: dt.datetime | dt.date | dt.time | dt.timedelta | float) -> tuple[dt.datetime, float]:
    """Return the value as a datetime and as an Excel serial (days since 1899-12-30)."""
    if isinstance(value, dt.timedelta):
        return _EXCEL_EPOCH + value, value.total_seconds() / 86400
    if isinstance(value, dt.datetime):
        return value, (value - _EXCEL_EPOCH).total_seconds() / 86400
    if isinstance(value, dt.date):
        d = dt.datetime(value.year, value.month, value.day)
        return d, (d - _EXCEL_EPOCH).total_seconds() / 86400
    if isinstance(value, dt.time):
        secs = value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
        return _EXCEL_EPOCH + dt.timedelta(seconds=secs), secs / 86400
    serial = float(value)
    return _EXCEL_EPOCH + dt.timedelta(days=serial), serial


def format_datetime(value, fmt: str) -> str:
    """Show a date, time or duration by its format code (locale short dates as ISO-like)."""
    fmt = _LOCALE_DATES.get(fmt.strip().lower(), fmt)
    section = split_sections(fmt)[0]
    when, serial = _as_datetime(value)
    toks = _tokens(section)
    codes = "".join(t for k, t in toks if k == "code").lower()
    twelve = "am/pm" in codes or "a/p" in codes or "上午/下午" in section
    shows_fraction = bool(re.search(r"s+\.0", codes))
    if not shows_fraction and when.microsecond:
        when = (when + dt.timedelta(microseconds=500_000)).replace(microsecond=0)
    out: list[str] = []
    i = 0
    last_time = False  # the previous date/time code was an hour: a following m means minutes

    def run(ch: str) -> int:
        n = 0
        while i + n < len(toks) and toks[i + n][0] == "code" and toks[i + n][1].lower() == ch:
            n += 1
        return n

    while i < len(toks):
        kind, text = toks[i]
        if kind == "lit":
            out.append(text)
            i += 1
            continue
        if kind == "br":
            m = _ELAPSED.match(text)
            if m:
                unit = m.group(1)[0].lower()
                total = {"h": serial * 24, "m": serial * 1440, "s": serial * 86400}[unit]
                out.append(str(int(total)).rjust(len(m.group(1)), "0"))
                last_time = unit == "h"
            else:
                out.append(_bracket_text(text))
            i += 1
            continue
        low = text.lower()
        rest = "".join(t for _, t in toks[i:]).lower()
        if rest.startswith("am/pm"):
            out.append("AM" if when.hour < 12 else "PM")
            i += 5
            continue
        if rest.startswith("a/p"):
            out.append("A" if when.hour < 12 else "P")
            i += 3
            continue
        if "".join(t for _, t in toks[i : i + 5]) == "上午/下午":
            out.append("上午" if when.hour < 12 else "下午")
            i += 5
            continue
        n = run(low) if low in "ymdhsae" else 0
        if low in "ye":
            out.append(str(when.year) if n >= 3 or low == "e" else f"{when.year % 100:02d}")
        elif low == "m":
            ahead = "".join(t for k, t in toks[i + n :] if k == "code").lower().lstrip(" :")
            minutes = n <= 2 and (last_time or ahead.startswith("s"))
            if minutes:
                out.append(f"{when.minute:0{n}d}")
            elif n <= 2:
                out.append(f"{when.month:0{n}d}")
            else:
                name = _MONTHS[when.month - 1]
                out.append(name[:3] if n == 3 else name[0] if n == 5 else name)
        elif low == "d":
            if n <= 2:
                out.append(f"{when.day:0{n}d}")
            else:
                out.append(_DAYS[when.weekday()][:3] if n == 3 else _DAYS[when.weekday()])
        elif low == "a" and n >= 3:
            out.append(("星期" if n >= 4 else "") + _CN_DAYS[when.weekday()])
        elif low == "h":
            hour = when.hour % 12 or 12 if twelve else when.hour
            out.append(f"{hour:0{min(n, 2)}d}")
        elif low == "s":
            out.append(f"{when.second:0{min(n, 2)}d}")
            j = i + n
            if j + 1 < len(toks) and toks[j][1] == "." and toks[j + 1][1] == "0":
                k = j + 1
                while k < len(toks) and toks[k][1] == "0":
                    k += 1
                places = k - j - 1
                out.append("." + f"{when.microsecond / 1e6:.{places}f}"[2:])
                n = k - i
        elif low == "g":
            n = run("g")  # era names: not used in Chinese notices
        else:
            out.append(text)
            n = 1
        if low in "hs":
            last_time = low == "h"
        elif low in "ymd":
            last_time = False
        i += max(n, 1)
    return "".join(out)


def display(value, fmt: str | None) -> tuple[str, str | None]:
    """Return (text Excel shows, problem or None) for a cell value and its number format code."""
    fmt = fmt or "General"
    if value is None:
        return "", None
    if isinstance(value, str):
        return value, None
    if isinstance(value, bool):
        return ("TRUE" if value else "FALSE"), None
    try:
        if isinstance(value, (dt.datetime, dt.date, dt.time, dt.timedelta)):
            if not is_date_format(fmt):
                timeless = isinstance(value, dt.date) and not isinstance(value, dt.datetime) or (
                    isinstance(value, dt.datetime) and value.time() == dt.time())
                fmt = "yyyy-mm-dd" if timeless else "yyyy-mm-dd hh:mm:ss"
            return format_datetime(value, fmt), None
        if is_date_format(fmt):
            return format_datetime(float(value), fmt), None
        return format_number(value, fmt), None
    except (Unsupported, ValueError, OverflowError, IndexError) as exc:
        shown = general(value) if isinstance(value, (int, float)) else str(value)
        return shown, f"number format {fmt!r} not supported ({exc}); shown as General"
