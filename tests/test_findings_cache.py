"""A validator that has seen many responses judges the next one exactly as a new one does.

The validator keeps what it worked out per (operation, status, content type) and the
findings per combination of schema errors and undeclared names; a key missing one
dimension would hand one response another's findings. Each pair below differs in exactly
one dimension, and a seeded stream mixes them all."""

from __future__ import annotations

import gc
import json
import random
import tracemalloc
from typing import Any

import pytest

from remixcheck.contract import profiles
from remixcheck.contract.findings import Finding
from remixcheck.validation.validator import Validator
from tests.conftest import error_body, video

JSON = {"content-type": "application/json"}
Case = tuple[str, int, dict[str, str], Any]  # operation, status, headers, body (raw JSON)


def _case(body: Any, status: int = 200, op: str = "GetVideo", headers: Any = None) -> Case:
    return (op, status, headers or JSON, json.dumps(body).encode())


def _without(*fields: str, **changes: Any) -> dict[str, Any]:
    body = video(**changes)
    for field in fields:
        del body[field]
    return body


# Pairs that share everything but one dimension of what the validator keeps.
PAIRS: dict[str, tuple[Case, Case]] = {
    "extra name's type": (
        _case(video(latency=1)),
        _case(video(latency="1 ms")),
    ),
    "extra names": (
        _case(video(latency=1)),
        _case(video(latency=1, provider="openai")),
    ),
    "an error joins another": (
        _case(_without("id")),
        _case(_without("id", progress=37.5)),
    ),
    "an error alone then with an extra": (
        _case(_without("id")),
        _case(_without("id", provider="openai")),
    ),
    "operation": (
        _case(_without("id"), op="GetVideo"),
        _case(_without("id"), op="CreateVideoRemix"),
    ),
    "status": (
        _case(error_body(), status=400),
        _case(error_body(), status=418),
    ),
    "content type": (
        _case(video(), headers={"content-type": "application/json"}),
        _case(video(), headers={"content-type": "text/plain"}),
    ),
    "value quoted by the message": (
        _case(video(size="1920x1080")),
        _case(video(size="640x480")),
    ),
    "value a const error does not quote": (  # its message: '"video" was expected'
        _case(video(object="videos")),
        _case(video(object="vid")),
    ),
    "no body after one": (
        _case(video(progress=37.5)),
        ("GetVideo", 200, JSON, b""),
    ),
}


def _same(findings: list[Finding]) -> list[str]:
    return [repr(f) for f in findings]


def _judge_fresh(vendor: str, case: Case) -> list[str]:
    fresh = Validator(profiles.load(vendor))
    op, status, headers, body = case
    return _same(fresh.check_response(fresh.contract.operation(op), status, headers, body))


def _judge(validator: Validator, case: Case) -> list[str]:
    op, status, headers, body = case
    return _same(validator.check_response(validator.contract.operation(op), status, headers, body))


@pytest.mark.parametrize("vendor", ["openai", "bifrost"])
@pytest.mark.parametrize("dimension", sorted(PAIRS))
def test_a_response_differing_in_one_dimension_gets_its_own_findings(
    vendor: str, dimension: str
) -> None:
    first, second = PAIRS[dimension]
    assert _judge_fresh(vendor, first) != _judge_fresh(vendor, second), "a pair must differ"
    warm = Validator(profiles.load(vendor))
    for case in (first, second, first, second):
        assert _judge(warm, case) == _judge_fresh(vendor, case)


def _mutated(rng: random.Random) -> Case:
    """A Video or error body with a few of the deviations gateways make, in any order."""
    if rng.random() < 0.2:
        body: dict[str, Any] = error_body()
        status = rng.choice((400, 404, 500))
        if rng.random() < 0.5:
            body = {"message": "flat"} if rng.random() < 0.5 else {"error": {"code": 1}}
        return _case(body, status=status)
    body = video()
    for _ in range(rng.randrange(4)):
        roll = rng.random()
        if roll < 0.3:
            body.pop(rng.choice(sorted(body)), None)
        elif roll < 0.6:
            field, bad = rng.choice(
                [("progress", 37.5), ("seconds", 8), ("id", None), ("size", "1920x1080")]
            )
            body[field] = bad
        else:
            body[rng.choice(("latency", "provider", "videos"))] = rng.choice((1, "x", None, []))
    items = list(body.items())
    rng.shuffle(items)
    return _case(dict(items), op=rng.choice(("GetVideo", "CreateVideoRemix")))


@pytest.mark.parametrize("vendor", ["openai", "bifrost", "litellm"])
def test_a_stream_of_recurring_deviations_is_judged_as_each_alone(vendor: str) -> None:
    rng = random.Random(18)
    cases = [_mutated(rng) for _ in range(150)]
    stream = [rng.choice(cases) for _ in range(600)]  # recurring, as a gateway's are
    warm = Validator(profiles.load(vendor))
    fresh = {id(case): _judge_fresh(vendor, case) for case in cases}
    assert sum(1 for f in fresh.values() if f) > 60, "most cases must have findings"
    for case in stream:
        assert _judge(warm, case) == fresh[id(case)]


@pytest.mark.parametrize(
    ("names", "responses"),
    [("new in every response", 400), ("a new subset of a few hundred", 1200)],
)
def test_what_is_kept_stays_bounded_whatever_the_server_sends(names: str, responses: int) -> None:
    """Bodies with hundreds of undeclared names (a hostile or broken server): the findings
    kept weigh by what they hold, so memory stays flat."""
    validator = Validator(profiles.load("openai"))
    op = validator.contract.operation("GetVideo")
    rng = random.Random(7)

    def judge(first: int, count: int) -> None:
        for i in range(first, first + count):
            if names == "new in every response":
                extra = {f"x{i}_{k}": k for k in range(200)}
            else:
                extra = {f"p{k}": k for k in sorted(rng.sample(range(400), 200))}
            body = video(**extra)
            findings = validator.check_response(op, 200, JSON, json.dumps(body).encode())
            assert len(findings) == 200

    judge(0, 50)  # the caches and the interpreter settle
    gc.collect()
    tracemalloc.start()
    try:
        judge(50, responses)
        gc.collect()
        kept, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Kept for every body, that is ~50 MB of findings (new names) or ~27 MB of combinations
    # (subsets); bounded, under 10 MB.
    assert kept < 15_000_000, f"{kept / 1e6:.0f} MB kept after {responses} responses"
