"""Office files the readers cannot open directly (DOC/WPS binaries, ODT/ODS, RTF) to DOCX/XLSX, by LibreOffice.

Each conversion runs ``soffice --headless --convert-to`` in a throwaway folder with a fresh user profile
whose settings put macro security at its highest level and disable macro execution, ``--norestore``,
inside a new network namespace (``unshare -rn``) when one can be made, under a timeout that kills the
whole process group. Nothing is shared between runs.

Outputs are cached by the input's sha256 (``<sha>.<ext>`` beside ``<sha>.<ext>.json``, a manifest with
the output's sha256, the LibreOffice version and how it ran). An entry whose bytes do not match its
manifest is a miss: it is converted again and the rebuild reported. No pickle.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.config import STAGING_DIR
from pipeline.errors import PipelineError

STAGE = "convert"
# What each source kind becomes, and the LibreOffice export filter that writes it.
TARGETS = {"doc": "docx", "odt": "docx", "rtf": "docx", "ods": "xlsx"}
FILTERS = {"docx": "docx:MS Word 2007 XML", "xlsx": "xlsx:Calc MS Excel 2007 XML"}
# Macro security "very high" (3: only trusted locations, of which there are none), macros never run,
# no documents fetched through untrusted referers.
PROFILE_SETTINGS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="MacroSecurityLevel" \
oor:op="fuse"><value>3</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="DisableMacrosExecution" \
oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="BlockUntrustedRefererLinks" \
oor:op="fuse"><value>true</value></prop></item>
</oor:items>
"""


class ConvertFailed(PipelineError):
    """LibreOffice could not turn the file into DOCX/XLSX (timeout, error, or no output)."""

    hint = ("open the file in an office program; if it opens, save it as .docx/.xlsx and add that copy to raw/; "
            "if LibreOffice is missing, run `make office`")


@dataclass(frozen=True, slots=True)
class ConvertSettings:
    """How conversions run; the defaults are what a refresh uses."""

    soffice: str = "soffice"  # the LibreOffice binary (a name on PATH or a path)
    unshare: str = "unshare"  # util-linux unshare, for the network namespace
    timeout_s: float = 180.0
    cache_dir: Path | None = STAGING_DIR / "convert-cache"  # None: no cache


DEFAULT_SETTINGS = ConvertSettings()


@dataclass(slots=True)
class Conversion:
    """A converted file and how it was made."""

    data: bytes
    source_kind: str
    target: str
    engine: str  # "LibreOffice 7.4.7.2"
    sandbox: str  # "netns" (no network) or "none"
    command: list[str]
    cached: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def note(self) -> str:
        """One line for the extraction record: ``converted: doc→docx by LibreOffice 7.4.7.2, sandbox=netns``."""
        return (f"converted: {self.source_kind}→{self.target} by {self.engine}, sandbox={self.sandbox}"
                + (" (from the convert cache)" if self.cached else ""))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@functools.lru_cache(maxsize=8)
def netns_prefix(unshare: str) -> tuple[str, ...]:
    """Return the command prefix that runs a program without network, or () when no namespace can be made."""
    exe = shutil.which(unshare)
    if exe is None:
        return ()
    for flags in ("-rn", "-n"):  # an unprivileged user namespace first; plain -n needs root
        try:
            ok = subprocess.run([exe, flags, "true"], capture_output=True, timeout=10).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        if ok:
            return (exe, flags, "--")
    return ()


def _run(argv: list[str], *, timeout: float, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    """Run a command in its own process group; on timeout kill the whole group and raise TimeoutExpired."""
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid)
        proc.communicate()
        raise
    _kill_group(proc.pid)  # LibreOffice helpers that outlived the main process
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _env(home: Path) -> dict:
    """A minimal environment: no proxies, no display, HOME and TMPDIR inside the throwaway folder."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "TMPDIR": str(home),
            "LANG": "C.UTF-8", "SAL_USE_VCLPLUGIN": "svp"}


def _profile(root: Path) -> str:
    """Create a fresh LibreOffice user profile with the macro settings; return its -env: argument."""
    user = root / "profile" / "user"
    user.mkdir(parents=True)
    (user / "registrymodifications.xcu").write_text(PROFILE_SETTINGS, encoding="utf-8")
    return f"-env:UserInstallation={(root / 'profile').as_uri()}"


@functools.lru_cache(maxsize=8)
def libreoffice_version(soffice: str, unshare: str = "unshare") -> str:
    """Return ``LibreOffice 7.4.7.2`` (asked once per binary and process)."""
    with tempfile.TemporaryDirectory(prefix="pt-lo-version-") as tmp:
        root = Path(tmp)
        argv = [*netns_prefix(unshare), soffice, _profile(root), "--headless", "--version"]
        try:
            out = _run(argv, timeout=60, cwd=root, env=_env(root)).stdout.decode("utf-8", errors="replace")
        except (OSError, subprocess.TimeoutExpired):
            return "LibreOffice (version unknown)"
    m = re.search(r"LibreOffice\s+([\d.]+)", out)
    return f"LibreOffice {m.group(1)}" if m else "LibreOffice (version unknown)"


def soffice_command(soffice: str, profile_arg: str, target: str, outdir: Path, src: Path) -> list[str]:
    """Return the headless conversion command line (without the sandbox prefix)."""
    return [soffice, profile_arg, "--headless", "--invisible", "--norestore", "--nolockcheck", "--nologo",
            "--nodefault", "--convert-to", FILTERS[target], "--outdir", str(outdir), str(src)]


def run_libreoffice(data: bytes, kind: str, target: str, *, file: str | None,
                    settings: ConvertSettings) -> Conversion:
    """Convert the bytes with LibreOffice in a fresh sandboxed run; raise ConvertFailed when it cannot."""
    soffice = shutil.which(settings.soffice)
    if soffice is None:
        raise ConvertFailed(f"LibreOffice ({settings.soffice}) is not installed", file=file, stage=STAGE)
    prefix = netns_prefix(settings.unshare)
    warnings = [] if prefix else ["no network namespace could be made (unshare -rn / -n failed): "
                                  "LibreOffice ran with the host's network"]
    with tempfile.TemporaryDirectory(prefix="pt-convert-") as tmp:
        root = Path(tmp)
        (root / "in").mkdir()
        src = root / "in" / f"input.{kind}"  # the extension only picks the import filter family
        src.write_bytes(data)
        outdir = root / "out"
        argv = [*prefix, *soffice_command(soffice, _profile(root), target, outdir, src)]
        try:
            done = _run(argv, timeout=settings.timeout_s, cwd=root, env=_env(root))
        except subprocess.TimeoutExpired:
            raise ConvertFailed(f"LibreOffice did not convert {kind}→{target} within {settings.timeout_s:g} s "
                                "(killed)", file=file, stage=STAGE) from None
        except OSError as exc:
            raise ConvertFailed(f"LibreOffice could not be started ({exc})", file=file, stage=STAGE) from None
        out = outdir / f"input.{target}"
        if done.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
            said = (done.stderr or done.stdout).decode("utf-8", errors="replace").strip().splitlines()
            raise ConvertFailed(f"LibreOffice gave no {target} (exit {done.returncode}"
                                + (f": {said[-1][:200]}" if said else "") + ")", file=file, stage=STAGE)
        result = out.read_bytes()
    return Conversion(result, kind, target, libreoffice_version(settings.soffice, settings.unshare),
                      "netns" if prefix else "none", argv, warnings=warnings)


def _cache_paths(cache_dir: Path, digest: str, target: str) -> tuple[Path, Path]:
    return cache_dir / f"{digest}.{target}", cache_dir / f"{digest}.{target}.json"


def cache_get(cache_dir: Path, digest: str, kind: str, target: str) -> tuple[Conversion | None, str | None]:
    """Return (the cached conversion, None), or (None, why the entry was refused) — None, None when absent."""
    out, manifest = _cache_paths(cache_dir, digest, target)
    if not manifest.exists() and not out.exists():
        return None, None
    try:
        meta = json.loads(manifest.read_text(encoding="utf-8"))
        data = out.read_bytes()
    except (OSError, ValueError) as exc:
        return None, f"unreadable ({type(exc).__name__})"
    if not isinstance(meta, dict) or meta.get("input_sha256") != digest or meta.get("target") != target:
        return None, "its manifest names another input"
    if sha256(data) != meta.get("output_sha256"):
        return None, "its bytes do not match the manifest's sha256"
    return Conversion(data, kind, target, str(meta.get("engine")), str(meta.get("sandbox")),
                      list(meta.get("command") or []), cached=True), None


def cache_put(cache_dir: Path, digest: str, conv: Conversion) -> None:
    """Store a conversion and its manifest, each written atomically (bytes first, manifest last)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    out, manifest = _cache_paths(cache_dir, digest, conv.target)
    meta = {"input_sha256": digest, "source_kind": conv.source_kind, "target": conv.target,
            "output_sha256": sha256(conv.data), "output_size": len(conv.data), "engine": conv.engine,
            "sandbox": conv.sandbox, "command": conv.command,
            "converted_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    for path, payload in ((out, conv.data), (manifest, json.dumps(meta, ensure_ascii=False, indent=1).encode())):
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(payload)
        os.replace(tmp, path)


def convert_office(data: bytes, kind: str, *, file: str | None = None,
                   settings: ConvertSettings | None = None) -> Conversion:
    """Turn a doc/odt/rtf (→ docx) or ods (→ xlsx) file into OOXML bytes, from the cache when it holds them."""
    settings = settings or DEFAULT_SETTINGS
    if kind not in TARGETS:
        raise ConvertFailed(f"no conversion for {kind!r} files", file=file, stage=STAGE)
    target = TARGETS[kind]
    digest = sha256(data)
    refused = None
    if settings.cache_dir is not None:
        hit, refused = cache_get(settings.cache_dir, digest, kind, target)
        if hit is not None:
            return hit
    conv = run_libreoffice(data, kind, target, file=file, settings=settings)
    if refused:
        conv.warnings.append(f"convert cache entry {digest[:12]}.{target} was refused ({refused}); converted again")
    if settings.cache_dir is not None:
        cache_put(settings.cache_dir, digest, conv)
    return conv
