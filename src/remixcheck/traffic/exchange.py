"""One request + response pair, with credentials redacted at construction."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import httpx

# Vendors mark key kinds with short lower-case words ("sk-", "sk-proj-", "sk-gateway-");
# anything past them is the secret.
_KEY_KIND = re.compile(r"(?:[a-z]{1,8}-){1,3}")
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "api-key", "x-api-key", "cookie", "set-cookie"}
)
REDACTED = "<redacted>"


def redact_header(name: str, value: str) -> str:
    """Keep the auth scheme (so "is it Bearer?" stays answerable) and drop the secret."""
    if name.lower() not in SECRET_HEADERS:
        return value
    scheme, sep, _ = value.strip().partition(" ")
    if sep and name.lower() in ("authorization", "proxy-authorization"):
        return f"{scheme} {REDACTED}"
    return REDACTED


def normalize_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """Lower-case names, secrets redacted; repeated headers joined as HTTP allows."""
    return normalize_with_auth(headers)[0]


def normalize_with_auth(
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
) -> tuple[dict[str, str], str | None, str | None]:
    """`normalize_headers` and `auth_facts` in one pass, so the raw header is read once
    (a one-shot iterable works too)."""
    scheme = kind = None
    seen = False
    if isinstance(headers, Mapping):
        exact = headers.get("authorization")
        if exact is not None:  # auth_facts reads this one before any other spelling
            scheme, kind = _auth_of(exact)
            seen = True
        items: Iterable[tuple[str, str]] = headers.items()
    else:
        items = headers
    out: dict[str, str] = {}
    for name, value in items:
        key = str(name).lower()
        val = str(value)
        if key in SECRET_HEADERS:  # runs per live exchange: only secrets pay for redaction
            if key == "authorization" and not seen:
                scheme, kind = _auth_of(val)
                seen = True
            val = redact_header(key, val)
        out[key] = f"{out[key]}, {val}" if key in out else val
    return out, scheme, kind


def _auth_of(value: Any) -> tuple[str, str]:
    scheme, _, token = str(value).strip().partition(" ")
    return scheme, key_kind(token.strip())


def key_kind(token: str) -> str:
    """The public, dash-delimited head of a key ("sk-", "sk-gateway-"), never any secret part."""
    match = _KEY_KIND.match(token)
    return match.group(0) if match else ""


def auth_facts(
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
) -> tuple[str | None, str | None]:
    """(scheme, key kind) of the Authorization header, read before redaction."""
    if isinstance(headers, Mapping) and "authorization" in headers:
        headers = {"authorization": headers["authorization"]}
    items = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in items:
        if str(name).lower() == "authorization":
            return _auth_of(value)
    return None, None


def media_type(headers: Mapping[str, str]) -> str | None:
    value = headers.get("content-type")
    if value is None:
        return None
    return value.split(";", 1)[0].strip().lower()


@dataclass(slots=True)
class Request:
    method: str
    url: str
    headers: dict[str, str]
    body: Any = None  # decoded JSON value when body_raw is False, else str/bytes/None
    body_raw: bool = True
    auth_scheme: str | None = None  # scheme of the Authorization header, if any
    key_prefix: str | None = None  # the key's public head (key_kind), never a secret part

    @property
    def path(self) -> str:
        """The raw (still percent-encoded) path of the URL."""
        url = self.url
        # Bulk validation calls this per exchange; urlsplit is the slow path for odd URLs only.
        scheme, sep, rest = url.partition("://")
        if sep and scheme.isalpha():
            _, slash, tail = rest.partition("/")
            path = "/" + tail.split("?", 1)[0].split("#", 1)[0] if slash else "/"
            if "@" not in rest.split("/", 1)[0]:
                return path
        return urlsplit(url).path or "/"


@dataclass(slots=True)
class Response:
    status: int
    headers: dict[str, str]
    body: Any = None
    body_raw: bool = True
    truncated: bool = False  # the body was cut at a size cap before it ended
    elapsed_ms: float | None = None


@dataclass(slots=True)
class Exchange:
    request: Request
    response: Response | None
    source: str = ""  # where it came from: "file.har#12", "live"
    notes: list[str] = field(default_factory=list)

    @classmethod
    def build(
        cls,
        *,
        method: str,
        url: str,
        request_headers: Mapping[str, str] | Iterable[tuple[str, str]],
        request_body: Any,
        request_body_raw: bool,
        status: int | None,
        response_headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        response_body: Any = None,
        response_body_raw: bool = True,
        truncated: bool = False,
        source: str = "",
    ) -> Exchange:
        headers, scheme, prefix = normalize_with_auth(request_headers)
        req = Request(
            method=method.upper(),
            url=url,
            headers=headers,
            body=request_body,
            body_raw=request_body_raw,
            auth_scheme=scheme,
            key_prefix=prefix,
        )
        resp = None
        if status is not None:
            resp = Response(
                status=int(status),
                headers=normalize_headers(response_headers or {}),
                body=response_body,
                body_raw=response_body_raw,
                truncated=truncated,
            )
        return cls(req, resp, source)

    @classmethod
    def from_httpx(
        cls, response: httpx.Response, *, truncated: bool = False, source: str = "live"
    ) -> Exchange:
        """From an httpx response whose body has been read (or cut, with truncated=True)."""
        request = response.request
        # Streamed bodies (multipart files) are only readable once read; read() buffers them.
        content = request.read() if request.stream is not None else b""
        ex = cls.build(
            method=request.method,
            url=str(request.url),
            request_headers=request.headers.multi_items(),
            request_body=content or None,
            request_body_raw=True,
            status=response.status_code,
            response_headers=response.headers.multi_items(),
            response_body=response.content,
            response_body_raw=True,
            truncated=truncated,
            source=source,
        )
        if ex.response is not None:
            ex.response.elapsed_ms = (
                response.elapsed.total_seconds() * 1000 if _has_elapsed(response) else None
            )
        return ex


def exchange_from_response(response: Any, *, source: str = "live") -> Exchange:
    """An Exchange from an httpx or a requests response (told apart by shape, neither imported)."""
    if (
        hasattr(response, "status_code")
        and hasattr(response, "request")
        and hasattr(response, "num_bytes_downloaded")
    ):
        return Exchange.from_httpx(response, source=source)
    prepared = getattr(response, "request", None)
    if prepared is None or not hasattr(response, "status_code"):
        raise TypeError(
            f"expected an httpx.Response or a requests.Response, got {type(response).__name__}"
        )
    body = prepared.body
    if isinstance(body, str):
        body = body.encode("utf-8")
    return Exchange.build(
        method=prepared.method,
        url=prepared.url,
        request_headers=dict(prepared.headers),
        request_body=body if body else None,
        request_body_raw=True,
        status=response.status_code,
        response_headers=dict(response.headers),
        response_body=response.content,
        response_body_raw=True,
        source=source,
    )


def _has_elapsed(response: httpx.Response) -> bool:
    try:
        response.elapsed  # noqa: B018 - httpx raises until the response is closed
    except RuntimeError:
        return False
    return True


def decode_json(body: Any) -> Any:
    """Decode a body the tool built itself; raises ValueError. Untrusted bodies: jsonsafe.loads."""
    if isinstance(body, (bytes, bytearray, memoryview)):
        return json.loads(bytes(body))
    return json.loads(body)
