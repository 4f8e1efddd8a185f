"""Client impact: which real client stacks break on a vendor's observed Video bodies.

A conformance run records every Video body a target returned (`observed_videos`). This
package feeds those bodies, offline, to real client libraries (the official openai SDK,
loaded leniently as the SDK loads responses and validated strictly as a typed application
would; Perl's OpenAPI::Client with JSON::Validator, built from OpenAI's published document;
pydantic models generated from that document) and to the typed-decoding rules of common
generated clients, and says for each stack whether it works and, where not, the first thing
that breaks.

One module per harness (`openai_sdk`, `perl_openapi`, `generated_models`, `rules`), listed
by `registry`; `base` holds the data they share; `impact` assembles the `client_impact` entry
of each target. Every harness is optional at run time: a missing
runtime makes its stack `skipped`, with the reason.
"""

from __future__ import annotations

from remixcheck.clients.base import (
    CLIENT,
    KIND_LABELS,
    KINDS,
    RULES,
    Break,
    Harness,
    HarnessError,
    HarnessUnavailable,
    Judgement,
    Observed,
)

__all__ = [
    "CLIENT",
    "KINDS",
    "KIND_LABELS",
    "RULES",
    "Break",
    "Harness",
    "HarnessError",
    "HarnessUnavailable",
    "Judgement",
    "Observed",
]
