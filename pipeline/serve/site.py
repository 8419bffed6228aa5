"""The analysts' browsable site: datasette over the SQLite mirror, read-only, bound to loopback by default.

Datasette runs in its own process (``python -m pipeline.serve.site serve …``, which is datasette's own command
line with this project's plugin registered first) and is always started with:

- the mirror ``--immutable``: SQLite opens it read-only and nothing can write it;
- ``--metadata`` beside it (descriptions, search boxes) and the settings of pipeline/data/browse.toml
  [datasette]: a SQL time limit, a row cap, no download of the database file;
- no ``--load-extension``, no ``--crossdb``, no ``--cors``, no ``--root``;
- the plugin pipeline.serve.datasette_plugin (a read-only authorizer on every connection), and no other: a
  third-party datasette plugin installed in the environment stops the site from starting.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from pipeline.errors import PipelineError
from pipeline.serve.datasette_plugin import PLUGIN_NAME
from pipeline.serve.mirror import BrowseConfig, BrowseConfigError, load_browse_config, metadata_path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8001
REQUIRED_SETTINGS = ("sql_time_limit_ms", "max_returned_rows")
LOOPBACK = ("127.", "localhost", "::1")


class SiteFailed(PipelineError):
    """Datasette did not start, or did not answer as the site should."""

    hint = "see datasette's messages above; is the port already taken? (pass --port N)"


def _setting(value: object) -> str:
    return ("on" if value else "off") if isinstance(value, bool) else str(value)


def datasette_argv(mirror: Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                   config: BrowseConfig | None = None) -> list[str]:
    """Return the ``datasette serve`` arguments that serve a mirror locked down."""
    config = config or load_browse_config()
    missing = [s for s in REQUIRED_SETTINGS if not config.datasette.get(s)]
    if missing:
        raise BrowseConfigError(f"[datasette] must set {', '.join(missing)}", stage="site")
    argv = ["serve", "--immutable", str(mirror), "--metadata", str(metadata_path(mirror)),
            "--host", host, "--port", str(port)]
    for name, value in config.datasette.items():
        argv += ["--setting", name, _setting(value)]
    return argv


def is_loopback(host: str) -> bool:
    return host.startswith(LOOPBACK)


def start_site(mirror: Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, **popen) -> subprocess.Popen:
    """Start datasette on a mirror in a child process; return it (stop it with ``stop_site``)."""
    cmd = [sys.executable, "-m", "pipeline.serve.site", *datasette_argv(Path(mirror), host, port)]
    return subprocess.Popen(cmd, **popen)


def base_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def wait_until_up(proc: subprocess.Popen, url: str, timeout: float = 60.0) -> None:
    """Return once the site answers; raise SiteFailed if datasette exits or stays silent past ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SiteFailed(f"datasette exited with status {proc.returncode} before answering", stage="site")
        try:
            if httpx.get(f"{url}/-/versions.json", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SiteFailed(f"datasette did not answer at {url} within {timeout:.0f}s", stage="site")


def stop_site(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Stop the datasette process (SIGTERM, then SIGKILL after ``timeout``)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def serve_following(warehouse: Path, mirror: Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *,
                    every: float = 5.0, say=print, **popen) -> int:
    """Serve the mirror until datasette exits (return its status); every ``every`` seconds (0: never), when a
    refresh has published a newer warehouse, rebuild the mirror and restart datasette on it, so the site never
    shows an old warehouse for longer than that. A mirror that cannot be rebuilt leaves the old one served."""
    from pipeline.serve.mirror import ensure_mirror, mirror_is_current

    url = base_url(host, port)
    previous = None
    if threading.current_thread() is threading.main_thread():  # SIGTERM (kill, a service manager) stops the
        previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)  # site too, never leaving it orphaned
    proc = start_site(mirror, host, port, **popen)
    try:
        while True:
            try:
                return proc.wait(timeout=every if every > 0 else None)
            except subprocess.TimeoutExpired:
                pass
            if not Path(warehouse).exists() or mirror_is_current(warehouse, mirror):
                continue  # (a refresh replaces the warehouse by a rename: it is never seen half-written)
            try:
                ensure_mirror(warehouse, mirror)  # written beside and renamed: the running site reads the old one
            except PipelineError as exc:
                say(f"warning: the warehouse changed but the mirror could not be rebuilt, still serving the last "
                    f"one: {exc}")
                continue
            stop_site(proc)
            proc = start_site(mirror, host, port, **popen)
            wait_until_up(proc, url)
            say(f"warehouse {warehouse} changed: mirror rebuilt, site restarted at {url}/")
    finally:
        stop_site(proc)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(128 + signum)


def check_site(url: str, database: str) -> str:
    """Ask the running site what it serves and which plugins it runs; return one line, or raise SiteFailed."""
    plugins = [p["name"] for p in httpx.get(f"{url}/-/plugins.json", timeout=10.0).json()]
    if plugins != [PLUGIN_NAME]:
        raise SiteFailed(f"the site runs plugins {plugins}, expected only {PLUGIN_NAME}", stage="site")
    served = [d["name"] for d in httpx.get(f"{url}/-/databases.json", timeout=10.0).json()]
    if served != [database]:
        raise SiteFailed(f"the site serves databases {served}, expected only {database}", stage="site")
    r = httpx.get(f"{url}/{database}.json", timeout=10.0)
    if r.status_code != 200:
        raise SiteFailed(f"GET /{database}.json answered {r.status_code}", stage="site")
    tables = [t for t in r.json()["tables"] if not t.get("hidden")]
    rows = sum(t.get("count") or 0 for t in tables)
    return f"site answered at {url}/{database}: {len(tables)} tables, {rows} rows, plugins {', '.join(plugins)}"


def main(argv: list[str]) -> None:
    """Run datasette's command line with this project's plugin, refusing to start beside any other plugin."""
    from datasette.cli import cli
    from datasette.plugins import DEFAULT_PLUGINS, pm

    from pipeline.serve import datasette_plugin

    foreign = sorted(name for name, _ in pm.list_name_plugin() if name not in DEFAULT_PLUGINS)
    if foreign:
        sys.exit(f"site refused to start: datasette plugins installed beside this project's: {', '.join(foreign)} "
                 "(hint: uninstall them; the site runs only pipeline.serve.datasette_plugin)")
    pm.register(datasette_plugin, name=PLUGIN_NAME)
    cli.main(args=argv, prog_name="datasette")


if __name__ == "__main__":
    main(sys.argv[1:])
