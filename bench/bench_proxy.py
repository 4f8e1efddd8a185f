"""Proxy overhead: what `remixcheck proxy` adds to a loopback round trip, side by side.

Four ways to reach the same upstream (the OpenAI emulator, `remixcheck serve`, in its own
process), each a server in its own process, all measured in the same rounds:

* direct: the client talks to the upstream;
* pass-through: the proxy built the same way (aiohttp both sides, uvloop) that judges nothing;
* remixcheck: `remixcheck proxy`, judging every request and answer and every job;
* Prism: Stoplight Prism's validating proxy, `prism proxy SPEC UPSTREAM --errors`.

Requests go one at a time from one httpx client (a retrieve of a completed video, and a
remix that starts a job), ten in a row to one contender, contenders taking turns in a
rotating order, so load that drifts during a round hits all of them alike while the judging
the proxy does after each answer still competes with the client's next request. Each round gives each contender's
median; ratios are taken within a round, then median [min..max] over rounds. Targets:
judging adds at most 10 % to the pass-through's round trip, and the whole proxy adds at most
a third of what Prism adds.

Prism comes from npm into bench/.prism (gitignored); without it that column is skipped
with the reason (`--install-prism` runs `npm install --prefix bench/.prism @stoplight/prism-cli`).

    .venv/bin/python bench/bench_proxy.py [--quick | --smoke] [--repeat N] [--install-prism]
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator

import httpx

import _common as c
from bench_live import KEY, served_emulator

PRISM_DIR = c.REPO / "bench" / ".prism"
PRISM = PRISM_DIR / "node_modules" / ".bin" / "prism"
SPEC = c.REPO / "spec" / "remix.openapi.yaml"
VALIDATION_TARGET = 0.10  # judging on top of the pass-through's round trip
PRISM_SHARE_TARGET = 1 / 3  # of what Prism adds
BLOCK = 10  # requests in a row to one contender before the next one's turn
# The pass-through: the same proxy with judging off, in a process of its own like the others.
PASS_THROUGH = """
import sys
from remixcheck.proxy import ProxyConfig, serve
serve(ProxyConfig(upstream=sys.argv[1], vendor="openai", port=int(sys.argv[2]), judge=False),
      on_ready=lambda url, proxy: print("ready", url, flush=True))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def child(args: list[str], ready: Callable[[str], bool], what: str) -> Iterator[None]:
    """A server in its own process, up once a line of its output says so."""
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                raise SystemExit(f"{what} exited before it was ready")
            if ready(line):
                break
        else:
            raise SystemExit(f"{what} did not start")
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def prism_status(install: bool) -> str | None:
    """None when Prism can run here, else why it is skipped."""
    if not PRISM.exists() and install:
        npm = shutil.which("npm")
        if npm is None:
            return "npm is not installed"
        subprocess.run(
            [
                npm,
                "install",
                "--prefix",
                str(PRISM_DIR),
                "--no-audit",
                "--no-fund",
                "@stoplight/prism-cli",
            ],
            check=False,
        )
    if not PRISM.exists():
        return f"Prism is not installed ({PRISM} missing; run with --install-prism)"
    if shutil.which("node") is None:
        return "node is not installed"
    return None


def main() -> None:
    parser = c.make_parser(__doc__ or "", default_repeat=5, quick_repeat=2)
    parser.add_argument("--install-prism", action="store_true", help="npm-install Prism first")
    args = parser.parse_args()
    rounds = c.repeats(args)
    per_round = BLOCK if args.smoke else 20 if args.quick else 300
    skipped = prism_status(args.install_prism)
    ports = {name: free_port() for name in ("remixcheck", "pass-through", "prism")}
    with contextlib.ExitStack() as stack:
        upstream, source = stack.enter_context(served_emulator())
        reports = stack.enter_context(tempfile.TemporaryDirectory())
        urls = {"direct": upstream}
        stack.enter_context(
            child(
                [sys.executable, "-c", PASS_THROUGH, upstream, str(ports["pass-through"])],
                lambda line: line.startswith("ready"),
                "the pass-through proxy",
            )
        )
        urls["pass-through"] = f"http://127.0.0.1:{ports['pass-through']}"
        stack.enter_context(
            child(
                [
                    str(c.venv_bin("remixcheck")),
                    "proxy",
                    "--upstream",
                    upstream,
                    "--vendor",
                    "openai",
                    "--port",
                    str(ports["remixcheck"]),
                    "--report-dir",
                    reports,
                ],
                lambda line: line.startswith("remixcheck proxy on"),
                "remixcheck proxy",
            )
        )
        urls["remixcheck"] = f"http://127.0.0.1:{ports['remixcheck']}"
        if skipped is None:
            # Prism routes the spec's paths (/videos/...) and adds its server's /v1 itself.
            stack.enter_context(
                child(
                    [
                        str(PRISM),
                        "proxy",
                        str(SPEC),
                        upstream + "/v1",
                        "--errors",
                        "-p",
                        str(ports["prism"]),
                        "-h",
                        "127.0.0.1",
                    ],
                    lambda line: "listening on" in line.lower(),
                    "Prism",
                )
            )
            urls["prism"] = f"http://127.0.0.1:{ports['prism']}"
        prefix = {name: "" if name == "prism" else "/v1" for name in urls}
        clients = {
            name: stack.enter_context(
                httpx.Client(
                    base_url=url + prefix[name],
                    headers={"Authorization": f"Bearer {KEY}"},
                    trust_env=False,
                )
            )
            for name, url in urls.items()
        }
        workloads: dict[str, Callable[[httpx.Client], httpx.Response]] = {
            "retrieve": lambda client: client.get(f"/videos/{source}"),
            "remix": lambda client: client.post(
                f"/videos/{source}/remix", json={"prompt": "a snowy dawn"}
            ),
        }
        for name, client in clients.items():  # warm every server, pool and cache
            for work in workloads.values():
                for _ in range(2 if args.smoke else 5 if args.quick else 30):
                    r = work(client)
                    if r.status_code != 200:
                        raise SystemExit(f"{name}: warm-up got {r.status_code}: {r.text[:200]}")
        results = {w: measure(clients, work, rounds, per_round) for w, work in workloads.items()}
    report(results, rounds, per_round, skipped)


def measure(
    clients: dict[str, httpx.Client],
    work: Callable[[httpx.Client], httpx.Response],
    rounds: int,
    per_round: int,
) -> dict[str, list[float]]:
    """Per round: each contender's median round trip (ms), requests interleaved in rotation."""
    names = list(clients)
    medians: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        samples: dict[str, list[float]] = {n: [] for n in names}
        for i in range(per_round // BLOCK):
            k = (r + i) % len(names)
            for name in names[k:] + names[:k]:
                # Back to back to one contender: the judging a request left behind (after its
                # answer) competes with the next request, as it does for a real client.
                for _ in range(BLOCK):
                    start = time.perf_counter()
                    work(clients[name]).read()
                    samples[name].append(time.perf_counter() - start)
        for name in names:
            medians[name].append(statistics.median(samples[name]) * 1000)
    return medians


def report(
    results: dict[str, dict[str, list[float]]], rounds: int, per_round: int, skipped: str | None
) -> None:
    payload: dict[str, object] = {
        "rounds": rounds,
        "per_round": per_round,
        "prism_skipped": skipped,
    }
    verdicts = []
    for workload, ms in results.items():
        direct = ms["direct"]

        def added(
            name: str, direct: list[float] = direct, ms: dict[str, list[float]] = ms
        ) -> list[float]:
            return [m - d for m, d in zip(ms[name], direct, strict=True)]

        rows = [[name, c.Spread.of(v).fmt(lambda x: f"{x:.3f} ms")] for name, v in ms.items()]
        for name in ms:
            if name != "direct":
                share = [a / d for a, d in zip(added(name), direct, strict=True)]
                rows[list(ms).index(name)].append(c.Spread.of(share).fmt(lambda x: f"{x:+.0%}"))
        rows[0].append("")
        c.print_table(
            f"{workload}: {per_round} requests per contender x {rounds} rounds",
            ["contender", "median round trip", "added to direct"],
            rows,
        )
        validation = c.Spread.of(c.ratios(ms["remixcheck"], ms["pass-through"]))
        on_top = validation.median - 1
        figures: dict[str, object] = {
            "ms": {name: c.Spread.of(v).to_dict() for name, v in ms.items()},
            "validation_on_top_of_pass_through": c.Spread.of(
                [x - 1 for x in c.ratios(ms["remixcheck"], ms["pass-through"])]
            ).to_dict(),
            "added_vs_direct": {
                name: c.Spread.of(
                    [a / d for a, d in zip(added(name), direct, strict=True)]
                ).to_dict()
                for name in ms
                if name != "direct"
            },
        }
        print(
            f"judging adds {on_top:+.1%} [{validation.min - 1:+.1%}..{validation.max - 1:+.1%}] "
            f"to the pass-through's round trip; target <= {VALIDATION_TARGET:.0%}: "
            f"{c.target(on_top <= VALIDATION_TARGET)}"
        )
        verdicts.append(on_top <= VALIDATION_TARGET)
        if "prism" in ms:
            share = c.Spread.of(
                [a / p for a, p in zip(added("remixcheck"), added("prism"), strict=True)]
            )
            figures["share_of_prism_added"] = share.to_dict()
            print(
                f"remixcheck adds {share.median:.2f} [{share.min:.2f}..{share.max:.2f}] of what Prism "
                f"adds; target <= {PRISM_SHARE_TARGET:.2f}: {c.target(share.median <= PRISM_SHARE_TARGET)}"
            )
            verdicts.append(share.median <= PRISM_SHARE_TARGET)
        else:
            print(f"Prism skipped: {skipped}")
        payload[workload] = figures
    payload["targets_met"] = all(verdicts)
    c.write_report("bench_proxy", payload)


if __name__ == "__main__":
    main()
