"""Judging exchanges against the contract: routing, requests, responses, offline validation, and the openapi-core reference.

No HTTP client or server here: validation reads exchanges, it never sends them."""
