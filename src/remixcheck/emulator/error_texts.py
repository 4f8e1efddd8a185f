"""The error texts each emulated vendor answers with, as their servers word them."""

from __future__ import annotations

# OpenAI's wording and codes, as its API answers elsewhere (missing_required_parameter,
# string_above_max_length, unknown_parameter, ...). The video docs list none of them.
_OPENAI_ERRORS: dict[str, tuple[int, str, str | None, str]] = {
    # kind: (status, type, code, message template)
    "missing_key": (
        401,
        "invalid_request_error",
        None,
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
    ),
    "invalid_key": (
        401,
        "invalid_request_error",
        "invalid_api_key",
        "Incorrect API key provided: {masked}.",
    ),
    "route_not_found": (404, "invalid_request_error", None, "Invalid URL ({method} {path})"),
    "method_not_allowed": (
        405,
        "invalid_request_error",
        None,
        "Method not allowed ({method} {path})",
    ),
    "video_not_found": (404, "invalid_request_error", None, "No such Video object: '{video_id}'."),
    "not_completed": (
        400,
        "invalid_request_error",
        "video_not_completed",
        "Video '{video_id}' is {status}; only completed videos can be remixed.",
    ),
    "prompt_missing": (
        400,
        "invalid_request_error",
        "missing_required_parameter",
        "Missing required parameter: 'prompt'.",
    ),
    "prompt_empty": (
        400,
        "invalid_request_error",
        "string_below_min_length",
        "Invalid 'prompt': string too short. Expected a string with minimum length 1, but got an empty string instead.",
    ),
    "prompt_too_long": (
        400,
        "invalid_request_error",
        "string_above_max_length",
        "Invalid 'prompt': string too long. Expected a string with maximum length {limit}, but got a string with length {length} instead.",
    ),
    "invalid_type": (
        400,
        "invalid_request_error",
        "invalid_type",
        "Invalid type for '{param}': expected {expected}, but got {got} instead.",
    ),
    "invalid_value": (
        400,
        "invalid_request_error",
        "invalid_value",
        "Invalid value for '{param}': {value}. Supported values are: {allowed}.",
    ),
    "unknown_parameter": (
        400,
        "invalid_request_error",
        "unknown_parameter",
        "Unrecognized request argument supplied: {param}",
    ),
    "invalid_json": (
        400,
        "invalid_request_error",
        None,
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
    ),
    "body_not_object": (
        400,
        "invalid_request_error",
        "invalid_type",
        "Invalid type for request body: expected an object, but got {got} instead.",
    ),
    "invalid_multipart": (
        400,
        "invalid_request_error",
        None,
        "Could not parse the multipart/form-data body: {detail}",
    ),
    "invalid_model": (
        400,
        "invalid_request_error",
        "invalid_value",
        "Invalid value for 'model': {value}.",
    ),
    "unsupported_media_type": (
        415,
        "invalid_request_error",
        "unsupported_media_type",
        "Unsupported Content-Type {content_type!r}; send {accepted}.",
    ),
    "body_too_large": (
        413,
        "invalid_request_error",
        "request_too_large",
        "Request body too large: the limit is {limit} bytes.",
    ),
    "quota": (
        429,
        "insufficient_quota",
        "insufficient_quota",
        "You exceeded your current quota, please check your plan and billing details.",
    ),
    "server_error": (
        500,
        "server_error",
        None,
        "The server had an error while processing your request. Sorry about that!",
    ),
    # Only Bifrost raises these two (id:provider ids); kept here so every kind has a default.
    "invalid_video_id": (
        400,
        "invalid_request_error",
        None,
        "video_id must be in id:provider format",
    ),
    "unsupported_operation": (
        400,
        "invalid_request_error",
        "unsupported_operation",
        "video remix is not supported by {provider} provider",
    ),
}


# Bifrost's own handler messages (maximhq/bifrost transports/bifrost-http/handlers/inference.go).
_BIFROST_MESSAGES: dict[str, str] = {
    "missing_key": "Unauthorized: missing API key (Authorization: Bearer <key>)",
    "invalid_key": "Unauthorized: invalid API key",
    "route_not_found": "Route not found: {method} {path}",
    "method_not_allowed": "Method not allowed: {method} {path}",
    "video_not_found": "{what} not found",
    "invalid_type": "Invalid request format: {param} must be {expected}, got {got}",
    "invalid_json": "Invalid request format: {detail}",
    "body_not_object": "Invalid request format: the body must be a JSON object, got {got}",
    "invalid_model": "model should be in provider/model format",
    "unsupported_media_type": "Invalid request format: Content-Type must be application/json, got {content_type!r}",
    "body_too_large": "Request body too large: the limit is {limit} bytes",
    "server_error": "Internal server error",
}
