"""The typed refusals of the incident service, each with a stable code.

The API maps them to HTTP statuses (``IncidentInvalid`` 400, ``NotAllowed``
403) and the pages show their messages. The codes are part of the API
contract and never change meaning once released.
"""

from __future__ import annotations

from typing import Final

from config.refusals import FieldError, InvalidInput, NotAllowed

__all__ = ["FieldError", "IncidentInvalid", "NotAllowed"]

# --- 400: the input itself is wrong ------------------------------------------------------
BLANK: Final = "blank"
TOO_LONG: Final = "too_long"
INVALID_CHOICE: Final = "invalid_choice"
OUT_OF_RANGE: Final = "out_of_range"
TOO_PRECISE: Final = "too_precise"
NOT_AWARE: Final = "timezone_required"
IN_FUTURE: Final = "in_future"
BEFORE_PROPOSAL: Final = "before_proposal"
REQUIRED: Final = "required"
INVALID_TIME: Final = "invalid"
INVALID_TYPE: Final = "invalid"
INVALID_URL: Final = "invalid_url"
BEFORE_START: Final = "before_start"
DOES_NOT_EXIST: Final = "does_not_exist"
NO_ROLLOUT: Final = "no_rollout_then"
AMBIGUOUS: Final = "ambiguous"

# --- 403: this person may not do this at all ----------------------------------------------
NOT_ALLOWED_TO_RECORD: Final = "not_allowed_to_record"


class IncidentInvalid(InvalidInput):
    """The incident's input is wrong (HTTP 400)."""
