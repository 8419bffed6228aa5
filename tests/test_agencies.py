"""The agency register: aliases, succession, generic department classes, and checks on the data file."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.registers.agencies import RegisterError, load_agency_register, resolve_unit
from pipeline.kinds.tasks import blocks_to_tasks
from pipeline.extract.blocks import Block


@pytest.fixture(scope="module")
def register():
    return load_agency_register()


def test_old_names_resolve_to_their_current_body(register):
    m = resolve_unit("市卫生局")
    assert (m.agency_id, m.is_old_name, m.current_id, m.current_name) == (
        "xm.health_bureau", True, "xm.health_commission", "市卫生健康委员会")
    assert register.chain("xm.health_bureau") == [
        "xm.health_bureau", "xm.health_family_planning", "xm.health_commission"]
    # 市卫生局 and 市计生委 merged: both are predecessors of today's commission.
    assert set(register.predecessors("xm.health_commission")) == {
        "xm.health_bureau", "xm.population_family_planning", "xm.health_family_planning"}
    assert resolve_unit("市劳动和社会保障局").current_name == "市人力资源和社会保障局"
    assert resolve_unit("市建设与管理局").current_name == "市住房和建设局"
    current = resolve_unit("市卫生健康委员会")
    assert (current.is_old_name, current.current_id) == (False, "xm.health_commission")


def test_assignments_count_across_renamings():
    mentions = {2009: ["市卫生局", "市民政局"], 2016: ["市卫计委"], 2021: ["市卫健委", "厦门市卫生健康委员会"]}
    counts: dict[str, int] = {}
    for names in mentions.values():
        for name in names:
            key = resolve_unit(name).current_id
            counts[key] = counts.get(key, 0) + 1
    assert counts == {"xm.health_commission": 4, "xm.civil_affairs": 1}


def test_spellings_aliases_and_prefixes():
    m = resolve_unit("厦门市民政局")
    assert (m.agency_id, m.via, m.matched_text) == ("xm.civil_affairs", "prefix", "厦门市民政局")
    m = resolve_unit("厦门市体育局")
    assert (m.agency_id, m.via, m.matched_alias) == ("xm.sports", "prefix", "市体育局")
    assert resolve_unit(" 市 民政局 ").agency_id == "xm.civil_affairs"  # layout spaces
    assert resolve_unit("市老龄工作委员会办公室").name == "市老龄办"
    assert resolve_unit("共青团厦门市委员会").agency_id == "xm.youth_league"


@pytest.mark.parametrize(
    ("text", "agency_id"),
    [("民政部门", "class.civil_affairs_departments"), ("民政", "class.civil_affairs_departments"),
     ("残联", "class.disabled_federations"), ("卫健", "class.health_departments"),
     ("卫健部门", "class.health_departments"), ("人社", "class.human_resources_departments"),
     ("医保", "class.medical_insurance_departments"), ("受委托的服务提供方", "class.contracted_providers"),
     ("各区人民政府", "class.district_governments"), ("市人口和计划生育工作领导小组成员单位", "class.leading_group_members")],
)
def test_generic_department_classes(text, agency_id):
    m = resolve_unit(text)
    assert (m.agency_id, m.level) == (agency_id, "class")


def test_unknown_units_are_none():
    assert resolve_unit("市海洋与渔业局") is None
    assert resolve_unit("") is None


def test_register_data_is_consistent(register):
    for a in register.agencies.values():
        if a.successor:
            assert a.source, a.id  # every succession fact says where it comes from
            assert register.chain(a.id)[-1] != a.id
    assert {a.level for a in register.agencies.values()} <= {"municipal", "district", "class"}


def test_units_missing_from_the_register_are_reported(tmp_path):
    path = tmp_path / "agencies.toml"
    path.write_text('[[agency]]\nid = "xm.civil_affairs"\nname = "市民政局"\nlevel = "municipal"\n', encoding="utf-8")
    reg = load_agency_register(path)
    blocks = [Block("一、主要任务", "p1"), Block("1.建立机制。", "p2"), Block("牵头单位：市民政局、市老龄办", "p3")]
    x = blocks_to_tasks(blocks, notice_id="N", raw_file="f", raw_sha256="s", source_format="html", register=reg)
    assert [(u["unit_as_written"], u["match"]) for u in x.units] == [("市民政局", "name"), ("市老龄办", "unresolved")]
    assert [(f["rule"], f["record_id"], f["evidence"]) for f in x.findings] == [
        ("unit_not_in_register", "N:一.1:lead:2", "市老龄办")]
    assert "pipeline/data/agencies/" in x.findings[0]["message"] and x.findings[0]["suggestion"] is None


BAD_REGISTERS = {
    "duplicate spelling": ('[[agency]]\nid="a"\nname="市甲局"\nlevel="municipal"\n'
                           '[[agency]]\nid="b"\nname="市乙局"\nlevel="municipal"\naliases=["市甲局"]\n',
                           "already belongs to a"),
    "unknown successor": ('[[agency]]\nid="a"\nname="市甲局"\nlevel="municipal"\nsuccessor="zz"\nsuccession="renamed"\n'
                          'source="x"\n', "successor 'zz' is not in the register"),
    "unsourced succession": ('[[agency]]\nid="a"\nname="市甲局"\nlevel="municipal"\nsuccessor="b"\nsuccession="renamed"\n'
                             '[[agency]]\nid="b"\nname="市乙局"\nlevel="municipal"\n', "needs a `source`"),
    "cycle": ('[[agency]]\nid="a"\nname="市甲局"\nlevel="municipal"\nsuccessor="b"\nsuccession="renamed"\nsource="x"\n'
              '[[agency]]\nid="b"\nname="市乙局"\nlevel="municipal"\nsuccessor="a"\nsuccession="renamed"\nsource="x"\n',
              "loops"),
    "bad level": ('[[agency]]\nid="a"\nname="市甲局"\nlevel="city"\n', "level must be one of"),
    "bad date": ('[[agency]]\nid="a"\nname="市甲局"\nlevel="municipal"\nsuccessor="b"\nsuccession="renamed"\nsource="x"\n'
                 'succeeded_on="2014年"\n[[agency]]\nid="b"\nname="市乙局"\nlevel="municipal"\n', "is not YYYY"),
}


@pytest.mark.parametrize("case", sorted(BAD_REGISTERS))
def test_inconsistent_registers_are_refused(tmp_path: Path, case: str):
    text, message = BAD_REGISTERS[case]
    path = tmp_path / f"{case.replace(' ', '_')}.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RegisterError, match=message):
        load_agency_register(path)
