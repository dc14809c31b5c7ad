"""Property tests: the validator never raises, whatever JSON it is given."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.wedges.policy.conftest import view_of
from wedges.policy import codes
from wedges.policy.ladder import generate_ladder
from wedges.policy.validation import (
    STAGE_FIELDS,
    TOP_LEVEL_FIELDS,
    Report,
    ValidationContext,
    validate,
)

Document = dict[str, Any]

# Numbers at the edges of what a date computation survives: a year of hours is
# the most a plan may say; 1e8 hours is past year 9999; 1e308 is near float's end.
extreme_numbers = st.sampled_from(
    [
        codes.MAX_STAGE_HOURS,
        codes.MAX_STAGE_HOURS + 1e-9,
        1e8,
        1e308,
        -1e308,
        5e-324,
        2**63,
        10**18,
        10**400,
    ]
)
# Strings no UTF-8 text can carry: JSON's "\u0000" and lone "\ud800" escapes.
unstorable_text = st.sampled_from(["\x00", "a\x00b", "\ud800", "x\udfff", "\udbff\x00"])
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.integers().map(lambda n: n * 10**400),  # beyond float range
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["5", "", "PENDING", "linear", "a < 1", "a <", "canary", "initial"]),
    extreme_numbers,
    unstorable_text,
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.text(max_size=10), st.sampled_from([*TOP_LEVEL_FIELDS, *STAGE_FIELDS])),
            children,
            max_size=5,
        ),
    ),
    max_leaves=20,
)
contexts = st.builds(
    ValidationContext,
    st.booleans(),
    st.booleans(),
    st.one_of(st.just(codes.MAX_STAGE_HOURS), st.floats(min_value=1.0, max_value=8760.0)),
)
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def check_report(report: Report) -> None:
    """What every report must satisfy, whatever the input."""
    assert report.valid is (not report.errors)
    for issue in report.errors:
        assert issue.code in codes.VALIDATION_ERROR_CODES
        assert issue.waivable is (issue.code in codes.WAIVABLE_CODES)
        assert issue.path is not None
        assert issue.path.startswith("rollout_wedge")
        assert issue.message
    for issue in report.warnings:
        assert issue.code in codes.VALIDATION_WARNING_CODES
        assert not issue.waivable
    if report.waiver_required:
        assert report.errors
        assert all(issue.waivable for issue in report.errors)
    # The API serialises the report as strict JSON, in UTF-8.
    json.dumps(report.to_dict(), allow_nan=False, ensure_ascii=False).encode()


@settings(max_examples=300, deadline=None)
@given(json_values, contexts)
def test_arbitrary_json_never_raises(document: object, context: ValidationContext) -> None:
    before = json.dumps(document)
    report = validate(document, context)
    check_report(report)
    assert json.dumps(document) == before  # validation never mutates its input


@settings(max_examples=300, deadline=None)
@given(st.data(), contexts)
def test_mutated_valid_documents_never_raise(
    make_document: Callable[..., Document], data: st.DataObject, context: ValidationContext
) -> None:
    document = make_document()
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        target: dict[str, Any] = data.draw(
            st.sampled_from(
                [document, *[s for s in document["wedge_stages"] if isinstance(s, dict)]]
            )
        )
        key = data.draw(st.one_of(st.sampled_from(sorted(target) or ["x"]), st.text(max_size=8)))
        if data.draw(st.booleans()):
            target.pop(key, None)
        else:
            target[key] = data.draw(json_values)
        if not isinstance(document.get("wedge_stages"), list):
            break
    report = validate(document, context)
    check_report(report)
    if report.valid:
        # Whatever survived the mutations, a valid document is one the engine can run.
        view = view_of(document)
        assert len(view.stages) >= codes.MIN_STAGES
        assert_fits_the_calendar(document, context)
        if context.on_submission:
            assert document.get("wedge_state", "PENDING") == "PENDING"


@st.composite
def ladder_documents(draw: st.DrawFn) -> tuple[Document, bool]:
    """Documents built from generated ladders, and whether the subsystem is critical."""
    policy = draw(st.sampled_from(codes.INCREMENT_POLICIES))
    critical = draw(st.booleans())
    initial = draw(st.floats(min_value=0.01, max_value=10.0 if critical else 25.0))
    maximum = draw(st.floats(min_value=initial + 5, max_value=100.0))
    stages = draw(st.integers(min_value=2, max_value=8))
    window = draw(st.floats(min_value=1.0, max_value=48.0))
    targets = generate_ladder(policy, initial, maximum, stages)
    document: Document = {
        "wedge_stages": [
            {
                "stage_id": f"stage-{index}",
                "target_percentage": target,
                "duration_hours": draw(st.floats(min_value=window, max_value=100.0)),
                "success_criteria": ["error_rate < 0.01"],
                "rollback_trigger": "error_rate > 0.05",
            }
            for index, target in enumerate(targets)
        ],
        "initial_percentage": initial,
        "increment_policy": policy,
        "max_blast_radius": maximum,
        "observation_window_hours": window,
    }
    return document, critical


@settings(max_examples=200, deadline=None)
@given(ladder_documents())
def test_documents_from_generated_ladders_are_valid_without_warnings(
    case: tuple[Document, bool],
) -> None:
    document, critical = case
    report = validate(document, ValidationContext(subsystem_critical=critical))
    assert report.errors == ()
    assert report.warnings == ()
    assert report.total_duration_hours is not None
    assert report.total_duration_hours > 0


def test_deeply_nested_values_do_not_recurse() -> None:
    nested: object = []
    for _ in range(100_000):
        nested = [nested]
    deep_object: object = {}
    for _ in range(100_000):
        deep_object = {"wedge_stages": deep_object}
    for document in (
        {"wedge_stages": nested, "initial_percentage": nested},
        {"wedge_stages": [nested, deep_object]},
        deep_object,
        nested,
    ):
        check_report(validate(document, ValidationContext()))


def test_huge_inputs_stay_fast() -> None:
    long_text = "a" * 1_000_000
    document = {
        "wedge_stages": [{"stage_id": long_text, "rollback_trigger": long_text}] * 200,
        long_text: long_text,
        "increment_policy": long_text,
    }
    report = validate(document, ValidationContext())
    check_report(report)
    assert all(len(issue.message) < 500 for issue in report.errors)


def assert_fits_the_calendar(document: Document, context: ValidationContext) -> None:
    """Every gate of a valid plan is a date the engine and the pages can compute."""
    hours = [document["observation_window_hours"]]
    hours += [stage["duration_hours"] for stage in document["wedge_stages"]]
    for value in hours:
        assert value <= context.max_stage_hours
        NOW + timedelta(hours=value) * codes.PAUSE_AFTER_WINDOWS  # never raises


@settings(max_examples=300, deadline=None)
@given(
    st.data(),
    st.one_of(extreme_numbers, st.floats(allow_nan=True, allow_infinity=True), st.integers()),
    contexts,
)
def test_any_number_of_hours_is_refused_or_fits_the_calendar(
    make_document: Callable[..., Document],
    data: st.DataObject,
    hours: object,
    context: ValidationContext,
) -> None:
    document = make_document()
    target = data.draw(st.sampled_from(["window", *range(len(document["wedge_stages"]))]))
    if target == "window":
        document["observation_window_hours"] = hours
    else:
        document["wedge_stages"][target]["duration_hours"] = hours
    report = validate(document, context)
    check_report(report)
    if report.valid:
        assert_fits_the_calendar(document, context)


@settings(max_examples=200, deadline=None)
@given(st.data(), unstorable_text, contexts)
def test_unstorable_text_anywhere_is_refused_and_never_echoed(
    make_document: Callable[..., Document],
    data: st.DataObject,
    text: str,
    context: ValidationContext,
) -> None:
    document = make_document()
    stage = data.draw(st.sampled_from(document["wedge_stages"]))
    where = data.draw(
        st.sampled_from(
            ["stage_id", "rollback_trigger", "criterion", "policy", "state", "key", "number"]
        )
    )
    if where == "criterion":
        stage["success_criteria"].append(text)
    elif where == "policy":
        document["increment_policy"] = text
    elif where == "state":
        document["wedge_state"] = text
    elif where == "key":
        stage[text] = 1
    elif where == "number":
        stage["target_percentage"] = text
    else:
        stage[where] = text
    report = validate(document, context)
    check_report(report)
    assert not report.valid
