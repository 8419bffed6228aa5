"""One polite GET: allow-listed hosts, robots.txt, per-host rate limit, retries with backoff, size cap,
conditional GET and redirects checked hop by hop. Errors are FetchError subclasses (see errors.py).

Hostile servers are bounded: a wall-clock deadline per request covers connect, headers and body
(deadline.py), the size cap applies to the bytes received and after every Content-Encoding layer
(decoding.py), and a robots.txt Crawl-delay is capped at max_crawl_delay_s."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable
from urllib.parse import urljoin, urlsplit

import httpx

from pipeline.fetch.deadline import deadline_passed, deadline_transport, request_deadline
from pipeline.fetch.decoding import ACCEPT_ENCODING, BoundedDecoder, EncodingRefused, LayerTooLarge
from pipeline.fetch.settings import FetchSettings
from pipeline.fetch.errors import (
    FetchError,
    FetchTimeout,
    HostNotAllowed,
    HostUnreachable,
    HttpStatusError,
    TooLarge,
    TransportError,
    TruncatedBody,
    UnsupportedContent,
)
from pipeline.fetch.robots import RobotsCache

KEPT_HEADERS = ("content-type", "etag", "last-modified", "content-length", "content-disposition")
REDIRECTS = (301, 302, 303, 307, 308)


def retryable_status(status: int) -> bool:
    """Tell whether an HTTP status is worth retrying (server trouble, or asked to slow down)."""
    return status == 429 or status >= 500


def backoff_delay(attempt: int, settings: FetchSettings, retry_after: float | None = None, jitter: float = 1.0) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based): exponential, jittered, capped."""
    delay = min(settings.backoff_max_s, settings.backoff_base_s * 2**attempt) * jitter
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(delay, settings.backoff_max_s)


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date: our own backoff is good enough


def default_client(settings: FetchSettings) -> httpx.Client:
    """Build the httpx client: our timeouts and user agent, sockets bound by the request deadline; redirects
    are followed by Fetcher, hop by hop."""
    timeout = httpx.Timeout(settings.read_timeout_s, connect=settings.connect_timeout_s)
    return httpx.Client(timeout=timeout, headers={"User-Agent": settings.user_agent}, follow_redirects=False,
                        transport=deadline_transport())


@dataclass(frozen=True)
class Fetched:
    """A response worth keeping: its final URL, status, kept headers and body (b"" for 304)."""

    url: str
    final_url: str
    status_code: int
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes = b""

    @property
    def not_modified(self) -> bool:
        return self.status_code == 304


class HostThrottle:
    """Space request starts to one host at least ``min_interval`` seconds apart."""

    def __init__(self, min_interval: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.min_interval = min_interval
        self._clock, self._sleep = clock, sleep
        self._next: dict[str, float] = {}
        self._extra: dict[str, float] = {}

    def set_interval(self, host: str, seconds: float) -> None:
        """Raise the interval for one host (robots.txt Crawl-delay)."""
        self._extra[host] = seconds

    def wait(self, host: str) -> None:
        """Sleep until the host may be asked again, then book the next slot."""
        now = self._clock()
        ready = self._next.get(host, now)
        if ready > now:
            self._sleep(ready - now)
            now = ready
        self._next[host] = now + max(self.min_interval, self._extra.get(host, 0.0))


class Fetcher:
    """GET URLs politely; remembers unreachable hosts so one dead site fails fast for the rest of a run."""

    def __init__(self, settings: FetchSettings, client: httpx.Client, *,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 jitter: Callable[[], float] = lambda: 0.5 + random.random() / 2):
        self.settings = settings
        self.client = client
        self._sleep, self._clock, self._jitter = sleep, clock, jitter
        self.throttle = HostThrottle(settings.min_interval_s, clock=clock, sleep=sleep)
        self.robots = RobotsCache(settings.user_agent, self._robots_txt)
        self._down: dict[str, str] = {}  # host -> why it was unreachable
        self.requests = 0

    def get(self, url: str, *, allowed_hosts: Iterable[str], etag: str | None = None,
            last_modified: str | None = None) -> Fetched:
        """GET a URL (conditionally when validators are given), following allowed redirects."""
        allowed = {h.lower() for h in allowed_hosts}
        headers = {k: v for k, v in (("If-None-Match", etag), ("If-Modified-Since", last_modified)) if v}
        current = url
        for _ in range(self.settings.max_redirects + 1):
            self._admit(current, allowed, origin=url)
            fetched = self._attempts(current, headers)
            location = fetched.headers.get("location")
            if fetched.status_code not in REDIRECTS or not location:
                return Fetched(url, current, fetched.status_code, fetched.headers, fetched.content)
            current = urljoin(current, location)
        raise FetchError(f"more than {self.settings.max_redirects} redirects", url=url)

    def _admit(self, url: str, allowed: set[str], *, origin: str) -> None:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("http", "https"):
            raise FetchError(f"not an http(s) URL: {url}", url=origin)
        if host not in allowed:
            via = "" if url == origin else f" (redirected to {url})"
            raise HostNotAllowed(f"host {host} is not in allowed_hosts {sorted(allowed)}{via}", url=origin)
        if host in self._down:
            raise TransportError(f"host {host} unreachable earlier in this run: {self._down[host]}", url=origin)
        self.robots.check(url)
        if (delay := self.robots.crawl_delay(url)) is not None:
            self.throttle.set_interval(host, min(delay, self.settings.max_crawl_delay_s))  # 100000 s is no delay but a stall

    def _robots_txt(self, url: str) -> tuple[int, bytes]:
        """Fetch robots.txt, following redirects on the same host only (a 3xx left counts as 'none')."""
        host = urlsplit(url).hostname
        for _ in range(self.settings.max_redirects + 1):
            fetched = self._attempts(url, {}, robots=True)
            location = fetched.headers.get("location")
            if fetched.status_code not in REDIRECTS or not location or urlsplit(urljoin(url, location)).hostname != host:
                break
            url = urljoin(url, location)
        return fetched.status_code, fetched.content

    def _attempts(self, url: str, headers: dict[str, str], *, robots: bool = False) -> Fetched:
        """Try a request up to 1 + retries times; retry timeouts, dropped connections, 429 and 5xx."""
        error: FetchError | None = None
        for attempt in range(self.settings.retries + 1):
            retry_after = None
            try:
                fetched = self._once(url, headers)
            except (FetchTimeout, TransportError, TruncatedBody) as e:  # transient: worth another try
                error = e
            else:
                status = fetched.status_code
                if status < 400 or (robots and not retryable_status(status)):
                    return fetched
                error = HttpStatusError(f"HTTP {status}", url=url, status_code=status)
                if not retryable_status(status):
                    raise error
                retry_after = _retry_after(fetched.headers.get("retry-after"))
            if attempt < self.settings.retries:
                self._sleep(backoff_delay(attempt, self.settings, retry_after, self._jitter()))
        assert error is not None
        if isinstance(error, HostUnreachable):
            self._down[(urlsplit(url).hostname or "").lower()] = error.reason
        error.reason += f" (after {self.settings.retries + 1} attempts)"
        raise error

    def _once(self, url: str, headers: dict[str, str]) -> Fetched:
        """Make one request and read its body within the size cap and the total time limit."""
        self.throttle.wait((urlsplit(url).hostname or "").lower())
        self.requests += 1
        total = self.settings.total_timeout_s
        deadline = self._clock() + total
        headers = {"Accept-Encoding": ACCEPT_ENCODING, **headers}  # only what decoding.py can bound
        with request_deadline(total) as wall:
            try:
                with self.client.stream("GET", url, headers=headers) as response:
                    kept = {k: response.headers[k] for k in (*KEPT_HEADERS, "location", "retry-after") if k in response.headers}
                    if response.status_code != 200:
                        return Fetched(url, str(response.url), response.status_code, kept)
                    return Fetched(url, str(response.url), 200, kept, self._read_body(url, response, deadline))
            except httpx.TimeoutException as e:
                if deadline_passed(wall):
                    raise FetchTimeout(f"no complete response within total_timeout_s {total}", url=url) from None
                if isinstance(e, httpx.ConnectTimeout):
                    raise HostUnreachable(f"cannot connect ({type(e).__name__}: {e})", url=url) from None
                raise FetchTimeout(f"timed out ({type(e).__name__})", url=url) from None
            except httpx.ConnectError as e:
                raise HostUnreachable(f"cannot connect ({type(e).__name__}: {e})", url=url) from None
            except httpx.RemoteProtocolError as e:
                raise TruncatedBody(f"connection closed mid-response: {e}", url=url) from None
            except httpx.HTTPError as e:
                raise TransportError(f"{type(e).__name__}: {e}", url=url) from None

    def _read_body(self, url: str, response: httpx.Response, deadline: float) -> bytes:
        """Read the raw bytes and undo their Content-Encoding ourselves, refusing past max_bytes at every layer."""
        cap = self.settings.max_bytes
        announced = response.headers.get("content-length")
        announced_n = int(announced) if announced and announced.isdigit() else None
        if announced_n is not None and announced_n > cap:
            raise TooLarge(f"Content-Length {announced_n} bytes exceeds max_bytes {cap}", url=url)
        try:
            decoder = BoundedDecoder(response.headers.get("content-encoding"), cap)
            body, received = bytearray(), 0
            for chunk in response.iter_raw():
                received += len(chunk)
                if received > cap:
                    raise TooLarge(f"body exceeds max_bytes {cap}", url=url)
                body += decoder.feed(chunk)
                if self._clock() > deadline:
                    raise FetchTimeout(f"body not complete within total_timeout_s {self.settings.total_timeout_s}", url=url)
            if announced_n is not None and response.num_bytes_downloaded < announced_n:
                raise TruncatedBody(f"body truncated: got {response.num_bytes_downloaded} of {announced_n} bytes", url=url)
            decoder.finish()
        except LayerTooLarge as e:
            raise TooLarge(str(e), url=url) from None
        except EncodingRefused as e:
            raise UnsupportedContent(str(e), url=url) from None
        return bytes(body)
