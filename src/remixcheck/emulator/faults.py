"""Named faults an emulator can inject, each breaking exactly one part of the contract.

Every fault carries the request that makes it visible (`trigger`, one of TRIGGERS), so a
parametrized test can iterate over the registry without knowing each fault by heart.
"""

from __future__ import annotations

from dataclasses import dataclass

ALL_VENDORS = ("openai", "aihubmix", "apifree", "bifrost")

# The requests a test sends to make a fault visible; "source" is the seeded completed
# video, "pending" the seeded video that stays in_progress forever.
TRIGGERS: dict[str, str] = {
    "remix": "POST remix of the source video with a valid prompt",
    "retrieve": "GET the source video",
    "retrieve-twice": "GET the source video twice; the second answer shows the fault",
    "retrieve-pending-twice": "GET the pending video twice; compare the two answers",
    "remix-then-retrieve": "POST remix of the source video, then GET the new job",
    "remix-empty-prompt": 'POST remix of the source video with prompt ""',
    "remix-long-prompt": "POST remix of the source video with a 32001-character prompt",
    "remix-no-auth": "POST remix of the source video without an Authorization header",
    "remix-pending": "POST remix of the pending (not completed) video",
    "retrieve-unknown": "GET a video id that does not exist",
    "remix-invalid-type": 'POST remix of the source video with {"prompt": 12345}',
    "remix-non-object": "POST remix of the source video with the JSON body `0`",
    "remix-json-as-text": "POST remix of the source video with a valid JSON body labelled text/plain",
    "wrong-method": "PUT on the remix path of the source video (a method no route declares)",
}


@dataclass(frozen=True, slots=True)
class Fault:
    name: str
    description: str
    operation: str  # contract operationId it breaks, or "lifecycle" (across several calls)
    trigger: str  # key of TRIGGERS
    breaks: str  # the part of the contract: response.body, response.status, auth, ...
    # Vendors where the fault is a break; elsewhere the vendor already does this, as its
    # profile documents (e.g. Bifrost never enforces a maximum prompt length).
    vendors: tuple[str, ...] = ALL_VENDORS
    # Faults that take a `name:argument` form say what the argument means and its default.
    argument: str | None = None
    default: str | None = None


_FAULTS = (
    Fault(
        "drop-field",
        "Video responses omit a required field: `object`, or the one named as drop-field:<field>.",
        "CreateVideoRemix",
        "remix",
        "response.body",
        argument="the Video field to omit",
        default="object",
    ),
    Fault(
        "wrong-enum",
        "Video `status` uses values outside the enum (pending, running, succeeded, error).",
        "CreateVideoRemix",
        "remix",
        "response.body",
    ),
    Fault(
        "string-progress",
        'Video `progress` is a string ("100") instead of a number.',
        "GetVideo",
        "retrieve",
        "response.body",
    ),
    Fault(
        "null-id",
        "Video `id` is null.",
        "CreateVideoRemix",
        "remix",
        "response.body",
    ),
    Fault(
        "no-remixed-from",
        "A remix job does not name its source: `remixed_from_video_id` is null (omitted by Bifrost).",
        "GetVideo",
        "remix-then-retrieve",
        "response.body",
    ),
    Fault(
        "wrong-content-type",
        "Successful JSON responses are labelled text/plain.",
        "CreateVideoRemix",
        "remix",
        "response.content-type",
    ),
    Fault(
        "remix-returns-201",
        "An accepted remix answers 201 Created instead of 200.",
        "CreateVideoRemix",
        "remix",
        "response.status",
    ),
    Fault(
        "status-500-on-remix",
        "Every remix answers 500 (server error envelope) and starts no job.",
        "CreateVideoRemix",
        "remix",
        "response.status",
    ),
    Fault(
        "wrong-error-envelope",
        'Error bodies are a flat {"message": ...} instead of the vendor envelope.',
        "GetVideo",
        "retrieve-unknown",
        "response.body",
    ),
    Fault(
        "skip-auth",
        "Requests without a valid API key are served instead of answered with 401.",
        "CreateVideoRemix",
        "remix-no-auth",
        "auth",
    ),
    Fault(
        "accept-empty-prompt",
        'A remix with prompt "" is accepted and starts a job.',
        "CreateVideoRemix",
        "remix-empty-prompt",
        "request.validation",
    ),
    Fault(
        "accept-long-prompt",
        "A remix prompt over 32000 characters is accepted and starts a job.",
        "CreateVideoRemix",
        "remix-long-prompt",
        "request.validation",
        vendors=("openai", "aihubmix", "apifree"),
    ),
    Fault(
        "ignore-not-completed",
        "A remix of a video that is not completed is accepted and starts a job.",
        "CreateVideoRemix",
        "remix-pending",
        "request.validation",
    ),
    Fault(
        "progress-decreases",
        "An in_progress job reports lower progress on every poll (90, 80, 70, ...).",
        "lifecycle",
        "retrieve-pending-twice",
        "lifecycle",
    ),
    Fault(
        "null-param",
        "Error bodies say `param: null` even when the request named the field at fault.",
        "CreateVideoRemix",
        "remix-invalid-type",
        "response.error-content",
    ),
    Fault(
        "status-as-code",
        'Error `code` is the HTTP status as a string ("400") instead of a machine-readable code.',
        "CreateVideoRemix",
        "remix-invalid-type",
        "response.error-content",
    ),
    Fault(
        "upstream-json-message",
        "Error `message` holds an upstream error's JSON, as a gateway that stringifies it does.",
        "GetVideo",
        "retrieve-unknown",
        "response.error-content",
    ),
    Fault(
        "foreign-id-in-message",
        "Error messages name an upstream video id the client never sent.",
        "GetVideo",
        "retrieve-unknown",
        "response.error-content",
    ),
    Fault(
        "foreign-remixed-from",
        "A remix job names as its source an upstream id that cannot be retrieved.",
        "GetVideo",
        "remix-then-retrieve",
        "response.body",
    ),
    Fault(
        "crash-on-non-object",
        "A JSON body that is not an object (0, [1], null) crashes the handler: 500.",
        "CreateVideoRemix",
        "remix-non-object",
        "request.validation",
    ),
    Fault(
        "ignore-content-type",
        "Any body is parsed as JSON whatever its Content-Type, so JSON sent as text/plain is accepted.",
        "CreateVideoRemix",
        "remix-json-as-text",
        "request.validation",
    ),
    Fault(
        "drop-poll-after",
        "Video responses lose the openai-poll-after-ms header (a gateway that does not pass it on).",
        "CreateVideoRemix",
        "remix",
        "response.header",
        vendors=("openai",),
    ),
    Fault(
        "framework-405",
        'A method no route declares gets the web framework\'s {"detail": "Method Not Allowed"}, not the error envelope.',
        "CreateVideoRemix",
        "wrong-method",
        "response.body",
    ),
    Fault(
        "status-regresses",
        "A completed job reports in_progress again on every second poll.",
        "lifecycle",
        "retrieve-twice",
        "lifecycle",
    ),
)

FAULT_SPECS: dict[str, Fault] = {f.name: f for f in _FAULTS}
FAULTS: dict[str, str] = {f.name: f.description for f in _FAULTS}
