"""The streamed HAR reader against a whole-file json.load of the same capture.

The reader finds each entry's end by pattern and proves it by decoding (see traffic/harscan),
so these captures put that pattern where it must not fool it: inside body texts, in the
last entry, across the 1 MiB chunks the file is read in, and in entries msgspec refuses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from remixcheck.traffic import harmodel, harscan, recordings


def _entry(i: int, body: str, *, first: str = "startedDateTime") -> dict[str, Any]:
    entry = {
        "request": {
            "method": "GET",
            "url": f"https://api.openai.com/v1/videos/video_{i:04x}",
            "headers": [{"name": "Authorization", "value": "Bearer sk-x"}],
        },
        "response": {
            "status": 200,
            "headers": [{"name": "Content-Type", "value": "application/json"}],
            "content": {"mimeType": "application/json", "text": body},
        },
    }
    return {first: "2026-01-01T00:00:00Z", **entry}


def _tricky_bodies(i: int) -> str:
    # Texts that hold the entry separator: once escaped in a JSON string it cannot match,
    # but the reader must still not cut there.
    return [
        json.dumps({"id": f"video_{i}", "list": [{"a": 1}, {"startedDateTime": 2}]}),
        '}, {"startedDateTime": "x"}]',
        "x" * (i % 7) * 1000,
        json.dumps({"n": i, "s": "é✓"}, ensure_ascii=False),
    ][i % 4]


def _exchanges(path: Path) -> list[tuple[str, str, Any, str]]:
    out = []
    for r in recordings.read(path):
        assert not isinstance(r, recordings.BadRecord), r
        out.append((r.source, r.request.url, r.response and r.response.body, r.request.method))
    return out


def _reference(path: Path, entries: list[dict[str, Any]]) -> list[tuple[str, str, Any, str]]:
    loaded = json.loads(path.read_text(encoding="utf-8"))["log"]["entries"]
    assert loaded == entries
    return [
        (f"{path.name}#entry{n}", e["request"]["url"], e["response"]["content"]["text"], "GET")
        for n, e in enumerate(loaded, start=1)
    ]


@pytest.mark.parametrize("indent", [None, 2])
def test_streamed_entries_equal_a_whole_file_load(tmp_path: Path, indent: int | None) -> None:
    # About 3 MB: entries straddle the chunk boundaries of the reader.
    entries = [_entry(i, _tricky_bodies(i)) for i in range(2600)]
    path = tmp_path / "big.har"
    path.write_text(
        json.dumps({"log": {"version": "1.2", "pages": [], "entries": entries}}, indent=indent),
        encoding="utf-8",
    )
    assert path.stat().st_size > 2 * harscan.CHUNK
    assert _exchanges(path) == _reference(path, entries)


def test_entries_with_other_first_keys_and_keys_after_entries(tmp_path: Path) -> None:
    entries = [
        _entry(i, "{}", first=("pageref", "time", "startedDateTime")[i % 3]) for i in range(30)
    ]
    path = tmp_path / "mixed.har"
    path.write_text(
        json.dumps({"log": {"entries": entries, "comment": "after"}, "extra": [1, 2]}),
        encoding="utf-8",
    )
    assert _exchanges(path) == _reference(path, entries)


def test_entries_msgspec_refuses_are_read_by_the_careful_path(tmp_path: Path) -> None:
    good = json.dumps(_entry(1, "{}"))
    lone = json.dumps(_entry(2, "{}")).replace('"{}"', '"\\ud800"')
    nan = json.dumps({**_entry(3, "{}"), "time": 0}).replace('"time": 0', '"time": NaN')
    path = tmp_path / "odd.har"
    path.write_text('{"log": {"entries": [' + ", ".join([good, lone, nan, good]) + "]}}")
    records = list(recordings.read(path))
    assert [type(r).__name__ for r in records] == ["Exchange"] * 4
    # The lone surrogate is replaced (it could not be written as UTF-8), not kept.
    bodies = [r.response.body for r in records]  # type: ignore[union-attr]
    assert bodies == ["{}", "\ufffd", "{}", "{}"]


def test_a_deep_value_outside_the_entries_is_an_error_not_a_hang(tmp_path: Path) -> None:
    path = tmp_path / "deep.har"
    path.write_text('{"log": {"pages": ' + "[" * 200_000 + "]" * 200_000 + ', "entries": []}}')
    with pytest.raises(recordings.InputError, match="nested deeper"):
        list(recordings.read(path))


def _variants() -> list[dict[str, Any]]:
    base = _entry(7, '{"id": "video_1"}')
    req, resp = base["request"], base["response"]
    return [
        base,
        {**base, "response": None},
        {**base, "response": {}},
        {**base, "response": {**resp, "status": 0}},
        {**base, "response": {**resp, "content": {"text": "aGk=", "encoding": "base64"}}},
        {**base, "response": {**resp, "content": None}},
        {**base, "request": {**req, "method": "post", "postData": {}}},
        {**base, "request": {**req, "postData": {"text": ""}}},
        {
            **base,
            "request": {
                **req,
                "postData": {"params": [{"name": "a", "value": "b"}, {"name": "c"}]},
            },
        },
        {**base, "request": {**req, "headers": []}},
        {**base, "request": {"method": "GET", "url": "https://h:8443/v1/videos/x?y#z"}},
    ]


@pytest.mark.parametrize("entry", _variants())
def test_typed_entries_read_as_the_plain_json_path_reads_them(entry: dict[str, Any]) -> None:
    """An entry msgspec decodes into HAR types must become the same exchange as the same entry
    read as plain JSON (the path every entry the types refuse takes)."""
    typed = harmodel.DECODER.decode(json.dumps(entry))
    assert recordings._from_typed(typed, "s") == recordings._from_har(entry, "s")


@pytest.mark.parametrize(
    "entry",
    [
        {"request": {"method": "", "url": "https://h/v1/videos/x"}},
        {"request": {"method": "GET", "url": "https://h:99999/v1/videos/x"}},
        {"request": {"method": "GET", "url": "https://h/x"}, "response": {"status": 700}},
        {
            "request": {"method": "GET", "url": "https://h/x"},
            "response": {"status": 200, "content": {"text": "*", "encoding": "base64"}},
        },
    ],
)
def test_typed_entries_that_are_bad_records_fail_as_the_plain_path_does(
    entry: dict[str, Any],
) -> None:
    typed = harmodel.DECODER.decode(json.dumps(entry))
    with pytest.raises((TypeError, ValueError)) as plain:
        recordings._from_har(entry, "s")
    with pytest.raises(type(plain.value)) as fast:
        recordings._from_typed(typed, "s")
    assert str(fast.value) == str(plain.value)


@pytest.mark.parametrize("kind", ["har", "jsonl"])
def test_a_byte_order_mark_before_the_capture_is_skipped(tmp_path: Path, kind: str) -> None:
    entries = [_entry(i, "{}") for i in range(3)]
    if kind == "har":
        text = json.dumps({"log": {"entries": entries}})
    else:
        text = "\n".join(
            json.dumps(
                {
                    "request": {**e["request"], "headers": {}},
                    "response": {"status": 200, "body": "{}"},
                }
            )
            for e in entries
        )
    path = tmp_path / f"bom.{kind}"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    records = list(recordings.read(path))
    assert [type(r).__name__ for r in records] == ["Exchange"] * 3
