"""A snapshot's metric names: exactly the names a criterion can reference."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wedges.errors import MetricsInvalid
from wedges.metrics import MAX_METRIC_NAME, validate_metrics
from wedges.policy.expressions import ExpressionError, parse


def codes_for(name: str) -> list[str]:
    try:
        validate_metrics({"metrics": {name: 1}})
    except MetricsInvalid as invalid:
        return [problem.code for problem in invalid.errors]
    return []


@pytest.mark.parametrize("name", ["p99", "_x", "error_rate", "svc.latency.p95", "AND", "x" * 100])
def test_names_a_criterion_can_reference_are_taken(name):
    assert codes_for(name) == []


@pytest.mark.parametrize(
    "name",
    [
        "99th",  # starts with a digit: the parser reads a number
        ".p99",
        "and",  # reserved words of the grammar
        "or",
        "latência",  # letters outside ASCII
        "p\u0663",  # an Arabic-Indic digit
        "bad name",
        "error-rate",
        "",
        "x" * (MAX_METRIC_NAME + 1),
    ],
)
def test_names_no_criterion_can_reference_are_refused(name):
    assert codes_for(name) == ["invalid_name"]


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=12))
def test_a_name_is_taken_exactly_when_an_expression_can_read_it(name):
    try:
        readable = parse(f"{name} < 1").metrics() == {name}
    except ExpressionError:
        readable = False
    assert (codes_for(name) == []) == readable
