"""Tidy records to derived tables: citations, entities, dq_flags with QA decisions applied.

Runs once over all notices together (the across-notice rules need them all), after assembly and before staging.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.derive.citations import citations_to_register_gaps, provisions_to_citations
from pipeline.derive.entities import provisions_to_populations, provisions_to_suppliers
from pipeline.flags import build_dq_flags, collect_findings
from pipeline.flags.review import apply_reviews, apply_to_citations, canonical_values, load_decisions, merge_review_history


def tables_to_derived(
    tables: dict[str, list[dict]], findings: list[dict], *, reviews_dir: Path | None = None,
    previous_reviews: list[dict] | None = None,
) -> tuple[dict[str, list[dict]], list[dict]]:
    """Add citations, populations, suppliers, dq_flags, reviews and canonical values; return (tables, stale)."""
    provisions = tables.get("service_provisions", [])
    citations = provisions_to_citations(provisions)
    suppliers = provisions_to_suppliers(provisions)
    frames = {
        "service_provisions": provisions,
        "citations": citations,
        "provision_suppliers": suppliers,
        "task_units": tables.get("task_units", []),
        "cell_lineage": tables.get("cell_lineage", []),
    }
    flags = build_dq_flags(collect_findings(frames) + findings)
    flags, history, stale = apply_reviews(flags, load_decisions(reviews_dir))
    out = dict(tables)
    out["citations"] = apply_to_citations(citations, flags)
    out["provision_populations"] = provisions_to_populations(provisions)
    out["provision_suppliers"] = suppliers
    out["dq_flags"] = flags
    out["reviews"] = merge_review_history(previous_reviews or [], history)
    out["canonical_values"] = canonical_values(provisions, flags, out["citations"])
    out["register_gaps"] = register_gaps(citations, suppliers, tables.get("task_units", []))
    return out, stale


def register_gaps(citations: list[dict], suppliers: list[dict], units: list[dict]) -> list[dict]:
    """List what the registers lack: unknown or near-miss citations, unresolved units and suppliers."""
    rows = [
        {"register": "standards" if g["code"] else "documents", "status": g["register_status"],
         "value": g["code"] or g["title_as_written"], "occurrences": len(g["citation_ids"]),
         "record_table": "citations", "example_record_id": g["citation_ids"][0]}
        for g in citations_to_register_gaps(citations)
    ]
    for table, records, key, name in (("task_units", units, "unit_id", "unit_as_written"),
                                      ("provision_suppliers", suppliers, "supplier_id", "supplier_as_written")):
        missing: dict[str, list[str]] = {}
        for r in records:
            if not r.get("agency_id") and not r.get("is_fragment"):
                missing.setdefault(r[name], []).append(r[key])
        rows += [{"register": "agencies", "status": "unknown", "value": value, "occurrences": len(ids),
                  "record_table": table, "example_record_id": ids[0]} for value, ids in sorted(missing.items())]
    return rows
