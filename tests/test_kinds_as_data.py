"""A new kind of table is a data edit: a profile with its own target creates that table, its dictionary entry
and its default expectations, keeps every unmatched column, and a wrong profile is refused when data loads."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.conftest import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "kinds" / "fee-standards-page.html"
# The profile exactly as the issue writes it: a maintainer adds this and nothing else.
FEE_PROFILE = '''
[[profile]]
kind = "fee_list"
target = "fee_standards"
min_header_matches = 3
required = ["fee_item", "fee_standard"]
[profile.fields]
item_no = ["序号"]
fee_item = ["收费项目"]
fee_unit = ["计费单位"]
fee_standard = ["收费标准"]
note = ["备注"]
'''


def overlay(tmp_path: Path, extra: str) -> Path:
    """A data overlay whose table_profiles.toml is the shipped one plus ``extra``."""
    data = tmp_path / "data"
    data.mkdir()
    shipped = (ROOT / "pipeline" / "data" / "table_profiles.toml").read_text(encoding="utf-8")
    (data / "table_profiles.toml").write_text(shipped + extra, encoding="utf-8")
    return data


def run(tmp_path: Path, data: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "POLICY_DATA_DIR": str(data)}
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)


def refresh_args(tmp_path: Path) -> list[str]:
    return ["refresh", "--offline", "--raw", str(tmp_path / "raw"), "--warehouse", str(tmp_path / "wh" / "p.duckdb"),
            "--staging", str(tmp_path / "st")]


def query(db: Path, sql: str):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def fee_build(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fee")
    (tmp / "raw").mkdir()
    shutil.copy(FIXTURE, tmp / "raw" / FIXTURE.name)
    data = overlay(tmp, FEE_PROFILE)
    r = run(tmp, data, *refresh_args(tmp))
    assert r.returncode == 0, r.stdout + r.stderr
    return tmp, data, tmp / "wh" / "p.duckdb", r.stdout


def test_the_fee_profile_alone_loads_fee_standards_row_by_row(fee_build):
    _, _, wh, _ = fee_build
    rows = query(wh, "SELECT record_id, row_no, item_no, fee_item, fee_unit, fee_standard, note FROM fee_standards "
                     "ORDER BY row_no")
    assert rows == [
        ("厦发改价格〔2025〕12号:t1:r1", 1, "1", "遗体接运", "元/具·次", "300", "市区范围内"),
        ("厦发改价格〔2025〕12号:t1:r2", 2, "2", "遗体冷藏", "元/具·天", "120", None),
        ("厦发改价格〔2025〕12号:t1:r3", 3, "3", "遗体火化", "元/具", "500", "含骨灰装殓"),
        ("厦发改价格〔2025〕12号:t1:r4", 4, "4", "告别厅租用", "元/场", "800—1200", "按厅面积分档"),
    ]
    assert query(wh, "SELECT kind, columns, n_data_rows FROM source_tables") == [
        ("fee_list", ["序号", "收费项目", "计费单位", "收费标准（元）", "收费依据", "备注"], 4)]
    # Lineage back to the generic layer and the raw file.
    assert query(wh, "SELECT count(*) FROM fee_standards f JOIN table_rows r USING (table_id, row_no) "
                     "WHERE f.raw_sha256 = r.raw_sha256") == [(4,)]


def test_adding_the_profile_to_a_built_warehouse_types_the_table_at_the_next_refresh(tmp_path):
    """Guards: the overlay was not part of the extraction fingerprint, so the refresh after a maintainer added the
    profile said "nothing to do" and the table stayed untyped."""
    (tmp_path / "raw").mkdir()
    shutil.copy(FIXTURE, tmp_path / "raw" / FIXTURE.name)
    data = overlay(tmp_path, "")  # the shipped profiles, as an overlay
    first = run(tmp_path, data, *refresh_args(tmp_path))
    assert first.returncode == 0, first.stdout + first.stderr
    wh = tmp_path / "wh" / "p.duckdb"
    assert query(wh, "SELECT kind, n_data_rows FROM source_tables") == [(None, 4)]
    with open(data / "table_profiles.toml", "a", encoding="utf-8") as fh:
        fh.write(FEE_PROFILE)
    second = run(tmp_path, data, *refresh_args(tmp_path))
    assert second.returncode == 0, second.stdout + second.stderr
    assert query(wh, "SELECT kind, n_data_rows FROM source_tables") == [("fee_list", 4)]
    assert query(wh, "SELECT count(*) FROM fee_standards") == [(4,)]


def test_a_column_no_field_names_is_kept_on_the_row_and_listed(fee_build):
    _, _, wh, out = fee_build
    assert query(wh, "SELECT extra['收费依据'] FROM fee_standards ORDER BY row_no") == [
        ("闽价服〔2013〕1号",), ("闽价服〔2013〕1号",), ("闽价服〔2013〕1号",), ("厦价〔2018〕5号",)]
    assert query(wh, "SELECT unmatched_columns FROM raw_files") == [(["table 1 (fee_list): 收费依据"],)]


def test_the_new_table_has_its_dictionary_entry_comments_and_default_expectations(fee_build, tmp_path):
    tmp, data, wh, out = fee_build
    r = run(tmp, data, "dictionary", "--out", str(tmp_path / "dict.md"))
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "dict.md").read_text(encoding="utf-8")
    assert "## `fee_standards`" in text and "one row per data row of a fee_list table" in text
    assert "| `fee_item` | VARCHAR | yes | 收费项目 as published (whitespace-normalized). |" in text
    assert query(wh, "SELECT comment FROM duckdb_tables() WHERE table_name = 'fee_standards' AND schema_name = 'main'") == [
        ("one row per data row of a fee_list table (profile in table_profiles.toml)",)]
    from pipeline.warehouse.expectations import kind_suites

    names = [s.name for s in kind_suites("fee_standards")]
    assert names == ["fee_standards", "fee_standards.rows_per_table"]
    assert "status: published" in out


def test_typed_fields_keep_the_published_text_beside_the_value(tmp_path):
    (tmp_path / "raw").mkdir()
    shutil.copy(FIXTURE, tmp_path / "raw" / FIXTURE.name)
    typed = FEE_PROFILE + '[profile.types]\nitem_no = "integer"\nfee_standard = "amount"\n'
    r = run(tmp_path, overlay(tmp_path, typed), *refresh_args(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    wh = tmp_path / "wh" / "p.duckdb"
    assert query(wh, "SELECT item_no, item_no_value, fee_standard, fee_standard_value, fee_standard_unit "
                     "FROM fee_standards ORDER BY row_no") == [
        ("1", 1, "300", 300.0, "元"), ("2", 2, "120", 120.0, "元"), ("3", 3, "500", 500.0, "元"),
        ("4", 4, "800—1200", 800.0, "元")]


@pytest.mark.parametrize("profile, message", [
    (FEE_PROFILE + '[profile.types]\nfee_standard = "money"\n',
     "table_profiles.toml: profile 'fee_list': field 'fee_standard' has unknown type 'money' "
     "(hint: use one of text, integer, decimal, date, amount)"),
    (FEE_PROFILE.replace('required = ["fee_item", "fee_standard"]', 'required = ["fee_item", "payer"]'),
     "table_profiles.toml: profile 'fee_list': required field 'payer' has no synonyms "
     "(hint: add payer = [...] to [profile.fields])"),
    (FEE_PROFILE.replace('target = "fee_standards"', 'target = "notices"'),
     "table_profiles.toml: profile 'fee_list': target 'notices' is a core warehouse table "
     "(hint: choose another target name)"),
])
def test_a_wrong_profile_is_refused_when_the_data_loads(tmp_path, profile, message):
    (tmp_path / "raw").mkdir()
    shutil.copy(FIXTURE, tmp_path / "raw" / FIXTURE.name)
    r = run(tmp_path, overlay(tmp_path, profile), *refresh_args(tmp_path))
    assert r.returncode == 1, r.stdout + r.stderr
    assert message in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "wh" / "p.duckdb").exists()
