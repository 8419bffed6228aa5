"""Shared fixtures: the real notices under raw/, parsed once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline.ingest.decode import decode_bytes
from pipeline.extract.html import html_to_grids, parse_html
from pipeline.kinds.provisions import grid_to_provision_records
from pipeline.kinds.recognize import load_table_profiles, recognize_table

# No refresh of a test leaves a warm gate behind (gate_warm.py); the tests of the warm gate ask for one themselves.
os.environ["POLICY_GATE_KEEP"] = "0"

ROOT = Path(__file__).resolve().parent.parent
RAW = ROOT / "raw"
HTML_2025 = RAW / "xm-mzj-2025-095.html"
HTML_2009 = RAW / "xm-gov-2009-254.html"


def html_grids(data: bytes):
    return html_to_grids(parse_html(decode_bytes(data)[0]))


def provisions_from_html(data: bytes, notice_id: str = "N") -> tuple[list[dict], list[dict]]:
    """Run grid → recognize → tidy rows on every recognized table of an HTML page."""
    rows: list[dict] = []
    lineage: list[dict] = []
    profiles = load_table_profiles()
    for grid in html_grids(data):
        rec = recognize_table(grid, profiles)
        if rec is not None and rec.profile.target == "service_provisions":
            p, l = grid_to_provision_records(grid, rec, notice_id=notice_id, raw_file="f.html", raw_sha256="x")
            rows += p
            lineage += l
    return rows, lineage


@pytest.fixture(scope="session")
def html_2025_bytes() -> bytes:
    return HTML_2025.read_bytes()


@pytest.fixture(scope="session")
def grid_2025(html_2025_bytes):
    grids = html_grids(html_2025_bytes)
    assert len(grids) == 1
    return grids[0]


@pytest.fixture(scope="session")
def provisions_2025(html_2025_bytes) -> list[dict]:
    return provisions_from_html(html_2025_bytes, "厦民〔2025〕95号")[0]
