"""Exceptions people can act on: each names the file, the stage and what to do."""

from __future__ import annotations


class PipelineError(Exception):
    """Base class for errors raised while turning one notice into records."""

    hint = ""

    def __init__(self, reason: str, *, file: str | None = None, stage: str | None = None, hint: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.file = file
        self.stage = stage
        if hint is not None:
            self.hint = hint

    def located(self, *, file: str, stage: str) -> "PipelineError":
        """Fill in the file and stage where they were not known at raise time."""
        self.file = self.file or file
        self.stage = self.stage or stage
        return self

    def __str__(self) -> str:
        where = ", ".join(p for p in (self.file and f"file {self.file}", self.stage and f"stage {self.stage}") if p)
        msg = f"{where}: {self.reason}" if where else self.reason
        return f"{msg} (hint: {self.hint})" if self.hint else msg


class EmptyInput(PipelineError):
    """The raw file has no bytes."""

    hint = "re-fetch the notice; an empty snapshot carries nothing to load"


class DecodeError(PipelineError):
    """The bytes cannot be decoded as text without replacement characters."""

    hint = "check the page's declared charset; add the right one to the site profile"


class UnsupportedFormat(PipelineError):
    """The file's format is not one the pipeline reads."""

    hint = "supported formats are HTML, PDF, DOCX/DOC, XLSX/XLS (WPS .wps/.et binaries too), ODT/ODS and RTF"


class NoTableFound(PipelineError):
    """No table matched any table profile."""

    hint = "add the table's header words to pipeline/data/table_profiles.toml"


class NeedsOCR(PipelineError):
    """The PDF has no text layer (a scan)."""

    hint = "run OCR on the PDF and add the OCR'd file to raw/"


class CorruptFile(PipelineError):
    """The file is damaged or encrypted and cannot be opened."""

    hint = "re-fetch the file, or ask the publisher for an unencrypted copy"


class GarbledText(PipelineError):
    """The text layer is unusable ((cid:NN) glyphs or characters spaced out one by one)."""

    hint = "the PDF's fonts lack a Unicode map; OCR the file or use another format of the notice"


class LoadFailed(PipelineError):
    """Staging tables do not fit the warehouse schema (a NULL key, a wrong type)."""

    hint = "rebuild staging with `make refresh`; if it persists, the schema and the extractor disagree"


class GateFailed(PipelineError):
    """A critical data-quality expectation failed; the published warehouse was kept."""

    hint = "open reports/index.html, fix the source or the profile, and refresh again"
