"""Content-Encoding decoding where every layer counts against the body cap, in decoded bytes.

httpx decodes each layer in one call, so `Content-Encoding: gzip, gzip` of 1.8 KB on the
wire becomes gigabytes before any cap can look at it. Here each layer is a zlib
decompressor asked for at most the cap (+1, to tell "exactly the cap" from "more"), so no
layer ever holds more than the cap, whatever the ratio.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

_WBITS = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}


class _Layer:
    def __init__(self, name: str) -> None:
        self.name = name
        self._raw_deflate_tried = False
        self._d = zlib.decompressobj(_WBITS[name])

    def feed(self, data: bytes, room: int) -> tuple[bytes, bool]:
        """Decode `data`, at most `room` bytes of output; True when output was left behind."""
        try:
            out = self._d.decompress(data, room)
        except zlib.error:
            if self.name != "deflate" or self._raw_deflate_tried:
                raise
            # "deflate" servers send raw DEFLATE as often as zlib-wrapped (httpx does the same).
            self._raw_deflate_tried = True
            self._d = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._d.decompress(data, room)
        return out, bool(self._d.unconsumed_tail)

    def finish(self, room: int) -> tuple[bytes, bool]:
        if self._d.unconsumed_tail:
            return b"", True
        out = self._d.flush()
        return out[:room], len(out) > room


@dataclass(slots=True)
class Decoded:
    body: bytes = b""
    truncated: bool = False
    notes: list[str] = field(default_factory=list)


class BodyDecoder:
    """Feed raw wire chunks; `done()` gives the decoded body, cut at `limit` bytes per layer."""

    def __init__(self, content_encoding: str | None, limit: int) -> None:
        self.limit = limit
        names = [n.strip().lower() for n in (content_encoding or "").split(",") if n.strip()]
        # Listed in the order applied, so decoded last to first.
        names = [n for n in reversed(names) if n != "identity"]
        self.unknown = [n for n in names if n not in _WBITS]
        # An encoding we cannot decode leaves the whole body as it came (and says so).
        self._layers = [] if self.unknown else [_Layer(n) for n in names]
        self._sizes = [0] * len(self._layers)
        self._chunks: list[bytes] = []
        self._size = 0
        self.truncated = False
        self.error = ""

    @property
    def full(self) -> bool:
        return self.truncated or bool(self.error)

    def feed(self, chunk: bytes) -> None:
        if not self.full:
            self._push(chunk, 0)

    def _push(self, data: bytes, first: int) -> None:
        """Decode `data` through the layers from `first` on and keep what comes out."""
        for i in range(first, len(self._layers)):
            room = self.limit + 1 - self._sizes[i]
            if room <= 0:  # zlib reads a max_length of 0 as "no limit"
                self.truncated = True
                return
            try:
                data, left_over = self._layers[i].feed(data, room)
            except zlib.error as exc:
                self.error = f"{self._layers[i].name}: {exc}"
                return
            self._sizes[i] += len(data)
            if left_over or self._sizes[i] > self.limit:
                self.truncated = True
        self._keep(data)

    def _keep(self, data: bytes) -> None:
        room = self.limit - self._size
        if len(data) > room:
            data = data[: max(room, 0)]
            self.truncated = True
        self._chunks.append(data)
        self._size += len(data)

    def done(self) -> Decoded:
        notes = []
        if self.unknown:
            notes.append(
                f"Content-Encoding {', '.join(self.unknown)} not decoded: body kept as sent"
            )
        for i, layer in enumerate(self._layers):
            if self.full:
                break
            tail, over = layer.finish(self.limit + 1 - self._sizes[i])
            self._sizes[i] += len(tail)
            self.truncated |= over
            if tail:
                self._push(tail, i + 1)
        if self.error:
            notes.append(f"body could not be decoded ({self.error}): kept what decoded")
        if self.truncated:
            notes.append(f"body cut at --max-body-bytes {self.limit} (decoded bytes, every layer)")
        return Decoded(b"".join(self._chunks), self.truncated, notes)
