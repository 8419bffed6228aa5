"""Population groups and suppliers named in the real 2025 service list."""

from __future__ import annotations

from collections import Counter

import pytest

from pipeline.derive.entities import (
    agency_resolver,
    population_text_to_groups,
    provisions_to_populations,
    provisions_to_suppliers,
    supplier_text_to_suppliers,
)
from pipeline.warehouse.schema import TABLES

N = "厦民〔2025〕95号"


@pytest.fixture(scope="module")
def by_id(provisions_2025):
    return {p["provision_id"]: p for p in provisions_2025}


@pytest.fixture(scope="module")
def suppliers_2025(provisions_2025):
    return provisions_to_suppliers(provisions_2025)


@pytest.fixture(scope="module")
def populations_2025(provisions_2025):
    return provisions_to_populations(provisions_2025)


def test_three_agencies_named_before_one_shared_head(by_id, suppliers_2025):
    assert by_id[f"{N}:4:1"]["supplier_text"] == "民政、残联、卫健等部门、受委托的服务提供方"
    rows = [s for s in suppliers_2025 if s["provision_id"] == f"{N}:4:1"]
    assert [(s["supplier_as_written"], s["name"], s["head"], s["head_shared"], s["open_ended"], s["agency_id"])
            for s in rows] == [
        ("民政", "民政", "等部门", True, True, "class.civil_affairs_departments"),
        ("残联", "残联", "等部门", True, True, "class.disabled_federations"),
        ("卫健等部门", "卫健", "等部门", False, True, "class.health_departments"),
        ("受委托的服务提供方", "受委托的服务提供方", None, False, False, "class.contracted_providers"),
    ]
    text = by_id[f"{N}:4:1"]["supplier_text"]
    assert [text[s["span_start"]:s["span_end"]] for s in rows] == [s["supplier_as_written"] for s in rows]


def test_supplier_lists_split_on_comma_and_ji_but_heads_stay_within_a_run():
    assert [(s["supplier_as_written"], s["head"]) for s in supplier_text_to_suppliers("民政、卫健部门,精神卫生福利机构、社会福利机构")] == [
        ("民政", "部门"), ("卫健部门", "部门"), ("精神卫生福利机构", None), ("社会福利机构", None)]
    assert [s["supplier_as_written"] for s in supplier_text_to_suppliers("民政部门、承保的保险公司及保险经纪公司")] == [
        "民政部门", "承保的保险公司", "保险经纪公司"]
    # a body with a name of its own does not take the head of the next one; a comma ends the run
    assert [(s["name"], s["head"]) for s in supplier_text_to_suppliers("民政、慈善组织,受委托的服务提供方")] == [
        ("民政", None), ("慈善组织", None), ("受委托的服务提供方", None)]


def test_every_2025_supplier_resolves_through_the_agency_register(suppliers_2025):
    assert len(suppliers_2025) == 126
    assert [s["supplier_as_written"] for s in suppliers_2025 if s["agency_id"] is None] == []
    assert not any(s["is_old_name"] for s in suppliers_2025)
    counts = Counter(s["agency_id"] for s in suppliers_2025)
    assert counts["class.civil_affairs_departments"] == 49  # every provision but the three without 民政 (17:1, 17:5, 17:6)
    assert counts["xm.relief_station"] == 1


def test_old_agency_name_resolves_to_its_successor():
    resolve = agency_resolver()
    hit = resolve("市卫生局")
    assert hit["is_old_name"] is True and hit["current_name"] == "市卫生健康委员会"
    provision = {"provision_id": "X:1:1", "notice_id": "X", "supplier_text": "市卫生局、受委托的服务提供方",
                 "raw_file": "f.html", "raw_sha256": "x"}
    [old, provider] = provisions_to_suppliers([provision])
    assert (old["agency_id"], old["is_old_name"], old["current_agency_id"]) == ("xm.health_bureau", True, "xm.health_commission")
    assert provider["is_old_name"] is False


def test_shared_head_noun_restores_each_group(by_id):
    text = by_id[f"{N}:1:3"]["population"]
    groups = population_text_to_groups(text)
    assert [(g["group_as_written"], g["group_name"], g["qualifier"], g["umbrella"]) for g in groups] == [
        ("孤寡", "孤寡老年人", "其他", None),
        ("独居", "独居老年人", "其他", None),
        ("空巢", "空巢老年人", "其他", None),
        ("留守", "留守老年人", "其他", None),
        ("失能", "失能老年人", "其他", None),
        ("重残", "重残老年人", "其他", None),
        ("计划生育特殊家庭老年人", "计划生育特殊家庭老年人", "其他", None),
        ("散居孤儿", "散居孤儿", None, "有需求的特殊群众"),
        ("事实无人抚养儿童", "事实无人抚养儿童", None, "有需求的特殊群众"),
        ("留守儿童", "留守儿童", None, "有需求的特殊群众"),
        ("流动儿童", "流动儿童", None, "有需求的特殊群众"),
        ("重病重残人员", "重病重残人员", None, "有需求的特殊群众"),
    ]
    assert [text[g["span_start"]:g["span_end"]] for g in groups] == [g["group_as_written"] for g in groups]


def test_qualifier_umbrella_and_yiji(by_id):
    groups = population_text_to_groups(by_id[f"{N}:1:2"]["population"])
    assert [(g["group_name"], g["canonical"], g["qualifier"], g["umbrella"]) for g in groups] == [
        ("低保对象", "低保对象", "有需求的", "低收入对象"),
        ("低保边缘家庭成员", "低保边缘家庭成员", "有需求的", "低收入对象"),
        ("支出型困难家庭成员", "支出型困难家庭成员", "有需求的", "低收入对象"),
        ("临时遇困人员", "临时遇困人员", None, None),
    ]


def test_scope_and_aliases(by_id):
    assert [(g["group_name"], g["scope"]) for g in population_text_to_groups(by_id[f"{N}:17:7"]["population"])] == [
        ("智力残疾人员", "特困、低保家庭"), ("精神残疾人员", "特困、低保家庭")]
    assert [(g["group_as_written"], g["canonical"]) for g in population_text_to_groups(by_id[f"{N}:13:2"]["population"])] == [
        ("分散供养特困", "分散供养特困人员"), ("低保", "低保对象"), ("低保边缘家庭", "低保边缘家庭成员"),
        ("支出型困难家庭", "支出型困难家庭成员")]
    # 及 inside 及以上 does not split a group
    assert [g["group_as_written"] for g in population_text_to_groups("本市户籍60周岁及以上的老年人")] == [
        "本市户籍60周岁及以上的老年人"]


def test_2025_population_groups(populations_2025):
    assert len(populations_2025) == 257
    assert sorted(g["group_name"] for g in populations_2025 if g["canonical"] is None) == [
        "厦门市行政区域范围内的所有自然人", "学生", "本市户籍60周岁及以上的老年人", "本市户籍残疾人"]


def test_entity_rows_have_the_schema_columns(populations_2025, suppliers_2025):
    assert set(populations_2025[0]) == set(TABLES["provision_populations"].column_names)
    assert set(suppliers_2025[0]) == set(TABLES["provision_suppliers"].column_names)
