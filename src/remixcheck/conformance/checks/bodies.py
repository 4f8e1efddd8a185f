"""Valid JSON that is not an object: each must get a 4xx with the error envelope, never a 5xx.

A handler that reads fields off the decoded body without checking it is an object crashes
on `0`, `[1]` or `null`; these three bodies are the smallest that tell.
"""

from __future__ import annotations

from remixcheck.conformance.checks import MAY_BILL, Body, Check, RequestSpec, register
from remixcheck.conformance.checks.common import single_request
from remixcheck.contract.findings import Severity
from remixcheck.contract.origins import CONVENTION

BODIES = {"zero": (b"0", "0"), "array": (b"[1]", "[1]"), "null": (b"null", "null")}

for name, (content, shown) in BODIES.items():
    register(
        Check(
            id=f"negative.body-{name}",
            family="negative",
            title=f"JSON body {shown}",
            description=f"Remix a real video with the JSON body {shown}, valid JSON but not an object. Expects 400 with the error envelope.",
            severity=Severity.ERROR,
            requests=(
                RequestSpec(
                    "POST",
                    "/videos/{source}/remix",
                    Body.raw(content, "application/json"),
                    billing=MAY_BILL,
                    any_source=True,
                ),
            ),
            run=single_request((400,)),
            origin=CONVENTION,
            why=(
                "OpenAI's document types the remix body as an object; OpenAI's API answers "
                "invalid input with 400 and its error envelope"
            ),
        )
    )
