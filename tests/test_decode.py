"""Decoding real pages: BOM, HTTP header, meta, sniffing; a declared gb2312 read as GB18030; no mojibake."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.ingest.decode import canonical_charset, decode_bytes, mojibake_score
from pipeline.errors import DecodeError, EmptyInput

ROOT = Path(__file__).resolve().parent.parent
GBK_PAGE = (ROOT / "raw" / "xm-gov-2009-254.html").read_bytes()
UTF8_PAGE = (ROOT / "raw" / "xm-mzj-2025-095.html").read_bytes()
GBK_TEXT = GBK_PAGE.decode("gb18030")


def test_declared_gb2312_page_decodes_as_gb18030_with_its_zero():
    with pytest.raises(UnicodeDecodeError):
        GBK_PAGE.decode("gb2312")  # 〇 is not in GB2312: believing the declaration would fail
    text, how = decode_bytes(GBK_PAGE, file="xm-gov-2009-254.html")
    assert how == "meta:gb18030"
    assert "二〇〇九年十月十七日" in text and "厦府办〔2009〕254号" in text
    assert "\ufffd" not in text and mojibake_score(text) == 0.0


def test_utf8_page():
    text, how = decode_bytes(UTF8_PAGE)
    assert how == "meta:utf-8" and "厦门市服务类社会救助清单" in text


@pytest.mark.parametrize(
    ("content_type", "how"),
    [
        ("text/html; charset=gb2312", "http:gb18030"),
        ("text/html; charset=ISO-8859-1", "meta:gb18030"),  # a server's default loses to the page's own CJK meta
        ("text/html; charset=utf-8", "meta:gb18030"),  # a header the bytes contradict is passed over
        ("text/html", "meta:gb18030"),
    ],
)
def test_http_header_against_the_page(content_type, how):
    text, got = decode_bytes(GBK_PAGE, content_type)
    assert got == how and text == GBK_TEXT


def test_bom_wins_over_a_wrong_meta():
    data = codecs.BOM_UTF8 + GBK_TEXT.encode("utf-8")  # still declares gb2312 in its meta
    text, how = decode_bytes(data)
    assert how == "bom:utf-8-sig" and text == GBK_TEXT
    text16, how16 = decode_bytes("厦门市〇".encode("utf-16"))
    assert (text16, how16) == ("厦门市〇", "bom:utf-16")


def test_utf8_bytes_under_a_legacy_declaration_are_utf8():
    text, how = decode_bytes(GBK_TEXT.encode("utf-8"))  # meta says gb2312, bytes were re-saved as UTF-8
    assert how == "meta-mismatch:utf-8" and text == GBK_TEXT


def test_gbk_text_that_happens_to_be_valid_utf8_stays_gbk():
    """Regression: 一 is D2 BB in GBK, a valid UTF-8 sequence (Cyrillic һ); the declaration must win."""
    page = '<meta charset="gb2312">一一一一十印'
    assert page.encode("gbk").decode("utf-8") == '<meta charset="gb2312">һһһһʮӡ'
    assert decode_bytes(page.encode("gbk")) == (page, "meta:gb18030")


def test_undeclared_bytes_are_sniffed_without_mojibake():
    no_meta = GBK_PAGE.replace(b"; charset=gb2312", b"")
    assert decode_bytes(no_meta) == (GBK_TEXT.replace("; charset=gb2312", ""), "sniff:gb18030")
    big5 = "廈門市民政局關於印發養老服務補貼的通知，請各單位認真貫徹執行。"
    assert decode_bytes(big5.encode("big5")) == (big5, "sniff:big5hkscs")
    assert decode_bytes("café, été".encode("cp1252"), "text/plain; charset=iso-8859-1") == ("café, été", "http:cp1252")


def test_a_wrong_utf8_declaration_falls_back_to_gb18030_not_korean():
    text, how = decode_bytes('<meta charset="utf-8">厦门市民政局〇'.encode("gb18030"))
    assert (text, how) == ('<meta charset="utf-8">厦门市民政局〇', "declared-wrong-sniff:gb18030")


def test_replacement_characters_in_the_bytes_are_reported_not_silent():
    text, how = decode_bytes("<p>养老\ufffd服务，居家养老</p>".encode("utf-8"))
    assert text.count("\ufffd") == 1 and how == "sniff:utf-8+U+FFFD×1"


def test_undecodable_bytes_raise_with_file_and_stage():
    with pytest.raises(DecodeError) as exc:
        decode_bytes(b"\x81\xff\x80" * 20, file="bad.html")
    assert "bad.html" in str(exc.value) and "stage decode" in str(exc.value) and "hint" in str(exc.value)
    with pytest.raises(EmptyInput):
        decode_bytes(b"", file="empty.html")


def test_canonical_charsets():
    assert [canonical_charset(n) for n in ("gb2312", "GBK", "x-gbk", "GB_2312-80", "big5", "UTF8", "bogus", None)] == [
        "gb18030", "gb18030", "gb18030", "gb18030", "big5hkscs", "utf-8", None, None]


def test_mojibake_is_recognized():
    assert mojibake_score(GBK_PAGE.decode("cp1252", errors="ignore")) > 0.5
    assert mojibake_score(GBK_TEXT.encode("utf-8").decode("cp1252", errors="ignore")) > 0.5
    assert mojibake_score("Größe, café, naïve") == 0.0
    assert mojibake_score("他说：“好……”——“是”，×××同志") == 0.0  # Chinese punctuation runs are not mojibake


cjk = st.text(alphabet=st.sampled_from("厦门市人民政府办公厅关于印发推进居家养老服务〇一二三四五六七八九十年月日，。、（）“”"),
              min_size=1, max_size=60)


@settings(max_examples=60, deadline=None)
@given(body=cjk, declared=st.sampled_from(["gb2312", "gbk", "GB2312", "gb18030"]))
def test_declared_legacy_pages_round_trip(body, declared):
    meta = f'<meta http-equiv="Content-Type" content="text/html; charset={declared}">'
    page = f"<html><head>{meta}</head><body>{body}</body></html>"
    text, how = decode_bytes(page.encode("gb18030"))
    assert text == page and how == "meta:gb18030"


# --- declarations the bytes cannot fit ---------------------------------------------------------------------

LIST = "<html><head>{decl}</head><body><p>厦门市民政局关于印发服务类社会救助清单的通知 2025</p></body></html>"


def test_meta_declared_utf16_on_utf8_bytes_is_read_as_utf8():
    """HTML standard: a meta found by reading the bytes as ASCII cannot mean UTF-16; it is read as UTF-8."""
    short = '<meta charset="utf-16"><p>2025 lists</p>'
    assert short.encode("utf-8").decode("utf-16") != short  # the trap: the lie decodes strictly, to mojibake
    assert decode_bytes(short.encode("utf-8")) == (short, "meta-mismatch:utf-8")
    for label in ("utf-16", "UTF-16LE", "utf-16be", "utf-32"):
        page = LIST.format(decl=f'<meta charset="{label}">')
        assert decode_bytes(page.encode("utf-8")) == (page, "meta-mismatch:utf-8"), label
    xml = '<?xml version="1.0" encoding="UTF-16"?>' + LIST.format(decl="")
    assert decode_bytes(xml.encode("utf-8")) == (xml, "xml-mismatch:utf-8")


def test_utf16_declared_on_gbk_bytes_falls_back_to_what_the_bytes_are():
    page = LIST.format(decl='<meta charset="utf-16">')
    assert decode_bytes(page.encode("gbk")) == (page, "declared-wrong-sniff:gb18030")
    gbk = LIST.format(decl='<meta charset="gbk">')
    assert decode_bytes(gbk.encode("gbk"), "text/html; charset=utf-16") == (gbk, "meta:gb18030")


def test_http_utf16_is_believed_only_on_bytes_that_are_utf16():
    page = LIST.format(decl="")
    assert decode_bytes(page.encode("utf-8"), "text/html; charset=utf-16") == (page, "http-mismatch:utf-8")
    assert decode_bytes(page.encode("utf-16-le"), "text/html; charset=utf-16") == (page, "http:utf-16-le")
    assert decode_bytes(page.encode("utf-16-be"), "text/html; charset=UTF-16") == (page, "http:utf-16-be")


def test_a_bom_the_bytes_contradict_is_dropped_and_the_meta_believed():
    utf8 = LIST.format(decl='<meta charset="utf-8">')
    assert decode_bytes(codecs.BOM_UTF16_LE + utf8.encode("utf-8")) == (utf8, "bom-mismatch+meta:utf-8")
    gbk = LIST.format(decl='<meta charset="gbk">')
    assert decode_bytes(codecs.BOM_UTF8 + gbk.encode("gbk")) == (gbk, "bom-mismatch+meta:gb18030")
    # a BOM that fits still wins over a meta that contradicts it
    real16 = LIST.format(decl='<meta charset="gbk">')
    assert decode_bytes(real16.encode("utf-16")) == (real16, "bom:utf-16")
    assert decode_bytes(real16.encode("utf-32")) == (real16, "bom:utf-32")
