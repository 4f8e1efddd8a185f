"""Hostile JSON bodies: every way a body is not RFC 8259 JSON is data, never a crash."""

from __future__ import annotations

import json
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from remixcheck.contract.findings import Verdict
from remixcheck.traffic import jsonsafe
from tests.test_validate import _remix


def _kinds(result: jsonsafe.Decoded) -> list[tuple[str, str]]:
    return [(p.kind, p.pointer) for p in result.problems]


def test_clean_body_has_no_problems() -> None:
    result = jsonsafe.loads(b'{"a": [1, 2.5, "x", null, true], "b": {"c": "\\u00e9"}}')
    assert result.clean
    assert result.ok
    assert result.value == {"a": [1, 2.5, "x", None, True], "b": {"c": "é"}}


def test_duplicate_keys_are_reported_where_they_are_and_the_last_wins() -> None:
    result = jsonsafe.loads(b'{"a": 1, "b": {"s": "x", "s": "y"}, "a": 2}')
    assert result.ok
    assert result.value == {"a": 2, "b": {"s": "y"}}
    assert type(result.value) is dict
    assert type(result.value["b"]) is dict
    assert _kinds(result) == [("duplicate-key", ""), ("duplicate-key", "/b")]
    assert '"a"' in result.problems[0].message


def test_non_finite_numbers_become_null_with_their_pointer() -> None:
    result = jsonsafe.loads(b'{"p": NaN, "q": [Infinity, -Infinity, 1e999, 1.5]}')
    assert result.ok
    assert result.value == {"p": None, "q": [None, None, None, 1.5]}
    assert _kinds(result) == [
        ("non-finite-number", "/p"),
        ("non-finite-number", "/q/0"),
        ("non-finite-number", "/q/1"),
        ("non-finite-number", "/q/2"),
    ]
    json.dumps(result.value, allow_nan=False)  # the value is safe to write as JSON


def test_lone_surrogates_are_replaced_so_the_value_encodes_as_utf8() -> None:
    body = b'{"s": "a\\ud800b", "k\\udfff": 1, "pair": "\\ud83d\\ude00", "esc": "\\\\ud800"}'
    result = jsonsafe.loads(body)
    assert result.ok
    assert result.value["s"] == "a\ufffdb"
    assert result.value["k\ufffd"] == 1
    assert result.value["pair"] == "\U0001f600"  # a proper pair is not a problem
    assert result.value["esc"] == "\\ud800"  # an escaped backslash is not a surrogate
    assert _kinds(result) == [("lone-surrogate", ""), ("lone-surrogate", "/s")]
    json.dumps(result.value, ensure_ascii=False).encode("utf-8")


def test_raw_surrogates_in_text_input_are_found_too() -> None:
    result = jsonsafe.loads('["\ud800"]')
    assert _kinds(result) == [("lone-surrogate", "/0")]


def test_invalid_utf8_is_a_problem_and_the_rest_is_still_read() -> None:
    result = jsonsafe.loads(b'{"s": "caf\xe9", "n": 1}')
    assert result.ok
    assert result.value == {"s": "caf\ufffd", "n": 1}
    assert _kinds(result) == [("utf-8", "")]
    assert "byte 10 (0xe9)" in result.problems[0].message


def test_deep_nesting_is_refused_without_recursion() -> None:
    limit = jsonsafe.DEFAULT_MAX_DEPTH
    assert jsonsafe.loads(b"[" * limit + b"]" * limit).ok
    for depth in (limit + 1, 10_000, 200_000):
        result = jsonsafe.loads(b"[" * depth + b"]" * depth)
        assert not result.ok
        assert result.value is None
        assert _kinds(result) == [("depth", "")]
    # Brackets inside strings do not count as nesting.
    assert jsonsafe.loads(json.dumps(["[" * 500, {"a": "{" * 500}]).encode()).clean


def test_deep_nesting_in_a_thread_with_a_small_stack() -> None:
    results: list[jsonsafe.Decoded] = []
    old = threading.stack_size(256 * 1024)
    try:
        t = threading.Thread(target=lambda: results.append(jsonsafe.loads(b'{"a":' * 50_000)))
        t.start()
        t.join()
    finally:
        threading.stack_size(old)
    assert not results[0].ok


@pytest.mark.parametrize(
    "body", [b"", b"{", b'{"a": 1} x', b"\xef\xbb\xbf{}", b"1" * 5000, b"nan", b"'a'"]
)
def test_syntax_errors_are_fatal_problems(body: bytes) -> None:
    result = jsonsafe.loads(body)
    assert not result.ok
    assert result.value is None
    assert result.problems[-1].kind == "syntax"
    with pytest.raises(ValueError, match=r"\S"):
        jsonsafe.decode(body)


@pytest.mark.parametrize(
    ("body", "keyword", "pointer"),
    [
        (b'{"id": "video_1", "status": "queued", "status": "completed"}', "duplicate-key", ""),
        (b'{"id": "video_1", "progress": NaN}', "non-finite-number", "/progress"),
        (b'{"id": "video_\\ud800"}', "lone-surrogate", "/id"),
        (b'{"id": "video_\xff"}', "utf-8", ""),
        (b"[" * 10_000 + b"]" * 10_000, "depth", ""),
    ],
)
def test_each_problem_is_a_violation_on_the_exchange(
    body: bytes, keyword: str, pointer: str
) -> None:
    findings = _remix(body=body)
    hits = [f for f in findings if f.keyword == keyword]
    assert len(hits) == 1, findings
    assert hits[0].verdict is Verdict.VIOLATION
    assert hits[0].pointer == pointer
    assert hits[0].check == "response.body"
    for f in findings:  # every finding can be written out as UTF-8 JSON
        json.dumps([f.message, f.actual, f.expected], ensure_ascii=False).encode("utf-8")


# -- the msgspec fast path must agree with the careful path on every input ------------------

_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=20,
)


def _same(data: bytes | str) -> None:
    fast, slow = jsonsafe.loads(data), jsonsafe.careful(data)
    assert fast.problems == slow.problems
    assert json.dumps(fast.value, sort_keys=True) == json.dumps(slow.value, sort_keys=True)
    if fast.ok:
        assert type(fast.value) is type(slow.value)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=_JSON_VALUES, indent=st.sampled_from([None, 1]), as_text=st.booleans())
def test_fast_path_agrees_with_the_careful_path_on_valid_json(
    value: object, indent: int | None, as_text: bool
) -> None:
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    _same(text if as_text else text.encode("utf-8", "surrogatepass"))


@settings(max_examples=300, deadline=None)
@given(
    data=st.lists(
        st.sampled_from(
            [
                "{",
                "}",
                "[",
                "]",
                ",",
                ":",
                '"a"',
                '"a:"',
                '"\\":"',
                "1",
                "1e999",
                "NaN",
                '"\\ud800"',
                '"\\u003a"',
                '"\\ud83d\\ude00"',
                "null",
                " ",
                '"b" :',
                '"a":',
                "\ufeff",
                "\x01",
                "-0",
                "1.5",
            ]
        ),
        max_size=16,
    ).map("".join)
)
def test_fast_path_agrees_with_the_careful_path_on_fragments(data: str) -> None:
    _same(data.encode("utf-8", "surrogatepass"))


@pytest.mark.parametrize(
    "body",
    [
        # A colon inside a string makes the colons outnumber the keys: the duplicate still shows.
        b'{"a": "x:y", "a": 1}',
        b'{"a" : 1, "a" :2}',
        b'{"k": [{"a": 1, "a": 2}], "u": "http://h"}',
        b'{"\\"a": 1, "\\"a": 2}',
        # An escaped colon must not make up for the colon a duplicate dropped.
        b'{"a": 1, "a": "\\u003a"}',
        b'{"a": "\\u003A", "a": "x"}',
    ],
)
def test_duplicates_are_not_hidden_by_the_fast_path(body: bytes) -> None:
    assert "duplicate-key" in {p.kind for p in jsonsafe.loads(body).problems}


def test_fast_path_keeps_big_integers_and_the_depth_limit() -> None:
    big = b'{"n": 123456789012345678901234567890}'
    assert jsonsafe.loads(big).value == {"n": 123456789012345678901234567890}
    deep = b"[" * 101 + b"]" * 101
    assert [p.kind for p in jsonsafe.loads(deep).problems] == ["depth"]
    assert jsonsafe.loads(b"[" * 100 + b"]" * 100).ok
