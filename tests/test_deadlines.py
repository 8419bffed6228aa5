"""Deadlines as bureaus write them (完成时限) to the last day they allow and the period they name."""

from __future__ import annotations

import datetime as dt

import pytest

from pipeline.extract.blocks import Block
from pipeline.kinds.deadlines import Deadline, load_deadline_vocab, text_to_deadline
from pipeline.kinds.tasks import blocks_to_tasks

D = dt.date


@pytest.mark.parametrize("text, date, period", [
    ("2025年底前", D(2025, 12, 31), "2025"),
    ("2025年12月底前", D(2025, 12, 31), "2025-12"),
    ("2025年6月30日前", D(2025, 6, 30), "2025-06-30"),
    ("长期坚持", None, "ongoing"),
    ("每年12月", None, "yearly-12"),
    ("2025年上半年", D(2025, 6, 30), "2025-H1"),
    ("持续推进", None, "ongoing"),
    ("2025年第一季度", D(2025, 3, 31), "2025-Q1"),
    ("2025年下半年", D(2025, 12, 31), "2025-H2"),
    ("2025年", D(2025, 12, 31), "2025"),
    ("2026年2月底", D(2026, 2, 28), "2026-02"),
    ("2024年2月", D(2024, 2, 29), "2024-02"),
    ("2025年6月中旬", D(2025, 6, 20), "2025-06"),
    ("于2025年9月底前完成", D(2025, 9, 30), "2025-09"),
    ("２０２５年底前", D(2025, 12, 31), "2025"),  # full-width digits fold
    ("2025 年 底前", D(2025, 12, 31), "2025"),  # whitespace is not a difference
    ("2025—2027年", D(2027, 12, 31), "2025/2027"),
    ("2025.6.30", D(2025, 6, 30), "2025-06-30"),
    ("每年", None, "yearly"),
    ("每季度", None, "quarterly"),
    ("每年6月30日前", None, "yearly-06-30"),
])
def test_published_forms_parse(text, date, period):
    assert text_to_deadline(text) == Deadline(date, period)


@pytest.mark.parametrize("text", [
    "根据省统一部署推进", "12月底前",  # no year
    "2025年6月底前完成摸底，2025年底前全面完成",  # two deadlines in one cell
    "2025年2月30日", "2025年13月", "2027—2025年", "每年第13月", "", None,
])
def test_what_is_not_one_deadline_is_not_parsed(text):
    assert text_to_deadline(text) is None


def test_the_vocabulary_is_data(tmp_path):
    path = tmp_path / "task_profiles.toml"
    path.write_text('[deadline]\nongoing = ["常抓不懈"]\nafter = ["前"]\nend = ["底"]\n'
                    '[deadline.parts]\n"年中" = ["H1", 6]\n[deadline.every]\n"每周" = "weekly"\n', encoding="utf-8")
    vocab = load_deadline_vocab(path)
    assert text_to_deadline("常抓不懈", vocab) == Deadline(None, "ongoing")
    assert text_to_deadline("长期坚持", vocab) is None  # not in this vocabulary
    assert text_to_deadline("2025年年中前", vocab) == Deadline(D(2025, 6, 30), "2025-H1")
    assert text_to_deadline("每周", vocab) == Deadline(None, "weekly")


def test_a_text_list_deadline_label_is_read_beside_its_units():
    blocks = [Block("一、重点任务", "p1"), Block("1.完善养老服务体系。", "p2"),
              Block("牵头单位：市民政局；完成时限：2025年底前", "p3"), Block("2.加强监管。", "p4"),
              Block("牵头单位：市民政局；完成时限：按上级要求", "p5")]
    x = blocks_to_tasks(blocks, notice_id="N", raw_file="f", raw_sha256="s", source_format="html", jurisdiction=None)
    assert [(t["task_id"], t["deadline_text"], t["deadline_date"], t["deadline_period"]) for t in x.tasks] == [
        ("N:一.1", "2025年底前", D(2025, 12, 31), "2025"), ("N:一.2", "按上级要求", None, None)]
    assert [(u["role"], u["unit_as_written"]) for u in x.units] == [("lead", "市民政局"), ("lead", "市民政局")]
    assert [(f["rule"], f["record_id"], f["evidence"], f["suggestion"]) for f in x.findings
            if f["rule"] != "unit_not_in_register"] == [("deadline_not_parsed", "N:一.2", "按上级要求", None)]
