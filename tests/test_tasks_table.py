"""The same 18 tasks from the table layout many task-decomposition notices use.

Fixture tests/fixtures/tasks_table_layout.html: 序号 | 工作任务 | 牵头单位 | 协办单位 with section rows across the
table, a repeated header row, one merged 牵头单位 cell and 协办单位 lists broken over lines.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.ingest.decode import decode_bytes
from pipeline.extract.html import html_to_grids, parse_html
from pipeline.kinds.recognize import load_table_profiles, recognize_table
from pipeline.warehouse.schema import TABLES
from pipeline.kinds.tasks import NoStructureFound, grid_to_tasks
from tests.test_tasks_html import EXPECTED_UNITS, NOTICE, units_by_task
from tests.test_tasks_pdf import records

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "tasks_table_layout.html"


def grid_of(path: Path):
    grids = html_to_grids(parse_html(decode_bytes(path.read_bytes())[0]))
    assert len(grids) == 1
    return grids[0]


@pytest.fixture(scope="module")
def table():
    grid = grid_of(FIXTURE)
    return grid, recognize_table(grid, load_table_profiles())


@pytest.fixture(scope="module")
def table_x(table):
    grid, rec = table
    return grid_to_tasks(grid, rec, notice_id=NOTICE, raw_file=FIXTURE.name, raw_sha256="sha", jurisdiction="350200")


def test_recognized_as_a_task_list(table):
    grid, rec = table
    assert rec.profile.kind == "task_list"
    # 工作任务 is a title word; with no content column beside it, it is the tasks' text (task_title stays NULL).
    assert rec.columns == {"task_no": 0, "task_title": 1, "lead_units": 2, "co_units": 3}
    assert rec.title == "厦门市推进居家养老服务工作任务分解表"
    assert len(rec.repeated_header_rows) == 1
    assert len(rec.section_rows) == 7  # 一、 二、 and （一）…（五）


def test_service_list_is_still_recognized_as_such():
    rec = recognize_table(grid_of(ROOT / "raw" / "xm-mzj-2025-095.html"), load_table_profiles())
    assert rec.profile.kind == "service_list"


def test_table_gives_the_18_tasks_of_the_text_layout(table_x):
    from tests.test_tasks_html import extract
    from pipeline.extract.blocks import html_to_blocks

    html = extract(html_to_blocks(parse_html(decode_bytes((ROOT / "raw" / "xm-gov-2009-254.html").read_bytes())[0])))
    assert units_by_task(table_x) == EXPECTED_UNITS
    assert records(table_x) == records(html)


def test_table_records_and_lineage(table_x):
    first, last = table_x.tasks[0], table_x.tasks[-1]
    assert (first["task_id"], first["task_no"], first["locator"]) == (f"{NOTICE}:一", None, "table[1]/tr[4]/td[2]")
    assert (last["task_id"], last["task_text"]) == (f"{NOTICE}:二.五.2", "加强居家养老服务规范化建设。")
    for name, rows in (("tasks", table_x.tasks), ("task_units", table_x.units), ("targets", table_x.targets)):
        assert rows and all(list(r) == TABLES[name].column_names for r in rows), name
    assert len(table_x.targets) == 5


def test_merged_lead_cell_serves_both_tasks(table_x):
    leads = {u["task_id"]: u for u in table_x.units if u["role"] == "lead" and "二.四." in u["task_id"]}
    a, b = leads[f"{NOTICE}:二.四.2"], leads[f"{NOTICE}:二.四.3"]
    assert a["unit_as_written"] == b["unit_as_written"] == "市民政局"
    assert a["locator"] == b["locator"]  # one published cell


def test_truncated_list_is_flagged_with_its_header_label(table_x):
    found = [f for f in table_x.findings if f["rule"] == "truncated_unit_list"]
    assert [(f["record_id"], f["evidence"]) for f in found] == [
        (f"{NOTICE}:二.一.5:co:3", "协办单位：市信息产业局、市民政局、市")]
    assert [f["rule"] for f in table_x.findings] == ["truncated_unit_list"]


def test_a_table_with_no_task_rows_is_reported(table):
    grid, rec = table
    from dataclasses import replace

    empty = replace(rec, data_rows=[], section_rows=[])
    with pytest.raises(NoStructureFound, match="has no task rows"):
        grid_to_tasks(grid, empty, notice_id=NOTICE, raw_file="t.html", raw_sha256="x")
