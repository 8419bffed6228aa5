"""Hostile servers on the loopback interface: trickled headers, compression bombs, a huge Crawl-delay."""

from __future__ import annotations

import gzip
import sys
import time
import tracemalloc
import zlib
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "site"))
from loopback import LoopbackSite, Route  # noqa: E402

from pipeline.fetch.client import Fetcher, default_client  # noqa: E402
from pipeline.fetch.decoding import BoundedDecoder, EncodingRefused, LayerTooLarge  # noqa: E402
from pipeline.fetch.errors import FetchTimeout, TooLarge, UnsupportedContent  # noqa: E402
from pipeline.fetch.settings import FetchSettings  # noqa: E402
from pipeline.fetch.sources import load_settings  # noqa: E402

LIMITS = FetchSettings(user_agent="policy-tables-test/1", connect_timeout_s=1.0, read_timeout_s=0.5,
                       total_timeout_s=1.0, retries=0, backoff_base_s=0.01, backoff_max_s=0.05, min_interval_s=0.0,
                       max_bytes=10_000, max_crawl_delay_s=60.0)
PAGE = "<html><body>厦民〔2025〕95号 服务类社会救助清单</body></html>".encode("utf-8")
SLACK_S = 0.5


@pytest.fixture
def site():
    s = LoopbackSite({"/robots.txt": Route(b"User-agent: *\n", content_type="text/plain")}).start()
    yield s
    s.stop()


def get(site, path, settings=LIMITS, client=None):
    f = Fetcher(settings, client or default_client(settings))
    return f.get(site.url(path), allowed_hosts=["127.0.0.1"])


def gzip_of_zeros(n: int) -> bytes:
    """gzip n zero bytes without holding them (a bomb is made in chunks)."""
    c, chunk, out = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS), bytes(1 << 20), []
    for _ in range(n >> 20):
        out.append(c.compress(chunk))
    out.append(c.compress(bytes(n & ((1 << 20) - 1))))
    out.append(c.flush())
    return b"".join(out)


# --- a wall-clock deadline for the whole request ------------------------------------------------------------

def test_trickled_headers_pass_httpx_timeouts_but_not_the_total_deadline(site):
    # ~190 header bytes at 20 ms each: every byte comes well within read_timeout_s, the head takes ~4 s.
    site.routes["/slow-head.htm"] = Route(PAGE, trickle_s=0.02)
    plain = httpx.Client(timeout=httpx.Timeout(LIMITS.read_timeout_s, connect=LIMITS.connect_timeout_s))
    start = time.monotonic()
    with pytest.raises(FetchTimeout, match="body not complete within total_timeout_s 1.0"):
        get(site, "/slow-head.htm", client=plain)  # the old client: it notices only once the body is in
    assert time.monotonic() - start > 3.0
    start = time.monotonic()
    with pytest.raises(FetchTimeout, match=r"no complete response within total_timeout_s 1.0 \(after 1 attempts\)"):
        get(site, "/slow-head.htm")
    assert time.monotonic() - start < LIMITS.total_timeout_s + SLACK_S


def test_the_deadline_leaves_a_normal_page_and_a_slow_but_timely_one_alone(site):
    site.routes["/a.htm"] = Route(PAGE)
    site.routes["/late.htm"] = Route(PAGE, delay=0.3)  # under read_timeout_s and total_timeout_s
    assert get(site, "/a.htm").content == PAGE
    assert get(site, "/late.htm").content == PAGE


# --- the size cap after every Content-Encoding layer --------------------------------------------------------

def test_gzip_of_gzip_bomb_is_refused_naming_the_cap_without_inflating_it(site):
    bomb = gzip.compress(gzip_of_zeros(256 << 20), 9)  # 256 MiB of zeros in a few KB
    assert len(bomb) < LIMITS.max_bytes
    site.routes["/bomb.htm"] = Route(bomb, headers={"Content-Encoding": "gzip, gzip"})
    tracemalloc.start()
    try:
        with pytest.raises(TooLarge, match=r"body exceeds max_bytes 10000 after decoding gzip layer 1 of 2") as e:
            get(site, "/bomb.htm")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, peak  # bounded by the cap, not by the bomb
    assert "raise max_bytes" in e.value.hint


def test_the_inner_layer_is_capped_too(site):
    inner = gzip_of_zeros(5 << 20)  # 5 MiB of zeros: ~5 KB of gzip, under the cap, itself gzipped again
    assert len(inner) < LIMITS.max_bytes
    site.routes["/bomb2.htm"] = Route(gzip.compress(inner), headers={"Content-Encoding": "gzip, gzip"})
    with pytest.raises(TooLarge, match=r"body exceeds max_bytes 10000 after decoding gzip layer 2 of 2"):
        get(site, "/bomb2.htm")


def test_encoded_pages_decode_layer_by_layer_and_unknown_encodings_are_refused(site):
    deflate = zlib.compress(PAGE)
    raw_deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    site.routes["/g.htm"] = Route(gzip.compress(PAGE), headers={"Content-Encoding": "gzip"})
    site.routes["/gd.htm"] = Route(zlib.compress(gzip.compress(PAGE)), headers={"Content-Encoding": "gzip, deflate"})
    site.routes["/d.htm"] = Route(deflate, headers={"Content-Encoding": "deflate"})
    site.routes["/rd.htm"] = Route(raw_deflate.compress(PAGE) + raw_deflate.flush(), headers={"Content-Encoding": "deflate"})
    site.routes["/two.htm"] = Route(gzip.compress(PAGE[:20]) + gzip.compress(PAGE[20:]), headers={"Content-Encoding": "gzip"})
    site.routes["/br.htm"] = Route(b"\x0b\x02\x80hello\x03", headers={"Content-Encoding": "br"})
    site.routes["/cut.htm"] = Route(gzip.compress(PAGE)[:-12], headers={"Content-Encoding": "gzip"})
    for path in ("/g.htm", "/gd.htm", "/d.htm", "/rd.htm", "/two.htm"):
        assert get(site, path).content == PAGE, path
    assert site.headers_of("/g.htm")[0]["accept-encoding"] == "gzip, deflate"  # nothing we cannot bound
    with pytest.raises(UnsupportedContent, match=r"Content-Encoding br is not one we decode \(gzip, deflate\)"):
        get(site, "/br.htm")
    with pytest.raises(UnsupportedContent, match="gzip data ended before the end of its stream"):
        get(site, "/cut.htm")


def test_bounded_decoder_never_returns_more_than_the_cap():
    bomb = gzip.compress(gzip_of_zeros(64 << 20))
    decoder = BoundedDecoder("gzip, gzip", 1000)
    produced = 0
    with pytest.raises(LayerTooLarge, match="after decoding gzip layer 1 of 2"):
        for i in range(0, len(bomb), 512):
            produced += len(decoder.feed(bomb[i:i + 512]))
    assert produced <= 1000
    exact = BoundedDecoder("gzip", len(PAGE))  # exactly at the cap is allowed
    assert exact.feed(gzip.compress(PAGE)) == PAGE
    exact.finish()
    with pytest.raises(EncodingRefused, match="corrupt gzip data"):
        BoundedDecoder("gzip", 1000).feed(b"not gzip at all")


# --- Crawl-delay ------------------------------------------------------------------------------------------

def test_a_huge_crawl_delay_is_capped_by_the_setting(site):
    site.routes["/robots.txt"] = Route(b"User-agent: *\nCrawl-delay: 100000\n", content_type="text/plain")
    site.routes["/a.htm"] = Route(PAGE)
    now, slept = [0.0], []

    def sleep(seconds):  # fake time: only sleeping moves the clock
        slept.append(seconds)
        now[0] += seconds

    f = Fetcher(LIMITS, default_client(LIMITS), sleep=sleep, clock=lambda: now[0])
    for _ in range(3):
        f.get(site.url("/a.htm"), allowed_hosts=["127.0.0.1"])
    assert slept == [60.0, 60.0]  # not 100000 s (28 h) per request


def test_a_modest_crawl_delay_is_obeyed_as_asked_and_the_cap_is_in_the_register(site):
    site.routes["/robots.txt"] = Route(b"User-agent: *\nCrawl-delay: 7\n", content_type="text/plain")
    site.routes["/a.htm"] = Route(PAGE)
    now, slept = [0.0], []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    f = Fetcher(LIMITS, default_client(LIMITS), sleep=sleep, clock=lambda: now[0])
    f.get(site.url("/a.htm"), allowed_hosts=["127.0.0.1"])
    f.get(site.url("/a.htm"), allowed_hosts=["127.0.0.1"])
    assert slept == [7.0]
    assert load_settings().max_crawl_delay_s == 60.0  # pipeline/data/sources.toml [fetch]
