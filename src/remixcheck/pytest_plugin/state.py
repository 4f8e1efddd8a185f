"""A session's remixcheck state: the targets from the options, each run once (in whichever process
runs its first item) under a file lock in the directory shared with the xdist workers, its
scrubbed results read by every other item and merged into results.json at the end."""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from remixcheck.conformance.targets import Target
from remixcheck.pytest_plugin.items import RemixcheckItem, RemixcheckTarget, TargetSpec

SHARED_DIR_KEY = "remixcheck_shared_dir"


EMULATOR_KEY_ENV = "REMIXCHECK_EMULATOR_API_KEY"


class SessionState:
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
        self._specs: list[TargetSpec] | None = None
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

    def target_specs(self) -> list[TargetSpec]:
        if self._specs is None:
            self._specs = self._build_specs()
        return self._specs

    def _build_specs(self) -> list[TargetSpec]:
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
                    TargetSpec(f"{vendors.load(n).id}-emulator", vendors.load(n).id, None, checks)
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
        return [TargetSpec(t.name, t.vendor, t, checks) for t in targets]

    def _start(self, spec: TargetSpec) -> Target:
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
        self, session: pytest.Session, spec: TargetSpec, check_id: str
    ) -> dict[str, Any]:
        if spec.name not in self._results:
            self._results[spec.name] = {
                c["check"]: c for c in self._target_results(session, spec)["checks"]
            }
        found = self._results[spec.name].get(check_id)
        if found is None:  # pragma: no cover - every collected item's check is run
            raise RuntimeError(f"check {check_id} did not run for {spec.name}")
        return found

    def _target_results(self, session: pytest.Session, spec: TargetSpec) -> dict[str, Any]:
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

    def _run(self, session: pytest.Session, spec: TargetSpec) -> dict[str, Any]:
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
