"""pydantic models generated from OpenAI's document by datamodel-code-generator: a strict client.

`generated/openai_videos.py` is the generator's output, committed untouched; the command is in
`generated/README.md`, and a test regenerates it and compares. Its `VideoResource` requires all
13 fields (five may be null), as every client generated from the document does.
"""

from __future__ import annotations

from collections.abc import Sequence

from remixcheck.clients.base import CLIENT, Break, Judgement, Observed
from remixcheck.clients.pydantic_errors import breaks

GENERATOR = "datamodel-code-generator 0.89.0"


class GeneratedModels:
    id = "pydantic-generated"
    name = "pydantic models generated from OpenAI's document (datamodel-code-generator)"
    kind = CLIENT
    description = (
        "VideoResource.model_validate, with the models datamodel-code-generator made from "
        "OpenAI's document (clients/generated/)."
    )

    def judge(self, bodies: Sequence[Observed]) -> Judgement:
        import pydantic

        from remixcheck.clients.generated.openai_videos import VideoResource

        out: list[list[Break]] = []
        for item in bodies:
            try:
                VideoResource.model_validate(item.body)
            except pydantic.ValidationError as exc:
                out.append(breaks(exc, item.body))
            else:
                out.append([])
        return Judgement(f"{GENERATOR} models (pydantic {pydantic.VERSION})", out)
