"""Layouts real sites use must give identical tidy rows: th headers, synonyms, section rows, column order."""

from __future__ import annotations

import pytest

from tests.conftest import provisions_from_html
from tests.fixtures.html_layouts import LAYOUTS

TIDY = ["provision_id", "category", "item_no", "service_item", "population_no", "population", "content",
        "standard_text", "supplier_text"]


def tidy(rows):
    return [{k: r[k] for k in TIDY} for r in rows]


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_layout_gives_identical_tidy_rows(layout, provisions_2025):
    page = LAYOUTS[layout](provisions_2025).encode("utf-8")
    rows, _ = provisions_from_html(page, "厦民〔2025〕95号")
    assert len(rows) == 52
    assert tidy(rows) == tidy(provisions_2025)


def test_section_rows_carry_their_category_and_are_not_data(provisions_2025):
    from pipeline.kinds.recognize import load_table_profiles, recognize_table
    from tests.conftest import html_grids

    grid = html_grids(LAYOUTS["section-rows-instead-of-category-column"](provisions_2025).encode())[0]
    rec = recognize_table(grid, load_table_profiles())
    assert "category" not in rec.columns
    assert [grid.value(r, 0) for r in rec.section_rows] == ["一、照护服务类", "二、生活服务类", "三、关爱服务类", "四、发展服务类"]
    assert len(rec.data_rows) == 52
