"""`parse_multipart` (python-multipart) held to what real clients encode, and to the standard
library's email parser, which it replaced, on valid and broken bodies alike."""

from __future__ import annotations

from email.parser import BytesParser
from email.policy import HTTP

import httpx
import pytest
import urllib3
from hypothesis import given, settings
from hypothesis import strategies as st

from remixcheck.validation.requests import parse_multipart

# Names as clients send them unescaped: httpx and browsers percent-escape control characters
# and quotes in a name (WHATWG), which no form-data parser undoes.
names = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"), exclude_characters='"\\%'),
    min_size=1,
)
values = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)))
fields = st.dictionaries(names, values, min_size=1, max_size=5)


def _email(content_type: str, body: bytes) -> dict[str, str]:
    """The standard library's reading, as parse_multipart did before (the oracle)."""
    msg = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    parts = list(msg.iter_parts()) if msg.is_multipart() else []
    if not parts or msg.defects:
        raise ValueError("no parts, or the closing boundary is missing")
    out = {}
    for part in parts:
        name = part.get_param("name", header="content-disposition")
        if not name:
            raise ValueError("no name")
        filename = part.get_filename()
        if filename is not None:
            out[str(name)] = f"<file {filename}>"
        else:
            payload = part.get_payload(decode=True)
            out[str(name)] = (payload or b"").decode(part.get_content_charset() or "utf-8")
    return out


@settings(max_examples=150, deadline=None)
@given(fields)
def test_what_httpx_encodes_reads_back(form: dict[str, str]) -> None:
    request = httpx.Request("POST", "http://x/", data=form, files={"f": ("a.png", b"\x89PNG")})
    body = request.read()
    ctype = request.headers["content-type"]
    assert parse_multipart(ctype, body) == {**form, "f": "<file a.png>"}


@settings(max_examples=150, deadline=None)
@given(fields)
def test_what_urllib3_encodes_reads_as_the_email_parser_reads_it(form: dict[str, str]) -> None:
    body, ctype = urllib3.encode_multipart_formdata(form)
    assert parse_multipart(ctype, body) == form
    ascii_names = all(name.isascii() for name in form)
    if ascii_names:  # the email parser mangles non-ASCII parameter bytes (it reads MIME)
        assert _email(ctype, body) == form


GOOD = b'--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nsnow\r\n--b--\r\n'
BROKEN = {
    "not multipart at all": b"garbage",
    "no closing boundary": GOOD[:-8],
    "no parts": b"--b--\r\n",
    "a part without a name": b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--\r\n",
    "a part without headers": b"--b\r\n\r\nx\r\n--b--\r\n",
    "empty": b"",
}


@pytest.mark.parametrize("body", BROKEN.values(), ids=BROKEN.keys())
def test_broken_bodies_are_refused_as_the_email_parser_refuses_them(body: bytes) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 (the message varies with the parser)
        _email("multipart/form-data; boundary=b", body)
    with pytest.raises(ValueError):  # noqa: PT011
        parse_multipart("multipart/form-data; boundary=b", body)


def test_the_details_each_part_may_carry() -> None:
    ctype = "multipart/form-data; boundary=b"
    assert parse_multipart(ctype, GOOD) == {"prompt": "snow"}
    latin = (
        b'--b\r\nContent-Disposition: form-data; name="p"\r\n'
        b"Content-Type: text/plain; charset=latin-1\r\n\r\ncaf\xe9\r\n--b--\r\n"
    )
    assert parse_multipart(ctype, latin) == {"p": "café"}
    unknown = latin.replace(b"latin-1", b"x-no-such-charset")
    assert parse_multipart(ctype, unknown) == {"p": "caf\ufffd"}
    with pytest.raises(ValueError, match="no boundary"):
        parse_multipart("multipart/form-data", GOOD)
    with pytest.raises(ValueError, match="must be text"):
        parse_multipart(ctype, 12)


def test_a_refusal_prints_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        parse_multipart("multipart/form-data; boundary=b", b"garbage")
    assert capfd.readouterr().err == ""


# What this parser decides where the email parser read mail: pinned, each on purpose.
CTYPE = "multipart/form-data; boundary=b"


def test_a_preamble_before_the_first_boundary_means_nothing() -> None:
    assert parse_multipart(CTYPE, b"ignored text\r\n" + GOOD) == {"prompt": "snow"}


def test_bare_lf_line_endings_are_refused_with_the_reason() -> None:
    # Starlette (python-multipart) refuses such a body too: judged as servers read it.
    with pytest.raises(ValueError, match="bare LF"):
        parse_multipart(CTYPE, GOOD.replace(b"\r\n", b"\n"))


def test_a_transfer_encoding_is_not_decoded() -> None:
    # RFC 7578 section 4.7: senders must not use Content-Transfer-Encoding in form-data, and
    # servers do not decode it: the field holds what was sent.
    body = (
        b'--b\r\nContent-Disposition: form-data; name="prompt"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\nc25vdw==\r\n--b--\r\n"
    )
    assert parse_multipart(CTYPE, body) == {"prompt": "c25vdw=="}


def test_a_file_named_the_rfc_5987_way_is_still_a_file() -> None:
    body = (
        b'--b\r\nContent-Disposition: form-data; name="input_reference"; '
        b"filename*=utf-8''%C3%A9.png\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n--b--\r\n"
    )
    assert parse_multipart(CTYPE, body) == {"input_reference": "<file é.png>"}
