"""How results read to a person: long ids shortened, the server's own error message found.

Pure functions over result data. Nothing here changes what is stored: results.json and
the evidence keep every id and body whole; the terminal, the HTML report and the
Markdown summary show the short forms.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from remixcheck.contract.quoting import show_text
from remixcheck.traffic import jsonsafe

# A gateway's ids run to ~240 characters (LiteLLM: video_ + base64 of provider, model,
# upstream id and deployment). Anything id-like this long is cut to its two ends.
LONG_ID = 40
_ID_TOKEN = re.compile(r"[A-Za-z0-9_\-+=:.%~]{" + str(LONG_ID) + ",}")
HEAD, TAIL = 16, 6


def short_id(value: str) -> str:
    """`video_bGl0ZWxsbT…ZWQ9PQ (240 chars)` for a long id; short ones unchanged."""
    if len(value) < LONG_ID:
        return value
    return f"{value[:HEAD]}…{value[-TAIL:]} ({len(value)} chars)"


def short_ids(text: str) -> str:
    """Every long id-like run inside free text shortened (messages, reasons, paths)."""
    if len(text) < LONG_ID:
        return text
    return _ID_TOKEN.sub(lambda m: short_id(m.group(0)), text)


MESSAGE_LIMIT = 300


def message_of(body: Any) -> str | None:
    """The human message inside an error body: OpenAI's and Bifrost's error.message, a flat
    message, or a framework's detail."""
    if not isinstance(body, dict):
        return None
    inner = body.get("error")
    if isinstance(inner, dict) and isinstance(inner.get("message"), str):
        return str(inner["message"])
    if isinstance(inner, str):
        return inner
    for key in ("message", "detail"):
        value = body.get(key)
        if isinstance(value, str):
            return value
        if key == "detail" and isinstance(value, list) and value:
            first = value[0]  # FastAPI's validation errors: a list of {loc, msg, type}
            if isinstance(first, dict) and isinstance(first.get("msg"), str):
                return str(first["msg"])
    return None


_MESSAGE_FIELD = re.compile(r'"(?:message|detail)"\s*:\s*"((?:[^"\\]|\\.){1,2000})"')


def server_message(evidence: Iterable[Mapping[str, Any]]) -> str:
    """The server's own words on the last error answer of a check's evidence, capped; "" if none."""
    for ev in reversed(list(evidence)):
        response = ev.get("response") if isinstance(ev, Mapping) else None
        if not isinstance(response, Mapping):
            continue
        status = response.get("status")
        if not isinstance(status, int) or status < 400:
            continue
        text = response.get("body")
        if not isinstance(text, str) or not text:
            continue
        found = message_of(jsonsafe.loads(text).value)
        if found is None:
            # The excerpt may be cut short; the message field often survives the cut.
            match = _MESSAGE_FIELD.search(text)
            found = jsonsafe.loads(f'"{match.group(1)}"').value if match else None
        if found is None and not text.lstrip().startswith(("{", "[")):
            found = text  # a plain-text error page says what it says
        if isinstance(found, str) and found.strip():
            return f"{status}: {show_text(' '.join(found.split()), MESSAGE_LIMIT)}"
    return ""
