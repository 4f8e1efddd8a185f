"""--record: the judged exchanges as JSON lines, redacted, in the form `remixcheck validate` reads."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from remixcheck.errors import InputError
from remixcheck.proxy.forward import Captured, forwardable
from remixcheck.results.model import scrub
from remixcheck.traffic.exchange import REDACTED, auth_facts, normalize_headers

# The body is kept with its content-encoding undone, so these would describe other bytes.
_DESCRIBE_WIRE_BYTES = ("content-encoding", "content-length", "transfer-encoding")


class Recorder:
    """Appends one line per exchange and flushes it, so a proxy that is killed keeps what it saw."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fh: IO[str] = path.open("w", encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{path}: cannot write the recording: {exc.strerror or exc}") from None

    def write(
        self, captured: Captured, body: bytes, truncated: bool, secrets: Iterable[str]
    ) -> None:
        """One exchange: headers redacted (secret headers keep only their scheme), every key a
        client sent scrubbed wherever it appears, bodies as text."""
        response: dict[str, Any] = {
            "status": captured.status,
            "headers": {
                k: v
                for k, v in normalize_headers(captured.response_headers).items()
                if k not in _DESCRIBE_WIRE_BYTES
            },
            "body": as_text(body),
        }
        if truncated:
            response["truncated"] = True
        record = {
            "request": {
                "method": captured.method,
                "url": captured.url,
                "headers": _request_headers(captured.request_headers),
                "body": as_text(captured.request_body),
            },
            "response": response,
        }
        self._fh.write(json.dumps(scrub(record, secrets), ensure_ascii=False) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


def as_text(body: bytes | None) -> str | None:
    """A body as recordings keep it: text, byte for byte where it is UTF-8.

    Kept as text rather than parsed JSON, so `validate` and a cassette see exactly the
    bytes that went by (duplicate keys, 50.0 vs 50, even malformed JSON). Bytes that are
    not UTF-8 (a binary file part of a multipart upload) become U+FFFD.
    """
    return None if body is None else body.decode("utf-8", "replace")


def _request_headers(raw: list[tuple[str, str]]) -> dict[str, str]:
    """As the upstream got them (no hop-by-hop headers, no proxy Host), redacted. Authorization
    keeps the key's public kind ("Bearer sk-<redacted>"), so `validate` can still check it."""
    headers = normalize_headers(forwardable(raw).items())
    scheme, kind = auth_facts(raw)
    if scheme is not None and "authorization" in headers:
        headers["authorization"] = f"{scheme} {kind or ''}{REDACTED}"
    return headers
