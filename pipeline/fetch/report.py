"""What a fetch did, per URL, with counts and a summary people can read."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

OUTCOMES = ("new", "unchanged", "not_modified", "failed", "skipped_host", "robots_disallowed")
ROLES = ("listing", "page", "attachment")
_LABELS = {
    "new": "new",
    "unchanged": "unchanged",
    "not_modified": "not modified",
    "failed": "failed",
    "skipped_host": "skipped (host not allowed)",
    "robots_disallowed": "disallowed by robots.txt",
}


@dataclass
class UrlOutcome:
    """The outcome of one URL; ``reason`` is the full error message (URL, stage, reason, hint) when it did not land.

    A page that landed but whose attachment links could not be read has a second, "failed" outcome.
    """

    url: str
    role: str  # "listing" | "page" | "attachment"
    outcome: str  # one of OUTCOMES
    reason: str | None = None
    raw_file: str | None = None  # the raw file holding these bytes (new or already there)
    sha256: str | None = None
    status_code: int | None = None
    listing_url: str | None = None
    parent_url: str | None = None  # for attachments: the notice page linking them


@dataclass
class FetchReport:
    """Per-URL outcomes of one fetch. A listing's "new" means its links changed, not a new raw file."""

    started_at: str
    finished_at: str = ""
    outcomes: list[UrlOutcome] = field(default_factory=list)
    requests: int = 0  # HTTP requests made, robots.txt and retries included

    def counts(self, *, listings: bool = False) -> dict[str, int]:
        """Count outcomes of notice pages and attachments (or, with listings=True, of listing pages)."""
        counter = Counter(o.outcome for o in self.outcomes if (o.role == "listing") == listings)
        return {k: counter.get(k, 0) for k in OUTCOMES}

    def of(self, outcome: str) -> list[UrlOutcome]:
        """Return the outcomes of one kind, in fetch order."""
        return [o for o in self.outcomes if o.outcome == outcome]

    @property
    def new_files(self) -> list[str]:
        """Raw files written by this fetch."""
        return [o.raw_file for o in self.outcomes if o.outcome == "new" and o.role != "listing" and o.raw_file]

    @property
    def failed(self) -> list[UrlOutcome]:
        return self.of("failed")

    def summary(self) -> str:
        """Say what happened in a few lines: counts, then one line per URL that did not land."""
        files = self.counts()
        listings = self.counts(listings=True)
        n_listings = sum(listings.values())
        head = ", ".join(f"{files[k]} {_LABELS[k]}" for k in OUTCOMES)
        lines = [f"fetch: {sum(files.values())} notice pages and attachments: {head}"]
        if n_listings:
            not_ok = listings["failed"] + listings["skipped_host"] + listings["robots_disallowed"]
            lines.append(f"fetch: {n_listings} listing pages checked, {not_ok} could not be read")
        lines.append(f"fetch: {self.requests} HTTP requests, {self.started_at} .. {self.finished_at}")
        for o in self.outcomes:
            if o.outcome in ("failed", "skipped_host", "robots_disallowed"):
                lines.append(f"  {_LABELS[o.outcome]}: {o.reason}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as plain data (for run records and JSON)."""
        return {
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "requests": self.requests,
            "counts": self.counts(),
            "listing_counts": self.counts(listings=True),
            "outcomes": [asdict(o) for o in self.outcomes],
        }
