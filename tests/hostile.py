"""A deliberately misbehaving HTTP server on loopback, one behaviour per path prefix."""

from __future__ import annotations

import socket
import struct
import threading
import time
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


def hostile_handler(redirect_to: str) -> object:
    def handle(conn: socket.socket, head: bytes, stop: threading.Event) -> None:
        path = head.split(b" ", 2)[1].decode()
        mode = path.split("/")[1]
        if mode == "nonjson":
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
def hostile_servers() -> Iterator[tuple[str, str, Recorder]]:
    """(hostile base URL, elsewhere base URL, what elsewhere received)."""
    stop = threading.Event()
    elsewhere_sock, hostile_sock = _listen(), _listen()
    elsewhere_url = f"http://127.0.0.1:{elsewhere_sock.getsockname()[1]}"
    hostile_url = f"http://127.0.0.1:{hostile_sock.getsockname()[1]}"
    seen_elsewhere, seen_hostile = Recorder(), Recorder()

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
