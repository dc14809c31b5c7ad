"""The stable codes of the gates' answers and refusals (part of the API contract).

A *hold* is a normal answer in the tool's terms: Flagger gets ``403`` with
one of the ``HOLD_*`` codes and the reason, Argo a ``200`` whose ``decision``
is ``pending`` or ``rejected``. A *refusal* is a call Wedge cannot answer at
all — malformed, unauthenticated, about no proposal it may read — answered
``400``/``401``/``403``/``404`` in the API's error shape and audited (WDG-704).
"""

from __future__ import annotations

from typing import Final

# --- 400: the tool's payload --------------------------------------------------------------
NOT_AN_OBJECT: Final = "not_an_object"
REQUIRED: Final = "required"
WRONG_TYPE: Final = "wrong_type"
INVALID_NAME: Final = "invalid_name"
TOO_LONG: Final = "too_long"
NOT_A_PROPOSAL_ID: Final = "not_a_proposal_id"
UNKNOWN_PHASE: Final = "unknown_phase"

# --- 404: no proposal for the canary --------------------------------------------------------
UNKNOWN_CANARY: Final = "unknown_canary"
UNKNOWN_PROPOSAL: Final = "unknown_proposal"

# --- 403: the token's owner may not report for this proposal --------------------------------
NOT_ALLOWED_TO_REPORT: Final = "not_allowed_to_report"

# --- Holds: the policy's answer, not an error -----------------------------------------------
HOLD_NOT_STARTED: Final = "not_started"
HOLD_PAUSED: Final = "paused"
HOLD_ROLLED_BACK: Final = "rolled_back"
HOLD_COMPLETE: Final = "complete"
HOLD_NOT_ELIGIBLE: Final = "not_eligible"
HOLD_AWAITING_APPROVAL: Final = "awaiting_approval"
HOLD_CANARIES: Final = "canaries_unhealthy"
HOLD_NOT_LAST_STAGE: Final = "not_last_stage"
HOLD_NOT_ROLLED_BACK: Final = "not_rolled_back"
HOLD_STEP_TAKEN: Final = "step_taken"
