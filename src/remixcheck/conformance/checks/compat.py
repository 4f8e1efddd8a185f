"""The same contract on the vendor's compatibility routes (apifree's /v1/openai/...)."""

from __future__ import annotations

from remixcheck.conformance.checks import BILLABLE, FREE, Body, Check, RequestSpec, register
from remixcheck.conformance.checks.common import single_request
from remixcheck.conformance.checks.context import PROMPT
from remixcheck.contract.findings import Severity
from remixcheck.contract.origins import CONVENTION
from remixcheck.contract.profiles import Profile


def _has_compat(profile: Profile) -> str | None:
    return None if profile.compat_base_paths else "the vendor documents no compatibility routes"


def _compat(
    check_id: str, title: str, description: str, spec: RequestSpec, expected: tuple[int, ...]
) -> None:
    register(
        Check(
            id=check_id,
            family="compat",
            title=title,
            description=description,
            severity=Severity.ERROR,
            requests=(spec,),
            run=single_request(expected),
            applies=_has_compat,
            origin=CONVENTION,
            why="the vendor documents its compatibility route as identical to the main one",
        )
    )


_compat(
    "compat.remix-json",
    "Remix on the compatibility route",
    "Remix the source video as JSON under the compatibility base path; expects 200 and a valid Video.",
    RequestSpec(
        "POST",
        "/videos/{source}/remix",
        Body.json({"prompt": PROMPT}),
        billing=BILLABLE,
        compat=True,
    ),
    (200,),
)
_compat(
    "compat.retrieve-source",
    "Retrieve on the compatibility route",
    "Retrieve the source video under the compatibility base path; expects 200 and a valid Video.",
    RequestSpec("GET", "/videos/{source}", billing=FREE, compat=True),
    (200,),
)
_compat(
    "compat.unknown-video",
    "Unknown video on the compatibility route",
    "Remix an unknown video id under the compatibility base path; expects 404 with the error envelope.",
    RequestSpec(
        "POST", "/videos/{unknown}/remix", Body.json({"prompt": "x"}), billing=FREE, compat=True
    ),
    (404,),
)
_compat(
    "compat.missing-auth",
    "No credentials on the compatibility route",
    "Remix without Authorization under the compatibility base path; expects 401 with the error envelope.",
    RequestSpec(
        "POST",
        "/videos/{source}/remix",
        Body.json({"prompt": "x"}),
        auth="none",
        billing=FREE,
        compat=True,
    ),
    (401,),
)
