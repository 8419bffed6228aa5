"""robots.txt, read once per site and run, with urllib.robotparser.

RFC 9309: a 4xx robots.txt (or a redirect off the site) means "no rules" (crawl allowed); a 5xx or no answer means "disallow all"
until it answers, which we report as a fetch failure so the next refresh asks again.
"""

from __future__ import annotations

from typing import Callable
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from pipeline.fetch.errors import FetchError, RobotsDisallowed, RobotsUnavailable

# fetch(url) -> (status code, body bytes); raises FetchError when there is no answer at all.
RobotsFetch = Callable[[str], tuple[int, bytes]]


def robots_url(url: str) -> str:
    """Return the robots.txt URL of a URL's site (scheme, host and port)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/robots.txt"


def parse_robots(text: str) -> RobotFileParser:
    """Parse robots.txt text into a parser."""
    parser = RobotFileParser()
    parser.parse(text.splitlines())
    return parser


def allow_all() -> RobotFileParser:
    """Return a parser with no rules (robots.txt absent)."""
    parser = RobotFileParser()
    parser.allow_all = True
    return parser


class RobotsCache:
    """Answer "may we fetch this URL?" from each site's robots.txt, read once per run."""

    def __init__(self, user_agent: str, fetch: RobotsFetch):
        self.user_agent = user_agent
        self._fetch = fetch
        self._parsers: dict[str, RobotFileParser | FetchError] = {}

    def _parser(self, url: str) -> RobotFileParser | FetchError:
        where = robots_url(url)
        if where not in self._parsers:
            try:
                status, body = self._fetch(where)
            except FetchError as e:
                self._parsers[where] = RobotsUnavailable(f"robots.txt could not be read: {e.reason}", url=where)
            else:
                if 200 <= status < 300:
                    self._parsers[where] = parse_robots(body.decode("utf-8", errors="replace"))
                elif 300 <= status < 500:  # none, or redirected off the site: no rules
                    self._parsers[where] = allow_all()
                else:
                    self._parsers[where] = RobotsUnavailable(
                        f"robots.txt answered HTTP {status}", url=where, status_code=status
                    )
        return self._parsers[where]

    def check(self, url: str) -> None:
        """Raise RobotsDisallowed (or RobotsUnavailable) unless robots.txt lets us fetch the URL."""
        parser = self._parser(url)
        if isinstance(parser, FetchError):
            raise RobotsUnavailable(f"not fetched: {parser.reason} ({parser.url})", url=url)
        if not parser.can_fetch(self.user_agent, url):
            raise RobotsDisallowed(f"robots.txt of {urlsplit(url).netloc} disallows this URL", url=url)

    def crawl_delay(self, url: str) -> float | None:
        """Return the Crawl-delay robots.txt asks of us for the URL's site, if it was read and sets one."""
        parser = self._parsers.get(robots_url(url))
        if isinstance(parser, RobotFileParser):
            delay = parser.crawl_delay(self.user_agent)
            return float(delay) if delay is not None else None
        return None
