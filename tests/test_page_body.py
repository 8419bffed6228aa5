"""The article body of real pages: hidden duplicates, navigation, share boxes and footers never reach grids or blocks."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from pipeline.extract.blocks import html_to_blocks
from pipeline.extract.html import html_to_grids, parse_html
from pipeline.ingest.decode import decode_bytes
from pipeline.meta.body import html_to_page
from pipeline.meta.hidden import hidden_elements, is_hidden
from pipeline.stages import html_file_to_extracted

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "tests" / "fixtures" / "real"
CHROME = ("当前位置", "网站标识码", "ICP", "版权", "分享到", "主办单位")
SHA256 = {
    "d01-nfra-zj-penalty-rowspan.html": "1ed1a055c7bd5edce5cb479b429440c1d57c6664c4d306e80da61c63716f3522",
    "d02-nfra-hq-penalty-keyvalue.html": "f0809a6308a7dd785b86b49c293498f2fb42f930b950f8626120d85f9d252cf9",
    "d03-govcn-gazette-notable.html": "26b09fbc580cfe7d1ecf807d503f8c217165888142724e9e286291c19e4c632c",
    "d04-zjdrc-deqing-layoutonly.html": "32d036a9c753c23fe823cf34c11d2320ac0a018f3e9ce1f8a3988c706a05bda0",
}


def load(path: Path):
    doc = parse_html(decode_bytes(path.read_bytes())[0])
    page = html_to_page(doc)
    return doc, page, html_to_grids(page.body, page.skip), html_to_blocks(page.body, page.skip)


@pytest.mark.parametrize("name", sorted(SHA256))
def test_fixtures_are_the_published_bytes(name):
    assert hashlib.sha256((REAL / name).read_bytes()).hexdigest() == SHA256[name]


@pytest.mark.parametrize("name", ["d01-nfra-zj-penalty-rowspan.html", "d02-nfra-hq-penalty-keyvalue.html"])
def test_nfra_pages_yield_only_the_visible_data_table(name):
    doc, page, grids, _ = load(REAL / name)
    # The page has four tables: a 留言 list, a share box, the data table, and its hidden duplicate.
    assert len(list(doc.iter("table"))) == 4
    assert len(grids) == 1
    assert page.body_how == "container:nfra.gov.cn (Angular article page):#wenzhang-content"
    table = doc.getroottree().xpath(grids[0].locator)[0]
    assert not is_hidden(table, page.hidden)
    assert not any("ng-hide" in (a.get("class") or "").split() for a in table.iterancestors())
    first = [grids[0].value(0, c) for c in range(grids[0].n_cols)]
    if name.startswith("d01"):
        assert (grids[0].n_rows, first) == (3, ["序号", "当事人名称", "行政处罚决定书文号", "主要违法违规行为",
                                                "行政处罚内容", "作出决定机关"])
        assert grids[0].value(2, 1) == "陈首伟（时任中国太平洋财产保险股份有限公司温州分公司副总经理）"
    else:
        assert (grids[0].n_rows, first) == (7, ["行政处罚决定书文号", "金罚决字〔2024〕36号"])
        assert grids[0].value(6, 1) == "2024年7月8日"


def test_stylesheet_rules_hide_the_duplicate_and_inline_display_wins_over_an_ordinary_rule():
    doc = parse_html((REAL / "d01-nfra-zj-penalty-rowspan.html").read_bytes().decode("utf-8"))
    hidden = hidden_elements(doc)
    tree = doc.getroottree()
    # .ng-hide{display:none !important} hides the 规章 variant holding the duplicate table …
    duplicate = tree.xpath("//table")[3]
    assert is_hidden(duplicate, hidden)
    # … while `.content{display:none}` (an ordinary rule) loses to the inline style="display: block".
    content = tree.xpath("//div[@class='content newcontent']")[0]
    assert not is_hidden(content, hidden)


@pytest.mark.parametrize("css, hidden_ids", [
    (".x{display:none}", {"a"}),
    ("#b{display:none}", {"b"}),
    ("p.x, #c { display : none }", {"c"}),  # grouped; div.x is not p.x
    (".x{display:none} #a{display:block}", set()),  # the more specific rule wins
    ("@media print{.x{display:none}} .y:hover{display:none}", set()),  # conditional / state rules ignored
    (".x{display:none!important}", {"a"}),
    (".x{display:block}</style><style>div.x{display:none}", {"a"}),  # equal weight: the later sheet wins
    ("div.x{display:none}</style><style>div.x{display:block}", set()),
    ("body > div#b{display:none} body div{display:block}", {"b"}),  # combinators go through XPath
    ("[data-x]{display:none}", {"b"}),  # attribute present, whatever its value
    ("div[data-x].y{display:none}", set()),  # all of tag, attribute and class must hold
    ("[ng\\:cloak]{display:none}", {"c"}),  # an attribute with a colon in its name (AngularJS ng:cloak)
    ("[data-x]{display:none} #b{display:block}", set()),
    ("[data-x='1']{display:none}", {"b"}),  # an attribute value test goes through XPath
    ("[data-x='2']{display:none}", set()),
])
def test_page_css_rules(css, hidden_ids):
    doc = parse_html(f"<html><head><style>{css}</style></head><body><div id='a' class='x'>1</div>"
                     f"<div id='b' data-x='1'>2</div><div id='c' ng:cloak=''>3</div><p hidden id='d'>4</p>"
                     f"<p id='e' style='visibility:hidden'>5</p></body></html>")
    found = {e.get("id") for e in hidden_elements(doc)}
    assert found == hidden_ids | {"d", "e"}


def test_d04_body_has_no_layout_table_and_no_chrome():
    _, page, grids, blocks = load(REAL / "d04-zjdrc-deqing-layoutonly.html")
    assert page.body_how.endswith(":#zoom")
    assert grids == []
    assert blocks and not [b.text for b in blocks if any(w in b.text for w in CHROME)]
    assert blocks[0].text.startswith("1-10月，全县固定资产投资完成246.79亿元") and blocks[-1].text.endswith("（德清县发改局）")


def test_d03_body_is_the_resolution_even_after_the_closing_html_tag():
    _, page, grids, blocks = load(REAL / "d03-govcn-gazette-notable.html")
    assert grids == []
    assert page.body_how.endswith("#UCAP-CONTENT")
    text = "".join(b.text for b in blocks)
    assert "会议决定：批准发行15500亿元特别国债购买外汇，批准2007年末国债余额限额调整为53365.53亿元。" in text
    assert "（2007年6月29日第十届全国人民代表大会常务委员会第二十八次会议通过）" in text
    assert not [b.text for b in blocks if any(w in b.text for w in (*CHROME, "首页", "扫一扫", "相关稿件"))]
    # Locators are XPaths of the original tree: the content sits in the second top-level tree.
    tree = page.doc.getroottree()
    assert all(tree.xpath(b.locator.split("#")[0]) for b in blocks)
    assert blocks[-1].locator.startswith("/html[2]/")


def test_the_chrome_filter_fallback_drops_navigation_and_footer():
    page_html = ("<html><body><div class='nav'>首页 | 政务公开</div><div>当前位置：首页 &gt; 通知</div>"
                 "<p>关于开展专项检查的通知</p><p>各单位：请于本月底前完成自查。</p>"
                 "<footer>主办单位：某某市人民政府 版权所有</footer></body></html>")
    doc = parse_html(page_html)
    page = html_to_page(doc)
    assert page.body_how == "chrome-filter"
    assert [b.text for b in html_to_blocks(page.body, page.skip)] == ["关于开展专项检查的通知", "各单位：请于本月底前完成自查。"]


def test_xiamen_pages_keep_their_tables_and_tasks():
    x25 = html_file_to_extracted((ROOT / "raw" / "xm-mzj-2025-095.html").read_bytes(), "xm-mzj-2025-095.html")
    assert [(g.n_rows, g.n_cols) for g in x25.grids] == [(54, 7)]
    assert x25.grids[0].value(0, 0) == "厦门市服务类社会救助清单(试行)"
    x09 = html_file_to_extracted((ROOT / "raw" / "xm-gov-2009-254.html").read_bytes(), "xm-gov-2009-254.html")
    assert x09.grids == []  # the 【发布单位】 metadata table is not content
    from pipeline.kinds.tasks import blocks_to_tasks

    tasks = blocks_to_tasks(x09.blocks, notice_id="厦府办〔2009〕254号", raw_file="xm-gov-2009-254.html",
                            raw_sha256="x", source_format="html", jurisdiction="350200")
    assert len(tasks.tasks) == 18
    # The body blocks are the same paragraphs the whole-page walk finds under the text container.
    doc = parse_html(decode_bytes((ROOT / "raw" / "xm-gov-2009-254.html").read_bytes())[0])
    whole = [b for b in html_to_blocks(doc) if b.locator.startswith("/html/body/div")]
    assert [(b.text, b.locator) for b in x09.blocks] == [(b.text, b.locator) for b in whole]


@pytest.mark.parametrize("name", sorted(SHA256))
def test_the_container_check_stops_early_yet_agrees_with_the_whole_visible_text(name):
    from pipeline.meta.body import has_visible_text, visible_text

    doc = parse_html(decode_bytes((REAL / name).read_bytes())[0])
    hidden = hidden_elements(doc)
    elements = [e for e in doc.iter() if isinstance(e.tag, str)]
    assert len(elements) > 50
    for el in elements:
        n = len(visible_text(el, hidden))
        for chars in (1, 20, 200, n, n + 1):
            assert has_visible_text(el, hidden, chars) == (n >= chars), (el.tag, chars, n)
