"""The client stacks, in the order the report shows them."""

from __future__ import annotations

from remixcheck.clients.base import Harness


def harnesses() -> list[Harness]:
    """Every stack, in the order the report shows them."""
    from remixcheck.clients.generated_models import GeneratedModels
    from remixcheck.clients.openai_sdk import LenientSDK, StrictSDK
    from remixcheck.clients.perl_openapi import PerlOpenAPIClient
    from remixcheck.clients.rules import TypedDecodingRules

    return [LenientSDK(), StrictSDK(), PerlOpenAPIClient(), GeneratedModels(), TypedDecodingRules()]
