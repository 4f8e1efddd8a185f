"""Profiles that describe gateways: create fields, encoded ids, routes at the root, known bugs,
and the --name / --vendor PATH flags that go with them, against real emulators."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from remixcheck.contract import profiles as vendors
from remixcheck.contract import resources
from remixcheck.emulator import RunningEmulator, running_emulator
from remixcheck.errors import ProfileError
from remixcheck.fuzzing import createfields
from remixcheck.validation.validator import Validator
from tests.conftest import run_cli

KEY = "sk-GATEWAY-test-0123456789abcdef"
TEMPLATE = "gw:provider:openai;model:sora-2;video_id:{id}"
ENCODING = {
    "prefix": "vid_",
    "scheme": "base64",
    "template": TEMPLATE,
    "native": "(?:^|;)video_id:(?P<id>[^;]+)",
}


def _gateway(tmp_path: Path, mutate: Callable[[dict[str, Any]], None], name: str = "gw") -> Path:
    """A profile of a gateway of our own, derived from the bundled OpenAI one."""
    data = yaml.safe_load((resources.vendors_dir() / "openai.yaml").read_text(encoding="utf-8"))
    data.update(id=name, name="My Gateway", summary="A gateway in front of OpenAI.")
    mutate(data)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _encoded(data: dict[str, Any]) -> None:
    data["video_id"] = {
        "format": "encoded",
        "pattern": "^vid_[A-Za-z0-9+/]+={0,2}$",
        "example": "vid_Z3c6cHJvdmlkZXI6b3BlbmFpO21vZGVsOnNvcmEtMjt2aWRlb19pZDp2aWRlb18xMjM=",
        "encoding": dict(ENCODING),
    }


def test_encoded_ids_round_trip_and_recognise_bare_ids(tmp_path: Path) -> None:
    profile = vendors.load(str(_gateway(tmp_path, _encoded)))
    fmt = profile.video_id
    wrapped = fmt.make("video_abc")
    assert wrapped.startswith("vid_")
    assert wrapped != "vid_video_abc"
    assert fmt.pattern.fullmatch(wrapped)
    assert fmt.native(wrapped) == "video_abc"
    assert fmt.native(wrapped.rstrip("=")) == "video_abc"  # copied without its padding
    assert fmt.native(fmt.example) == "video_123"
    assert fmt.is_bare("video_abc")
    assert not fmt.is_bare(wrapped)
    assert fmt.native("video_abc") == "video_abc"  # a bare id stays as it is
    assert fmt.has_bare_form
    assert not vendors.load("openai").video_id.has_bare_form


def test_create_fields_root_paths_and_passthrough_headers(tmp_path: Path) -> None:
    def gateway(data: dict[str, Any]) -> None:
        data["request"]["create_fields"] = {"model": "sora-2-pro"}
        data["compat_base_paths"] = ["/"]
        data["passthrough_headers"] = ["OpenAI-Poll-After-Ms"]

    profile = vendors.load(str(_gateway(tmp_path, gateway)))
    assert profile.create_fields == (("model", "sora-2-pro"),)
    assert profile.compat_base_paths == ("",)
    assert profile.passthrough_headers == ("openai-poll-after-ms",)
    # Routes at the root are routes of the contract for the validator too.
    validator = Validator(profile)
    route = validator.route("GET", "/videos/video_1")
    assert route is not None
    assert route.operation.operation_id == "GetVideo"
    assert route.compat
    assert route.video_id == "video_1"


def test_known_bugs_explain_nothing_but_name_their_checks(tmp_path: Path) -> None:
    def gateway(data: dict[str, Any]) -> None:
        data["known_bugs"] = [
            {
                "id": "gw.bug.drops-prompt",
                "summary": "Drops prompt from every Video.",
                "evidence": "gw/types.py: no prompt field",
                "checks": ["invariant.prompt-echo", "lifecycle.*"],
            }
        ]
        data["notes"] = "Written from the gateway's code."

    profile = vendors.load(str(_gateway(tmp_path, gateway)))
    bug = profile.known_bug("lifecycle.polls-valid")
    assert bug is not None
    assert bug.id == "gw.bug.drops-prompt"
    assert profile.known_bug("negative.empty-prompt") is None
    assert profile.explain(check="invariant.prompt-echo") is None  # still a violation
    assert profile.notes == "Written from the gateway's code."


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: d["video_id"].update(format="encoded"),
            r"field /video_id/encoding: required when format is encoded",
        ),
        (
            lambda d: (_encoded(d), d["video_id"]["encoding"].update(template="no id here")),
            r"field /video_id/encoding/template: must contain \{id\}",
        ),
        (
            lambda d: (_encoded(d), d["video_id"]["encoding"].update(native="video_id:(.+)")),
            r"field /video_id/encoding/native: needs a group named id",
        ),
        (
            lambda d: (_encoded(d), d["video_id"].update(example="vid_bm90IGVuY29kZWQ=")),
            r"field /video_id/example: does not decode",
        ),
        (
            lambda d: d.update(
                known_bugs=[{"id": "other.bug.x", "summary": "s", "evidence": "e", "checks": ["x"]}]
            ),
            r"field /known_bugs/0/id",
        ),
        (
            lambda d: d["request"].update(create_fields={"prompt": "x"}),
            r"field /request/create_fields",
        ),
        (
            lambda d: d["request"].update(create_fields={"model": 2}),
            r"field /request/create_fields/model",
        ),
    ],
)
def test_malformed_gateway_profile_names_the_field(
    tmp_path: Path, mutate: Callable[[dict[str, Any]], None], message: str
) -> None:
    path = _gateway(tmp_path, mutate)
    with pytest.raises(ProfileError, match=message):
        vendors.load_profile_file(path)


def test_create_fields_go_into_json_and_multipart_bodies() -> None:
    fields = (("model", "sora-2"),)
    as_json = createfields.apply(b'{"prompt": "x", "model": "made-up"}', "application/json", fields)
    assert json.loads(as_json or b"") == {"prompt": "x", "model": "sora-2"}
    # A model of the wrong type is what that case tests: it stays.
    kept = b'{"prompt": "x", "model": 5}'
    assert createfields.apply(kept, "application/json", fields) == kept
    assert createfields.apply(b'{"prompt": "sn', "application/json", fields) == b'{"prompt": "sn'
    assert createfields.apply(b"[1]", "application/json", fields) == b"[1]"
    ctype = "multipart/form-data; boundary=XyZ"
    added = createfields.apply(
        b'--XyZ\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nsnow\r\n--XyZ--\r\n',
        ctype,
        fields,
    )
    replaced = createfields.apply(
        b'--XyZ\r\nContent-Disposition: form-data; name="model"\r\n\r\nabc\r\n--XyZ--\r\n',
        ctype,
        fields,
    )
    for body in (added, replaced):
        assert body is not None
        assert _multipart_fields(body, ctype)["model"] == "sora-2"
    assert _multipart_fields(added or b"", ctype)["prompt"] == "snow"


def _multipart_fields(body: bytes, ctype: str) -> dict[str, str]:
    """The form fields of a multipart body, read by the standard library's MIME parser."""
    from email import policy
    from email.parser import BytesParser

    message = BytesParser(policy=policy.HTTP).parsebytes(
        f"Content-Type: {ctype}\r\n\r\n".encode() + body
    )
    return {
        part.get_param("name", header="content-disposition"): part.get_content().strip()
        for part in message.iter_parts()
    }


@pytest.fixture(scope="module")
def openai_emulator() -> Iterator[RunningEmulator]:
    with running_emulator("openai", api_key=KEY, job_seconds=0.2) as emu:
        yield emu


def test_run_creates_its_source_with_the_create_fields_under_its_name(
    tmp_path: Path, openai_emulator: RunningEmulator
) -> None:
    profile = _gateway(
        tmp_path, lambda d: d["request"].update(create_fields={"model": "sora-2-pro"})
    )
    out = tmp_path / "reports"
    proc = run_cli(
        "run",
        "--base-url",
        openai_emulator.base_url,
        "--vendor",
        str(profile),
        "--name",
        "staging gateway",
        "--api-key-env",
        "GW_KEY",
        "--checks",
        "source.retrieve",
        "--poll-interval",
        "0.1",
        "--report-dir",
        str(out),
        env={"GW_KEY": KEY},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "staging gateway" in proc.stdout
    target = json.loads((out / "results.json").read_text(encoding="utf-8"))["targets"][0]
    assert target["name"] == "staging gateway"
    assert target["vendor"] == "gw"
    created = target["checks"][0]["evidence"][0]
    assert created["request"]["method"] == "POST"
    assert json.loads(created["request"]["body"])["model"] == "sora-2-pro"
    job = openai_emulator.state.jobs[target["source_video_id"]]
    assert job.model == "sora-2-pro"


def test_fuzz_creates_carry_the_create_fields(
    tmp_path: Path, openai_emulator: RunningEmulator
) -> None:
    profile = _gateway(
        tmp_path, lambda d: d["request"].update(create_fields={"model": "sora-2-pro"})
    )
    before = set(openai_emulator.state.jobs)
    proc = run_cli(
        "fuzz",
        "--base-url",
        openai_emulator.base_url,
        "--vendor",
        str(profile),
        "--api-key-env",
        "GW_KEY",
        "--max-requests",
        "60",
        "--seed",
        "3",
        "--report-dir",
        str(tmp_path / "reports"),
        env={"GW_KEY": KEY},
    )
    assert proc.returncode in (0, 1), proc.stderr
    created = [
        job
        for vid, job in openai_emulator.state.jobs.items()
        if vid not in before and job.remixed_from is None
    ]
    assert created, "the fuzz created no video"
    assert {job.model for job in created} == {"sora-2-pro"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--emulate", "--name", "x"], "--name names a --base-url target"),
        (
            ["--base-url", "http://127.0.0.1:9", "--vendor", "openai", "--name", " "],
            "--name must not be empty",
        ),
        (["--config", "nothing.toml", "--name", "x"], "--name names a --base-url target"),
    ],
)
def test_name_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    proc = run_cli("run", *args, env={"OPENAI_API_KEY": "sk-x"}, cwd=tmp_path)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("command", ["run", "fuzz"])
def test_help_says_vendor_takes_a_profile_path(command: str) -> None:
    proc = run_cli(command, "--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    assert "path to a profile .yaml" in text
    assert "--name" in text


def test_litellm_profile_is_a_gateway_without_an_emulator() -> None:
    litellm = vendors.load("litellm")
    assert litellm.create_fields == (("model", "sora-2"),)
    assert litellm.compat_base_paths == ("",)
    # LiteLLM's own encoding (litellm/types/videos/utils.py), as it returns ids.
    returned = (
        "video_bGl0ZWxsbTpjdXN0b21fbGxtX3Byb3ZpZGVyOm9wZW5haTttb2RlbF9pZDpzb3JhLTI7dmlkZW9faWQ6dm"
        "lkZW9fZDRkOGZmNjY1NTg4Yjc2MWY4YjFkNTk1Y2IwMmI0Y2U7ZGVwbG95bWVudF9pZDo1NTQ5MDQ1ZjMzOTY5"
        "MTlhZDIyMzgzYjNhNzBjMjI1MjVhYzIzN2NiYTBiYmMyMzlmOThmMzFhNTVkNzI5NWU4"
    )
    assert litellm.video_id.pattern.fullmatch(returned)
    assert litellm.video_id.native(returned) == "video_d4d8ff665588b761f8b1d595cb02b4ce"
    assert litellm.video_id.is_bare("video_d4d8ff665588b761f8b1d595cb02b4ce")
    assert {b.id for b in litellm.known_bugs} >= {"litellm.bug.drops-prompt"}
    proc = run_cli("run", "--emulate", "litellm")
    assert proc.returncode == 2
    assert "no emulator for 'litellm'" in proc.stderr
    assert "Traceback" not in proc.stderr
