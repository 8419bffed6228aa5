"""One refresh of the Xiamen notices beside all 14 real documents of other bureaus: every table lands exactly,
every file carries a truthful status, nothing is invented from page text, no page chrome reaches the warehouse,
metadata is as printed, and the Xiamen results are unchanged."""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest

from pipeline.refresh import refresh
from tests.conftest import RAW, ROOT
from tests.test_notice_meta import expected
from tests.test_tables_real import same

REAL = ROOT / "tests" / "fixtures" / "real"
TRUTH = json.loads((REAL / "truth.json").read_text(encoding="utf-8"))
CHROME = ("网站标识码", "ICP备", "版权所有", "联系我们", "主办单位", "当前位置", "分享到", "留言时间", "QQ空间")
NOTICE_FIELDS = ("title", "doc_number", "index_no", "issuer", "written_on", "published_on", "posted_on", "source",
                 "site")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("corpus")
    raw = tmp / "raw"
    shutil.copytree(RAW, raw)
    for name in TRUTH:
        shutil.copy(REAL / name, raw / name)
    wh = tmp / "wh" / "policy.duckdb"
    summary = refresh(raw, wh, staging_dir=tmp / "staging")
    return wh, summary


def rows(wh, sql: str, params=None):
    con = duckdb.connect(str(wh), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_the_xiamen_results_hold_beside_the_real_corpus(corpus):
    wh, summary = corpus
    assert summary.status == "published" and summary.quarantined == [] and summary.files_failed == 0
    counts = {t: rows(wh, f"SELECT count(*) FROM {t}")[0][0]
              for t in ("service_provisions", "tasks", "task_units", "targets", "citations", "dq_flags")}
    assert counts == {"service_provisions": 52, "tasks": 18, "task_units": 63, "targets": 5, "citations": 201,
                      "dq_flags": 44}


@pytest.mark.parametrize("name", sorted(TRUTH))
def test_every_real_file_carries_a_truthful_status(corpus, name):
    wh, _ = corpus
    n_tables = len(TRUTH[name]["tables"])
    (status, found, typed, reason), = rows(wh, "SELECT status, tables_found, tables_typed, reason FROM raw_files "
                                               "WHERE raw_file = ?", [name])
    if n_tables:
        assert (status, found, typed) == ("loaded", n_tables, 0)
        assert reason.startswith(f"{n_tables} table(s) loaded as generic tables only: table 1: ")
    else:
        assert (status, found, typed) == ("no_table", 0, 0)
        assert reason.startswith("no data table and no task list")
    (notice_status,), = rows(wh, "SELECT status FROM notices WHERE raw_file = ?", [name])
    assert notice_status == "published"


def test_nothing_is_invented_from_the_real_pages_text(corpus):
    wh, _ = corpus
    real = sorted(TRUTH)
    assert rows(wh, "SELECT count(*) FROM tasks WHERE list_contains(?, raw_file)", [real]) == [(0,)]
    assert rows(wh, "SELECT count(*) FROM task_units WHERE list_contains(?, raw_file)", [real]) == [(0,)]
    assert rows(wh, "SELECT count(*) FROM service_provisions WHERE list_contains(?, raw_file)", [real]) == [(0,)]


@pytest.mark.parametrize("name, i", [(n, i) for n in sorted(TRUTH) for i in range(len(TRUTH[n]["tables"]))])
def test_every_table_lands_with_its_header_row_count_and_rows(corpus, name, i):
    wh, _ = corpus
    truth = TRUTH[name]["tables"][i]
    mode = truth["compare"]
    found = rows(wh, "SELECT table_id, columns, n_data_rows FROM source_tables WHERE raw_file = ? ORDER BY table_no",
                 [name])
    assert len(found) == len(TRUTH[name]["tables"])
    table_id, columns, n_rows = found[i]
    assert len(columns) == len(truth["header"]) and all(same(g, w, mode) for g, w in zip(columns, truth["header"]))
    assert n_rows == truth["n_rows"]
    assert rows(wh, "SELECT count(*) FROM table_rows WHERE table_id = ?", [table_id]) == [(truth["n_rows"],)]
    samples = truth.get("samples", []) + [{"row": n, "cells": c} for n, c in enumerate(truth.get("all_rows", []), 1)]
    for sample in samples:
        (cells,), = rows(wh, "SELECT cells FROM table_rows WHERE table_id = ? AND row_no = ?", [table_id, sample["row"]])
        bad = [(k, g, w) for k, (g, w) in enumerate(zip(cells, sample["cells"])) if not same(g, w, mode)]
        assert len(cells) == len(sample["cells"]) and not bad, (sample["row"], bad)


def test_no_page_chrome_reaches_any_table_or_task(corpus):
    wh, _ = corpus
    for word in CHROME:
        like = f"%{word}%"
        assert rows(wh, "SELECT count(*) FROM table_cells WHERE text LIKE ?", [like]) == [(0,)], word
        assert rows(wh, "SELECT count(*) FROM tasks WHERE task_text LIKE ?", [like]) == [(0,)], word
        assert rows(wh, "SELECT count(*) FROM notices WHERE title LIKE ?", [like]) == [(0,)], word


@pytest.mark.parametrize("name", sorted(TRUTH))
def test_notice_metadata_is_as_printed(corpus, name):
    wh, _ = corpus
    want = {k: v for k, v in expected(name).items() if k in NOTICE_FIELDS}
    if name.startswith(("d05", "d10")):
        want.pop("title")  # an attachment's own title (附件1：…) is its table's title, never the notice's
    got = dict(zip(NOTICE_FIELDS, rows(wh, f"SELECT {', '.join(NOTICE_FIELDS)} FROM notices WHERE raw_file = ?",
                                       [name])[0]))
    assert {k: got[k] for k in want} == want


@pytest.mark.parametrize("name", ["d10-klmy-czj-powers-ole.xlsx", "d11-klmy-rf-powers-sheets.xlsx"])
def test_a_sheets_title_rows_give_the_table_title_and_its_attachment_label_apart(corpus, name):
    wh, _ = corpus
    meta = TRUTH[name]["meta"]
    want = [(t.get("title", meta["title"]).strip(), meta.get("attachment_label")) for t in TRUTH[name]["tables"]]
    assert rows(wh, "SELECT title, label FROM source_tables WHERE raw_file = ? ORDER BY table_no", [name]) == want


@pytest.mark.parametrize("name, code, how", [
    ("d01-nfra-zj-penalty-rowspan.html", "330000", "doc_number:浙 (within "),  # the regulator's Zhejiang branch
    ("d02-nfra-hq-penalty-keyvalue.html", "100000", None),
    ("d12-zj-nocert-catalog.doc", "330000", "issuer:浙江省 (within issuer:中国银保监会)"),
    ("d13-hn-njbt-2024.doc", "460000", "issuer:海南省"),
    ("d06-ah-land-use-standard-p.pdf", "340000", "title:安徽省"),  # nothing but the title names a place
    ("d07-sh-putuo-budget-2025.pdf", "310107", "title:上海市普陀区"),
    ("d08-sx-sydw-signup-2025.xlsx", "140000", "title:山西省"),
    ("xm-mzj-2025-095.html", "350200", None),
])
def test_a_notice_is_in_the_innermost_jurisdiction_its_metadata_names(corpus, name, code, how):
    wh, _ = corpus
    (got, source), = rows(wh, "SELECT jurisdiction_code, jurisdiction_from FROM notices WHERE raw_file = ?", [name])
    assert got == code and source
    if how:
        assert source.startswith(how)
