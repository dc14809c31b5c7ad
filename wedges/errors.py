"""The typed refusals of the proposal and rollout services, each with a stable code.

The API maps them to HTTP statuses (``MetricsInvalid`` and ``SubmissionRejected``
400, ``RolloutRefused`` and ``IdempotencyConflict`` 409) in ``config.api.errors``,
and the pages show their messages. The codes are part of the API contract and
never change meaning once released.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from config.refusals import FieldError, InvalidInput, Refused
from wedges.policy import Issue

__all__ = [
    "FieldError",
    "IdempotencyConflict",
    "MetricsInvalid",
    "RolloutRefused",
    "SubmissionRejected",
]

# --- 400: a metric snapshot's body is wrong ------------------------------------------------
NOT_AN_OBJECT: Final = "not_an_object"
UNKNOWN_KEY: Final = "unknown_key"
REQUIRED: Final = "required"
WRONG_TYPE: Final = "wrong_type"
EMPTY: Final = "empty"
TOO_MANY: Final = "too_many"
INVALID_NAME: Final = "invalid_name"
NOT_A_QUANTITY: Final = "not_a_quantity"
NOT_A_PERCENTAGE: Final = "not_a_percentage"

# --- 409: the state machine, the policy or an earlier request refuses it --------------------
INVALID_TRANSITION: Final = "invalid_transition"
NOT_RUNNING: Final = "not_running"
NOT_ELIGIBLE: Final = "not_eligible"
IDEMPOTENCY_KEY_REUSED: Final = "idempotency_key_reused"


class RolloutRefused(Refused):
    """The state machine or the policy refuses an operator's request (HTTP 409)."""


class MetricsInvalid(InvalidInput):
    """A snapshot body that is not a map of metric names to quantities (HTTP 400)."""


class SubmissionRejected(InvalidInput):
    """The submission breaks rules no waiver can lift; nothing was stored (HTTP 400).

    Each error keeps the policy's rule number and whether a waiver could lift it,
    as the dry run reports them.
    """

    def __init__(self, issues: Iterable[Issue]) -> None:
        super().__init__(
            [
                FieldError(
                    issue.path,
                    issue.code,
                    issue.message,
                    details={"rule": issue.rule, "waivable": issue.waivable},
                )
                for issue in issues
            ]
        )


class IdempotencyConflict(Refused):
    """The Idempotency-Key was used before with a different body (HTTP 409)."""

    def __init__(self) -> None:
        super().__init__(
            IDEMPOTENCY_KEY_REUSED,
            "This Idempotency-Key was already used with a different request body.",
        )
