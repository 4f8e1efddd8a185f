"""The parts of a HAR 1.2 entry that remixcheck reads, as msgspec types.

Decoding an entry into these types checks every part's JSON type in C and skips what is
not read (timings, cookies, cache), so the common entry costs a fraction of a dict walk.
An entry these types refuse is read again as plain JSON by `recordings`, which says what is
wrong with it in the recording's terms.
"""

from __future__ import annotations

import msgspec


class Header(msgspec.Struct):
    name: str
    value: str


class Param(msgspec.Struct):
    name: str
    value: str = ""


class PostData(msgspec.Struct):
    text: str | None = None
    params: list[Param] | None = None


class Request(msgspec.Struct):
    method: str
    url: str
    headers: list[Header] = []
    postData: PostData | None = None  # HAR spells it so


class Content(msgspec.Struct):
    text: str | None = None
    encoding: str | None = None


class Response(msgspec.Struct):
    status: int = 0
    headers: list[Header] = []
    content: Content | None = None


class Entry(msgspec.Struct):
    request: Request
    response: Response | None = None


DECODER = msgspec.json.Decoder(Entry)
