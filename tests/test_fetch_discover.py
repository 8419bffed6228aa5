"""Links per site profile, the sources register and robots.txt rules (no network)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.fetch import SourcesError, load_register, load_sources, source_from_url
from pipeline.fetch.discover import listing_to_next_pages, listing_to_notice_urls, notice_to_attachments, page_links
from pipeline.fetch.errors import LayoutChanged, RobotsDisallowed, RobotsUnavailable, TransportError
from pipeline.fetch.robots import RobotsCache

RAW = Path(__file__).resolve().parent.parent / "raw"
REGISTER = load_register()
TRS = REGISTER.profiles["xm-gov-trs"]
LISTING = "https://mzj.xm.gov.cn/zfxxgk/zfxxgkml/xxgktzgg/"
NOTICE = LISTING + "202507/t20250718_2945939.htm"

TRS_LISTING = """<html><head><meta charset="utf-8"></head><body>
<div class="nav"><a href="/">首页</a><a href="../">政府信息公开</a><a href="javascript:;">打印</a></div>
<ul class="list">
<li><a href="./202507/t20250718_2945939.htm" title="关于印发《厦门市服务类社会救助清单(试行)》的通知">关于印发…</a></li>
<li><a href="./202506/t20250620_2941234.htm#top">关于做好…</a></li>
<li><a href="https://www.xm.gov.cn/zwgk/flfg/sfbwj/202506/t20250601_2900001.htm">市政府文件</a></li>
<li><a href="./202507/t20250718_2945939.htm">(重复链接)</a></li>
</ul>
<div class="page"><a href="index_1.htm">下一页</a><a href="index_4.htm">尾页</a></div>
</body></html>""".encode("utf-8")


def test_the_real_notice_page_links_its_pdf_attachment():
    data = (RAW / "xm-mzj-2025-095.html").read_bytes()
    assert notice_to_attachments(data, NOTICE, TRS, content_type="text/html") == [
        (LISTING + "202507/P020250718560315474123.pdf", "厦门市服务类社会救助清单(试行).pdf")]


def test_the_real_gbk_page_decodes_and_links_no_attachment():
    data = (RAW / "xm-gov-2009-254.html").read_bytes()
    assert notice_to_attachments(data, "https://www.xm.gov.cn/x/t20091017_1.htm", TRS) == []
    # Its only link is href="#", which is not followed; the decoded link text proves the charset was right.
    linked = data.replace(b"</body>", '<a href="a.doc">任务分解表</a></body>'.encode("gbk"))
    assert page_links(linked, "https://h/x/")[-1] == (
        "https://h/x/a.doc", "任务分解表")


def test_listing_yields_notice_urls_in_order_once_each_with_pagination():
    assert listing_to_notice_urls(TRS_LISTING, LISTING, TRS) == [
        LISTING + "202507/t20250718_2945939.htm",
        LISTING + "202506/t20250620_2941234.htm",
        "https://www.xm.gov.cn/zwgk/flfg/sfbwj/202506/t20250601_2900001.htm",
    ]
    assert listing_to_next_pages(TRS_LISTING, LISTING, TRS) == [LISTING + "index_1.htm", LISTING + "index_4.htm"]


def test_listing_region_and_base_href_are_honoured():
    profile = TRS.__class__(**{**TRS.__dict__, "listing_xpath": "//ul[@class='list']"})
    page = TRS_LISTING.replace(b"<head>", b'<head><base href="https://mzj.xm.gov.cn/other/">')
    assert listing_to_notice_urls(page, LISTING, profile)[0] == "https://mzj.xm.gov.cn/other/202507/t20250718_2945939.htm"
    missing = TRS.__class__(**{**TRS.__dict__, "listing_xpath": "//div[@id='gone']"})
    with pytest.raises(LayoutChanged, match="no element matches the profile's xpath"):
        listing_to_notice_urls(TRS_LISTING, LISTING, missing)


def test_a_listing_without_notice_links_fails_loudly():
    with pytest.raises(LayoutChanged) as e:
        listing_to_notice_urls(b"<html><body><a href='/'>home</a></body></html>", LISTING, TRS)
    assert str(e.value).startswith(f"url {LISTING}, stage fetch: listing yielded 0 notice links, profile xm-gov-trs "
                                   "expects at least 1")
    assert "update the site profile in pipeline/data/sources.toml" in str(e.value)


def test_the_register_lists_the_xiamen_listing_and_the_2025_notice():
    assert [(s.kind, s.url, s.site_profile, s.allowed_hosts, s.notice_id) for s in load_sources()] == [
        ("listing", LISTING, "xm-gov-trs", ("mzj.xm.gov.cn", "www.xm.gov.cn"), None),
        ("notice", NOTICE, "xm-gov-trs", ("mzj.xm.gov.cn", "www.xm.gov.cn"), "厦民〔2025〕95号"),
    ]


def test_source_from_url_picks_profile_kind_and_hosts():
    notice = source_from_url(NOTICE)
    assert (notice.kind, notice.site_profile, notice.notice_id) == ("notice", "xm-gov-trs", "厦民〔2025〕95号")
    listing = source_from_url("https://www.xm.gov.cn/zwgk/flfg/sfbwj/")
    assert (listing.kind, listing.allowed_hosts) == ("listing", ("www.xm.gov.cn", "mzj.xm.gov.cn"))
    other = source_from_url("http://127.0.0.1:8000/news/a123.html")
    assert (other.kind, other.site_profile, other.allowed_hosts) == ("notice", "generic", ("127.0.0.1",))
    assert source_from_url("http://127.0.0.1:8000/news/index.html").kind == "listing"
    with pytest.raises(SourcesError, match="--source: url must be an absolute http"):
        source_from_url("ftp://h/x")


@pytest.mark.parametrize("body, message", [
    ('[[listings]]\nurl = "https://a.gov.cn/x/"\nsite_profile = "nope"\n', "unknown site_profile 'nope'"),
    ('[[notices]]\nurl = "https://a.gov.cn/t1_2.htm"\nallowed_hosts = ["b.gov.cn"]\n',
     "its own host a.gov.cn is not in allowed_hosts"),
    ('[[notices]]\nurl = "a.gov.cn/t1_2.htm"\n', "url must be an absolute http(s) URL"),
    ('[fetch]\nretries = -1\n', "retries must be >= 0"),
    ('[[notices]]\nurl = "https://a.gov.cn/t1_2.htm"\nnoticeid = "x"\n', "unknown keys ['noticeid']"),
])
def test_a_broken_register_says_what_is_wrong(tmp_path, body, message):
    generic = '[site_profiles.generic]\nnotice_url = "x"\n'
    path = tmp_path / "sources.toml"
    path.write_text(generic + body, encoding="utf-8")
    with pytest.raises(Exception) as e:
        load_register(path)
    assert message in str(e.value) and str(path) in str(e.value) and "stage fetch" in str(e.value)


def robots(status: int, body: bytes = b"", fail: bool = False) -> RobotsCache:
    def fetch(url):
        if fail:
            raise TransportError("cannot connect", url=url)
        return status, body
    return RobotsCache("policy-tables/0.1", fetch)


def test_robots_rules_per_rfc_9309():
    rules = robots(200, b"User-agent: *\nDisallow: /private/\n\nUser-agent: policy-tables\nDisallow: /zfxxgk/\n")
    with pytest.raises(RobotsDisallowed):
        rules.check(NOTICE)  # our own group applies, not "*"
    rules.check("https://mzj.xm.gov.cn/private/x.htm")
    robots(404).check(NOTICE)  # no robots.txt: no rules
    with pytest.raises(RobotsUnavailable, match="robots.txt answered HTTP 503"):
        robots(503).check(NOTICE)
    with pytest.raises(RobotsUnavailable, match="robots.txt could not be read: cannot connect"):
        robots(0, fail=True).check(NOTICE)


@pytest.mark.parametrize("name, content_type", [
    ("xm-mzj-2025-095.html", "text/html; charset=utf-8"),
    ("xm-mzj-2025-095.html", None),
    ("xm-gov-2009-254.html", "text/html"),  # GBK page, charset only in its meta (gb2312)
    ("xm-gov-2009-254.html", "text/html; charset=ISO-8859-1"),  # a server default that is wrong
])
def test_page_text_reads_pages_as_the_full_decoder_does(name, content_type):
    from pipeline.ingest.decode import decode_bytes
    from pipeline.fetch.discover import page_text

    data = (RAW / name).read_bytes()
    assert page_text(data, content_type, name) == decode_bytes(data, content_type)[0]
