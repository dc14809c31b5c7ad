"""The typed refusals of the policy-version services, each with a stable code.

The API maps them to HTTP statuses (``PolicyVersionInvalid`` 400,
``NotAllowed`` 403, ``PolicyVersionRefused`` 409); the codes are part of the
API contract. The threshold codes themselves (``loosens_policy``,
``out_of_range``, ``no_change`` ...) are the policy core's
(``wedges.policy.thresholds``).
"""

from __future__ import annotations

from typing import Final

from config.refusals import FieldError, InvalidInput, NotAllowed, Refused

__all__ = ["FieldError", "NotAllowed", "PolicyVersionInvalid", "PolicyVersionRefused"]

# --- 400: the input itself is wrong -------------------------------------------------------
BLANK: Final = "blank"
TOO_LONG: Final = "too_long"
REQUIRED: Final = "required"
NOT_AWARE: Final = "timezone_required"
IN_PAST: Final = "in_past"
BEFORE_IN_FORCE: Final = "before_version_in_force"

# --- 403: this person may not do this at all ------------------------------------------------
NOT_A_SECTION_LEAD: Final = "not_a_section_lead"
NOT_THE_PROPOSER: Final = "not_the_proposer"

# --- 409: the rules or the version's state refuse it -----------------------------------------
SELF_APPROVAL: Final = "self_approval"
NOT_UNDER_REVIEW: Final = "not_under_review"


class PolicyVersionInvalid(InvalidInput):
    """The proposed version's input is wrong (HTTP 400)."""


class PolicyVersionRefused(Refused):
    """The four-eyes rule or the version's state refuses the action (HTTP 409)."""
