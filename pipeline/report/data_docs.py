"""GX Data Docs for a validation run, built into a folder of the report."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

from pipeline.warehouse.gate import Validation

SITE = "qa_report"
PLUGINS = Path(__file__).resolve().parent  # holds custom_data_docs/styles/data_docs_custom_styles.css


def _relative(url: str, start: Path) -> str:
    """Turn a file:// URL of the site into a link relative to the report folder."""
    return Path(os.path.relpath(unquote(urlparse(url).path), start)).as_posix()


def build_data_docs(validation: Validation, site_dir: Path, report_dir: Path) -> tuple[str, dict[str, str]]:
    """Build GX Data Docs (suites and validation results) into site_dir.

    Return the site's index and each suite's validation page, as links relative to report_dir.
    """
    shutil.rmtree(site_dir, ignore_errors=True)  # a previous report's run pages would otherwise pile up
    site_dir.mkdir(parents=True)
    context = validation.context
    context.variables.plugins_directory = str(PLUGINS)
    context.add_data_docs_site(SITE, {
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(site_dir)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    })
    urls = context.build_data_docs(site_names=[SITE])
    pages = {}
    for identifier, result in validation.checkpoint_result.run_results.items():
        for site in context.get_docs_sites_urls(resource_identifier=identifier, site_name=SITE):
            pages[result.suite_name] = _relative(site["site_url"], report_dir)
    return _relative(urls[SITE], report_dir), pages
