"""Rule 11: ``rollout_wedge.metric_queries``, and the query grammar the poller renders with."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wedges.policy import codes
from wedges.policy.queries import VARIABLES, escape, placeholders, render
from wedges.policy.validation import ValidationContext, validate

MakeDocument = Callable[..., dict[str, Any]]
PROVIDERS = ValidationContext(providers=frozenset({"prometheus", "thanos"}))
ERROR_RATE = 'sum(rate(http_errors_total{proposal="{{proposal_id}}"}[1m]))'


def queries(**entries: Any) -> dict[str, Any]:
    return {"metric_queries": entries}


def errors(report: Any) -> list[tuple[str | None, str]]:
    return [(issue.path, issue.code) for issue in report.errors]


def test_queries_for_every_metric_are_clean(make_document: MakeDocument) -> None:
    document = make_document(
        **queries(
            error_rate={"provider": "prometheus", "query": ERROR_RATE},
            p99={"provider": "thanos", "query": "histogram_quantile(0.99, x) * 1000"},
            availability={"provider": "prometheus", "query": "avg(up{job={{subsystem}}}) * 100"},
        )
    )
    report = validate(document, PROVIDERS)
    assert report.valid, report.errors
    assert report.warnings == ()


def test_no_queries_means_no_warning_about_pushed_metrics(make_document: MakeDocument) -> None:
    for document in (make_document(), make_document(metric_queries={})):
        report = validate(document, PROVIDERS)
        assert report.valid
        assert report.warnings == ()


def test_a_criterion_metric_without_a_query_is_only_a_warning(
    make_document: MakeDocument,
) -> None:
    document = make_document(
        **queries(
            error_rate={"provider": "prometheus", "query": ERROR_RATE},
            exposure_percentage={"provider": "prometheus", "query": "canary_weight"},
        )
    )
    report = validate(document, PROVIDERS)
    assert report.valid
    warned = {(issue.path, issue.code) for issue in report.warnings}
    # Each unqueried metric once, where it is first named; pushing it stays possible.
    assert warned == {
        ("rollout_wedge.wedge_stages[0].success_criteria[1]", codes.METRIC_NOT_QUERIED),
        ("rollout_wedge.wedge_stages[3].success_criteria[0]", codes.METRIC_NOT_QUERIED),
    }
    assert "'p99'" in report.warnings[0].message


def test_provider_names_are_checked_only_when_known(make_document: MakeDocument) -> None:
    document = make_document(**queries(error_rate={"provider": "graphite", "query": "x"}))
    assert validate(document, ValidationContext(providers=None)).valid
    report = validate(document, PROVIDERS)
    assert errors(report) == [
        ("rollout_wedge.metric_queries.error_rate.provider", codes.UNKNOWN_PROVIDER)
    ]
    assert "known: prometheus, thanos" in report.errors[0].message


def test_a_near_miss_of_a_provider_is_suggested(make_document: MakeDocument) -> None:
    document = make_document(**queries(error_rate={"provider": "promethues", "query": "x"}))
    (issue,) = validate(document, PROVIDERS).errors
    assert "did you mean 'prometheus'?" in issue.message
    assert issue.rule == 11


def test_no_provider_configured_says_so(make_document: MakeDocument) -> None:
    document = make_document(**queries(error_rate={"provider": "prometheus", "query": "x"}))
    (issue,) = validate(document, ValidationContext(providers=frozenset())).errors
    assert issue.code == codes.UNKNOWN_PROVIDER
    assert "none is configured" in issue.message


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"query": "x"}, [("provider", codes.REQUIRED)]),
        ({"provider": "prometheus"}, [("query", codes.REQUIRED)]),
        ({"provider": 1, "query": "x"}, [("provider", codes.WRONG_TYPE)]),
        ({"provider": "prometheus", "query": ["x"]}, [("query", codes.WRONG_TYPE)]),
        ({"provider": "prometheus", "query": ""}, [("query", codes.QUERY_EMPTY)]),
        ({"provider": " ", "query": "x"}, [("provider", codes.UNKNOWN_PROVIDER)]),
        (
            {"provider": "prometheus", "query": "x", "step": "1m"},
            [("step", codes.UNKNOWN_KEY)],
        ),
        (
            {"provider": "prometheus", "query": "x\x00"},
            [("query", codes.INVALID_CHARACTERS)],
        ),
    ],
)
def test_each_query_field_is_checked_at_its_path(
    make_document: MakeDocument, entry: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    report = validate(make_document(**queries(error_rate=entry)), PROVIDERS)
    base = "rollout_wedge.metric_queries.error_rate"
    assert errors(report) == [(f"{base}.{field}", code) for field, code in expected]


def test_metric_queries_must_be_an_object(make_document: MakeDocument) -> None:
    report = validate(make_document(metric_queries=["error_rate"]), PROVIDERS)
    assert errors(report) == [("rollout_wedge.metric_queries", codes.WRONG_TYPE)]
    report = validate(make_document(**queries(error_rate="up")), PROVIDERS)
    assert errors(report) == [("rollout_wedge.metric_queries.error_rate", codes.NOT_AN_OBJECT)]


def test_every_problem_is_reported_at_once(make_document: MakeDocument) -> None:
    document = make_document(
        **queries(
            error_rate={"provider": "graphite", "query": "{{proposal}} + {{stage}}"},
            p99={"provider": "prometheus", "query": ""},
        )
    )
    report = validate(document, PROVIDERS)
    assert sorted(errors(report)) == [
        ("rollout_wedge.metric_queries.error_rate.provider", codes.UNKNOWN_PROVIDER),
        ("rollout_wedge.metric_queries.error_rate.query", codes.UNKNOWN_QUERY_VARIABLE),
        ("rollout_wedge.metric_queries.error_rate.query", codes.UNKNOWN_QUERY_VARIABLE),
        ("rollout_wedge.metric_queries.p99.query", codes.QUERY_EMPTY),
    ]
    messages = " ".join(issue.message for issue in report.errors)
    assert "did you mean {{proposal_id}}?" in messages
    assert "did you mean {{stage_id}}?" in messages


def test_an_unknown_top_level_key_near_metric_queries_is_suggested(
    make_document: MakeDocument,
) -> None:
    report = validate(make_document(metric_query={}), PROVIDERS)
    (issue,) = report.errors
    assert (issue.path, issue.code) == ("rollout_wedge.metric_query", codes.UNKNOWN_KEY)
    assert "did you mean 'metric_queries'?" in issue.message


# --- The grammar: where a variable stands, and what it becomes -------------------------------


def test_placeholders_know_their_string_context() -> None:
    text = "a{x=\"{{stage_id}}\", y='{{subsystem}}'} > {{ exposure_percentage }} # {{z}}"
    found = [(p.name, p.quote) for p in placeholders(text)]
    assert found == [
        ("stage_id", '"'),
        ("subsystem", "'"),
        ("exposure_percentage", None),
        ("z", None),
    ]


def test_an_escaped_quote_does_not_end_the_string() -> None:
    text = 'a{x="say \\"{{stage_id}}\\" now"}'
    assert [p.quote for p in placeholders(text)] == ['"']


VALUES = {
    "proposal_id": 42,
    "stage_id": "canary",
    "exposure_percentage": 5.0,
    "subsystem": "connector-runtime",
    "external_reference": 'ci/run/7 "x" \\ y\n',
}


def test_render_quotes_each_value_for_where_it_stands() -> None:
    text = (
        'rate(e{proposal="{{proposal_id}}", stage="{{stage_id}}", job={{subsystem}}}[1m])'
        " > {{exposure_percentage}} + {{proposal_id}}"
    )
    assert render(text, VALUES) == (
        'rate(e{proposal="42", stage="canary", job="connector-runtime"}[1m]) > 5 + 42'
    )


def test_a_hostile_value_stays_inside_its_string() -> None:
    rendered = render('x{ref="{{external_reference}}"}', VALUES)
    assert rendered == 'x{ref="ci/run/7 \\"x\\" \\\\ y\\n"}'
    # The scanner finds exactly one string literal with nothing after it.
    assert rendered.endswith('"}')
    rendered = render("x{ref={{external_reference}}}", VALUES)
    assert rendered == 'x{ref="ci/run/7 \\"x\\" \\\\ y\\n"}'


def test_a_fractional_exposure_is_written_exactly() -> None:
    assert render("{{exposure_percentage}}", {**VALUES, "exposure_percentage": 2.5}) == "2.5"


@pytest.mark.parametrize("text", ["{{nope}}", "x{a=`{{stage_id}}`}", "{{subsystem}}"], ids=str)
def test_render_refuses_what_validation_refuses(text: str) -> None:
    values = {} if text == "{{subsystem}}" else VALUES
    with pytest.raises(ValueError, match=r"\{\{"):
        render(text, values)


def test_every_variable_renders() -> None:
    for name in VARIABLES:
        assert render(f'x{{a="{{{{{name}}}}}"}}', VALUES)


@given(st.text(max_size=40))
def test_an_escaped_value_never_leaves_its_string(value: str) -> None:
    rendered = render('x{a="{{stage_id}}"} + y', {"stage_id": value})
    # After the value's string closes, the query goes on exactly as written.
    quotes = [index for index, char in enumerate(rendered) if char == '"']
    assert rendered.endswith('"} + y')
    unescaped = [
        index
        for index in quotes
        if (len(rendered[:index]) - len(rendered[:index].rstrip("\\"))) % 2 == 0
    ]
    assert len(unescaped) == 2
    assert escape(value).count("\n") == 0
