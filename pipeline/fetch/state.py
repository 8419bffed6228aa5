"""Conditional-GET state per URL, kept in staging/fetch_state.json (generated, not committed).

The file is a cache: when it is missing or unreadable it is rebuilt from the provenance sidecars in
raw/ (validators, sha256 and raw file of the newest fetch of each URL). What sidecars cannot give back
is the links found on listing and notice pages; without them a listing is fetched unconditionally and
a notice's attachments are found again in its raw page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.fetch.store import read_sidecars, write_atomic

STATE_VERSION = 1


@dataclass
class FetchState:
    """Per URL: role, etag, last_modified, sha256, raw_file, outcome, reason, checked_at, links, failures."""

    path: Path
    urls: dict[str, dict[str, Any]] = field(default_factory=dict)
    rebuilt: bool = False  # True when read back from sidecars

    @classmethod
    def load(cls, path: Path, raw_dir: Path) -> "FetchState":
        """Read the state file, or rebuild it from raw/'s sidecars if it is missing or damaged."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            if data.get("version") == STATE_VERSION and isinstance(data.get("urls"), dict):
                return cls(Path(path), data["urls"])
        except (OSError, ValueError, AttributeError):
            pass
        return cls(Path(path), state_from_sidecars(read_sidecars(raw_dir)), rebuilt=True)

    def save(self) -> None:
        """Write the state file atomically."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"version": STATE_VERSION, "urls": self.urls}, ensure_ascii=False, indent=1, sort_keys=True)
        write_atomic(self.path, text.encode("utf-8"))

    def entry(self, url: str) -> dict[str, Any]:
        """Return the state of a URL (empty if never seen)."""
        return self.urls.get(url, {})

    def validators(self, url: str, raw_dir: Path) -> tuple[str | None, str | None]:
        """Return (etag, last_modified) to send, only if what they vouch for is still at hand."""
        e = self.entry(url)
        if e.get("role") == "listing":
            usable = e.get("links") is not None
        else:
            usable = bool(e.get("raw_file")) and (raw_dir / e["raw_file"]).is_file()
        return (e.get("etag"), e.get("last_modified")) if usable else (None, None)

    def record(self, url: str, **values: Any) -> None:
        """Merge new values into a URL's state (a success resets the failure count)."""
        entry = self.urls.setdefault(url, {})
        entry.update(values)
        if values.get("outcome") == "failed":
            entry["failures"] = entry.get("failures", 0) + 1
        elif "outcome" in values:
            entry["failures"] = 0


def state_from_sidecars(sidecars: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Rebuild per-URL state from provenance sidecars: the newest fetch of each source URL wins."""
    urls: dict[str, dict[str, Any]] = {}
    newest: dict[str, str] = {}
    for name, record in sidecars.items():
        url = record.get("source_url")
        if not url:
            continue
        when = str(record.get("fetched_at") or record.get("retrieved_on") or "")
        if url in newest and newest[url] >= when:
            continue
        newest[url] = when
        headers = record.get("headers") or {}
        urls[url] = {
            "role": record.get("role"),
            "etag": headers.get("etag"),
            "last_modified": headers.get("last-modified"),
            "sha256": record.get("sha256"),
            "raw_file": name,
        }
    return urls
