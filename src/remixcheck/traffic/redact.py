"""The one redaction layer: a key, and every form a server or a library could turn it into.

Every output path (terminal, results.json, junit.xml, compat.html, fuzz case files, logs,
the text of exceptions) goes through `redact()`. Keys are registered when they are loaded
(`register`), so a path that was never handed the key still cannot print it.

A key is matched verbatim and in the forms it takes when echoed back by a server or quoted
by a library: base64 (standard and URL-safe, at each of the three byte alignments, so the
key is found inside a larger base64 blob too), base85 and Ascii85 (at each of four
alignments) of the key and of "Bearer <key>", hex in
both cases, percent-encoding, JSON and HTML escaping, upper and lower case, reversed, and
any fragment of the secret part of at least `fragment_length()` characters (a key split
across fields), also under rot13, and any piece of its base64, base85 or hex forms that
stands for 12 bytes (what an excerpt cut at a size cap leaves of a form). All forms of all keys are searched in one pass of an
Aho-Corasick automaton, built once per set of keys, because this runs over every response
body. Forms nobody listed are found the other way round (`unwrap`): runs of the text that
decode to something (base64 over several lines, hex with separators, character references,
escapes, nested layers) are decoded and searched with the same automaton.
"""

from __future__ import annotations

import base64
import functools
import html
import json
import logging
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import ahocorasick_rs

from remixcheck.traffic import unwrap
from remixcheck.traffic.exchange import REDACTED, key_kind

# Shorter needles would blot out ordinary words; a key that short is redacted verbatim only.
MIN_NEEDLE = 4
# A fragment this long of a random secret does not occur by chance in a response body.
MIN_FRAGMENT, MAX_FRAGMENT = 8, 12
# Pieces of an encoded form: 16 base64 characters (12 bytes), 12 bytes of hex.
ENCODED_PIECE, HEX_PIECE_BYTES = 16, 12

_REDACTED_BYTES = REDACTED.encode()
_lock = threading.Lock()
_registered: set[str] = set()


def register(secret: str | None) -> None:
    """Remember a key for the rest of the process: every later redaction removes it."""
    if secret:
        with _lock:
            _registered.add(secret)


def registered() -> frozenset[str]:
    with _lock:
        return frozenset(_registered)


def fragment_length(secret: str) -> int | None:
    """How long a piece of the key's secret part must be to be redacted; None: too short to split."""
    part = secret[len(key_kind(secret)) :]
    if len(part) < MIN_FRAGMENT:
        return None
    return max(MIN_FRAGMENT, min(MAX_FRAGMENT, len(part) // 3))


def _base64_cores(raw: bytes) -> set[str]:
    """The base64 characters that depend only on `raw`, at each alignment inside a larger blob."""
    out = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode("ascii")
        # Character c holds bits [6c, 6c+6); keep those that lie wholly inside raw's bytes.
        first = -(-8 * offset // 6)
        last = 8 * (offset + len(raw)) // 6
        core = encoded[first:last]
        out.add(core)
        out.add(core.replace("+", "-").replace("/", "_"))
    out |= {
        base64.b64encode(raw).decode("ascii"),
        base64.urlsafe_b64encode(raw).decode("ascii"),
    }
    return out


def _base85_cores(raw: bytes) -> set[str]:
    """The base85 and Ascii85 characters that depend only on `raw`, at each alignment inside a
    larger blob: five characters stand for a group of four bytes, so whole groups only."""
    out = set()
    for encode in (base64.b85encode, base64.a85encode):
        for offset in range(4):
            encoded = encode(b"\1" * offset + raw).decode("ascii")
            first, last = -(-offset // 4), (offset + len(raw)) // 4
            out.add(encoded[5 * first : 5 * last])
    return out


def derived_forms(secret: str) -> set[str]:
    """Every whole form of the key this layer removes (fragments not included)."""
    forms: set[str] = set()
    for text in (secret, f"Bearer {secret}"):
        raw = text.encode("utf-8", "surrogatepass")
        forms |= _base64_cores(raw) | _base85_cores(raw)
        forms |= {raw.hex(), raw.hex().upper()}
        forms |= {"".join(f"%{b:02X}" for b in raw), "".join(f"%{b:02x}" for b in raw)}
    forms |= {
        secret,
        secret.upper(),
        secret.lower(),
        secret[::-1],
        quote(secret, safe=""),
        quote(secret, safe="").lower(),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        json.dumps(secret)[1:-1].replace("/", "\\/"),
        "".join(f"\\u{ord(c):04x}" for c in secret),
        "".join(f"\\u{ord(c):04X}" for c in secret),
        html.escape(secret),
        html.escape(secret, quote=False),
        secret.replace("&", "&amp;").replace("'", "&#39;").replace('"', "&#34;"),
    }
    return {f for f in forms if len(f) >= MIN_NEEDLE}


def _encoded_pieces(secret: str) -> set[str]:
    """Every piece of the key's base64, base85 and hex forms that stands for about 12 bytes:
    an excerpt cut at a size cap can end inside one, and what is left must go too."""
    pieces: set[str] = set()
    for text in (secret, f"Bearer {secret}"):
        raw = text.encode("utf-8", "surrogatepass")
        for forms, size in (
            (_base64_cores(raw) | _base85_cores(raw), ENCODED_PIECE),
            ({raw.hex(), raw.hex().upper()}, 2 * HEX_PIECE_BYTES),
        ):
            for form in forms:
                pieces |= {form[i : i + size] for i in range(len(form) - size + 1)}
    return pieces


def _needles(secret: str) -> set[str]:
    if len(secret) < MIN_NEEDLE:
        return set()
    needles = derived_forms(secret)
    if fragment_length(secret) is not None:
        needles |= _encoded_pieces(secret)
    size = fragment_length(secret)
    if size is not None:
        part = secret[len(key_kind(secret)) :]
        for text in (part, part[::-1]):
            needles |= {text[i : i + size] for i in range(len(text) - size + 1)}
    return needles


class Redactor:
    """Removes a fixed set of keys, in every derived form, from text and JSON-like values."""

    def __init__(self, secrets: Iterable[str]) -> None:
        needles: set[str] = set()
        for secret in secrets:
            if secret:
                needles |= _needles(secret)
        # Bytes, not str: the str automaton maps every offset back to characters, which
        # costs twice the search itself on a large body. UTF-8 keeps matches on boundaries.
        self._automaton = (
            ahocorasick_rs.BytesAhoCorasick(
                [n.encode("utf-8", "surrogatepass") for n in sorted(needles)],
                matchkind=ahocorasick_rs.MatchKind.Standard,
            )
            if needles
            else None
        )

    def text(self, text: str) -> str:
        if self._automaton is None or not text:
            return text
        raw = text.encode("utf-8", "surrogatepass")
        # rot13 moves ASCII letters only, so its matches are at the same byte offsets.
        rotated = unwrap.rot13(text).encode("utf-8", "surrogatepass")
        spans = [
            (start, end)
            for source in (raw, rotated)
            for _, start, end in self._automaton.find_matches_as_indexes(source, overlapping=True)
        ]
        if spans:
            raw = _blot(raw, spans)
            text = raw.decode("utf-8", "surrogatepass")
        # What no listed form caught: runs that decode (base64 wrapped, hex with separators,
        # entities, escapes, ...) to something holding the key go whole.
        decoded = [
            (
                len(text[:start].encode("utf-8", "surrogatepass")),
                len(text[:end].encode("utf-8", "surrogatepass")),
            )
            for start, end, decodings in unwrap.runs(text)
            if any(self._automaton.find_matches_as_indexes(d) for d in decodings)
        ]
        if decoded:
            text = _blot(raw, decoded).decode("utf-8", "surrogatepass")
        return text

    def value(self, value: Any) -> Any:
        """A copy of a JSON-like value with every string (keys of objects too) redacted."""
        if self._automaton is None:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.value(k): self.value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(v) for v in value]
        return value


def _blot(raw: bytes, found: list[tuple[int, int]]) -> bytes:
    """`raw` with each span replaced by the redaction mark; overlapping spans merge, so a key
    split into fragments goes as one piece."""
    spans: list[list[int]] = []
    for start, end in sorted(found):
        if spans and start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    out, pos = [], 0
    for start, end in spans:
        out += [raw[pos:start], _REDACTED_BYTES]
        pos = end
    out.append(raw[pos:])
    return b"".join(out)


@functools.lru_cache(maxsize=32)
def _redactor(secrets: frozenset[str]) -> Redactor:
    return Redactor(secrets)


def redactor(secrets: Iterable[str | None] = ()) -> Redactor:
    """The redactor of these keys and every registered one (built once per set)."""
    return _redactor(registered() | {s for s in secrets if s})


def redact(value: Any, secrets: Iterable[str | None] = ()) -> Any:
    """`value` (text or JSON-like) without any form of these keys or of any registered key."""
    return redactor(secrets).value(value)


class LogFilter(logging.Filter):
    """Redacts log records on their way to a handler (messages of libraries included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if registered():
            record.msg = redact(record.getMessage())
            record.args = None
        return True


def install_log_filter() -> None:
    """Put the filter on the handlers that print: the root logger's and the last-resort one."""
    handlers = [*logging.getLogger().handlers]
    if logging.lastResort is not None:
        handlers.append(logging.lastResort)
    for handler in handlers:
        if not any(isinstance(f, LogFilter) for f in handler.filters):
            handler.addFilter(LogFilter())
