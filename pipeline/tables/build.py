"""Any Grid to a LogicalTable: title, header, columns, row roles, data rows — and whether it is data at all."""

from __future__ import annotations

from pipeline.model import Grid
from pipeline.tables.header import column_names, header_band, is_key_value, leading_rows
from pipeline.tables.model import LogicalTable
from pipeline.tables.rows import body_role, body_to_rows, header_signatures
from pipeline.tables.view import View, grid_to_col_groups
from pipeline.tables.vocab import TableVocab, load_table_vocab
from pipeline.text import clean_text


def grid_to_table(grid: Grid, table_no: int, vocab: TableVocab | None = None) -> LogicalTable:
    """Read a grid as a table: its title, header band, column names, the role of each row and its data rows."""
    vocab = vocab or load_table_vocab()
    view = View(grid, grid_to_col_groups(grid), vocab)
    roles = ["blank"] * grid.n_rows
    titles, lead_notes = leading_rows(view)
    for r in titles:
        roles[r] = "title"
    for r in lead_notes:
        roles[r] = "note"
    start = max(titles + lead_notes, default=-1) + 1
    shape = "key_value" if is_key_value(view, list(range(start, grid.n_rows))) else "columnar"
    band = [] if shape == "key_value" else header_band(view, start)
    for r in band:
        roles[r] = "header"
    body = start + len(band)
    sigs = header_signatures(view, band)
    for r in range(body, grid.n_rows):
        roles[r] = body_role(view, r, sigs)
    columns = list(vocab.kv_columns) if shape == "key_value" else column_names(view, band)
    title, label = title_and_label([t for r in titles for t in view.own_texts(r)], grid.caption, vocab)
    notes = [t for r in range(grid.n_rows) if roles[r] == "note" for t in view.own_texts(r)]
    if grid.note_below.strip():
        notes.append(grid.note_below)
    why_not = why_not_data(view, band)
    return LogicalTable(
        grid=grid,
        table_no=table_no,
        title=title,
        label=label,
        columns=columns,
        col_groups=view.groups,
        header_rows=band,
        roles=roles,
        rows=body_to_rows(view, roles, body),
        shape=shape,
        is_data=why_not is None,
        why_not=why_not,
        notes=notes,
    )


def title_and_label(title_rows: list[str], caption: str | None, vocab: TableVocab) -> tuple[str | None, str | None]:
    """Split a table's title rows (else its caption's lines) into the title and the attachment label
    (附件1：) printed above it; each title row stays one line, a caption's lines join CJK-aware."""
    texts = [t for t in (clean_text(x) for x in title_rows) if t]
    if not texts and caption:
        lines = [t for t in (clean_text(x) for x in caption.splitlines()) if t]
        labelled = bool(lines) and vocab.is_label(lines[0])
        texts = lines[:1] + [clean_text("\n".join(lines[1:]))] if labelled else [clean_text(caption)]
    labels = [t.rstrip(":：") for t in texts if vocab.is_label(t)]
    title = "\n".join(t for t in texts if t and not vocab.is_label(t))
    return title or None, labels[0] if labels else None


def why_not_data(view: View, band: list[int]) -> str | None:
    """Say why a grid is page layout rather than data (None when it is data)."""
    grid, v = view.grid, view.vocab
    texts = [view.text_at(o) for o in view.spans if view.text_at(o).strip()]
    if not texts or view.width == 0:
        return "empty: the grid shows no text"
    if nested := int(grid.hints.get("nested_tables", 0) or 0):
        return f"layout table: it holds {nested} nested table(s)"
    if len(set(texts)) == 1:
        return "one-cell box: the grid shows a single text"
    if (ratio := float(grid.hints.get("link_ratio", 0) or 0)) > v.max_link_ratio:
        return f"link box: {ratio:.0%} of its text is links"
    chrome = [t for t in texts if v.is_chrome(t)] if len(texts) <= v.chrome_max_cells else []
    if chrome and len(chrome) >= v.chrome_min_share * len(texts):
        return f"page chrome: {', '.join(dict.fromkeys(clean_text(t) for t in chrome[:3]))}"
    labels = [t for t in texts if v.is_metadata_label(t)]
    if len(labels) >= v.metadata_min_labels and len(labels) >= v.metadata_min_share * len(texts):
        return f"metadata block: {', '.join(dict.fromkeys(clean_text(t) for t in labels[:3]))}"
    if grid.n_rows < 2:
        return "one row: a single row is not a table of records"
    if view.width < 2 and not band:
        return "one column and no header: a list, not a table"
    return None
