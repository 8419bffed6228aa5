"""Registers (agencies, jurisdictions, standards, documents) and their rows for the warehouse."""

from __future__ import annotations


def registers_to_rows() -> dict[str, list[dict]]:
    """Return the registers as warehouse rows: one dict per row, for tables agencies, jurisdictions,
    standards and documents (list values are VARCHAR[] columns)."""
    from pipeline.registers.agencies import load_agency_register
    from pipeline.registers.jurisdictions import load_jurisdictions
    from pipeline.registers.standards import load_registers

    agencies = load_agency_register()
    jurisdictions = load_jurisdictions()
    refs = load_registers()
    return {
        "agencies": [
            {"agency_id": a.id, "name": a.name, "full_name": a.full_name or None, "level": a.level,
             "sector": a.sector or None, "jurisdiction_code": a.jurisdiction or None, "aliases": list(a.aliases),
             "patterns": list(a.patterns), "successor_id": a.successor, "succession": a.succession,
             "succeeded_on": a.succeeded_on, "current_id": agencies.chain(a.id)[-1], "source": a.source or None,
             "note": a.note or None}
            for a in agencies.agencies.values()
        ],
        "jurisdictions": [
            {"code": j.code, "name": j.name, "level": j.level, "parent_code": j.parent or None,
             "domains": list(j.domains), "hosts": list(j.hosts), "doc_prefixes": list(j.doc_prefixes),
             "issuer_prefixes": list(j.issuer_prefixes)}
            for j in jurisdictions.by_code.values()
        ],
        "standards": [
            {"code": s.code, "title": s.title, "years": list(s.years), "current_year": s.current_year,
             "source": s.source or None}
            for s in refs.standards
        ],
        "documents": [
            {"title": d.title, "issuer": d.issuer or None, "doc_number": d.doc_number or None,
             "source": d.source or None}
            for d in refs.documents
        ],
    }
