"""Fetch notices from the live sites into raw/ (issue 7): register -> listings -> notices -> attachments.

Modules, in the order a refresh uses them: ``sources`` (the register), ``client`` (one polite GET),
``deadline`` (a wall-clock limit per request) and ``decoding`` (Content-Encoding under the size cap),
``robots``, ``discover`` (links per site profile), ``names`` (content-addressed names), ``store``
(atomic writes + sidecars), ``state`` (conditional-GET state), ``run`` (the orchestration), ``report``.
"""

from pipeline.fetch.errors import FetchError, SourcesError
from pipeline.fetch.report import OUTCOMES, FetchReport, UrlOutcome
from pipeline.fetch.run import fetch_sources
from pipeline.fetch.sources import Register, SiteProfile, Source, load_register, load_settings, load_sources, source_from_url

__all__ = [
    "OUTCOMES",
    "FetchError",
    "FetchReport",
    "Register",
    "SiteProfile",
    "Source",
    "SourcesError",
    "UrlOutcome",
    "fetch_sources",
    "load_register",
    "load_settings",
    "load_sources",
    "source_from_url",
]
