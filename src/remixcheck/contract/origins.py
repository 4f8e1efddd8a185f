"""Where a rule comes from, and so what breaking it means.

Every finding and every check outcome names its origin:
- `openai-published`: OpenAI's own document (or SDK) says so. Breaking it is a violation.
- `remixcheck-convention`: OpenAI's document is silent, but OpenAI's own API behaves this
  way (400 and its error envelope for bad input, 401, 404) and clients rely on it. Breaking
  it is a violation by default, labelled as a convention, with `why` saying where it comes from.
- `observation`: what a server was seen to do where no source says what it should do
  (ignoring or rejecting unknown body fields, 405 or 501 for an unknown method). Never a
  violation: an informational outcome, shown as a dialect fact.
"""

from __future__ import annotations

PUBLISHED = "openai-published"
CONVENTION = "remixcheck-convention"
OBSERVATION = "observation"
ORIGINS = (PUBLISHED, CONVENTION, OBSERVATION)

LABELS = {
    PUBLISHED: "published by OpenAI",
    CONVENTION: "our convention",
    OBSERVATION: "observation",
}

# Reasons shared by many rules, so every output words them the same way.
WHY_INVALID = "OpenAI's API answers invalid input with 400 and its error envelope"
WHY_AUTH = "OpenAI's API answers a missing or wrong key with 401 and its error envelope"
WHY_NOT_FOUND = "OpenAI's API answers an unknown video id with 404 and its error envelope"
WHY_STATUSES = (
    "OpenAI's document declares only 200; remixcheck declares the statuses OpenAI's API "
    "and SDK use (400, 401, 404, 409, 415, 429, 5xx)"
)
WHY_PROFILE = "the vendor profile documents it"


def label(origin: str | None, why: str | None = None) -> str:
    """One line for people: "our convention (OpenAI's API answers ...)"."""
    if not origin:
        return ""
    text = LABELS.get(origin, origin)
    return f"{text} ({why})" if why else text
