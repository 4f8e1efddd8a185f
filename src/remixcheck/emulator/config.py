"""Emulator settings and API keys in each vendor's key format."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from remixcheck.contract import profiles as vendors
from remixcheck.emulator.faults import FAULT_SPECS
from remixcheck.errors import UsageError

# The dialects the emulator implements. A bundled profile of a real gateway (litellm) has
# none: the gateway itself runs on loopback for its tests (tests/litellm_proxy.py).
EMULATED_VENDORS = ("aihubmix", "apifree", "bifrost", "openai")


@dataclass(frozen=True)
class EmulatorConfig:
    """How one emulator behaves: which vendor dialect, which key, how fast, which faults."""

    vendor: str
    api_key: str
    job_seconds: float = 2.0
    faults: tuple[str, ...] = ()
    seed: int = 0
    max_body_bytes: int = 1_048_576
    # None means unlimited. Once this many billable jobs (create + remix) were accepted,
    # further billable requests get the vendor's quota error (aihubmix documents a 403).
    billable_quota: int | None = None

    def __post_init__(self) -> None:
        # Checked here so the CLI gets one clear line for a bad flag, not a traceback later.
        profile = vendors.load(self.vendor)
        if profile.id not in EMULATED_VENDORS:
            raise UsageError(
                f"no emulator for {profile.id!r}; emulated vendors: {', '.join(EMULATED_VENDORS)} "
                f"(run against a real {profile.name} with --base-url)"
            )
        if not self.api_key:
            raise UsageError("emulator api_key must not be empty")
        if not (self.job_seconds >= 0):  # also rejects NaN
            raise UsageError(f"emulator job_seconds must be >= 0, got {self.job_seconds!r}")
        if self.max_body_bytes < 1:
            raise UsageError(f"emulator max_body_bytes must be >= 1, got {self.max_body_bytes!r}")
        if self.billable_quota is not None and self.billable_quota < 0:
            raise UsageError(f"emulator billable_quota must be >= 0, got {self.billable_quota!r}")
        for fault in self.faults:
            name, sep, arg = fault.partition(":")
            spec = FAULT_SPECS.get(name)
            if spec is None:
                known = ", ".join(sorted(FAULT_SPECS))
                raise UsageError(f"unknown emulator fault {fault!r}; known faults: {known}")
            if sep and spec.argument is None:
                raise UsageError(f"emulator fault {name!r} takes no argument, got {fault!r}")
            if sep and not arg:
                raise UsageError(f"emulator fault {fault!r}: empty argument ({spec.argument})")

    def has(self, fault: str) -> bool:
        """Whether the named fault is on (with or without a `name:argument`)."""
        return any(f.partition(":")[0] == fault for f in self.faults)

    def fault_argument(self, fault: str) -> str | None:
        """The argument of a `name:argument` fault, else the fault's default argument."""
        for f in self.faults:
            name, sep, arg = f.partition(":")
            if name == fault:
                return arg if sep else FAULT_SPECS[name].default
        return None


def generate_api_key(vendor: str) -> str:
    """A fresh random key in the vendor's documented key format (its prefix, if it has one)."""
    profile = vendors.load(vendor)
    token = secrets.token_hex(20)
    if profile.key_prefix:
        return f"{profile.key_prefix}emu-{token}"
    # apifree and Bifrost document no key format: any opaque bearer token will do.
    return f"emu-{token}"
