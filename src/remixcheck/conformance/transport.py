"""HTTP to a target: timeouts, a body-size cap, a rate limit, 429 waits, and no credential leaks.

Redirects are followed only within the target's own origin; the Authorization header
is never sent anywhere else. Proxies from the environment are ignored (trust_env=False)
so a run talks to exactly the base URL it was given."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from remixcheck.__about__ import __version__
from remixcheck.conformance import stopping
from remixcheck.conformance.bodies import BodyDecoder
from remixcheck.conformance.netdeadline import Clock, DeadlineBackend
from remixcheck.conformance.request_cap import Pacer, RequestCap, WaitBudget
from remixcheck.conformance.wire import (
    _join,
    _origin,
    _raw_target,
    _short,
    curl_line,
    retry_after_seconds,
)
from remixcheck.contract.quoting import show
from remixcheck.traffic import jsonsafe
from remixcheck.traffic.exchange import Exchange

USER_AGENT = f"remixcheck/{__version__}"


@dataclass(frozen=True, slots=True)
class TransportSettings:
    connect_timeout: float = 5.0
    # The whole request: connect, headers and the whole body (a drip cannot stretch it).
    read_timeout: float = 30.0
    max_body_bytes: int = 1_048_576  # decoded bytes, at every Content-Encoding layer
    rate: float | None = None  # requests per second to one target
    max_retry_wait: float = 30.0  # total seconds a run may wait on 429 Retry-After, per target
    max_redirects: int = 3
    min_retry_wait: float = 1.0  # floor of a Retry-After wait: "0" or a past date is no loop
    max_retries: int = 5  # 429 retries of one request
    max_failures: int = 3  # consecutive transport failures before the target is unreachable


class TransportError(Exception):
    """The tool could not complete a request (refused, timed out, reset). Never a violation."""


class Unreachable(TransportError):
    """Consecutive transport failures tripped the circuit breaker: nothing more is sent."""


class RateLimited(TransportError):
    """429 with a wait the Retry-After budget (or the target's deadline) does not cover."""


class CapReached(TransportError):
    """The request cap (--max-requests) is spent: this request was never sent."""


class OutOfTime(TransportError):
    """The target's deadline (--max-time) passed: nothing more is sent."""


class Interrupted(TransportError):
    """SIGINT or SIGTERM: the run is winding down."""


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
    """Sends requests to one target. Not thread-safe: one per target (per worker, see shared_cap)."""

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
        self.shared_cap: RequestCap | None = None  # replaces it: N workers' transports, one count
        self.pacer = Pacer(settings.rate)  # --rate; shared by the transports of N workers
        self.wait_budget = WaitBudget(settings.max_retry_wait)  # shared like the pacer
        self._last_status = 0  # of the previous answer: after a 5xx a reset is retried once
        self.last_notes: list[str] = []
        # When the target's time (--max-time) ends, as a time.monotonic() value; None: never.
        self.deadline: float | None = None
        self.failures = 0  # consecutive transport failures
        self.unreachable: str | None = None  # why the breaker tripped
        self._clock = Clock()
        self._client = httpx.Client(
            timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": USER_AGENT},
            transport=_deadline_transport(self._clock),
        )
        stopping.add_abort_hook(self._clock.abort)

    def close(self) -> None:
        stopping.remove_abort_hook(self._clock.abort)
        self._client.close()

    def time_left(self) -> float:
        """Seconds until the target's deadline (inf without one)."""
        return math.inf if self.deadline is None else self.deadline - time.monotonic()

    def check_open(self) -> None:
        """Raise when nothing more may be sent to this target (stopped, out of time, unreachable)."""
        if stopping.stopped():
            raise Interrupted(stopping.reason())
        if self.unreachable is not None:
            raise Unreachable(self.unreachable)
        if self.time_left() <= 0:
            raise OutOfTime(self._out_of_time())

    def _out_of_time(self) -> str:
        return (
            f"--max-time reached: the target's time ran out after {self.requests_sent} request(s)"
        )

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
        curl = curl_line(
            self.key_env, method, url, content_type, auth, body, shell_body, invalid_key
        )
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
            if response.status_code == 429:
                self._wait_retry_after(response, retried)
                retried += 1
                continue
            location = response.headers.get("location")
            if (
                300 <= response.status_code < 400
                and location
                and hops < self.settings.max_redirects
            ):
                target = _join(url, location)
                if target is None:
                    notes.append(
                        f"redirect not followed: Location {show(location)} is not a valid URL"
                    )
                elif _origin(target) != self.origin:
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
        if self.shared_cap is not None:
            return self.shared_cap.spent()
        return self.request_limit is not None and self.requests_sent >= self.request_limit

    def _claim(self, *, resend: bool = False) -> bool:
        """Whether one more request may leave (a resend: before the first is counted)."""
        if self.shared_cap is not None:
            return self.shared_cap.take()
        return self.request_limit is None or self.requests_sent + resend < self.request_limit

    def _once(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[httpx.Response, bool]:
        self.check_open()
        if not self._claim():
            cap = self.shared_cap.limit if self.shared_cap is not None else self.request_limit
            raise CapReached(f"request cap {cap} reached: nothing more is sent")
        self._pace()
        started = time.monotonic()
        limit = self.settings.read_timeout
        self._clock.deadline = min(started + limit, self.deadline or math.inf)
        raw_target = _raw_target(url)
        request = self._client.build_request(
            method, url, headers=headers, content=body, extensions={"target": raw_target}
        )
        try:
            try:
                response = self._send_fresh_after_crash(request)
            finally:
                self.requests_sent += 1
            try:
                decoded = self._read_body(response)
            finally:
                response.close()
        except httpx.TransportError as exc:
            raise self._failed(exc, started) from None
        finally:
            self._clock.deadline = None
        self.failures = 0
        self.last_notes.extend(decoded.notes)
        response._content = decoded.body  # the (possibly cut) body, so .content works after close
        self._last_status = response.status_code
        return response, decoded.truncated

    def _read_body(self, response: httpx.Response) -> Any:
        """The body, decoded layer by layer within the cap; a body cut off mid-way is kept."""
        decoder = BodyDecoder(
            response.headers.get("content-encoding"), self.settings.max_body_bytes
        )
        # Raw bytes are only streamed through, but a body that is mostly padding for the
        # decompressor must still end: compressed data is never much larger than decoded.
        raw_cap = 2 * self.settings.max_body_bytes + 65_536
        raw = 0
        try:
            for chunk in response.iter_raw():
                raw += len(chunk)
                decoder.feed(chunk)
                if decoder.full or raw > raw_cap:
                    decoder.truncated = decoder.truncated or raw > raw_cap
                    break
        except httpx.TimeoutException:
            raise
        except httpx.TransportError as exc:
            if stopping.stopped():
                raise
            # A body cut off mid-way (peer closed, content-length not met) is evidence about the
            # server, not a tool failure: keep what arrived and let validation judge it.
            self.last_notes.append(f"connection closed before the body ended ({_short(exc)})")
        return decoder.done()

    def _failed(self, exc: httpx.TransportError, started: float) -> TransportError:
        """The tool's error for a failed request, in words; counts toward the circuit breaker."""
        if stopping.stopped():
            return Interrupted(stopping.reason())
        if self.time_left() <= 0:
            return OutOfTime(self._out_of_time())
        took = time.monotonic() - started
        if isinstance(exc, httpx.ConnectTimeout):
            error = TransportError(
                f"connect timeout: no connection to {self.origin} within {self.settings.connect_timeout:g} s"
            )
        elif isinstance(exc, httpx.ConnectError):
            error = TransportError(f"cannot connect to {self.origin}: {_short(exc)}")
        elif isinstance(exc, httpx.TimeoutException):
            error = TransportError(
                f"timeout: no complete response from {self.origin} within --timeout "
                f"{self.settings.read_timeout:g} s (connect, headers and body; {took:.1f} s spent)"
            )
        else:
            error = TransportError(f"connection to {self.origin} failed: {_short(exc)}")
        self.failures += 1
        if self.failures >= self.settings.max_failures:
            self.unreachable = (
                f"target unreachable: {self.failures} failures in a row, the last: {error}"
            )
            return Unreachable(self.unreachable)
        return error

    def _send_fresh_after_crash(self, request: httpx.Request) -> httpx.Response:
        """Send; after a 5xx, a reset of the reused connection is retried once on a new one.

        A server that crashed on the previous request (uvicorn after an unhandled exception)
        may drop its keep-alive connection without saying `Connection: close`. The next request
        then meets a reset before the server read it: that says nothing about this request,
        and it cannot have started a job, so it goes once more on a fresh connection.
        """
        crashed = self._last_status >= 500
        self._last_status = 0
        try:
            return self._client.send(request, stream=True)
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            if not crashed or not self._claim(resend=True):
                raise
            self.requests_sent += 1  # the resend is a request on the wire like any other
            self.last_notes.append(
                "the connection the server dropped after its 5xx answer was reset "
                f"({_short(exc)}); sent again on a new connection"
            )
            return self._client.send(request, stream=True)

    def _pace(self) -> None:
        gap = self.pacer.delay()
        if gap > 0 and not stopping.sleep(min(gap, max(self.time_left(), 0.0))):
            raise Interrupted(stopping.reason())

    def _wait_retry_after(self, response: httpx.Response, retried: int) -> None:
        """Wait out a 429 within the budget, or raise RateLimited: never a pass, never a loop."""
        value = response.headers.get("retry-after")
        asked = retry_after_seconds(value)
        wait = max(asked if asked is not None else 0.0, self.settings.min_retry_wait)
        said = f"Retry-After {show(value, 60)}" if value is not None else "no Retry-After"
        if asked is None and value is not None:
            said += " (neither delta-seconds nor an HTTP date)"
        why = ""
        if retried >= self.settings.max_retries:
            why = f"still 429 after {retried} retries"
        elif wait >= self.time_left():
            why = f"waiting {wait:g} s would pass the target's --max-time"
        elif not self.wait_budget.take(wait):
            why = (
                f"waiting {wait:g} s would pass --max-retry-wait {self.settings.max_retry_wait:g} s"
                f" ({self.wait_budget.waited:g} s already waited)"
            )
        if why:
            raise RateLimited(f"rate limited: 429 with {said}; {why}")
        if not stopping.sleep(wait):
            raise Interrupted(stopping.reason())


def _deadline_transport(clock: Clock) -> httpx.HTTPTransport:
    """httpx's transport on a connection pool whose sockets obey `clock` (see netdeadline)."""
    import httpcore

    transport = httpx.HTTPTransport(trust_env=False)
    # httpx takes no network backend, so its pool is swapped for one with ours; the
    # hostile-server tests fail if a drip or a silent server can outlive --timeout.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        network_backend=DeadlineBackend(clock),
    )
    return transport
