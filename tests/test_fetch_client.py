"""One polite GET against the loopback server: retries, timeouts, size cap, truncation, conditional GET,
redirects, robots.txt and the per-host rate limit."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "site"))
from loopback import LoopbackSite, Route  # noqa: E402

from pipeline.fetch.client import Fetcher, HostThrottle, backoff_delay, default_client  # noqa: E402
from pipeline.fetch.errors import (  # noqa: E402
    FetchTimeout,
    HostNotAllowed,
    HttpStatusError,
    RobotsDisallowed,
    RobotsUnavailable,
    TooLarge,
    TruncatedBody,
)
from pipeline.fetch.settings import FetchSettings, SettingsError  # noqa: E402

FAST = FetchSettings(user_agent="policy-tables-test/1", connect_timeout_s=1.0, read_timeout_s=0.3,
                     total_timeout_s=5.0, retries=2, backoff_base_s=0.01, backoff_max_s=0.05, min_interval_s=0.0,
                     max_bytes=10_000)
ROBOTS = Route(b"User-agent: *\nDisallow: /private/\n", content_type="text/plain")


@pytest.fixture
def site():
    s = LoopbackSite({"/robots.txt": ROBOTS}).start()
    yield s
    s.stop()


def fetcher(settings: FetchSettings = FAST) -> Fetcher:
    return Fetcher(settings, default_client(settings))


def get(site, path, settings=FAST, **kw):
    return fetcher(settings).get(site.url(path), allowed_hosts=["127.0.0.1"], **kw)


def test_5xx_is_retried_with_backoff_until_it_answers(site):
    site.routes["/a.htm"] = Route(b"<html>ok</html>", fail_first=2)
    fetched = get(site, "/a.htm")
    assert (fetched.status_code, fetched.content) == (200, b"<html>ok</html>")
    assert site.hits("/a.htm") == 3


def test_5xx_that_never_recovers_fails_after_every_attempt(site):
    site.routes["/a.htm"] = Route(b"x", fail_first=99)
    with pytest.raises(HttpStatusError) as e:
        get(site, "/a.htm")
    assert (e.value.status_code, e.value.reason) == (500, "HTTP 500 (after 3 attempts)")
    assert site.hits("/a.htm") == 3


def test_404_is_not_retried(site):
    with pytest.raises(HttpStatusError) as e:
        get(site, "/gone.htm")
    assert e.value.status_code == 404 and site.hits("/gone.htm") == 1
    assert "removed or moved" in e.value.hint


def test_slow_endpoint_times_out_after_retries(site):
    site.routes["/slow.htm"] = Route(b"late", delay=1.0)
    with pytest.raises(FetchTimeout, match=r"timed out \(ReadTimeout\) \(after 3 attempts\)"):
        get(site, "/slow.htm")


def test_body_shorter_than_content_length_is_truncated_and_retried(site):
    site.routes["/cut.htm"] = Route(b"<html>" + b"x" * 100, overstate_length=50)
    with pytest.raises(TruncatedBody, match=r"received 106 bytes, expected 156"):
        get(site, "/cut.htm")
    assert site.hits("/cut.htm") == 3


def test_size_cap_refuses_an_announced_large_body_and_a_streamed_one(site):
    site.routes["/big.pdf"] = Route(b"%PDF-" + b"0" * 20_000, content_type="application/pdf")
    site.routes["/stream.pdf"] = Route(b"%PDF-" + b"0" * 20_000, content_type="application/pdf", no_length=True)
    with pytest.raises(TooLarge, match="Content-Length 20005 bytes exceeds max_bytes 10000"):
        get(site, "/big.pdf")
    with pytest.raises(TooLarge, match="body exceeds max_bytes 10000"):
        get(site, "/stream.pdf")
    assert site.hits("/big.pdf") == 1  # not retried


def test_conditional_get_by_etag_and_by_last_modified(site):
    site.routes["/e.htm"] = Route(b"<html>e</html>", last_modified=False)
    site.routes["/m.htm"] = Route(b"<html>m</html>", etag=False)
    first = get(site, "/e.htm")
    again = get(site, "/e.htm", etag=first.headers["etag"])
    assert (first.status_code, again.status_code, again.not_modified, again.content) == (200, 304, True, b"")
    assert site.headers_of("/e.htm")[-1]["if-none-match"] == first.headers["etag"]
    modified = get(site, "/m.htm").headers["last-modified"]
    assert get(site, "/m.htm", last_modified=modified).status_code == 304
    assert get(site, "/m.htm", last_modified="Mon, 01 Jan 2024 00:00:00 GMT").status_code == 200


def test_redirects_are_followed_only_to_allowed_hosts(site):
    site.routes["/old.htm"] = Route(b"", status=301, headers={"Location": "/new.htm"})
    site.routes["/new.htm"] = Route(b"<html>new</html>")
    site.routes["/away.htm"] = Route(b"", status=302, headers={"Location": "http://other.invalid/x.htm"})
    fetched = get(site, "/old.htm")
    assert (fetched.url, fetched.final_url, fetched.content) == (
        site.url("/old.htm"), site.url("/new.htm"), b"<html>new</html>")
    with pytest.raises(HostNotAllowed, match=r"host other.invalid is not in allowed_hosts \['127.0.0.1'\] "
                                             r"\(redirected to http://other.invalid/x.htm\)"):
        get(site, "/away.htm")


def test_a_host_not_allowed_is_never_contacted(site):
    with pytest.raises(HostNotAllowed):
        fetcher().get("http://other.invalid/a.pdf", allowed_hosts=["127.0.0.1"])
    with pytest.raises(HostNotAllowed):  # same address, other host name: still not on the list
        fetcher().get(site.url("/a.htm").replace("127.0.0.1", "localhost"), allowed_hosts=["127.0.0.1"])
    assert site.paths() == []


def test_robots_txt_is_read_once_and_obeyed(site):
    site.routes["/private/a.htm"] = Route(b"<html>secret</html>")
    site.routes["/open.htm"] = Route(b"<html>open</html>")
    f = fetcher()
    with pytest.raises(RobotsDisallowed):
        f.get(site.url("/private/a.htm"), allowed_hosts=["127.0.0.1"])
    f.get(site.url("/open.htm"), allowed_hosts=["127.0.0.1"])
    f.get(site.url("/open.htm"), allowed_hosts=["127.0.0.1"])
    assert site.paths() == ["/robots.txt", "/open.htm", "/open.htm"]
    assert site.headers_of("/open.htm")[0]["user-agent"] == "policy-tables-test/1"


def test_robots_txt_missing_allows_and_robots_txt_failing_disallows(site):
    site.routes["/a.htm"] = Route(b"<html>a</html>")
    del site.routes["/robots.txt"]  # 404: no rules
    assert get(site, "/a.htm").status_code == 200
    site.routes["/robots.txt"] = Route(b"", fail_first=99)  # 500 every time
    with pytest.raises(RobotsUnavailable, match=r"robots.txt could not be read: HTTP 500"):
        get(site, "/a.htm")


def test_rate_limit_spaces_requests_to_one_host(site):
    site.routes["/a.htm"] = Route(b"<html>a</html>")
    f = fetcher(FetchSettings(**{**FAST.__dict__, "min_interval_s": 0.2}))
    start = time.monotonic()
    for _ in range(3):
        f.get(site.url("/a.htm"), allowed_hosts=["127.0.0.1"])
    assert time.monotonic() - start >= 0.6  # robots.txt + 3 pages = 4 request starts, 3 intervals


def test_crawl_delay_in_robots_txt_raises_the_interval(site):
    site.routes["/robots.txt"] = Route(b"User-agent: *\nCrawl-delay: 7\n", content_type="text/plain")
    site.routes["/a.htm"] = Route(b"<html>a</html>")
    now, slept = [0.0], []

    def sleep(seconds):  # fake time: only sleeping moves the clock, so the test does not wait 7 s
        slept.append(seconds)
        now[0] += seconds

    f = Fetcher(FAST, default_client(FAST), sleep=sleep, clock=lambda: now[0])
    f.get(site.url("/a.htm"), allowed_hosts=["127.0.0.1"])
    f.get(site.url("/a.htm"), allowed_hosts=["127.0.0.1"])
    assert slept == [7.0]  # min_interval_s is 0; the second page waited for the site's Crawl-delay


def test_host_throttle_books_slots_per_host():
    now = [0.0]
    slept: list[float] = []

    def sleep(s):
        slept.append(s)
        now[0] += s

    t = HostThrottle(1.0, clock=lambda: now[0], sleep=sleep)
    t.wait("a"), t.wait("a"), t.wait("b"), t.wait("a")
    assert slept == [1.0, 1.0]  # "b" did not wait for "a"


def test_backoff_is_exponential_capped_and_honours_retry_after():
    s = FetchSettings(backoff_base_s=1.0, backoff_max_s=30.0)
    assert [backoff_delay(n, s) for n in range(6)] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0]
    assert backoff_delay(0, s, retry_after=12.0) == 12.0
    assert backoff_delay(0, s, retry_after=600.0) == 30.0
    assert backoff_delay(2, s, jitter=0.5) == 2.0


def test_settings_are_validated():
    with pytest.raises(SettingsError, match="read_timeout_s must be > 0"):
        FetchSettings(read_timeout_s=0)
    with pytest.raises(SettingsError, match=r"unknown \[fetch\] keys: read_timeout"):
        FetchSettings.from_mapping({"read_timeout": 3})
    with pytest.raises(SettingsError, match=r"\[fetch\] retries must be a int, got '3'"):
        FetchSettings.from_mapping({"retries": "3"})
    assert FetchSettings.from_mapping({"read_timeout_s": 3}).read_timeout_s == 3.0
