"""Paths and defaults in one place."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(__file__).resolve().parent
DATA = PACKAGE / "data"
# A folder whose data files replace the package's of the same name (profiles, registers …), for a deployment's
# own data kept outside the code: POLICY_DATA_DIR=/srv/policy-data make refresh.
DATA_OVERLAY_ENV = "POLICY_DATA_DIR"


def data_overlay() -> Path | None:
    value = os.environ.get(DATA_OVERLAY_ENV)
    return Path(value) if value else None


def data_path(name: str) -> Path:
    """Return the data file (or folder) to read: the overlay's when it has one, else the package's."""
    overlay = data_overlay()
    if overlay is not None and (overlay / name).exists():
        return overlay / name
    return DATA / name

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
