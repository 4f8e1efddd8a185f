"""Runs of text that are an encoding of something else, and what each decodes to.

A server can echo a key in more forms than anyone can list: base64 wrapped at 76 columns or
reversed, base32, hex with separators or of UTF-16 text, HTML character references,
backslash escapes, one character per space, rot13, base64 inside base64, zlib inside base64. Listing forms of the key
(redact.derived_forms) finds the common ones fast; this module covers the rest the other way
round: it finds runs that look encoded, decodes them (a bounded amount), and lets the
redaction layer search the decoded bytes for the key. A run whose decoding holds the key is
removed whole.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import contextlib
import html
import re
import zlib
from collections.abc import Iterator

# A run must decode to at least this many bytes to be worth decoding (a key fragment is 8+).
MIN_DECODED = 8
# Decoding stops here: a run of a large body is decoded only in its first part.
MAX_DECODED = 64 * 1024
# How many encoding layers are peeled off one run (base64 in base64, zlib in base64).
MAX_LAYERS = 3

# Each pattern starts with a literal where it can: the regex engine then skips ahead to it.
_ENTITY = r"&#(?:[0-9]{1,7}|[xX][0-9a-fA-F]{1,6});?"
_ENTITIES = re.compile(_ENTITY + "(?:" + _ENTITY + "){7,}")
# One backslash or several: a body's JSON text doubles each one.
_ESCAPE = r"\\+(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3})"
_ESCAPES = re.compile(_ESCAPE + "(?:" + _ESCAPE + "){7,}")
_SEPARATED_HEX = re.compile(r"[0-9a-fA-F]{2}(?:(?:[:\s,.-]|\\x|0x|%)[0-9a-fA-F]{2}){7,}")
_SPACED = re.compile(r"(?:[!-~][ ._,|:-]){8,}[!-~]")
# Base64 (standard or URL-safe) or base32 or plain hex, possibly wrapped over lines.
_BLOB = re.compile(r"[A-Za-z0-9+/_=-]{12,}(?:(?:\\[rn]|\s)+[A-Za-z0-9+/_=-]{4,})*")
_WRAP = re.compile(r"(?:\\[rn]|\s)+")


def runs(text: str) -> Iterator[tuple[int, int, list[bytes]]]:
    """(start, end, decodings) of each run of `text` that decodes to something."""
    for pattern, decode in (
        (_ENTITIES, _entities),
        (_ESCAPES, _escapes),
        (_SEPARATED_HEX, _separated_hex),
        (_SPACED, _spaced),
        (_BLOB, _blob),
    ):
        for match in pattern.finditer(text):
            decoded = [d for d in decode(match.group()) if len(d) >= MIN_DECODED]
            if decoded:
                yield match.start(), match.end(), _peeled(decoded)


def rot13(text: str) -> str:
    """The text under rot13 (letters only move, so offsets stay those of the text)."""
    return codecs.encode(text, "rot13")


def _peeled(decoded: list[bytes]) -> list[bytes]:
    """The decodings and, layer by layer, what they decode to in turn."""
    out, layer = list(decoded), decoded
    for _ in range(MAX_LAYERS - 1):
        inner: list[bytes] = []
        for data in layer:
            inner += _inflated(data)
            text = data.decode("ascii", "ignore")
            if len(text) == len(data):
                inner += [d for d in _blob(text) if len(d) >= MIN_DECODED]
        if not inner:
            break
        out += inner
        layer = inner
    return out


def _inflated(data: bytes) -> list[bytes]:
    # zlib and gzip streams only (their headers say so); raw deflate would accept any noise.
    if data[:1] == b"\x78":
        wbits = zlib.MAX_WBITS
    elif data[:2] == b"\x1f\x8b":
        wbits = zlib.MAX_WBITS | 16
    else:
        return []
    try:
        return [zlib.decompressobj(wbits).decompress(data, MAX_DECODED)]
    except zlib.error:
        return []


def _entities(run: str) -> list[bytes]:
    return [html.unescape(run).encode("utf-8", "surrogatepass")]


def _escapes(run: str) -> list[bytes]:
    try:
        single = re.sub(r"\\+", r"\\", run)
        return [codecs.decode(single, "unicode_escape").encode("utf-8", "surrogatepass")]
    except (UnicodeDecodeError, ValueError):
        return []


def _separated_hex(run: str) -> list[bytes]:
    digits = re.sub(r"\\x|0x|[^0-9a-fA-F]", "", run)
    return _hex(digits)


def _hex(digits: str) -> list[bytes]:
    digits = digits[: 2 * MAX_DECODED]
    out = []
    for start in (0, 1):
        chunk = digits[start:]
        chunk = chunk[: len(chunk) // 2 * 2]
        try:
            raw = bytes.fromhex(chunk)
        except ValueError:
            continue
        out += [raw, raw.replace(b"\x00", b"")]  # UTF-16 text in hex: drop the zero bytes
    return out


def _spaced(run: str) -> list[bytes]:
    return [run[::2].encode("utf-8", "surrogatepass")]


def _blob(run: str) -> list[bytes]:
    text = _WRAP.sub("", run)[: MAX_DECODED * 2]
    out: list[bytes] = []
    if re.fullmatch(r"[0-9a-fA-F]+", text):
        out += _hex(text)
    # A run starts where its blob starts (the pattern takes maximal runs), so one alignment
    # does; the alphabet is the one the run's characters allow.
    alphabet = b"-_" if "-" in text or "_" in text else None
    for candidate in (text, text[::-1]):
        core = candidate.strip("=")
        with contextlib.suppress(binascii.Error, ValueError):
            out.append(
                base64.b64decode(core[: len(core) // 4 * 4], altchars=alphabet, validate=True)
            )
        upper = core.upper()
        if re.fullmatch(r"[A-Z2-7]+", upper):
            for start in range(8):
                part = upper[start:]
                part = part[: len(part) // 8 * 8]
                with contextlib.suppress(binascii.Error, ValueError):
                    out.append(base64.b32decode(part))
    return out
