"""Format detection by content: signatures anchored at the file start, OLE2 streams, zip parts."""

from __future__ import annotations

import codecs
import io
import re
import tomllib
import zipfile

import olefile
import pytest

from pipeline.config import ROOT, SUPPORTED_FORMATS
from pipeline.errors import CorruptFile, EmptyInput, UnsupportedFormat
from pipeline.ingest.formats import detect_format
from pipeline.stages import EXTRACTORS
from tests.conftest import RAW
from tests.fixtures.real_files import REAL, real_bytes

REAL_KINDS = {
    "d08-sx-sydw-signup-2025.xlsx": "xlsx",
    "d09-klmy-kjj-powers.xls": "xls",
    "d10-klmy-czj-powers-ole.xlsx": "xls",  # an OLE2/BIFF8 workbook under a .xlsx name
    "d11-klmy-rf-powers-sheets.xlsx": "xlsx",
    "d12-zj-nocert-catalog.doc": "doc",
    "d13-hn-njbt-2024.doc": "doc",
    "d14-sh-insurance-exam-rules.docx": "docx",
}


@pytest.mark.parametrize("name", sorted(REAL_KINDS))
def test_real_files_by_content_and_a_renamed_copy_gets_the_same_answer(name, tmp_path):
    assert detect_format(real_bytes(name), file=name) == REAL_KINDS[name]
    renamed = tmp_path / ("renamed.pdf" if not name.endswith(".pdf") else "renamed.html")
    renamed.write_bytes((REAL / name).read_bytes())
    assert detect_format(renamed.read_bytes(), file=renamed.name) == REAL_KINDS[name]


def test_wps_binaries_are_told_by_their_streams():
    """WPS writes .doc/.xls with its own extra streams; the Word/Excel stream decides."""
    for name in ("d09-klmy-kjj-powers.xls", "d12-zj-nocert-catalog.doc"):
        with olefile.OleFileIO(real_bytes(name)) as ole:
            streams = {"/".join(s) for s in ole.listdir()}
        assert {"ETExtData", "WpsCustomData"} & streams  # written by WPS
        assert ("Workbook" if name.endswith(".xls") else "WordDocument") in streams


@pytest.mark.parametrize("name, kind", [("xm-mzj-2025-095.html", "html"), ("xm-gov-2009-254.html", "html"),
                                        ("xm-mzj-2025-095-list.pdf", "pdf"), ("xm-mzj-2025-095-list.docx", "docx")])
def test_the_raw_notices_keep_their_kinds(name, kind):
    assert detect_format((RAW / name).read_bytes()) == kind


def test_a_pdf_header_inside_an_html_page_does_not_make_it_a_pdf():
    page = b"<!DOCTYPE html><html><body><p>see the attachment: %PDF-1.7 sample</p></body></html>"
    assert detect_format(page) == "html"
    with pytest.raises(UnsupportedFormat):
        detect_format(b"some preamble then %PDF-1.4\n1 0 obj")


@pytest.mark.parametrize("head", [b"%PDF-1.4\n", b"\xef\xbb\xbf%PDF-1.7\n", b"\r\n  %PDF-2.0\n"])
def test_a_pdf_header_opens_the_file_after_whitespace_or_a_bom(head):
    assert detect_format(head + b"1 0 obj << >> endobj") == "pdf"


@pytest.mark.parametrize("page", [
    b"<html><body>x</body></html>",
    b"  \n<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\"><html></html>",
    b"<!-- saved from url=(0014)about:internet -->\n<html><head></head></html>",
    b'<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0//EN"><html/>',
    b"<meta charset='utf-8'><p>fragment</p>",
    b"\xef\xbb\xbf<table><tr><td>1</td></tr></table>",
    codecs.BOM_UTF16_LE + "<html><body>通知</body></html>".encode("utf-16-le"),
])
def test_html_is_html_when_its_markup_opens_the_text(page):
    assert detect_format(page) == "html"


@pytest.mark.parametrize("text", [b"plain text that mentions <table> later", b"<?xml version='1.0'?><svg/>",
                                  b"\x00\x01 not a notice"])
def test_markup_that_does_not_open_the_text_is_not_html(text):
    with pytest.raises(UnsupportedFormat, match="by its content"):
        detect_format(text)


def test_rtf_by_its_signature():
    assert detect_format(b"{\\rtf1\\ansi\\deff0 {\\fonttbl} hello}") == "rtf"


def _zip(parts: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_zip_packages_by_their_parts():
    ooxml = '<Types><Override PartName="/x/main.xml" ContentType="application/vnd.openxmlformats-officedocument.{}+xml"/></Types>'
    assert detect_format(_zip({"[Content_Types].xml": ooxml.format("spreadsheetml.sheet.main").encode()})) == "xlsx"
    assert detect_format(_zip({"[Content_Types].xml": ooxml.format("wordprocessingml.document.main").encode()})) == "docx"
    assert detect_format(_zip({"xl/workbook.xml": b"<workbook/>"})) == "xlsx"
    assert detect_format(_zip({"word/document.xml": b"<document/>"})) == "docx"
    assert detect_format(_zip({"mimetype": b"application/vnd.oasis.opendocument.text"})) == "odt"
    assert detect_format(_zip({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet"})) == "ods"


@pytest.mark.parametrize("parts, reason", [
    ({"readme.txt": b"hi", "data.csv": b"a,b"}, "not a Word, Excel or OpenDocument file (holds readme.txt, data.csv)"),
    ({"ppt/presentation.xml": b"<p/>"}, "a PowerPoint presentation"),
    ({"mimetype": b"application/vnd.oasis.opendocument.presentation"}, "only text and spreadsheet"),
])
def test_a_zip_that_is_no_document_is_unsupported_with_a_reason(parts, reason):
    with pytest.raises(UnsupportedFormat, match=re.escape(reason)) as err:
        detect_format(_zip(parts), file="a.zip")
    assert err.value.stage == "detect" and str(err.value).startswith("file a.zip, stage detect:")


def test_damaged_containers_are_corrupt_and_empty_files_empty():
    with pytest.raises(CorruptFile, match="damaged OLE2"):
        detect_format(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504, file="x.xls")
    with pytest.raises(CorruptFile, match="damaged zip"):
        detect_format(b"PK\x03\x04" + b"\0" * 100)
    with pytest.raises(EmptyInput):
        detect_format(b" \n")


def test_supported_formats_are_what_detection_returns_and_what_extractors_read():
    assert set(SUPPORTED_FORMATS) == set(EXTRACTORS)
    for table, column in (("raw_files", "format"), ("notices", "format"), ("service_provisions", "source_format"),
                          ("tasks", "source_format")):
        rules = tomllib.loads((ROOT / "expectations" / f"{table}.toml").read_text(encoding="utf-8"))["expect"]
        (values,) = [r["value_set"] for r in rules if r.get("column") == column and "value_set" in r]
        assert set(values) == set(SUPPORTED_FORMATS), table
