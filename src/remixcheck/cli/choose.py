"""Which targets a `run` or `fuzz` talks to: emulators, flags, or the config file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from remixcheck.cli.options import DEFAULT_JOB_SECONDS


def choose_targets(
    stack: Any,
    *,
    command: str,
    emulate: bool,
    emulate_vendors: tuple[str, ...],
    base_url: str | None,
    vendor: str | None,
    api_key_env: str | None,
    video_id: str | None,
    max_billable: int | None,
    faults: tuple[str, ...],
    job_seconds: float,
    target_name: str | None = None,
    config_path: Path | None = None,
    target_names: tuple[str, ...] = (),
    require_key: bool = True,
) -> list[Any]:
    """The targets of `run` and `fuzz` from their flags; emulators are entered into `stack`."""
    from remixcheck.conformance import runner, targets
    from remixcheck.contract import profiles as vendors
    from remixcheck.errors import UsageError

    config_flags = command == "run"  # fuzz takes one target, or the emulators
    if emulate_vendors and not emulate:
        raise UsageError(
            f"unexpected argument(s) {' '.join(emulate_vendors)}: vendor names go with --emulate"
        )
    if emulate and (base_url or vendor or config_path or target_names or api_key_env or video_id):
        others = "--config, --target, " if config_flags else ""
        raise UsageError(
            f"--emulate {'fuzzes' if command == 'fuzz' else 'runs'} the bundled emulators; it does not "
            f"combine with --base-url, --vendor, "
            f"{others}--api-key-env or --video-id"
        )
    if (faults or job_seconds != DEFAULT_JOB_SECONDS) and not emulate:
        raise UsageError("--fault and --job-seconds only apply with --emulate")
    if bool(base_url) != bool(vendor):
        raise UsageError("--base-url and --vendor go together")
    if target_name is not None and not base_url:
        raise UsageError("--name names a --base-url target; config targets have their own name")
    if target_name is not None and not target_name.strip():
        raise UsageError("--name must not be empty")
    if base_url and (config_path or target_names):
        raise UsageError("give either --base-url/--vendor or --config/--target, not both")
    if emulate:
        from remixcheck import emulator

        unknown = [f for f in faults if f.split(":", 1)[0] not in emulator.FAULTS]
        if unknown:
            raise UsageError(
                f"unknown fault(s) {', '.join(unknown)}; see `remixcheck serve --list-faults`"
            )
        chosen: list[targets.Target] = stack.enter_context(
            runner.emulated_targets(emulate_vendors, job_seconds=job_seconds, faults=faults)
        )
        for t in chosen:
            t.max_billable = max_billable  # None: unlimited, as on any loopback target
        return chosen
    if base_url and vendor:
        return [
            targets.make_target(
                name=target_name or vendors.load(vendor).id,
                vendor=vendor,
                base_url=base_url,
                api_key_env=api_key_env,
                video_id=video_id,
                max_billable=max_billable,
                require_key=require_key,
            )
        ]
    if not config_flags:
        raise UsageError("give --base-url and --vendor together, or --emulate [VENDOR...]")
    if video_id or api_key_env:
        raise UsageError(
            "--video-id and --api-key-env apply to --base-url targets; set video_id / api_key_env per target in the config"
        )
    return targets.targets_from_config(
        config_path,
        Path.cwd(),
        only=target_names,
        max_billable=max_billable,
        require_key=require_key,
    )
