"""Rule on agency names: a unit or supplier named by a predecessor's (old) name."""

from __future__ import annotations

from pipeline.flags.base import Frames, cell_locator, lineage_index, settings


def _locate(row: dict, table: str, provisions: dict, lineage: dict) -> str:
    """Point at the published cell: a supplier's span in its provision's cell, else the row's own locator."""
    if table == "provision_suppliers" and row.get("provision_id") in provisions:
        return cell_locator(provisions[row["provision_id"]], "supplier_text", row.get("span_start"),
                            row.get("span_end"), lineage)
    return row.get("locator") or f"{row.get('raw_file')} {table}"


def agency_old_name(frames: Frames) -> list[dict]:
    """Flag agencies named by an old name (市卫生局 where 市卫生健康委员会 now holds its functions)."""
    cfg = settings(frames, "agency_old_name")
    provisions = {p["provision_id"]: p for p in frames.get("service_provisions", [])}
    lineage = lineage_index(frames)
    out = []
    for table, (id_col, text_col) in cfg["tables"].items():
        for row in frames.get(table, []):
            if not row.get("is_old_name"):
                continue
            out.append({
                "rule": "agency_old_name", "severity": cfg["severity"], "record_table": table,
                "record_id": row[id_col], "column_name": text_col, "evidence": row[text_col],
                "suggestion": row.get("current_name"), "locator": _locate(row, table, provisions, lineage),
                "notice_id": row["notice_id"], "raw_file": row.get("raw_file"), "raw_sha256": row.get("raw_sha256"),
                "span_start": row.get("span_start"), "span_end": row.get("span_end"),
                "message": f"{row[text_col]} is an old name; its functions are now held by {row.get('current_name')}",
            })
    return out
