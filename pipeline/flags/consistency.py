"""Rules comparing the populations of one service item: supplier wording, content."""

from __future__ import annotations

from collections import Counter, defaultdict
from difflib import SequenceMatcher

from pipeline.derive.entities import supplier_text_to_suppliers
from pipeline.flags.base import Frames, diff_fragments, lineage_index, load_rule_settings, provision_finding, settings


def _items(provisions: list[dict]) -> list[list[dict]]:
    """Group provisions by service item (within one table), populations in order."""
    items: dict[tuple, list[dict]] = defaultdict(list)
    for p in provisions:
        items[(p["notice_id"], p["raw_file"], p["table_index"], p["item_no"], p["service_item"])].append(p)
    return [sorted(v, key=lambda p: p["population_no"]) for v in items.values()]


def _reference(rows: list[dict], column: str) -> str:
    """Return the wording most populations of an item share; on a tie, the first population's."""
    counts = Counter(p[column] for p in rows)
    best = max(counts.values())
    return next(p[column] for p in rows if counts[p[column]] == best)


def _separators(frames: Frames) -> str:
    return (frames.get("rule_settings") or load_rule_settings())["diff"]["chunk_separators"]


def _differences(rule: str, sev: str, rows: list[dict], column: str, frames: Frames, what: str,
                 min_similarity: float = 0.0) -> list[dict]:
    reference = _reference(rows, column)
    ref_pop = next(p for p in rows if p[column] == reference)["population_no"]
    lineage = lineage_index(frames)
    out = []
    for p in rows:
        text = p[column] or ""
        if text == reference or SequenceMatcher(None, text, reference, autojunk=False).ratio() < min_similarity:
            continue
        for a, b, fragment, ref_fragment in diff_fragments(text, reference, _separators(frames)):
            counterpart = f"reads {ref_fragment!r}" if ref_fragment else "has nothing in its place"
            message = (f"{what} of item {p['item_no']} ({p['service_item']}) population {p['population_no']} reads "
                       f"{fragment!r} where population {ref_pop} {counterpart}")
            out.append(provision_finding(rule, sev, p, column, a, b, fragment, ref_fragment or None, message, lineage))
    return out


def _supplier_keys(frames: Frames) -> dict[str, frozenset]:
    """Return each provision's set of suppliers: agency ids where the register knows them, else the names."""
    keys: dict[str, set] = defaultdict(set)
    if "provision_suppliers" in frames:
        for s in frames["provision_suppliers"]:
            keys[s["provision_id"]].add(s.get("agency_id") or s["name"])
    else:
        for p in frames.get("service_provisions", []):
            keys[p["provision_id"]] = {s["name"] for s in supplier_text_to_suppliers(p.get("supplier_text"))}
    return {k: frozenset(v) for k, v in keys.items()}


def supplier_wording_differs(frames: Frames) -> list[dict]:
    """Flag populations of one item that name the same suppliers in different words (民政部门 / 民政等相关部门)."""
    sev = settings(frames, "supplier_wording_differs")["severity"]
    keys = _supplier_keys(frames)
    out = []
    for rows in _items(frames.get("service_provisions", [])):
        same: dict[frozenset, list[dict]] = defaultdict(list)
        for p in rows:
            same[keys.get(p["provision_id"], frozenset())].append(p)
        for group in same.values():
            if len(group) > 1 and len({p["supplier_text"] for p in group}) > 1:
                out += _differences("supplier_wording_differs", sev, group, "supplier_text", frames, "supplier")
    return out


def content_differs_between_populations(frames: Frames) -> list[dict]:
    """Note near-identical contents that differ between populations of one item (informational)."""
    cfg = settings(frames, "content_differs_between_populations")
    out = []
    for rows in _items(frames.get("service_provisions", [])):
        if len(rows) > 1 and len({p["content"] for p in rows}) > 1:
            out += _differences("content_differs_between_populations", cfg["severity"], rows, "content", frames,
                                "content", cfg["min_similarity"])
    return out
