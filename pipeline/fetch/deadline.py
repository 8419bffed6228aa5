"""A wall-clock deadline per request that covers connect, TLS, headers and body.

httpx's timeouts bound each socket operation, not the request: a server that trickles its headers one
byte a second never trips a 30 s read timeout. Here every socket operation of the connection is given
at most the time left before the request's deadline, and none starts once it has passed, so a request
ends within its deadline plus the time to notice (a few milliseconds), whatever the server does.

The deadline is set per request with ``request_deadline(seconds)`` (a context variable, so the
connection pool can reuse a connection across requests); connections are made by ``DeadlineBackend``,
an httpcore network backend, plugged into the transport by ``deadline_transport()``.
DNS resolution (getaddrinfo) is not interruptible from Python and is not covered.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterable, Iterator

import httpcore
import httpx

_DEADLINE: ContextVar[float | None] = ContextVar("fetch_deadline", default=None)


class DeadlinePassed(httpcore.ReadTimeout):
    """The request's wall-clock deadline passed (httpx maps it to httpx.ReadTimeout)."""


class ConnectDeadlinePassed(httpcore.ConnectTimeout):
    """The request's wall-clock deadline passed while connecting."""


@contextmanager
def request_deadline(seconds: float) -> Iterator[float]:
    """Bound every socket operation made inside the block to end ``seconds`` from now; yield the deadline."""
    deadline = time.monotonic() + seconds
    token = _DEADLINE.set(deadline)
    try:
        yield deadline
    finally:
        _DEADLINE.reset(token)


def deadline_passed(deadline: float) -> bool:
    """Tell whether a deadline from request_deadline() has passed."""
    return time.monotonic() >= deadline


def _time_left(timeout: float | None, error: type[Exception]) -> float | None:
    """Return the socket timeout to use: the operation's own, shortened to the time left before the deadline."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the request's total time limit passed")
    return left if timeout is None else min(timeout, left)


class DeadlineStream(httpcore.NetworkStream):
    """A network stream whose reads, writes and TLS handshake end by the request's deadline."""

    def __init__(self, stream: httpcore.NetworkStream):
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _time_left(timeout, DeadlinePassed))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _time_left(timeout, DeadlinePassed))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return DeadlineStream(self._stream.start_tls(ssl_context, server_hostname,
                                                     _time_left(timeout, ConnectDeadlinePassed)))

    def get_extra_info(self, info: str):
        return self._stream.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's sync backend, with every stream it opens bound by the request's deadline."""

    def __init__(self, inner: httpcore.NetworkBackend | None = None):
        self._inner = inner or httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable | None = None) -> httpcore.NetworkStream:
        timeout = _time_left(timeout, ConnectDeadlinePassed)
        return DeadlineStream(self._inner.connect_tcp(host, port, timeout, local_address, socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable | None = None) -> httpcore.NetworkStream:
        timeout = _time_left(timeout, ConnectDeadlinePassed)
        return DeadlineStream(self._inner.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def deadline_transport() -> httpx.HTTPTransport:
    """Return httpx's transport with its connection pool on DeadlineBackend.

    httpx 0.28 takes no network backend, so the pool it builds is replaced by one built the same way
    (httpx's default SSL context and limits) with ours; pinned httpx==0.28.1 keeps ``_pool`` where it is.
    """
    transport = httpx.HTTPTransport()
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)  # httpx's defaults
    transport._pool.close()
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=DeadlineBackend(),
    )
    return transport
