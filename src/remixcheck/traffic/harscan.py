"""The entries of a HAR file, streamed: each one decoded by msgspec or the C scanner.

A HAR is one JSON object, so a JSON-lines reader does not apply, and loading it whole would
make memory grow with the capture. A streaming parser that hands every token to Python (ijson's
events) costs more than validating the entry; ijson's C `items` builds a dotted path at every
level, which makes a 100,000-deep document quadratic. So this reader walks the two outer
levels itself (`{"log": {"entries": [`), over text read in chunks, and decodes each entry
with msgspec where its end can be proved (`Entries._entry`), with the standard library's
`JSONDecoder.raw_decode` otherwise. The C scanner bounds nesting by raising RecursionError,
in linear time.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

import msgspec

from remixcheck.traffic import jsonsafe

CHUNK = 1 << 20
_BLANK = re.compile(r"[ \t\r\n]*")
# A surrogate escape may be a lone one, which the decoder keeps as is: such entries are
# decoded again by jsonsafe, which replaces it.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _int(literal: str) -> int | float:
    # An integer past Python's digit limit (4,300) is still JSON: it reads as a float (inf),
    # which a HAR field then refuses, instead of a ValueError that would end the file there.
    try:
        return int(literal)
    except ValueError:
        return float(literal)


_SCANNER = json.JSONDecoder(parse_int=_int)
_MSGSPEC = msgspec.json.Decoder()
_RAW = msgspec.json.Decoder(msgspec.Raw)  # checks a value's JSON, builds nothing
_NOT_JSON = object()
_DEEP = jsonsafe.DEFAULT_MAX_DEPTH  # the nesting any untrusted JSON may have
_DEEP_START = re.compile(r"(?:[\[{][ \t\r\n]*){%d}" % (_DEEP + 1))  # noqa: UP031
_MAX_FIRST_KEYS = 8  # a file whose entries start with ever new keys takes the slow path
# An entry's first key. Entries of one file start with the same key, which inside a string
# would have its quotes escaped: so "}, {<that key>:" outside any string ends an entry.
_FIRST_KEY = re.compile(r'\{[ \t\r\n]*("(?:[^"\\]|\\.)*")[ \t\r\n]*:')
# A decoding error this close to the end of the text may be a value cut by the chunk.
_NEAR_END = 16


class Malformed(Exception):
    """The input is not the JSON a HAR is; the message says where, never quoting the input."""


class TooDeep(Malformed):
    pass


class Text:
    """The input as text, decoded from UTF-8 chunk by chunk, with a read position."""

    def __init__(self, fh: BinaryIO) -> None:
        self._fh = fh
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._read = 0  # bytes read so far, for error positions
        self.buf = ""
        self.pos = 0
        self.eof = False

    def _more(self) -> bool:
        """Read the next chunk (at least as much as is pending, so a long value is read in
        few passes); False at the end of the input."""
        if self.eof:
            return False
        data = self._fh.read(max(CHUNK, len(self.buf) - self.pos))
        try:
            text = self._utf8.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            raise Malformed(f"invalid UTF-8 near byte {self._read + exc.start}") from None
        self._read += len(data)
        self.buf = self.buf[self.pos :] + text
        self.pos = 0
        self.eof = not data
        return True

    def peek(self) -> str:
        """The next character that is not a blank ("" at the end), not consumed."""
        while True:
            self.pos = _BLANK.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._more():
                return ""

    def take(self, expected: str) -> None:
        found = self.peek()
        if found != expected:
            raise Malformed(f"expected {expected!r}, found {_what(found)}")
        self.pos += 1

    def value(self) -> tuple[Any, int, int]:
        """The next JSON value, with its start and end in `buf` (valid until the next read)."""
        self.peek()
        while True:
            start = self.pos
            try:
                value, end = _SCANNER.raw_decode(self.buf, start)
            except json.JSONDecodeError as exc:
                cut = (
                    exc.msg.startswith("Unterminated string")
                    or exc.pos >= len(self.buf) - _NEAR_END
                )
                if cut and self._more():
                    continue
                raise Malformed(exc.msg) from None
            except RecursionError:
                raise TooDeep("nested deeper than the JSON decoder allows") from None
            except ValueError as exc:  # anything else the decoder refuses: never a traceback
                raise Malformed(str(exc).splitlines()[0][:200]) from None
            if end == len(self.buf) and self._more():
                continue  # a number at the end of the text may go on in the next chunk
            self.pos = end
            return value, start, end

    def members(self) -> Iterator[str]:
        """The keys of the object that starts here; the caller reads each key's value."""
        self.take("{")
        if self.peek() == "}":
            self.pos += 1
            return
        while True:
            key, _, _ = self.value()
            if not isinstance(key, str):
                raise Malformed("expected a key (a string)")
            self.take(":")
            yield key
            if self.last("}"):
                return

    def last(self, closing: str) -> bool:
        """After an item: True at the closing bracket, False at a comma (both consumed)."""
        following = self.peek()
        self.pos += 1
        if following == closing:
            return True
        if following != ",":
            raise Malformed(f"expected ',' or {closing!r}, found {_what(following)}")
        return False


def _what(found: str) -> str:
    return "the end of the input" if not found else "another character"


class Entries:
    """The items of log.entries, each with its JSON text when that holds a surrogate escape;
    `found` once the array is open. With `typed`, an entry msgspec reads is decoded into that
    type when it fits (an entry the C scanner reads is always plain JSON). The first `skip`
    entries are only counted: each comes as (None, None), its end found but nothing built."""

    def __init__(
        self, fh: BinaryIO, typed: msgspec.json.Decoder[Any] | None = None, skip: int = 0
    ) -> None:
        self.text = Text(fh)
        self._typed = typed
        self._skip = skip
        self.found = False
        self.top_keys: set[str] = set()
        self._ends: dict[str, re.Pattern[str]] = {}

    def __iter__(self) -> Iterator[tuple[Any, str | None]]:
        text = self.text
        if text.peek() != "{":
            if _DEEP_START.match(text.buf, text.pos):
                raise TooDeep(f"nested deeper than {_DEEP} levels")
            raise Malformed("a HAR is a JSON object")
        for key in text.members():
            self.top_keys.add(key)
            if key != "log" or text.peek() != "{":
                text.value()
                continue
            for name in text.members():
                if name != "entries" or text.peek() != "[":
                    text.value()
                    continue
                self.found = True
                yield from self._array()
                return  # a HAR has one log with one list of entries: the rest is not read

    def _decode(self, entry: str, skipping: bool) -> Any:
        """The entry as the caller's type when it fits, as plain JSON otherwise."""
        try:
            if skipping:
                return _RAW.decode(entry)
            if self._typed is not None:
                try:
                    return self._typed.decode(entry)
                except msgspec.ValidationError:
                    pass  # JSON, but not of the type: the caller says what is wrong
            return _MSGSPEC.decode(entry)
        except (msgspec.DecodeError, ValueError, RecursionError, UnicodeError):
            return _NOT_JSON

    def _array(self) -> Iterator[tuple[Any, str | None]]:
        text = self.text
        text.take("[")
        if text.peek() == "]":
            return
        while True:
            skipping = self._skip > 0
            value, start, end = self._entry(skipping)
            if skipping:
                self._skip -= 1
                yield None, None
            else:
                escaped = _SURROGATE_ESCAPE.search(text.buf, start, end)
                yield value, text.buf[start:end] if escaped else None
            if text.last("]"):
                return

    def _entry(self, skipping: bool = False) -> tuple[Any, int, int]:
        """The next entry, decoded by msgspec where its end can be found: about four times as
        fast as the standard library's scanner here, but it needs the exact text of one value.

        The candidate end is the next "}, {" followed by the key this entry starts with. It is
        the entry's end exactly when the text up to it decodes: cut inside a nested value, the
        text is not JSON. The last entry, one cut by the end of a chunk, and anything msgspec
        refuses (NaN, lone surrogates) are read by the C scanner instead.
        """
        text = self.text
        if text.peek() == "{":
            buf, start = text.buf, text.pos
            first = _FIRST_KEY.match(buf, start)
            if first is not None:
                ends = self._ends.get(first.group(1))
                if ends is None and len(self._ends) < _MAX_FIRST_KEYS:
                    ends = self._ends[first.group(1)] = re.compile(
                        r"\}[ \t\r\n]*,[ \t\r\n]*\{[ \t\r\n]*"
                        + re.escape(first.group(1))
                        + r"[ \t\r\n]*:"
                    )
                match = ends.search(buf, first.end()) if ends is not None else None
                if match is not None:
                    end = match.start() + 1
                    value = self._decode(buf[start:end], skipping)
                    if value is not _NOT_JSON:
                        text.pos = end
                        return value, start, end
        return text.value()
