"""Content-addressed, sanitized raw names: hostile names never escape raw/."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.fetch.names import (
    attachment_stem,
    disposition_filename,
    extension_for,
    host_slug,
    path_inside,
    raw_name,
    sanitize_stem,
    url_stem,
)

SHA = "bba5cc575356b8b24b4689f6f6676e1f6696577e22cc64dc619ac84523c5a0fa"
SAFE = re.compile(r"[A-Za-z0-9._\-\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef\u2e80-\u2fdf"
                  r"\U00020000-\U0003134f“”‘’—…·]+")


@pytest.mark.parametrize("text, expected", [
    ("厦门市服务类社会救助清单(试行)", "厦门市服务类社会救助清单-试行"),
    ("../../x", "x"),
    ("..\\..\\windows\\system32", "windows-system32"),
    ("/etc/passwd", "etc-passwd"),
    (".hidden", "hidden"),
    ("...", "file"),
    ("", "file"),
    ("ＡＢＣ１２３", "ABC123"),  # NFKC: full-width Latin becomes ASCII
    ("a\x00b\nc", "a-b-c"),
    ("P020250718560315474123", "P020250718560315474123"),
    ("a -- b", "a-b"),  # "--" is reserved as the part separator
])
def test_sanitize_stem(text, expected):
    assert sanitize_stem(text) == expected


def test_raw_name_of_the_real_attachment():
    assert raw_name("mzj.xm.gov.cn", "厦门市服务类社会救助清单(试行)", SHA, "pdf") == (
        "mzj-xm-gov-cn--厦门市服务类社会救助清单-试行--bba5cc575356.pdf")
    assert host_slug("127.0.0.1:8080") == "127-0-0-1"
    with pytest.raises(ValueError, match="extension 'exe'"):
        raw_name("h", "x", SHA, "exe")


@given(st.text(max_size=400), st.text(max_size=80))
def test_any_name_stays_a_plain_file_inside_raw(tmp_path_factory, stem, host):
    name = raw_name(host, stem, SHA, "html")
    part = sanitize_stem(stem)
    assert SAFE.fullmatch(part) and not part.startswith(".") and "--" not in part
    assert len(name.encode("utf-8")) + len(".json") <= 255
    raw = tmp_path_factory.getbasetemp() / "raw"
    assert path_inside(raw, name).parent == raw.resolve()


@pytest.mark.parametrize("name", ["../x", "..", ".", "", ".hidden", "a/b", "a\\b", "x\0y"])
def test_path_inside_refuses_unsafe_names(tmp_path, name):
    with pytest.raises(ValueError, match="refusing"):
        path_inside(tmp_path, name)


@pytest.mark.parametrize("content_type, url, head, expected", [
    ("text/html; charset=utf-8", "https://h/a/t1_2.htm", b"<!DOCTYPE html>", "html"),
    ("text/html", "https://h/a/", b"<html>", "html"),
    ("application/pdf", "https://h/P1.pdf", b"%PDF-1.4", "pdf"),
    ("application/octet-stream", "https://h/P1.docx", b"PK\x03\x04", "docx"),
    (None, "https://h/P1.XLSX", b"PK\x03\x04", "xlsx"),
    ("application/msword", "https://h/download?id=3", b"\xd0\xcf\x11\xe0", "doc"),
    ("application/vnd.ms-excel", "https://h/P1.xls", b"\xd0\xcf\x11\xe0", "xls"),
    # A 200 "file not found" page for a .pdf link is HTML, whatever the header says.
    ("application/pdf", "https://h/P1.pdf", b"\r\n<html><body>not found", "html"),
    ("application/zip", "https://h/P1.zip", b"PK\x03\x04", None),
    ("image/png", "https://h/a.png", b"\x89PNG", None),
    ("application/octet-stream", "https://h/a.exe", b"MZ", None),
])
def test_extension_for(content_type, url, head, expected):
    assert extension_for(content_type, url, head) == expected


def test_attachment_stem_prefers_served_name_then_link_text_then_url():
    url = "https://mzj.xm.gov.cn/a/P020250718560315474123.pdf"
    assert attachment_stem(url, "厦门市服务类社会救助清单(试行).pdf", 'attachment; filename="list.pdf"') == "list"
    assert attachment_stem(url, "厦门市服务类社会救助清单(试行).pdf", None) == "厦门市服务类社会救助清单(试行)"
    assert attachment_stem(url, "点击下载", None) == "P020250718560315474123"
    assert attachment_stem("https://h/%E9%99%84%E4%BB%B6.doc") == "附件"
    assert url_stem("https://h/zfxxgk/") == "zfxxgk" and url_stem("https://h/") == "index"
    assert sanitize_stem(url_stem("https://h/art/detail.jsp?id=7&t=a")) == "detail-id-7-t-a"


def test_disposition_filename_reads_rfc_5987_names():
    assert disposition_filename("attachment; filename*=UTF-8''%E6%B8%85%E5%8D%95.xlsx") == "清单.xlsx"
    assert disposition_filename('attachment; filename="../../.evil.doc"') == "../../.evil.doc"
    assert disposition_filename(None) is None and disposition_filename("inline") is None
