"""Every door checks what it is given: tampered and malformed inputs get one line and exit 2.

Each probe is what a new user, a hostile file or a broken CI secret really hands the tool.
None may end in a traceback, an INTERNALERROR, a hang or a request sent anywhere.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import fuzz_case, run_cli
from tests.leaky import KEY, leaked

GET_CASE = fuzz_case()


class Listener:
    """A loopback socket that counts connections: a refused input must connect nowhere."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    listen = Listener()
    yield listen
    listen.close()


def _case(extra: tuple[str, ...] = (), **changes: object) -> Callable[[Path, Listener], list[str]]:
    """A case file with top-level or request fields changed ("request.x" keys)."""

    def make(tmp: Path, listen: Listener) -> list[str]:
        data = json.loads(json.dumps(GET_CASE))
        data["base_url"] = listen.url
        for key, value in changes.items():
            value = value.replace("{port}", str(listen.port)) if isinstance(value, str) else value
            if key.startswith("request."):
                data["request"][key.split(".", 1)[1]] = value
            elif value is _DROP:
                del data[key]
            else:
                data[key] = value
        path = tmp / "case.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        return ["replay", str(path), *(a.replace("{url}", listen.url) for a in extra)]

    return make


_DROP = object()


def _file(name: str, text: str | bytes, *args: str) -> Callable[[Path, Listener], list[str]]:
    def make(tmp: Path, listen: Listener) -> list[str]:
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text.replace("{url}", listen.url), encoding="utf-8")
        return [a.replace("{file}", str(path)).replace("{url}", listen.url) for a in args]

    return make


def _args(*args: str) -> Callable[[Path, Listener], list[str]]:
    def make(tmp: Path, listen: Listener) -> list[str]:
        return [a.replace("{url}", listen.url).replace("{tmp}", str(tmp)) for a in args]

    return make


def _target(**fields: object) -> str:
    table = {"name": "a", "vendor": "openai", "base_url": "{url}", **fields}
    lines = ["[[targets]]"] + [f"{k} = {json.dumps(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def _alias_bomb() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{','.join(['*' + prev] * 9)}]")
    return "\n".join(lines) + "\n"


def _record(url: str) -> str:
    return json.dumps({"request": {"method": "GET", "url": url, "headers": {}}, "response": None})


@dataclass
class Probe:
    make: Callable[[Path, Listener], list[str]]
    says: str  # part of the one line on stderr
    env: dict[str, str] = field(default_factory=dict)
    stdin: str | None = None


RUN = ("run", "--vendor", "openai", "--plan")
PLAN = ("run", "--plan")

PROBES: dict[str, Probe] = {
    # -- replay: the case file is untrusted ---------------------------------------------------
    "case: path with @host:port": Probe(
        _case(**{"request.path": "@127.0.0.1:{port}/v1/videos/x"}), "must start with /"
    ),
    "case: path with CRLF": Probe(
        _case(**{"request.path": "/v1/videos/x\r\nX-Injected: 1"}), "control characters"
    ),
    "case: content type with CRLF": Probe(
        _case(**{"request.content_type": "application/json\r\nX-Injected: 1"}), "content_type"
    ),
    "case: method with CRLF": Probe(_case(**{"request.method": "GET\r\nX: 1"}), "method"),
    "case: CONNECT method": Probe(_case(**{"request.method": "CONNECT"}), "method"),
    "case: invalid base64 body": Probe(
        _case(**{"request.body": "!!!not base64", "request.body_encoding": "base64"}),
        "not valid base64",
    ),
    "case: request not an object": Probe(_case(request=["GET", "/"]), "request must be an object"),
    "case: vendor is a file path": Probe(_case(vendor="/dev/zero"), "not a bundled profile"),
    "case: unknown vendor": Probe(_case(vendor="nope"), "not a bundled profile"),
    "case: origin off loopback": Probe(
        _case(base_url="https://api.openai.com"), "add --base-url https://api.openai.com"
    ),
    "case: names another variable": Probe(
        _case(api_key_env="HOME"), "OPENAI_API_KEY is not set", env={"OPENAI_API_KEY": ""}
    ),
    "case: wrong version": Probe(_case(version=2), "version"),
    "case: version is text": Probe(_case(version="1"), "version"),
    "case: no base_url": Probe(_case(base_url=_DROP), "base_url"),
    "case: base_url not a URL": Probe(_case(base_url="http://[::1"), "not a valid URL"),
    "case: path leaves the base": Probe(
        _case(extra=("--base-url", "{url}/gw"), **{"request.path": "/../admin"}), "leaves"
    ),
    "case: emulator gone": Probe(
        _case(emulator={"faults": [], "job_seconds": 0.5}), "add --emulate"
    ),
    "case: deep JSON": Probe(
        _file(
            "case.json",
            '{"schema": "remixcheck/fuzz-case", "x": ' + "[" * 5000 + "]" * 5000 + "}",
            "replay",
            "{file}",
        ),
        "nested deeper",
    ),
    "case: /dev/zero": Probe(_args("replay", "/dev/zero"), "not a regular file"),
    "case: not JSON": Probe(_file("case.json", "{nope", "replay", "{file}"), "invalid JSON"),
    # -- config files ---------------------------------------------------------------------------
    "config: api_key_env = 5": Probe(
        _file("remixcheck.toml", _target(api_key_env=5), *PLAN, "--config", "{file}"),
        "targets[0].api_key_env: expected a string",
    ),
    "config: video_id = 5": Probe(
        _file("remixcheck.toml", _target(video_id=5), *PLAN, "--config", "{file}"),
        "targets[0].video_id: expected a string",
    ),
    "config: max_billable = -1": Probe(
        _file("remixcheck.toml", _target(max_billable=-1), *PLAN, "--config", "{file}"),
        "max_billable: expected a whole number >= 0",
    ),
    "config: max_billable = 1.5": Probe(
        _file("remixcheck.toml", _target(max_billable=1.5), *PLAN, "--config", "{file}"),
        "max_billable: expected a whole number",
    ),
    "config: name = 5": Probe(
        _file("remixcheck.toml", _target(name=5), *PLAN, "--config", "{file}"),
        "targets[0].name: expected a string",
    ),
    "config: name x[/]": Probe(
        _file("remixcheck.toml", _target(name="x[/]"), *PLAN, "--config", "{file}"),
        "targets[0].name",
    ),
    "config: targets = 5": Probe(
        _file("remixcheck.toml", "targets = 5\n", *PLAN, "--config", "{file}"),
        "targets: expected an array",
    ),
    "config: base_url http://[::1": Probe(
        _file("remixcheck.toml", _target(base_url="http://[::1"), *PLAN, "--config", "{file}"),
        "not a valid URL",
    ),
    "pyproject: tool = 5": Probe(
        _file("p/pyproject.toml", "tool = 5\n", *PLAN, "--config", "{file}"),
        "tool: expected a table",
    ),
    "pyproject: tool.remixcheck = 5": Probe(
        _file("p/pyproject.toml", "[tool]\nremixcheck = 5\n", *PLAN, "--config", "{file}"),
        "tool.remixcheck: expected a table",
    ),
    # -- flags -----------------------------------------------------------------------------------
    "base URL http://[::1": Probe(_args(*RUN, "--base-url", "http://[::1"), "not a valid URL"),
    "base URL port 0": Probe(_args(*RUN, "--base-url", "http://127.0.0.1:0"), "port 0"),
    "base URL with CRLF": Probe(
        _args(*RUN, "--base-url", "http://127.0.0.1\r\nX: y"), "control characters"
    ),
    "base URL with @": Probe(_args(*RUN, "--base-url", "http://a@127.0.0.1"), "credentials"),
    "target name x[/]": Probe(_args(*RUN, "--base-url", "{url}", "--name", "x[/]"), "target name"),
    "--timeout nan": Probe(_args(*RUN, "--base-url", "{url}", "--timeout", "nan"), "finite"),
    "--connect-timeout inf": Probe(
        _args(*RUN, "--base-url", "{url}", "--connect-timeout", "inf"), "--connect-timeout"
    ),
    "--rate nan": Probe(_args(*RUN, "--base-url", "{url}", "--rate", "nan"), "finite"),
    "--job-seconds nan": Probe(_args("run", "--emulate", "--job-seconds", "nan"), "finite"),
    "fuzz --max-time nan": Probe(
        _args("fuzz", "--base-url", "{url}", "--vendor", "openai", "--max-time", "nan"), "finite"
    ),
    # Finite but past any clock: seconds are capped (time_t overflows near 1e11 s).
    "--timeout 1e99": Probe(_args(*RUN, "--base-url", "{url}", "--timeout", "1e99"), "--timeout"),
    "--poll-timeout 1e12": Probe(
        _args(*RUN, "--base-url", "{url}", "--poll-timeout", "1e12"), "--poll-timeout"
    ),
    "fuzz --max-time 1e99": Probe(
        _args("fuzz", "--base-url", "{url}", "--vendor", "openai", "--max-time", "1e99"),
        "--max-time",
    ),
    "--api-key-env with a space": Probe(
        _args(*RUN, "--base-url", "{url}", "--api-key-env", "A B"), "environment variable name"
    ),
    "unknown option": Probe(_args("run", "--port", "1"), "No such option"),
    "serve without --vendor": Probe(_args("serve"), "--vendor"),
    "serve --port 70000": Probe(_args("serve", "--vendor", "openai", "--port", "70000"), "--port"),
    "report of /dev/zero": Probe(_args("report", "/dev/zero"), "not a regular file"),
    "report: targets = 5": Probe(
        _file(
            "results.json",
            '{"schema": "remixcheck/results", "version": 1, "targets": 5}',
            "report",
            "{file}",
            "-o",
            "{file}.html",
        ),
        "not a valid results file",
    ),
    "case: unknown fault with --emulate": Probe(
        _case(extra=("--emulate",), emulator={"faults": ["nope"], "job_seconds": 0.5}),
        "unknown emulator fault",
    ),
    "case: body not text": Probe(_case(**{"request.body": 5}), "request/body"),
    "case: context not an object": Probe(_case(context="x"), "context must be an object"),
    # -- profiles ---------------------------------------------------------------------------------
    "profile: 600-byte alias bomb": Probe(
        _file("bomb.yaml", _alias_bomb(), *RUN, "--base-url", "{url}", "--vendor", "{file}"),
        "alias",
    ),
    "profile: recursive alias": Probe(
        _file("rec.yaml", "a: &a [*a]\n", *RUN, "--base-url", "{url}", "--vendor", "{file}"),
        "recursive",
    ),
    "profile: python tag": Probe(
        _file(
            "tag.yaml",
            "id: !!python/object/apply:os.system ['true']\n",
            *RUN,
            "--base-url",
            "{url}",
            "--vendor",
            "{file}",
        ),
        "invalid YAML",
    ),
    "profile: /dev/zero": Probe(
        _args(*RUN, "--base-url", "{url}", "--vendor", "/dev/zero"), "not a regular file"
    ),
    "profile: a directory": Probe(
        _args(*RUN, "--base-url", "{url}", "--vendor", "{tmp}/"), "not a regular file"
    ),
    # -- captures for validate ----------------------------------------------------------------
    "capture: deep JSON on one line": Probe(
        _file(
            "deep.jsonl",
            "[" * 100_000 + "]" * 100_000 + "\n",
            "validate",
            "{file}",
            "--vendor",
            "openai",
        ),
        "nested deeper",
    ),
    "capture: deep HAR": Probe(
        _file(
            "deep.har",
            '{"log": {"version": "1.2", "pages": '
            + "[" * 100_000
            + "]" * 100_000
            + ', "entries": []}}',
            "validate",
            "{file}",
            "--vendor",
            "openai",
        ),
        "nested deeper",
    ),
    "capture: //[::1 URL": Probe(
        _file("v6.jsonl", _record("//[::1") + "\n", "validate", "{file}", "--vendor", "openai"),
        "could not be read",
    ),
    "capture: empty stdin": Probe(
        _args("validate", "-", "--vendor", "openai"), "empty input", stdin=""
    ),
    "capture: neither HAR nor lines": Probe(
        _file("x.json", '{"a": 1}', "validate", "{file}", "--vendor", "openai"), "neither HAR"
    ),
    "capture: binary": Probe(
        _file("x.bin", bytes(range(256)) * 10, "validate", "{file}", "--vendor", "openai"),
        "neither HAR",
    ),
    # -- keys -------------------------------------------------------------------------------------
    "key with trailing CR": Probe(
        _args("run", "--base-url", "{url}", "--vendor", "openai"),
        "carriage return",
        env={"OPENAI_API_KEY": KEY + "\r"},
    ),
    "key with trailing LF (fuzz)": Probe(
        _args("fuzz", "--base-url", "{url}", "--vendor", "openai"),
        "line feed",
        env={"OPENAI_API_KEY": KEY + "\n"},
    ),
    "emulator key with a space": Probe(
        _args("serve", "--vendor", "openai", "--port", "0"),
        "a space",
        env={"REMIXCHECK_EMULATOR_API_KEY": "sk-a b"},
    ),
}


@pytest.mark.parametrize("probe", PROBES.values(), ids=PROBES.keys())
def test_bad_input_gets_one_line_and_exit_2(
    tmp_path: Path, listener: Listener, probe: Probe
) -> None:
    before = listener.connections
    args = probe.make(tmp_path, listener)
    env = {"OPENAI_API_KEY": KEY, **probe.env}
    out = run_cli(*args, env=env, cwd=tmp_path, timeout=60, stdin=probe.stdin)
    assert out.returncode == 2, out.stdout + out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("remixcheck: error: ")
    assert probe.says in lines[0], lines[0]
    assert "Traceback" not in out.stdout + out.stderr
    assert "internal error" not in lines[0]
    assert len(lines[0]) < 600  # values are quoted capped, never whole
    assert not leaked(out.stdout + out.stderr)
    assert listener.connections == before, "a refused input must send nothing"


PLUGIN_PROBES = {
    "emulate takes a path": (["--remixcheck-emulate", "tests/"], "--remixcheck-emulate=all tests/"),
    "bad base URL": (
        ["--remixcheck-base-url=http://[::1", "--remixcheck-vendor=openai"],
        "not a valid URL",
    ),
    "unknown vendor": (
        ["--remixcheck-base-url=http://127.0.0.1:9", "--remixcheck-vendor=nope"],
        "unknown vendor",
    ),
    "negative budget": (
        ["--remixcheck-emulate=openai", "--remixcheck-max-billable=-1"],
        "--remixcheck-max-billable",
    ),
    "bad config": (["--remixcheck-config=bad.toml"], "targets[0].api_key_env: expected a string"),
    "missing config": (["--remixcheck-config=nope.toml"], "config file not found"),
}


@pytest.mark.parametrize(("args", "says"), PLUGIN_PROBES.values(), ids=PLUGIN_PROBES.keys())
def test_plugin_option_errors_are_usage_errors(
    pytester: pytest.Pytester, args: list[str], says: str
) -> None:
    pytester.makefile(".toml", bad=_target(api_key_env=5).replace("{url}", "http://127.0.0.1:9"))
    pytester.mkdir("tests")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)
    text = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text
    assert "INTERNALERROR" not in text
    assert "Traceback" not in text
    assert says in text
