"""Live overhead: what validating every request and response adds to a loopback round trip.

The same loop of requests against the OpenAI emulator, served by `remixcheck serve` in its
own process (in a thread of this process it would share the GIL with the client and blur
the figure):
raw httpx, and httpx plus remixcheck validating each exchange (`Exchange.from_httpx` +
`Validator.validate`: request and response, every finding). Requests are paired, one raw
and one validated, alternating, so load that drifts during a round hits both alike; the
overhead is the ratio of the two medians within each round, then median [min..max] over
rounds. Target: under 10 % of the raw round trip.

    .venv/bin/python bench/bench_live.py [--quick] [--repeat N]
"""

from __future__ import annotations

import contextlib
import socket
import statistics
import subprocess
import time
from collections.abc import Iterator

import httpx

import _common as c
from remixcheck.traffic.exchange import Exchange
from remixcheck.validation.validator import Validator

TARGET = 0.10
KEY = "sk-bench-live-0000"


@contextlib.contextmanager
def served_emulator() -> Iterator[tuple[str, str]]:
    """(base URL, source video id) of an OpenAI emulator in a child process."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            str(c.venv_bin("remixcheck")),
            "serve",
            "--vendor",
            "openai",
            "--port",
            str(port),
            "--api-key",
            KEY,
            "--job-seconds",
            "3600",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        source = ""
        deadline = time.monotonic() + 30
        while not source and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if "source video id:" in line:
                source = line.split("source video id:", 1)[1].split()[0]
        if not source:
            raise SystemExit("the emulator did not start")
        yield f"http://127.0.0.1:{port}", source
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    args = c.make_parser(__doc__ or "", default_repeat=7, quick_repeat=3).parse_args()
    rounds = c.repeats(args)
    per_round = 20 if args.smoke else 300 if args.quick else 1000
    validator = Validator.for_vendor("openai")
    findings_seen = 0
    with (
        served_emulator() as (base_url, source),
        httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {KEY}"}, trust_env=False
        ) as client,
    ):
        path = f"/v1/videos/{source}"
        for _ in range(200):  # warm the server, the client and the validator
            validator.validate(Exchange.from_httpx(client.get(path)))
        raw_ms: list[float] = []
        validated_ms: list[float] = []
        validation_us: list[float] = []
        overheads: list[float] = []
        for _ in range(rounds):
            raw, full, only = [], [], []
            # Paired, alternating requests: load that drifts during a round hits both alike.
            for _ in range(per_round):
                start = time.perf_counter()
                client.get(path).read()
                raw.append(time.perf_counter() - start)
                start = time.perf_counter()
                response = client.get(path)
                mid = time.perf_counter()
                result = validator.validate(Exchange.from_httpx(response))
                end = time.perf_counter()
                assert result is not None
                findings_seen += len(result.findings)
                full.append(end - start)
                only.append(end - mid)
            raw_ms.append(statistics.median(raw) * 1000)
            validated_ms.append(statistics.median(full) * 1000)
            validation_us.append(statistics.median(only) * 1e6)
            overheads.append(statistics.median(full) / statistics.median(raw) - 1)
    overhead = c.Spread.of(overheads)
    rows = [
        ["raw httpx", c.Spread.of(raw_ms).fmt(lambda v: f"{v:.3f} ms")],
        ["httpx + remixcheck", c.Spread.of(validated_ms).fmt(lambda v: f"{v:.3f} ms")],
        ["of which validation", c.Spread.of(validation_us).fmt(lambda v: f"{v:.0f} us")],
    ]
    c.print_table(
        f"GET retrieve against the OpenAI emulator (own process), {per_round} paired requests x {rounds} rounds",
        ["loop", "median per request"],
        rows,
    )
    print(
        f"\nvalidation adds {overhead.median:+.1%} [{overhead.min:+.1%}..{overhead.max:+.1%}] to the round trip"
    )
    print(
        f"target < {TARGET:.0%}: {c.target(overhead.median < TARGET)}; findings on a faithful server: {findings_seen}"
    )
    c.write_report(
        "bench_live",
        {
            "rounds": rounds,
            "per_round": per_round,
            "raw_ms": c.Spread.of(raw_ms).to_dict(),
            "validated_ms": c.Spread.of(validated_ms).to_dict(),
            "validation_us": c.Spread.of(validation_us).to_dict(),
            "overhead": overhead.to_dict(),
            "target": TARGET,
        },
    )


if __name__ == "__main__":
    main()
