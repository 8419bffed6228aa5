"""The analyst notebook runs top to bottom against a real warehouse, on a read-only connection."""

from __future__ import annotations

import os

import nbformat
import pytest
from nbclient import NotebookClient

from tests.test_refresh import copy_raw
from pipeline.refresh import refresh
from tests.conftest import HTML_2025, ROOT


@pytest.mark.slow
def test_start_here_notebook_executes(tmp_path, monkeypatch):
    raw = copy_raw(tmp_path, {HTML_2025.name})
    wh = tmp_path / "policy.duckdb"
    refresh(raw, wh, staging_dir=tmp_path / "staging")
    monkeypatch.setenv("POLICY_WAREHOUSE", str(wh))
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    nb = nbformat.read(ROOT / "notebooks" / "start_here.ipynb", as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    outputs = {i: c.outputs for i, c in enumerate(nb.cells) if c.cell_type == "code"}
    first = outputs[1][0]["data"]["text/plain"]
    assert "厦民〔2025〕95号" in first
    per_item = outputs[3][0]["data"]["text/plain"]
    assert "其他" in per_item and "巡访探视" in per_item
    years = outputs[5][0]["data"]["text/plain"]
    assert "2022" in years
    assert outputs[7][-1]["data"]["text/plain"] == "17"
