"""Rules on the list's structure: item numbers repeated or out of order, required cells left empty."""

from __future__ import annotations

from collections import defaultdict

from pipeline.flags.base import Frames, lineage_index, provision_finding, settings


def _tables(provisions: list[dict]) -> dict[tuple, list[dict]]:
    """Group provisions by the table they were read from, in source row order."""
    tables: dict[tuple, list[dict]] = defaultdict(list)
    for p in provisions:
        tables[(p["notice_id"], p["raw_file"], p["table_index"])].append(p)
    return {k: sorted(v, key=lambda p: p["source_row"]) for k, v in tables.items()}


def item_numbering(frames: Frames) -> list[dict]:
    """Flag an item number used for two items (item_no_repeated) or breaking the 1, 2, 3 … order (item_no_out_of_order)."""
    rep = settings(frames, "item_no_repeated")["severity"]
    order = settings(frames, "item_no_out_of_order")["severity"]
    lineage = lineage_index(frames)
    out = []
    for rows in _tables(frames.get("service_provisions", [])).values():
        seen: dict[int, str] = {}  # item number -> service item it first named
        previous: dict | None = None
        for p in rows:
            no, item = p["item_no"], p["service_item"]
            continuing = previous is not None and previous["item_no"] == no
            if continuing and previous["service_item"] == item:
                previous = p
                continue  # another population of the same item
            evidence = str(no)
            if no in seen:
                message = (f"序号 {no} ({item}) already numbers {seen[no]}" if seen[no] != item
                           else f"序号 {no} ({item}) appears again after item {previous['item_no']}")
                out.append(provision_finding("item_no_repeated", rep, p, "item_no", None, None, evidence, None,
                                             message, lineage))
            else:
                expected = 1 if previous is None else previous["item_no"] + 1
                if no != expected:
                    after = "the first item" if previous is None else f"item {previous['item_no']}"
                    out.append(provision_finding("item_no_out_of_order", order, p, "item_no", None, None, evidence,
                                                 str(expected), f"序号 {no} ({item}) follows {after}; expected {expected}",
                                                 lineage))
                seen[no] = item
            previous = p
    return out


def empty_required(frames: Frames) -> list[dict]:
    """Flag required cells that are empty."""
    cfg = settings(frames, "empty_required")
    lineage = lineage_index(frames)
    out = []
    for p in frames.get("service_provisions", []):
        for column in cfg["columns"]:
            if not (p.get(column) or "").strip():
                out.append(provision_finding("empty_required", cfg["severity"], p, column, 0, 0, "", None,
                                             f"{column} is empty for item {p['item_no']} ({p['service_item']}), "
                                             f"population {p['population_no']}", lineage))
    return out
