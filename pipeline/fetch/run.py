"""Fetch the sources into raw/: listing -> notices -> attachments, each URL isolated from the others.

The order, per source: read the listing (conditional GET; a 304 reuses the links found last time),
then every notice it links, then every attachment each notice links. Bytes already in raw/ are
counted "unchanged" and not written again. A URL that fails is recorded with its reason and retried
by the next refresh; nothing here raises for a fetch failure.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import urlsplit

import httpx

from pipeline.fetch.settings import FetchSettings
from pipeline.fetch.client import Fetched, Fetcher, default_client
from pipeline.fetch.discover import listing_to_next_pages, listing_to_notice_urls, notice_to_attachments
from pipeline.fetch.errors import FetchError, UnsupportedContent
from pipeline.fetch.names import attachment_stem, extension_for, raw_name, sha256_hex, url_stem
from pipeline.fetch.report import FetchReport, UrlOutcome
from pipeline.fetch.sources import Source, load_settings
from pipeline.fetch.state import FetchState
from pipeline.fetch.store import known_hashes, read_sidecars, store_raw, store_sidecar, sweep_temp

log = logging.getLogger("pipeline.fetch")
log.addHandler(logging.NullHandler())  # the report says it all; logging output is the CLI's choice
SAVE_EVERY = 100  # outcomes between state saves, so a killed refresh keeps most of its validators
SIDECAR_HEADERS = ("content-type", "etag", "last-modified", "content-length")


def iso_utc(moment: datetime) -> str:
    """Format a moment as ISO 8601 UTC with a Z."""
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _clock(now: datetime | Callable[[], datetime] | None) -> Callable[[], datetime]:
    if now is None:
        return lambda: datetime.now(timezone.utc)
    if isinstance(now, datetime):
        return lambda: now
    return now


class _Run:
    """One fetch: the fetcher, raw/, the state and the outcomes so far."""

    def __init__(self, fetcher: Fetcher, raw_dir: Path, state: FetchState, now: Callable[[], datetime],
                 notice_ids: dict[str, str]):
        self.fetcher, self.raw_dir, self.state, self.now = fetcher, raw_dir, state, now
        self.notice_ids = notice_ids  # register's 文号 per notice URL, whichever source reaches the URL first
        self.known = known_hashes(raw_dir, read_sidecars(raw_dir))
        self.outcomes: list[UrlOutcome] = []
        self.seen: set[str] = set()

    def source(self, source: Source) -> None:
        """Fetch one register entry; nothing it does can stop the next entry."""
        if source.kind == "listing":
            self.listing(source)
        else:
            self.page(source.url, source, listing_url=None)

    def listing(self, source: Source) -> None:
        """Read a listing (and its further pages, up to max_listing_pages) and fetch every notice it links."""
        queue, done, notices = [source.url], 0, []
        while queue and done < self.fetcher.settings.max_listing_pages:
            found, further = self._listing_page(queue.pop(0), source)
            done += 1
            notices += [u for u in found if u not in notices]
            queue += [u for u in further if u not in queue and u not in self.seen]
        for url in notices:
            self.page(url, source, listing_url=source.url)

    def _listing_page(self, url: str, source: Source) -> tuple[list[str], list[str]]:
        if url in self.seen:
            return [], []
        self.seen.add(url)
        entry = self.state.entry(url)
        try:
            fetched = self._get(url, source)
            if fetched.not_modified:
                found, further = list(entry.get("links") or []), list(entry.get("next_pages") or [])
                sha, outcome = entry.get("sha256"), "not_modified"
            else:
                ct = fetched.headers.get("content-type")
                found = listing_to_notice_urls(fetched.content, fetched.final_url, source.profile, content_type=ct)
                further = listing_to_next_pages(fetched.content, fetched.final_url, source.profile, content_type=ct)
                sha = sha256_hex(fetched.content)
                outcome = "unchanged" if sha == entry.get("sha256") else "new"
        except Exception as e:  # FetchError, or a bug: either way the listing failed, not the run
            self._fail(url, "listing", e)
            # Still check the notices it linked last time: one broken listing must not hide them.
            return list(entry.get("links") or []), []
        self._remember(url, fetched, role="listing", sha256=sha, links=found, next_pages=further, outcome=outcome)
        self._add(UrlOutcome(url, "listing", outcome, sha256=sha, status_code=fetched.status_code))
        return found, further

    def page(self, url: str, source: Source, *, listing_url: str | None) -> None:
        """Fetch a notice page, then the attachments it links."""
        if url in self.seen:
            return
        self.seen.add(url)
        try:
            fetched = self._get(url, source)
            outcome, name, sha = self._land(fetched, source, "page", notice_id=self.notice_ids.get(url),
                                            listing_url=listing_url)
        except Exception as e:  # a FetchError, or a bug or a full disk: it must not stop the other notices
            return self._fail(url, "page", e, listing_url=listing_url)
        self._add(UrlOutcome(url, "page", outcome, raw_file=name, sha256=sha, status_code=fetched.status_code,
                             listing_url=listing_url))
        try:
            attachments = self._attachments_of(url, fetched, name, source)
        except Exception as e:  # the page landed; its links could not be read: say so as a second outcome
            self._remember(url, fetched, role="page", sha256=sha, raw_file=name, links=None, outcome=outcome)
            reason = e.reason if isinstance(e, FetchError) else f"{type(e).__name__}: {e}"
            hint = "the page itself is in raw/; check its charset or the site profile's notice_xpath"
            return self._fail(url, "page", FetchError(f"attachment links not read: {reason}", url=url, hint=hint),
                              listing_url=listing_url)
        self._remember(url, fetched, role="page", sha256=sha, raw_file=name, links=attachments, outcome=outcome)
        for link, text in attachments:
            self.attachment(link, text, source, parent_url=url, listing_url=listing_url)

    def attachment(self, url: str, text: str, source: Source, *, parent_url: str, listing_url: str | None) -> None:
        """Fetch one attachment a notice page links."""
        if url in self.seen:
            return
        self.seen.add(url)
        context = {"parent_url": parent_url, "listing_url": listing_url}
        try:
            fetched = self._get(url, source)
            outcome, name, sha = self._land(fetched, source, "attachment", link_text=text,
                                            notice_id=self.notice_ids.get(parent_url), **context)
        except Exception as e:
            return self._fail(url, "attachment", e, **context)
        self._remember(url, fetched, role="attachment", sha256=sha, raw_file=name, outcome=outcome)
        self._add(UrlOutcome(url, "attachment", outcome, raw_file=name, sha256=sha,
                             status_code=fetched.status_code, **context))

    def _get(self, url: str, source: Source) -> Fetched:
        etag, last_modified = self.state.validators(url, self.raw_dir)
        return self.fetcher.get(url, allowed_hosts=source.allowed_hosts, etag=etag, last_modified=last_modified)

    def _land(self, fetched: Fetched, source: Source, role: str, *, link_text: str | None = None,
              notice_id: str | None = None, listing_url: str | None = None, parent_url: str | None = None) -> tuple[str, str | None, str | None]:
        """Put a response's bytes in raw/ unless they are there; return (outcome, raw file, sha256)."""
        if fetched.not_modified:
            entry = self.state.entry(fetched.url)
            return "not_modified", entry.get("raw_file"), entry.get("sha256")
        data = fetched.content
        if not data:
            raise FetchError("HTTP 200 with an empty body", url=fetched.url)
        ct = fetched.headers.get("content-type")
        ext = extension_for(ct, fetched.final_url, data[:512])
        if ext is None:
            raise UnsupportedContent(f"content type {ct!r} is not one raw/ keeps", url=fetched.url)
        sha = sha256_hex(data)
        moment = self.now()
        role = role if ext == "html" else "attachment"  # a notice published only as a file is its own attachment
        stem = url_stem(fetched.url) if role == "page" else attachment_stem(
            fetched.url, link_text, fetched.headers.get("content-disposition"))
        name = self.known.get(sha) or raw_name(urlsplit(fetched.url).hostname or "", stem, sha, ext)
        written = sha not in self.known and store_raw(self.raw_dir, name, data)
        # Written after the data file: a kill in between leaves a valid file, and this fills the gap next time.
        store_sidecar(self.raw_dir, name, {
            "file": name, "sha256": sha, "notice_id": notice_id, "role": role,
            "source_url": fetched.url, "retrieved_on": iso_utc(moment)[:10],
            "note": f"fetched by pipeline refresh ({source.kind} source {source.url})",
            "fetched_at": iso_utc(moment), "final_url": fetched.final_url, "status_code": fetched.status_code,
            "headers": {k: fetched.headers[k] for k in SIDECAR_HEADERS if k in fetched.headers},
            "listing_url": listing_url, "site_profile": source.site_profile, "parent_url": parent_url,
        })
        self.known[sha] = name
        return ("new" if written else "unchanged"), name, sha

    def _attachments_of(self, url: str, fetched: Fetched, name: str | None, source: Source) -> list[list[str]]:
        """Attachment links of a page: from its bytes, from last time on a 304, else from its raw file."""
        if fetched.not_modified:
            links = self.state.entry(url).get("links")
            if links is not None:
                return [list(link) for link in links]
            if not name or not (self.raw_dir / name).is_file():
                return []
            data, ct, base = (self.raw_dir / name).read_bytes(), None, url
        else:
            data, ct, base = fetched.content, fetched.headers.get("content-type"), fetched.final_url
        if extension_for(ct, base, data[:512]) != "html":
            return []
        return [[u, t] for u, t in notice_to_attachments(data, base, source.profile, content_type=ct)]

    def _remember(self, url: str, fetched: Fetched, **values) -> None:
        entry = self.state.entry(url)
        self.state.record(url, etag=fetched.headers.get("etag") or entry.get("etag"),
                          last_modified=fetched.headers.get("last-modified") or entry.get("last_modified"),
                          reason=None, checked_at=iso_utc(self.now()), **values)

    def _fail(self, url: str, role: str, error: Exception, **context: str | None) -> None:
        """Record a URL that did not land; anything but a FetchError is reported as unexpected."""
        if not isinstance(error, FetchError):
            log.error("unexpected error fetching %s", url, exc_info=error)
            error = FetchError(f"unexpected {type(error).__name__}: {error}", url=url,
                               hint="a bug or a local problem (disk full?); report it with this message")
        if error.outcome == "skipped_host":
            log.info("not following %s", error)
        else:
            log.warning("%s", error)
            self.state.record(url, role=role, outcome=error.outcome, reason=str(error), checked_at=iso_utc(self.now()))
        self._add(UrlOutcome(url, role, error.outcome, reason=str(error), status_code=error.status_code, **context))

    def _add(self, outcome: UrlOutcome) -> None:
        self.outcomes.append(outcome)
        if len(self.outcomes) % SAVE_EVERY == 0:
            self.state.save()


def fetch_sources(sources: Iterable[Source], raw_dir: Path | str, *, state_file: Path | str,
                  client_factory: Callable[[FetchSettings], httpx.Client] | None = None,
                  now: datetime | Callable[[], datetime] | None = None,
                  settings: FetchSettings | None = None) -> FetchReport:
    """Fetch every source into raw_dir; return per-URL outcomes. Fetch failures are reported, never raised.

    ``settings`` default to the [fetch] table of pipeline/data/sources.toml; ``client_factory`` builds
    the httpx client from them (tests pass one for the loopback server); ``now`` fixes the clock.
    """
    raw_dir = Path(raw_dir)
    settings = settings or load_settings()
    clock = _clock(now)
    raw_dir.mkdir(parents=True, exist_ok=True)
    sweep_temp(raw_dir)
    report = FetchReport(started_at=iso_utc(clock()))
    state = FetchState.load(Path(state_file), raw_dir)
    client = (client_factory or default_client)(settings)
    fetcher = Fetcher(settings, client)
    sources = list(sources)
    run = _Run(fetcher, raw_dir, state, clock, {s.url: s.notice_id for s in sources if s.notice_id})
    try:
        for source in sources:
            try:
                run.source(source)
            except Exception as e:  # isolation: a bug in one source must not lose the others
                run._fail(source.url, "listing" if source.kind == "listing" else "page", e)
    finally:
        client.close()
        state.save()
        report.outcomes, report.requests, report.finished_at = run.outcomes, fetcher.requests, iso_utc(clock())
    return report
