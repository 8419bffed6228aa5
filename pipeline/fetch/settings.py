"""Fetch settings: one dataclass with validated defaults, read from the ``[fetch]`` table of sources.toml."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Mapping

from pipeline.errors import PipelineError

# Extensions raw/ keeps for fetched files; anything else is refused (see pipeline.fetch.names).
RAW_EXTENSIONS = ("html", "pdf", "doc", "docx", "xls", "xlsx")


class SettingsError(PipelineError):
    """A [fetch] setting is unknown or out of range."""

    hint = "fix the [fetch] table of pipeline/data/sources.toml"


@dataclass(frozen=True)
class FetchSettings:
    """How politely and how patiently to fetch: timeouts, retries, rate limit, size cap."""

    user_agent: str = "policy-tables/0.1 (open-data pipeline; polite fetcher, honours robots.txt)"
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 30.0
    total_timeout_s: float = 120.0  # whole response, so a slow drip cannot hold a refresh forever
    retries: int = 3  # extra attempts after the first, for timeouts, dropped connections, 429 and 5xx
    backoff_base_s: float = 1.0  # wait before retry n is base * 2**n (jittered), capped at backoff_max_s
    backoff_max_s: float = 30.0
    min_interval_s: float = 1.0  # per host, between request starts; robots.txt Crawl-delay raises it
    max_crawl_delay_s: float = 60.0  # a Crawl-delay above this is capped: 100000 s would stall a refresh for days
    max_bytes: int = 50 * 1024 * 1024
    max_redirects: int = 5
    max_listing_pages: int = 1  # listing pages followed per listing source (first page included)

    def __post_init__(self) -> None:
        if not self.user_agent.strip():
            raise SettingsError("user_agent must not be empty", stage="fetch")
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
                raise SettingsError(f"{f.name} must be >= 0, got {value}", stage="fetch")
        for name in ("connect_timeout_s", "read_timeout_s", "total_timeout_s", "max_bytes", "max_listing_pages"):
            if getattr(self, name) <= 0:
                raise SettingsError(f"{name} must be > 0, got {getattr(self, name)}", stage="fetch")
        if self.backoff_max_s < self.backoff_base_s:
            raise SettingsError("backoff_max_s must be >= backoff_base_s", stage="fetch")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, file: str | None = None) -> "FetchSettings":
        """Build settings from a TOML table, refusing unknown keys (a typo must not pass silently)."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise SettingsError(f"unknown [fetch] keys: {', '.join(unknown)}", file=file, stage="fetch")
        values: dict[str, Any] = {}
        for key, value in data.items():
            default = known[key].default
            expected = (int, float) if isinstance(default, float) else type(default)
            if isinstance(value, bool) or not isinstance(value, expected):
                raise SettingsError(f"[fetch] {key} must be a {type(default).__name__}, got {value!r}", file=file, stage="fetch")
            values[key] = float(value) if isinstance(default, float) else value
        try:
            return cls(**values)
        except SettingsError as e:
            raise e.located(file=file or "", stage="fetch")
