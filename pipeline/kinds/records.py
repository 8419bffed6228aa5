"""A recognized table to typed rows of the table its profile defines: no code per kind, only the profile.

Each data row of the generic table becomes one record: the profile's fields as published (whitespace-normalized),
typed values beside the typed fields, and every header column no field names kept in ``extra`` (nothing is
dropped). Values that do not parse as their type keep their text and get a NULL value plus a finding.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from pipeline.kinds.profiles import TableProfile
from pipeline.tables.model import LogicalTable
from pipeline.tables.records import record_keys
from pipeline.text import clean_text

_NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?|[-+]?\.\d+")
_DATE = re.compile(r"(\d{4})\s*[-年/.]\s*(\d{1,2})\s*[-月/.]\s*(\d{1,2})")
_HEADER_UNIT = re.compile(r"[（(]\s*([^()（）]{1,12})\s*[)）]\s*$")


def field_columns(table: LogicalTable, columns: dict[str, int]) -> dict[str, int]:
    """Map each matched field to its logical column (the recognizer names grid columns)."""
    out = {}
    for name, grid_col in columns.items():
        k = table.logical_col(grid_col)
        if k is not None:
            out[name] = k
    return out


def unmatched_columns(table: LogicalTable, fields: dict[str, int]) -> list[int]:
    """Logical columns no field names: kept in ``extra``."""
    used = set(fields.values())
    return [k for k in range(len(table.columns)) if k not in used]


def _number(text: str) -> tuple[float | None, str]:
    """The first number of a text, and what follows its last number (a unit: 元/人·次); 800—1200 reads 800."""
    folded = unicodedata.normalize("NFKC", text)
    numbers = list(_NUMBER.finditer(folded))
    if not numbers:
        return None, ""
    try:
        return float(numbers[0].group().replace(",", "")), folded[numbers[-1].end():].strip(" ：:;；，,。")
    except ValueError:
        return None, ""


def parse_value(text: str, type_: str, header: str = "") -> tuple[object, str | None]:
    """Read a published value as its type: (value or None, unit for an amount)."""
    if not text:
        return None, None
    if type_ == "integer":
        value, _ = _number(text)
        return (int(value) if value is not None and value == int(value) else None), None
    if type_ == "decimal":
        return _number(text)[0], None
    if type_ == "date":
        m = _DATE.search(unicodedata.normalize("NFKC", text))
        try:
            return (dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None), None
        except ValueError:
            return None, None
    if type_ == "amount":
        value, unit = _number(text)
        if value is None:
            return None, None
        if not unit and (m := _HEADER_UNIT.search(header)):
            unit = m.group(1)  # 收费标准（元）: the unit is printed in the header
        return value, unit or None
    raise ValueError(f"unknown field type {type_!r}")


def table_to_kind_records(table: LogicalTable, profile: TableProfile, columns: dict[str, int], *, table_id: str,
                          notice_id: str, raw_file: str, raw_sha256: str,
                          row_locators: dict[int, tuple[str, list[int] | None]] | None = None
                          ) -> tuple[list[dict], list[dict]]:
    """Return (records of the profile's target table, findings for values that did not parse)."""
    fields = field_columns(table, columns)
    extra_cols = unmatched_columns(table, fields)
    extra_keys = record_keys(table.columns)
    records, findings = [], []
    for row in table.rows:
        rid = (f"{notice_id}:" + ":".join(clean_text(row.cells[fields[k]] or "") for k in profile.key) if profile.key
               else f"{notice_id}:t{table.table_no}:r{row.row_no}")
        locator, pages = (row_locators or {}).get(row.row_no, (f"{table.grid.locator} row {row.row_no}", None))
        rec = {"record_id": rid, "notice_id": notice_id, "table_id": table_id, "row_no": row.row_no,
               "section": row.section, "source_format": table.grid.source_format, "raw_file": raw_file,
               "raw_sha256": raw_sha256, "locator": locator, "pages": pages,
               "extra": {extra_keys[k]: row.cells[k] for k in extra_cols} or None}
        for name in profile.fields:
            text = clean_text(row.cells[fields[name]]) if name in fields and row.cells[fields[name]] else None
            rec[name] = text
            if (type_ := profile.types.get(name)) is not None:
                value, unit = parse_value(text or "", type_, table.columns[fields[name]] if name in fields else "")
                rec[f"{name}_value"] = value
                if type_ == "amount":
                    rec[f"{name}_unit"] = unit
                if text and value is None:
                    findings.append({"rule": "value_not_parsed", "severity": "info", "record_table": profile.target,
                                     "record_id": rid, "column_name": name, "evidence": text, "suggestion": None,
                                     "message": f"{text!r} is not read as {type_}; kept as published, {name}_value NULL",
                                     "locator": locator})
        records.append(rec)
    return records, findings
