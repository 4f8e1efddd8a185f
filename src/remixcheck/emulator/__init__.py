"""Reference servers for each vendor dialect of the remix API, with injectable faults.

Each emulator serves POST /videos, GET /videos/{video_id} and POST /videos/{video_id}/remix
under every base path of its vendor profile, answers as that vendor documents, and shows
exactly the deviations its profile lists. Where the vendors' documents are silent:

- Jobs: queued for the first 20% of job_seconds, then in_progress, then terminal. A prompt
  containing "[fail]" makes the job fail (error code video_generation_failed, progress
  stalls at 50, completed_at set, expires_at null). completed jobs get
  expires_at = completed_at + 3600.
- Seeded videos: a completed source (RunningEmulator.source_video_id), one in_progress
  forever at progress 42 (pending_video_id) and one failed (failed_video_id).
- Remix of a video that is not completed (queued, in_progress or failed):
  profile.not_completed_status (400), code video_not_completed.
- Error codes follow OpenAI's usual ones (missing_required_parameter, string_below_min_length,
  string_above_max_length, invalid_type, unknown_parameter, invalid_api_key; code null for
  404 and bad JSON); aihubmix says prompt_missing / prompt_too_long, as its error page does.
- Content types: openai and aihubmix take JSON or multipart, others get 415; apifree
  takes only JSON (415 otherwise, its docs make the header mandatory); Bifrost only
  JSON-decodes, so anything else is its generic 400 "Invalid request format".
- Create accepts any model string and extra fields (the contract allows both) but checks
  seconds and size against their enums (Bifrost forwards both unchecked). apifree's create
  answers a full Video: only remix and retrieve are documented as different.
- billable_quota (optional): once exhausted, billable requests get 429 insufficient_quota
  (aihubmix: its documented 403).
"""

from __future__ import annotations

from remixcheck.emulator.app import create_app
from remixcheck.emulator.config import EMULATED_VENDORS, EmulatorConfig, generate_api_key
from remixcheck.emulator.faults import FAULT_SPECS, FAULTS, TRIGGERS, Fault
from remixcheck.emulator.server import RunningEmulator, running_emulator, serve

__all__ = [
    "EMULATED_VENDORS",
    "FAULTS",
    "FAULT_SPECS",
    "TRIGGERS",
    "EmulatorConfig",
    "Fault",
    "RunningEmulator",
    "create_app",
    "generate_api_key",
    "running_emulator",
    "serve",
]
