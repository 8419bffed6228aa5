"""Rules on citations: a code cited with different years, a garbled title, one title cited with different codes."""

from __future__ import annotations

from difflib import SequenceMatcher

from pipeline.registers.standards import Registers, load_registers, match_title
from pipeline.flags.base import Frames, cell_locator, lineage_index, load_rule_settings, settings


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


def standard_year_differs(frames: Frames) -> list[dict]:
    """Flag each citation of a standard code whose year is not the canonical one (register, else the majority).

    One implementation, in SQL (pipeline/flags/corpus_sql.py): the build runs it over every published citation;
    here it runs over the frames given.
    """
    from pipeline.flags.corpus_sql import run_on_frames

    return run_on_frames(frames, "standard_year_differs", (frames.get("rule_settings") or load_rule_settings())["rules"])


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
    """Flag a code cited for a title that is registered (or most often cited) with another code (SQL, as above)."""
    from pipeline.flags.corpus_sql import run_on_frames

    return run_on_frames(frames, "citation_code_conflict", (frames.get("rule_settings") or load_rule_settings())["rules"])
