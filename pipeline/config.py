"""Paths and defaults in one place."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(__file__).resolve().parent
DATA = PACKAGE / "data"

RAW_DIR = ROOT / "raw"
STAGING_DIR = ROOT / "staging"
WAREHOUSE_FILE = ROOT / "warehouse" / "policy.duckdb"
REPORTS_DIR = ROOT / "reports"
REVIEWS_DIR = ROOT / "reviews"
EXPECTATIONS_DIR = ROOT / "expectations"
FETCH_STATE_FILE = STAGING_DIR / "fetch_state.json"  # conditional-GET cache; rebuilt from sidecars if lost

# Sidecar provenance files for raw snapshots live here, one JSON per raw file.
PROVENANCE_DIRNAME = "provenance"

# Formats the pipeline reads, by detected kind (pipeline.ingest.formats.detect_format); doc, odt, ods and
# rtf are converted by LibreOffice (pipeline.extract.office) and then read as docx/xlsx.
SUPPORTED_FORMATS = ("html", "pdf", "docx", "xlsx", "xls", "doc", "odt", "ods", "rtf")

# Preferred source when one notice carries the same table in several formats.
DEFAULT_FORMAT_PREFERENCE = ("html", "docx", "pdf")
