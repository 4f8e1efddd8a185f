"""The forwarding half of the proxy: each request to the upstream as sent, each answer back as given.

aiohttp on both sides: its server and client parse HTTP in C (llhttp), which keeps the
proxy's own share of a loopback round trip small (bench/bench_proxy.py measures it
against a direct round trip, a pass-through without judging, and Prism). Exchanges of the
contract's operations are captured (bodies up to the size cap) and handed to `on_exchange`
only after the answer has been written, so judging never delays the client. Everything
else (video downloads, other endpoints) is streamed both ways and not captured.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from remixcheck.conformance.transport import TransportSettings
from remixcheck.validation.routing import Route
from remixcheck.validation.validator import Validator

# Meant for one connection only (RFC 9110 7.6.1), so never forwarded; Host is the upstream's.
# Expect is answered here (100 Continue) rather than by the upstream.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "expect",
    }
)
# aiohttp's client adds these when absent; a proxy must not add what the client did not send.
_NO_AUTO_HEADERS = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")
PROXY_HEADER = "x-remixcheck-proxy"
_CHUNK = 65536


@dataclass(slots=True)
class Captured:
    """One exchange as it passed through: raw bytes, for judging and recording after the fact."""

    method: str
    url: str  # as requested of the upstream
    route: Route | None  # the contract operation, None for everything else
    request_headers: list[tuple[str, str]]
    request_body: bytes | None
    request_cut: bool = False  # the request body was larger than the cap: only its head is here
    status: int | None = None
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: bytes = b""
    error: str | None = None  # why there is no upstream answer (the proxy answered itself)
    proxy_status: int | None = None  # what the proxy answered instead (502, 504)
    elapsed_ms: float = 0.0


class UpstreamFailure(Exception):
    """No usable answer from the upstream; the message says why, the status is the proxy's."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class Forwarder:
    """The aiohttp handler: forward, answer, then pass contract exchanges to `on_exchange`."""

    def __init__(
        self,
        upstream: str,
        validator: Validator,
        settings: TransportSettings,
        on_exchange: Callable[[Captured], None],
    ) -> None:
        self.base = upstream.rstrip("/")
        self.validator = validator  # routes requests: remix API exchanges are captured
        self.settings = settings
        self.on_exchange = on_exchange
        self._client: aiohttp.ClientSession | None = None
        # A remix API exchange has a run's deadline: connect, headers and the whole body.
        self._whole = aiohttp.ClientTimeout(
            total=settings.read_timeout, sock_connect=settings.connect_timeout
        )

    async def start(self) -> None:
        """Open the pooled client; inside the event loop that will serve."""
        self._client = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=100, ttl_dns_cache=300),
            # Streamed exchanges (a video download) may take long, but never stall for long.
            timeout=aiohttp.ClientTimeout(
                total=None,
                sock_connect=self.settings.connect_timeout,
                sock_read=self.settings.read_timeout,
            ),
            auto_decompress=False,  # bytes go back exactly as they came
            cookie_jar=aiohttp.DummyCookieJar(),  # one client's cookies never reach another's requests
            skip_auto_headers=_NO_AUTO_HEADERS,
            trust_env=False,
        )

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        if request.headers.get("expect", "").lower() == "100-continue":
            await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        raw_path = request.raw_path
        route = self.validator.route(request.method, raw_path.split("?", 1)[0])
        url = self.base + raw_path
        headers = forwardable(request.headers.items())
        started = time.perf_counter()
        try:
            if route is None:
                return await self._stream(request, url, headers, started)
            return await self._buffered(request, url, headers, route, started)
        except Exception as exc:  # one broken exchange must not stop the proxy
            # Typically the client went away mid-body; noted, and answered if it still listens.
            failure = UpstreamFailure(f"exchange broke off: {_short(exc)}", 502)
            captured = Captured(request.method, url, route, list(request.headers.items()), None)
            captured.error, captured.proxy_status = str(failure), failure.status
            captured.elapsed_ms = (time.perf_counter() - started) * 1000
            self.on_exchange(captured)
            return await _answer_error(request, failure)

    # -- contract operations: bodies kept (up to the cap) for judging -----------------------

    async def _buffered(
        self,
        request: web.BaseRequest,
        url: str,
        headers: CIMultiDict[str],
        route: Route,
        started: float,
    ) -> web.StreamResponse:
        cap = self.settings.max_body_bytes
        head, cut = (
            await _read_capped(request.content, cap, request.content_length)
            if request.body_exists
            else (b"", False)
        )
        captured = Captured(
            request.method,
            url,
            route,
            list(request.headers.items()),
            head if request.body_exists else None,
            cut,
        )
        # A body over the cap goes on streaming: what was read first, then the rest.
        data: Any = (
            _chain(head, request.content) if cut else (head if request.body_exists else None)
        )
        assert self._client is not None
        try:
            try:
                async with self._client.request(
                    request.method,
                    URL(url, encoded=True),
                    headers=headers,
                    data=data,
                    allow_redirects=False,
                    timeout=self._whole,
                ) as upstream:
                    body, over = await _read_capped(upstream.content, cap, upstream.content_length)
                    if over:
                        raise UpstreamFailure(
                            f"upstream answer is larger than --max-body-bytes {cap}", 502
                        )
                    status, reason = upstream.status, upstream.reason
                    response_headers = _decoded(upstream.raw_headers)
            except (aiohttp.ClientPayloadError, asyncio.IncompleteReadError) as exc:
                raise UpstreamFailure(f"upstream answer ended early: {_short(exc)}", 502) from None
            except (aiohttp.ServerTimeoutError, TimeoutError):
                raise UpstreamFailure(
                    f"no answer from the upstream within {self.settings.read_timeout:g} s", 504
                ) from None
            except (aiohttp.ClientError, OSError) as exc:
                raise UpstreamFailure(f"upstream failed: {_short(exc)}", 502) from None
        except UpstreamFailure as failure:
            captured.error, captured.proxy_status = str(failure), failure.status
            captured.elapsed_ms = (time.perf_counter() - started) * 1000
            response = await _answer_error(request, failure)
            self.on_exchange(captured)
            return response
        response = web.Response(
            status=status,
            reason=reason,
            body=body,
            headers=forwardable(response_headers, keep_length=False),
        )
        await response.prepare(request)
        await response.write_eof()
        captured.status = status
        captured.response_headers = response_headers
        captured.response_body = body
        captured.elapsed_ms = (time.perf_counter() - started) * 1000
        self.on_exchange(captured)
        return response

    # -- everything else: streamed both ways, nothing kept ----------------------------------

    async def _stream(
        self, request: web.BaseRequest, url: str, headers: CIMultiDict[str], started: float
    ) -> web.StreamResponse:
        assert self._client is not None
        response: web.StreamResponse | None = None
        failure: UpstreamFailure | None = None
        try:
            async with self._client.request(
                request.method,
                URL(url, encoded=True),
                headers=headers,
                data=request.content if request.body_exists else None,
                allow_redirects=False,
            ) as upstream:
                response = web.StreamResponse(
                    status=upstream.status,
                    reason=upstream.reason,
                    headers=forwardable(_decoded(upstream.raw_headers), keep_length=False),
                )
                if upstream.content_length is not None:
                    response.content_length = upstream.content_length
                await response.prepare(request)
                async for chunk in upstream.content.iter_chunked(_CHUNK):
                    try:
                        await response.write(chunk)
                    except ConnectionError:
                        return response  # the client went away: nothing of the upstream's doing
                await response.write_eof()
                return response
        except (aiohttp.ServerTimeoutError, TimeoutError):
            failure = UpstreamFailure(
                f"no answer from the upstream within {self.settings.read_timeout:g} s", 504
            )
        except (aiohttp.ClientError, OSError) as exc:
            failure = UpstreamFailure(f"upstream failed: {_short(exc)}", 502)
        captured = Captured(request.method, url, None, list(request.headers.items()), None)
        captured.error, captured.proxy_status = str(failure), failure.status
        captured.elapsed_ms = (time.perf_counter() - started) * 1000
        self.on_exchange(captured)
        if response is not None and response.prepared:
            # Headers are gone already: cutting the connection is the only honest signal left.
            if request.transport is not None:
                request.transport.abort()
            return response
        return await _answer_error(request, failure)


def forwardable(
    headers: Iterable[tuple[str, str]], *, keep_length: bool = True
) -> CIMultiDict[str]:
    """The headers to pass on: all but hop-by-hop ones (and those the Connection header names)."""
    out: CIMultiDict[str] = CIMultiDict()
    named: set[str] = set()
    for name, value in headers:
        lower = name.lower()
        if lower in HOP_BY_HOP:
            if lower == "connection":
                named.update(t.strip().lower() for t in value.split(","))
            continue
        if not keep_length and lower == "content-length":
            continue  # the server writes it for the body it sends
        out.add(name, value)
    for name in named - {"close", "keep-alive"}:
        out.popall(name, None)
    return out


async def _read_capped(
    stream: aiohttp.StreamReader, cap: int, length: int | None = None
) -> tuple[bytes, bool]:
    """Up to cap + 1 bytes of a body, and whether it went past the cap."""
    if length is not None and length <= cap:
        # The common case, a small body of known length: one read. A body that ends early
        # raises IncompleteReadError, as a cut-off answer should.
        return await stream.readexactly(length), False
    chunks: list[bytes] = []
    size = 0
    while size <= cap:
        chunk = await stream.readany()
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks), True


async def _chain(head: bytes, rest: aiohttp.StreamReader) -> AsyncIterator[bytes]:
    yield head
    async for chunk in rest.iter_chunked(_CHUNK):
        yield chunk


def _decoded(raw: Iterable[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    # Header bytes are ISO-8859-1 on the wire (RFC 9110 5.5); latin-1 round-trips any byte.
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in raw]


async def _answer_error(request: web.BaseRequest, failure: UpstreamFailure) -> web.Response:
    """The proxy's own answer when the upstream gave none, in OpenAI's error envelope."""
    code = "upstream_timeout" if failure.status == 504 else "upstream_failed"
    body = {
        "error": {
            "message": f"remixcheck proxy: {failure}",
            "type": "proxy_error",
            "param": None,
            "code": code,
        }
    }
    response = web.Response(
        status=failure.status,
        body=json.dumps(body).encode(),
        content_type="application/json",
        headers={PROXY_HEADER: code},
    )
    if request.transport is None or request.transport.is_closing():
        return response  # the client went away meanwhile; the failure is noted all the same
    try:
        await response.prepare(request)
        await response.write_eof()
    except (ConnectionError, RuntimeError):
        pass
    return response


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
