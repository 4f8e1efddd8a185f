"""Every injectable fault shows its broken behaviour, and only with the fault switched on."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from remixcheck.contract import profiles as vendors
from remixcheck.emulator import FAULT_SPECS, FAULTS, TRIGGERS, RunningEmulator, running_emulator
from remixcheck.emulator.faults import ALL_VENDORS

VIDEO_STATUSES = {"queued", "in_progress", "completed", "failed"}


def _client(emu: RunningEmulator, auth: bool = True) -> httpx.Client:
    headers = {"Authorization": f"Bearer {emu.api_key}"} if auth else {}
    return httpx.Client(base_url=emu.base_url, headers=headers, timeout=10)


def _remix(
    emu: RunningEmulator, body: dict[str, Any], video_id: str | None = None, auth: bool = True
) -> list[httpx.Response]:
    with _client(emu, auth) as c:
        return [c.post(f"/v1/videos/{video_id or emu.source_video_id}/remix", json=body)]


def _get(emu: RunningEmulator, video_id: str, times: int = 1) -> list[httpx.Response]:
    with _client(emu) as c:
        return [c.get(f"/v1/videos/{video_id}") for _ in range(times)]


def _remix_then_retrieve(emu: RunningEmulator) -> list[httpx.Response]:
    with _client(emu) as c:
        remix = c.post(f"/v1/videos/{emu.source_video_id}/remix", json={"prompt": "snow"})
        return [remix, c.get(f"/v1/videos/{remix.json()['id']}")]


def _post_raw(emu: RunningEmulator, content: bytes, content_type: str) -> list[httpx.Response]:
    with _client(emu) as c:
        url = f"/v1/videos/{emu.source_video_id}/remix"
        return [c.post(url, content=content, headers={"Content-Type": content_type})]


def _put_remix(emu: RunningEmulator) -> list[httpx.Response]:
    with _client(emu) as c:
        return [c.put(f"/v1/videos/{emu.source_video_id}/remix", json={"prompt": "snow"})]


def _error(r: httpx.Response) -> dict[str, Any]:
    inner = _json(r).get("error")
    assert isinstance(inner, dict), r.text
    return inner


# How to send each trigger of faults.TRIGGERS.
SEND: dict[str, Callable[[RunningEmulator], list[httpx.Response]]] = {
    "remix": lambda e: _remix(e, {"prompt": "snow"}),
    "retrieve": lambda e: _get(e, e.source_video_id),
    "retrieve-twice": lambda e: _get(e, e.source_video_id, times=2),
    "retrieve-pending-twice": lambda e: _get(e, e.pending_video_id, times=2),
    "remix-then-retrieve": _remix_then_retrieve,
    "remix-empty-prompt": lambda e: _remix(e, {"prompt": ""}),
    "remix-long-prompt": lambda e: _remix(e, {"prompt": "x" * 32001}),
    "remix-no-auth": lambda e: _remix(e, {"prompt": "snow"}, auth=False),
    "remix-pending": lambda e: _remix(e, {"prompt": "snow"}, video_id=e.pending_video_id),
    "retrieve-unknown": lambda e: _get(e, vendors.load(e.vendor).video_id.make("video_nope")),
    "remix-invalid-type": lambda e: _remix(e, {"prompt": 12345}),
    "remix-non-object": lambda e: _post_raw(e, b"0", "application/json"),
    "remix-json-as-text": lambda e: _post_raw(e, b'{"prompt": "snow"}', "text/plain"),
    "wrong-method": _put_remix,
}


def _json(r: httpx.Response) -> dict[str, Any]:
    body = r.json()
    assert isinstance(body, dict)
    return body


# What each fault looks like on the wire: True when the responses show the break.
BROKEN: dict[str, Callable[[list[httpx.Response]], bool]] = {
    "drop-field": lambda rs: rs[0].status_code == 200 and "object" not in _json(rs[0]),
    "wrong-enum": lambda rs: _json(rs[0]).get("status") not in VIDEO_STATUSES,
    "string-progress": lambda rs: isinstance(_json(rs[0]).get("progress"), str),
    "null-id": lambda rs: "id" in _json(rs[0]) and _json(rs[0])["id"] is None,
    "no-remixed-from": lambda rs: _json(rs[1]).get("remixed_from_video_id") is None,
    "wrong-content-type": lambda rs: (
        not rs[0].headers["content-type"].startswith("application/json")
    ),
    "remix-returns-201": lambda rs: rs[0].status_code == 201,
    "status-500-on-remix": lambda rs: rs[0].status_code == 500,
    "wrong-error-envelope": lambda rs: (
        rs[0].status_code >= 400 and set(_json(rs[0])) == {"message"}
    ),
    "skip-auth": lambda rs: rs[0].status_code == 200,
    "accept-empty-prompt": lambda rs: rs[0].status_code == 200,
    "accept-long-prompt": lambda rs: rs[0].status_code == 200,
    "ignore-not-completed": lambda rs: rs[0].status_code == 200,
    "progress-decreases": lambda rs: _json(rs[1])["progress"] < _json(rs[0])["progress"],
    "null-param": lambda rs: "param" in _error(rs[0]) and _error(rs[0])["param"] is None,
    "status-as-code": lambda rs: _error(rs[0]).get("code") == str(rs[0].status_code),
    "upstream-json-message": lambda rs: _error(rs[0])["message"].startswith('{"error"'),
    "foreign-id-in-message": lambda rs: "video_upstream_" in _error(rs[0])["message"],
    "foreign-remixed-from": lambda rs: (
        "video_upstream_" in str(_json(rs[1]).get("remixed_from_video_id"))
    ),
    "crash-on-non-object": lambda rs: rs[0].status_code == 500,
    "ignore-content-type": lambda rs: rs[0].status_code == 200,
    "drop-poll-after": lambda rs: "openai-poll-after-ms" not in rs[0].headers,
    "framework-405": lambda rs: rs[0].status_code == 405 and "detail" in _json(rs[0]),
    "status-regresses": lambda rs: (
        _json(rs[0])["status"] == "completed" and _json(rs[1])["status"] != "completed"
    ),
}

CASES = [
    pytest.param(name, vendor, id=f"{name}-{vendor}")
    for name, spec in FAULT_SPECS.items()
    for vendor in spec.vendors
]


@pytest.fixture(scope="module")
def clean() -> Iterator[dict[str, RunningEmulator]]:
    """A fault-free emulator per vendor: the same trigger must not show the break there."""
    with (
        running_emulator("openai") as a,
        running_emulator("aihubmix") as b,
        running_emulator("apifree") as c,
        running_emulator("bifrost") as d,
    ):
        yield {e.vendor: e for e in (a, b, c, d)}


def test_registry_is_complete_and_consistent() -> None:
    assert len(FAULTS) >= 12
    assert set(FAULTS) == set(FAULT_SPECS) == set(BROKEN)
    assert set(TRIGGERS) == set(SEND)
    for name, spec in FAULT_SPECS.items():
        assert spec.name == name
        assert FAULTS[name] == spec.description
        assert spec.trigger in TRIGGERS
        assert spec.operation in ("createVideo", "GetVideo", "CreateVideoRemix", "lifecycle")
        assert spec.vendors
        assert set(spec.vendors) <= set(ALL_VENDORS)
        assert (spec.argument is None) is (spec.default is None)


@pytest.mark.parametrize(("fault", "vendor"), CASES)
def test_fault_shows_its_break(fault: str, vendor: str, clean: dict[str, RunningEmulator]) -> None:
    spec = FAULT_SPECS[fault]
    send, broken = SEND[spec.trigger], BROKEN[fault]
    assert not broken(send(clean[vendor])), "the clean emulator must not show the break"
    with running_emulator(vendor, faults=[fault]) as emu:
        assert broken(send(emu))
        # Apart from the break, the emulator keeps serving.
        with _client(emu) as c:
            assert c.get(f"/v1/videos/{emu.source_video_id}").status_code < 500


@pytest.mark.parametrize("vendor", ALL_VENDORS)
def test_faults_not_listed_for_a_vendor_are_what_it_documents(
    vendor: str, clean: dict[str, RunningEmulator]
) -> None:
    """Where a fault is left out for a vendor, the clean vendor already behaves that way."""
    for name, spec in FAULT_SPECS.items():
        if vendor not in spec.vendors:
            assert BROKEN[name](SEND[spec.trigger](clean[vendor])), name


def test_drop_field_takes_the_field_as_argument() -> None:
    with running_emulator("openai", faults=["drop-field:prompt"]) as emu:
        body = _json(_remix(emu, {"prompt": "snow"})[0])
    assert "prompt" not in body
    assert body["object"] == "video"


def test_faults_combine() -> None:
    with running_emulator(
        "openai", faults=["skip-auth", "remix-returns-201", "string-progress"]
    ) as emu:
        r = _remix(emu, {"prompt": "snow"}, auth=False)[0]
    assert r.status_code == 201
    assert r.json()["progress"] == "0"
