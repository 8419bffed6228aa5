"""Tidy records to derived tables: citations, entities, dq_flags with QA decisions applied.

Runs once over all notices together (the across-notice rules need them all), after assembly and before staging.
"""

from __future__ import annotations

from pathlib import Path

from .citations import provisions_to_citations
from .entities import provisions_to_populations, provisions_to_suppliers
from .flags import build_dq_flags, collect_findings
from .review import apply_reviews, apply_to_citations, canonical_values, load_decisions, merge_review_history


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
    return out, stale
