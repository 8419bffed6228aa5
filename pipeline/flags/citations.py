"""Rules on citations: a code cited with different years, a garbled title, one title cited with different codes."""

from __future__ import annotations

from collections import Counter, defaultdict
from difflib import SequenceMatcher

from pipeline.registers.standards import Registers, load_registers, match_title
from pipeline.flags.base import Frames, cell_locator, lineage_index, settings


def _registers(frames: Frames) -> Registers:
    return frames.get("registers") or load_registers()


def _citation_finding(rule: str, sev: str, c: dict, provision: dict, column: str, start: int, end: int,
                      evidence: str, suggestion: str | None, message: str, lineage: dict) -> dict:
    """Build a finding on a citation, located to the span of the provision's standard_text it was read from."""
    return {
        "rule": rule, "severity": sev, "record_table": "citations", "record_id": c["citation_id"],
        "column_name": column, "evidence": evidence, "suggestion": suggestion,
        "locator": cell_locator(provision, "standard_text", start, end, lineage), "notice_id": c["notice_id"],
        "raw_file": c["raw_file"], "raw_sha256": c["raw_sha256"], "span_start": start, "span_end": end,
        "message": message,
    }


def _majority(counts: Counter) -> object | None:
    """Return the most common value, or None when two values tie for most common."""
    top = counts.most_common(2)
    if not top or (len(top) == 2 and top[0][1] == top[1][1]):
        return None
    return top[0][0]


def _with_year(code_as_written: str, year: int) -> str:
    """Rewrite a written code with another year, keeping how it was written (DB3502/T091-2023 -> …-2022)."""
    stem, _, old = code_as_written.rpartition("-")
    return f"{stem}-{year}" if stem and old.strip().isdigit() else f"{code_as_written}-{year}"


def _years_text(counts: Counter) -> str:
    return ", ".join(f"{y}×{n}" for y, n in sorted(counts.items()))


def standard_year_differs(frames: Frames) -> list[dict]:
    """Flag each citation of a standard code whose year is not the canonical one (register, else the majority)."""
    cfg = settings(frames, "standard_year_differs")
    registers = _registers(frames)
    provisions = {p["provision_id"]: p for p in frames.get("service_provisions", [])}
    lineage = lineage_index(frames)
    dated = [c for c in frames.get("citations", []) if c.get("code") and c.get("code_year")]
    all_years: dict[str, Counter] = defaultdict(Counter)
    notice_years: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for c in dated:
        all_years[c["code"]][c["code_year"]] += 1
        notice_years[(c["notice_id"], c["code"])][c["code_year"]] += 1
    out = []
    for c in dated:
        code, year = c["code"], c["code_year"]
        std = registers.by_code.get(code)
        canonical = std.current_year if std and std.current_year else _majority(all_years[code])
        in_notice = notice_years[(c["notice_id"], code)]
        if canonical is None and len(in_notice) < 2:
            continue  # no canonical year and one year within the notice: nothing to compare against
        if year == canonical:
            continue
        basis = ("the register's current edition" if std and std.current_year
                 else f"the year most often cited across all notices: {_years_text(all_years[code])}")
        scope = f"this notice cites {code} with {_years_text(in_notice)}"
        if canonical is None:
            message = f"{code} cited with {year}; {scope}; no year is cited most often: record the edition in standards.toml"
            suggestion = None
        else:
            message = f"{code} cited with {year}, canonical {canonical} ({basis}); {scope}"
            suggestion = _with_year(c["code_as_written"], canonical)
        sev = cfg["known_edition_severity"] if std and year in std.years else cfg["severity"]
        out.append(_citation_finding("standard_year_differs", sev, c, provisions[c["provision_id"]], "code_as_written", c["code_start"],
                                     c["code_end"], c["code_as_written"], suggestion, message, lineage))
    return out


def _difference(written: str, known: str) -> str:
    parts = []
    for op, i1, i2, j1, j2 in SequenceMatcher(None, written, known, autojunk=False).get_opcodes():
        if op == "insert":
            parts.append(f"missing {known[j1:j2]!r}")
        elif op == "delete":
            parts.append(f"inserted {written[i1:i2]!r}")
        elif op == "replace":
            parts.append(f"{written[i1:i2]!r} for {known[j1:j2]!r}")
    return "; ".join(parts)


def citation_title_near_match(frames: Frames) -> list[dict]:
    """Flag each cited title that is not a known title but nearly matches one (a garbled title)."""
    cfg = settings(frames, "citation_title_near_match")
    registers = _registers(frames)
    provisions = {p["provision_id"]: p for p in frames.get("service_provisions", [])}
    lineage = lineage_index(frames)
    out = []
    for c in frames.get("citations", []):
        written = c.get("title_as_written")
        if not written:
            continue
        status, known, score = match_title(written, registers, cfg["min_score"])
        if status != "near_match":
            continue
        message = f"title not in the register; nearest registered title scores {score:.0f}: {_difference(written, known)}"
        out.append(_citation_finding("citation_title_near_match", cfg["severity"], c, provisions[c["provision_id"]],
                                     "title_as_written", c["title_start"], c["title_end"], written, known, message,
                                     lineage))
    return out


def citation_code_conflict(frames: Frames) -> list[dict]:
    """Flag a code cited for a title that is registered (or most often cited) with another code."""
    cfg = settings(frames, "citation_code_conflict")
    registers = _registers(frames)
    provisions = {p["provision_id"]: p for p in frames.get("service_provisions", [])}
    lineage = lineage_index(frames)
    coded = [c for c in frames.get("citations", []) if c.get("code") and c.get("title_as_written")]
    by_title: dict[str, Counter] = defaultdict(Counter)
    for c in coded:
        by_title[c.get("title") or c["title_as_written"]][c["code"]] += 1
    registered = {s.title: s.code for s in registers.standards}
    out = []
    for c in coded:
        title = c.get("title") or c["title_as_written"]
        expected = registered.get(title) or _majority(by_title[title])
        code_owner = registers.by_code.get(c["code"])
        if expected is None and len(by_title[title]) > 1:
            message = f"《{title}》 is cited with codes {', '.join(sorted(by_title[title]))}; none most often"
        elif expected is not None and c["code"] != expected:
            message = f"《{title}》 is {'registered' if title in registered else 'most often cited'} as {expected}, cited here as {c['code']}"
        elif code_owner is not None and code_owner.title != title and title in registers.titles:
            expected = registered.get(title)
            message = f"{c['code']} is registered as 《{code_owner.title}》, cited here for 《{title}》"
        else:
            continue
        out.append(_citation_finding("citation_code_conflict", cfg["severity"], c, provisions[c["provision_id"]],
                                     "code_as_written", c["code_start"], c["code_end"], c["code_as_written"],
                                     expected, message, lineage))
    return out
