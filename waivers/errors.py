"""The typed refusals of the waiver services, each with a stable code.

The API maps them to HTTP statuses (``WaiverInvalid`` 400, ``NotAllowed`` 403,
``WaiverRuleError`` 409) and the pages show their messages; the codes are
part of the API contract and never change meaning once released.
"""

from __future__ import annotations

from typing import Final

from config.refusals import FieldError, InvalidInput, NotAllowed, Refused

__all__ = ["FieldError", "NotAllowed", "WaiverInvalid", "WaiverRuleError"]

# --- 400: the input itself is wrong -------------------------------------------------------
BLANK: Final = "blank"
TOO_LONG: Final = "too_long"
REQUIRED: Final = "required"
DURATION_OUT_OF_RANGE: Final = "duration_out_of_range"
INVALID_CHOICE: Final = "invalid_choice"
SCOPE_REQUIRED: Final = "scope_required"
SCOPE_AMBIGUOUS: Final = "scope_ambiguous"

# --- 403: this person may not do this at all ------------------------------------------------
NOT_ALLOWED_TO_REQUEST: Final = "not_allowed_to_request"
NOT_A_REVIEWER: Final = "not_a_reviewer"
NOT_ALLOWED_TO_REVOKE: Final = "not_allowed_to_revoke"

# --- 409: the rules or the waiver's state refuse it -----------------------------------------
PROPOSAL_STARTED: Final = "proposal_started"
WAIVER_NOT_NEEDED: Final = "waiver_not_needed"
ALREADY_COVERED: Final = "already_covered"
REQUEST_PENDING: Final = "request_pending"
SELF_APPROVAL: Final = "self_approval"
AUTHOR_APPROVAL: Final = "author_approval"
ALREADY_VOTED: Final = "already_voted"
LEAD_APPROVAL_REQUIRED: Final = "lead_approval_required"
WAIVER_CLOSED: Final = "waiver_closed"


class WaiverRuleError(Refused):
    """The four-eyes rules or the waiver's state refuse the action (HTTP 409)."""


class WaiverInvalid(InvalidInput):
    """The waiver request's input is wrong (HTTP 400)."""
