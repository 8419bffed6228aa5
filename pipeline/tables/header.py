"""Where a table's title rows and header band are, what its columns are called, and whether it is a form.

Rules, none of them tied to one document:
- title rows lead the grid and show at most one text (a full-width title, an 附件1： label, blank or space
  rows); a leading 单位：元 row is a note;
- the header band starts at the first other row when that row is header-like (short cells, no numbers, no
  sentences) and grows by closure: rows that its cells span down into, and a header-like row that splits a
  group header's columns;
- column names flatten the band top to bottom with '·'; a header cell over k columns with no sub-header
  names them after the conjuncts of its text (实施层级及权限 -> (层级), (权限)), else (1), (2) …;
- a two-column grid without a header row whose first column holds short distinct labels is a key/value form.
"""

from __future__ import annotations

import re

from pipeline.tables.view import View
from pipeline.text import clean_text, squash


def leading_rows(view: View) -> tuple[list[int], list[int]]:
    """Return the title rows and note rows that lead the grid, before its header or first data row."""
    titles: list[int] = []
    notes: list[int] = []
    for r in range(view.n_rows):
        shown = {view.origin(r, k) for k in range(view.width)}
        shown = {o for o in shown if view.text_at(o).strip()}
        if len(shown) > 1 or view.width < 2:
            break
        if shown:
            o = shown.pop()
            if o[0] != r and o[0] not in titles:
                break  # a cell from a row that is not a title reaches down here
            if o[0] == r and view.vocab.is_note(view.text_at(o)):
                notes.append(r)
                continue
        titles.append(r)
    if len(titles) + len(notes) >= view.n_rows:  # nothing but single texts: not a title, a list
        return [], []
    return titles, notes


def header_band(view: View, start: int) -> list[int]:
    """Return the header rows from `start`: a header-like row and the rows its closure takes in."""
    if start >= view.n_rows or not view.is_headerish(start):
        return []
    band = [start]
    while len(band) < view.vocab.header_max_rows and band[-1] + 1 < view.n_rows:
        nxt = band[-1] + 1
        reach = max((o[0] + view.rowspan(o) - 1 for r in band for _, o in view.own(r)), default=nxt - 1)
        if nxt <= reach or (view.is_headerish(nxt) and _splits(view, band[-1], nxt)):
            band.append(nxt)
        else:
            break
    return band


def _splits(view: View, upper: int, lower: int) -> bool:
    """Tell whether a cell over several columns in `upper` is split into cells of their own in `lower`."""
    for o in {view.origin(upper, k) for k in range(view.width)}:
        cols = view.logical_colspan(o, upper)
        if len(cols) > 1 and len({view.origin(lower, k) for k in cols if view.origin(lower, k)[0] == lower}) > 1:
            return True
    return False


def column_names(view: View, band: list[int]) -> list[str]:
    """Name every logical column from the header band (top→bottom, '·'); unnamed columns by position."""
    v = view.vocab
    names: list[str] = []
    for k in range(view.width):
        parts: list[str] = []
        seen: set[tuple[int, int]] = set()
        for r in band:
            o = view.origin(r, k)
            if o in seen:
                continue
            seen.add(o)
            text = clean_text(view.text_at(o))
            if text and (not parts or parts[-1] != text):
                parts.append(text)
        names.append(v.joiner.join(parts))
    if band:
        last = band[-1]
        k = 0
        while k < view.width:
            cols = view.logical_colspan(view.origin(last, k), last)
            if len(cols) > 1 and names[k]:
                subs = conjunct_names(clean_text(view.text_at(view.origin(last, k))), len(cols), v.conjunctions)
                for j, sub in zip(cols, subs):
                    names[j] = f"{names[j]}({sub})"
            k = max(cols) + 1 if cols else k + 1
    return [name or v.unnamed.format(n=k + 1) for k, name in enumerate(names)]


def conjunct_names(text: str, k: int, conjunctions: tuple[str, ...]) -> list[str]:
    """Split `X及Y` over k columns into parallel conjuncts (实施层级及权限 -> 层级, 权限), else 1 … k."""
    parts = re.split("|".join(map(re.escape, conjunctions)), text)
    if len(parts) == k and all(parts):
        n = len(parts[-1])  # the last conjunct sets the length: 实施层级 及 权限 -> 层级 and 权限
        return [p[-n:] for p in parts]
    return [str(i) for i in range(1, k + 1)]


def is_key_value(view: View, rows: list[int]) -> bool:
    """Tell whether the rows form a two-column form of labels and values with no header row."""
    v = view.vocab
    # Rows across the whole form (a 备注 line, a heading) are not label/value pairs.
    rows = [r for r in rows if any(t.strip() for t in view.values(r)) and not view.is_full_width(r)]
    if view.width != 2 or not 2 <= len(rows) <= v.kv_max_rows:
        return False
    labels = [squash(view.values(r)[0]) for r in rows]
    if len(set(labels)) != len(labels) or not all(
        label and len(label) <= v.kv_label_max_chars and view.is_headerish_text(label) for label in labels
    ):
        return False
    if all(squash(t) in v.kv_header_words for t in view.values(rows[0])):
        return False  # 项目 | 内容: the header of a two-column table
    hinted = sum(v.has_label_hint(label) for label in labels) / len(labels)
    return hinted >= v.kv_min_hint_share or not view.is_headerish(rows[0])
