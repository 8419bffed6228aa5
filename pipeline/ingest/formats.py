"""Raw bytes to a format name, by content (signatures anchored at the file start), never by file name.

Kinds: ``html``, ``pdf``, ``docx``, ``xlsx``, ``xls`` (BIFF workbooks; WPS 表格 .et binaries are the same),
``doc`` (Word binaries; WPS 文字 .wps binaries are the same), and, read through LibreOffice, ``odt``,
``ods`` and ``rtf``. An OLE2 (CFB) file is told by its streams (``WordDocument``, ``Workbook``/``Book``),
a zip by its content types, part names or ODF ``mimetype``.
"""

from __future__ import annotations

import codecs
import io
import re
import zipfile

from pipeline.errors import CorruptFile, EmptyInput, UnsupportedFormat

STAGE = "detect"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
# What an HTML document (or fragment) opens with, once a BOM, whitespace, comments and an XML
# declaration are skipped.
_HTML_OPEN = re.compile(rb"<(?:!doctype\s+html|html|head|body|meta|title|table|div|p|br|span|font|center|"
                        rb"style|script|link|base|h[1-6])[\s>/]", re.I)
_PROLOG = re.compile(rb"\s*(?:<!--.*?-->|<\?xml[^>]*\?>|\s)*", re.S)
_OOXML_MAIN = {
    "wordprocessingml.document.main": "docx",
    "wordprocessingml.template.main": "docx",
    "document.macroEnabled.main": "docx",
    "spreadsheetml.sheet.main": "xlsx",
    "spreadsheetml.template.main": "xlsx",
    "sheet.macroEnabled.main": "xlsx",
}
_ODF = {"application/vnd.oasis.opendocument.text": "odt",
        "application/vnd.oasis.opendocument.spreadsheet": "ods"}


def _text_head(data: bytes) -> bytes:
    """Return the first KB as ASCII-compatible bytes without a BOM (UTF-16 pages are transcoded)."""
    head = data[:4096]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return head.decode("utf-16", errors="ignore").encode("utf-8", errors="ignore")
    return head[3:] if head.startswith(codecs.BOM_UTF8) else head


def _is_pdf(data: bytes) -> bool:
    """The PDF header opens the file (only whitespace or a BOM before it)."""
    head = data[:1024]
    for bom in _BOMS:
        if head.startswith(bom):
            head = head[len(bom):]
    return head.lstrip(b" \t\r\n\f\0").startswith(b"%PDF-")


def _is_html(data: bytes) -> bool:
    head = _text_head(data)
    return bool(_HTML_OPEN.match(head, _PROLOG.match(head).end()))


def ole_kind(data: bytes, *, file: str | None = None) -> str:
    """Tell an OLE2 compound file by its streams: Word binary (doc) or Excel binary (xls)."""
    import olefile

    try:
        with olefile.OleFileIO(data) as ole:
            streams = {"/".join(parts) for parts in ole.listdir(streams=True, storages=False)}
    except Exception as exc:  # olefile raises OSError and assorted errors for damaged containers
        raise CorruptFile(f"a damaged OLE2 (CFB) container ({type(exc).__name__}: {exc})",
                          file=file, stage=STAGE) from None
    top = {s for s in streams if "/" not in s}
    if "WordDocument" in top:
        return "doc"
    if "Workbook" in top or "Book" in top:
        return "xls"
    if "EncryptedPackage" in top or "EncryptionInfo" in top:
        raise CorruptFile("a password-protected Office document (encrypted OOXML in an OLE2 container)",
                          file=file, stage=STAGE)
    if "PowerPoint Document" in top:
        raise UnsupportedFormat("a PowerPoint presentation (OLE2)", file=file, stage=STAGE)
    shown = ", ".join(sorted(streams)[:8]) or "none"
    raise UnsupportedFormat(f"an OLE2 (CFB) file that is neither Word nor Excel (streams: {shown})",
                            file=file, stage=STAGE)


def _read_member(zf: zipfile.ZipFile, name: str, limit: int = 1 << 20) -> bytes:
    with zf.open(name) as fh:
        return fh.read(limit)


def zip_kind(data: bytes, *, file: str | None = None) -> str:
    """Tell a zip package: OOXML by its main content type (or part names), ODF by its mimetype."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        names = zf.namelist()
        if "[Content_Types].xml" in names:
            types = _read_member(zf, "[Content_Types].xml").decode("utf-8", errors="replace")
            for marker, kind in _OOXML_MAIN.items():
                if marker in types:
                    return kind
        if "mimetype" in names:
            mime = _read_member(zf, "mimetype", 200).decode("ascii", errors="replace").strip()
            if mime in _ODF:
                return _ODF[mime]
            raise UnsupportedFormat(f"an OpenDocument file of type {mime!r} (only text and spreadsheet "
                                    "documents are read)", file=file, stage=STAGE)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError) as exc:
        raise CorruptFile(f"a damaged zip archive ({exc})", file=file, stage=STAGE) from None
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    if any(n.startswith("ppt/") for n in names):
        raise UnsupportedFormat("a PowerPoint presentation (PPTX)", file=file, stage=STAGE)
    shown = ", ".join(names[:5]) + (" …" if len(names) > 5 else "")
    raise UnsupportedFormat(f"a zip archive that is not a Word, Excel or OpenDocument file (holds {shown or 'nothing'})",
                            file=file, stage=STAGE)


def detect_format(data: bytes, *, file: str | None = None) -> str:
    """Return the format kind of the bytes; raise for empty, damaged or unsupported input."""
    if not data.strip():
        raise EmptyInput("the file is empty", file=file, stage=STAGE)
    if _is_pdf(data):
        return "pdf"
    if data.startswith(ZIP_MAGIC):
        return zip_kind(data, file=file)
    if data.startswith(OLE_MAGIC):
        return ole_kind(data, file=file)
    if _text_head(data).lstrip().startswith(b"{\\rtf"):
        return "rtf"
    if _is_html(data):
        return "html"
    raise UnsupportedFormat("not HTML, PDF, Word, Excel, OpenDocument or RTF by its content", file=file, stage=STAGE)
