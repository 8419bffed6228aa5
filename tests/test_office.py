"""DOC (Word/WPS binaries) through LibreOffice: real d12/d13 against truth, and the conversion's safety."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from pipeline.extract import office
from pipeline.extract.docx import docx_to_blocks, docx_to_grids
from pipeline.extract.office import ConvertFailed, ConvertSettings, convert_office
from pipeline.extract.xlsx import xlsx_to_grids
from pipeline.model import RawFile
from pipeline.stages import raw_file_to_result
from pipeline.text import clean_text
from tests.fixtures.real_files import REAL, TRUTH, real_bytes

D12, D13 = "d12-zj-nocert-catalog.doc", "d13-hn-njbt-2024.doc"


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """Conversions cached in tmp (never under the repository's staging/), also for the stage chain."""
    s = ConvertSettings(cache_dir=tmp_path / "convert-cache")
    monkeypatch.setattr(office, "DEFAULT_SETTINGS", s)
    return s


@pytest.fixture(scope="module")
def d12_docx(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    return convert_office(real_bytes(D12), "doc", file=D12, settings=ConvertSettings(cache_dir=cache))


def test_d12_converts_and_its_two_tables_equal_truth(d12_docx):
    grids = docx_to_grids(d12_docx.data, file=D12)
    tables = TRUTH[D12]["tables"]
    assert len(grids) == len(tables) == 2
    for grid, table in zip(grids, tables):
        assert table["compare"] == "ws_collapse"
        first = table["title_rows"] + 1  # title row, header row, then one sheet row per record
        assert [grid.value(first - 1, c) for c in range(6)] == table["header"]
        for sample in table["samples"]:
            r = first + sample["row"] - 1
            # The DOCX reader keeps a cell's paragraphs as line breaks; compare whitespace-insensitively.
            got = [clean_text(grid.value(r, c)) for c in range(6)]
            assert got == [clean_text(v or "") for v in sample["cells"]], sample["row"]
    assert grids[0].rows[0][0].text == tables[0]["name"] and grids[0].rows[0][1].text is None  # title spans


def test_d13_converts_to_no_table_and_blocks_with_title_and_date(settings):
    conv = convert_office(real_bytes(D13), "doc", file=D13)
    assert docx_to_grids(conv.data, file=D13) == []
    blocks = docx_to_blocks(conv.data, file=D13)
    # The title is printed over three lines (paragraphs 1-3); joined CJK-aware it is the title as printed.
    assert [b.locator for b in blocks[:3]] == ["paragraph 1", "paragraph 2", "paragraph 3"]
    assert clean_text("\n".join(b.text for b in blocks[:3])) == TRUTH[D13]["meta"]["title"]
    assert "2024年7月1日" in [b.text for b in blocks]
    assert "（此件主动公开）" in [b.text for b in blocks]


def test_a_doc_goes_through_the_stage_chain_and_says_how_it_was_converted(settings):
    data = real_bytes(D12)
    raw = RawFile(path=D12, sha256=hashlib.sha256(data).hexdigest(), format="")
    result = raw_file_to_result(raw, data)
    assert raw.format == "doc" and result.stage in (None, "recognize"), result.reason
    ex = result.extracted
    assert ex.converted.startswith("converted: doc→docx by LibreOffice 7.") and ex.converted.endswith("sandbox=netns")
    assert len(ex.grids) == 2 and {g.source_format for g in ex.grids} == {"doc"}
    assert {g.hints["converted"] for g in ex.grids} == {ex.converted}
    assert ex.blocks and {b.source_format for b in ex.blocks} == {"doc"}
    assert "浙银保监发〔2020〕172号" in [b.text for b in ex.blocks]


def test_the_real_conversion_ran_in_a_network_namespace_with_a_throwaway_profile(d12_docx):
    unshare = shutil.which("unshare")
    assert d12_docx.sandbox == "netns" and d12_docx.command[:3] in ([unshare, "-rn", "--"], [unshare, "-n", "--"])
    argv = d12_docx.command[3:]
    assert Path(argv[0]).name == "soffice" and "--headless" in argv and "--norestore" in argv
    assert argv[argv.index("--convert-to") + 1] == "docx:MS Word 2007 XML"
    profile = next(a for a in argv if a.startswith("-env:UserInstallation=file://"))
    assert "/pt-convert-" in profile and not Path(profile.split("file://", 1)[1]).exists()  # thrown away


def _libreoffice_to(src: Path, fmt: str, tmp: Path) -> bytes:
    """Make a test file of another office format with LibreOffice itself (a throwaway profile)."""
    subprocess.run(["soffice", f"-env:UserInstallation={(tmp / 'lo-profile').as_uri()}", "--headless", "--norestore",
                    "--convert-to", fmt, "--outdir", str(tmp), str(src)], check=True, capture_output=True, timeout=120)
    return (tmp / f"{src.stem}.{fmt}").read_bytes()


@pytest.mark.parametrize("fmt", ["odt", "rtf"])
def test_odt_and_rtf_documents_are_converted_and_read_as_docx(fmt, tmp_path, settings):
    data = _libreoffice_to(REAL / "d14-sh-insurance-exam-rules.docx", fmt, tmp_path)
    raw = RawFile(path=f"rules.{fmt}", sha256=hashlib.sha256(data).hexdigest(), format="")
    result = raw_file_to_result(raw, data)
    assert raw.format == fmt and result.extracted.converted.startswith(f"converted: {fmt}→docx by LibreOffice")
    texts = [b.text for b in result.extracted.blocks]
    assert clean_text("\n".join(texts[:2])) == TRUTH["d14-sh-insurance-exam-rules.docx"]["meta"]["title"]
    assert sum(t.startswith("第") and t.split(" ")[0].endswith("条") for t in texts) == 25


def test_ods_workbooks_are_converted_and_read_as_xlsx(tmp_path, settings):
    data = _libreoffice_to(REAL / "d11-klmy-rf-powers-sheets.xlsx", "ods", tmp_path)
    raw = RawFile(path="sheets.ods", sha256=hashlib.sha256(data).hexdigest(), format="")
    grids = raw_file_to_result(raw, data).extracted.grids
    direct = xlsx_to_grids(real_bytes("d11-klmy-rf-powers-sheets.xlsx"))
    assert raw.format == "ods" and [g.sheet for g in grids] == [g.sheet for g in direct]
    assert {g.source_format for g in grids} == {"ods"}
    assert [g.texts() for g in grids] == [g.texts() for g in direct]  # same cells, merges and spans


# --- a fake soffice: what the converter hands LibreOffice, and how it copes when it misbehaves ----


def fake_soffice(tmp_path: Path, body: str) -> Path:
    """Write an executable stand-in for soffice; RECORD is a folder it may write to."""
    record = tmp_path / "record"
    record.mkdir(exist_ok=True)
    path = tmp_path / "bin" / "soffice"
    path.parent.mkdir(exist_ok=True)
    path.write_text("#!/bin/sh\n" + body.replace("RECORD", str(record)))
    path.chmod(0o755)
    return path


RECORDING = f"""
[ "$3" = "--version" ] && {{ echo "LibreOffice 0.0.0.1 fake"; exit 0; }}
readlink /proc/self/ns/net > RECORD/netns
cat /proc/net/dev > RECORD/netdev
env > RECORD/env
prev=""
for a in "$@"; do
  case "$a" in -env:UserInstallation=file://*) cp "${{a#-env:UserInstallation=file://}}/user/registrymodifications.xcu" RECORD/xcu;; esac
  [ "$prev" = "--outdir" ] && out="$a"
  prev="$a"
  src="$a"
done
mkdir -p "$out" && cp {REAL / "d14-sh-insurance-exam-rules.docx"} "$out/$(basename "${{src%.*}}").docx"
"""


def test_the_convert_command_runs_without_network_and_with_macros_disabled(tmp_path):
    fake = fake_soffice(tmp_path, RECORDING)
    conv = convert_office(b"any doc bytes", "doc", file="x.doc", settings=ConvertSettings(str(fake), cache_dir=None))
    record = tmp_path / "record"
    assert conv.sandbox == "netns" and conv.warnings == []
    assert (record / "netns").read_text().strip() != os.readlink("/proc/self/ns/net")  # another namespace
    devices = [ln.split(":")[0].strip() for ln in (record / "netdev").read_text().splitlines()[2:]]
    assert devices == ["lo"]  # no interface but loopback
    xcu = (record / "xcu").read_text()
    assert 'oor:name="MacroSecurityLevel" oor:op="fuse"><value>3</value>' in xcu
    assert 'oor:name="DisableMacrosExecution" oor:op="fuse"><value>true</value>' in xcu
    env = dict(ln.split("=", 1) for ln in (record / "env").read_text().splitlines() if "=" in ln)
    assert not {k for k in env if k.lower().endswith("_proxy")} and "/pt-convert-" in env["HOME"]
    assert conv.data == (REAL / "d14-sh-insurance-exam-rules.docx").read_bytes()
    assert conv.note == "converted: doc→docx by LibreOffice 0.0.0.1, sandbox=netns"


def test_without_a_network_namespace_it_still_runs_and_says_so(tmp_path):
    fake = fake_soffice(tmp_path, RECORDING)
    s = ConvertSettings(str(fake), unshare=str(tmp_path / "no-unshare-here"), cache_dir=None)
    conv = convert_office(b"any doc bytes", "doc", settings=s)
    assert conv.sandbox == "none" and conv.command[0] == str(fake)
    assert conv.warnings == ["no network namespace could be made (unshare -rn / -n failed): "
                             "LibreOffice ran with the host's network"]


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0] == "Z"  # a zombie is dead
    except FileNotFoundError:
        return True


def test_a_conversion_that_hangs_is_killed_with_its_children_and_fails_the_file_at_convert(tmp_path, settings,
                                                                                            monkeypatch):
    fake = fake_soffice(tmp_path, "sleep 60 &\necho $! > RECORD/child\nsleep 60\n")
    monkeypatch.setattr(office, "DEFAULT_SETTINGS", ConvertSettings(str(fake), timeout_s=1,
                                                                    cache_dir=tmp_path / "cache"))
    data = real_bytes(D13)
    raw = RawFile(path="hangs.doc", sha256=hashlib.sha256(data).hexdigest(), format="")
    started = time.monotonic()
    result = raw_file_to_result(raw, data)
    assert time.monotonic() - started < 15
    assert (result.status, result.stage) == ("failed", "convert")
    assert result.reason.startswith("file hangs.doc, stage convert: LibreOffice did not convert doc→docx "
                                    "within 1 s (killed) (hint: open the file in an office program")
    child = int((tmp_path / "record" / "child").read_text())
    deadline = time.monotonic() + 5
    while not _gone(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _gone(child), "the process group was not killed"


def test_no_output_and_no_libreoffice_are_convert_failures(tmp_path):
    fails = fake_soffice(tmp_path, "echo 'Error: source file could not be loaded' >&2\nexit 1\n")
    with pytest.raises(ConvertFailed, match=r"^file bad\.doc, stage convert: LibreOffice gave no docx \(exit 1: "
                                            r"Error: source file could not be loaded\)"):
        convert_office(b"junk", "doc", file="bad.doc", settings=ConvertSettings(str(fails), cache_dir=None))
    with pytest.raises(ConvertFailed, match=r"LibreOffice \(/nowhere/soffice\) is not installed.*make office"):
        convert_office(b"junk", "doc", file="x.doc", settings=ConvertSettings("/nowhere/soffice", cache_dir=None))


# --- the cache ----------------------------------------------------------------------------------


def test_second_conversion_is_a_cache_hit_and_a_tampered_entry_is_a_miss(tmp_path):
    cache = tmp_path / "cache"
    data = real_bytes(D13)
    first = convert_office(data, "doc", file=D13, settings=ConvertSettings(cache_dir=cache))
    digest = hashlib.sha256(data).hexdigest()
    entry, manifest = cache / f"{digest}.docx", cache / f"{digest}.docx.json"
    meta = json.loads(manifest.read_text())
    assert not first.cached and entry.read_bytes() == first.data
    assert meta["output_sha256"] == hashlib.sha256(first.data).hexdigest()
    assert meta["engine"].startswith("LibreOffice 7.") and meta["sandbox"] == "netns"
    # A hit needs no LibreOffice at all.
    hit = convert_office(data, "doc", settings=ConvertSettings("/nowhere/soffice", cache_dir=cache))
    assert hit.cached and hit.data == first.data and hit.note.endswith("(from the convert cache)")
    # Bytes that no longer match the manifest are never trusted: converted again, and said so.
    entry.write_bytes(first.data[:-10] + b"tampered!!")
    again = convert_office(data, "doc", file=D13, settings=ConvertSettings(cache_dir=cache))
    assert not again.cached and docx_to_blocks(again.data)  # a real DOCX again
    assert again.warnings == [f"convert cache entry {digest[:12]}.docx was refused "
                              "(its bytes do not match the manifest's sha256); converted again"]
    assert hashlib.sha256(entry.read_bytes()).hexdigest() == json.loads(manifest.read_text())["output_sha256"]
