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

# Rules whose verdict on a record depends on the other notices (a year or code most often cited across the
# corpus): run over the published rows of every notice on each build. The rest look at one file's own rows and
# run when its partition is built.
CORPUS_RULES = (standard_year_differs, citation_code_conflict)
FILE_RULES = (
    citation_title_near_match,
    enumeration_broken,
    dangling_conjunction,
    item_numbering,
    empty_required,
    supplier_wording_differs,
    content_differs_between_populations,
    agency_old_name,
)
RULES = CORPUS_RULES + FILE_RULES


def collect_findings(frames: dict) -> list[dict]:
    """Run every rule over the frames and return their findings, in rule order."""
    return [f for rule in RULES for f in rule(frames)]


def collect_file_findings(frames: dict) -> list[dict]:
    """Run the rules that judge one file's rows alone."""
    return [f for rule in FILE_RULES for f in rule(frames)]


def collect_corpus_findings(frames: dict) -> list[dict]:
    """Run the rules that compare a record with every notice's."""
    return [f for rule in CORPUS_RULES for f in rule(frames)]


__all__ = ["CORPUS_RULES", "FILE_RULES", "FINDING_KEYS", "FLAG_COLUMNS", "RULES", "build_dq_flags",
           "collect_corpus_findings", "collect_file_findings", "collect_findings", "flag_id",
           "load_rule_settings", *[r.__name__ for r in RULES]]
