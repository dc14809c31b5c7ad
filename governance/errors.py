"""The typed refusals of the incident service, each with a stable code.

The API maps them to HTTP statuses (``IncidentInvalid`` 400, ``NotAllowed``
403) and the pages show their messages. The codes are part of the API
contract and never change meaning once released.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# --- 400: the input itself is wrong ------------------------------------------------------
BLANK: Final = "blank"
TOO_LONG: Final = "too_long"
INVALID_CHOICE: Final = "invalid_choice"
OUT_OF_RANGE: Final = "out_of_range"
TOO_PRECISE: Final = "too_precise"
NOT_AWARE: Final = "timezone_required"
IN_FUTURE: Final = "in_future"
BEFORE_PROPOSAL: Final = "before_proposal"

# --- 403: this person may not do this at all ----------------------------------------------
NOT_ALLOWED_TO_RECORD: Final = "not_allowed_to_record"


class GovernanceError(Exception):
    """Base class: ``code`` is stable, ``message`` is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class NotAllowed(GovernanceError):
    """The actor may not record incidents for this proposal (HTTP 403)."""


@dataclass(frozen=True)
class FieldError:
    field: str | None  # the request body's field, or None for the body as a whole
    code: str
    message: str


class IncidentInvalid(GovernanceError):
    """The input is wrong (HTTP 400); every problem at once, each with its field."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(errors[0].code, "; ".join(error.message for error in errors))
        self.errors = errors
