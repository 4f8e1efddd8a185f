"""Vendor profiles load, say how to talk to each vendor, and fail clearly when malformed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from remixcheck.contract import profiles as vendors
from remixcheck.contract import resources
from remixcheck.errors import ProfileError
from tests.conftest import run_cli


def test_bundled_profiles_load() -> None:
    assert vendors.available() == ["aihubmix", "apifree", "bifrost", "litellm", "openai"]
    for name in vendors.available():
        # load() trusts bundled files; this holds them to the profile schema.
        vendors.load_profile_file(resources.vendors_dir() / f"{name}.yaml", check_schema=True)
        profile = vendors.load(name)
        assert profile.id == name
        assert profile.base_paths[0] == "/v1"
        for d in profile.deviations:
            assert d.id.startswith(name + ".")
            assert d.reason
            assert d.source


def test_dialect_facts() -> None:
    apifree, bifrost, aihubmix, openai = (
        vendors.load(n) for n in ("apifree", "bifrost", "aihubmix", "openai")
    )
    assert apifree.compat_base_paths == ("/v1/openai",)
    assert apifree.content_types == ("application/json",)
    assert bifrost.video_id.format == "id-provider"
    assert bifrost.video_id.make("video_1") == "video_1:openai"
    assert bifrost.video_id.native("video_1:openai") == "video_1"
    assert bifrost.video_id.pattern.fullmatch("video_1:openai")
    assert not bifrost.video_id.pattern.fullmatch("video_1")
    assert bifrost.error_envelope == "bifrost"
    assert bifrost.prompt_max_length is None
    assert aihubmix.key_prefix == "sk-gateway-"
    assert aihubmix.preferred_content_type == "multipart/form-data"
    assert openai.poll_after_header == "openai-poll-after-ms"
    assert openai.deviations == ()


def test_deviation_matchers() -> None:
    bifrost = vendors.load("bifrost")
    common = {"check": "response.body", "where": "response", "operation": "GetVideo", "status": 200}
    assert (
        bifrost.explain(**common, keyword="type", pointer="/progress", actual=37.5)
        == "bifrost.float-progress"
    )
    # A string progress is not what Bifrost documents: it stays unexplained.
    assert bifrost.explain(**common, keyword="type", pointer="/progress", actual="37") is None
    assert (
        bifrost.explain(**common, keyword="required", pointer="/completed_at")
        == "bifrost.omits-empty-fields"
    )
    assert bifrost.explain(**common, keyword="required", pointer="/id") is None
    err = {**common, "status": 404}
    assert (
        bifrost.explain(**err, keyword="required", pointer="/error/type")
        == "bifrost.error-envelope"
    )
    assert (
        bifrost.explain(**{**err, "status": 200}, keyword="required", pointer="/error/type") is None
    )
    assert (
        bifrost.explain(check="negative.prompt-too-long")
        == "bifrost.prompt-max-length-not-enforced"
    )
    assert vendors.load("openai").explain(check="negative.prompt-too-long") is None


def _write_profile(tmp_path: Path, mutate: object, name: str = "openai") -> Path:
    data = yaml.safe_load((resources.vendors_dir() / f"{name}.yaml").read_text(encoding="utf-8"))
    mutate(data)  # type: ignore[operator]
    path = tmp_path / f"{data.get('id', name)}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("auth"), r'field \(top level\): required property "auth" is missing'),
        (
            lambda d: d["request"].update(content_types=["text/plain"]),
            r'field /request/content_types/0: "text/plain" is not one of',
        ),
        (
            lambda d: d["video_id"].update(format="uuid"),
            r'field /video_id/format: "uuid" is not one of',
        ),
        (
            lambda d: d.update(base_paths=["v1"]),
            r'field /base_paths/0: "v1" does not satisfy pattern',
        ),
        (
            lambda d: d.update(
                deviations=[{"id": "openai.x", "reason": "r", "source": "seed 004"}]
            ),
            r'field /deviations/0: required property "match" is missing',
        ),
        (
            lambda d: d.update(
                deviations=[
                    {
                        "id": "openai.x",
                        "reason": "r",
                        "source": "s 1",
                        "match": [{"where": "inside"}],
                    }
                ]
            ),
            r"field /deviations/0/match/0/where",
        ),
        (
            lambda d: d.update(
                deviations=[{"id": "other.x", "reason": "r", "source": "s 1", "match": []}]
            ),
            r'field /deviations/0/id: must start with "openai"',
        ),
        (lambda d: d["video_id"].update(pattern="(unclosed"), r"field /video_id/pattern"),
        (
            lambda d: d["video_id"].update(example="a/b"),
            r'field /video_id/example: "a/b" does not match the pattern',
        ),
        (
            lambda d: d["request"].update(
                preferred_content_type="multipart/form-data", content_types=["application/json"]
            ),
            r"field /request/preferred_content_type",
        ),
        (lambda d: d.update(surprise=1), r'property "surprise" is not allowed here'),
    ],
)
def test_malformed_profile_names_file_and_field(
    tmp_path: Path, mutate: object, message: str
) -> None:
    path = _write_profile(tmp_path, mutate)
    with pytest.raises(ProfileError, match=message) as info:
        vendors.load_profile_file(path)
    assert str(path) in str(info.value)
    # Values are quoted as the file writes them, never as Python reprs.
    assert not re.search(
        r"'[^']*'|\bNone\b|\bTrue\b|\bFalse\b", str(info.value).replace(str(path), "")
    )


def test_profile_id_must_match_file_name(tmp_path: Path) -> None:
    path = _write_profile(tmp_path, lambda d: None)
    renamed = path.rename(tmp_path / "other.yaml")
    with pytest.raises(ProfileError, match=r'field /id: "openai" must match the file name "other"'):
        vendors.load_profile_file(renamed)


def test_profile_yaml_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: bad\nname: [\n", encoding="utf-8")
    with pytest.raises(ProfileError, match=r"bad\.yaml: line \d+, column \d+: invalid YAML"):
        vendors.load_profile_file(bad)
    with pytest.raises(
        ProfileError,
        match="unknown vendor 'nope'; known vendors: aihubmix, apifree, bifrost, litellm, openai",
    ):
        vendors.load("nope")


def test_cli_vendors_and_spec() -> None:
    out = run_cli("vendors")
    assert out.returncode == 0, out.stderr
    for name in ("openai", "aihubmix", "apifree", "bifrost", "/v1/openai", "video_abc123:openai"):
        assert name in out.stdout
    spec = run_cli("spec")
    assert spec.returncode == 0
    assert Path(spec.stdout.strip()).read_text(encoding="utf-8").startswith("openapi: 3.1.0")


def test_cli_with_malformed_profile_path_is_one_line(tmp_path: Path) -> None:
    path = _write_profile(tmp_path, lambda d: d.pop("auth"))
    traffic = tmp_path / "t.jsonl"
    traffic.write_text(
        '{"request": {"method": "GET", "url": "https://x/v1/videos/v"}}\n', encoding="utf-8"
    )
    out = run_cli("validate", str(traffic), "--vendor", str(path))
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert out.stderr.strip().count("\n") == 0
    assert 'required property "auth" is missing' in out.stderr
