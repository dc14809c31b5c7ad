"""The policy's plain-words texts: what the web form shows at a field.

Every error and warning carries one; none of them speaks the API's language
(JSON names, paths, positions or codes), and the API's own messages are left
as they were.
"""

from __future__ import annotations

import re

import pytest

from wedges.policy import ValidationContext, codes, validate
from wedges.policy.explain import describe, holding, terms
from wedges.policy.expressions import ExpressionError, parse
from wedges.policy.validation import expression_problem

API_WORDS = re.compile(
    r"wedge_stages|initial_percentage|max_blast_radius|observation_window_hours|"
    r"increment_policy|target_percentage|duration_hours|success_criteria|rollback_trigger|"
    r"stage_id|at position \d|\[\d+\]|\bnull\b"
)

BAD_DOCUMENTS = [
    {},
    {"wedge_stages": []},
    {"wedge_stages": "three", "initial_percentage": "five", "max_blast_radius": None},
    {
        "wedge_stages": [
            {
                "stage_id": "initial",
                "target_percentage": 30,
                "duration_hours": 0,
                "success_criteria": ["error_rate <", 5],
                "rollback_trigger": "x > 1 and",
            },
            {"stage_id": "", "target_percentage": 20, "duration_hours": 10_000},
            {
                "stage_id": "b",
                "target_percentage": 120,
                "duration_hours": 0.5,
                "success_criteria": [],
                "rollback_trigger": "x = 1",
                "colour": "red",
            },
            {
                "stage_id": "b",
                "target_percentage": None,
                "duration_hours": "2",
                "success_criteria": "x < 1",
                "rollback_trigger": None,
            },
            "not a stage",
        ],
        "initial_percentage": 40,
        "increment_policy": "lineer",
        "max_blast_radius": 10,
        "observation_window_hours": 0.5,
        "wedge_state": "ACTIVE",
        "colour": "blue",
    },
    {
        "wedge_stages": [
            {
                "stage_id": "a",
                "target_percentage": 5,
                "duration_hours": 1,
                "success_criteria": ["e < 1"],
                "rollback_trigger": "e > 2",
            },
        ],
        "initial_percentage": 20,
        "increment_policy": "linear",
        "max_blast_radius": 150,
        "observation_window_hours": 9000,
    },
    {
        "wedge_stages": [
            {
                "stage_id": "a",
                "target_percentage": 5,
                "duration_hours": 0.5,
                "success_criteria": ["e < 1"],
                "rollback_trigger": "e > 2",
            },
            {
                "stage_id": "b",
                "target_percentage": 7,
                "duration_hours": 1,
                "success_criteria": ["e < 1"],
                "rollback_trigger": "e > 2",
            },
            {
                "stage_id": "c",
                "target_percentage": 100,
                "duration_hours": 1,
                "success_criteria": ["e < 1"],
                "rollback_trigger": "e > 2",
            },
        ],
        "initial_percentage": 0,
        "increment_policy": "linear",
        "max_blast_radius": 100,
        "observation_window_hours": 1,
    },
]


@pytest.mark.parametrize("document", BAD_DOCUMENTS)
def test_every_issue_has_plain_words_without_api_names(document):
    report = validate(document, ValidationContext(subsystem_critical=True))
    issues = [*report.errors, *report.warnings]
    assert report.errors
    for issue in issues:
        assert issue.text, issue
        assert issue.human == issue.text
        assert not API_WORDS.search(issue.text), issue.text
        assert issue.code not in issue.text
        assert issue.text[0].isupper() or issue.text[0] in "'\"“", issue.text


def test_the_api_message_is_unchanged_beside_the_plain_words():
    report = validate({"initial_percentage": 5}, ValidationContext())
    required = {i.path: i for i in report.errors if i.code == codes.REQUIRED}
    stages = required["rollout_wedge.wedge_stages"]
    assert stages.message == "wedge_stages is required"
    assert stages.text == "Add the stages of the rollout: at least 2."
    assert stages.to_dict()["message"] == "wedge_stages is required"
    assert "text" not in stages.to_dict()


def test_waivable_texts_say_a_waiver_is_needed_before_the_start():
    report = validate(
        {
            "wedge_stages": [
                {
                    "stage_id": "only",
                    "target_percentage": 50,
                    "duration_hours": 1,
                    "success_criteria": ["e < 1"],
                    "rollback_trigger": "e > 2",
                }
            ],
            "initial_percentage": 20,
            "increment_policy": "manual",
            "max_blast_radius": 50,
            "observation_window_hours": 1,
        },
        ValidationContext(subsystem_critical=True),
    )
    assert report.waiver_required
    texts = {issue.code: issue.text for issue in report.errors}
    assert texts[codes.INITIAL_ABOVE_CRITICAL_CAP] == (
        "On a critical subsystem the initial exposure may be at most 10 %. "
        "With 20 % the proposal needs a waiver before it can start."
    )
    assert "waiver" in texts[codes.STAGES_TOO_FEW]
    assert "25 %" in texts[codes.FIRST_STAGE_TOO_LARGE]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "error_rate <",
            "Expected a number after '<', found end of expression: the problem "
            "is right after “error_rate <”.",
        ),
        ("", "Expression is empty: expected a comparison such as 'error_rate < 0.01'."),
        (
            "p99 > 5parsecs",
            "Unknown unit 'parsecs'; expected one of ms, s, m, h, %: the "
            "problem is right after “p99 > 5”.",
        ),
        (
            "a_rather_long_metric_name_here > 1 and and",
            "Expected a metric name, a number "
            "or '(', found 'and': the problem is right after “…metric_name_here > 1 and”.",
        ),
    ],
)
def test_an_expression_problem_is_placed_by_the_text_before_it(text, expected):
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    assert expression_problem(text, caught.value) == expected


def test_terms_read_each_comparison_with_its_value():
    values = {"error_rate": 0.09, "p99": "180ms"}
    found = terms("error_rate > 0.05 or p99 > 800ms or availability < 99%", values)
    assert [describe(t) for t in found] == [
        "error_rate 0.09 > 0.05",
        "p99 180ms, needs above 800ms",
        "availability not reported",
    ]
    assert [str(t) for t in holding("error_rate > 0.05 or p99 > 800ms", values)] == [
        "error_rate 0.09 > 0.05"
    ]


def test_a_value_in_another_unit_is_compared_after_conversion():
    assert [str(t) for t in holding("p99 > 800ms", {"p99": "1.2s"})] == ["p99 1.2s > 800ms"]
    assert describe(terms("p99 <= 250ms", {"p99": "fast"})[0]) == "p99 fast is not a number"
