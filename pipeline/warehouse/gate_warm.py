"""The warm gate: the notice gate's GX worker kept between refreshes, as a build server keeps its compiler warm
(Pants' pantsd, dmypy, the Gradle daemon).

Importing Great Expectations and registering the notice suites costs about 2.5 seconds in a fresh process, and
judging one notice about 1 second more. For a refresh that adds one notice to a thousand that fixed cost was as much
as all the rest of its work. So after a refresh the worker stays up for ``POLICY_GATE_KEEP`` seconds (default
600; 0 = no warm gate, a worker per refresh as before) and the next refresh hands its batches to it: GX and the
registered suites are already in memory.

What keeps it honest:
- **Keyed by the code.** The key is the build fingerprint (package code, data and suites), the interpreter, the
  package's folder and GX's version. A refresh whose key differs stops the old server and starts a new one, so a
  changed suite or gate is never judged by old code. The registered suites are also compared on every connection.
- **One refresh at a time.** A refresh holds ``use.lock`` while it talks to the server; a second refresh sharing
  the staging folder (another warehouse) does not wait: it starts a worker of its own, as before.
- **Private.** The server listens on a Unix socket in ``staging/warm-gate/`` (mode 0700), and answers only a peer
  of its own user id (SO_PEERCRED); it opens no network socket.
- **Nothing hangs on it.** The refresh binds the socket and hands the listening descriptor to the server it starts
  (socket activation), so connecting never waits for GX to import. A server that dies or answers nonsense is
  ``WorkerLost``: the gate validates in-process instead and says so, as with the per-refresh worker.
- **It stays small.** A session that grew it more than ``POLICY_GATE_RENEW_MB`` (default 160) past its size when
  ready (a full build's batches) leaves a heap it cannot hand back; it then execs itself afresh, with the same pid
  and socket, and registers the same suites again (``Server._renew_if_grown``).
- **It goes away.** After ``POLICY_GATE_KEEP`` idle seconds it removes its socket (under ``spawn.lock``, so no
  refresh connects to a server about to leave) and exits. ``python -m pipeline stop-gate`` (``make gate-stop``)
  stops it at once.

Files under ``staging/warm-gate/``: ``gate.sock``, ``gate.pid``, ``gate.key``, ``gate.log`` (what GX prints),
``spawn.lock``, ``use.lock`` and ``candidates/`` (the snapshots the server reads).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from pipeline.config import ROOT
from pipeline.warehouse.expectations import Suite
from pipeline.warehouse.gate_worker import (LOG_TAIL, GateWorker, _sender, _start_runner, child_env, defer_modules,
                                            serve_session, suites_digest)
from pipeline.warehouse.quarantine import candidate_dir

WARM_DIR = "warm-gate"
KEEP_ENV = "POLICY_GATE_KEEP"
DEFAULT_KEEP_S = 600.0
RENEW_ENV = "POLICY_GATE_RENEW_MB"
# Measured (2 cores, synthetic corpus): a server holds 180-250 MB when ready; after judging a full build's 1,000
# notices 490 MB, 10,000 notices 605 MB; after one notice, tens of MB more than when ready.
DEFAULT_RENEW_MB = 160.0
RENEW_FILE = "renew.pickle"
MODULE = "pipeline.warehouse.gate_warm"
SOCKET_PATH_MAX = 107  # bytes of a Unix socket's path (sun_path) on Linux, less its closing NUL


def keep_seconds() -> float:
    """How long a warm gate waits for the next refresh (``POLICY_GATE_KEEP``; 0 = no warm gate)."""
    raw = os.environ.get(KEEP_ENV, "").strip()
    if not raw:
        return DEFAULT_KEEP_S
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{KEEP_ENV} must be a number of seconds (0 = no warm gate), got {raw!r}") from None
    if value < 0:
        raise ValueError(f"{KEEP_ENV} must be >= 0 seconds, got {raw!r}")
    return value


def renew_mb() -> float:
    """How far past its size when ready a server may grow before it renews itself (``POLICY_GATE_RENEW_MB``; 0 =
    never)."""
    raw = os.environ.get(RENEW_ENV, "").strip()
    try:
        value = float(raw) if raw else DEFAULT_RENEW_MB
    except ValueError:
        raise ValueError(f"{RENEW_ENV} must be a number of MB (0 = never renew), got {raw!r}") from None
    if value < 0:
        raise ValueError(f"{RENEW_ENV} must be >= 0 MB, got {raw!r}")
    return value


def rss_mb() -> float | None:
    """This process's resident memory in MB (None where /proc is not there)."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return None


def warm_key(build_code: str) -> str:
    """The code a server judges with: the build fingerprint, the interpreter, the package's folder, GX's version."""
    from importlib.metadata import version

    parts = (build_code, sys.executable, str(ROOT), version("great_expectations"))
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


class Folder:
    """The paths of a staging folder's warm gate."""

    def __init__(self, staging: Path):
        self.root = Path(staging) / WARM_DIR
        self.sock, self.pid, self.key = self.root / "gate.sock", self.root / "gate.pid", self.root / "gate.key"
        self.log, self.spawn_lock, self.use_lock = self.root / "gate.log", self.root / "spawn.lock", self.root / "use.lock"
        self.candidates = candidate_dir(self.root)

    def make(self) -> Folder:
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        return self

    def read(self, path: Path) -> str:
        try:
            return path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return ""

    def server_pid(self) -> int | None:
        """The pid in gate.pid when that process is a warm gate server still running; else None."""
        try:
            pid = int(self.read(self.pid))
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (ValueError, OSError):
            return None
        return pid if MODULE.encode() in cmdline and str(self.root).encode() in cmdline else None


@contextmanager
def _flock(path: Path) -> Iterator[None]:
    """Hold an exclusive flock on ``path`` (waiting for it)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def stop_server(staging: Path, *, wait_s: float = 5.0) -> int | None:
    """Stop the warm gate of a staging folder; return its pid, or None when none was running."""
    folder = Folder(staging)
    if not folder.root.is_dir():
        return None
    with _flock(folder.spawn_lock):
        return _stop(folder, wait_s)


def _stop(folder: Folder, wait_s: float) -> int | None:
    pid = folder.server_pid()
    for p in (folder.sock, folder.pid, folder.key):
        p.unlink(missing_ok=True)
    if pid is None:
        return None
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return pid
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and is_running(pid):
        time.sleep(0.02)
    return pid


def stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state first), or None when the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    except (OSError, IndexError):
        return None


def is_running(pid: int) -> bool:
    """True while the process runs (one that exited stays a zombie until its parent, or init, reaps it)."""
    fields = stat_fields(pid)
    return fields is not None and fields[0] not in ("Z", "X")


class WarmGateWorker(GateWorker):
    """A GateWorker whose process outlives the refresh: ``start`` connects to the staging folder's server (starting
    one when there is none, or none with this key), ``release`` ends this refresh's session and leaves the server
    warm for the next. Hold it only under the folder's use lock (``warm_gate_worker``)."""

    def __init__(self, folder: Folder, suites: list[Suite], key: str, keep: float, use_fd: int):
        super().__init__(folder.candidates, suites)
        self.folder, self.key, self.keep, self._use_fd = folder, key, keep, use_fd
        self._sock: socket.socket | None = None
        self.spawned: int | None = None  # pid of the server this refresh started (None: it found one warm)

    def start(self) -> WarmGateWorker:
        if self.started:
            return self
        self.snapshot_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._sock = self._connect()
        except OSError as exc:
            self.lost = f"warm gate could not be reached ({exc})"
            return self
        self._out, self._in = self._sock.makefile("wb"), self._sock.makefile("rb")
        self._hello()
        return self

    def _connect(self) -> socket.socket:
        """Connect to the server with this key; start one first when there is none (the old one is stopped)."""
        with _flock(self.folder.spawn_lock):
            if self.folder.read(self.folder.key) == self.key and self.folder.server_pid() is not None:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    sock.connect(str(self.folder.sock))
                    return sock
                except OSError:
                    sock.close()
            _stop(self.folder, wait_s=2.0)
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                listener.bind(str(self.folder.sock))
                os.chmod(self.folder.sock, 0o600)
                listener.listen(8)
                with open(self.folder.log, "wb") as log:  # the last server's log goes with it
                    proc = subprocess.Popen(
                        [sys.executable, "-m", MODULE, str(listener.fileno()), self.key, str(self.keep),
                         str(self.folder.root)],
                        pass_fds=(listener.fileno(),), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                        start_new_session=True, env=child_env())
                self.spawned = proc.pid
                _write(self.folder.pid, str(proc.pid))
                _write(self.folder.key, self.key)
                proc.returncode = 0  # it outlives us by design: no "still running" warning, no reaping
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.connect(str(self.folder.sock))  # queued by the listener until the server accepts it
                return sock
            finally:
                listener.close()

    def release(self) -> None:
        """End this refresh's session: the server goes back to waiting for the next, GX still loaded."""
        if self._sock is not None:
            try:
                self._out.close()
                self._sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def describe(self) -> str:
        """Who judged, for the closing summary: the warm gate, started by this refresh or found running."""
        if not self.started or self.lost:
            return super().describe()
        hello = self.greeting or {}
        if self.spawned:
            return f"warm gate started (pid {self.spawned})"
        if not hello:
            return "warm gate (connected, nothing asked)"
        state = "suites kept" if hello.get("warm") else "suites registered again"
        return f"warm gate (pid {hello.get('pid', '?')}, session {hello.get('session', '?')}, {state})"

    def close(self) -> None:
        """Close the session (the server stays) and give the use lock back."""
        if self._sock is not None:
            self.release()
            for f in (self._in, self._sock):
                try:
                    f.close()
                except OSError:
                    pass
        self._sock, self._out, self._in, self.ready, self.asked = None, None, None, False, False
        if self._use_fd is not None:
            os.close(self._use_fd)
            self._use_fd = None

    def _why(self, what: str) -> str:
        try:
            tail = self.folder.log.read_bytes()[-LOG_TAIL:].decode("utf-8", "replace").strip()
        except OSError:
            tail = ""
        return f"warm gate {what}" + (f": {tail}" if tail else "")


def warm_gate_worker(staging: Path, suites: list[Suite], build_code: str, fallback_dir: Path) -> GateWorker:
    """The worker a refresh judges with: the staging folder's warm gate when ``POLICY_GATE_KEEP`` is above 0, no
    other refresh is using it and its socket's path is short enough to bind; else a worker of its own over
    ``fallback_dir``."""
    keep = keep_seconds()
    renew_mb()  # a bad value is refused here, not by a server that could not start
    if keep <= 0:
        return GateWorker(fallback_dir, suites)
    folder = Folder(staging)
    if len(os.fsencode(folder.sock)) > SOCKET_PATH_MAX:  # AF_UNIX: a longer path cannot be bound
        return GateWorker(fallback_dir, suites)
    folder.make()
    fd = os.open(folder.use_lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return GateWorker(fallback_dir, suites)
    return WarmGateWorker(folder, suites, warm_key(build_code), keep, fd)


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="ascii")
    os.replace(tmp, path)


# --- the server --------------------------------------------------------------------------------------------------

class Server:
    """Accepts one session at a time on the inherited listening socket; keeps the last runner for the next."""

    def __init__(self, listener: socket.socket, key: str, keep: float, folder: Folder):
        self.listener, self.key, self.keep, self.folder = listener, key, keep, folder
        self.runner = None
        self.runner_key: tuple[str, str] | None = None
        self.sessions = 0
        self.renew = renew_mb()
        self.ready_mb: float | None = None  # what the process held when its runner was made

    def serve_forever(self) -> None:
        while True:
            self.listener.settimeout(self.keep)
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                if self._retire():
                    return
                continue
            self.session(conn)
            self._renew_if_grown()

    def _retire(self) -> bool:
        """Idle for ``keep`` seconds: take the socket away (so no refresh connects now), serve who already did, go."""
        with _flock(self.folder.spawn_lock):
            if self.folder.read(self.folder.pid) == str(os.getpid()):
                for p in (self.folder.sock, self.folder.pid, self.folder.key):
                    p.unlink(missing_ok=True)
        self.listener.setblocking(False)
        while True:
            try:
                conn, _ = self.listener.accept()
            except (BlockingIOError, TimeoutError):
                return True
            conn.setblocking(True)
            self.session(conn)

    def _register(self, snapshot_dir: str, suites: list[Suite]):
        """Make the runner of this folder and suites unless it is the one held; return (warm, error)."""
        wanted = (snapshot_dir, suites_digest(suites))
        if wanted == self.runner_key:
            return True, None
        self.runner, self.runner_key = None, None
        runner, error = _start_runner(snapshot_dir, suites)
        if runner is not None:
            self.runner, self.runner_key = runner, wanted
            self.ready_mb = rss_mb()
        return False, error

    def _runner_for(self, snapshot_dir: str, suites: list[Suite]):
        """The runner of the last session when it was over the same folder and suites; else a new one."""
        warm, error = self._register(snapshot_dir, suites)
        if self.runner is None:
            return None, error, None
        self.sessions += 1
        return self.runner, None, {"pid": os.getpid(), "session": self.sessions, "warm": warm}

    def _renew_if_grown(self) -> None:
        """After a session that grew the process more than ``renew`` MB past its size when ready, exec afresh.

        What GX frees of a large session stays in a fragmented heap (trimmed, still 490 MB after judging 1,000
        notices, 605 MB after 10,000, against about 250 MB when ready), and the server would hold it until it
        retires, through the refresh's publish and between refreshes. The new image keeps the pid, the listening
        socket (a refresh that connects meanwhile waits in its queue, as at the first start) and the session count,
        and registers the last suites again before it accepts: the next session finds them kept."""
        held = rss_mb()
        if not self.renew or self.runner is None or self.ready_mb is None or held is None:
            return
        if held - self.ready_mb < self.renew:
            return
        state = self.folder.root / RENEW_FILE  # in the server's own folder (mode 0700), read back and removed at once
        with open(state, "wb") as fh:
            pickle.dump({"snapshot_dir": self.runner_key[0], "suites": self.runner.suites, "sessions": self.sessions},
                        fh)
        print(f"renewing after session {self.sessions}: {held:.0f} MB held, {self.ready_mb:.0f} MB when ready",
              file=sys.stderr, flush=True)
        sys.stdout.flush()
        fd = self.listener.fileno()
        os.set_inheritable(fd, True)
        os.execv(sys.executable, [sys.executable, "-m", MODULE, str(fd), self.key, str(self.keep),
                                  str(self.folder.root), str(state)])

    def resume(self, state: Path) -> None:
        """A renewed server: take the session count and register the suites the last image held."""
        try:
            with open(state, "rb") as fh:
                doc = pickle.load(fh)
            sessions, snapshot_dir, suites = int(doc["sessions"]), doc["snapshot_dir"], doc["suites"]
        except (OSError, EOFError, pickle.UnpicklingError, KeyError, TypeError, ValueError):
            return  # nothing kept: the next session registers its suites
        finally:
            state.unlink(missing_ok=True)
        self.sessions = sessions
        _, error = self._register(snapshot_dir, suites)
        print(f"renewed: {rss_mb() or 0:.0f} MB, " + ("suites registered again" if self.runner else f"{error}"),
              file=sys.stderr, flush=True)

    def session(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(None)
            uid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))[1]
            if uid != os.getuid():
                return  # only the user who started it may use it
            inp, out = conn.makefile("rb"), conn.makefile("wb")
            try:
                serve_session(inp, _sender(out), self._runner_for)
            except (OSError, EOFError, pickle.UnpicklingError):
                return  # the refresh went away mid-session: wait for the next
            finally:
                for f in (inp, out):
                    try:
                        f.close()
                    except OSError:
                        pass
                if self.runner is not None:
                    self.runner.drop_batches()  # a session cut short kept its last batch: idle, hold GX only


def main() -> None:
    fd, key, keep, root = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), Path(sys.argv[4])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C at the refresh's terminal is not for us
    defer_modules()
    import great_expectations  # noqa: F401  (warm before the first session: that is the point)

    listener = socket.socket(fileno=fd)
    server = Server(listener, key, keep, Folder(root.parent))
    if len(sys.argv) > 5:  # renewed (Server._renew_if_grown): the last image's suites
        server.resume(Path(sys.argv[5]))
    server.serve_forever()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # skip tearing GX down


if __name__ == "__main__":
    main()
