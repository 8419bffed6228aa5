"""End-to-end fetch against the loopback fixture site (127.0.0.1 only): what lands in raw/, with what
provenance, and what the second, third... refresh does."""

from __future__ import annotations

import json
import shutil
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "site"))
import xm_site  # noqa: E402
from loopback import Route  # noqa: E402

from pipeline.fetch import FetchReport, Source, fetch_sources, load_register  # noqa: E402
from pipeline.fetch.client import default_client  # noqa: E402
from pipeline.fetch.settings import FetchSettings  # noqa: E402

NOW = datetime(2026, 11, 23, 8, 30, tzinfo=timezone.utc)
FAST = FetchSettings(user_agent="policy-tables-test/1", connect_timeout_s=1.0, read_timeout_s=0.3,
                     total_timeout_s=5.0, retries=1, backoff_base_s=0.01, backoff_max_s=0.05, min_interval_s=0.0)
PROFILE = load_register().profiles["xm-gov-trs"]  # the real profile: its patterns must fit TRS-shaped URLs
SHA_2025_HTML = json.loads((xm_site.RAW / "provenance/xm-mzj-2025-095.html.json").read_text())["sha256"]
SHA_2025_PDF = json.loads((xm_site.RAW / "provenance/xm-mzj-2025-095-list.pdf.json").read_text())["sha256"]


@pytest.fixture
def site():
    s = xm_site.build_site().start()
    yield s
    s.stop()


@pytest.fixture
def hosts_asked():
    return []


def listing(site, **kw) -> Source:
    return Source(site.url(xm_site.LISTING), "listing", PROFILE, ("127.0.0.1",), **kw)


def refresh(site, raw, state, hosts_asked, sources=None) -> FetchReport:
    def factory(settings):
        client = default_client(settings)
        client.event_hooks["request"] = [lambda request: hosts_asked.append(request.url.host)]
        return client

    return fetch_sources(sources or [listing(site)], raw, state_file=state, client_factory=factory, now=NOW,
                         settings=FAST)


def by_url(report: FetchReport, site) -> dict[str, tuple[str, str]]:
    """Outcome and role per URL, with loopback URLs shortened to their path."""
    return {o.url.replace(site.base, ""): (o.role, o.outcome) for o in report.outcomes}


def raw_files(raw: Path) -> dict[str, bytes]:
    return {p.relative_to(raw).as_posix(): p.read_bytes() for p in sorted(raw.rglob("*")) if p.is_file()}


def test_first_refresh_lands_every_reachable_file_and_reports_every_failure(site, tmp_path, hosts_asked):
    raw, state = tmp_path / "raw", tmp_path / "staging" / "fetch_state.json"
    report = refresh(site, raw, state, hosts_asked)
    s = xm_site
    assert by_url(report, site) == {
        s.LISTING: ("listing", "new"),
        s.P2025: ("page", "new"),
        s.P2025_PDF: ("attachment", "new"),
        s.GBK: ("page", "new"),
        s.GBK_XLS: ("attachment", "new"),
        s.MISSING: ("page", "failed"),
        s.SLOW: ("page", "failed"),
        s.FLAKY: ("page", "new"),
        s.TRUNCATED: ("page", "failed"),
        s.OFFHOST: ("page", "skipped_host"),
        s.PRIVATE: ("page", "robots_disallowed"),
        s.HOSTILE: ("page", "new"),
        s.HOSTILE_DOC: ("attachment", "new"),
        "http://other.invalid/files/P1.pdf": ("attachment", "skipped_host"),
        s.NO_VALIDATORS: ("page", "new"),
    }
    assert report.counts() == {"new": 8, "unchanged": 0, "not_modified": 0, "failed": 3,
                               "skipped_host": 2, "robots_disallowed": 1}
    # Nothing but the loopback server was ever asked, and never for the disallowed path.
    assert set(hosts_asked) == {"127.0.0.1"}
    assert s.PRIVATE not in site.paths()
    assert site.hits("/robots.txt") == 1
    assert site.hits(s.FLAKY) == 2  # 500, then 200 on the retry
    assert site.hits(s.SLOW) == 2  # timed out twice (1 + retries)

    files = raw_files(raw)
    # The real page and attachment arrive byte for byte: same sha256 as the snapshots in raw/.
    page = next(o for o in report.outcomes if o.url.endswith(s.P2025))
    assert page.raw_file == f"127-0-0-1--t20250718_2945939--{SHA_2025_HTML[:12]}.html"
    assert page.sha256 == SHA_2025_HTML
    pdf = next(o for o in report.outcomes if o.url.endswith(s.P2025_PDF))
    assert pdf.raw_file == f"127-0-0-1--厦门市服务类社会救助清单-试行--{SHA_2025_PDF[:12]}.pdf"
    # The GBK page keeps its bytes, and was decoded right for its links (the name is the Chinese link text).
    gbk = next(o for o in report.outcomes if o.url.endswith(s.GBK))
    assert files[gbk.raw_file] == xm_site.gbk_page()
    xls = next(o for o in report.outcomes if o.url.endswith(s.GBK_XLS))
    assert xls.raw_file.startswith("127-0-0-1--厦门市推进居家养老服务工作任务分解表--")
    # A hostile served name stays a plain name inside raw/.
    doc = next(o for o in report.outcomes if o.url.endswith(s.HOSTILE_DOC))
    assert doc.raw_file.startswith("127-0-0-1--evil--") and doc.raw_file.endswith(".doc")
    assert (raw / doc.raw_file).is_file()
    assert not list(tmp_path.glob("*.doc")) and not list(tmp_path.parent.glob("*evil*"))
    # Every landed file has its sidecar, and nothing else is in raw/.
    landed = sorted(o.raw_file for o in report.outcomes if o.outcome == "new" and o.role != "listing")
    assert sorted(files) == sorted(landed + [f"provenance/{n}.json" for n in landed])


def test_sidecars_carry_the_provenance_keys(site, tmp_path, hosts_asked):
    raw = tmp_path / "raw"
    sources = [Source(site.url(xm_site.P2025), "notice", PROFILE, ("127.0.0.1",), notice_id="厦民〔2025〕95号")]
    report = refresh(site, raw, tmp_path / "state.json", hosts_asked, sources)
    assert [(o.role, o.outcome) for o in report.outcomes] == [("page", "new"), ("attachment", "new")]
    pdf_name = report.outcomes[1].raw_file
    sidecar = json.loads((raw / "provenance" / f"{pdf_name}.json").read_text(encoding="utf-8"))
    assert sidecar == {
        "file": pdf_name,
        "sha256": SHA_2025_PDF,
        "notice_id": "厦民〔2025〕95号",
        "role": "attachment",
        "source_url": site.url(xm_site.P2025_PDF),
        "retrieved_on": "2026-11-23",
        "note": f"fetched by pipeline refresh (notice source {site.url(xm_site.P2025)})",
        "fetched_at": "2026-11-23T08:30:00Z",
        "final_url": site.url(xm_site.P2025_PDF),
        "status_code": 200,
        "headers": {
            "content-type": "application/pdf",
            "etag": site.routes[xm_site.P2025_PDF].etag_value,
            "last-modified": "Fri, 18 Jul 2025 08:02:00 GMT",
            "content-length": str(len((xm_site.RAW / "xm-mzj-2025-095-list.pdf").read_bytes())),
        },
        "listing_url": None,
        "site_profile": "xm-gov-trs",
        "parent_url": site.url(xm_site.P2025),
    }
    page_sidecar = json.loads((raw / "provenance" / f"{report.outcomes[0].raw_file}.json").read_text(encoding="utf-8"))
    assert (page_sidecar["role"], page_sidecar["notice_id"], page_sidecar["parent_url"]) == ("page", "厦民〔2025〕95号", None)


def test_second_refresh_is_conditional_writes_nothing_and_retries_failures(site, tmp_path, hosts_asked):
    raw, state = tmp_path / "raw", tmp_path / "fetch_state.json"
    refresh(site, raw, state, hosts_asked)
    before = raw_files(raw)
    report = refresh(site, raw, state, hosts_asked)
    s = xm_site
    outcomes = by_url(report, site)
    assert outcomes[s.LISTING] == ("listing", "not_modified")
    for path in (s.P2025, s.P2025_PDF, s.GBK, s.GBK_XLS, s.FLAKY, s.HOSTILE, s.HOSTILE_DOC):
        assert outcomes[path][1] == "not_modified", path
    assert outcomes[s.NO_VALIDATORS] == ("page", "unchanged")  # no validators: fetched again, same bytes
    for path in (s.MISSING, s.SLOW, s.TRUNCATED):
        assert outcomes[path] == ("page", "failed")  # retried, still failing
    assert raw_files(raw) == before
    assert site.headers_of(s.P2025)[-1]["if-none-match"] == site.routes[s.P2025].etag_value
    assert report.counts()["new"] == 0 and report.new_files == []
    # The failure count in the state says how often in a row each URL failed.
    assert json.loads(state.read_text())["urls"][site.url(s.MISSING)]["failures"] == 2


def test_new_notice_and_revised_notice_land_beside_the_old_files(site, tmp_path, hosts_asked):
    raw, state = tmp_path / "raw", tmp_path / "fetch_state.json"
    first = refresh(site, raw, state, hosts_asked)
    old_flaky = next(o.raw_file for o in first.outcomes if o.url.endswith(xm_site.FLAKY))
    old_bytes = (raw / old_flaky).read_bytes()
    site.routes[xm_site.NEW] = Route(xm_site.notice_page("新通知", "厦民〔2025〕120号"))
    site.routes[xm_site.LISTING] = Route(xm_site.listing_page([xm_site.NEW, *xm_site.LISTED]))
    site.routes[xm_site.FLAKY] = Route(xm_site.notice_page("先错后对", "厦民〔2025〕103号", extra="(修订)"))
    report = refresh(site, raw, state, hosts_asked)
    outcomes = by_url(report, site)
    assert outcomes[xm_site.LISTING] == ("listing", "new")
    assert outcomes[xm_site.NEW] == ("page", "new")
    assert outcomes[xm_site.FLAKY] == ("page", "new")
    assert report.counts()["new"] == 2
    new_flaky = next(o.raw_file for o in report.outcomes if o.url.endswith(xm_site.FLAKY))
    assert new_flaky != old_flaky and new_flaky.startswith("127-0-0-1--t20250803_3--")
    assert (raw / old_flaky).read_bytes() == old_bytes  # raw files are immutable
    assert b"(\xe4\xbf\xae\xe8\xae\xa2)" in (raw / new_flaky).read_bytes()  # "(修订)"


def test_a_failed_notice_is_fetched_by_the_next_refresh(site, tmp_path, hosts_asked):
    raw, state = tmp_path / "raw", tmp_path / "fetch_state.json"
    refresh(site, raw, state, hosts_asked)
    site.routes[xm_site.MISSING] = Route(xm_site.notice_page("补发", "厦民〔2025〕101号"))
    site.routes[xm_site.TRUNCATED].overstate_length = 0
    report = refresh(site, raw, state, hosts_asked)
    assert by_url(report, site)[xm_site.MISSING] == ("page", "new")
    assert by_url(report, site)[xm_site.TRUNCATED] == ("page", "new")
    assert json.loads(state.read_text())["urls"][site.url(xm_site.MISSING)]["failures"] == 0


def test_failure_messages_name_the_url_the_stage_and_what_to_do(site, tmp_path, hosts_asked):
    report = refresh(site, tmp_path / "raw", tmp_path / "state.json", hosts_asked)
    reason = {o.url.replace(site.base, ""): o.reason for o in report.outcomes if o.reason}
    assert reason[xm_site.MISSING] == (
        f"url {site.url(xm_site.MISSING)}, stage fetch: HTTP 404 (hint: the notice was removed or moved; "
        "find its new address and update pipeline/data/sources.toml)")
    assert reason[xm_site.SLOW].startswith(f"url {site.url(xm_site.SLOW)}, stage fetch: timed out (ReadTimeout) (after 2 attempts)")
    assert "stage fetch: connection closed mid-response" in reason[xm_site.TRUNCATED]
    assert "(after 2 attempts)" in reason[xm_site.TRUNCATED]
    assert reason[xm_site.OFFHOST] == (
        f"url {xm_site.OFFHOST}, stage fetch: host other.invalid is not in allowed_hosts ['127.0.0.1'] "
        "(hint: if the host is trusted, add it to allowed_hosts of the source in pipeline/data/sources.toml)")
    assert reason[xm_site.PRIVATE].startswith(
        f"url {site.url(xm_site.PRIVATE)}, stage fetch: robots.txt of {site.base[len('http://'):]} disallows this URL")
    summary = report.summary().splitlines()
    assert summary[0] == ("fetch: 14 notice pages and attachments: 8 new, 0 unchanged, 0 not modified, 3 failed, "
                          "2 skipped (host not allowed), 1 disallowed by robots.txt")
    assert summary[1] == "fetch: 1 listing pages checked, 0 could not be read"
    assert f"  failed: {reason[xm_site.MISSING]}" in summary


def test_existing_snapshots_count_as_unchanged(site, tmp_path, hosts_asked):
    raw = tmp_path / "raw"
    shutil.copytree(xm_site.RAW, raw)
    before = raw_files(raw)
    sources = [Source(site.url(xm_site.P2025), "notice", PROFILE, ("127.0.0.1",))]
    report = refresh(site, raw, tmp_path / "state.json", hosts_asked, sources)
    assert [(o.raw_file, o.outcome) for o in report.outcomes] == [
        ("xm-mzj-2025-095.html", "unchanged"), ("xm-mzj-2025-095-list.pdf", "unchanged")]
    assert raw_files(raw) == before


def test_a_killed_refresh_leaves_raw_consistent_and_the_next_one_completes_it(site, tmp_path, hosts_asked, monkeypatch):
    raw, state = tmp_path / "raw", tmp_path / "fetch_state.json"
    sources = [Source(site.url(xm_site.P2025), "notice", PROFILE, ("127.0.0.1",))]

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # the refresh dies between the data file and its sidecar

    monkeypatch.setattr("pipeline.fetch.run.store_sidecar", killed)
    with pytest.raises(KeyboardInterrupt):
        refresh(site, raw, state, hosts_asked, sources)
    monkeypatch.undo()
    (name,) = [p.name for p in raw.iterdir() if p.is_file()]  # the whole data file, no temp file beside it
    assert (raw / name).read_bytes() == (xm_site.RAW / "xm-mzj-2025-095.html").read_bytes()
    assert not (raw / "provenance" / f"{name}.json").exists()
    (raw / ".fetch-leftover.part").write_bytes(b"half a file")  # what a kill inside a write leaves
    report = refresh(site, raw, state, hosts_asked, sources)
    assert [(o.raw_file, o.outcome) for o in report.outcomes][0] == (name, "unchanged")
    assert json.loads((raw / "provenance" / f"{name}.json").read_text())["sha256"] == SHA_2025_HTML
    assert not (raw / ".fetch-leftover.part").exists()


def test_a_kill_inside_a_write_leaves_no_partial_file(tmp_path, monkeypatch):
    from pipeline.fetch import store

    def killed(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(store.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        store.store_raw(tmp_path, "h--x--0123456789ab.html", b"<html></html>")
    assert list(tmp_path.iterdir()) == []


def test_offline_refresh_reports_failures_and_never_raises(tmp_path, hosts_asked):
    import socket

    with socket.socket() as sock:  # a port nothing listens on: connection refused, like a dead network
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    sources = [Source(base + xm_site.LISTING, "listing", PROFILE, ("127.0.0.1",)),
               Source(base + xm_site.P2025, "notice", PROFILE, ("127.0.0.1",))]
    report = fetch_sources(sources, tmp_path / "raw", state_file=tmp_path / "state.json", settings=FAST, now=NOW)
    assert [(o.role, o.outcome) for o in report.outcomes] == [("listing", "failed"), ("page", "failed")]
    assert "cannot connect" in report.outcomes[0].reason
    # The second URL fails fast: the host is known to be unreachable for the rest of the run.
    assert "unreachable earlier in this run" in report.outcomes[1].reason
    assert report.requests == 2  # robots.txt, tried twice; nothing after that
    assert [p.name for p in (tmp_path / "raw").iterdir()] == []


def test_state_file_lost_is_rebuilt_from_the_sidecars(site, tmp_path, hosts_asked):
    raw, state = tmp_path / "raw", tmp_path / "fetch_state.json"
    refresh(site, raw, state, hosts_asked)
    state.unlink()
    report = refresh(site, raw, state, hosts_asked)
    outcomes = by_url(report, site)
    # The validators come back from the sidecars; the attachment links from the raw pages.
    for path in (xm_site.P2025, xm_site.P2025_PDF, xm_site.GBK, xm_site.GBK_XLS):
        assert outcomes[path][1] == "not_modified", path
    assert report.counts()["new"] == 0


def test_register_notice_id_reaches_a_notice_first_found_on_the_listing(site, tmp_path, hosts_asked):
    raw = tmp_path / "raw"
    sources = [listing(site), Source(site.url(xm_site.P2025), "notice", PROFILE, ("127.0.0.1",), notice_id="厦民〔2025〕95号")]
    report = refresh(site, raw, tmp_path / "state.json", hosts_asked, sources)
    landed = {o.url.replace(site.base, ""): o for o in report.outcomes}
    for path, role in ((xm_site.P2025, "page"), (xm_site.P2025_PDF, "attachment")):
        sidecar = json.loads((raw / "provenance" / f"{landed[path].raw_file}.json").read_text(encoding="utf-8"))
        assert (sidecar["notice_id"], sidecar["role"], sidecar["listing_url"]) == (
            "厦民〔2025〕95号", role, site.url(xm_site.LISTING))
    gbk = json.loads((raw / "provenance" / f"{landed[xm_site.GBK].raw_file}.json").read_text(encoding="utf-8"))
    assert gbk["notice_id"] is None  # the register does not know it; the build reads it from the page
    assert site.hits(xm_site.P2025) == 1  # reached twice, fetched once


def test_links_to_other_hosts_are_logged_and_not_followed(site, tmp_path, hosts_asked, caplog):
    with caplog.at_level("INFO", logger="pipeline.fetch"):
        refresh(site, tmp_path / "raw", tmp_path / "state.json", hosts_asked)
    skipped = [r.getMessage() for r in caplog.records if r.getMessage().startswith("not following")]
    assert skipped == [f"not following url {u}, stage fetch: host other.invalid is not in allowed_hosts ['127.0.0.1'] "
                       "(hint: if the host is trusted, add it to allowed_hosts of the source in "
                       "pipeline/data/sources.toml)" for u in (xm_site.OFFHOST, "http://other.invalid/files/P1.pdf")]
    assert "other.invalid" not in hosts_asked


def test_a_local_error_on_one_notice_does_not_stop_the_others(site, tmp_path, hosts_asked, monkeypatch):
    from pipeline.fetch import run

    real_store = run.store_raw

    def disk_full_for_pdfs(raw_dir, name, data):
        if name.endswith(".pdf"):
            raise OSError(28, "No space left on device")
        return real_store(raw_dir, name, data)

    monkeypatch.setattr(run, "store_raw", disk_full_for_pdfs)
    report = refresh(site, tmp_path / "raw", tmp_path / "state.json", hosts_asked)
    outcomes = by_url(report, site)
    assert outcomes[xm_site.P2025_PDF] == ("attachment", "failed")
    assert outcomes[xm_site.HOSTILE_DOC] == ("attachment", "new")
    reason = next(o.reason for o in report.outcomes if o.url.endswith(xm_site.P2025_PDF))
    assert reason.startswith(f"url {site.url(xm_site.P2025_PDF)}, stage fetch: unexpected OSError: "
                             "[Errno 28] No space left on device (hint: a bug or a local problem")


def test_a_page_whose_links_cannot_be_read_is_kept_and_reported(site, tmp_path, hosts_asked):
    garbled = b"<html><body>" + bytes(range(0x80, 0x100)) * 20 + b'<a href="P1.pdf">x</a></body></html>'
    site.routes[xm_site.NEW] = Route(garbled, content_type="text/html")
    sources = [Source(site.url(xm_site.NEW), "notice", PROFILE, ("127.0.0.1",))]
    report = refresh(site, tmp_path / "raw", tmp_path / "state.json", hosts_asked, sources)
    assert [(o.role, o.outcome) for o in report.outcomes] == [("page", "new"), ("page", "failed")]
    assert (tmp_path / "raw" / report.outcomes[0].raw_file).read_bytes() == garbled
    assert report.outcomes[1].reason.startswith(
        f"url {site.url(xm_site.NEW)}, stage fetch: attachment links not read: page cannot be read for links: bytes do not decode")
    assert report.outcomes[1].reason.endswith("(hint: the page itself is in raw/; check its charset or the site "
                                              "profile's notice_xpath)")
