"""Offline validation throughput of Video responses: remixcheck vs openapi-core vs jsonschema.

All four contenders see the same corpus of raw JSON bodies (as recorded traffic has them),
run interleaved round after round, and every ratio is taken within a round:

  remixcheck   Validator.for_vendor("openai").check_response(op, status, headers, body_bytes)
               -> every finding with its JSON pointer, verdict, spec location and origin
  jsonschema   json.loads + a compiled Draft202012Validator(...).iter_errors, all errors
               (VideoResource for 2xx, ErrorResponse for errors: the schemas the contract names)
  openapi-core remixcheck.validation.reference.openapi_core_response_errors (validate_response), all
               schema errors; ~1,000 responses/s, so it gets fewer passes over the corpus
  remixcheck-cold  the same with its cache of built findings emptied before every response:
               the cost of an error seen for the first time (the corpus repeats, so the
               warm figure assumes errors recur, as a gateway's systematic deviations do)
  jsonschema-rs    msgspec decode + the Rust validator's is_valid, and iter_errors when
               invalid: the engine underneath, so remixcheck/jsonschema-rs is our own cost
  json.loads   the ceiling the issue names: parsing the body with the standard library
  msgspec      parsing the body with msgspec, which remixcheck uses (the real ceiling)

    .venv/bin/python bench/bench_validate.py [--quick] [--repeat N] [--profile]
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
from jsonschema import Draft202012Validator

import _common as c
from _corpus import ResponseCase, response_cases
from remixcheck.contract.findings import Verdict, worst_verdict
from remixcheck.contract.spec import Contract, Operation
from remixcheck.validation.reference import openapi_core_response_errors
from remixcheck.validation.validator import Validator

TARGET_RATE = 100_000  # responses/s, one core
TARGET_VS_OPENAPI_CORE = 80.0
ENGINES = (
    "remixcheck",
    "remixcheck-cold",
    "jsonschema-rs",
    "jsonschema",
    "openapi-core",
    "json.loads",
    "msgspec",
)
SUBSETS = ("mixed", "valid", "invalid")

Check = Callable[[ResponseCase], int]  # validates one case, returns how many problems it found


def engines(contract: Contract) -> dict[str, Check]:
    validator = Validator.for_vendor("openai")
    ops: dict[str, Operation] = {op.operation_id: op for op in contract.operations}
    schemas: dict[str, Draft202012Validator] = {}
    for pointer in ("#/components/schemas/VideoResource", "#/components/schemas/ErrorResponse"):
        root = contract.schema_root(pointer)
        Draft202012Validator.check_schema(root)
        schemas[pointer] = Draft202012Validator(root)

    def remixcheck(case: ResponseCase) -> int:
        return len(
            validator.check_response(ops[case.operation], case.status, case.headers, case.body)
        )

    cold = Validator(validator.profile, contract)

    def remixcheck_cold(case: ResponseCase) -> int:
        cold._findings_of.clear()
        return len(cold.check_response(ops[case.operation], case.status, case.headers, case.body))

    rust = {
        p: validator._compiled[p].validator
        for p in ("#/components/schemas/VideoResource", "#/components/schemas/ErrorResponse")
    }
    decoder = msgspec.json.Decoder()

    def jsonschema_rs(case: ResponseCase) -> int:
        engine, body = rust[case.schema], decoder.decode(case.body)
        return 0 if engine.is_valid(body) else len(list(engine.iter_errors(body)))

    def msgspec_decode(case: ResponseCase) -> int:
        decoder.decode(case.body)
        return 0

    def jsonschema(case: ResponseCase) -> int:
        return sum(1 for _ in schemas[case.schema].iter_errors(json.loads(case.body)))

    def openapi_core(case: ResponseCase) -> int:
        return len(
            openapi_core_response_errors(contract, ops[case.operation], case.status, case.body)
        )

    def loads(case: ResponseCase) -> int:
        json.loads(case.body)
        return 0

    return {
        "remixcheck": remixcheck,
        "remixcheck-cold": remixcheck_cold,
        "jsonschema-rs": jsonschema_rs,
        "jsonschema": jsonschema,
        "openapi-core": openapi_core,
        "json.loads": loads,
        "msgspec": msgspec_decode,
    }


def is_violation(validator: Validator, contract: Contract, case: ResponseCase) -> bool:
    findings = validator.check_response(
        contract.operation(case.operation), case.status, case.headers, case.body
    )
    return worst_verdict(findings) is not Verdict.PASS


def cross_check(
    contract: Contract, checks: dict[str, Check], cases: Sequence[ResponseCase]
) -> dict[str, Any]:
    """Do the engines agree with the corpus labels? Timing engines that disagree would be moot."""
    validator = Validator.for_vendor("openai")
    per_label: dict[str, Counter[str]] = {}
    disagreements: list[str] = []
    for case in cases:
        counts = per_label.setdefault(case.label, Counter())
        counts["cases"] += 1
        for name in ("remixcheck", "jsonschema", "openapi-core"):
            counts[name] += checks[name](case)
        invalid = {
            "remixcheck": is_violation(validator, contract, case),
            "jsonschema": checks["jsonschema"](case) > 0,
            "openapi-core": checks["openapi-core"](case) > 0,
        }
        for name, verdict in invalid.items():
            if verdict == case.valid:
                why = ""
                if name == "openapi-core":
                    op = contract.operation(case.operation)
                    why = ": " + "; ".join(
                        openapi_core_response_errors(contract, op, case.status, case.body)[:1]
                    )
                disagreements.append(
                    f"{name} on {case.label} ({case.operation} {case.status}){why}"
                )
    rows = [
        [label, n["cases"], n["remixcheck"], n["jsonschema"], n["openapi-core"]]
        for label, n in sorted(per_label.items())
    ]
    c.print_table(
        "corpus: cases per kind and problems each engine reports (remixcheck counts info findings too)",
        ["kind", "cases", "remixcheck", "jsonschema", "openapi-core"],
        rows,
    )
    print(
        f"verdict agreement with the labels: {len(cases) * 3 - len(disagreements)}/{len(cases) * 3}"
    )
    for d in sorted(set(disagreements)):
        print(f"  disagrees: {d}")
    return {
        "kinds": {
            r[0]: dict(
                zip(("cases", "remixcheck", "jsonschema", "openapi-core"), r[1:], strict=True)
            )
            for r in rows
        },
        "disagreements": sorted(set(disagreements)),
    }


def pass_over(check: Check, cases: Sequence[ResponseCase], passes: int) -> c.Work:
    def work() -> int:
        for _ in range(passes):
            for case in cases:
                check(case)
        return passes * len(cases)

    return work


def profile(check: Check, cases: Sequence[ResponseCase], seconds: float) -> list[dict[str, Any]]:
    """Where the remixcheck path spends its time on the mixed corpus."""
    passes = c.calibrate(pass_over(check, cases, 1), seconds)
    return c.hot_spots(
        pass_over(check, cases, passes),
        f"remixcheck check_response, mixed corpus x {passes} ({passes * len(cases):,} responses)",
    )


def main() -> None:
    parser = c.make_parser(__doc__.splitlines()[0], default_repeat=5)
    parser.add_argument(
        "--corpus", type=int, default=240, help="responses in the corpus (default 240)"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="always print the cProfile table (it is printed anyway when a target is missed)",
    )
    args = parser.parse_args()
    rounds = c.repeats(args)
    budget = (
        0.02 if args.smoke else 0.25 if args.quick else 0.8
    )  # s per contender per round, scaled below

    contract = Contract.load()
    cases = response_cases(args.corpus)
    subsets = {
        "mixed": cases,
        "valid": [x for x in cases if x.valid],
        "invalid": [x for x in cases if not x.valid],
    }
    checks = engines(contract)
    agreement = cross_check(contract, checks, cases)

    # openapi-core is ~100x slower: a fixed share of the budget, at least one full pass.
    share = {
        "remixcheck": 1.0,
        "remixcheck-cold": 0.5,
        "jsonschema-rs": 0.5,
        "jsonschema": 1.0,
        "openapi-core": 1.5,
        "json.loads": 0.5,
        "msgspec": 0.5,
    }
    contenders: dict[str, c.Work] = {}
    for subset, items in subsets.items():
        scale = 1.0 if subset == "mixed" else 0.5
        for name in ENGINES:
            passes = c.calibrate(pass_over(checks[name], items, 1), budget * scale * share[name])
            contenders[f"{name}/{subset}"] = pass_over(checks[name], items, passes)
    n_valid, n_invalid = len(subsets["valid"]), len(subsets["invalid"])
    print(
        f"\n{len(cases)} responses ({n_valid} valid, {n_invalid} invalid), {rounds} interleaved rounds ...",
        flush=True,
    )
    rates = c.interleaved(contenders, rounds)

    spreads = {key: c.Spread.of(v) for key, v in rates.items()}
    vs: dict[str, dict[str, c.Spread]] = {}
    for subset in SUBSETS:
        mine = rates[f"remixcheck/{subset}"]
        vs[subset] = {
            "remixcheck/openapi-core": c.Spread.of(c.ratios(mine, rates[f"openapi-core/{subset}"])),
            "remixcheck/jsonschema": c.Spread.of(c.ratios(mine, rates[f"jsonschema/{subset}"])),
            "remixcheck/json.loads": c.Spread.of(c.ratios(mine, rates[f"json.loads/{subset}"])),
            "remixcheck/msgspec": c.Spread.of(c.ratios(mine, rates[f"msgspec/{subset}"])),
            "remixcheck/jsonschema-rs": c.Spread.of(
                c.ratios(mine, rates[f"jsonschema-rs/{subset}"])
            ),
            "remixcheck-cold/openapi-core": c.Spread.of(
                c.ratios(rates[f"remixcheck-cold/{subset}"], rates[f"openapi-core/{subset}"])
            ),
        }
    rows = [[name, *(spreads[f"{name}/{s}"].fmt(c.rate) for s in SUBSETS)] for name in ENGINES]
    c.print_table(f"responses/s, median [min..max] of {rounds} rounds", ["engine", *SUBSETS], rows)
    ratio_rows = [[key, *(vs[s][key].fmt(c.times) for s in SUBSETS)] for key in vs["mixed"]]
    c.print_table("ratios, taken within each round", ["ratio", *SUBSETS], ratio_rows)

    mixed_rate = spreads["remixcheck/mixed"].median
    mixed_ratio = vs["mixed"]["remixcheck/openapi-core"].median
    targets: dict[str, dict[str, Any]] = {
        "rate": {"target": TARGET_RATE, "measured": mixed_rate, "met": mixed_rate >= TARGET_RATE},
        "vs_openapi_core": {
            "target": TARGET_VS_OPENAPI_CORE,
            "measured": mixed_ratio,
            "met": mixed_ratio >= TARGET_VS_OPENAPI_CORE,
        },
    }
    print(
        f"\ntarget >= {TARGET_RATE:,} responses/s on one core (mixed): {c.rate(mixed_rate)}/s -> {c.target(targets['rate']['met'])}"
    )
    print(
        f"target >= {TARGET_VS_OPENAPI_CORE:.0f}x openapi-core (mixed): {c.times(mixed_ratio)} -> {c.target(targets['vs_openapi_core']['met'])}"
    )

    # Per-response costs give the mix at which the rate target would be met.
    cost_valid = 1 / spreads["remixcheck/valid"].median
    cost_invalid = 1 / spreads["remixcheck/invalid"].median
    break_even = (1 / TARGET_RATE - cost_valid) / (cost_invalid - cost_valid)
    targets["rate"]["invalid_share_in_corpus"] = n_invalid / len(cases)
    targets["rate"]["max_invalid_share_for_target"] = max(0.0, break_even)
    reach = (
        f"the rate target holds up to {break_even:.1%} invalid responses"
        if break_even > 0
        else "even an all-valid stream misses the rate target"
    )
    print(
        f"  cost per response: valid {cost_valid * 1e6:.1f} us, invalid {cost_invalid * 1e6:.1f} us"
        f" -> {reach} (this corpus: {n_invalid / len(cases):.0%} invalid)"
    )

    hot: list[dict[str, Any]] = []
    if args.profile or not all(t["met"] for t in targets.values()):
        hot = profile(
            checks["remixcheck"], cases, 0.02 if args.smoke else 0.3 if args.quick else 1.0
        )

    c.write_report(
        "bench_validate",
        {
            "corpus": {
                "responses": len(cases),
                "valid": n_valid,
                "invalid": n_invalid,
                **agreement,
            },
            "rounds": rounds,
            "rates": spreads,
            "ratios": vs,
            "targets": targets,
            "profile": hot,
        },
    )


if __name__ == "__main__":
    main()
