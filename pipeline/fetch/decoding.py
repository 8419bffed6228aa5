"""Content-Encoding decoded by hand, layer by layer, none allowed to inflate past the size cap.

httpx decodes a whole network chunk at once, so a 7 KB gzip-of-gzip inflates to gigabytes before any
size check sees it. Here the raw bytes are fed through one bounded ``zlib.decompressobj`` per layer
(``Content-Encoding: gzip, gzip`` is two), each asked for at most one byte more than its share of the
cap: producing that byte means the layer is over the cap, and decoding stops there.
"""

from __future__ import annotations

import zlib

# What we ask servers for: only encodings decoded here (brotli and zstd are not installed).
ACCEPT_ENCODING = "gzip, deflate"
_ALIASES = {"x-gzip": "gzip"}


class EncodingRefused(Exception):
    """A Content-Encoding we do not decode, or a layer whose data is corrupt or cut short."""


class LayerTooLarge(Exception):
    """A decoding layer produced more than the cap."""

    def __init__(self, layer: int, layers: int, name: str, cap: int):
        super().__init__(f"body exceeds max_bytes {cap} after decoding {name} layer {layer} of {layers}")


def content_encodings(header: str | None) -> list[str]:
    """Return the encodings of a Content-Encoding header in the order the server applied them."""
    names = [_ALIASES.get(n, n) for n in (p.strip().lower() for p in (header or "").split(",")) if n]
    return [n for n in names if n != "identity"]


class _ZlibLayer:
    """One gzip or deflate layer, decompressing at most ``room + 1`` bytes per call."""

    def __init__(self, name: str):
        self.name = name
        self.produced = 0
        self._raw_deflate = False
        self._d = self._new()

    def _new(self):
        if self.name == "gzip":
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        return zlib.decompressobj(-zlib.MAX_WBITS if self._raw_deflate else zlib.MAX_WBITS)

    def _decompress(self, data: bytes, room: int) -> bytes:
        try:
            return self._d.decompress(data, room + 1)  # max_length 0 would mean "no limit": room + 1 >= 1
        except zlib.error as e:
            if self.name == "deflate" and not self._raw_deflate and self.produced == 0:
                self._raw_deflate = True  # some servers send raw DEFLATE under "deflate" (httpx accepts it too)
                self._d = self._new()
                return self._decompress(data, room)
            raise EncodingRefused(f"corrupt {self.name} data: {e}") from None

    def feed(self, data: bytes, cap: int) -> bytes:
        """Decode the next bytes; raise OverflowError once this layer's output passes cap."""
        out = bytearray()
        while data:
            out += self._decompress(data, cap - self.produced - len(out))
            if self.produced + len(out) > cap or self._d.unconsumed_tail:  # a tail is left only at max_length
                raise OverflowError
            if not self._d.eof:
                break
            data = self._d.unused_data
            if data and self.name == "gzip":
                self._d = self._new()  # gzip allows several members one after another
            elif data.strip(b"\0\r\n "):
                raise EncodingRefused(f"data after the end of the {self.name} stream")
            else:
                break
        self.produced += len(out)
        return bytes(out)

    def finish(self) -> None:
        """Raise unless the layer's stream ended properly."""
        if not self._d.eof:
            raise EncodingRefused(f"{self.name} data ended before the end of its stream")


class BoundedDecoder:
    """Decode a body's Content-Encoding layers as raw bytes arrive, each layer capped at ``cap`` bytes."""

    def __init__(self, header: str | None, cap: int):
        applied = content_encodings(header)
        unknown = sorted({n for n in applied if n not in ("gzip", "deflate")})
        if unknown:
            raise EncodingRefused(f"Content-Encoding {', '.join(unknown)} is not one we decode ({ACCEPT_ENCODING})")
        self.cap = cap
        self._layers = [_ZlibLayer(n) for n in reversed(applied)]  # the last one applied is undone first

    def feed(self, raw: bytes) -> bytes:
        """Return the fully decoded bytes for the next raw chunk; raise LayerTooLarge past the cap."""
        data = raw
        for i, layer in enumerate(self._layers, 1):
            try:
                data = layer.feed(data, self.cap)
            except OverflowError:
                raise LayerTooLarge(i, len(self._layers), layer.name, self.cap) from None
        return data

    def finish(self) -> None:
        """Raise EncodingRefused when a layer's stream was cut short."""
        for layer in self._layers:
            layer.finish()
