"""Data-quality rules: each a function ``(frames) -> list[finding]``; ``build_dq_flags`` gives findings stable ids.

``frames`` maps table names to lists of row dicts: service_provisions, citations, provision_suppliers,
task_units and, optionally, cell_lineage (for DOM/PDF locators), registers and rule_settings (overrides).
"""

from __future__ import annotations

from pipeline.flags.agencies import agency_old_name
from pipeline.flags.base import FINDING_KEYS, load_rule_settings
from pipeline.flags.build import FLAG_COLUMNS, build_dq_flags, flag_id
from pipeline.flags.citations import citation_code_conflict, citation_title_near_match, standard_year_differs
from pipeline.flags.consistency import content_differs_between_populations, supplier_wording_differs
from pipeline.flags.items import empty_required, item_numbering
from pipeline.flags.text import dangling_conjunction, enumeration_broken

RULES = (
    standard_year_differs,
    citation_title_near_match,
    citation_code_conflict,
    enumeration_broken,
    dangling_conjunction,
    item_numbering,
    empty_required,
    supplier_wording_differs,
    content_differs_between_populations,
    agency_old_name,
)


def collect_findings(frames: dict) -> list[dict]:
    """Run every rule over the frames and return their findings, in rule order."""
    return [f for rule in RULES for f in rule(frames)]


__all__ = ["FINDING_KEYS", "FLAG_COLUMNS", "RULES", "build_dq_flags", "collect_findings", "flag_id",
           "load_rule_settings", *[r.__name__ for r in RULES]]
