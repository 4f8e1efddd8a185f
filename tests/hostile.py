"""A deliberately misbehaving HTTP server on loopback, one behaviour per path prefix.

`http://127.0.0.1:PORT/<mode>` is a whole target that misbehaves in one way (MODES), so a
run or a fuzz against it sees that behaviour on every request.
"""

from __future__ import annotations

import functools
import gzip
import json
import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Recorder:
    """Every request head a server received, for "did the key arrive here?" assertions."""

    heads: list[bytes] = field(default_factory=list)


def _read_head(conn: socket.socket) -> bytes:
    data = b""
    conn.settimeout(5)
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def _serve(sock: socket.socket, handle: object, recorder: Recorder, stop: threading.Event) -> None:
    sock.settimeout(0.2)
    while not stop.is_set():
        try:
            conn, _ = sock.accept()
        except TimeoutError:
            continue
        except OSError:
            return
        threading.Thread(
            target=_handle_one, args=(conn, handle, recorder, stop), daemon=True
        ).start()


def _handle_one(
    conn: socket.socket, handle: object, recorder: Recorder, stop: threading.Event
) -> None:
    with conn:
        try:
            head = _read_head(conn)
            recorder.heads.append(head)
            handle(conn, head, stop)  # type: ignore[operator]
        except OSError:
            pass


def _respond(
    conn: socket.socket, status: str, body: bytes, ctype: str = "application/json", extra: str = ""
) -> None:
    conn.sendall(
        f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n{extra}\r\n".encode()
        + body
    )


# Whole-target modes: what every request to http://host:port/<mode>/... gets.
MODES = (
    "never",  # accepts the connection, never reads or answers
    "silent",  # reads the request, then holds the connection without a byte
    "drip",  # headers, then one body byte every half second, for ever
    "driphead",  # the status line and headers themselves, one byte every half second
    "retry0",
    "retrypast",
    "retrynan",
    "retryhuge",
    "deep",  # 200 with JSON nested 10,000 deep
    "surrogate",  # 200 with a lone surrogate "\ud800" in a string
    "gzipgzip",  # Content-Encoding: gzip, gzip; 2 KB on the wire, 1 GB decoded
    "pollnan",  # a job whose polls say openai-poll-after-ms: nan
    "badport",  # 307 to a Location with port 99999
)
SOURCE_ID = "video_hostile_source"
_RETRY_AFTER = {
    "retry0": "0",
    "retrypast": "Wed, 21 Oct 2015 07:28:00 GMT",
    "retrynan": "nan",
    "retryhuge": "999999",
}


@functools.cache
def gzip_bomb() -> bytes:
    """1 GiB of zeros, gzipped twice: about 2 KB."""
    inner = zlib.compressobj(1, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zero = bytes(1 << 20)
    parts = [inner.compress(zero) for _ in range(1024)]
    parts.append(inner.flush())
    return gzip.compress(b"".join(parts), 9)


def _video(video_id: str, status: str, **extra: object) -> bytes:
    body = {
        "id": video_id,
        "object": "video",
        "model": "sora-2",
        "status": status,
        "progress": 100 if status == "completed" else 10,
        "created_at": 1712698600,
        "completed_at": 1712698700 if status == "completed" else None,
        "expires_at": None,
        "prompt": "hostile",
        "size": "720x1280",
        "seconds": "8",
        "remixed_from_video_id": None,
        "error": None,
        **extra,
    }
    return json.dumps(body).encode()


def _whole_target(mode: str, conn: socket.socket, head: bytes, stop: threading.Event) -> None:
    method, path = head.split(b" ", 2)[:2]
    if mode == "never" or mode == "silent":
        stop.wait(60)
    elif mode == "drip":
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
        )
        while not stop.wait(0.5):
            conn.sendall(b" ")
    elif mode == "driphead":
        for byte in b"HTTP/1.1 200 OK\r\nX-Drip: " + b"a" * 100_000:
            if stop.wait(0.5):
                return
            conn.sendall(bytes([byte]))
    elif mode in _RETRY_AFTER:
        _respond(
            conn,
            "429 Too Many Requests",
            b'{"error": {"message": "slow down", "type": "rate_limit", "param": null, "code": null}}',
            extra=f"Retry-After: {_RETRY_AFTER[mode]}\r\n",
        )
    elif mode == "deep":
        _respond(conn, "200 OK", b'{"a":' * 10_000 + b"1" + b"}" * 10_000)
    elif mode == "surrogate":
        _respond(conn, "200 OK", _video("video_\\ud800", "completed").replace(b"\\\\", b"\\"))
    elif mode == "gzipgzip":
        _respond(conn, "200 OK", gzip_bomb(), extra="Content-Encoding: gzip, gzip\r\n")
    elif mode == "pollnan":
        video_id = path.decode().rstrip("/").split("/")[-1]
        if method == b"GET":
            status = "completed" if video_id == SOURCE_ID else "in_progress"
            _respond(
                conn, "200 OK", _video(video_id, status), extra="openai-poll-after-ms: nan\r\n"
            )
        else:
            _respond(
                conn, "200 OK", _video("video_job", "queued"), extra="openai-poll-after-ms: nan\r\n"
            )
    elif mode == "badport":
        _respond(
            conn, "307 Temporary Redirect", b"", extra="Location: http://127.0.0.1:99999/x\r\n"
        )


def hostile_handler(redirect_to: str) -> object:
    def handle(conn: socket.socket, head: bytes, stop: threading.Event) -> None:
        path = head.split(b" ", 2)[1].decode()
        mode = path.split("/")[1]
        if mode in MODES:
            _whole_target(mode, conn, head, stop)
        elif mode == "nonjson":
            _respond(conn, "200 OK", b"<html><body>Welcome to nginx</body></html>", "text/html")
        elif mode == "truncated":
            body = b'{"id": "video_1", "object": "video", "status": "queu'
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n"
                + body
            )
        elif mode == "huge":
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            chunk = b'{"pad": "' + b"x" * 65536
            try:
                for _ in range(200):  # ~13 MB if anyone reads it all
                    conn.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            except OSError:
                return
        elif mode == "hang":
            stop.wait(30)
        elif mode == "reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif mode == "redirect":
            _respond(
                conn, "307 Temporary Redirect", b"", extra=f"Location: {redirect_to}{path}\r\n"
            )
        elif mode == "echo":
            # Echoes the Authorization header back in a body and a header: the key must still not leak.
            auth = next(
                (
                    line.split(b":", 1)[1].strip()
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"authorization:")
                ),
                b"",
            )
            body = (
                b'{"error": {"message": "bad key '
                + auth
                + b'", "type": "t", "param": null, "code": null}}'
            )
            _respond(conn, "404 Not Found", body, extra=f"X-Echo: {auth.decode()}\r\n")
        else:
            _respond(
                conn,
                "404 Not Found",
                b'{"error": {"message": "no", "type": "t", "param": null, "code": null}}',
            )

    return handle


def _listen() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    return sock


@contextmanager
def hostile_servers(seen_hostile: Recorder | None = None) -> Iterator[tuple[str, str, Recorder]]:
    """(hostile base URL, elsewhere base URL, what elsewhere received); what the hostile
    server received goes to `seen_hostile` when given."""
    stop = threading.Event()
    elsewhere_sock, hostile_sock = _listen(), _listen()
    elsewhere_url = f"http://127.0.0.1:{elsewhere_sock.getsockname()[1]}"
    hostile_url = f"http://127.0.0.1:{hostile_sock.getsockname()[1]}"
    seen_elsewhere = Recorder()
    seen_hostile = seen_hostile if seen_hostile is not None else Recorder()

    def ok(conn: socket.socket, head: bytes, stop: threading.Event) -> None:
        _respond(
            conn,
            "404 Not Found",
            b'{"error": {"message": "elsewhere", "type": "t", "param": null, "code": null}}',
        )

    threads = [
        threading.Thread(
            target=_serve, args=(elsewhere_sock, ok, seen_elsewhere, stop), daemon=True
        ),
        threading.Thread(
            target=_serve,
            args=(hostile_sock, hostile_handler(elsewhere_url), seen_hostile, stop),
            daemon=True,
        ),
    ]
    for t in threads:
        t.start()
    try:
        yield hostile_url, elsewhere_url, seen_elsewhere
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=2)
        elsewhere_sock.close()
        hostile_sock.close()
        time.sleep(0)
