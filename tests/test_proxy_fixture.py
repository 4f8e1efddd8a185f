"""The remixcheck_proxy fixture: a team's own test gains contract validation of its traffic."""

from __future__ import annotations

import pytest

from remixcheck.emulator import running_emulator

KEY = "sk-fixture-SECRET-0000111122223333"

TESTS = """
import httpx
import openai
import pytest

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def remix_and_poll(proxy, key, source):
    sdk = openai.OpenAI(base_url=proxy.base_url + "/v1", api_key=key, max_retries=0)
    job = sdk.videos.remix(source, prompt="snow")
    return sdk.videos.poll(job.id, poll_interval_ms=20)


def test_faithful(remixcheck_proxy):
    p = remixcheck_proxy
    assert remix_and_poll(p, p.api_key, p.source_video_id).status == "completed"


@pytest.mark.remixcheck(vendor="openai", faults=["string-progress"])
def test_client_passes_but_the_vendor_broke_the_contract(remixcheck_proxy):
    p = remixcheck_proxy
    remix_and_poll(p, p.api_key, p.source_video_id)  # the SDK does not mind


@pytest.mark.remixcheck(vendor="bifrost", upstream="{upstream}")
def test_explicit_upstream_with_documented_deviations(remixcheck_proxy):
    p = remixcheck_proxy
    assert p.upstream == "{upstream}"
    assert remix_and_poll(p, "{key}", "{source}").status == "completed"
    assert p.results()["targets"][0]["vendor"] == "bifrost"


@pytest.mark.remixcheck(vendor="bifrost", upstream="{upstream}", strict=True)
def test_strict_fails_on_deviations(remixcheck_proxy):
    remix_and_poll(remixcheck_proxy, "{key}", "{source}")
"""


def test_fixture_fails_tests_whose_traffic_breaks_the_contract(pytester: pytest.Pytester) -> None:
    with running_emulator("bifrost", api_key=KEY, job_seconds=0.2) as emu:
        pytester.makepyfile(
            TESTS.replace("{upstream}", emu.base_url)
            .replace("{key}", KEY)
            .replace("{source}", emu.source_video_id)
        )
        result = pytester.runpytest("-p", "no:cacheprovider", "-rf")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*_ test_client_passes_but_the_vendor_broke_the_contract _*",
            "remixcheck_proxy: * exchange(s) broke the contract:",
            'violation GET /v1/videos/* -> 200: /progress: "*" is not of type "integer" [[]response.body]',
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*_ test_strict_fails_on_deviations _*",
            "remixcheck_proxy: * exchange(s) broke the contract:",
            "deviation * [[]documented: bifrost.*",
        ]
    )
    assert KEY not in result.stdout.str()
