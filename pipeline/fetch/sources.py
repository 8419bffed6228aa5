"""The sources register (pipeline/data/sources.toml): listing pages to watch, single notices, site profiles."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pipeline.config import DATA, data_path
from pipeline.fetch.settings import FetchSettings
from pipeline.fetch.errors import SourcesError

SOURCES_FILE = DATA / "sources.toml"
GENERIC_PROFILE = "generic"


@dataclass(frozen=True)
class SiteProfile:
    """How a site links notices and attachments: URL patterns (regex on the URL path) and page regions."""

    name: str
    notice_url: str  # a link on a listing page whose path matches this is a notice
    attachment_url: str = r"\.(?:pdf|docx?|xlsx?)$"
    next_page_url: str | None = None  # listing pagination links (followed up to max_listing_pages)
    listing_xpath: str | None = None  # region of a listing page holding the notice links (whole page if None)
    notice_xpath: str | None = None  # region of a notice page holding the attachment links
    min_notices: int = 1  # a listing yielding fewer notice links fails loudly (layout changed)
    hosts: tuple[str, ...] = ()  # host globs this profile is chosen for by source_from_url
    allowed_hosts: tuple[str, ...] = ()  # default allowed_hosts for sources of this profile
    description: str = ""

    def __post_init__(self) -> None:
        for key in ("notice_url", "attachment_url", "next_page_url"):
            if (pattern := getattr(self, key)) is not None:
                try:
                    re.compile(pattern)
                except re.error as e:
                    raise SourcesError(f"site profile {self.name}: {key} is not a valid regex: {e}", stage="fetch")

    def matches_host(self, host: str) -> bool:
        """Tell whether this profile is meant for a host (by the globs in ``hosts``)."""
        return any(fnmatch.fnmatch(host.lower(), glob.lower()) for glob in self.hosts)

    def is_notice_url(self, url: str) -> bool:
        """Tell whether a URL looks like a notice page of this site."""
        return re.search(self.notice_url, urlsplit(url).path, re.I) is not None


@dataclass(frozen=True)
class Source:
    """One entry to fetch: a listing page to watch or a single notice URL."""

    url: str
    kind: str  # "listing" | "notice"
    profile: SiteProfile
    allowed_hosts: tuple[str, ...]
    notice_id: str | None = None  # the notice's 文号 where the register knows it (goes into sidecars)
    note: str = ""

    @property
    def site_profile(self) -> str:
        return self.profile.name

    def allows(self, url: str) -> bool:
        """Tell whether a URL's host is one this source may contact."""
        host = (urlsplit(url).hostname or "").lower()
        return host in self.allowed_hosts


@dataclass(frozen=True)
class Register:
    """Everything sources.toml says: settings, site profiles and sources."""

    settings: FetchSettings
    profiles: dict[str, SiteProfile]
    sources: list[Source] = field(default_factory=list)


def _profile(name: str, data: dict[str, Any], file: str) -> SiteProfile:
    data = dict(data)
    for key in ("hosts", "allowed_hosts"):
        data[key] = tuple(h.lower() for h in data.get(key, ()))
    try:
        return SiteProfile(name=name, **data)
    except TypeError as e:
        raise SourcesError(f"site profile {name}: {e}", file=file, stage="fetch") from None


def _check_url(url: Any, where: str, file: str) -> str:
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
        raise SourcesError(f"{where}: url must be an absolute http(s) URL, got {url!r}", file=file, stage="fetch")
    return url


def _source(kind: str, entry: dict[str, Any], profiles: dict[str, SiteProfile], file: str) -> Source:
    where = f"[[{kind}s]] entry {entry.get('url')!r}"
    url = _check_url(entry.get("url"), where, file)
    unknown = set(entry) - {"url", "site_profile", "allowed_hosts", "notice_id", "note"}
    if unknown:
        raise SourcesError(f"{where}: unknown keys {sorted(unknown)}", file=file, stage="fetch")
    name = entry.get("site_profile", GENERIC_PROFILE)
    if name not in profiles:
        raise SourcesError(f"{where}: unknown site_profile {name!r}", file=file, stage="fetch")
    profile = profiles[name]
    allowed = tuple(h.lower() for h in entry.get("allowed_hosts", profile.allowed_hosts))
    host = urlsplit(url).hostname.lower()
    if host not in allowed:
        raise SourcesError(f"{where}: its own host {host} is not in allowed_hosts {list(allowed)}", file=file, stage="fetch")
    return Source(url, kind, profile, allowed, entry.get("notice_id"), entry.get("note", ""))


def load_register(path: Path | str | None = None) -> Register:
    """Read and validate a sources register (default pipeline/data/sources.toml)."""
    path = Path(path) if path else data_path(SOURCES_FILE.name)
    file = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise SourcesError(f"cannot read the sources register: {e}", file=file, stage="fetch") from None
    settings = FetchSettings.from_mapping(data.get("fetch", {}), file=file)
    profiles = {name: _profile(name, p, file) for name, p in data.get("site_profiles", {}).items()}
    if GENERIC_PROFILE not in profiles:
        raise SourcesError(f"site_profiles.{GENERIC_PROFILE} is missing (used for unknown sites)", file=file, stage="fetch")
    sources = [_source("listing", e, profiles, file) for e in data.get("listings", [])]
    sources += [_source("notice", e, profiles, file) for e in data.get("notices", [])]
    return Register(settings, profiles, sources)


def load_sources(path: Path | str | None = None) -> list[Source]:
    """Return the sources of a register (default pipeline/data/sources.toml)."""
    return load_register(path).sources


def load_settings(path: Path | str | None = None) -> FetchSettings:
    """Return the [fetch] settings of a register (default pipeline/data/sources.toml)."""
    return load_register(path).settings


def source_from_url(url: str, *, register: Register | None = None, kind: str | None = None) -> Source:
    """Make a Source for an ad-hoc URL (``pipeline refresh --source URL``).

    The site profile is the first whose ``hosts`` match the URL's host, else "generic". The kind is
    "notice" if the URL looks like a notice page of that profile, else "listing"; ``kind`` overrides.
    Allowed hosts are the URL's own host plus the profile's.
    """
    register = register or load_register()
    url = _check_url(url, "--source", "command line")
    host = urlsplit(url).hostname.lower()
    profile = next((p for p in register.profiles.values() if p.matches_host(host)), register.profiles[GENERIC_PROFILE])
    if kind not in (None, "listing", "notice"):
        raise SourcesError(f"--source {url}: kind must be 'listing' or 'notice', got {kind!r}", stage="fetch")
    kind = kind or ("notice" if profile.is_notice_url(url) else "listing")
    allowed = tuple(dict.fromkeys((host, *profile.allowed_hosts)))
    known = next((s for s in register.sources if s.url == url), None)
    return Source(url, kind, profile, allowed, known.notice_id if known else None, "ad hoc (--source)")
