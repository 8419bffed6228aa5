"""README and data dictionary stay true to the code."""

from __future__ import annotations

import re

import pytest

from pipeline.warehouse.dictionary import render_dictionary
from pipeline.refresh import refresh
from tests.conftest import ROOT
from tests.test_refresh import copy_raw

README = (ROOT / "README.md").read_text(encoding="utf-8")
EXAMPLES = re.findall(r"```sql\n(.*?)\n```\n\n```text\n(.*?)\n```", README, re.S)


def test_data_dictionary_is_generated_from_the_schema():
    assert (ROOT / "docs" / "data_dictionary.md").read_text(encoding="utf-8") == render_dictionary(), (
        "run `make dictionary`")


def test_readme_has_four_example_queries():
    assert len(EXAMPLES) == 4


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("readme")
    raw = copy_raw(tmp)
    wh = tmp / "policy.duckdb"
    refresh(raw, wh, staging_dir=tmp / "staging")
    return wh


@pytest.mark.parametrize("sql, expected", EXAMPLES, ids=[f"example{i + 1}" for i in range(len(EXAMPLES))])
def test_readme_example_output_is_real(sql, expected, warehouse):
    from pipeline.serve.query import connect_readonly

    con = connect_readonly(warehouse)
    try:
        assert con.sql(sql).df().to_string(index=False) == expected
    finally:
        con.close()
