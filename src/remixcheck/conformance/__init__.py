"""Conformance runs: the check catalogue, the runner, the HTTP transport, targets, keys and budgets."""
