"""A server on loopback that echoes the key it is sent back in every form a key can take.

Used by the key-leak tests: whatever remixcheck prints or writes after talking to it must
hold none of `forms(key)`. The forms are computed here independently of remixcheck's
redaction layer, so a form that layer forgets makes the test fail.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

KEY = "sk-proj-Leak9ZqWvB7xYt3MnRp5KdHs2FgJc8LaTe6VuXo4"
SECRET = KEY[len("sk-proj-") :]


def _b64_inside(raw: bytes, offset: int, urlsafe: bool = False) -> str:
    """The base64 characters that stand for `raw` when it sits `offset` bytes into a blob."""
    blob = b"\xff" * offset + raw + b"\xfe\xfd"
    encoded = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(blob).decode()
    start = {0: 0, 1: 2, 2: 3}[offset]  # characters that still mix in the filler before raw
    stop = (8 * (offset + len(raw))) // 6
    return encoded[start:stop]


def _b85_inside(raw: bytes, offset: int, ascii85: bool = False) -> str:
    """The base85 (or Ascii85) characters that stand for `raw` `offset` bytes into a blob:
    the five-character groups made of its bytes alone."""
    blob = b"\xff" * offset + raw + b"\xfe\xfd\xfc"
    encoded = (base64.a85encode if ascii85 else base64.b85encode)(blob).decode()
    first = -(-offset // 4)
    last = (offset + len(raw)) // 4
    return encoded[5 * first : 5 * last]


def echoes(key: str) -> dict[str, object]:
    """The key in every form, as a hostile or careless server might send it back."""
    raw = key.encode()
    bearer = f"Bearer {key}".encode()
    return {
        "verbatim": key,
        "b64": base64.b64encode(raw).decode(),
        "b64_nopad": base64.b64encode(raw).decode().rstrip("="),
        "b64url": base64.urlsafe_b64encode(raw).decode(),
        "b64_bearer": base64.b64encode(bearer).decode(),
        "b64url_bearer": base64.urlsafe_b64encode(bearer).decode().rstrip("="),
        "blob1": base64.b64encode(b"\xff" + raw + b"\xfe\xfd").decode(),
        "blob2": base64.urlsafe_b64encode(b"\xff\xff" + raw + b"!").decode(),
        "b85": base64.b85encode(raw).decode(),
        "a85": base64.a85encode(raw).decode(),
        "b85_blob": base64.b85encode(b"\xff\xff\xff" + raw + b"\x01").decode(),
        "a85_bearer": base64.a85encode(bearer).decode(),
        "hex": raw.hex(),
        "HEX": raw.hex().upper(),
        "percent": "".join(f"%{b:02X}" for b in raw),
        "percent_lower": "".join(f"%{b:02x}" for b in raw),
        "quoted": quote(key, safe=""),
        "reversed": key[::-1],
        "upper": key.upper(),
        "split": [key[:21], "--", key[21:]],
        "spread": f"first half {key[:22]} and later {key[22:]} end",
    }


def forms(key: str) -> list[str]:
    """What must not appear anywhere: each echo's give-away, every 12-char piece of the secret
    and every 20-char piece of its base64, base85 and hex (what a cut at a size cap leaves)."""
    raw = key.encode()
    secret = key[len("sk-proj-") :]
    found = [
        key,
        key[::-1],
        key.upper(),
        raw.hex(),
        raw.hex().upper(),
        "".join(f"%{b:02X}" for b in raw),
        "".join(f"%{b:02x}" for b in raw),
        "".join(f"\\u{ord(c):04x}" for c in key),
    ]
    for offset in range(3):
        found += [_b64_inside(raw, offset), _b64_inside(raw, offset, urlsafe=True)]
        found += [_b64_inside(b"Bearer " + raw, offset)]
    for offset in range(4):
        found += [_b85_inside(raw, offset), _b85_inside(raw, offset, ascii85=True)]
    found += [secret[i : i + 12] for i in range(len(secret) - 11)]
    for encoded in (base64.b64encode(raw), base64.b85encode(raw), raw.hex().encode()):
        text = encoded.decode()
        found += [text[i : i + 20] for i in range(len(text) - 19)]
    return found


def leaked(text: str, key: str = KEY) -> list[str]:
    return [f for f in forms(key) if f in text]


def artifacts(*roots: Path) -> dict[str, str]:
    """Every file under the given directories, as text."""
    out = {}
    for root in roots:
        for path in sorted(root.rglob("*")) if root.is_dir() else [root]:
            if path.is_file():
                out[str(path)] = path.read_text(encoding="utf-8", errors="replace")
    return out


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _echo(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        auth = self.headers.get("authorization") or ""
        key = auth.partition(" ")[2] or KEY  # no key sent: still try to make the tool print one
        forms_ = echoes(key)
        # The \u form only exists in raw JSON text: a decoder turns it back into the key.
        escaped = "".join(f"\\u{ord(c):04x}" for c in key)
        body = json.dumps(
            {
                "id": forms_["verbatim"],
                "object": key[::-1],
                "status": forms_["b64"],
                "error": {"message": f"bad key {auth}", "type": forms_["hex"], "code": None},
                "echo": forms_,
            }
        )[:-1]
        # The evidence of a run keeps the first 4,000 characters of a body: a form of the key
        # that straddles that cut must not survive as the piece before it.
        body += f', "escaped": "{escaped}", "pad": "'
        body += "x" * max(0, 4000 - 48 - len(body)) + f'", "cut": "{forms_["b85"]}"}}'
        data = body.encode()
        self.send_response(400 if self.command == "POST" else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Echo", str(forms_["b64_bearer"]))
        self.send_header("X-Echo-Hex", str(forms_["hex"]))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _echo

    def log_message(self, format: str, *args: object) -> None:
        return


@contextmanager
def leaky_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=2)
