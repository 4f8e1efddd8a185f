"""HTTP to a target: timeouts, a body-size cap, a rate limit, 429 waits, and no credential leaks.

Redirects are followed only within the target's own origin; the Authorization header
is never sent anywhere else. Proxies from the environment are ignored (trust_env=False)
so a run talks to exactly the base URL it was given.
"""

from __future__ import annotations

import email.utils
import shlex
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from remixcheck.__about__ import __version__
from remixcheck import jsonsafe
from remixcheck.exchange import Exchange

USER_AGENT = f"remixcheck/{__version__}"


@dataclass(frozen=True, slots=True)
class TransportSettings:
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    max_body_bytes: int = 1_048_576
    rate: float | None = None  # requests per second to one target
    max_retry_wait: float = 30.0  # total seconds a run may wait on 429 Retry-After, per target
    max_redirects: int = 3


class TransportError(Exception):
    """The tool could not complete a request (refused, timed out, reset). Never a violation."""


_NOT_DECODED = object()


@dataclass(slots=True)
class Sent:
    exchange: Exchange
    curl: str
    notes: list[str] = field(default_factory=list)
    retried_429: int = 0
    _decoded: Any = field(default=_NOT_DECODED, repr=False)

    @property
    def status(self) -> int:
        assert self.exchange.response is not None
        return self.exchange.response.status

    @property
    def headers(self) -> dict[str, str]:
        assert self.exchange.response is not None
        return self.exchange.response.headers

    def json(self) -> Any:
        """The decoded JSON body, or None when it is not (complete) JSON. Decoded once: read-only."""
        if self._decoded is _NOT_DECODED:
            self._decoded = self._decode()
        return self._decoded

    def _decode(self) -> Any:
        resp = self.exchange.response
        if resp is None or resp.truncated or not resp.body:
            return None
        # Sanitized (no lone surrogates, NaN or deep nesting reach a check); the validator
        # reports each problem as a finding on this exchange.
        return jsonsafe.loads(resp.body).value


class Transport:
    """Sends requests to one target. Not thread-safe: one per target."""

    def __init__(
        self, base_url: str, api_key: str | None, key_env: str, settings: TransportSettings
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.origin = _origin(self.base_url)
        self._key = api_key
        self.key_env = key_env
        self.settings = settings
        self.requests_sent = 0
        # A hard cap on requests, retries and redirects included (fuzz --max-requests); None: no cap.
        self.request_limit: int | None = None
        self._last_send = 0.0
        self._waited_429 = 0.0
        self.last_notes: list[str] = []
        self._client = httpx.Client(
            timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": USER_AGENT},
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        content_type: str | None = None,
        auth: str = "valid",
        invalid_key: str = "sk-remixcheck-invalid-key",
        shell_body: str | None = None,
    ) -> Sent:
        """Send one request; `path` is sent byte for byte (no dot-segment or %2F normalisation)."""
        headers: dict[str, str] = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        if auth == "valid" and self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        elif auth == "invalid":
            headers["Authorization"] = f"Bearer {invalid_key}"
        url = self.base_url + path
        curl = self.curl(method, url, content_type, auth, body, shell_body, invalid_key)
        notes: list[str] = []
        self.last_notes = notes
        retried = 0
        hops = 0
        while True:
            response, truncated = self._once(method, url, headers, body)
            if self.at_limit():
                if response.status_code == 429 or 300 <= response.status_code < 400:
                    notes.append(
                        f"not retried or followed: request cap {self.request_limit} reached"
                    )
                break
            if response.status_code == 429 and self._wait_retry_after(response):
                retried += 1
                continue
            location = response.headers.get("location")
            if (
                300 <= response.status_code < 400
                and location
                and hops < self.settings.max_redirects
            ):
                target = urljoin(url, location)
                if _origin(target) != self.origin:
                    notes.append(
                        f"redirect to {_origin(target)} not followed: credentials never leave {self.origin}"
                    )
                elif response.status_code in (307, 308) or method == "GET":
                    hops += 1
                    notes.append(f"followed same-origin redirect to {urlsplit(target).path}")
                    url = target
                    continue
            break
        exchange = Exchange.from_httpx(response, truncated=truncated, source=f"{method} {path}")
        return Sent(exchange, curl, notes, retried)

    def at_limit(self) -> bool:
        """Whether the request cap is reached: nothing more may be sent, not even a retry."""
        return self.request_limit is not None and self.requests_sent >= self.request_limit

    def _once(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[httpx.Response, bool]:
        if self.at_limit():
            raise TransportError(f"request cap {self.request_limit} reached: nothing more is sent")
        self._pace()
        raw_target = _raw_target(url)
        request = self._client.build_request(
            method, url, headers=headers, content=body, extensions={"target": raw_target}
        )
        try:
            response = self._client.send(request, stream=True)
        except httpx.ConnectTimeout:
            raise TransportError(
                f"connect timeout: no connection to {self.origin} within {self.settings.connect_timeout:g} s"
            ) from None
        except httpx.ConnectError as exc:
            raise TransportError(f"cannot connect to {self.origin}: {_short(exc)}") from None
        except httpx.TimeoutException:
            raise TransportError(
                f"timeout: no response from {self.origin} within {self.settings.read_timeout:g} s"
            ) from None
        except httpx.TransportError as exc:
            raise TransportError(f"connection to {self.origin} failed: {_short(exc)}") from None
        finally:
            self.requests_sent += 1
        truncated = False
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.settings.max_body_bytes:
                    keep = self.settings.max_body_bytes - (size - len(chunk))
                    chunks.append(chunk[:keep])
                    truncated = True
                    self.last_notes.append(
                        f"body cut at --max-body-bytes {self.settings.max_body_bytes}"
                    )
                    break
                chunks.append(chunk)
        except httpx.TimeoutException:
            raise TransportError(
                f"timeout: body from {self.origin} stalled for {self.settings.read_timeout:g} s"
            ) from None
        except httpx.TransportError as exc:
            # A body cut off mid-way (peer closed, content-length not met) is evidence about the
            # server, not a tool failure: keep what arrived and let validation judge it.
            self.last_notes.append(f"connection closed before the body ended ({_short(exc)})")
        finally:
            response.close()
        response._content = b"".join(
            chunks
        )  # the (possibly cut) body, so .content works after close
        return response, truncated

    def _pace(self) -> None:
        if self.settings.rate:
            gap = 1.0 / self.settings.rate - (time.monotonic() - self._last_send)
            if gap > 0:
                time.sleep(gap)
        self._last_send = time.monotonic()

    def _wait_retry_after(self, response: httpx.Response) -> bool:
        wait = retry_after_seconds(response.headers.get("retry-after"))
        if wait is None or self._waited_429 + wait > self.settings.max_retry_wait:
            return False
        self._waited_429 += wait
        time.sleep(wait)
        return True

    def curl(
        self,
        method: str,
        url: str,
        content_type: str | None,
        auth: str,
        body: bytes | None,
        shell_body: str | None,
        invalid_key: str,
    ) -> str:
        """A curl line that reproduces the request, with the key as $ENV_VAR, never its value."""
        parts = ["curl", "-sS", "--path-as-is", "-X", method, shlex.quote(url)]
        if auth == "valid":
            parts += ["-H", f'"Authorization: Bearer ${self.key_env}"']
        elif auth == "invalid":
            parts += ["-H", shlex.quote(f"Authorization: Bearer {invalid_key}")]
        if content_type:
            parts += ["-H", shlex.quote(f"Content-Type: {content_type}")]
        if shell_body is not None:
            parts += ["--data-binary", f'"{shell_body}"']
        elif body is not None:
            text = body.decode("utf-8", "replace")
            parts += [
                "--data-binary",
                "$" + _ansi_c(text) if "\r" in text or "\n" in text else shlex.quote(text),
            ]
        return " ".join(parts)


def _ansi_c(text: str) -> str:
    """Bash $'...' quoting, so CR/LF of multipart bodies survive copy and paste."""
    escaped = (
        text.replace("\\", "\\\\").replace("'", "\\'").replace("\r", "\\r").replace("\n", "\\n")
    )
    return f"'{escaped}'"


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _origin(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


def _raw_target(url: str) -> bytes:
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return target.encode("ascii", "strict") if target.isascii() else target.encode("utf-8")


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]


def is_loopback(base_url: str) -> bool:
    import ipaddress

    host = (urlsplit(base_url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
