"""Validation rules 1-11 of docs/policy.md, each at its edges, plus warnings and the report."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import pytest

from wedges.policy import codes
from wedges.policy.validation import (
    Issue,
    Report,
    ValidationContext,
    unstorable_character,
    validate,
)

Document = dict[str, Any]
MakeDocument = Callable[..., Document]
STAGES = "rollout_wedge.wedge_stages"
QUERIES = "rollout_wedge.metric_queries"
CRITICAL = ValidationContext(subsystem_critical=True)


def stage(document: Document, index: int) -> dict[str, Any]:
    stages: list[dict[str, Any]] = document["wedge_stages"]
    return stages[index]


def found(report: Report) -> set[tuple[str | None, str]]:
    return {(issue.path, issue.code) for issue in report.errors}


def only_issue(issues: tuple[Issue, ...], code: str) -> Issue:
    matching = [issue for issue in issues if issue.code == code]
    assert len(matching) == 1, issues
    return matching[0]


def test_the_reference_document_is_clean(make_document: MakeDocument) -> None:
    report = validate(make_document(), ValidationContext())
    assert report.valid
    assert report.errors == ()
    assert report.warnings == ()
    assert not report.waiver_required
    assert report.total_duration_hours == 12.0  # 4 stages x 2h + 4 x 1h window


# --- Each rule at its edges: (mutation, context, path, code) ---------------------------------

Mutation = Callable[[Document], object]


def case(
    name: str,
    mutation: Mutation,
    path: str,
    code: str,
    context: ValidationContext | None = None,
) -> Any:
    return pytest.param(mutation, context or ValidationContext(), path, code, id=name)


def _keep_first_stage(document: Document) -> None:
    del document["wedge_stages"][1:]


def _set(index: int, **values: Any) -> Mutation:
    return lambda document: stage(document, index).update(values)


def _drop(index: int, key: str) -> Mutation:
    return lambda document: stage(document, index).pop(key)


FAILING_CASES = [
    # Rule 1: at least two stages.
    case("one stage", _keep_first_stage, STAGES, codes.STAGES_TOO_FEW),
    case("no stages", lambda d: d.update(wedge_stages=[]), STAGES, codes.STAGES_EMPTY),
    case("stages object", lambda d: d.update(wedge_stages={}), STAGES, codes.WRONG_TYPE),
    case("stages null", lambda d: d.update(wedge_stages=None), STAGES, codes.WRONG_TYPE),
    # Rule 2: each stage's five fields, types and values.
    case(
        "stage is a string",
        lambda d: d["wedge_stages"].__setitem__(1, "beta"),
        f"{STAGES}[1]",
        codes.NOT_AN_OBJECT,
    ),
    case(
        "stage is null",
        lambda d: d["wedge_stages"].__setitem__(2, None),
        f"{STAGES}[2]",
        codes.NOT_AN_OBJECT,
    ),
    case(
        "missing stage_id", _drop(0, "stage_id"), f"{STAGES}[0].stage_id", codes.STAGE_FIELD_MISSING
    ),
    case(
        "missing target",
        _drop(1, "target_percentage"),
        f"{STAGES}[1].target_percentage",
        codes.STAGE_FIELD_MISSING,
    ),
    case(
        "missing duration",
        _drop(1, "duration_hours"),
        f"{STAGES}[1].duration_hours",
        codes.STAGE_FIELD_MISSING,
    ),
    case(
        "missing criteria",
        _drop(2, "success_criteria"),
        f"{STAGES}[2].success_criteria",
        codes.STAGE_FIELD_MISSING,
    ),
    case(
        "missing trigger",
        _drop(3, "rollback_trigger"),
        f"{STAGES}[3].rollback_trigger",
        codes.STAGE_FIELD_MISSING,
    ),
    case("stage_id number", _set(0, stage_id=7), f"{STAGES}[0].stage_id", codes.WRONG_TYPE),
    case("stage_id empty", _set(0, stage_id=""), f"{STAGES}[0].stage_id", codes.STAGE_ID_EMPTY),
    case("stage_id blank", _set(0, stage_id="  "), f"{STAGES}[0].stage_id", codes.STAGE_ID_EMPTY),
    case(
        "stage_id duplicate",
        _set(2, stage_id="canary"),
        f"{STAGES}[2].stage_id",
        codes.STAGE_ID_DUPLICATE,
    ),
    case(
        "stage_id 100 characters is fine, 101 too long",
        _set(1, stage_id="x" * 101),
        f"{STAGES}[1].stage_id",
        codes.STAGE_ID_TOO_LONG,
    ),
    case(
        "stage_id reserved",
        _set(1, stage_id="initial"),
        f"{STAGES}[1].stage_id",
        codes.STAGE_ID_RESERVED,
    ),
    case(
        "target string",
        _set(1, target_percentage="40"),
        f"{STAGES}[1].target_percentage",
        codes.WRONG_TYPE,
    ),
    case(
        "target boolean",
        _set(1, target_percentage=True),
        f"{STAGES}[1].target_percentage",
        codes.WRONG_TYPE,
    ),
    case(
        "target NaN",
        _set(1, target_percentage=math.nan),
        f"{STAGES}[1].target_percentage",
        codes.NOT_FINITE,
    ),
    case(
        "target infinite",
        _set(3, target_percentage=math.inf),
        f"{STAGES}[3].target_percentage",
        codes.NOT_FINITE,
    ),
    case(
        "target huge int",
        _set(3, target_percentage=10**400),
        f"{STAGES}[3].target_percentage",
        codes.NOT_FINITE,
    ),
    case(
        "target below 0",
        _set(0, target_percentage=-0.01),
        f"{STAGES}[0].target_percentage",
        codes.PERCENTAGE_OUT_OF_RANGE,
    ),
    case(
        "target above 100",
        _set(3, target_percentage=100.01),
        f"{STAGES}[3].target_percentage",
        codes.PERCENTAGE_OUT_OF_RANGE,
    ),
    case(
        "duration 0",
        _set(1, duration_hours=0),
        f"{STAGES}[1].duration_hours",
        codes.DURATION_NOT_POSITIVE,
    ),
    case(
        "duration negative",
        _set(1, duration_hours=-1),
        f"{STAGES}[1].duration_hours",
        codes.DURATION_NOT_POSITIVE,
    ),
    case(
        "duration string",
        _set(1, duration_hours="2h"),
        f"{STAGES}[1].duration_hours",
        codes.WRONG_TYPE,
    ),
    case(
        "duration a year and a second",
        _set(1, duration_hours=codes.MAX_STAGE_HOURS + 1 / 3600),
        f"{STAGES}[1].duration_hours",
        codes.DURATION_TOO_LONG,
    ),
    case(
        "duration 1e8",
        _set(1, duration_hours=1e8),
        f"{STAGES}[1].duration_hours",
        codes.DURATION_TOO_LONG,
    ),
    case(
        "duration 1e308",
        _set(2, duration_hours=1e308),
        f"{STAGES}[2].duration_hours",
        codes.DURATION_TOO_LONG,
    ),
    case(
        "duration huge int",
        _set(2, duration_hours=10**18),
        f"{STAGES}[2].duration_hours",
        codes.DURATION_TOO_LONG,
    ),
    case(
        "duration beyond a lowered bound",
        _set(0, duration_hours=24.5),
        f"{STAGES}[0].duration_hours",
        codes.DURATION_TOO_LONG,
        ValidationContext(max_stage_hours=24),
    ),
    case(
        "stage_id with NUL",
        _set(0, stage_id="can\x00ary"),
        f"{STAGES}[0].stage_id",
        codes.INVALID_CHARACTERS,
    ),
    case(
        "stage_id with a lone surrogate",
        _set(1, stage_id="\ud800"),
        f"{STAGES}[1].stage_id",
        codes.INVALID_CHARACTERS,
    ),
    case(
        "criterion with NUL",
        _set(0, success_criteria=["a < 1\x00"]),
        f"{STAGES}[0].success_criteria[0]",
        codes.INVALID_CHARACTERS,
    ),
    case(
        "trigger with a lone surrogate",
        _set(0, rollback_trigger="a > 1 or \udfff"),
        f"{STAGES}[0].rollback_trigger",
        codes.INVALID_CHARACTERS,
    ),
    case(
        "number typed as text with NUL",
        _set(0, target_percentage="1\x00"),
        f"{STAGES}[0].target_percentage",
        codes.INVALID_CHARACTERS,
    ),
    case(
        "criteria empty",
        _set(1, success_criteria=[]),
        f"{STAGES}[1].success_criteria",
        codes.CRITERIA_EMPTY,
    ),
    case(
        "criteria string",
        _set(1, success_criteria="error_rate < 0.01"),
        f"{STAGES}[1].success_criteria",
        codes.WRONG_TYPE,
    ),
    case(
        "criterion number",
        _set(0, success_criteria=["a < 1", 5]),
        f"{STAGES}[0].success_criteria[1]",
        codes.WRONG_TYPE,
    ),
    case(
        "criterion invalid",
        _set(0, success_criteria=["a < 1", "b < 2", "c <"]),
        f"{STAGES}[0].success_criteria[2]",
        codes.EXPRESSION_INVALID,
    ),
    case(
        "trigger invalid",
        _set(0, rollback_trigger="error_rate >> 1"),
        f"{STAGES}[0].rollback_trigger",
        codes.EXPRESSION_INVALID,
    ),
    case(
        "trigger empty",
        _set(0, rollback_trigger=""),
        f"{STAGES}[0].rollback_trigger",
        codes.EXPRESSION_INVALID,
    ),
    case(
        "trigger null",
        _set(0, rollback_trigger=None),
        f"{STAGES}[0].rollback_trigger",
        codes.WRONG_TYPE,
    ),
    case(
        "trigger list",
        _set(0, rollback_trigger=["a > 1"]),
        f"{STAGES}[0].rollback_trigger",
        codes.WRONG_TYPE,
    ),
    # Rule 3: strictly increasing targets.
    case(
        "equal adjacent targets",
        _set(2, target_percentage=40),
        f"{STAGES}[2].target_percentage",
        codes.TARGETS_NOT_INCREASING,
    ),
    case(
        "decreasing target",
        _set(2, target_percentage=39.99),
        f"{STAGES}[2].target_percentage",
        codes.TARGETS_NOT_INCREASING,
    ),
    # Rule 4: first stage <= 25.
    case(
        "first stage 25.5",
        _set(0, target_percentage=25.5),
        f"{STAGES}[0].target_percentage",
        codes.FIRST_STAGE_TOO_LARGE,
    ),
    case(
        "first stage 25.01",
        _set(0, target_percentage=25.01),
        f"{STAGES}[0].target_percentage",
        codes.FIRST_STAGE_TOO_LARGE,
    ),
    # Rule 5: initial_percentage.
    case(
        "initial 0",
        lambda d: d.update(initial_percentage=0),
        "rollout_wedge.initial_percentage",
        codes.INITIAL_NOT_POSITIVE,
    ),
    case(
        "initial negative",
        lambda d: d.update(initial_percentage=-5),
        "rollout_wedge.initial_percentage",
        codes.INITIAL_NOT_POSITIVE,
    ),
    case(
        "initial above 100",
        lambda d: d.update(initial_percentage=100.5),
        "rollout_wedge.initial_percentage",
        codes.PERCENTAGE_OUT_OF_RANGE,
    ),
    case(
        "initial string",
        lambda d: d.update(initial_percentage="5"),
        "rollout_wedge.initial_percentage",
        codes.WRONG_TYPE,
    ),
    case(
        "initial above first stage",
        lambda d: d.update(initial_percentage=10.01),
        "rollout_wedge.initial_percentage",
        codes.INITIAL_ABOVE_FIRST_STAGE,
    ),
    case(
        "critical initial 10.01",
        lambda d: (d.update(initial_percentage=10.01), _set(0, target_percentage=20)(d)),
        "rollout_wedge.initial_percentage",
        codes.INITIAL_ABOVE_CRITICAL_CAP,
        CRITICAL,
    ),
    # Rule 6: max_blast_radius in (0, 100] and >= every target.
    case(
        "blast 0",
        lambda d: d.update(max_blast_radius=0),
        "rollout_wedge.max_blast_radius",
        codes.BLAST_RADIUS_OUT_OF_RANGE,
    ),
    case(
        "blast 100.01",
        lambda d: d.update(max_blast_radius=100.01),
        "rollout_wedge.max_blast_radius",
        codes.BLAST_RADIUS_OUT_OF_RANGE,
    ),
    case(
        "blast below last stage",
        lambda d: d.update(max_blast_radius=99.99),
        "rollout_wedge.max_blast_radius",
        codes.BLAST_RADIUS_BELOW_STAGE,
    ),
    case(
        "blast below initial",
        lambda d: (
            d.update(max_blast_radius=5, initial_percentage=6),
            d.update(wedge_stages=d["wedge_stages"][:1]),
            _set(0, target_percentage=5)(d),
        ),
        "rollout_wedge.max_blast_radius",
        codes.BLAST_RADIUS_BELOW_STAGE,
    ),
    case(
        "blast null",
        lambda d: d.update(max_blast_radius=None),
        "rollout_wedge.max_blast_radius",
        codes.WRONG_TYPE,
    ),
    # Rule 7: observation window >= 1.0.
    case(
        "window 0.99",
        lambda d: d.update(observation_window_hours=0.99),
        "rollout_wedge.observation_window_hours",
        codes.OBSERVATION_WINDOW_TOO_SHORT,
    ),
    case(
        "window string",
        lambda d: d.update(observation_window_hours="1"),
        "rollout_wedge.observation_window_hours",
        codes.WRONG_TYPE,
    ),
    case(
        "window a year and a second",
        lambda d: d.update(observation_window_hours=codes.MAX_STAGE_HOURS + 1 / 3600),
        "rollout_wedge.observation_window_hours",
        codes.OBSERVATION_WINDOW_TOO_LONG,
    ),
    case(
        "window 1e8",
        lambda d: d.update(observation_window_hours=1e8),
        "rollout_wedge.observation_window_hours",
        codes.OBSERVATION_WINDOW_TOO_LONG,
    ),
    case(
        "window 1e308",
        lambda d: d.update(observation_window_hours=1e308),
        "rollout_wedge.observation_window_hours",
        codes.OBSERVATION_WINDOW_TOO_LONG,
    ),
    case(
        "window huge int",
        lambda d: d.update(observation_window_hours=2**63),
        "rollout_wedge.observation_window_hours",
        codes.OBSERVATION_WINDOW_TOO_LONG,
    ),
    case(
        "window beyond a lowered bound",
        lambda d: d.update(observation_window_hours=48),
        "rollout_wedge.observation_window_hours",
        codes.OBSERVATION_WINDOW_TOO_LONG,
        ValidationContext(max_stage_hours=24),
    ),
    # Rule 8: increment policy.
    case(
        "policy unknown",
        lambda d: d.update(increment_policy="geometric"),
        "rollout_wedge.increment_policy",
        codes.INCREMENT_POLICY_INVALID,
    ),
    case(
        "policy wrong case",
        lambda d: d.update(increment_policy="Linear"),
        "rollout_wedge.increment_policy",
        codes.INCREMENT_POLICY_INVALID,
    ),
    case(
        "policy number",
        lambda d: d.update(increment_policy=1),
        "rollout_wedge.increment_policy",
        codes.WRONG_TYPE,
    ),
    case(
        "policy with NUL",
        lambda d: d.update(increment_policy="linear\x00"),
        "rollout_wedge.increment_policy",
        codes.INVALID_CHARACTERS,
    ),
    # Rule 9: wedge state.
    case(
        "state unknown",
        lambda d: d.update(wedge_state="RUNNING"),
        "rollout_wedge.wedge_state",
        codes.WEDGE_STATE_INVALID,
    ),
    case(
        "state lower case",
        lambda d: d.update(wedge_state="pending"),
        "rollout_wedge.wedge_state",
        codes.WEDGE_STATE_INVALID,
    ),
    case(
        "state active on submission",
        lambda d: d.update(wedge_state="ACTIVE"),
        "rollout_wedge.wedge_state",
        codes.WEDGE_STATE_NOT_PENDING,
    ),
    case(
        "state null",
        lambda d: d.update(wedge_state=None),
        "rollout_wedge.wedge_state",
        codes.WRONG_TYPE,
    ),
    # Rule 10: unknown keys.
    case(
        "unknown top-level key",
        lambda d: d.update(owner="me"),
        "rollout_wedge.owner",
        codes.UNKNOWN_KEY,
    ),
    case("unknown stage key", _set(1, notes="x"), f"{STAGES}[1].notes", codes.UNKNOWN_KEY),
    case("odd key", lambda d: d.update({"a b": 1}), 'rollout_wedge["a b"]', codes.UNKNOWN_KEY),
    # Missing mandatory top-level fields.
    case("no stages field", lambda d: d.pop("wedge_stages"), STAGES, codes.REQUIRED),
    case(
        "no initial",
        lambda d: d.pop("initial_percentage"),
        "rollout_wedge.initial_percentage",
        codes.REQUIRED,
    ),
    case(
        "no policy",
        lambda d: d.pop("increment_policy"),
        "rollout_wedge.increment_policy",
        codes.REQUIRED,
    ),
    case(
        "no blast radius",
        lambda d: d.pop("max_blast_radius"),
        "rollout_wedge.max_blast_radius",
        codes.REQUIRED,
    ),
    case(
        "no window",
        lambda d: d.pop("observation_window_hours"),
        "rollout_wedge.observation_window_hours",
        codes.REQUIRED,
    ),
    case(
        "no state outside submission",
        lambda d: d.pop("wedge_state"),
        "rollout_wedge.wedge_state",
        codes.REQUIRED,
        ValidationContext(on_submission=False),
    ),
    # Rule 11: metric queries (tests/wedges/policy/test_validation_queries.py has the rest).
    case(
        "too many queries",
        lambda d: d.update(
            metric_queries={f"m{n}": {"provider": "p", "query": "up"} for n in range(51)}
        ),
        QUERIES,
        codes.TOO_MANY_QUERIES,
    ),
    case(
        "query name not a metric name",
        lambda d: d.update(metric_queries={"p-99": {"provider": "p", "query": "up"}}),
        f'{QUERIES}["p-99"]',
        codes.METRIC_NAME_INVALID,
    ),
    case(
        "unknown provider",
        lambda d: d.update(metric_queries={"p99": {"provider": "graphite", "query": "up"}}),
        f"{QUERIES}.p99.provider",
        codes.UNKNOWN_PROVIDER,
        ValidationContext(providers=frozenset({"prometheus"})),
    ),
    case(
        "blank query",
        lambda d: d.update(metric_queries={"p99": {"provider": "p", "query": " \n"}}),
        f"{QUERIES}.p99.query",
        codes.QUERY_EMPTY,
    ),
    case(
        "query too long",
        lambda d: d.update(metric_queries={"p99": {"provider": "p", "query": "u" * 4001}}),
        f"{QUERIES}.p99.query",
        codes.QUERY_TOO_LONG,
    ),
    case(
        "unknown query variable",
        lambda d: d.update(metric_queries={"p99": {"provider": "p", "query": "up{a='{{x}}'}"}}),
        f"{QUERIES}.p99.query",
        codes.UNKNOWN_QUERY_VARIABLE,
    ),
    case(
        "variable in a raw string",
        lambda d: d.update(
            metric_queries={"p99": {"provider": "p", "query": "up{a=`{{stage_id}}`}"}}
        ),
        f"{QUERIES}.p99.query",
        codes.QUERY_VARIABLE_IN_RAW_STRING,
    ),
]


@pytest.mark.parametrize(("mutation", "context", "path", "code"), FAILING_CASES)
def test_rule_violation_is_reported_at_its_path(
    make_document: MakeDocument,
    mutation: Mutation,
    context: ValidationContext,
    path: str,
    code: str,
) -> None:
    document = make_document()
    mutation(document)
    report = validate(document, context)
    assert not report.valid
    assert (path, code) in found(report), report.errors
    issue = next(issue for issue in report.errors if (issue.path, issue.code) == (path, code))
    assert issue.message
    assert issue.waivable is (code in codes.WAIVABLE_CODES)


def test_every_error_code_has_an_edge_case() -> None:
    covered = {param.values[3] for param in FAILING_CASES}
    assert covered == codes.VALIDATION_ERROR_CODES


PASSING_CASES = [
    pytest.param(_set(0, target_percentage=25), ValidationContext(), id="first stage 25"),
    pytest.param(
        lambda d: (d.update(initial_percentage=10), _set(0, target_percentage=20)(d)),
        CRITICAL,
        id="critical initial 10",
    ),
    pytest.param(
        lambda d: (d.update(initial_percentage=10.01), _set(0, target_percentage=20)(d)),
        ValidationContext(),
        id="non-critical initial 10.01",
    ),
    pytest.param(
        lambda d: d.update(initial_percentage=0.01), ValidationContext(), id="initial 0.01"
    ),
    pytest.param(
        lambda d: d.update(initial_percentage=10),
        ValidationContext(),
        id="initial equals first stage",
    ),
    pytest.param(
        lambda d: d.update(observation_window_hours=1), ValidationContext(), id="window int 1"
    ),
    pytest.param(
        lambda d: (
            d.update(observation_window_hours=codes.MAX_STAGE_HOURS),
            [s.update(duration_hours=codes.MAX_STAGE_HOURS) for s in d["wedge_stages"]],
        ),
        ValidationContext(),
        id="window and durations of exactly a year",
    ),
    pytest.param(
        lambda d: (
            d.update(observation_window_hours=24),
            [s.update(duration_hours=24) for s in d["wedge_stages"]],
        ),
        ValidationContext(max_stage_hours=24),
        id="exactly a lowered bound",
    ),
    pytest.param(
        _set(0, stage_id="kanarienvogel-\u00fc-\U0001f426"),
        ValidationContext(),
        id="stage_id with non-ASCII text",
    ),
    pytest.param(
        lambda d: d.pop("wedge_state"), ValidationContext(), id="state omitted on submission"
    ),
    pytest.param(
        lambda d: d.update(wedge_state="ACTIVE"),
        ValidationContext(on_submission=False),
        id="active outside submission",
    ),
    pytest.param(
        lambda d: (
            d.update(initial_percentage=0.25),
            _set(0, target_percentage=0.5, duration_hours=1.5)(d),
        ),
        ValidationContext(),
        id="fractional values",
    ),
    pytest.param(
        lambda d: d.update(max_blast_radius=100), ValidationContext(), id="blast equals last stage"
    ),
    pytest.param(
        _set(0, success_criteria=["5 > error_rate", "(a < 1 or b < 2) and c == 3"]),
        ValidationContext(),
        id="criteria with groups",
    ),
]


@pytest.mark.parametrize(("mutation", "context"), PASSING_CASES)
def test_edge_that_is_allowed(
    make_document: MakeDocument, mutation: Mutation, context: ValidationContext
) -> None:
    document = make_document()
    mutation(document)
    report = validate(document, context)
    assert report.errors == ()
    assert report.valid


def test_window_at_one_hour_is_accepted(make_document: MakeDocument) -> None:
    report = validate(make_document(observation_window_hours=1.0), ValidationContext())
    assert codes.OBSERVATION_WINDOW_TOO_SHORT not in {issue.code for issue in report.errors}


def test_stage_target_at_0_and_100_are_in_range(make_document: MakeDocument) -> None:
    document = make_document()
    stage(document, 0)["target_percentage"] = 0
    report = validate(document, ValidationContext())
    assert codes.PERCENTAGE_OUT_OF_RANGE not in {issue.code for issue in report.errors}
    # Target 0 is in range, but an initial percentage > 0 cannot be at or below it.
    assert {issue.code for issue in report.errors} == {codes.INITIAL_ABOVE_FIRST_STAGE}


# --- Messages ---------------------------------------------------------------------------------


def test_string_number_message(make_document: MakeDocument) -> None:
    document = make_document()
    stage(document, 1)["target_percentage"] = "5"
    issue = only_issue(validate(document, ValidationContext()).errors, codes.WRONG_TYPE)
    assert issue.message == "target_percentage must be a number, not a string"
    assert issue.rule == 2


def test_expression_error_message_names_the_position(make_document: MakeDocument) -> None:
    document = make_document()
    stage(document, 0)["success_criteria"] = ["error_rate < 0.01", "p99 <= 200ms", "error_rate <"]
    issue = only_issue(validate(document, ValidationContext()).errors, codes.EXPRESSION_INVALID)
    assert issue.path == f"{STAGES}[0].success_criteria[2]"
    assert "expected a number after '<' at position 12" in issue.message


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [
        ("max_blast_radus", "max_blast_radius"),
        ("wedge_stage", "wedge_stages"),
        ("Initial_Percentage", "initial_percentage"),
    ],
)
def test_unknown_key_suggests_the_near_miss(
    make_document: MakeDocument, key: str, suggestion: str
) -> None:
    document = make_document()
    document[key] = 1
    issue = only_issue(validate(document, ValidationContext()).errors, codes.UNKNOWN_KEY)
    assert issue.message.endswith(f"did you mean {suggestion!r}?")
    assert issue.rule == 10


def test_unknown_key_far_from_any_field_has_no_suggestion(make_document: MakeDocument) -> None:
    document = make_document(zebra=1)
    issue = only_issue(validate(document, ValidationContext()).errors, codes.UNKNOWN_KEY)
    assert "did you mean" not in issue.message


def test_misspelt_stage_key_suggests_and_reports_the_missing_field(
    make_document: MakeDocument,
) -> None:
    document = make_document()
    stage(document, 1)["duration_hour"] = stage(document, 1).pop("duration_hours")
    report = validate(document, ValidationContext())
    assert found(report) == {
        (f"{STAGES}[1].duration_hour", codes.UNKNOWN_KEY),
        (f"{STAGES}[1].duration_hours", codes.STAGE_FIELD_MISSING),
    }
    assert "did you mean 'duration_hours'?" in only_issue(report.errors, codes.UNKNOWN_KEY).message


def test_state_suggestion(make_document: MakeDocument) -> None:
    report = validate(make_document(wedge_state="pending"), ValidationContext())
    issue = only_issue(report.errors, codes.WEDGE_STATE_INVALID)
    assert "did you mean 'PENDING'?" in issue.message


def test_duplicate_id_names_the_first_use(make_document: MakeDocument) -> None:
    document = make_document()
    stage(document, 3)["stage_id"] = "early"
    issue = only_issue(validate(document, ValidationContext()).errors, codes.STAGE_ID_DUPLICATE)
    assert "wedge_stages[1]" in issue.message


def test_long_values_are_shortened_in_messages(make_document: MakeDocument) -> None:
    document = make_document(wedge_state="X" * 10_000)
    issue = only_issue(validate(document, ValidationContext()).errors, codes.WEDGE_STATE_INVALID)
    assert len(issue.message) < 200


# --- Cross-field behaviour --------------------------------------------------------------------


def test_increase_is_checked_against_the_last_valid_target(make_document: MakeDocument) -> None:
    document = make_document()
    stage(document, 1)["target_percentage"] = "40"  # invalid: skipped by rule 3 (docs/policy.md)
    stage(document, 2)["target_percentage"] = 10  # equal to stage 0
    report = validate(document, ValidationContext())
    assert (f"{STAGES}[2].target_percentage", codes.TARGETS_NOT_INCREASING) in found(report)
    issue = only_issue(report.errors, codes.TARGETS_NOT_INCREASING)
    assert "wedge_stages[0]" in issue.message


def test_out_of_range_target_is_reported_once(make_document: MakeDocument) -> None:
    document = make_document(max_blast_radius=100)
    stage(document, 3)["target_percentage"] = 150
    report = validate(document, ValidationContext())
    assert [issue.code for issue in report.errors] == [codes.PERCENTAGE_OUT_OF_RANGE]


def test_all_errors_are_reported_at_once(make_document: MakeDocument) -> None:
    document = make_document(
        initial_percentage=0,
        increment_policy="steady",
        max_blast_radius=150,
        observation_window_hours=0.5,
        wedge_state="DONE",
        extra=True,
    )
    stage(document, 0)["stage_id"] = ""
    stage(document, 2)["duration_hours"] = 0
    stage(document, 3)["success_criteria"] = []
    report = validate(document, ValidationContext())
    assert {issue.code for issue in report.errors} == {
        codes.UNKNOWN_KEY,
        codes.STAGE_ID_EMPTY,
        codes.DURATION_NOT_POSITIVE,
        codes.CRITERIA_EMPTY,
        codes.INITIAL_NOT_POSITIVE,
        codes.INCREMENT_POLICY_INVALID,
        codes.BLAST_RADIUS_OUT_OF_RANGE,
        codes.OBSERVATION_WINDOW_TOO_SHORT,
        codes.WEDGE_STATE_INVALID,
    }


@pytest.mark.parametrize("document", [None, [], "rollout", 42, 1.5, True, [{"a": 1}]])
def test_non_object_document(document: object) -> None:
    report = validate(document, ValidationContext())
    assert found(report) == {("rollout_wedge", codes.NOT_AN_OBJECT)}
    assert report.total_duration_hours is None


def test_empty_object_reports_every_required_field() -> None:
    report = validate({}, ValidationContext())
    assert {issue.path for issue in report.errors if issue.code == codes.REQUIRED} == {
        STAGES,
        "rollout_wedge.initial_percentage",
        "rollout_wedge.increment_policy",
        "rollout_wedge.max_blast_radius",
        "rollout_wedge.observation_window_hours",
    }


# --- Waivers ----------------------------------------------------------------------------------


def test_single_stage_needs_a_waiver(make_document: MakeDocument) -> None:
    document = make_document()
    del document["wedge_stages"][1:]
    stage(document, 0)["target_percentage"] = 100
    report = validate(document, CRITICAL)
    assert not report.valid
    assert report.waiver_required
    assert report.waivable_codes == (codes.FIRST_STAGE_TOO_LARGE, codes.STAGES_TOO_FEW)
    assert {issue.rule for issue in report.errors} == {1, 4}


def test_waivable_rules_1_4_5(make_document: MakeDocument) -> None:
    document = make_document(initial_percentage=20)
    stage(document, 0)["target_percentage"] = 30
    report = validate(document, CRITICAL)
    assert report.waiver_required
    assert report.waivable_codes == (
        codes.FIRST_STAGE_TOO_LARGE,
        codes.INITIAL_ABOVE_CRITICAL_CAP,
    )
    assert all(issue.waivable for issue in report.errors)


def test_one_non_waivable_error_means_no_waiver_can_help(make_document: MakeDocument) -> None:
    document = make_document(observation_window_hours=0.5)
    del document["wedge_stages"][1:]
    report = validate(document, ValidationContext())
    assert not report.waiver_required
    assert report.waivable_codes == (codes.STAGES_TOO_FEW,)


@pytest.mark.parametrize(
    ("mutation", "code"),
    [
        (lambda d: d.update(initial_percentage=0), codes.INITIAL_NOT_POSITIVE),
        (lambda d: d.update(wedge_stages=[]), codes.STAGES_EMPTY),
    ],
)
def test_sanity_errors_in_waivable_rules_are_not_waivable(
    make_document: MakeDocument, mutation: Mutation, code: str
) -> None:
    document = make_document()
    mutation(document)
    report = validate(document, ValidationContext())
    assert not only_issue(report.errors, code).waivable
    assert not report.waiver_required


def test_valid_document_needs_no_waiver(make_document: MakeDocument) -> None:
    report = validate(make_document(), ValidationContext())
    assert not report.waiver_required
    assert report.waivable_codes == ()


# --- Warnings ---------------------------------------------------------------------------------


def targets(document: Document, values: list[float]) -> Document:
    for index, value in enumerate(values):
        stage(document, index)["target_percentage"] = value
    return document


def warning_codes(report: Report) -> list[str]:
    return [issue.code for issue in report.warnings]


def test_ladder_not_linear_warns_but_does_not_block(make_document: MakeDocument) -> None:
    report = validate(targets(make_document(), [5, 25, 50, 100]), ValidationContext())
    assert report.valid
    assert warning_codes(report) == [codes.LADDER_NOT_LINEAR]
    warning = report.warnings[0]
    assert warning.path == STAGES
    assert "for example 5, 35, 70, 100" in warning.message


def test_linear_ladder_with_rounding_does_not_warn(make_document: MakeDocument) -> None:
    report = validate(targets(make_document(), [5, 36.67, 68.33, 100]), ValidationContext())
    assert warning_codes(report) == []


def test_exponential_ladder(make_document: MakeDocument) -> None:
    document = targets(make_document(increment_policy="exponential"), [1, 4.64, 21.54, 100])
    assert warning_codes(validate(document, ValidationContext())) == []
    document = targets(make_document(increment_policy="exponential"), [10, 40, 70, 100])
    assert warning_codes(validate(document, ValidationContext())) == [codes.LADDER_NOT_EXPONENTIAL]


def test_manual_ladder_never_warns_about_shape(make_document: MakeDocument) -> None:
    document = targets(make_document(increment_policy="manual"), [1, 2, 50, 100])
    assert warning_codes(validate(document, ValidationContext())) == []


def test_no_ladder_warning_when_targets_are_already_errors(make_document: MakeDocument) -> None:
    report = validate(targets(make_document(), [10, 40, 40, 100]), ValidationContext())
    assert warning_codes(report) == []


def test_stage_shorter_than_window(make_document: MakeDocument) -> None:
    document = make_document(observation_window_hours=2)
    stage(document, 2)["duration_hours"] = 1.99
    report = validate(document, ValidationContext())
    assert report.valid
    assert [(issue.path, issue.code) for issue in report.warnings] == [
        (f"{STAGES}[2].duration_hours", codes.STAGE_SHORTER_THAN_WINDOW)
    ]
    # Exactly the window is not shorter.
    stage(document, 2)["duration_hours"] = 2
    assert validate(document, ValidationContext()).warnings == ()


# --- Planned duration and serialisation -------------------------------------------------------


def test_total_duration(make_document: MakeDocument) -> None:
    document = make_document(observation_window_hours=1.5)
    stage(document, 0)["duration_hours"] = 0.5
    report = validate(document, ValidationContext())
    assert report.total_duration_hours == pytest.approx(0.5 + 2 + 2 + 2 + 4 * 1.5)


@pytest.mark.parametrize(
    "mutation",
    [
        lambda d: d.pop("observation_window_hours"),
        lambda d: stage(d, 1).update(duration_hours="2"),
        lambda d: d["wedge_stages"].__setitem__(1, None),
        lambda d: d.update(wedge_stages=[]),
        lambda d: (
            stage(d, 1).update(duration_hours=1e308) or stage(d, 2).update(duration_hours=1e308)
        ),
    ],
)
def test_total_duration_is_none_when_not_computable(
    make_document: MakeDocument, mutation: Mutation
) -> None:
    document = make_document()
    mutation(document)
    assert validate(document, ValidationContext()).total_duration_hours is None


def test_report_to_dict_is_json_ready(make_document: MakeDocument) -> None:
    document = make_document()
    stage(document, 1)["target_percentage"] = "40"
    payload = validate(document, ValidationContext()).to_dict()
    assert json.loads(json.dumps(payload)) == payload
    assert payload["valid"] is False
    assert payload["errors"] == [
        {
            "field": f"{STAGES}[1].target_percentage",
            "code": codes.WRONG_TYPE,
            "message": "target_percentage must be a number, not a string",
            "rule": 2,
            "waivable": False,
        }
    ]
    assert payload["total_duration_hours"] == 12.0
    assert set(payload) == {
        "valid",
        "errors",
        "warnings",
        "total_duration_hours",
        "waiver_required",
    }


def test_context_defaults_to_a_non_critical_submission(make_document: MakeDocument) -> None:
    document = make_document(initial_percentage=10.01)
    stage(document, 0)["target_percentage"] = 20
    assert validate(document).valid
    assert not validate(document, CRITICAL).valid


# --- Bounded hours and unstorable text --------------------------------------------------------


def test_a_too_long_window_is_one_error_and_no_warnings(make_document: MakeDocument) -> None:
    report = validate(make_document(observation_window_hours=1e8), ValidationContext())
    assert [issue.code for issue in report.errors] == [codes.OBSERVATION_WINDOW_TOO_LONG]
    assert report.warnings == ()


def test_the_bound_can_be_lowered_but_not_raised() -> None:
    assert ValidationContext(max_stage_hours=1).max_stage_hours == 1
    for bound in (codes.MAX_STAGE_HOURS + 1, 0.5, math.inf, math.nan):
        with pytest.raises(ValueError, match="max_stage_hours"):
            ValidationContext(max_stage_hours=bound)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("ok", None),
        ("caf\u00e9 \U0001f426", None),
        ("a\x00b", "a NUL character at position 1"),
        ("\ud800", "an unpaired surrogate U+D800 at position 0"),
        ("xy\udfff", "an unpaired surrogate U+DFFF at position 2"),
    ],
)
def test_unstorable_character(text: str, problem: str | None) -> None:
    assert unstorable_character(text) == problem


def test_no_message_or_path_quotes_an_unstorable_character(make_document: MakeDocument) -> None:
    document = make_document(increment_policy="\ud800", wedge_state="\x00")
    document["\ud800"] = 1
    document["wedge_stages"][0].update(
        {"stage_id": "\udc00", "\x00": 1, "rollback_trigger": "a > 1\ud800"}
    )
    document["wedge_stages"][1]["success_criteria"] = ["\x00"]
    report = validate(document, ValidationContext())
    assert len(report.errors) == 7, report.errors
    for issue in report.errors:
        assert unstorable_character(issue.message) is None, issue
        assert unstorable_character(issue.path or "") is None, issue
    json.dumps(report.to_dict(), ensure_ascii=False).encode()
