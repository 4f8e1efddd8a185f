"""The official openai Python SDK's `Video` model, on the recorded bodies (no client, no network).

Two ways an application meets a Video: the SDK itself loads responses with
`openai._models.construct_type` unless the client was made with
`_strict_response_validation=True` (see `BaseClient._process_response_data`), which accepts
anything; a typed application (or that strict mode) runs `Video.model_validate`, which
rejects what the SDK's types do not allow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from remixcheck.clients.base import CLIENT, Break, HarnessUnavailable, Judgement, Observed
from remixcheck.clients.pydantic_errors import breaks


def _video_type() -> Any:
    try:
        from openai.types import Video
    except ImportError as exc:
        raise HarnessUnavailable(
            f"the openai package is not installed ({exc}); pip install openai"
        ) from None
    return Video


def _library() -> str:
    _video_type()
    import openai
    import pydantic

    return f"openai {openai.__version__} (pydantic {pydantic.VERSION})"


class StrictSDK:
    id = "openai-sdk-strict"
    name = "openai SDK, typed (Video.model_validate)"
    kind = CLIENT
    description = (
        "openai.types.Video.model_validate on each body, as a typed application does "
        "(and the SDK's own _strict_response_validation mode)."
    )

    def judge(self, bodies: Sequence[Observed]) -> Judgement:
        import pydantic

        video = _video_type()
        out: list[list[Break]] = []
        for item in bodies:
            try:
                video.model_validate(item.body)
            except pydantic.ValidationError as exc:
                out.append(breaks(exc, item.body))
            else:
                out.append([])
        return Judgement(_library(), out)


class LenientSDK:
    id = "openai-sdk"
    name = "openai SDK, as it loads responses (construct_type)"
    kind = CLIENT
    description = (
        "openai._models.construct_type(type_=Video, value=body): the SDK's default response "
        "loading, which never validates."
    )

    def judge(self, bodies: Sequence[Observed]) -> Judgement:
        video = _video_type()
        from openai._models import construct_type

        out: list[list[Break]] = []
        for item in bodies:
            try:
                loaded = construct_type(type_=video, value=item.body)
            except Exception as exc:  # whatever the SDK raises is what the application sees
                out.append([Break("", "invalid", f"{type(exc).__name__}: {exc}")])
                continue
            if not isinstance(loaded, video):
                out.append(
                    [
                        Break(
                            "",
                            "type",
                            f"construct_type returned {type(loaded).__name__}, not Video",
                        )
                    ]
                )
            else:
                out.append([])
        return Judgement(_library(), out, [_unset(video, b.body) for b in bodies])


def _unset(video: Any, body: Any) -> list[str]:
    """Fields the SDK types as required that a lenient load of this body leaves as None."""
    if not isinstance(body, dict):
        return []
    return [
        name for name, info in video.model_fields.items() if info.is_required() and name not in body
    ]
