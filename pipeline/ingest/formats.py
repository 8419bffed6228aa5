"""Raw bytes to a format name, by content (magic bytes), never by file name alone."""

from __future__ import annotations

import io
import zipfile

from pipeline.errors import EmptyInput, UnsupportedFormat

_HTML_MARKERS = (b"<html", b"<!doctype html", b"<table", b"<body", b"<head", b"<meta", b"<p")


def detect_format(data: bytes, *, file: str | None = None) -> str:
    """Return html, pdf or docx for the bytes; raise for empty or unsupported input."""
    if not data.strip():
        raise EmptyInput("the file is empty", file=file, stage="detect")
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if data[:1024].lstrip().startswith(b"%PDF") or b"%pdf-" in data[:1024].lower():
        return "pdf"
    if data[:4] == b"PK\x03\x04":
        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except zipfile.BadZipFile as exc:
            raise UnsupportedFormat(f"a damaged zip archive ({exc})", file=file, stage="detect") from None
        if "word/document.xml" in names:
            return "docx"
        raise UnsupportedFormat("a zip archive that is not a Word document", file=file, stage="detect")
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise UnsupportedFormat("a legacy Word/Excel (OLE) file", file=file, stage="detect",
                                hint="convert .doc/.xls to .docx/.xlsx (e.g. libreoffice --convert-to docx) and add it")
    if any(m in head for m in _HTML_MARKERS) or head.startswith(b"<?xml"):
        return "html"
    raise UnsupportedFormat("not HTML, PDF or DOCX by its content", file=file, stage="detect")
