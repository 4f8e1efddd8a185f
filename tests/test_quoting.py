"""quoting.show: the one way values are quoted into findings and messages."""

from __future__ import annotations

import enum
import json

from remixcheck.contract.quoting import show, show_text


def test_json_syntax_never_python_repr():
    assert show(None) == "null"
    assert show(True) == "true"
    assert show("x") == '"x"'
    assert show({"a": None, "b": [False, 1.5]}) == '{"a": null, "b": [false, 1.5]}'
    assert show(("a", None)) == '["a", null]'
    assert "None" not in show({"k": None})
    assert "'" not in show({"k": "v"})


def test_long_string_is_capped_with_its_length():
    text = show("a" * 32001)
    assert text == '"' + "a" * 200 + '…" (32001 chars)'
    assert len(text) < 230


def test_long_container_is_capped_with_the_length_of_its_json():
    value = {"prompt": "b" * 5000}
    full = json.dumps(value)
    text = show(value, limit=50)
    assert text.startswith(full[:50])
    assert text.endswith(f"… ({len(full)} chars)")


def test_short_values_are_whole_and_limit_is_honoured():
    assert show("a" * 200) == '"' + "a" * 200 + '"'
    assert show("abcdef", limit=3) == '"abc…" (6 chars)'


def test_bytes_enums_and_odd_text_show_as_json_text():
    class Colour(enum.Enum):
        RED = "red"

    assert show(b"caf\xc3\xa9 \xff") == '"café \ufffd"'
    assert show(Colour.RED) == '"red"'
    # a lone surrogate cannot be printed; it shows escaped, and control characters too
    assert show("a\udc80b") == '"a\\udc80b"'
    assert show("line\nbreak\x1b[31m") == '"line\\nbreak\\u001b[31m"'
    show_text("a\udc80").encode("utf-8")
    assert show_text("c" * 300) == "c" * 200 + "… (300 chars)"


def test_too_deep_values_do_not_crash():
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    assert "too deeply" in show(deep)
