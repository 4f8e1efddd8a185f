"""pytest plugin: the conformance catalogue as test items, and fixtures for users' own tests.

Loaded in every pytest session where remixcheck is installed, so it imports only pytest
and the standard library at load; the runner, emulators and HTML stack load on first use.
Without a --remixcheck-* target option it collects nothing.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from remixcheck.contract.origins import label
from remixcheck.contract.quoting import show

if TYPE_CHECKING:
    from remixcheck.conformance.targets import Target
    from remixcheck.emulator import RunningEmulator
    from remixcheck.validation.validator import ExchangeResult

SHARED_DIR_KEY = "remixcheck_shared_dir"
EMULATOR_KEY_ENV = "REMIXCHECK_EMULATOR_API_KEY"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("remixcheck", "remixcheck: contract tests of the video remix API")
    group.addoption(
        "--remixcheck-base-url", help="Run the conformance catalogue against this base URL."
    )
    group.addoption(
        "--remixcheck-vendor",
        help="Vendor profile of --remixcheck-base-url; default vendor of the fixtures.",
    )
    group.addoption(
        "--remixcheck-api-key-env",
        help="Environment variable holding the key (default: the vendor's).",
    )
    group.addoption("--remixcheck-video-id", help="An existing completed video to remix.")
    group.addoption(
        "--remixcheck-max-billable",
        type=int,
        help="Cap on requests that may start a paid job, per target, shared by all xdist workers.",
    )
    group.addoption(
        "--remixcheck-emulate",
        nargs="?",
        const="all",
        help="Run against the bundled emulators: 'all' (default) or a comma-separated list of vendors.",
    )
    group.addoption(
        "--remixcheck-config",
        nargs="?",
        const="",
        help="Run the [[targets]] of this config (default: ./remixcheck.toml or [tool.remixcheck] in ./pyproject.toml).",
    )
    group.addoption(
        "--remixcheck-checks", help="Comma-separated shell patterns of check ids to collect."
    )
    group.addoption(
        "--remixcheck-report",
        help="Write the HTML compatibility report here (results.json beside it).",
    )
    group.addoption(
        "--remixcheck-strict",
        action="store_true",
        help="Documented deviations fail instead of xfail.",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "remixcheck(vendor=None, faults=(), strict=None): vendor profile (and emulator faults) for the remixcheck fixtures.",
    )
    if not _enabled(config):
        return
    config.stash[_STATE] = _State(config)


def _enabled(config: pytest.Config) -> bool:
    return any(
        config.getoption(name) is not None
        for name in ("remixcheck_base_url", "remixcheck_emulate", "remixcheck_config")
    )


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist, on the controller: tell each worker where the shared budget and results live."""
    state = node.config.stash.get(_STATE, None)
    if state is not None:
        node.workerinput[SHARED_DIR_KEY] = str(state.shared_dir)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    state = config.stash.get(_STATE, None)
    if state is None:
        return
    for spec in state.target_specs():
        collector = RemixcheckTarget.from_parent(
            session, name=spec.name, nodeid=f"remixcheck/{spec.name}"
        )
        collector.spec = spec
        items.extend(session.genitems(collector))


def pytest_sessionfinish(session: pytest.Session) -> None:
    state = session.config.stash.get(_STATE, None)
    if state is not None:
        state.finish(session.config)


# -- collection -------------------------------------------------------------------------


@dataclass
class _TargetSpec:
    name: str
    vendor: str
    target: Target | None  # None for emulators, started when the target first runs
    checks: list[str] = field(default_factory=list)


class RemixcheckTarget(pytest.Collector):
    """One target of the conformance run; its children are the checks."""

    spec: _TargetSpec

    def collect(self) -> list[pytest.Item]:
        items: list[pytest.Item] = []
        for check_id in self.spec.checks:
            items.append(RemixcheckItem.from_parent(self, name=check_id))
        return items


class CheckFailed(Exception):
    """A check ended in violation (or deviation under --remixcheck-strict)."""


class RemixcheckItem(pytest.Item):
    """One target x check."""

    def runtest(self) -> None:
        parent = self.parent
        assert isinstance(parent, RemixcheckTarget)
        state: _State = self.config.stash[_STATE]
        result = state.result_for(self.session, parent.spec, self.name)
        outcome = result["outcome"]
        if outcome == "skipped":
            pytest.skip(result["reason"])
        if outcome == "error":
            raise CheckFailed(f"remixcheck could not complete {self.name}: {result['reason']}")
        if outcome == "precondition":
            # Not a verdict on the server, but nothing was proven either: fail with the fix.
            raise CheckFailed(f"precondition for {self.name} not met: {result['reason']}")
        if outcome == "violation" or (outcome == "deviation" and state.strict):
            raise CheckFailed(_describe(parent.spec.name, result))
        if outcome == "deviation":
            pytest.xfail("documented deviation: " + ", ".join(result["deviations"]))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CheckFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"remixcheck {self.nodeid}"


def _origin(origin: str | None, why: str | None) -> str:
    text = label(origin, why)
    return f"  [origin: {text}]" if text else ""


def _describe(target: str, result: dict[str, Any]) -> str:
    reason = f" ({result['reason']})" if result["reason"] else ""
    origin = _origin(result.get("origin"), result.get("origin_why"))
    lines = [f"{target} / {result['check']}: {result['outcome']}{reason}{origin}"]
    for f in result["findings"]:
        if f["verdict"] == "pass":
            continue
        where = f["pointer"] or f["location"]
        dev = f"  [documented: {f['deviation']}]" if f["deviation"] else ""
        lines.append(
            f"  {f['verdict']}: {where}: {f['message']} (expected {show(f['expected'])}, got {show(f['actual'])}){dev}"
            f"{_origin(f.get('origin'), f.get('origin_why'))}"
        )
    if result.get("server_message"):
        lines.append(f"  server said: {result['server_message']}")
    if result["evidence"]:
        lines.append(f"  reproduce: {result['evidence'][-1]['curl']}")
    return "\n".join(lines)


# -- running ----------------------------------------------------------------------------


_STATE = pytest.StashKey["_State"]()


class _State:
    def __init__(self, config: pytest.Config) -> None:
        opt = config.getoption
        self.base_url: str | None = opt("remixcheck_base_url")
        self.vendor: str | None = opt("remixcheck_vendor")
        self.api_key_env: str | None = opt("remixcheck_api_key_env")
        self.video_id: str | None = opt("remixcheck_video_id")
        self.max_billable: int | None = opt("remixcheck_max_billable")
        self.emulate: str | None = opt("remixcheck_emulate")
        self.config_path: str | None = opt("remixcheck_config")
        self.patterns = tuple(p for p in (opt("remixcheck_checks") or "").split(",") if p)
        self.report: str | None = opt("remixcheck_report")
        self.strict: bool = bool(opt("remixcheck_strict"))
        self.rootdir = Path(str(config.rootpath))
        self._specs: list[_TargetSpec] | None = None
        self._results: dict[str, dict[str, dict[str, Any]]] = {}
        self._keys: list[str] = []
        self._stack = contextlib.ExitStack()
        if sum(x is not None for x in (self.base_url, self.emulate, self.config_path)) > 1:
            raise pytest.UsageError(
                "give one of --remixcheck-base-url, --remixcheck-emulate, --remixcheck-config"
            )
        if self.base_url and not self.vendor:
            raise pytest.UsageError("--remixcheck-base-url needs --remixcheck-vendor")
        if self.max_billable is not None and self.max_billable < 0:
            raise pytest.UsageError("--remixcheck-max-billable must be a whole number >= 0")
        # Every option is checked here, at configure time: an error raised later, during
        # collection, would be an INTERNALERROR instead of a usage error.
        self.target_specs()
        workerinput = getattr(config, "workerinput", None)
        self.is_worker = workerinput is not None
        if workerinput is not None:
            self.shared_dir = Path(workerinput[SHARED_DIR_KEY])
        else:
            self.shared_dir = Path(tempfile.mkdtemp(prefix="remixcheck-pytest-"))

    def target_specs(self) -> list[_TargetSpec]:
        if self._specs is None:
            self._specs = self._build_specs()
        return self._specs

    def _build_specs(self) -> list[_TargetSpec]:
        from remixcheck.conformance.runner import select
        from remixcheck.conformance.targets import make_target, targets_from_config
        from remixcheck.contract import profiles as vendors
        from remixcheck.errors import RemixcheckError

        try:
            checks = [c.id for c in select(self.patterns)]
            if self.emulate is not None:
                from remixcheck.emulator import EMULATED_VENDORS

                names = (
                    list(EMULATED_VENDORS)
                    if self.emulate in ("", "all")
                    else [v.strip() for v in self.emulate.split(",") if v.strip()]
                )
                unknown = [n for n in names if n not in EMULATED_VENDORS]
                if unknown or not names:
                    # `--remixcheck-emulate tests/` takes "tests/" as its value: say so.
                    named = ", ".join(repr(n[:80]) for n in unknown) or "nothing"
                    raise pytest.UsageError(
                        f"--remixcheck-emulate: unknown vendor {named} (emulated: "
                        f"{', '.join(EMULATED_VENDORS)}, or all); to give test paths too, "
                        "write --remixcheck-emulate=all tests/"
                    )
                names = sorted(names, key=lambda v: (v != "openai", v))
                return [
                    _TargetSpec(f"{vendors.load(n).id}-emulator", vendors.load(n).id, None, checks)
                    for n in names
                ]
            if self.base_url is not None:
                assert self.vendor is not None
                target = make_target(
                    name=vendors.load(self.vendor).id,  # the vendor may be a profile file's path
                    vendor=self.vendor,
                    base_url=self.base_url,
                    api_key_env=self.api_key_env,
                    video_id=self.video_id,
                    max_billable=self.max_billable,
                )
                targets = [target]
            else:
                path = Path(self.config_path) if self.config_path else None
                targets = targets_from_config(path, self.rootdir, max_billable=self.max_billable)
        except RemixcheckError as exc:
            from remixcheck.traffic.redact import redact

            raise pytest.UsageError(f"remixcheck: {redact(str(exc))}") from None
        self._keys += [t.api_key for t in targets if t.api_key]
        return [_TargetSpec(t.name, t.vendor, t, checks) for t in targets]

    def _start(self, spec: _TargetSpec) -> Target:
        if spec.target is not None:
            return spec.target
        from remixcheck.conformance.targets import Target
        from remixcheck.emulator import running_emulator

        emu = self._stack.enter_context(running_emulator(spec.vendor, job_seconds=0.4))
        self._keys.append(emu.api_key)
        return Target(
            name=spec.name,
            vendor=spec.vendor,
            base_url=emu.base_url,
            api_key_env=EMULATOR_KEY_ENV,
            api_key=emu.api_key,
            video_id=emu.source_video_id,
            max_billable=self.max_billable,
            emulated=True,
        )

    def result_for(
        self, session: pytest.Session, spec: _TargetSpec, check_id: str
    ) -> dict[str, Any]:
        if spec.name not in self._results:
            self._results[spec.name] = {
                c["check"]: c for c in self._target_results(session, spec)["checks"]
            }
        found = self._results[spec.name].get(check_id)
        if found is None:  # pragma: no cover - every collected item's check is run
            raise RuntimeError(f"check {check_id} did not run for {spec.name}")
        return found

    def _target_results(self, session: pytest.Session, spec: _TargetSpec) -> dict[str, Any]:
        """The target's results, run exactly once whichever xdist worker asks first."""
        import fcntl

        done = self.shared_dir / f"{spec.name}.results.json"
        with (self.shared_dir / f"{spec.name}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # other workers wait here, then read what it wrote
            if not done.exists():
                data = self._run(session, spec)
                tmp = done.with_suffix(".tmp")
                tmp.write_text(json.dumps(data, default=str), encoding="utf-8")
                tmp.replace(done)
        return json.loads(done.read_text(encoding="utf-8"))  # type: ignore[no-any-return]

    def _run(self, session: pytest.Session, spec: _TargetSpec) -> dict[str, Any]:
        from remixcheck.conformance.checks.context import Settings
        from remixcheck.conformance.runner import RunOptions, run_target
        from remixcheck.conformance.shared_budget import FileBudget
        from remixcheck.results.model import scrub

        # Only what survived -k / --deselect runs: selected items decide, not the catalogue.
        selected = tuple(
            i.name
            for i in session.items
            if isinstance(i, RemixcheckItem)
            and isinstance(i.parent, RemixcheckTarget)
            and i.parent.spec.name == spec.name
        )
        target = self._start(spec)
        budget = FileBudget(self.shared_dir / f"{spec.name}.budget", target.max_billable)
        options = RunOptions(
            checks=selected,
            context=Settings(poll_interval=0.1 if target.emulated else 1.0),
            strict=self.strict,
        )
        result = run_target(target, options, budget=budget)
        return scrub(result.to_dict(), self._keys)  # type: ignore[no-any-return]

    def finish(self, config: pytest.Config) -> None:
        self._stack.close()
        if self.is_worker:
            return
        try:
            merged = self._merged() if self.report else None
            if merged is not None:
                from remixcheck.report.html import write_html
                from remixcheck.results.model import write_json

                html = Path(self.report or "")
                write_json(merged, html.with_name("results.json"))
                write_html([merged], html)
        finally:
            shutil.rmtree(self.shared_dir, ignore_errors=True)

    def _merged(self) -> dict[str, Any] | None:
        """Every target's results, from whichever process ran it, in collection order."""
        from remixcheck.conformance.runner import new_result, now

        found: dict[str, dict[str, Any]] = {}
        for path in sorted(self.shared_dir.glob("*.results.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            found[data["name"]] = data
        if not found:
            return None
        result = new_result(self.strict)
        result.finished_at = now()
        merged = result.to_dict()
        order = [s.name for s in self.target_specs()]
        merged["targets"] = sorted(
            found.values(),
            key=lambda t: order.index(t["name"]) if t["name"] in order else len(order),
        )
        merged["billable_sent"] = sum(t["billable_sent"] for t in merged["targets"])
        return merged


# -- fixtures for users' own tests ----------------------------------------------------


def _marker_kwargs(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker("remixcheck")
    return dict(marker.kwargs) if marker else {}


class ContractChecker:
    """What `remixcheck_contract` gives a test: validate one response (and its request)."""

    def __init__(self, vendor: str, strict: bool) -> None:
        self.vendor = vendor
        self.strict = strict

    def validate(
        self, response: Any, vendor: str | None = None, *, strict: bool | None = None
    ) -> ExchangeResult:
        """Validate an httpx or requests response; raise AssertionError listing every finding."""
        from remixcheck.contract.findings import best_first
        from remixcheck.traffic.exchange import exchange_from_response
        from remixcheck.validation.validator import Validator

        validator = Validator.for_vendor(vendor or self.vendor)
        exchange = exchange_from_response(response, source="test")
        result = validator.validate(exchange)
        if result is None:
            raise AssertionError(
                f"{exchange.request.method} {exchange.request.path} is not a remix API request under "
                f"{validator.profile.id}'s paths ({', '.join(validator.profile.all_base_paths)})"
            )
        strict = self.strict if strict is None else strict
        failing = {"violation", "deviation"} if strict else {"violation"}
        bad = [
            f for f in result.findings if f.verdict.value in failing and f.severity.value != "info"
        ]
        if bad:
            lines = [
                f"{len(bad)} contract finding(s) for {result.operation} under {validator.profile.id}:"
            ]
            for f in best_first(bad):
                dev = f" [documented: {f.deviation}]" if f.deviation else ""
                lines.append(
                    f"  {f.where} {f.pointer or f.location}: {f.message} (expected {show(f.expected)}, got {show(f.actual)}){dev}"
                    f"{_origin(f.origin, f.origin_why)}"
                )
            raise AssertionError("\n".join(lines))
        return result


@pytest.fixture
def remixcheck_contract(request: pytest.FixtureRequest) -> ContractChecker:
    """Validate responses your test got against the contract and a vendor profile."""
    kwargs = _marker_kwargs(request)
    vendor = kwargs.get("vendor") or request.config.getoption("remixcheck_vendor") or "openai"
    strict = kwargs.get("strict")
    return ContractChecker(
        vendor,
        bool(request.config.getoption("remixcheck_strict")) if strict is None else bool(strict),
    )


class _EmulatorPool:
    """Emulators shared by every test of the session, one per (vendor, faults)."""

    def __init__(self, stack: contextlib.ExitStack) -> None:
        self._stack = stack
        self._running: dict[tuple[str, tuple[str, ...]], RunningEmulator] = {}

    def get_or_start(self, vendor: str, faults: tuple[str, ...]) -> RunningEmulator:
        from remixcheck.emulator import running_emulator

        key = (vendor, faults)
        if key not in self._running:
            self._running[key] = self._stack.enter_context(
                running_emulator(vendor, faults=faults, job_seconds=0.5)
            )
        return self._running[key]


@pytest.fixture(scope="session")
def _remixcheck_emulators() -> Iterator[_EmulatorPool]:
    with contextlib.ExitStack() as stack:
        yield _EmulatorPool(stack)


@pytest.fixture
def remixcheck_emulator(
    request: pytest.FixtureRequest, _remixcheck_emulators: _EmulatorPool
) -> RunningEmulator:
    """A running emulator on loopback: .base_url, .api_key, .source_video_id.

    Pick the vendor (and faults) with @pytest.mark.remixcheck(vendor=..., faults=[...]) or
    indirect parametrization with a vendor name or {"vendor": ..., "faults": [...]}.
    """
    kwargs = _marker_kwargs(request)
    param = getattr(request, "param", None)
    if isinstance(param, str):
        kwargs["vendor"] = param
    elif isinstance(param, dict):
        kwargs.update(param)
    vendor = kwargs.get("vendor") or request.config.getoption("remixcheck_vendor") or "openai"
    faults = kwargs.get("faults") or ()
    faults = (faults,) if isinstance(faults, str) else tuple(faults)
    return _remixcheck_emulators.get_or_start(vendor, faults)
