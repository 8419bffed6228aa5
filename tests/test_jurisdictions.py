"""Jurisdictions scope agency resolution: a Guangzhou notice's 市卫生健康委 is never Xiamen's; identity keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.extract.html import html_to_grids, parse_html
from pipeline.ingest.decode import decode_bytes
from pipeline.kinds.recognize import load_table_profiles, recognize_table
from pipeline.kinds.tasks import grid_to_tasks
from pipeline.meta.body import html_to_page
from pipeline.meta.identity import content_hash, notice_id_for
from pipeline.model import RawFile
from pipeline.registers import registers_to_rows
from pipeline.registers.agencies import ANY_JURISDICTION, load_agency_register
from pipeline.registers.jurisdictions import JurisdictionRegisterError, load_jurisdictions, meta_jurisdiction

ROOT = Path(__file__).resolve().parent.parent
GZ = ROOT / "tests" / "fixtures" / "gz-task-division.html"


@pytest.fixture(scope="module")
def gz_page():
    return html_to_page(parse_html(decode_bytes(GZ.read_bytes())[0]))


def test_guangzhou_page_meta_and_jurisdiction(gz_page):
    m = gz_page.meta
    assert (m["doc_number"], m["index_no"], m["issuer"], str(m["written_on"]), str(m["published_on"])) == (
        "穗府办函〔2024〕12号", "11440100006914347K/2024-00112", "广州市人民政府办公厅", "2024-03-01", "2024-03-08")
    assert m["title"] == "广州市人民政府办公厅关于印发广州市健康养老服务工作任务分工的通知"  # no ` - 广州市人民政府门户网站`
    assert (m["jurisdiction_code"], m["jurisdiction_name"], m["jurisdiction_from"]) == (
        "440100", "广州市", "site_domain:gz.gov.cn")


def test_guangzhou_units_never_resolve_to_xiamen_agencies(gz_page):
    grids = html_to_grids(gz_page.body, gz_page.skip)
    assert len(grids) == 1  # the print-only duplicate (hidden by the page's <style>) is skipped
    rec = recognize_table(grids[0], load_table_profiles())
    x = grid_to_tasks(grids[0], rec, notice_id="穗府办函〔2024〕12号", raw_file=GZ.name, raw_sha256="s",
                      jurisdiction=gz_page.meta["jurisdiction_code"])
    units = {(u["unit_as_written"], u["agency_id"], u["match"]) for u in x.units}
    assert units == {
        ("市卫生健康委", None, "unresolved"), ("市人社局", None, "unresolved"), ("市民政局", None, "unresolved"),
        ("各区人民政府", "class.district_governments", "name"),  # national classes resolve everywhere
    }
    assert not any((u["agency_id"] or "").startswith("xm.") for u in x.units)
    # Without the jurisdiction the same table would have been credited to Xiamen's bodies.
    unscoped = grid_to_tasks(grids[0], rec, notice_id="N", raw_file=GZ.name, raw_sha256="s")
    assert {u["agency_id"] for u in unscoped.units if u["unit_as_written"] == "市卫生健康委"} == {"xm.health_commission"}


def test_resolution_within_a_jurisdiction_and_its_parents():
    reg = load_agency_register()
    assert reg.resolve("市卫生健康委", jurisdiction="350200").agency_id == "xm.health_commission"
    assert reg.resolve("厦门市民政局", jurisdiction="350200").via == "prefix"
    assert reg.resolve("市卫生健康委", jurisdiction="440100") is None
    assert reg.resolve("厦门市民政局", jurisdiction="440100") is None  # Xiamen's prefix rule is Xiamen's
    assert reg.resolve("市卫生健康委", jurisdiction=None) is None  # unknown jurisdiction: national entries only
    assert reg.resolve("残联", jurisdiction=None).agency_id == "class.disabled_federations"
    assert reg.resolve("市卫生健康委", jurisdiction=ANY_JURISDICTION).agency_id == "xm.health_commission"


@pytest.mark.parametrize("meta, code, how", [
    ({"site_domain": "fgw.zj.gov.cn,www.zjdpc.gov.cn"}, "330000", "site_domain:zj.gov.cn"),
    ({"page_url": "https://mzj.xm.gov.cn/zfxxgk/t20250718_2945939.htm"}, "350200", "site_domain:xm.gov.cn"),
    ({"site_domain": "www.gov.cn"}, "100000", "site_domain:www.gov.cn"),
    ({"site_domain": "www.nfra.gov.cn", "issuer": "浙江省司法厅"}, "330000",
     "issuer:浙江省 (within site_domain:nfra.gov.cn)"),
    ({"issuer": "国家金融监督管理总局浙江监管局", "doc_number": "浙金罚决字〔2024〕52号"}, "330000",
     "doc_number:浙 (within issuer:国家)"),
    ({"issuer": "中国银保监会浙江监管局、浙江省司法厅"}, "330000", "issuer:浙江省 (within issuer:中国银保监会)"),
    ({"site_domain": "www.xm.gov.cn", "issuer": "福建省人民政府"}, "350200", "site_domain:xm.gov.cn"),
    ({"issuer": "国家金融监督管理总局", "doc_number": "金罚决字〔2024〕36号"}, "100000", "issuer:国家"),
    ({"issuer": "厦门市民政局", "doc_number": "闽政文〔2009〕150号"}, "350200", "issuer:厦门市"),
    ({"issuer": "海南省农业农村厅、海南省财政厅"}, "460000", "issuer:海南省"),
    ({"doc_number": "穗府办〔2024〕1号"}, "440100", "doc_number:穗"),
    ({"doc_number": "新政发〔2020〕3号"}, "650000", "doc_number:新"),
    ({"title": "安徽省建设用地使用标准（2020年版）"}, "340000", "title:安徽省"),
    ({"title": "安徽省建设用地使用标准", "doc_number": "闽政文〔2009〕150号"}, "350000", "doc_number:闽"),  # last resort
    ({"site_domain": "www.example.gov.cn", "title": "关于印发安徽省…的通知"}, None, None),
    ({"site_domain": "www.example.gov.cn"}, None, None),
])
def test_jurisdiction_from_domain_then_issuer_then_doc_number_the_innermost_inside_the_first_wins(meta, code, how):
    got = meta_jurisdiction(meta)
    assert got["jurisdiction_code"] == code
    if how:
        assert got["jurisdiction_from"] == how
    else:
        assert got["jurisdiction_name"] is None and got["jurisdiction_from"].startswith("none:")


def test_jurisdiction_register_is_consistent(tmp_path):
    reg = load_jurisdictions()
    assert reg.lineage("350200") == ["350200", "350000", "100000"]
    assert reg.lineage("310107") == ["310107", "310000", "100000"]
    bad = tmp_path / "j.toml"
    bad.write_text('[[jurisdiction]]\ncode="1"\nname="甲"\nlevel="市"\nparent="9"\n', encoding="utf-8")
    with pytest.raises(JurisdictionRegisterError, match="parent '9' is not in the register"):
        load_jurisdictions(bad)


def test_registers_to_rows():
    rows = registers_to_rows()
    assert set(rows) == {"agencies", "jurisdictions", "standards", "documents"}
    agencies = {r["agency_id"]: r for r in rows["agencies"]}
    assert agencies["xm.health_bureau"]["jurisdiction_code"] == "350200"
    assert agencies["xm.health_bureau"]["current_id"] == "xm.health_commission"
    assert agencies["class.civil_affairs_departments"]["jurisdiction_code"] == "100000"
    assert {r["code"]: r["parent_code"] for r in rows["jurisdictions"]}["440100"] == "440000"
    assert {r["code"] for r in rows["standards"]} >= {"GB/T 43153", "DB3502/T 091"}
    assert all(set(r) == {"title", "issuer", "doc_number", "source"} for r in rows["documents"])


# --- identity ---------------------------------------------------------------------------------------


def test_notice_identity_order():
    raw = RawFile(path="raw/anything.html", sha256="ab" * 32, format="html", notice_id=None, notice_id_from="stem",
                  source_url="https://fgw.zj.gov.cn/art/2016/11/22/art_1621004_30332664.html")
    assert notice_id_for({"doc_number": "沪保监发[2013]170号", "index_no": "X"}, raw) == ("沪保监发〔2013〕170号", "doc_number")
    assert notice_id_for({"index_no": "XM00110-02-02-2025-032"}, raw) == ("XM00110-02-02-2025-032", "index_no")
    assert notice_id_for({}, raw) == ("fgw.zj.gov.cn:30332664", "article_id")
    no_url = RawFile(path="raw/anything.html", sha256="ab" * 32, format="html", notice_id_from="stem")
    assert notice_id_for({}, no_url, body_text="正文 一段") == (content_hash("正文一段"), "content_hash")
    assert notice_id_for({}, no_url)[0] == "sha256:" + "ab" * 8
    assert "anything" not in notice_id_for({}, no_url)[0]
    given = RawFile(path="raw/x.html", sha256="0" * 64, format="html", notice_id="厦民〔2025〕95号")
    assert notice_id_for({"doc_number": "厦民〔2026〕1号"}, given) == ("厦民〔2025〕95号", "provenance")


def test_real_pages_have_stable_ids_without_their_file_names():
    ids, texts = {}, {}
    for name in ("d01-nfra-zj-penalty-rowspan.html", "d03-govcn-gazette-notable.html", "d04-zjdrc-deqing-layoutonly.html"):
        page = html_to_page(parse_html(decode_bytes((ROOT / "tests/fixtures/real" / name).read_bytes())[0]))
        texts[name[:3]] = page.body_text()
        ids[name[:3]] = notice_id_for(page.meta, None, body_text=texts[name[:3]])
    # d03 carries an article id (manuscriptId) but names no site: its key is the hash of the resolution text.
    assert "会议决定：批准发行15500亿元特别国债购买外汇" in texts["d03"]
    assert ids == {"d01": ("浙金罚决字〔2024〕52号", "doc_number"), "d03": (content_hash(texts["d03"]), "content_hash"),
                   "d04": ("fgw.zj.gov.cn:30332664", "article_id")}
