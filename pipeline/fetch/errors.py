"""Fetch failures people can act on: each names the URL, the stage "fetch" and what to do."""

from __future__ import annotations

from pipeline.errors import PipelineError

REGISTER = "pipeline/data/sources.toml"


class FetchError(PipelineError):
    """A URL could not be fetched; the next refresh retries it."""

    outcome = "failed"  # the report's outcome for this kind of failure
    hint = "the next refresh retries it; open the URL in a browser to see what the site serves"

    def __init__(self, reason: str, *, url: str, hint: str | None = None, status_code: int | None = None):
        super().__init__(reason, stage="fetch", hint=hint)
        self.url = url
        self.status_code = status_code

    def __str__(self) -> str:
        msg = f"url {self.url}, stage fetch: {self.reason}"
        return f"{msg} (hint: {self.hint})" if self.hint else msg


class FetchTimeout(FetchError):
    """The server did not answer (or finish answering) in time, after retries."""

    hint = f"the site is slow or down and the next refresh retries it; if it is always slow, raise read_timeout_s in {REGISTER}"


class TransportError(FetchError):
    """The connection failed: DNS, refused, reset, TLS."""

    hint = "no network or the site is down; `pipeline refresh --offline` builds from raw/ alone"


class HostUnreachable(TransportError):
    """No connection could be made to the host (DNS failure, refused, connect timeout)."""


class HttpStatusError(FetchError):
    """The server answered with an HTTP error status."""

    hint = "the next refresh retries it"

    def __init__(self, reason: str, *, url: str, status_code: int):
        hint = None
        if status_code in (404, 410):
            hint = f"the notice was removed or moved; find its new address and update {REGISTER}"
        elif status_code in (401, 403):
            hint = "the site refuses this client; do not work around it, ask the publisher or add the file to raw/ by hand"
        super().__init__(reason, url=url, hint=hint, status_code=status_code)


class TruncatedBody(FetchError):
    """The body ended before the length the server announced."""

    hint = "the connection dropped mid-transfer; nothing was written, the next refresh retries it"


class TooLarge(FetchError):
    """The body is larger than max_bytes."""

    hint = f"if the file is genuine, raise max_bytes in the [fetch] table of {REGISTER}"


class UnsupportedContent(FetchError):
    """The response is not a kind of file raw/ keeps (html, pdf, doc, docx, xls, xlsx)."""

    hint = "check the link in a browser; if the format is needed, add it to the pipeline first"


class LayoutChanged(FetchError):
    """A listing page yielded fewer notice links than its site profile expects."""

    hint = f"the site's layout changed or the URL is not a listing; update the site profile in {REGISTER}"


class HostNotAllowed(FetchError):
    """The URL's host is not in the source's allowed_hosts; it is logged and not followed."""

    outcome = "skipped_host"
    hint = f"if the host is trusted, add it to allowed_hosts of the source in {REGISTER}"


class RobotsDisallowed(FetchError):
    """The site's robots.txt disallows this URL for our user agent."""

    outcome = "robots_disallowed"
    hint = "respect it: ask the publisher for the file, or add it to raw/ by hand with a provenance sidecar"


class RobotsUnavailable(FetchError):
    """robots.txt could not be read (server error or no connection), so the site is not crawled."""

    hint = "RFC 9309: an unreachable robots.txt means 'disallow all'; the next refresh asks again"


class SourcesError(PipelineError):
    """The sources register is invalid."""

    hint = f"fix {REGISTER} (see the comments at its top)"
