"""GX Data Docs for a validation run, built into a folder of the report.

GX prints the unexpected values of a result (the published text that broke an expectation: a 文号, a
cell) into its tables as they are, so a ``<script>`` in a notice would run in the reader's browser.
Before the site is built, those values are HTML-escaped in the stored validation results; GX escapes
the values it renders through string templates (observed values, expectation parameters) itself, so
those are left alone and nothing is escaped twice.
"""

from __future__ import annotations

import html
import os
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

from pipeline.warehouse.gate import Validation

SITE = "qa_report"
PLUGINS = Path(__file__).resolve().parent  # holds custom_data_docs/styles/data_docs_custom_styles.css


# Result keys whose values GX Data Docs writes into table cells without escaping.
RAW_RESULT_KEYS = frozenset({"partial_unexpected_list", "partial_unexpected_counts", "partial_unexpected_index_list",
                             "unexpected_list", "unexpected_index_list", "unexpected_index_query"})


def escaped(value: object) -> object:
    """Return the value with every string in it HTML-escaped (dict keys, which are column names, kept)."""
    if isinstance(value, str):
        return html.escape(value)
    if isinstance(value, dict):
        return {k: escaped(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(escaped(v) for v in value)
    return value


def escape_stored_results(context) -> int:
    """HTML-escape the values GX prints raw, in every validation result of the context's store, once.

    Return how many expectation results were escaped. Call it once per validation: it is not idempotent.
    """
    store = context.validation_results_store
    n = 0
    for key in store.list_keys():
        suite_result = store.get(key)
        for r in suite_result.results:
            if r.result and RAW_RESULT_KEYS & set(r.result):
                r.result = {k: escaped(v) if k in RAW_RESULT_KEYS else v for k, v in r.result.items()}
                n += 1
        store.set(key, suite_result)
    return n


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
    escape_stored_results(context)
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
