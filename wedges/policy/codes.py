"""Every stable code the policy package emits, defined once.

Validation codes appear in API error bodies (``{"field", "code", "message"}``);
engine rule codes appear on decisions and in the audit trail. Clients and
pipelines match on these strings, so they never change meaning once released.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class WedgeState(StrEnum):
    """The policy's five wedge states (a ``StrEnum``, so members equal their names)."""

    PENDING = "PENDING"
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    ROLLED_BACK = "ROLLED_BACK"
    COMPLETE = "COMPLETE"


WEDGE_STATES: Final = tuple(state.value for state in WedgeState)


class Increment(StrEnum):
    """The policy's increment policies: how a wedge's stages rise, and who advances them."""

    LINEAR = "linear"
    EXPONENTIAL = "exponential"
    MANUAL = "manual"  # an operator approves each advance


INCREMENT_POLICIES: Final = tuple(policy.value for policy in Increment)
AUTOMATIC_POLICIES: Final = frozenset({Increment.LINEAR, Increment.EXPONENTIAL})

# --- Thresholds straight from the policy's "Thresholds" table --------------------------------
# These are version 1 of the policy and its floor: the validator and the engine
# take the version in force as a ``thresholds.Thresholds`` value, whose
# defaults these are; a later version may only tighten them.
MIN_STAGES: Final = 2
CRITICAL_INITIAL_CAP: Final = 10.0
FIRST_STAGE_CAP: Final = 25.0
MIN_OBSERVATION_WINDOW_HOURS: Final = 1.0
PAUSE_AFTER_WINDOWS: Final = 3
ROLLBACK_SLO_SECONDS: Final = 60  # INV-RWG-ROLLBACK: deployers told within a minute
MAX_WAIVER_DAYS: Final = 90

# The longest duration_hours and observation_window_hours a wedge may declare: a
# year. The policy sets no upper bound, but a plan has to fit the calendar the
# engine computes its gates in; a deployment may lower it (WEDGE_MAX_STAGE_HOURS).
MAX_STAGE_HOURS: Final = 8760.0

# Stage ids are stored in a column of this size.
MAX_STAGE_ID_LENGTH: Final = 100

# The implicit hold at initial_percentage before stage 1 (SPEC "The rollout engine").
INITIAL_STAGE_ID: Final = "initial"
INITIAL_STAGE_INDEX: Final = -1

# The reserved snapshot metric carrying the exposure the deployer actually has.
EXPOSURE_METRIC: Final = "exposure_percentage"

# --- Validation error codes -------------------------------------------------------------------
NOT_AN_OBJECT: Final = "not_an_object"
REQUIRED: Final = "required"
UNKNOWN_KEY: Final = "unknown_key"
WRONG_TYPE: Final = "wrong_type"
NOT_FINITE: Final = "not_finite"
STAGES_EMPTY: Final = "stages_empty"
STAGES_TOO_FEW: Final = "stages_too_few"
STAGE_FIELD_MISSING: Final = "stage_field_missing"
STAGE_ID_EMPTY: Final = "stage_id_empty"
STAGE_ID_DUPLICATE: Final = "stage_id_duplicate"
STAGE_ID_RESERVED: Final = "stage_id_reserved"
STAGE_ID_TOO_LONG: Final = "stage_id_too_long"
PERCENTAGE_OUT_OF_RANGE: Final = "percentage_out_of_range"
DURATION_NOT_POSITIVE: Final = "duration_not_positive"
DURATION_TOO_LONG: Final = "duration_too_long"
CRITERIA_EMPTY: Final = "criteria_empty"
EXPRESSION_INVALID: Final = "expression_invalid"
TARGETS_NOT_INCREASING: Final = "targets_not_increasing"
FIRST_STAGE_TOO_LARGE: Final = "first_stage_too_large"
INITIAL_NOT_POSITIVE: Final = "initial_not_positive"
INITIAL_ABOVE_FIRST_STAGE: Final = "initial_above_first_stage"
INITIAL_ABOVE_CRITICAL_CAP: Final = "initial_above_critical_cap"
BLAST_RADIUS_OUT_OF_RANGE: Final = "blast_radius_out_of_range"
BLAST_RADIUS_BELOW_STAGE: Final = "blast_radius_below_stage"
OBSERVATION_WINDOW_TOO_SHORT: Final = "observation_window_too_short"
OBSERVATION_WINDOW_TOO_LONG: Final = "observation_window_too_long"
INCREMENT_POLICY_INVALID: Final = "increment_policy_invalid"
WEDGE_STATE_INVALID: Final = "wedge_state_invalid"
WEDGE_STATE_NOT_PENDING: Final = "wedge_state_not_pending"
# Text holding a NUL character or an unpaired UTF-16 surrogate: no UTF-8 text
# (and no PostgreSQL column) can hold either.
INVALID_CHARACTERS: Final = "invalid_characters"
# Rule 11: rollout_wedge.metric_queries.
TOO_MANY_QUERIES: Final = "too_many_queries"
METRIC_NAME_INVALID: Final = "invalid_metric_name"
UNKNOWN_PROVIDER: Final = "unknown_provider"
QUERY_EMPTY: Final = "query_empty"
QUERY_TOO_LONG: Final = "query_too_long"
UNKNOWN_QUERY_VARIABLE: Final = "unknown_query_variable"
QUERY_VARIABLE_IN_RAW_STRING: Final = "query_variable_in_raw_string"

VALIDATION_ERROR_CODES: Final = frozenset(
    {
        NOT_AN_OBJECT,
        REQUIRED,
        UNKNOWN_KEY,
        WRONG_TYPE,
        NOT_FINITE,
        STAGES_EMPTY,
        STAGES_TOO_FEW,
        STAGE_FIELD_MISSING,
        STAGE_ID_EMPTY,
        STAGE_ID_DUPLICATE,
        STAGE_ID_RESERVED,
        STAGE_ID_TOO_LONG,
        PERCENTAGE_OUT_OF_RANGE,
        DURATION_NOT_POSITIVE,
        DURATION_TOO_LONG,
        CRITERIA_EMPTY,
        EXPRESSION_INVALID,
        TARGETS_NOT_INCREASING,
        FIRST_STAGE_TOO_LARGE,
        INITIAL_NOT_POSITIVE,
        INITIAL_ABOVE_FIRST_STAGE,
        INITIAL_ABOVE_CRITICAL_CAP,
        BLAST_RADIUS_OUT_OF_RANGE,
        BLAST_RADIUS_BELOW_STAGE,
        OBSERVATION_WINDOW_TOO_SHORT,
        OBSERVATION_WINDOW_TOO_LONG,
        INCREMENT_POLICY_INVALID,
        WEDGE_STATE_INVALID,
        WEDGE_STATE_NOT_PENDING,
        INVALID_CHARACTERS,
        TOO_MANY_QUERIES,
        METRIC_NAME_INVALID,
        UNKNOWN_PROVIDER,
        QUERY_EMPTY,
        QUERY_TOO_LONG,
        UNKNOWN_QUERY_VARIABLE,
        QUERY_VARIABLE_IN_RAW_STRING,
    }
)

# SPEC "Waivers": rules 1, 4 and 5 are waivable. Only the policy thresholds of those
# rules are: a zero-stage wedge or a non-positive initial percentage cannot be run at
# all, so a waiver cannot lift them.
WAIVABLE_CODES: Final = frozenset(
    {
        STAGES_TOO_FEW,
        FIRST_STAGE_TOO_LARGE,
        INITIAL_ABOVE_FIRST_STAGE,
        INITIAL_ABOVE_CRITICAL_CAP,
    }
)

# --- Validation warning codes (never block) ----------------------------------------------------
LADDER_NOT_LINEAR: Final = "ladder_not_linear"
LADDER_NOT_EXPONENTIAL: Final = "ladder_not_exponential"
STAGE_SHORTER_THAN_WINDOW: Final = "stage_shorter_than_window"
METRIC_NOT_QUERIED: Final = "metric_not_queried"
VALIDATION_WARNING_CODES: Final = frozenset(
    {LADDER_NOT_LINEAR, LADDER_NOT_EXPONENTIAL, STAGE_SHORTER_THAN_WINDOW, METRIC_NOT_QUERIED}
)

# --- Engine rule codes (Decision.rule) ---------------------------------------------------------
RULE_STAGED: Final = "INV-RWG-STAGED"
RULE_OBSERVE: Final = "INV-RWG-OBSERVE"
RULE_BLAST: Final = "INV-RWG-BLAST"
RULE_ROLLBACK: Final = "INV-RWG-ROLLBACK"
RULE_PAUSE_3X: Final = "RWG-PAUSE-3X"
RULE_NOT_RUNNING: Final = "not_running"
RULE_PAUSED: Final = "paused"
RULE_NO_SNAPSHOT: Final = "no_snapshot"
RULE_SNAPSHOT_BEFORE_STAGE: Final = "snapshot_before_stage"
RULE_STALE_SNAPSHOT: Final = "stale_snapshot"
RULE_CRITERIA_UNMET: Final = "criteria_unmet"
RULE_DURATION_PENDING: Final = "duration_pending"
RULE_AWAITING_APPROVAL: Final = "awaiting_approval"
# Decided outside the engine's own gates, recorded with the event's rule.
RULE_SYSTEM_HOLD: Final = "system_hold"  # a metric provider kept failing
RULE_EXTERNAL_ALERT: Final = "external_alert"  # an alert (Alertmanager) fired for the wedge

# --- Audit event codes (the policy's "Event Codes" table) --------------------------------------
EVENT_ADVANCED: Final = "RWG-001"
EVENT_PAUSED: Final = "RWG-002"
EVENT_ROLLED_BACK: Final = "RWG-003"
EVENT_COMPLETED: Final = "RWG-004"
