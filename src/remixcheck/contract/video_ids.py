"""Video id formats of a profile, and the encoded id schemes of gateways (`IdEncoding`: make,
decode, tell a bare upstream id)."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class IdEncoding:
    """How a gateway wraps the upstream id into its own (LiteLLM: `video_` + base64 of fields)."""

    prefix: str
    scheme: str  # "base64"
    template: str  # the decoded text for an upstream id, "{id}" standing for it
    native: re.Pattern[str]  # finds the upstream id (group "id") in the decoded text

    def encode(self, native_id: str) -> str:
        text = self.template.replace("{id}", native_id)
        return self.prefix + base64.b64encode(text.encode("utf-8")).decode("ascii")

    def decode(self, video_id: str) -> str | None:
        """The upstream id inside a gateway id; None when the id does not decode (a bare id)."""
        if not video_id.startswith(self.prefix):
            return None
        raw = video_id[len(self.prefix) :]
        try:
            # Ids are often copied without their trailing '=' (LiteLLM re-pads them too).
            text = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        found = self.native.search(text)
        return found.group("id") if found else None


@dataclass(frozen=True, slots=True)
class VideoIdFormat:
    format: str  # "opaque" | "id-provider" | "encoded"
    pattern: re.Pattern[str]
    example: str
    provider: str | None = None
    encoding: IdEncoding | None = None

    def make(self, native_id: str) -> str:
        """A video id in this vendor's format for a native (upstream) id."""
        if self.format == "id-provider":
            return f"{native_id}:{self.provider}"
        if self.encoding is not None:
            return self.encoding.encode(native_id)
        return native_id

    def native(self, video_id: str) -> str:
        """The native part of an id in this vendor's format (Bifrost splits on the first colon;
        an encoded gateway id decodes to its upstream id). An id that is already bare stays as is."""
        if self.format == "id-provider":
            return video_id.split(":", 1)[0]
        if self.encoding is not None:
            return self.encoding.decode(video_id) or video_id
        return video_id

    def is_bare(self, video_id: str) -> bool:
        """Whether an id lacks the vendor's own wrapping (a bare upstream id where one is needed)."""
        if self.format == "id-provider":
            return ":" not in video_id
        if self.encoding is not None:
            return self.encoding.decode(video_id) is None
        return False

    @property
    def has_bare_form(self) -> bool:
        return self.format != "opaque"
