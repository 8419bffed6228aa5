"""The data dictionary, generated from the schema so it stays true to the code."""

from __future__ import annotations

from pipeline.warehouse.schema import TABLES


def render_dictionary() -> str:
    """Render every warehouse table's grain and columns as Markdown."""
    out = ["# Data dictionary", "", "Generated from `pipeline/schema.py` by `make dictionary`; do not edit by hand.", ""]
    for name, table in TABLES.items():
        out += [f"## `{name}`", "", f"Grain: {table.grain}.", ""]
        if table.key:
            out += [f"Key: {', '.join(f'`{k}`' for k in table.key)}.", ""]
        out += ["| column | type | null | meaning |", "|---|---|---|---|"]
        out += [f"| `{c.name}` | {c.type} | {'yes' if c.nullable else 'no'} | {c.doc} |" for c in table.columns]
        out.append("")
    return "\n".join(out)
