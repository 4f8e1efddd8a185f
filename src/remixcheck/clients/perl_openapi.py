"""Perl's OpenAPI::Client + JSON::Validator built from OpenAI's document: seed 002's client.

OpenAPI::Client::OpenAI (seed 002) is `OpenAPI::Client->new(<OpenAI's openapi.yaml>)`. Loading
the shipped copy of that document the same way and checking each recorded body with the
client's validator is what that client's strictness means for a vendor. All bodies go to one
`perl` process, on stdin, as JSON.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from importlib import resources
from typing import Any

from remixcheck.clients import official
from remixcheck.clients.base import (
    CLIENT,
    Break,
    HarnessError,
    HarnessUnavailable,
    Judgement,
    Observed,
)

SCRIPT = "validate_responses.pl"
TIMEOUT_S = 120.0
# Defence in depth: JSON::Validator fetches a meta-schema it lacks over HTTP. The shipped cache
# holds the one it needs; any other fetch goes to this closed loopback port, never out.
PROXY_TRAP = "http://127.0.0.1:9"


def _env(perl: str) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "PERL5LIB", "PERL_LOCAL_LIB_ROOT", "TMPDIR")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env["JSON_VALIDATOR_CACHE_PATH"] = str(official.json_validator_cache())
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env[name] = PROXY_TRAP
    env["NO_PROXY"] = env["no_proxy"] = ""
    return env


def _kind(error: dict[str, Any], body: Any, pointer: str) -> str:
    details = [str(d) for d in error.get("details") or ()]
    if len(details) >= 2 and details[1] == "required":
        return "missing"
    if _value_at(body, pointer) is None and len(details) >= 2 and details[1] == "type":
        return "null"
    if len(details) >= 2 and details[1] in ("enum", "const"):
        return "enum"
    if len(details) >= 2 and details[1] == "type":
        return "type"
    return "invalid"


def _value_at(body: Any, pointer: str) -> Any:
    node = body
    for part in pointer.split("/")[1:]:
        key = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict):
            node = node.get(key)
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return None
    return node


def _portable(body: Any) -> bool:
    """True when the body is plain JSON (a vendor's NaN or Infinity is not, to any JSON decoder)."""
    try:
        json.dumps(body, allow_nan=False)
    except (ValueError, TypeError):
        return False
    return True


class PerlOpenAPIClient:
    id = "perl-openapi-client"
    name = "Perl OpenAPI::Client (OpenAPI::Client::OpenAI), generated from OpenAI's document"
    kind = CLIENT
    description = (
        "OpenAPI::Client->new(OpenAI's document), as OpenAPI::Client::OpenAI builds it; each body "
        "checked with the client's JSON::Validator (validate_response) for its operation."
    )

    def judge(self, bodies: Sequence[Observed]) -> Judgement:
        perl = shutil.which("perl")
        if perl is None:
            raise HarnessUnavailable("perl is not installed")
        portable = [_portable(b.body) for b in bodies]
        payload = {
            "document": str(official.document_path()),
            "bodies": [
                {"operation": b.operation, "body": b.body}
                for b, ok in zip(bodies, portable, strict=True)
                if ok
            ],
        }
        script = resources.files("remixcheck.clients") / "perl" / SCRIPT
        with resources.as_file(script) as path:
            try:
                done = subprocess.run(
                    [perl, str(path)],
                    input=json.dumps(payload, ensure_ascii=True).encode("ascii"),
                    capture_output=True,
                    env=_env(perl),
                    timeout=TIMEOUT_S,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise HarnessError(f"perl did not finish within {TIMEOUT_S:.0f} s") from None
            except OSError as exc:
                raise HarnessUnavailable(f"cannot run perl: {exc.strerror or exc}") from None
        answer = _answer(done)
        if len(answer["results"]) != sum(portable):
            raise HarnessError(
                f"perl answered for {len(answer['results'])} bodies of {sum(portable)}"
            )
        results = iter(answer["results"])
        out: list[list[Break]] = []
        for item, ok in zip(bodies, portable, strict=True):
            if not ok:
                out.append(
                    [
                        Break(
                            "", "invalid", "body holds NaN or Infinity, which no JSON decoder reads"
                        )
                    ]
                )
                continue
            result = next(results)
            if not isinstance(result, list):
                raise HarnessError("perl answered a body with something other than a list")
            breaks = []
            for err in result:
                where = str(err.get("path", ""))
                pointer = where[len("/body") :] if where.startswith("/body") else where
                breaks.append(
                    Break(pointer, _kind(err, item.body, pointer), str(err.get("text", "")))
                )
            out.append(breaks)
        return Judgement(str(answer.get("library", "OpenAPI::Client")), out)


def _answer(done: subprocess.CompletedProcess[bytes]) -> dict[str, Any]:
    stderr = done.stderr.decode("utf-8", "replace").strip()
    try:
        answer = json.loads(done.stdout.decode("utf-8", "replace"))
    except ValueError:
        answer = None
    if done.returncode != 0 or not isinstance(answer, dict):
        last = stderr.splitlines()[-1] if stderr else f"exit status {done.returncode}"
        raise HarnessError(f"perl failed: {last[:500]}")
    if "unavailable" in answer:
        raise HarnessUnavailable(str(answer["unavailable"])[:500])
    if not isinstance(answer.get("results"), list):
        raise HarnessError("perl answered without results")
    return answer
