"""One decoder for untrusted JSON: every way a body can be hostile comes back as data.

A server under test may send invalid UTF-8, lone surrogates ("\\ud800"), NaN or Infinity,
duplicate keys or 10,000-deep nesting. The standard library accepts most of these silently
(and a lone surrogate later crashes whoever writes the value as UTF-8), or raises
RecursionError. `loads` never raises: it returns the value it could decode, made safe to
use (surrogates replaced by U+FFFD, non-finite numbers by null, last duplicate wins), and
one `Problem` per thing that is not RFC 8259 JSON.

A body goes first to msgspec's decoder, about four times faster than the standard library's
here: it refuses every problem above but duplicate keys, which comparing the colons of the
text with those of the value encoded again rules out. Whatever it refuses, or may hide a duplicate, takes
the careful path: the standard library's C decoder with two hooks, whose extra work (a walk of
the decoded value) runs only when a cheap byte-level test says a problem is possible.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

import msgspec

DEFAULT_MAX_DEPTH = 100  # a Video nests 3 deep; generous for gateways, far from any stack limit

# Problem kinds. FATAL kinds leave no value; the others come with a usable, sanitized value.
SYNTAX = "syntax"
DEPTH = "depth"
UTF8 = "utf-8"
SURROGATE = "lone-surrogate"
NON_FINITE = "non-finite-number"
DUPLICATE_KEY = "duplicate-key"
FATAL = frozenset({SYNTAX, DEPTH})

# A lone surrogate can only come from a \uD800-\uDFFF escape (raw surrogate bytes are invalid
# UTF-8, caught before parsing), so text without one needs no walk for it.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_FAST = msgspec.json.Decoder()
_ENCODE = msgspec.json.Encoder().encode
NOT_CLEAN = object()


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str
    message: str
    pointer: str = ""  # JSON pointer into the value, "" for the whole document

    @property
    def fatal(self) -> bool:
        return self.kind in FATAL


@dataclass(slots=True)  # not frozen: its __init__ would cost a fifth of a small body's parse
class Decoded:
    value: Any  # None when nothing could be decoded (see ok)
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether a value was decoded (it may still come with non-fatal problems)."""
        return not any(p.fatal for p in self.problems)

    @property
    def clean(self) -> bool:
        return not self.problems


class _Dup(dict):  # type: ignore[type-arg]
    """An object that had duplicate keys; the names ride along until the walk reports them."""

    __slots__ = ("dups",)
    dups: list[str]


class _NonFinite:
    __slots__ = ("literal",)

    def __init__(self, literal: str) -> None:
        self.literal = literal


class _Hooks:
    """Per-call state of the decoder hooks: whether the value needs the fix-up walk."""

    __slots__ = ("decoder", "flagged")

    def __init__(self) -> None:
        self.flagged = False
        self.decoder = json.JSONDecoder(
            object_pairs_hook=self.pairs, parse_constant=self.constant, parse_float=self.number
        )

    def pairs(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) == len(pairs):
            return obj
        dup = _Dup(obj)
        dup.dups = sorted(k for k, n in Counter(k for k, _ in pairs).items() if n > 1)
        self.flagged = True
        return dup

    def constant(self, literal: str) -> _NonFinite:
        self.flagged = True
        return _NonFinite(literal)

    def number(self, literal: str) -> Any:
        value = float(literal)
        if math.isfinite(value):
            return value
        self.flagged = True  # 1e999 overflows to inf: not a number JSON can carry
        return _NonFinite(literal)


_local = threading.local()


def _hooks() -> _Hooks:
    """This thread's decoder: building one per call would cost as much as a small body's parse."""
    hooks: _Hooks | None = getattr(_local, "hooks", None)
    if hooks is None:
        hooks = _local.hooks = _Hooks()
    return hooks


def loads(
    data: bytes | bytearray | memoryview | str,
    *,
    max_depth: int = DEFAULT_MAX_DEPTH,
    duplicates: bool = True,
) -> Decoded:
    """Decode untrusted JSON; never raises. See the module docstring.

    duplicates=False is for callers that read only the value and fatal problems (a record of
    a capture): a duplicate key may then go unreported, which saves counting the keys.
    """
    fast = clean(data, max_depth, duplicates)
    return Decoded(fast) if fast is not NOT_CLEAN else careful(data, max_depth=max_depth)


def careful(
    data: bytes | bytearray | memoryview | str, *, max_depth: int = DEFAULT_MAX_DEPTH
) -> Decoded:
    """`loads` without the fast path: what it must agree with on every input."""
    problems: list[Problem] = []
    if isinstance(data, str):
        text = data
        # Text handed in (not bytes) may carry raw surrogates that no escape announces.
        raw_surrogates = not text.isascii() and _SURROGATE.search(text) is not None
    else:
        raw = bytes(data)
        raw_surrogates = False
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(
                Problem(UTF8, f"invalid UTF-8 at byte {exc.start} (0x{raw[exc.start]:02x})")
            )
            text = raw.decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        return Decoded(None, (*problems, Problem(SYNTAX, "body starts with a byte order mark")))
    hooks = _hooks()
    hooks.flagged = False
    try:
        value = hooks.decoder.decode(text)
    except RecursionError:
        return Decoded(None, (*problems, _too_deep(max_depth)))
    except ValueError as exc:  # JSONDecodeError, and ints past Python's digit limit
        return Decoded(None, (*problems, Problem(SYNTAX, str(exc).splitlines()[0][:200])))
    # Fewer brackets than the limit means no path can be deeper: most bodies stop here.
    may_be_deep = text.count("[") + text.count("{") > max_depth
    if hooks.flagged or may_be_deep or raw_surrogates or _SURROGATE_ESCAPE.search(text):
        try:
            value = _fix(value, max_depth, problems)
        except _TooDeep:
            return Decoded(None, (*problems, _too_deep(max_depth)))
    return Decoded(value, tuple(problems))


def clean(
    data: bytes | bytearray | memoryview | str,
    max_depth: int = DEFAULT_MAX_DEPTH,
    duplicates: bool = True,
) -> Any:
    """The value when the body is clean JSON that msgspec reads at once and no duplicate key
    can hide in it, else NOT_CLEAN (then `loads` says what is wrong). For a caller on a hot
    path: no Decoded is built.

    msgspec refuses invalid UTF-8, a BOM, lone surrogates, NaN, Infinity and numbers that
    overflow to one; nesting is kept below max_depth by counting brackets first.
    """
    if type(data) is bytes:
        opens = data.count(b"{")
        if opens + data.count(b"[") > max_depth:
            return NOT_CLEAN
        colon = b":"
    elif isinstance(data, str):
        opens = data.count("{")
        if opens + data.count("[") > max_depth:
            return NOT_CLEAN
        colon = ":"  # type: ignore[assignment]
    else:
        return clean(bytes(data), max_depth, duplicates)
    try:
        value = _FAST.decode(data)
    except (msgspec.DecodeError, ValueError, RecursionError, UnicodeError):
        return NOT_CLEAN
    if not opens or not duplicates:
        return value
    colons = data.count(colon)  # type: ignore[arg-type]
    if opens == 1 and type(value) is dict and colons == len(value):
        return value  # one object whose every colon is a key's: none was written twice
    # Encoded again, the value has one colon per key kept and the colons of its strings;
    # the text had one per key written and the same strings, plus those of any value a
    # duplicate dropped. So the counts are equal exactly when no key was written twice,
    # unless a string spells a colon as an escape (\u003a): that text takes the careful path.
    if (b"\\u003" if isinstance(data, bytes) else "\\u003") in data:  # type: ignore[operator]
        return NOT_CLEAN
    try:
        again = _ENCODE(value).count(b":")
    except (OverflowError, TypeError, ValueError):
        return NOT_CLEAN
    return value if colons == again else NOT_CLEAN


def decode(
    data: bytes | bytearray | memoryview | str, *, max_depth: int = DEFAULT_MAX_DEPTH
) -> Any:
    """The sanitized value, or ValueError naming the first fatal problem (for tool-side input)."""
    result = loads(data, max_depth=max_depth)
    if not result.ok:
        raise ValueError(next(p.message for p in result.problems if p.fatal))
    return result.value


class _TooDeep(Exception):
    pass


def _too_deep(max_depth: int) -> Problem:
    return Problem(DEPTH, f"nested deeper than {max_depth} levels")


def _fix(root: Any, max_depth: int, problems: list[Problem]) -> Any:
    """Replace the hooks' markers and lone surrogates in place, report each, enforce the depth.

    Iterative, so a deep value cannot exhaust the stack of whoever decodes it.
    """
    holder = [root]
    # (container, key in container, pointer, depth of the value at container[key])
    stack: list[tuple[Any, Any, str, int]] = [(holder, 0, "", 0)]
    while stack:
        parent, key, pointer, depth = stack.pop()
        value = parent[key]
        if isinstance(value, str):
            if not value.isascii() and _SURROGATE.search(value):
                problems.append(
                    Problem(
                        SURROGATE, "string holds a lone surrogate (not encodable as UTF-8)", pointer
                    )
                )
                parent[key] = _SURROGATE.sub("\ufffd", value)
        elif isinstance(value, dict):
            if depth >= max_depth:
                raise _TooDeep
            if isinstance(value, _Dup):
                for name in value.dups:
                    problems.append(
                        Problem(
                            DUPLICATE_KEY,
                            f"duplicate key {json.dumps(name)[:80]} (the last one is kept)",
                            pointer,
                        )
                    )
            if any(not k.isascii() and _SURROGATE.search(k) for k in value):
                problems.append(
                    Problem(
                        SURROGATE, "a key holds a lone surrogate (not encodable as UTF-8)", pointer
                    )
                )
                value = {_SURROGATE.sub("\ufffd", k): v for k, v in value.items()}
            elif isinstance(value, _Dup):
                value = dict(value)
            parent[key] = value
            for name, item in value.items():
                if isinstance(item, (str, dict, list, _NonFinite)):
                    stack.append((value, name, f"{pointer}/{_escape(name)}", depth + 1))
        elif isinstance(value, list):
            if depth >= max_depth:
                raise _TooDeep
            for index, item in enumerate(value):
                if isinstance(item, (str, dict, list, _NonFinite)):
                    stack.append((value, index, f"{pointer}/{index}", depth + 1))
        elif isinstance(value, _NonFinite):
            problems.append(
                Problem(
                    NON_FINITE, f"{value.literal[:40]} is not a JSON number (read as null)", pointer
                )
            )
            parent[key] = None
    problems.sort(key=lambda p: (p.kind, p.pointer))
    return holder[0]


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")
