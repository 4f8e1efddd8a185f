"""Exceptions of the tool itself. Problems of the API under test are Findings, never these."""

from __future__ import annotations


class RemixcheckError(Exception):
    """Root of every error the tool reports to its user as one line."""


class SpecError(RemixcheckError):
    """The canonical contract file is missing or malformed."""


class ProfileError(RemixcheckError):
    """A vendor profile is missing, unknown or malformed."""


class InputError(RemixcheckError):
    """Recorded traffic (HAR, JSON lines) cannot be read."""


class UsageError(RemixcheckError):
    """A flag, a config value or a combination of them is wrong."""
